package dingtalk

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

func appFields() map[string]string {
	return map[string]string{FieldAppKey: testKey, FieldAppSecret: testAppSec, FieldAgentID: "2954671234"}
}

func TestWorkNotification(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(appFields())
	n := build(t, "dingtalk.work.notify", map[string]any{"userIds": "manager1, user2", "msgtype": "markdown",
		"title": "支付失败", "text": "### 订单 {{ trigger.body.merchantOrderId }}"})
	res, err := n.Execute(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	if out := res.Output.(map[string]any); toJSON(out["task_id"]) != "256271667526" {
		t.Errorf("output %v", out)
	}
	m := s.last()
	msg := m["msg"].(map[string]any)
	if m["userid_list"] != "manager1,user2" || msg["msgtype"] != "markdown" || msg["markdown"].(map[string]any)["text"] != "### 订单 A1024" {
		t.Errorf("sent %v", m)
	}
	// A second notification reuses the token.
	card := build(t, "dingtalk.work.notify", map[string]any{"userIds": "manager1", "msgtype": "action_card", "title": "订单",
		"text": "**失败**", "buttonTitle": "查看", "buttonUrl": "https://example.com"})
	if _, err := card.Execute(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if s.issued != 1 {
		t.Errorf("%d tokens issued for two notifications", s.issued)
	}
	// No recipient, a wrong type: refused before sending.
	_, err = build(t, "dingtalk.work.notify", map[string]any{"text": "hi"}).Execute(context.Background(), x)
	failure(t, err, "dingtalk_request_invalid", nodes.Permanent)
}

func TestWorkTokenExpiry(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(appFields())
	n := build(t, "dingtalk.work.notify", map[string]any{"userIds": "u1", "text": "hi"})
	if _, err := n.Execute(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	// DingTalk expires the token early (42001): the runtime renews it and sends once more.
	s.mu.Lock()
	for tok := range s.tokens {
		s.tokens[tok] = time.Now().Add(-time.Second)
	}
	s.mu.Unlock()
	if _, err := n.Execute(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if s.issued != 2 || len(s.messages) != 2 {
		t.Errorf("issued %d tokens, %d notifications", s.issued, len(s.messages))
	}
	// A token living 2 s is replaced halfway through its life, before it expires, without a refusal.
	s.mu.Lock()
	s.expiresIn = 2
	s.mu.Unlock()
	ts := appProvider.Token
	ts.Forget(appFields(), "apptoken-2")
	first, err := ts.Get(context.Background(), x.Client(), appFields())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		tok, err := ts.Get(context.Background(), x.Client(), appFields())
		if err != nil {
			t.Fatal(err)
		}
		if tok != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the 2 s token was not renewed")
		}
		<-tick.C
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.issued != 4 {
		t.Errorf("%d tokens issued, want 4 (the 2 s token replaced once)", s.issued)
	}
}

func TestWorkTokenExchange(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(appFields())
	tok, err := tokens.Fetch(context.Background(), x.Client(), connector.TokenRequest{Fields: appFields()})
	if err != nil || tok.Value != "apptoken-1" || time.Until(tok.Expiry) < 7190*time.Second || time.Until(tok.Expiry) > 7200*time.Second {
		t.Fatalf("%+v %v", tok, err)
	}
	bad := appFields()
	bad[FieldAppSecret] = "wrong"
	_, err = tokens.Fetch(context.Background(), x.Client(), connector.TokenRequest{Fields: bad})
	if e := failure(t, err, CodeAuthFailed, nodes.Permanent); !strings.Contains(e.Error(), "40089") || strings.Contains(e.Error(), "wrong") {
		t.Errorf("%v", e)
	}
	msg, err := testApp(context.Background(), appFields(), x.Client())
	if err != nil || !strings.Contains(msg, "7200") {
		t.Errorf("%q %v", msg, err)
	}
	if _, err := testApp(context.Background(), map[string]string{FieldAppKey: testKey, FieldAppSecret: testAppSec, FieldAgentID: "x"}, x.Client()); err == nil {
		t.Error("agent id x accepted")
	}
}

// TestWorkDryRun shows the shaped notification and sends nothing, not even the token request.
func TestWorkDryRun(t *testing.T) {
	s := newStandIn(t)
	dr := build(t, "dingtalk.work.notify", map[string]any{"userIds": "u1", "text": "订单 {{ trigger.body.merchantOrderId }}"}).(nodes.DryRunner)
	res, err := dr.DryRun(context.Background(), s.exec(appFields()))
	if err != nil {
		t.Fatal(err)
	}
	shown := toJSON(res.Output)
	if !strings.Contains(shown, `"content":"订单 A1024"`) || !strings.Contains(shown, `"msgtype":"text"`) || strings.Contains(shown, testAppSec) {
		t.Errorf("dry run %s", shown)
	}
	if len(s.queries) != 0 {
		t.Errorf("the dry run made %d requests", len(s.queries))
	}
}
