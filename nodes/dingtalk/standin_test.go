package dingtalk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const (
	testToken  = "8d2c5b7f0e1a4c6b9d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"
	testSecret = "SEC5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf7f88fd612bda89d7f3a9dc"
	testKey    = "dingtestappkey0001"
	testAppSec = "dingtest-app-secret-0123456789"
	testAgent  = 2954671234
)

// standIn is a local oapi.dingtalk.com enforcing what DingTalk documents (testdata/README.md): the robot's
// POST /robot/send with access_token, in the 加签 mode timestamp (ms, within an hour) and sign checked, the
// message shapes by msgtype, keywords, 20 messages a minute (130101 past it); GET /gettoken for an app's
// token valid expiresIn seconds, and asyncsend_v2 with a current token (42001 otherwise), agent_id and recipients.
type standIn struct {
	*httptest.Server
	t *testing.T

	mu        sync.Mutex
	secret    string // robot signs when set
	keyword   string // robot's keyword when set
	sent      []time.Time
	messages  []map[string]any
	queries   []url.Values
	expiresIn int64
	tokens    map[string]time.Time // token → expiry
	issued    int
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, expiresIn: 7200, tokens: map[string]time.Time{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	prevR, prevA := robotOrigin, appOrigin
	robotOrigin = func() *url.URL { return u }
	appOrigin = func() *url.URL { return u }
	prevTokens := appProvider.Token
	appProvider.Token = &connector.TokenSource{Fetch: tokens.Fetch, Refused: tokens.Refused, Early: tokens.Early}
	t.Cleanup(func() { robotOrigin, appOrigin, appProvider.Token = prevR, prevA, prevTokens })
	return s
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	s.queries = append(s.queries, q)
	switch r.URL.Path {
	case "/robot/send":
		s.robot(w, r, q)
	case tokenPath:
		if r.Method != http.MethodGet || q.Get("appkey") != testKey || q.Get("appsecret") != testAppSec {
			reply(w, map[string]any{"errcode": 40089, "errmsg": "不合法的appKey或appSecret"})
			return
		}
		s.issued++
		tok := fmt.Sprintf("apptoken-%d", s.issued)
		s.tokens[tok] = time.Now().Add(time.Duration(s.expiresIn) * time.Second)
		reply(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": s.expiresIn})
	case notifyPath:
		s.notify(w, r, q)
	default:
		s.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

func (s *standIn) body(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.Unmarshal(raw, &body) != nil {
		s.t.Errorf("%s %s with %q: DingTalk takes a POST of JSON", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		reply(w, map[string]any{"errcode": 400, "errmsg": "bad request"})
		return nil, false
	}
	return body, true
}

func (s *standIn) robot(w http.ResponseWriter, r *http.Request, q url.Values) {
	body, ok := s.body(w, r)
	if !ok {
		return
	}
	if q.Get("access_token") != testToken {
		reply(w, map[string]any{"errcode": 300001, "errmsg": "token is not exist"})
		return
	}
	if s.secret != "" {
		ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		if err != nil || time.Since(time.UnixMilli(ts)).Abs() > time.Hour {
			reply(w, map[string]any{"errcode": 310000, "errmsg": "invalid timestamp"})
			return
		}
		// Computed here as the guide's Java example does, not with Sign.
		mac := hmac.New(sha256.New, []byte(s.secret))
		mac.Write([]byte(q.Get("timestamp") + "\n" + s.secret))
		if q.Get("sign") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			reply(w, map[string]any{"errcode": 310000, "errmsg": "sign not match"})
			return
		}
	}
	if !s.shape(body) {
		reply(w, map[string]any{"errcode": 400105, "errmsg": "不支持的消息类型"})
		return
	}
	if s.keyword != "" {
		raw, _ := json.Marshal(body)
		if !strings.Contains(string(raw), s.keyword) {
			reply(w, map[string]any{"errcode": 310000, "errmsg": "keywords not in content"})
			return
		}
	}
	recent := 0
	for _, at := range s.sent {
		if time.Since(at) < time.Minute {
			recent++
		}
	}
	if recent >= 20 {
		reply(w, map[string]any{"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
		return
	}
	s.sent = append(s.sent, time.Now())
	s.messages = append(s.messages, body)
	reply(w, map[string]any{"errcode": 0, "errmsg": "ok"})
}

// shape checks a robot message against its type's documented fields.
func (s *standIn) shape(body map[string]any) bool {
	typ, _ := body["msgtype"].(string)
	part, _ := body[typ].(map[string]any)
	str := func(k string) bool { v, ok := part[k].(string); return ok && v != "" }
	if at, ok := body["at"].(map[string]any); ok {
		for k, v := range at {
			switch k {
			case "atMobiles", "atUserIds":
				if _, isList := v.([]any); !isList {
					s.t.Errorf("at.%s is %T, not a list", k, v)
					return false
				}
			case "isAtAll":
				if _, isBool := v.(bool); !isBool {
					return false
				}
			default:
				return false
			}
		}
	}
	switch typ {
	case "text":
		return str("content")
	case "markdown":
		return str("title") && str("text")
	case "link":
		return str("title") && str("text") && str("messageUrl")
	case "actionCard":
		if !str("title") || !str("text") {
			return false
		}
		if o, has := part["btnOrientation"]; has && o != "0" && o != "1" {
			return false
		}
		return (str("singleTitle") && str("singleURL")) || part["btns"] != nil
	}
	s.t.Errorf("msgtype %q", typ)
	return false
}

func (s *standIn) notify(w http.ResponseWriter, r *http.Request, q url.Values) {
	body, ok := s.body(w, r)
	if !ok {
		return
	}
	exp, known := s.tokens[q.Get("access_token")]
	if !known {
		reply(w, map[string]any{"errcode": 40014, "errmsg": "不合法的access_token"})
		return
	}
	if time.Now().After(exp) {
		reply(w, map[string]any{"errcode": 42001, "errmsg": "access_token超时"})
		return
	}
	if id, _ := body["agent_id"].(float64); id != testAgent {
		reply(w, map[string]any{"errcode": 400002, "errmsg": "无效的agent_id"})
		return
	}
	users, _ := body["userid_list"].(string)
	if users == "" || len(strings.Split(users, ",")) > 100 {
		reply(w, map[string]any{"errcode": 400002, "errmsg": "无效的userid_list"})
		return
	}
	msg, _ := body["msg"].(map[string]any)
	typ, _ := msg["msgtype"].(string)
	part, _ := msg[typ].(map[string]any)
	if typ != "text" && typ != "markdown" && typ != "action_card" || len(part) == 0 {
		reply(w, map[string]any{"errcode": 400002, "errmsg": "不支持的消息类型"})
		return
	}
	s.messages = append(s.messages, body)
	reply(w, map[string]any{"errcode": 0, "errmsg": "ok", "task_id": 256271667526, "request_id": "4jzllmte0wau"})
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

// exec is a live step whose credential may go to the stand-in only.
func (s *standIn) exec(fields map[string]string) *nodes.Exec {
	input := map[string]any{"merchantOrderId": "A1024", "amount": map[string]any{"decimal": "88.00", "currency": "CNY"}}
	ds := egress.MustDestinations(s.URL+"/robot/send", s.URL+tokenPath, s.URL+"/topapi/message/corpconversation/")
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": map[string]any{"body": input}, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "DingTalk", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}

func (s *standIn) last() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messages[len(s.messages)-1]
}
