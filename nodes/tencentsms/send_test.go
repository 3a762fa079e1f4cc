package tencentsms

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

var trigger = map[string]any{"phone": "+86 137-1111-2222", "order": "A-1001", "amount": 99.5}

func sendParams(numbers string) map[string]any {
	return map[string]any{"phoneNumbers": numbers, "templateId": "449739", "signName": "腾讯云",
		"templateParams": `{{ [trigger.order, trigger.amount] }}`}
}

// TestSend: numbers in E.164, the template's values as texts and the credential's SdkAppID go out in a signed
// JSON POST the stand-in verifies; the output is the Response with one status per number.
func TestSend(t *testing.T) {
	s := newStandIn(t)
	res, err := build(t, sendParams("{{ trigger.phone }}, +852 9123 4567")).Execute(context.Background(), s.exec(trigger, testSecretKey))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if out["sent"] != int64(2) || out["failed"] != int64(0) || len(out["SendStatusSet"].([]any)) != 2 {
		t.Fatalf("output %v", out)
	}
	b, h := s.last()
	if fmt.Sprint(b["PhoneNumberSet"]) != "[+8613711112222 +85291234567]" || fmt.Sprint(b["TemplateParamSet"]) != "[A-1001 99.5]" ||
		b["SmsSdkAppId"] != testApp || b["TemplateId"] != "449739" || b["SignName"] != "腾讯云" {
		t.Fatalf("sent %v", b)
	}
	if h.Get("X-TC-Action") != "SendSms" || h.Get("X-TC-Region") != "ap-guangzhou" {
		t.Fatalf("headers %v", h)
	}
}

// TestNumbersCheckedBeforeSending: numbers not in E.164, more than 200, a template id or values of the wrong
// shape are refused before anything is sent.
func TestNumbersCheckedBeforeSending(t *testing.T) {
	s := newStandIn(t)
	many := strings.Repeat("+8613711112222,", 201)
	for _, p := range []map[string]any{sendParams("13711112222"), sendParams("+86 1371"), sendParams(many),
		{"phoneNumbers": "+8613711112222", "templateId": "SMS_1"},
		{"phoneNumbers": "+8613711112222", "templateId": "449739", "templateParams": `{"a": 1}`}} {
		_, err := build(t, p).Execute(context.Background(), s.exec(trigger, testSecretKey))
		failure(t, err, "tencentsms_request_invalid", nodes.Permanent)
	}
	if s.count() != 0 {
		t.Fatal("a refused request was sent")
	}
}

// TestPerNumberStatus: a send where some numbers are taken succeeds and lists the others with their codes; a
// send where every number hit its 30-second limit is rate limited for 30 seconds; one where every number is
// incorrect fails permanently.
func TestPerNumberStatus(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	if _, err := build(t, sendParams("+8613711112222")).Execute(ctx, s.exec(trigger, testSecretKey)); err != nil {
		t.Fatal(err)
	}
	res, err := build(t, sendParams("+8613711112222, +8613711113333")).Execute(ctx, s.exec(trigger, testSecretKey))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if out["sent"] != int64(1) || out["failed"] != int64(1) {
		t.Fatalf("output %v", out)
	}
	if st := out["SendStatusSet"].([]any)[0].(map[string]any); st["Code"] != "LimitExceeded.PhoneNumberThirtySecondLimit" {
		t.Fatalf("status %v", st)
	}
	_, err = build(t, sendParams("+8613711112222, +8613711113333")).Execute(ctx, s.exec(trigger, testSecretKey))
	e := failure(t, err, CodeRateLimited, nodes.RetryAfter)
	if !e.RateLimited || e.After != 30*time.Second || !strings.Contains(e.Error(), "+8613711112222: LimitExceeded.PhoneNumberThirtySecondLimit") {
		t.Fatalf("%+v", e)
	}
	_, err = build(t, sendParams(incorrectNumber)).Execute(ctx, s.exec(trigger, testSecretKey))
	failure(t, err, CodeNumberInvalid, nodes.Permanent)
	if s.sent != 2 {
		t.Fatalf("%d messages sent", s.sent)
	}
}

// TestDocumentedErrors: refusals in Response.Error map to their outcomes with Tencent Cloud's code and message
// quoted.
func TestDocumentedErrors(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	_, err := build(t, sendParams("+8613711112222")).Execute(ctx, s.exec(trigger, "wrong-key"))
	e := failure(t, err, "tencentsms_unauthorized", nodes.Permanent)
	if !strings.Contains(e.Error(), "AuthFailure.SignatureFailure: The provided credentials could not be validated") {
		t.Fatal(e)
	}
	_, err = build(t, map[string]any{"phoneNumbers": "+8613711112222", "templateId": "449739", "signName": "腾讯云"}).Execute(ctx, s.exec(trigger, testSecretKey))
	failure(t, err, CodeRejected, nodes.Permanent)
	s.fail = "RequestLimitExceeded"
	_, err = build(t, sendParams("+8613711112222")).Execute(ctx, s.exec(trigger, testSecretKey))
	if e := failure(t, err, CodeRateLimited, nodes.RetryAfter); e.After != throttleWait {
		t.Fatalf("%+v", e)
	}
	s.fail = "InternalError.Timeout"
	_, err = build(t, sendParams("+8613711112222")).Execute(ctx, s.exec(trigger, testSecretKey))
	failure(t, err, "tencentsms_outcome_unknown", nodes.Permanent)
	if s.sent != 0 {
		t.Fatalf("%d messages sent", s.sent)
	}
}

// TestDryRun: a test run shows the request without sending or signing it.
func TestDryRun(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(trigger, testSecretKey)
	x.Mode = nodes.ModeTest
	res, err := build(t, sendParams("{{ trigger.phone }}")).(nodes.DryRunner).DryRun(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	shown := fmt.Sprint(res.Output)
	if !strings.Contains(shown, "+8613711112222") || !strings.Contains(shown, "SendSms") || strings.Contains(shown, testSecretKey) ||
		strings.Contains(shown, "TC3-HMAC") || s.count() != 0 {
		t.Fatalf("dry run %s (%d requests)", shown, s.count())
	}
}

// TestConnection: the credential test reads today's statistics of the application (SendStatusStatistics).
func TestConnection(t *testing.T) {
	s := newStandIn(t)
	msg, err := testConnection(context.Background(), fields(testSecretKey), s.client())
	if err != nil || !strings.Contains(msg, "application 1400006666 (3 requests today)") {
		t.Fatalf("%q %v", msg, err)
	}
	if _, h := s.last(); h.Get("X-TC-Action") != "SendStatusStatistics" {
		t.Fatalf("action %s", h.Get("X-TC-Action"))
	}
	_, err = testConnection(context.Background(), fields("wrong-key"), s.client())
	failure(t, err, "tencentsms_unauthorized", nodes.Permanent)
	f := fields(testSecretKey)
	f[FieldSdkAppID] = "1400"
	_, err = testConnection(context.Background(), f, s.client())
	failure(t, err, "tencentsms_credential_invalid", nodes.Permanent)
}

// TestStatusSetOutcomes: how a send none of whose numbers was taken fails, from its SendStatusSet alone.
func TestStatusSetOutcomes(t *testing.T) {
	answer := func(codes ...string) *connector.Answer {
		var set []any
		for i, c := range codes {
			set = append(set, map[string]any{"PhoneNumber": fmt.Sprintf("+861371111222%d", i), "Code": c, "Message": c})
		}
		return &connector.Answer{Status: 200, JSON: map[string]any{"Response": map[string]any{"SendStatusSet": set, "RequestId": "r"}}}
	}
	for _, c := range []struct {
		codes []string
		code  string
		after time.Duration
	}{
		{[]string{"LimitExceeded.PhoneNumberThirtySecondLimit", "LimitExceeded.PhoneNumberOneHourLimit"}, CodeRateLimited, time.Hour},
		{[]string{"InvalidParameterValue.IncorrectPhoneNumber"}, CodeNumberInvalid, 0},
		{[]string{"InvalidParameterValue.IncorrectPhoneNumber", "LimitExceeded.PhoneNumberThirtySecondLimit"}, CodeRejected, 0},
		{[]string{"InternalError.SendAndRecvFail", "LimitExceeded.PhoneNumberThirtySecondLimit"}, "tencentsms_outcome_unknown", 0},
	} {
		e := nodes.Classify(check(answer(c.codes...)))
		if e == nil || e.Code != c.code || e.After != c.after {
			t.Fatalf("%v: %+v, want %s after %s", c.codes, e, c.code, c.after)
		}
	}
	if err := check(answer("Ok", "InternalError.SendAndRecvFail")); err != nil {
		t.Fatalf("a send with one number taken failed: %v", err)
	}
}
