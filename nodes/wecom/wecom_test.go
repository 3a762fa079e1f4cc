package wecom

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// TestRobotMessages: text with mentions rendered from expressions, markdown and news go out in WeCom's shapes with
// the key in the query; a malformed message is refused before anything is sent.
func TestRobotMessages(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	input := map[string]any{"body": map[string]any{"id": "pay_1", "reason": "卡余额不足", "owner": "zhangsan"}}
	res, err := build(t, "wecom.robot.text", map[string]any{"content": "支付 {{ trigger.body.id }} 失败：{{ trigger.body.reason }}",
		"mentions": "{{ trigger.body.owner }}, @all", "mentionMobiles": "13800001111"}).Execute(ctx, s.exec(input, robotFields(testKey)))
	if err != nil {
		t.Fatal(err)
	}
	if out := res.Output.(map[string]any); out["errcode"] != int64(0) {
		t.Fatalf("output %v", out)
	}
	b := s.lastBody()
	if b["msgtype"] != "text" || fmt.Sprint(b["text"]) != "map[content:支付 pay_1 失败：卡余额不足 mentioned_list:[zhangsan @all] mentioned_mobile_list:[13800001111]]" {
		t.Fatalf("sent %v", b)
	}
	if s.lastQuery().Get("key") != testKey {
		t.Fatalf("query %v", s.lastQuery())
	}
	// The key alone is a credential too.
	if _, err := build(t, "wecom.robot.markdown", map[string]any{"content": "**日报** <font color=\"warning\">{{ trigger.body.id }}</font>"}).
		Execute(ctx, s.exec(input, map[string]string{FieldWebhook: testKey})); err != nil {
		t.Fatal(err)
	}
	if b := s.lastBody(); b["msgtype"] != "markdown" || fmt.Sprint(b["markdown"]) != `map[content:**日报** <font color="warning">pay_1</font>]` {
		t.Fatalf("sent %v", b)
	}
	if _, err := build(t, "wecom.robot.news", map[string]any{"articles": `[{"title": "日报 {{ trigger.body.id }}", "url": "https://example.com/r", "picurl": "https://example.com/p.png"}]`}).
		Execute(ctx, s.exec(input, robotFields(testKey))); err != nil {
		t.Fatal(err)
	}
	if b := s.lastBody(); b["msgtype"] != "news" || fmt.Sprint(b["news"]) != "map[articles:[map[picurl:https://example.com/p.png title:日报 pay_1 url:https://example.com/r]]]" {
		t.Fatalf("sent %v", b)
	}
	if _, err := build(t, "wecom.robot.text", map[string]any{"content": "x", "mentions": "{{ '' }}"}).Execute(ctx, s.exec(input, robotFields(testKey))); err != nil {
		t.Fatal(err)
	}
	if b := s.lastBody(); fmt.Sprint(b["text"]) != "map[content:x]" {
		t.Fatalf("sent %v", b)
	}
	before := s.requests()
	_, err = build(t, "wecom.robot.news", map[string]any{"articles": `[{"title": "no link"}]`}).Execute(ctx, s.exec(input, robotFields(testKey)))
	failure(t, err, "wecom_request_invalid", nodes.Permanent)
	_, err = build(t, "wecom.robot.text", map[string]any{"content": strings.Repeat("长", 700)}).Execute(ctx, s.exec(input, robotFields(testKey)))
	failure(t, err, "wecom_request_invalid", nodes.Permanent)
	_, err = build(t, "wecom.robot.text", map[string]any{"content": "x"}).Execute(ctx, s.exec(input, map[string]string{FieldWebhook: "https://evil.example/cgi-bin/webhook/send?key=" + testKey}))
	failure(t, err, "wecom_credential_invalid", nodes.Permanent)
	if s.requests() != before {
		t.Fatal("a refused message was sent")
	}
}

// TestRobotFailures: an unknown key is permanent, the 21st message of a minute is rate limited with WeCom's
// answer quoted, and a 5xx leaves the outcome unknown instead of sending again.
func TestRobotFailures(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	n := build(t, "wecom.robot.text", map[string]any{"content": "hello"})
	_, err := n.Execute(ctx, s.exec(nil, robotFields("wrong-key")))
	e := failure(t, err, CodeWebhookInvalid, nodes.Permanent)
	if !strings.Contains(e.Error(), "errcode 93000: invalid webhook url") {
		t.Fatalf("error %v", e)
	}
	for i := 0; i < 20; i++ {
		if _, err := n.Execute(ctx, s.exec(nil, robotFields(testKey))); err != nil {
			t.Fatal(err)
		}
	}
	_, err = n.Execute(ctx, s.exec(nil, robotFields(testKey)))
	e = failure(t, err, CodeRateLimited, nodes.RetryAfter)
	if !e.RateLimited || e.After != time.Minute || !strings.Contains(e.Error(), "45009: api freq out of limit") {
		t.Fatalf("rate limit %+v", e)
	}
	s.mu.Lock()
	s.fail5xx = true
	s.mu.Unlock()
	before := s.requests()
	_, err = n.Execute(ctx, s.exec(nil, robotFields(testKey)))
	failure(t, err, "wecom_outcome_unknown", nodes.Permanent)
	if s.requests() != before+1 {
		t.Fatalf("%d requests for one message", s.requests()-before)
	}
}

// TestRobotDryRun: a test run shows the message and sends nothing; the key is not in what it shows.
func TestRobotDryRun(t *testing.T) {
	s := newStandIn(t)
	n := build(t, "wecom.robot.text", map[string]any{"content": "payment {{ trigger.id }}"})
	res, err := n.(nodes.DryRunner).DryRun(context.Background(), s.exec(map[string]any{"id": "p1"}, robotFields(testKey)))
	if err != nil {
		t.Fatal(err)
	}
	shown := fmt.Sprint(res.Output)
	if !strings.Contains(shown, "payment p1") || strings.Contains(shown, testKey) || s.requests() != 0 {
		t.Fatalf("dry run %s, %d requests", shown, s.requests())
	}
}

// TestAppMessage: the first message obtains a token, the next reuses it; an expired token (42001) is renewed once
// and the message sent again; the agent id goes in the body and the duplicate check is on.
func TestAppMessage(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	// A field of its own makes a credential of its own: the token cache is per credential, and outlives the test.
	fields := appFields(testSecret)
	fields["run"] = fmt.Sprint(time.Now().UnixNano())
	n := build(t, "wecom.app.send", map[string]any{"toUser": "{{ trigger.owner }}, lisi", "toParty": "2", "msgtype": "markdown",
		"content": "**{{ trigger.id }}** 对账差异"})
	input := map[string]any{"owner": "zhangsan", "id": "rec-1"}
	res, err := n.Execute(ctx, s.exec(input, fields))
	if err != nil {
		t.Fatal(err)
	}
	if res.Output.(map[string]any)["msgid"] != "msg-1" {
		t.Fatalf("output %v", res.Output)
	}
	b := s.lastBody()
	if b["touser"] != "zhangsan|lisi" || b["toparty"] != "2" || b["totag"] != nil || b["msgtype"] != "markdown" ||
		fmt.Sprint(b["markdown"]) != "map[content:**rec-1** 对账差异]" || b["enable_duplicate_check"] != float64(1) || b["agentid"] != float64(1000002) {
		t.Fatalf("sent %v", b)
	}
	if _, err := n.Execute(ctx, s.exec(input, fields)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	issued := len(s.issued)
	s.expired[s.issued[0]] = true
	s.mu.Unlock()
	if issued != 1 {
		t.Fatalf("%d tokens for two messages", issued)
	}
	before := s.requests()
	if _, err := n.Execute(ctx, s.exec(input, fields)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	issued = len(s.issued)
	s.mu.Unlock()
	// refused send, gettoken, send again
	if issued != 2 || s.requests() != before+3 || s.lastQuery().Get("access_token") != "token-2" {
		t.Fatalf("%d tokens, %d requests after the expiry", issued, s.requests()-before)
	}
	// Recipients WeCom refuses, and no recipient at all.
	_, err = build(t, "wecom.app.send", map[string]any{"toUser": "nobody", "content": "x"}).Execute(ctx, s.exec(input, fields))
	failure(t, err, CodeRecipientsInvalid, nodes.Permanent)
	_, err = build(t, "wecom.app.send", map[string]any{"toUser": "{{ '' }}", "content": "x"}).Execute(ctx, s.exec(input, fields))
	failure(t, err, "wecom_request_invalid", nodes.Permanent)
	// A wrong secret fails at the token exchange with WeCom's words.
	_, err = n.Execute(ctx, s.exec(input, appFields("wrong")))
	e := failure(t, err, CodeCredentialInvalid, nodes.Permanent)
	if !strings.Contains(e.Error(), "errcode 40001: invalid credential") || strings.Contains(e.Error(), "wrong") {
		t.Fatalf("error %v", e)
	}
}

// TestTokenExpiry: the token's expiry is WeCom's expires_in from now, and the cache replaces a token before it
// expires: a token issued for two seconds is renewed after about one, while the first is still valid.
func TestTokenExpiry(t *testing.T) {
	s := newStandIn(t)
	client := s.exec(nil, nil).Client()
	start := time.Now()
	tok, err := tokens.Fetch(context.Background(), client, connector.TokenRequest{Fields: appFields(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(7200 * time.Second); tok.Value != "token-1" || tok.Expiry.Before(want) || tok.Expiry.After(time.Now().Add(7200*time.Second)) {
		t.Fatalf("token %v expiring %v, want about %v", tok.Value, tok.Expiry, want)
	}
	s.mu.Lock()
	s.tokenTTL = 2
	s.mu.Unlock()
	fields := appFields(testSecret)
	fields["run"] = fmt.Sprint(time.Now().UnixNano())
	first, err := tokens.Get(context.Background(), client, fields)
	if err != nil {
		t.Fatal(err)
	}
	issuedAt := time.Now()
	deadline := issuedAt.Add(5 * time.Second)
	next := first
	for next == first && time.Now().Before(deadline) {
		if next, err = tokens.Get(context.Background(), client, fields); err != nil {
			t.Fatal(err)
		}
		runtime.Gosched()
	}
	renewedAfter := time.Since(issuedAt)
	if next == first || renewedAfter >= 2*time.Second {
		t.Fatalf("token %s not renewed before its expiry (after %v)", first, renewedAfter)
	}
	s.mu.Lock()
	issued := len(s.issued)
	s.mu.Unlock()
	if issued != 3 {
		t.Fatalf("%d tokens issued, want 3 (one fetch, the first of the cache, its renewal)", issued)
	}
}

// TestConnectionTests: a robot's test sends a message to its group; an app's test exchanges its secret for a token.
func TestConnectionTests(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	client := s.exec(nil, nil).Client()
	got, err := testRobot(ctx, robotFields(testKey), client)
	if err != nil || !strings.Contains(got, "test message was sent") {
		t.Fatalf("robot test: %q %v", got, err)
	}
	if b := s.lastBody(); fmt.Sprint(b["text"]) != "map[content:"+testMessage+"]" {
		t.Fatalf("sent %v", b)
	}
	if _, err := testRobot(ctx, robotFields("wrong"), client); err == nil || nodes.Classify(err).Code != CodeWebhookInvalid {
		t.Fatalf("robot test with a wrong key: %v", err)
	}
	got, err = testApp(ctx, appFields(testSecret), client)
	if err != nil || !strings.Contains(got, "7200 seconds") {
		t.Fatalf("app test: %q %v", got, err)
	}
	if _, err := testApp(ctx, appFields("wrong"), client); err == nil || nodes.Classify(err).Code != CodeCredentialInvalid {
		t.Fatalf("app test with a wrong secret: %v", err)
	}
	bad := appFields(testSecret)
	bad[FieldAgentID] = "abc"
	if _, err := testApp(ctx, bad, client); err == nil {
		t.Fatal("an agent id that is not a number passed")
	}
}

// TestAppDryRun: a test run of an app message shows it without obtaining a token or sending anything.
func TestAppDryRun(t *testing.T) {
	s := newStandIn(t)
	n := build(t, "wecom.app.send", map[string]any{"toUser": "zhangsan", "content": "gap {{ trigger.id }}"})
	res, err := n.(nodes.DryRunner).DryRun(context.Background(), s.exec(map[string]any{"id": "r1"}, appFields(testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	shown := fmt.Sprint(res.Output)
	if !strings.Contains(shown, "gap r1") || !strings.Contains(shown, "zhangsan") || strings.Contains(shown, testSecret) || s.requests() != 0 {
		t.Fatalf("dry run %s, %d requests", shown, s.requests())
	}
}
