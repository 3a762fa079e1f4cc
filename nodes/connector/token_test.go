package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// tokServer is a provider whose API takes an access token in the query, issued by POST /token for a client id
// and secret in a JSON body, and which pages its list by page number in the JSON body.
type tokServer struct {
	*httptest.Server
	mu     sync.Mutex
	issued int
	valid  map[string]bool
	bodies []map[string]any
	refuse bool // refuse every token, however fresh
}

var tokClock = struct {
	sync.Mutex
	now time.Time
}{now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}

func tokNow() time.Time {
	tokClock.Lock()
	defer tokClock.Unlock()
	return tokClock.now
}

func setTokNow(t time.Time) {
	tokClock.Lock()
	tokClock.now = t
	tokClock.Unlock()
}

// tokAsked is the last token request the source made.
var tokAsked struct {
	sync.Mutex
	last connector.TokenRequest
}

func lastTokenRequest() connector.TokenRequest {
	tokAsked.Lock()
	defer tokAsked.Unlock()
	return tokAsked.last
}

var tokSource = &connector.TokenSource{
	Fetch: func(ctx context.Context, client *http.Client, tr connector.TokenRequest) (connector.Token, error) {
		fields := tr.Fields
		tokAsked.Lock()
		tokAsked.last = tr
		tokAsked.Unlock()
		body := strings.NewReader(fmt.Sprintf(`{"client_id":%q,"client_secret":%q}`, fields["id"], fields["secret"]))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fields["base"]+"/token", body)
		resp, err := client.Do(req)
		if err != nil {
			return connector.Token{}, err
		}
		defer resp.Body.Close()
		var out struct {
			Token   string `json:"token"`
			Expires int64  `json:"expires"`
		}
		if resp.StatusCode != 200 {
			return connector.Token{}, nodes.NewPermanent("tok_auth_failed", fmt.Errorf("status %d", resp.StatusCode))
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return connector.Token{Value: out.Token, Expiry: time.UnixMilli(out.Expires)}, nil
	},
	Refused: func(a *connector.Answer) bool { return a.Get("/error") == "token_expired" },
}

var tokProvider = &connector.Provider{
	Name: "tok", Credentials: []string{"test.tok.app"},
	BaseURL: func(fields map[string]string) (*url.URL, error) {
		u, err := url.Parse(fields["base"])
		return u, err
	},
	Authorize: connector.Query(map[string]string{"access_token": nodes.CredentialAccessToken}),
	Token:     tokSource,
	Check: func(a *connector.Answer) error {
		if e, ok := a.Get("/error").(string); ok {
			return nodes.NewPermanent("tok_"+e, errors.New("tok: "+e))
		}
		return nil
	},
}

func init() {
	connector.SetTokenClock(tokSource, tokNow)
	nodes.MustRegisterCredentialType(nodes.CredentialType{ID: "test.tok.app", Name: "Tok app",
		Fields: []nodes.Field{{Name: "base", Type: nodes.TypeString}, {Name: "id", Type: nodes.TypeString}, {Name: "secret", Type: nodes.TypeString, Secret: true}}})
	tokProvider.MustRegister(connector.Operation{Type: "test.tok.items", Name: "Items", Category: nodes.CategoryShops,
		Method: http.MethodPost, Path: "/api/items",
		Params: []connector.Param{{Field: nodes.Field{Name: "since", Label: "Since", Type: nodes.TypeString, Expression: true}, In: connector.InBody}},
		Pagination: &connector.Pagination{Style: connector.PageNumber, Items: "/data/list", PageKey: "page_no", SizeKey: "page_size",
			CursorIn: connector.InBody, Size: 10, MaxSize: 100}})
}

func newTokServer(t *testing.T) *tokServer {
	s := &tokServer{valid: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/token":
			var in map[string]string
			json.NewDecoder(r.Body).Decode(&in)
			if in["client_id"] != "c1" || in["client_secret"] != "s1" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			s.issued++
			tok := fmt.Sprintf("tok-%d", s.issued)
			s.valid[tok] = true
			json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires": tokNow().Add(2 * time.Hour).UnixMilli()})
		case "/api/items":
			if tok := r.URL.Query().Get("access_token"); !s.valid[tok] || s.refuse {
				json.NewEncoder(w).Encode(map[string]any{"error": "token_expired"})
				return
			}
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			s.bodies = append(s.bodies, body)
			page, size := int(body["page_no"].(float64)), int(body["page_size"].(float64))
			var list []any
			for i := (page - 1) * size; i < min(page*size, 25); i++ {
				list = append(list, map[string]any{"id": i})
			}
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"list": list}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *tokServer) exec(secret string) *nodes.Exec {
	fields := map[string]string{"base": s.URL, "id": "c1", "secret": secret}
	ds := egress.MustDestinations(s.URL)
	return &nodes.Exec{Mode: nodes.ModeLive, Env: map[string]any{},
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Tok", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

func (s *tokServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// TestTokenSourceCachesRenewsAndRetriesOnce: concurrent steps share one token request; a token is renewed
// before it expires; an answer that refuses the token renews it and sends the request once more, and only once.
func TestTokenSourceCachesRenewsAndRetriesOnce(t *testing.T) {
	s := newTokServer(t)
	x := s.exec("s1")
	start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	setTokNow(start)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := tokProvider.Call(context.Background(), x, http.MethodPost, "/api/items", nil, map[string]any{"page_no": 1, "page_size": 5})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.count() != 1 {
		t.Fatalf("%d token requests for 20 concurrent calls", s.count())
	}
	// 1h56m later the token (2 h) is within five minutes of its expiry: a new one is asked for.
	setTokNow(start.Add(time.Hour + 56*time.Minute))
	if _, err := tokProvider.Call(context.Background(), x, http.MethodPost, "/api/items", nil, map[string]any{"page_no": 1, "page_size": 5}); err != nil {
		t.Fatal(err)
	}
	if s.count() != 2 || lastTokenRequest().Due != "tok-1" || lastTokenRequest().Refused != "" {
		t.Fatalf("%d token requests after the renewal time, the last %+v", s.count(), lastTokenRequest())
	}
	// The provider drops the token before its time: the call is refused, the token renewed, the call sent again.
	s.mu.Lock()
	s.valid = map[string]bool{}
	s.mu.Unlock()
	if _, err := tokProvider.Call(context.Background(), x, http.MethodPost, "/api/items", nil, map[string]any{"page_no": 1, "page_size": 5}); err != nil {
		t.Fatalf("after the token was revoked: %v", err)
	}
	if s.count() != 3 || lastTokenRequest().Refused != "tok-2" || lastTokenRequest().Due != "" {
		t.Fatalf("%d token requests after a refused token, the last %+v", s.count(), lastTokenRequest())
	}
	// A provider that refuses every token: one renewal, then the refusal is the step's failure.
	s.mu.Lock()
	s.refuse = true
	s.mu.Unlock()
	_, err := tokProvider.Call(context.Background(), x, http.MethodPost, "/api/items", nil, map[string]any{"page_no": 1, "page_size": 5})
	if e := typed(t, err); e.Code != "tok_token_expired" || s.count() != 4 {
		t.Fatalf("%v after %d token requests", err, s.count())
	}
	// A wrong secret: the token request's own failure, typed.
	_, err = tokProvider.Call(context.Background(), s.exec("wrong"), http.MethodPost, "/api/items", nil, nil)
	if e := typed(t, err); e.Code != "tok_auth_failed" || e.Kind != nodes.Permanent {
		t.Fatalf("wrong secret: %v", err)
	}
}

// TestPageNumbersInTheBody: an operation whose provider takes every parameter in a JSON body pages there too.
func TestPageNumbersInTheBody(t *testing.T) {
	s := newTokServer(t)
	setTokNow(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	res, err := build(t, "test.tok.items", map[string]any{"since": "2026-12-01", "pages": "all", "pageSize": 10}).Execute(context.Background(), s.exec("s1"))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if out["count"] != int64(25) || out["pages"] != int64(3) || out["complete"] != true {
		t.Fatalf("output %v", out)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) != 3 || s.bodies[2]["page_no"] != 3.0 || s.bodies[2]["page_size"] != 10.0 || s.bodies[2]["since"] != "2026-12-01" {
		t.Fatalf("bodies %v", s.bodies)
	}
}
