package dingtalk

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

func robotFields(secret, keyword string) map[string]string {
	return map[string]string{FieldWebhook: "https://oapi.dingtalk.com/robot/send?access_token=" + testToken, FieldSecret: secret, FieldKeyword: keyword}
}

func TestRobotShapesSigned(t *testing.T) {
	s := newStandIn(t)
	s.secret = testSecret
	x := s.exec(robotFields(testSecret, ""))
	cases := []struct {
		typ    string
		params map[string]any
		check  func(m map[string]any) bool
	}{
		{"dingtalk.robot.text", map[string]any{"content": "支付失败：订单 {{ trigger.body.merchantOrderId }}", "atMobiles": "13800138000, 13900139000", "atAll": false},
			func(m map[string]any) bool {
				at := m["at"].(map[string]any)
				return m["text"].(map[string]any)["content"] == "支付失败：订单 A1024" && len(at["atMobiles"].([]any)) == 2 && at["isAtAll"] == false
			}},
		{"dingtalk.robot.markdown", map[string]any{"title": "支付失败", "text": "### {{ trigger.body.amount.decimal }} @13800138000", "atMobiles": "13800138000"},
			func(m map[string]any) bool { return m["markdown"].(map[string]any)["text"] == "### 88.00 @13800138000" }},
		{"dingtalk.robot.link", map[string]any{"title": "订单", "text": "查看订单", "messageUrl": "https://example.com/o/{{ trigger.body.merchantOrderId }}"},
			func(m map[string]any) bool {
				return m["link"].(map[string]any)["messageUrl"] == "https://example.com/o/A1024"
			}},
		{"dingtalk.robot.actioncard", map[string]any{"title": "订单", "text": "**失败**", "singleTitle": "查看", "singleURL": "https://example.com"},
			func(m map[string]any) bool {
				return m["actionCard"].(map[string]any)["singleURL"] == "https://example.com"
			}},
		{"dingtalk.robot.actioncard", map[string]any{"title": "订单", "text": "**失败**", "orientation": true,
			"buttons": []any{map[string]any{"title": "重试", "actionURL": "https://example.com/r"}, map[string]any{"title": "忽略", "actionURL": "https://example.com/i"}}},
			func(m map[string]any) bool {
				c := m["actionCard"].(map[string]any)
				return c["btnOrientation"] == "1" && len(c["btns"].([]any)) == 2
			}},
	}
	for _, c := range cases {
		res, err := build(t, c.typ, c.params).Execute(context.Background(), x)
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		if out, _ := res.Output.(map[string]any); out["errcode"] != int64(0) && out["errcode"] != float64(0) {
			t.Errorf("%s output %v", c.typ, res.Output)
		}
		if m := s.last(); !c.check(m) {
			t.Errorf("%s sent %v", c.typ, m)
		}
	}
	q := s.queries[len(s.queries)-1]
	if q.Get("access_token") != testToken || q.Get("timestamp") == "" || q.Get("sign") == "" {
		t.Errorf("query %v", q)
	}
}

func TestRobotSignatureRefused(t *testing.T) {
	s := newStandIn(t)
	s.secret = testSecret
	// Another secret: DingTalk answers 310000, which no retry can mend.
	_, err := build(t, "dingtalk.robot.text", map[string]any{"content": "hi"}).Execute(context.Background(), s.exec(robotFields("SECwrong", "")))
	e := failure(t, err, CodeSecurityRefused, nodes.Permanent)
	if !strings.Contains(e.Error(), "sign not match") {
		t.Errorf("DingTalk's answer not quoted: %v", e)
	}
	// A clock two hours off: the timestamp is refused.
	prev := now
	now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	defer func() { now = prev }()
	_, err = build(t, "dingtalk.robot.text", map[string]any{"content": "hi"}).Execute(context.Background(), s.exec(robotFields(testSecret, "")))
	if e := failure(t, err, CodeSecurityRefused, nodes.Permanent); !strings.Contains(e.Error(), "invalid timestamp") {
		t.Errorf("%v", e)
	}
	if len(s.messages) != 0 {
		t.Errorf("%d messages posted", len(s.messages))
	}
}

func TestRobotKeyword(t *testing.T) {
	s := newStandIn(t)
	s.keyword = "告警"
	n := build(t, "dingtalk.robot.text", map[string]any{"content": "订单 {{ trigger.body.merchantOrderId }} 支付失败"})
	// Checked before sending: nothing leaves.
	_, err := n.Execute(context.Background(), s.exec(robotFields("", "告警\n报警")))
	if e := failure(t, err, "dingtalk_credential_invalid", nodes.Permanent); !strings.Contains(e.Error(), "keywords (告警, 报警)") {
		t.Errorf("%v", e)
	}
	if len(s.queries) != 0 {
		t.Fatalf("a message without the keyword was sent")
	}
	// A credential that does not name the keyword: DingTalk's own refusal is quoted.
	_, err = n.Execute(context.Background(), s.exec(robotFields("", "")))
	if e := failure(t, err, CodeSecurityRefused, nodes.Permanent); !strings.Contains(e.Error(), "keywords not in content") {
		t.Errorf("%v", e)
	}
	// The keyword counts in the message's texts, not in its type or the numbers it @mentions.
	_, err = build(t, "dingtalk.robot.text", map[string]any{"content": "hi", "atMobiles": "13800138000"}).
		Execute(context.Background(), s.exec(robotFields("", "text\n138")))
	failure(t, err, "dingtalk_credential_invalid", nodes.Permanent)
	ok := build(t, "dingtalk.robot.text", map[string]any{"content": "【告警】订单 {{ trigger.body.merchantOrderId }}"})
	if _, err := ok.Execute(context.Background(), s.exec(robotFields("", "告警"))); err != nil {
		t.Fatal(err)
	}
}

func TestRobotRateLimit(t *testing.T) {
	s := newStandIn(t)
	n := build(t, "dingtalk.robot.text", map[string]any{"content": "hi"})
	x := s.exec(robotFields("", ""))
	for i := 0; i < 20; i++ {
		if _, err := n.Execute(context.Background(), x); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	_, err := n.Execute(context.Background(), x)
	e := failure(t, err, CodeRateLimited, nodes.RetryAfter)
	if e.After != robotThrottle || !strings.Contains(e.Error(), "send too fast") {
		t.Errorf("after %s: %v", e.After, e)
	}
	// The credential's bucket keeps a robot under the limit: 20 a minute.
	ct, _ := nodes.LookupCredentialType(RobotCredential)
	lim := ct.RateLimit
	if lim == nil || lim.Rate*60 > 20.0001 || lim.Burst != 1 {
		t.Errorf("rate limit %+v", lim)
	}
}

func TestRobotDryRunAndBadInput(t *testing.T) {
	s := newStandIn(t)
	n := build(t, "dingtalk.robot.actioncard", map[string]any{"title": "t", "text": "x"})
	_, err := n.Execute(context.Background(), s.exec(robotFields("", "")))
	failure(t, err, "dingtalk_request_invalid", nodes.Permanent)
	n = build(t, "dingtalk.robot.text", map[string]any{"content": "hi", "atMobiles": "not a phone"})
	_, err = n.Execute(context.Background(), s.exec(robotFields("", "")))
	failure(t, err, "dingtalk_request_invalid", nodes.Permanent)
	dr := build(t, "dingtalk.robot.text", map[string]any{"content": "订单 {{ trigger.body.merchantOrderId }}"}).(nodes.DryRunner)
	res, err := dr.DryRun(context.Background(), s.exec(robotFields(testSecret, "")))
	if err != nil {
		t.Fatal(err)
	}
	shown := res.Output.(map[string]any)
	if shown["dryRun"] != true || !strings.Contains(toJSON(shown["request"]), "订单 A1024") || strings.Contains(toJSON(shown), testToken) {
		t.Errorf("dry run %v", shown)
	}
	if len(s.queries) != 0 {
		t.Errorf("the dry run or a refused message was sent")
	}
}

func TestRobotConnectionTest(t *testing.T) {
	s := newStandIn(t)
	s.secret, s.keyword = testSecret, "告警"
	x := s.exec(nil)
	msg, err := testRobot(context.Background(), robotFields(testSecret, "告警"), x.Client())
	if err != nil || !strings.Contains(msg, "signed") {
		t.Fatalf("%q %v", msg, err)
	}
	if _, err := testRobot(context.Background(), robotFields("SECwrong", "告警"), x.Client()); err == nil || !strings.Contains(err.Error(), "sign not match") {
		t.Errorf("wrong secret: %v", err)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestErrcodes maps DingTalk's documented errcodes, each quoted in the failure.
func TestErrcodes(t *testing.T) {
	cases := []struct {
		check func(*connector.Answer) error
		code  int64
		want  string
		kind  nodes.Kind
	}{
		{checkRobot, 130101, CodeRateLimited, nodes.RetryAfter},
		{checkRobot, 410100, CodeRateLimited, nodes.RetryAfter},
		{checkRobot, 310000, CodeSecurityRefused, nodes.Permanent},
		{checkRobot, 400102, CodeRobotUnavailable, nodes.Permanent},
		{checkRobot, 300001, CodeRobotUnavailable, nodes.Permanent},
		{checkRobot, 430102, CodeContentRefused, nodes.Permanent},
		{checkRobot, -1, CodeBusy, nodes.Retryable},
		{checkRobot, 400105, CodeAPIError, nodes.Permanent},
		{checkApp, 143103, CodeRateLimited, nodes.RetryAfter},
		{checkApp, 143104, CodeRateLimited, nodes.RetryAfter},
		{checkApp, 42001, CodeTokenInvalid, nodes.Permanent},
		{checkApp, -1, CodeBusy, nodes.Retryable},
		{checkApp, 33012, CodeAPIError, nodes.Permanent},
	}
	for _, c := range cases {
		a := &connector.Answer{Status: 200, JSON: map[string]any{"errcode": float64(c.code), "errmsg": "消息 " + fmt.Sprint(c.code)}}
		e := nodes.Classify(c.check(a))
		if e == nil || e.Code != c.want || e.Kind != c.kind || !strings.Contains(e.Error(), "消息 "+fmt.Sprint(c.code)) {
			t.Errorf("errcode %d: %v, want %s %s", c.code, e, c.want, c.kind)
		}
	}
	if err := checkRobot(&connector.Answer{Status: 200, JSON: map[string]any{"errcode": float64(0), "errmsg": "ok"}}); err != nil {
		t.Errorf("ok: %v", err)
	}
}
