package wecom

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const (
	testKey    = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
	testCorp   = "ww1234567890abcdef"
	testSecret = "app-secret-0123456789"
	testAgent  = "1000002"
)

// standIn is a local WeCom enforcing what its documentation asks (testdata/README.md): the robot webhook takes a
// POST of JSON with key=… in the query, a msgtype and its part (text.content of at most 2048 bytes with string
// lists of mentions, markdown.content of at most 4096, news.articles of 1 to 8 with title and url), 20 messages a
// minute per robot (45009 beyond), 93000 for an unknown key; gettoken takes corpid and corpsecret and issues a
// token for expires_in seconds; message/send takes access_token (40014 unknown, 42001 expired), agentid, a msgtype
// with its content and at least one of touser, toparty, totag. Every answer is 200 with errcode and errmsg.
type standIn struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	bodies   []map[string]any
	queries  []url.Values
	sent     int // robot messages accepted
	issued   []string
	expired  map[string]bool
	fail5xx  bool
	tokenTTL int
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, expired: map[string]bool{}, tokenTTL: 7200}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	prev := origin
	origin = func() *url.URL { u, _ := url.Parse(s.URL); return u }
	t.Cleanup(func() { origin = prev })
	return s
}

func errAnswer(w http.ResponseWriter, code int, msg string) {
	answer(w, map[string]any{"errcode": code, "errmsg": msg})
}

func answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	s.queries = append(s.queries, q)
	if r.URL.Path == APIPath+tokenPath {
		if r.Method != http.MethodGet {
			s.t.Errorf("gettoken with %s", r.Method)
		}
		if q.Get("corpid") != testCorp || q.Get("corpsecret") != testSecret {
			errAnswer(w, 40001, "invalid credential")
			return
		}
		tok := fmt.Sprintf("token-%d", len(s.issued)+1)
		s.issued = append(s.issued, tok)
		answer(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": s.tokenTTL})
		return
	}
	var body map[string]any
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.Unmarshal(raw, &body) != nil {
		s.t.Errorf("%s %s with %q: WeCom takes a POST of a JSON object", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		errAnswer(w, 40058, "invalid parameter")
		return
	}
	s.bodies = append(s.bodies, body)
	if s.fail5xx {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	switch r.URL.Path {
	case APIPath + webhookPath:
		s.robot(w, q, body)
	case APIPath + sendPath:
		s.app(w, q, body)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func stringList(v any) bool {
	if v == nil {
		return true
	}
	l, ok := v.([]any)
	if !ok {
		return false
	}
	for _, it := range l {
		if _, ok := it.(string); !ok {
			return false
		}
	}
	return true
}

func (s *standIn) robot(w http.ResponseWriter, q url.Values, body map[string]any) {
	if q.Get("key") != testKey {
		errAnswer(w, 93000, "invalid webhook url, hint: [1733616000_xx], from ip: 127.0.0.1")
		return
	}
	if s.sent >= 20 {
		errAnswer(w, 45009, "api freq out of limit, hint: [1733616000_xx]")
		return
	}
	kind, _ := body["msgtype"].(string)
	part, _ := body[kind].(map[string]any)
	ok := false
	switch kind {
	case "text":
		c, _ := part["content"].(string)
		ok = c != "" && len(c) <= 2048 && stringList(part["mentioned_list"]) && stringList(part["mentioned_mobile_list"])
	case "markdown":
		c, _ := part["content"].(string)
		ok = c != "" && len(c) <= 4096
	case "news":
		list, _ := part["articles"].([]any)
		ok = len(list) >= 1 && len(list) <= 8
		for _, it := range list {
			a, _ := it.(map[string]any)
			if a["title"] == nil || a["url"] == nil {
				ok = false
			}
		}
	}
	if !ok {
		s.t.Errorf("robot message not in WeCom's shape: %v", body)
		errAnswer(w, 40008, "invalid message type")
		return
	}
	s.sent++
	errAnswer(w, 0, "ok")
}

func (s *standIn) app(w http.ResponseWriter, q url.Values, body map[string]any) {
	tok := q.Get("access_token")
	switch {
	case tok == "":
		errAnswer(w, 41001, "access_token missing")
		return
	case s.expired[tok]:
		errAnswer(w, 42001, "access_token expired")
		return
	case !contains(s.issued, tok):
		errAnswer(w, 40014, "invalid access_token")
		return
	}
	if body["agentid"] != float64(1000002) {
		s.t.Errorf("agentid %v", body["agentid"])
		errAnswer(w, 40056, "invalid agentid")
		return
	}
	kind, _ := body["msgtype"].(string)
	part, _ := body[kind].(map[string]any)
	if c, _ := part["content"].(string); (kind != "text" && kind != "markdown") || c == "" {
		s.t.Errorf("app message not in WeCom's shape: %v", body)
		errAnswer(w, 44004, "empty content")
		return
	}
	if body["touser"] == nil && body["toparty"] == nil && body["totag"] == nil {
		errAnswer(w, 40058, "invalid parameter: touser, toparty and totag are all empty")
		return
	}
	if body["touser"] == "nobody" {
		errAnswer(w, 81013, "user & party & tag all invalid")
		return
	}
	answer(w, map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "msg-1"})
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func (s *standIn) lastBody() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[len(s.bodies)-1]
}

func (s *standIn) lastQuery() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[len(s.queries)-1]
}

func (s *standIn) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queries)
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

// exec is a live step whose credential may go to the stand-in's WeCom paths only.
func (s *standIn) exec(input any, fields map[string]string) *nodes.Exec {
	ds := egress.MustDestinations(s.URL+APIPath+webhookPath, s.URL+APIPath+tokenPath, s.URL+APIPath+sendPath)
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "WeCom", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

func robotFields(key string) map[string]string {
	return map[string]string{FieldWebhook: APIHost + APIPath + webhookPath + "?key=" + key}
}

func appFields(secret string) map[string]string {
	return map[string]string{FieldCorpID: testCorp, FieldCorpSecret: secret, FieldAgentID: testAgent}
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}
