package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const (
	testToken = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
	hookURL   = "https://hooks.slack.com/services/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"
	// goneWebhook is a webhook its workspace removed; archivedWebhook posts to an archived channel;
	// lostWebhook's channel was deleted.
	goneWebhook     = "https://hooks.slack.com/services/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"
	archivedWebhook = "https://hooks.slack.com/services/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"
	lostWebhook     = "https://hooks.slack.com/services/T0TEAM0001/B0HOOK0004/l0stChann3lL0stChann3lx"

	alerts   = "C0ALERTS01" // the bot is a member
	outside  = "C0OUTSIDE1" // the bot was never invited
	archived = "C0ARCHIVE1" // archived
)

// channelNames resolves channel names as Slack does for chat.postMessage.
var channelNames = map[string]string{"#alerts": alerts, "alerts": alerts, "#告警": alerts, "#outside": outside}

// blockTypes are the layout blocks Block Kit documents for messages.
var blockTypes = map[string]bool{"section": true, "divider": true, "header": true, "context": true, "actions": true, "image": true,
	"rich_text": true, "video": true, "file": true, "input": true, "markdown": true, "table": true}

// webhookKeys are the fields an incoming webhook's payload documents.
var webhookKeys = map[string]bool{"text": true, "blocks": true, "attachments": true, "thread_ts": true, "mrkdwn": true,
	"unfurl_links": true, "unfurl_media": true, "username": true, "icon_emoji": true, "icon_url": true, "channel": true}

// post is one message the stand-in accepted.
type post struct {
	Channel string
	Body    map[string]any
	TS      string
}

// standIn is Slack for the tests (testdata/README.md lists where each rule comes from): incoming webhooks at
// /services/T…/B…/… answering plain text, and the Web API at /api, whose requests are validated against Slack's
// own OpenAPI description and which answers {"ok": false, "error": …} with 200. Both hold Slack's posting limit
// of one message a second per channel by the stand-in's clock, which the tests move.
type standIn struct {
	*httptest.Server
	t      *testing.T
	router routers.Router

	mu        sync.Mutex
	now       time.Time
	last      map[string]time.Time // last accepted post per channel (or webhook)
	posts     []post
	requests  int
	fail      string // answer every API call with this error (internal_error, service_unavailable)
	fail500   bool   // answer webhooks with 500 rollup_error
	seq       int
	authTests int
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, now: time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC), last: map[string]time.Time{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	raw, err := os.ReadFile("testdata/slack_web_openapi_v2.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(tupleItemsDropped(t, raw), &doc2); err != nil {
		t.Fatal(err)
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: s.URL + APIPath}}
	if s.router, err = gorillamux.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	prevHook, prevAPI := webhookOrigin, apiOrigin
	webhookOrigin = func() *url.URL { u, _ := url.Parse(s.URL); return u }
	apiOrigin = func() *url.URL { u, _ := url.Parse(s.URL); return u }
	t.Cleanup(func() { webhookOrigin, apiOrigin = prevHook, prevAPI })
	return s
}

// tupleItemsDropped removes the one "items" of Slack's description written as a list (objs_message's bot_id, a
// tuple of an id and null), which OpenAPI 2 does not allow and the loader cannot read; it describes an answer,
// not a request.
func tupleItemsDropped(t *testing.T, raw []byte) []byte {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	botID := doc["definitions"].(map[string]any)["objs_message"].(map[string]any)["properties"].(map[string]any)["bot_id"].(map[string]any)
	if _, ok := botID["items"].([]any); !ok {
		t.Fatal("objs_message.bot_id no longer has tuple items: drop this workaround")
	}
	delete(botID, "items")
	out, _ := json.Marshal(doc)
	return out
}

// advance moves the stand-in's clock.
func (s *standIn) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

func (s *standIn) sent() []post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]post(nil), s.posts...)
}

func (s *standIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// overLimit answers 429 when the channel took a message less than a second ago.
func (s *standIn) overLimit(w http.ResponseWriter, channel string, body string, contentType string) bool {
	if last, ok := s.last[channel]; ok && s.now.Sub(last) < time.Second {
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, body)
		return true
	}
	s.last[channel] = s.now
	return false
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if strings.HasPrefix(r.URL.Path, WebhookPath+"/") {
		s.webhook(w, r, body)
		return
	}
	s.api(w, r, body)
}

func text(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	io.WriteString(w, msg)
}

// webhook answers an incoming webhook as Slack does: "ok", or its error in plain text.
func (s *standIn) webhook(w http.ResponseWriter, r *http.Request, body []byte) {
	secret := func(u string) string { p, _ := url.Parse(u); return p.Path }
	switch r.URL.Path {
	case secret(hookURL):
	case secret(goneWebhook):
		text(w, http.StatusNotFound, "no_service")
		return
	case secret(archivedWebhook):
		text(w, http.StatusGone, "channel_is_archived")
		return
	case secret(lostWebhook):
		text(w, http.StatusNotFound, "channel_not_found")
		return
	default:
		text(w, http.StatusForbidden, "invalid_token")
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.t.Errorf("%s with %q: an incoming webhook takes a POST of JSON", r.Method, r.Header.Get("Content-Type"))
		text(w, http.StatusBadRequest, "invalid_payload")
		return
	}
	if r.Header.Get("Authorization") != "" {
		s.t.Errorf("an incoming webhook got an Authorization header")
	}
	var msg map[string]any
	if err := json.Unmarshal(body, &msg); err != nil {
		text(w, http.StatusBadRequest, "invalid_payload")
		return
	}
	for k := range msg {
		if !webhookKeys[k] {
			s.t.Errorf("incoming webhook payload has %q, which Slack does not document", k)
			text(w, http.StatusBadRequest, "invalid_payload")
			return
		}
	}
	if code := checkMessage(msg); code != "" {
		text(w, http.StatusBadRequest, code)
		return
	}
	if s.fail500 {
		text(w, http.StatusInternalServerError, "rollup_error")
		return
	}
	if s.overLimit(w, r.URL.Path, "rate_limited", "text/html") {
		return
	}
	s.posts = append(s.posts, post{Channel: "webhook", Body: msg})
	text(w, http.StatusOK, "ok")
}

// checkMessage is what Slack checks of any message: text or blocks (no_text), text within 40,000 characters
// (msg_too_long), at most 50 blocks of documented types (invalid_blocks), booleans where Slack takes them.
func checkMessage(msg map[string]any) string {
	t, isText := msg["text"].(string)
	if _, has := msg["text"]; has && !isText {
		return "invalid_payload"
	}
	blocks, hasBlocks := msg["blocks"]
	if strings.TrimSpace(t) == "" && !hasBlocks {
		return "no_text"
	}
	if len([]rune(t)) > 40000 {
		return "msg_too_long"
	}
	if hasBlocks {
		list, ok := blocks.([]any)
		if !ok || len(list) == 0 || len(list) > 50 {
			return "invalid_blocks"
		}
		for _, b := range list {
			m, _ := b.(map[string]any)
			if typ, _ := m["type"].(string); !blockTypes[typ] {
				return "invalid_blocks"
			}
		}
	}
	for _, k := range []string{"unfurl_links", "unfurl_media", "reply_broadcast", "mrkdwn"} {
		if v, has := msg[k]; has {
			if _, ok := v.(bool); !ok {
				return "invalid_payload"
			}
		}
	}
	if ts, has := msg["thread_ts"]; has {
		if s, _ := ts.(string); !tsShape.MatchString(s) {
			return "invalid_thread_ts"
		}
	}
	return ""
}

func apiAnswer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// apiError answers as Slack writes its errors: {"ok":false,"error":"…"} with 200.
func apiError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	fmt.Fprintf(w, `{"ok":false,"error":%q}`, code)
}

// asForm is a JSON body as the form Slack's description documents: Slack reads a JSON body's fields as the
// method's arguments, lists and objects (blocks) being the JSON text a form carries.
func asForm(doc map[string]any) (url.Values, error) {
	form := url.Values{}
	for k, v := range doc {
		switch x := v.(type) {
		case string:
			form.Set(k, x)
		case bool:
			form.Set(k, strconv.FormatBool(x))
		case float64:
			form.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
		default:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, err
			}
			form.Set(k, string(b))
		}
	}
	return form, nil
}

// validate checks the request against the operation in Slack's description: the method and path, and for a
// POST the body's fields, read as the form arguments they are, against the documented parameters (unknown ones
// refused, as Slack refuses them with invalid_arg_name).
func (s *standIn) validate(r *http.Request, body []byte) error {
	probe := r.Clone(context.Background())
	var form url.Values
	if r.Method == http.MethodPost {
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&doc); err != nil {
			return fmt.Errorf("the body is not a JSON object: %v", err)
		}
		var err error
		if form, err = asForm(doc); err != nil {
			return err
		}
		probe.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		enc := form.Encode()
		probe.Body = io.NopCloser(strings.NewReader(enc))
		probe.ContentLength = int64(len(enc))
	}
	route, params, err := s.router.FindRoute(probe)
	if err != nil {
		return fmt.Errorf("%s %s is not in Slack's description: %v", r.Method, r.URL.Path, err)
	}
	known := map[string]bool{}
	for _, p := range route.Operation.Parameters {
		known[p.Value.Name] = true
	}
	if rb := route.Operation.RequestBody; rb != nil {
		for name := range rb.Value.Content.Get("application/x-www-form-urlencoded").Schema.Value.Properties {
			known[name] = true
		}
	}
	for k := range form {
		if !known[k] {
			return fmt.Errorf("argument %q is not one of %s's", k, route.Operation.OperationID)
		}
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: probe, PathParams: params,
		Route: route, Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}})
}

// api answers the Web API as Slack does.
func (s *standIn) api(w http.ResponseWriter, r *http.Request, body []byte) {
	if err := s.validate(r, body); err != nil {
		s.t.Errorf("request does not validate against Slack's OpenAPI description: %s %s: %v\nbody: %s", r.Method, r.URL, err, body)
		apiError(w, "invalid_arg_name")
		return
	}
	switch auth := r.Header.Get("Authorization"); {
	case auth == "":
		apiError(w, "not_authed")
		return
	case auth != "Bearer "+testToken:
		apiError(w, "invalid_auth")
		return
	}
	if s.fail != "" {
		apiError(w, s.fail)
		return
	}
	if r.URL.Path == APIPath+"/auth.test" {
		s.authTests++
		apiAnswer(w, http.StatusOK, map[string]any{"ok": true, "url": "https://ferry-test.slack.com/", "team": "Ferry Test",
			"user": "ferry_alerts", "team_id": "T0TEAM0001", "user_id": "U0BOT00001", "bot_id": "B0BOT00001", "is_enterprise_install": false})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		apiError(w, "invalid_post_type")
		return
	}
	var msg map[string]any
	if err := json.Unmarshal(body, &msg); err != nil {
		apiError(w, "invalid_json")
		return
	}
	ch, _ := msg["channel"].(string)
	if id, ok := channelNames[ch]; ok {
		ch = id
	}
	switch ch {
	case alerts:
	case outside:
		apiError(w, "not_in_channel")
		return
	case archived:
		apiError(w, "is_archived")
		return
	default:
		apiError(w, "channel_not_found")
		return
	}
	if code := checkMessage(msg); code != "" {
		apiError(w, code)
		return
	}
	if s.overLimit(w, ch, `{"ok":false,"error":"ratelimited"}`, "application/json; charset=utf-8") {
		return
	}
	s.seq++
	ts := fmt.Sprintf("%d.%06d", s.now.Unix(), s.seq)
	s.posts = append(s.posts, post{Channel: ch, Body: msg, TS: ts})
	message := map[string]any{"type": "message", "subtype": "bot_message", "text": msg["text"], "ts": ts,
		"bot_id": "B0BOT00001", "user": "U0BOT00001", "team": "T0TEAM0001"}
	if b, ok := msg["blocks"]; ok {
		message["blocks"] = b
	}
	if th, ok := msg["thread_ts"]; ok {
		message["thread_ts"] = th
	}
	apiAnswer(w, http.StatusOK, map[string]any{"ok": true, "channel": ch, "ts": ts, "message": message})
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

// client is a guarded client whose credential may go to the stand-in's webhook and Web API paths only, as
// the credential types' destinations say for Slack's hosts.
func (s *standIn) client() *http.Client {
	ds := egress.MustDestinations(s.URL+WebhookPath, s.URL+APIPath)
	return egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Slack", ds, nil })
}

// exec is a live step with the credential fields given.
func (s *standIn) exec(input any, fields map[string]string) *nodes.Exec {
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1", HTTP: s.client(),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

func hook(u string) map[string]string  { return map[string]string{FieldWebhookURL: u} }
func bot(tok string) map[string]string { return map[string]string{FieldBotToken: tok} }

// failed checks that err is a step failure of code and kind.
func failed(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}
