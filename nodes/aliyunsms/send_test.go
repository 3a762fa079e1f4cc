package aliyunsms

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

var trigger = map[string]any{"phone": "+86 138-0013-8000", "code": 4821}

func sendParams(numbers string) map[string]any {
	return map[string]any{"phoneNumbers": numbers, "signName": "阿里云", "templateCode": "SMS_154950909",
		"templateParam": `{{ {"code": trigger.code} }}`}
}

// TestSend: numbers in E.164 go out as SendSms takes them, the template variables as JSON text, all in the
// signed query of a bodiless POST the stand-in verifies; the answer is the output.
func TestSend(t *testing.T) {
	s := newStandIn(t)
	res, err := build(t, sendParams("{{ trigger.phone }}, +852 9123 4567")).Execute(context.Background(), s.exec(trigger, testSecret))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if out["Code"] != "OK" || out["BizId"] != "9006197469364984400^0" {
		t.Fatalf("output %v", out)
	}
	q := s.last()
	if q.Get("PhoneNumbers") != "13800138000,85291234567" || q.Get("TemplateParam") != `{"code":4821}` ||
		q.Get("SignName") != "阿里云" || q.Get("TemplateCode") != "SMS_154950909" {
		t.Fatalf("sent %v", q)
	}
}

// TestNumbersCheckedBeforeSending: a number without its country code, or not a valid one, is refused before
// anything is sent, as are more than 1,000 numbers and a template code of the wrong shape.
func TestNumbersCheckedBeforeSending(t *testing.T) {
	s := newStandIn(t)
	many := strings.Repeat("+8613800138000,", 1001)
	for _, p := range []map[string]any{sendParams("13800138000"), sendParams("+86 123"), sendParams(many),
		{"phoneNumbers": "+8613800138000", "signName": "阿里云", "templateCode": "154950909"},
		{"phoneNumbers": "+8613800138000", "signName": "阿里云", "templateCode": "SMS_154950909", "templateParam": "[1, 2]"}} {
		_, err := build(t, p).Execute(context.Background(), s.exec(trigger, testSecret))
		failure(t, err, "aliyunsms_request_invalid", nodes.Permanent)
	}
	if s.count() != 0 {
		t.Fatal("a refused request was sent")
	}
}

// TestPerNumberLimit: a second message to the same number within a minute is refused by Alibaba Cloud's
// per-number limit; the step is rate limited for the minute the answer names, nothing sent.
func TestPerNumberLimit(t *testing.T) {
	s := newStandIn(t)
	n := build(t, sendParams("+8613800138000"))
	if _, err := n.Execute(context.Background(), s.exec(trigger, testSecret)); err != nil {
		t.Fatal(err)
	}
	_, err := n.Execute(context.Background(), s.exec(trigger, testSecret))
	e := failure(t, err, CodeRateLimited, nodes.RetryAfter)
	if !e.RateLimited || e.After != time.Minute || !strings.Contains(e.Error(), "isv.BUSINESS_LIMIT_CONTROL: 触发分钟级流控Permits:1") {
		t.Fatalf("%+v", e)
	}
	if s.sends != 1 {
		t.Fatalf("%d sends", s.sends)
	}
}

// TestDocumentedErrors: each documented code maps to its outcome with Alibaba Cloud's message quoted.
func TestDocumentedErrors(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	_, err := build(t, sendParams("+86"+illegalNumber)).Execute(ctx, s.exec(trigger, testSecret))
	e := failure(t, err, CodeNumberInvalid, nodes.Permanent)
	if !strings.Contains(e.Error(), "isv.MOBILE_NUMBER_ILLEGAL: 非法手机号") {
		t.Fatal(e)
	}
	_, err = build(t, map[string]any{"phoneNumbers": "+8613700137000", "signName": "阿里云", "templateCode": "SMS_154950909"}).Execute(ctx, s.exec(trigger, testSecret))
	failure(t, err, CodeTemplateParams, nodes.Permanent)
	_, err = build(t, map[string]any{"phoneNumbers": "+8613700137000", "signName": "阿里云", "templateCode": "SMS_999"}).Execute(ctx, s.exec(trigger, testSecret))
	failure(t, err, CodeRejected, nodes.Permanent)
	_, err = build(t, sendParams("+8613700137001")).Execute(ctx, s.exec(trigger, "another-secret"))
	e = failure(t, err, "aliyunsms_unauthorized", nodes.Permanent)
	if !strings.Contains(e.Error(), "SignatureDoesNotMatch") {
		t.Fatal(e)
	}
	s.throttle = true
	_, err = build(t, sendParams("+8613700137002")).Execute(ctx, s.exec(trigger, testSecret))
	if e := failure(t, err, CodeRateLimited, nodes.RetryAfter); e.After != throttleWait {
		t.Fatalf("%+v", e)
	}
	s.throttle, s.answer = false, "isp.SYSTEM_ERROR"
	_, err = build(t, sendParams("+8613700137003")).Execute(ctx, s.exec(trigger, testSecret))
	failure(t, err, "aliyunsms_outcome_unknown", nodes.Permanent)
	if s.sends != 0 {
		t.Fatalf("%d sends", s.sends)
	}
}

// TestDryRun: a test run shows the request, parameters included, without sending it or signing it.
func TestDryRun(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(trigger, testSecret)
	x.Mode = nodes.ModeTest
	res, err := build(t, sendParams("{{ trigger.phone }}")).(nodes.DryRunner).DryRun(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	shown := fmt.Sprint(res.Output)
	if !strings.Contains(shown, "13800138000") || !strings.Contains(shown, `{"code":4821}`) || strings.Contains(shown, testSecret) ||
		strings.Contains(shown, "ACS3") || s.count() != 0 {
		t.Fatalf("dry run %s (%d requests)", shown, s.count())
	}
}

// TestConnection: the credential test reads one signature (QuerySmsSignList) through the guarded client.
func TestConnection(t *testing.T) {
	s := newStandIn(t)
	msg, err := testConnection(context.Background(), map[string]string{FieldAccessKeyID: testKeyID, FieldAccessKeySecret: testSecret}, s.client())
	if err != nil || !strings.Contains(msg, "QuerySmsSignList answered OK") {
		t.Fatalf("%q %v", msg, err)
	}
	if q := s.last(); q.Get("PageIndex") != "1" || q.Get("PageSize") != "1" {
		t.Fatalf("sent %v", q)
	}
	_, err = testConnection(context.Background(), map[string]string{FieldAccessKeyID: testKeyID, FieldAccessKeySecret: "wrong"}, s.client())
	failure(t, err, "aliyunsms_unauthorized", nodes.Permanent)
}

// TestWindows: a number's daily limit counts the 24 hours before the send, so it waits 24 hours; the hourly one an
// hour; the account's daily cap until midnight in Beijing.
func TestWindows(t *testing.T) {
	if w := numberWindow("触发天级流控Permits:10"); w != 24*time.Hour {
		t.Fatalf("%s", w)
	}
	if w := numberWindow("触发小时级流控Permits:5"); w != time.Hour {
		t.Fatalf("%s", w)
	}
	at := time.Date(2026, 12, 7, 15, 30, 0, 0, time.UTC) // 23:30 in Beijing
	if w := untilTomorrow(at); w != 30*time.Minute {
		t.Fatalf("%s", w)
	}
}
