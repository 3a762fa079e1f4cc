package feishu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// TestSignVectors: Sign gives the signatures testdata/sign_vectors.py computes with the guide's Python example.
func TestSignVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/sign_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Timestamp int64  `json:"timestamp"`
		Secret    string `json:"secret"`
		Sign      string `json:"sign"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil || len(cases) < 3 {
		t.Fatalf("vectors: %v (%d)", err, len(cases))
	}
	for _, c := range cases {
		if got := Sign(c.Timestamp, c.Secret); got != c.Sign {
			t.Errorf("Sign(%d, %q) = %s, want %s", c.Timestamp, c.Secret, got, c.Sign)
		}
	}
	if Sign(cases[0].Timestamp+1, cases[0].Secret) == cases[0].Sign {
		t.Fatal("the timestamp does not change the signature")
	}
}

// TestMessages: text, post and card go out in Feishu's shapes, rendered from expressions, signed with the
// current timestamp, to the bot's token; the stand-in checks every signature.
func TestMessages(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	input := map[string]any{"body": map[string]any{"id": "pay_1", "reason": "余额不足"}}
	res, err := build(t, "feishu.bot.text", map[string]any{"text": "支付 {{ trigger.body.id }} 失败：{{ trigger.body.reason }}"}).Execute(ctx, s.exec(input, botFields(testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	if out := res.Output.(map[string]any); out["code"] != int64(0) {
		t.Fatalf("output %v", out)
	}
	b := s.lastBody()
	if b["msg_type"] != "text" || fmt.Sprint(b["content"]) != "map[text:支付 pay_1 失败：余额不足]" {
		t.Fatalf("sent %v", b)
	}
	ts, _ := b["timestamp"].(string)
	if n, _ := fmt.Sscan(ts, new(int64)); n != 1 || b["sign"] != standInSign(ts, testSecret) {
		t.Fatalf("timestamp %v sign %v", b["timestamp"], b["sign"])
	}
	// Post from plain text lines, and from Feishu's paragraphs.
	if _, err := build(t, "feishu.bot.post", map[string]any{"title": "对账 {{ trigger.body.id }}", "content": "第一行\n第二行"}).Execute(ctx, s.exec(input, botFields(testSecret))); err != nil {
		t.Fatal(err)
	}
	if b := s.lastBody(); fmt.Sprint(b["content"]) != "map[post:map[zh_cn:map[content:[[map[tag:text text:第一行]] [map[tag:text text:第二行]]] title:对账 pay_1]]]" {
		t.Fatalf("sent %v", b)
	}
	if _, err := build(t, "feishu.bot.post", map[string]any{"title": "Gap", "language": "en_us",
		"content": `[[{"tag": "text", "text": "see "}, {"tag": "a", "text": "{{ trigger.body.id }}", "href": "https://example.com"}]]`}).Execute(ctx, s.exec(input, botFields(testSecret))); err != nil {
		t.Fatal(err)
	}
	if b := s.lastBody(); fmt.Sprint(b["content"]) != "map[post:map[en_us:map[content:[[map[tag:text text:see ] map[href:https://example.com tag:a text:pay_1]]] title:Gap]]]" {
		t.Fatalf("sent %v", b)
	}
	card := `{"header": {"title": {"tag": "plain_text", "content": "{{ trigger.body.id }}"}}, "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "**{{ trigger.body.reason }}** <at id=all></at>"}}]}`
	if _, err := build(t, "feishu.bot.card", map[string]any{"card": card}).Execute(ctx, s.exec(input, botFields(testSecret))); err != nil {
		t.Fatal(err)
	}
	if b := s.lastBody(); b["msg_type"] != "interactive" || !strings.Contains(fmt.Sprint(b["card"]), "content:pay_1") || !strings.Contains(fmt.Sprint(b["card"]), "**余额不足** <at id=all></at>") {
		t.Fatalf("sent %v", b)
	}
	// Refused before sending: an empty text, a card that is not an object, a post paragraph without tags, 20 KB.
	before := s.requests()
	for typ, params := range map[string]map[string]any{
		"feishu.bot.text": {"text": "{{ '' }}"},
		"feishu.bot.card": {"card": "{{ 'not a card' }}"},
		"feishu.bot.post": {"content": `[[{"text": "no tag"}]]`},
	} {
		_, err := build(t, typ, params).Execute(ctx, s.exec(input, botFields(testSecret)))
		failure(t, err, "feishu_request_invalid", nodes.Permanent)
	}
	_, err = build(t, "feishu.bot.text", map[string]any{"text": strings.Repeat("x", 21<<10)}).Execute(ctx, s.exec(input, botFields(testSecret)))
	failure(t, err, "feishu_request_invalid", nodes.Permanent)
	if s.requests() != before {
		t.Fatal("a refused message was sent")
	}
}

// TestFailures: a wrong secret and a clock an hour off are 19021, a missing keyword 19024 — both permanent with
// Feishu's words; 11232 waits a minute; a 5xx leaves the outcome unknown and is not sent again.
func TestFailures(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	n := build(t, "feishu.bot.text", map[string]any{"text": "告警"})
	_, err := n.Execute(ctx, s.exec(nil, botFields("wrong-secret")))
	e := failure(t, err, CodeSignatureInvalid, nodes.Permanent)
	if !strings.Contains(e.Error(), "code 19021: sign match fail") || strings.Contains(e.Error(), "wrong-secret") {
		t.Fatalf("error %v", e)
	}
	now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	_, err = n.Execute(ctx, s.exec(nil, botFields(testSecret)))
	now = time.Now
	failure(t, err, CodeSignatureInvalid, nodes.Permanent)
	// A bot without a signature: nothing is added to the body.
	s.mu.Lock()
	s.secret, s.keyword = "", "Ferry"
	s.mu.Unlock()
	_, err = n.Execute(ctx, s.exec(nil, botFields("")))
	e = failure(t, err, CodeKeywordMissing, nodes.Permanent)
	if b := s.lastBody(); b["sign"] != nil || b["timestamp"] != nil || !strings.Contains(e.Error(), "Key Words Not Found") {
		t.Fatalf("sent %v: %v", b, e)
	}
	s.mu.Lock()
	s.keyword, s.limit = "", 0
	s.mu.Unlock()
	_, err = n.Execute(ctx, s.exec(nil, botFields("")))
	e = failure(t, err, CodeRateLimited, nodes.RetryAfter)
	if !e.RateLimited || e.After != time.Minute || !strings.Contains(e.Error(), "11232: frequency limited") {
		t.Fatalf("rate limit %+v", e)
	}
	s.mu.Lock()
	s.fail5xx = true
	s.mu.Unlock()
	before := s.requests()
	_, err = n.Execute(ctx, s.exec(nil, botFields("")))
	failure(t, err, "feishu_outcome_unknown", nodes.Permanent)
	if s.requests() != before+1 {
		t.Fatalf("%d requests for one message", s.requests()-before)
	}
	// A token the bot does not know.
	_, err = n.Execute(ctx, s.exec(nil, map[string]string{FieldWebhook: "not-the-token"}))
	failure(t, err, CodeError, nodes.Permanent)
}

// TestHostAndDryRun: the Lark host is chosen on the credential; a webhook address of the other host is refused;
// a test run shows the message without the token or a signature and sends nothing.
func TestHostAndDryRun(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	n := build(t, "feishu.bot.text", map[string]any{"text": "hello {{ trigger.id }}"})
	lark := map[string]string{FieldHost: "lark", FieldWebhook: LarkHost + HookPath + "/" + testToken, FieldSecret: testSecret}
	if _, err := n.Execute(ctx, s.exec(map[string]any{"id": "p0"}, lark)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	path := s.paths[len(s.paths)-1]
	s.mu.Unlock()
	if path != "/lark"+HookPath+"/"+testToken {
		t.Fatalf("sent to %s", path)
	}
	mixed := map[string]string{FieldHost: "lark", FieldWebhook: FeishuHost + HookPath + "/" + testToken}
	_, err := n.Execute(ctx, s.exec(map[string]any{"id": "p0"}, mixed))
	failure(t, err, "feishu_credential_invalid", nodes.Permanent)
	reg, _ := nodes.LookupCredentialType(CredentialType)
	if d := reg.Destinations(lark); len(d) != 1 || d[0] != LarkHost+HookPath {
		t.Fatalf("lark destinations %v", d)
	}
	if d := reg.Destinations(map[string]string{}); len(d) != 1 || d[0] != FeishuHost+HookPath {
		t.Fatalf("default destinations %v", d)
	}
	before := s.requests()
	res, err := n.(nodes.DryRunner).DryRun(ctx, s.exec(map[string]any{"id": "p1"}, botFields(testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	shown := fmt.Sprint(res.Output)
	if !strings.Contains(shown, "hello p1") || strings.Contains(shown, testToken) || strings.Contains(shown, "sign") || s.requests() != before {
		t.Fatalf("dry run %s", shown)
	}
}

// TestConnection: the test sends a signed message with the bot's keyword; a wrong secret fails it.
func TestConnection(t *testing.T) {
	s := newStandIn(t)
	s.keyword = "告警"
	ctx := context.Background()
	client := s.exec(nil, nil).Client()
	fields := botFields(testSecret)
	fields[FieldKeyword] = "告警"
	got, err := testConnection(ctx, fields, client)
	if err != nil || !strings.Contains(got, "signed test message") {
		t.Fatalf("test: %q %v", got, err)
	}
	if b := s.lastBody(); !strings.Contains(fmt.Sprint(b["content"]), "告警 "+testMessage) {
		t.Fatalf("sent %v", b)
	}
	if _, err := testConnection(ctx, botFields("wrong"), client); err == nil || nodes.Classify(err).Code != CodeSignatureInvalid {
		t.Fatalf("test with a wrong secret: %v", err)
	}
}
