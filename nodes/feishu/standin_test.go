package feishu

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const (
	testToken  = "0f3c2a1e-8b7d-4c6e-9a5f-123456789abc"
	testSecret = "qNkYd8GzAxBDyLx0nDmT7e"
)

// standIn is a local custom bot enforcing what Feishu's guide documents (testdata/README.md): POST of JSON to
// /open-apis/bot/v2/hook/{token}; with a secret, "timestamp" (seconds, as text) within an hour of now and "sign"
// = base64(HMAC-SHA256(key timestamp+"\n"+secret, empty message)), else 19021; with keywords, a message holding
// none of them is refused with 19024; text needs content.text, post content.post.{lang}.content as paragraphs of
// tagged elements, interactive a card object; past its limit it answers 11232. Successes are {"code": 0}.
type standIn struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	secret   string
	keyword  string
	limit    int
	accepted int
	paths    []string
	bodies   []map[string]any
	fail5xx  bool
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, secret: testSecret, limit: 100}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	prev := origins
	origins = map[string]string{"feishu": s.URL, "lark": s.URL + "/lark"}
	t.Cleanup(func() { origins = prev })
	return s
}

func reply(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"code": code, "data": map[string]any{}, "msg": msg})
}

// standInSign is the stand-in's own reading of the guide's algorithm.
func standInSign(ts, secret string) string {
	m := hmac.New(sha256.New, []byte(ts+"\n"+secret))
	m.Write(nil)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paths = append(s.paths, r.URL.Path)
	var body map[string]any
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.Unmarshal(raw, &body) != nil {
		s.t.Errorf("%s %s with %q: a custom bot takes a POST of a JSON object", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		reply(w, 9499, "Bad Request")
		return
	}
	s.bodies = append(s.bodies, body)
	if !strings.HasSuffix(r.URL.Path, HookPath+"/"+testToken) {
		reply(w, 19001, "param invalid: incoming webhook access token invalid")
		return
	}
	if s.fail5xx {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	if s.secret != "" {
		ts, _ := body["timestamp"].(string)
		sign, _ := body["sign"].(string)
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.Since(time.Unix(n, 0)).Abs() > time.Hour || !hmac.Equal([]byte(sign), []byte(standInSign(ts, s.secret))) {
			reply(w, 19021, "sign match fail or timestamp is not within one hour from current time")
			return
		}
	}
	if s.keyword != "" && !strings.Contains(string(raw), s.keyword) {
		reply(w, 19024, "Key Words Not Found")
		return
	}
	if s.accepted >= s.limit {
		reply(w, 11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]")
		return
	}
	ok := false
	switch body["msg_type"] {
	case "text":
		c, _ := body["content"].(map[string]any)
		t, _ := c["text"].(string)
		ok = t != ""
	case "post":
		c, _ := body["content"].(map[string]any)
		post, _ := c["post"].(map[string]any)
		ok = len(post) == 1
		for _, v := range post {
			lang, _ := v.(map[string]any)
			paras, _ := lang["content"].([]any)
			ok = ok && len(paras) > 0
			for _, p := range paras {
				els, isList := p.([]any)
				ok = ok && isList
				for _, e := range els {
					m, _ := e.(map[string]any)
					ok = ok && m["tag"] != nil
				}
			}
		}
	case "interactive":
		c, _ := body["card"].(map[string]any)
		ok = len(c) > 0
	}
	if !ok {
		s.t.Errorf("message not in Feishu's shape: %v", body)
		reply(w, 19002, "params error, msg_type need")
		return
	}
	s.accepted++
	reply(w, 0, "success")
}

func (s *standIn) lastBody() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[len(s.bodies)-1]
}

func (s *standIn) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.paths)
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

// exec is a live step whose credential may go to the stand-in's hook path only.
func (s *standIn) exec(input any, fields map[string]string) *nodes.Exec {
	ds := egress.MustDestinations(s.URL+HookPath, s.URL+"/lark"+HookPath)
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Feishu", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

func botFields(secret string) map[string]string {
	return map[string]string{FieldWebhook: FeishuHost + HookPath + "/" + testToken, FieldSecret: secret}
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}
