package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

var failedPayment = map[string]any{"merchantOrderId": "SO-20261208-001", "amount": map[string]any{"decimal": "88.00", "currency": "CNY"},
	"payer": map[string]any{"name": "张三"}}

// TestWebhookSend: text and blocks rendered from expressions go to the webhook's secret path as JSON; Slack's
// plain "ok" is the output {"ok": true}; the secret appears nowhere in what a test run shows.
func TestWebhookSend(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	params := map[string]any{
		"text":        ":warning: 付款失败 *{{ trigger.merchantOrderId }}* ({{ trigger.amount.decimal }} {{ trigger.amount.currency }})",
		"blocks":      `{{ [{"type": "section", "text": {"type": "mrkdwn", "text": "*Payment failed* " + trigger.merchantOrderId} }, {"type": "divider"}] }}`,
		"unfurlLinks": false,
	}
	res, err := build(t, "slack.webhook.send", params).Execute(ctx, s.exec(failedPayment, hook(hookURL)))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Output) != "map[ok:true]" {
		t.Fatalf("output %v", res.Output)
	}
	p := s.sent()
	if len(p) != 1 || p[0].Body["text"] != ":warning: 付款失败 *SO-20261208-001* (88.00 CNY)" || p[0].Body["unfurl_links"] != false ||
		fmt.Sprint(p[0].Body["blocks"]) != "[map[text:map[text:*Payment failed* SO-20261208-001 type:mrkdwn] type:section] map[type:divider]]" {
		t.Fatalf("sent %+v", p)
	}

	// A test run shows the request, without the webhook's secret path, and sends nothing.
	dry, err := build(t, "slack.webhook.send", params).(nodes.DryRunner).DryRun(ctx, s.exec(failedPayment, hook(hookURL)))
	if err != nil {
		t.Fatal(err)
	}
	shown, _ := json.Marshal(dry.Output)
	if strings.Contains(string(shown), "s3cr3t") || strings.Contains(string(shown), "B0HOOK0001") || !strings.Contains(string(shown), s.URL+WebhookPath+`"`) ||
		!strings.Contains(string(shown), "SO-20261208-001") {
		t.Fatalf("dry run shows %s", shown)
	}
	if s.count() != 1 {
		t.Fatalf("the dry run sent a request (%d)", s.count())
	}
}

// TestWebhookErrors: each of Slack's plain-text answers fails with its stable code and Slack's word quoted; a
// second message within the second is rate limited for Retry-After; a 500 is an unknown outcome, never resent.
func TestWebhookErrors(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	send := func(u string, params map[string]any) error {
		_, err := build(t, "slack.webhook.send", params).Execute(ctx, s.exec(nil, hook(u)))
		return err
	}
	msg := map[string]any{"text": "hello"}
	for _, c := range []struct {
		url, code, word string
	}{
		{goneWebhook, CodeWebhookGone, "no_service"},
		{archivedWebhook, CodeChannelArchived, "channel_is_archived"},
		{lostWebhook, CodeChannelNotFound, "channel_not_found"},
		{"https://hooks.slack.com/services/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", CodeUnauthorized, "invalid_token"},
	} {
		e := failed(t, send(c.url, msg), c.code, nodes.Permanent)
		if !strings.Contains(e.Error(), "answered") || !strings.HasSuffix(e.Error(), ": "+c.word) || strings.Contains(e.Error(), "B0HOOK") {
			t.Fatalf("%s: %v", c.word, e)
		}
	}
	// Slack's own refusal of a message that passes Ferry's checks: a block type Slack does not know.
	e := failed(t, send(hookURL, map[string]any{"blocks": `[{"type": "carousel"}]`}), CodeInvalidRequest, nodes.Permanent)
	if !strings.HasSuffix(e.Error(), ": invalid_blocks") {
		t.Fatalf("invalid_blocks: %v", e)
	}

	if err := send(hookURL, msg); err != nil {
		t.Fatal(err)
	}
	e = failed(t, send(hookURL, msg), CodeRateLimited, nodes.RetryAfter)
	if !e.RateLimited || e.After != time.Second || !strings.Contains(e.Error(), "rate_limited") {
		t.Fatalf("rate limit: %+v", e)
	}
	s.advance(time.Second)
	if err := send(hookURL, msg); err != nil {
		t.Fatalf("after the second: %v", err)
	}

	s.advance(time.Second)
	s.fail500 = true
	before := s.count()
	e = failed(t, send(hookURL, msg), "slack_outcome_unknown", nodes.Permanent)
	if s.count() != before+1 || e.Details.(map[string]any)["body"] != "rollup_error" {
		t.Fatalf("500: %d requests, %v", s.count()-before, e)
	}
}

// TestRefusedBeforeSending: a message Slack would refuse, or a credential that is not a Slack webhook or bot
// token, fails with a stable code and sends nothing (the credential is never put into a request elsewhere).
func TestRefusedBeforeSending(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	for _, c := range []struct {
		typ    string
		params map[string]any
		fields map[string]string
		code   string
	}{
		{"slack.webhook.send", map[string]any{"text": "{{ '' }}"}, hook(hookURL), "slack_request_invalid"},
		{"slack.webhook.send", map[string]any{"blocks": `{"type": "section"}`}, hook(hookURL), "slack_request_invalid"},
		{"slack.webhook.send", map[string]any{"blocks": `[{"text": "no type"}]`}, hook(hookURL), "slack_request_invalid"},
		{"slack.webhook.send", map[string]any{"blocks": `{{ "[" + join(map(1..51, '{"type": "divider"}'), ",") + "]" }}`}, hook(hookURL), "slack_request_invalid"},
		{"slack.webhook.send", map[string]any{"text": "{{ repeat('a', 40001) }}"}, hook(hookURL), "slack_request_invalid"},
		{"slack.webhook.send", map[string]any{"text": "x"}, hook("https://evil.example.com/services/T0/B0/abc"), "slack_credential_invalid"},
		{"slack.webhook.send", map[string]any{"text": "x"}, hook("http://hooks.slack.com/services/T0/B0/abc"), "slack_credential_invalid"},
		{"slack.message.post", map[string]any{"channel": alerts, "text": "x", "threadTs": "yesterday"}, bot(testToken), "slack_request_invalid"},
		{"slack.message.post", map[string]any{"channel": "{{ 'no such/channel' }}", "text": "x"}, bot(testToken), "slack_request_invalid"},
		{"slack.message.post", map[string]any{"channel": "#Alerts", "text": "x"}, bot(testToken), "slack_request_invalid"},
		{"slack.message.post", map[string]any{"channel": alerts}, bot(testToken), "slack_request_invalid"},
		{"slack.message.post", map[string]any{"channel": alerts, "text": "x"}, bot("xoxp-user-token"), "slack_credential_invalid"},
	} {
		_, err := build(t, c.typ, c.params).Execute(ctx, s.exec(nil, c.fields))
		t.Log(failed(t, err, c.code, nodes.Permanent))
	}
	if s.count() != 0 {
		t.Fatalf("%d refused requests were sent", s.count())
	}
}

// TestPostMessage: chat.postMessage with a bot token, validated against Slack's OpenAPI description: a channel
// by name, text and blocks from expressions, then a reply in the thread of the first message by its ts.
func TestPostMessage(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	res, err := build(t, "slack.message.post", map[string]any{"channel": "#alerts",
		"text":        "Payment failed: {{ trigger.merchantOrderId }} by {{ trigger.payer.name }}",
		"blocks":      `{"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Payment failed"}}]}`,
		"unfurlMedia": false}).Execute(ctx, s.exec(failedPayment, bot(testToken)))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	ts, _ := out["ts"].(string)
	if out["ok"] != true || out["channel"] != alerts || !tsShape.MatchString(ts) {
		t.Fatalf("output %v", out)
	}
	s.advance(time.Second)
	res, err = build(t, "slack.message.post", map[string]any{"channel": "{{ prev.channel }}", "text": "Retried and paid.",
		"threadTs": "{{ prev.ts }}", "replyBroadcast": true}).Execute(ctx, s.exec(out, bot(testToken)))
	if err != nil {
		t.Fatal(err)
	}
	p := s.sent()
	if len(p) != 2 || p[0].Body["text"] != "Payment failed: SO-20261208-001 by 张三" || p[0].Body["channel"] != "#alerts" ||
		p[0].Body["unfurl_media"] != false || fmt.Sprint(p[0].Body["blocks"]) != "[map[text:map[text:Payment failed type:plain_text] type:header]]" {
		t.Fatalf("first post %+v", p)
	}
	if p[1].Body["thread_ts"] != ts || p[1].Body["reply_broadcast"] != true || p[1].Body["channel"] != alerts {
		t.Fatalf("reply %+v", p[1])
	}
	if msg := res.Output.(map[string]any)["message"].(map[string]any); msg["thread_ts"] != ts {
		t.Fatalf("reply output %v", res.Output)
	}

	dry, err := build(t, "slack.message.post", map[string]any{"channel": alerts, "text": "x"}).(nodes.DryRunner).DryRun(ctx, s.exec(nil, bot(testToken)))
	if err != nil {
		t.Fatal(err)
	}
	if shown, _ := json.Marshal(dry.Output); strings.Contains(string(shown), "xoxb") || !strings.Contains(string(shown), "/api/chat.postMessage") {
		t.Fatalf("dry run shows %s", shown)
	}
	if len(s.sent()) != 2 {
		t.Fatal("the dry run posted")
	}
}

// TestPostMessageErrors: {"ok": false, "error": …} in a 200 fails with the error's code and Slack's answer
// verbatim; 429 ratelimited waits for Retry-After; internal_error is an unknown outcome, not sent again;
// service_unavailable is retried.
func TestPostMessageErrors(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	post := func(channel string, tok string) error {
		_, err := build(t, "slack.message.post", map[string]any{"channel": channel, "text": "hello"}).Execute(ctx, s.exec(nil, bot(tok)))
		return err
	}
	for _, c := range []struct {
		channel, token, code, word string
	}{
		{alerts, "xoxb-revoked-000000", CodeUnauthorized, "invalid_auth"},
		{outside, testToken, CodeNotInChannel, "not_in_channel"},
		{"C0NOSUCH01", testToken, CodeChannelNotFound, "channel_not_found"},
		{archived, testToken, CodeChannelArchived, "is_archived"},
	} {
		e := failed(t, post(c.channel, c.token), c.code, nodes.Permanent)
		if !strings.Contains(e.Error(), `{"ok":false,"error":"`+c.word+`"}`) || strings.Contains(e.Error(), "xoxb") {
			t.Fatalf("%s: %v", c.word, e)
		}
	}
	if err := post("#告警", testToken); err != nil {
		t.Fatal(err)
	}
	e := failed(t, post(alerts, testToken), CodeRateLimited, nodes.RetryAfter)
	if !e.RateLimited || e.After != time.Second || !strings.Contains(e.Error(), "ratelimited") {
		t.Fatalf("rate limit: %+v", e)
	}
	s.advance(time.Second)
	if err := post(alerts, testToken); err != nil {
		t.Fatalf("after the second: %v", err)
	}
	s.fail = "service_unavailable"
	failed(t, post(alerts, testToken), CodeUnavailable, nodes.Retryable)
	s.fail = "internal_error"
	e = failed(t, post(alerts, testToken), CodeOutcomeUnknown, nodes.Permanent)
	if !strings.Contains(e.Error(), "internal_error") || !strings.Contains(e.Error(), "does not send it again") {
		t.Fatalf("internal_error: %v", e)
	}
	s.fail = "some_new_error"
	failed(t, post(alerts, testToken), CodeError, nodes.Permanent)
}

// TestCredentials: the webhook's test sends a test message; the bot's asks auth.test (validated against Slack's
// description) and reports whose token it is; wrong ones fail with Slack's answer. Both declare Slack's posting
// limit as their bucket and Slack's hosts as their destinations.
func TestCredentials(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	wh, _ := nodes.LookupCredentialType(WebhookCredential)
	bt, _ := nodes.LookupCredentialType(BotCredential)

	msg, err := wh.Test(ctx, hook(hookURL), s.client())
	if err != nil || !strings.Contains(msg, "test message was sent") || strings.Contains(msg, "s3cr3t") {
		t.Fatalf("webhook test: %q %v", msg, err)
	}
	if p := s.sent(); len(p) != 1 || p[0].Body["text"] != testMessage {
		t.Fatalf("webhook test sent %+v", p)
	}
	if _, err := wh.Test(ctx, hook(goneWebhook), s.client()); err == nil || !strings.Contains(err.Error(), "no_service") {
		t.Fatalf("removed webhook: %v", err)
	}
	if _, err := wh.Test(ctx, hook("https://example.com/services/T0/B0/x"), s.client()); err == nil {
		t.Fatal("a webhook URL of another host passed")
	}

	msg, err = bt.Test(ctx, bot(testToken), s.client())
	if err != nil || !strings.Contains(msg, "ferry_alerts") || !strings.Contains(msg, "Ferry Test") || strings.Contains(msg, "xoxb") {
		t.Fatalf("bot test: %q %v", msg, err)
	}
	if _, err := bt.Test(ctx, bot("xoxb-revoked-000000"), s.client()); err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("revoked token: %v", err)
	}
	if len(s.sent()) != 1 {
		t.Fatal("the bot's test posted a message")
	}

	for _, ct := range []*nodes.CredentialType{wh, bt} {
		if ct.RateLimit == nil || ct.RateLimit.Rate != 1 || !ct.Testable {
			t.Fatalf("%s: rate %+v, testable %v", ct.ID, ct.RateLimit, ct.Testable)
		}
	}
	if d := wh.Destinations(nil); len(d) != 1 || d[0] != "https://hooks.slack.com/services" {
		t.Fatalf("webhook destinations %v", d)
	}
	if d := bt.Destinations(nil); len(d) != 1 || d[0] != "https://slack.com/api" {
		t.Fatalf("bot destinations %v", d)
	}
}

// TestValidatorRefuses: the stand-in's check against Slack's description is not vacuous: an argument
// chat.postMessage does not document, a flag that is not a boolean, a missing channel and a method the
// description does not list are refused.
func TestValidatorRefuses(t *testing.T) {
	s := newStandIn(t)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/chat.postMessage", `{"channel": "C0ALERTS01", "text": "x", "colour": "red"}`},
		{"POST", "/api/chat.postMessage", `{"channel": "C0ALERTS01", "text": "x", "unfurl_links": "maybe"}`},
		{"POST", "/api/chat.postMessage", `{"text": "x"}`},
		{"POST", "/api/chat.postEphemeral", `{"channel": "C0ALERTS01", "text": "x"}`},
	} {
		r := httptest.NewRequest(c.method, s.URL+c.path, strings.NewReader(c.body))
		r.Header.Set("Content-Type", "application/json")
		if err := s.validate(r, []byte(c.body)); err == nil {
			t.Errorf("%s %s %s passed", c.method, c.path, c.body)
		}
	}
	ok := `{"channel": "C0ALERTS01", "text": "x", "unfurl_links": true, "blocks": [{"type": "divider"}]}`
	r := httptest.NewRequest("POST", s.URL+"/api/chat.postMessage", strings.NewReader(ok))
	if err := s.validate(r, []byte(ok)); err != nil {
		t.Fatalf("a documented request was refused: %v", err)
	}
}
