package alipay

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/payment"
)

func trigger(t *testing.T, params string) nodes.WebhookTrigger {
	t.Helper()
	return mustBuild(t, TriggerType, params).(nodes.WebhookTrigger)
}

func post(body string, fields map[string]string) *nodes.WebhookRequest {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	h.Set("User-Agent", "Mozilla/4.0")
	return &nodes.WebhookRequest{Method: http.MethodPost, Header: h, Query: url.Values{}, Body: []byte(body), Mode: nodes.ModeLive,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

// wantRejected checks a refusal: its status and code, and that Alipay is answered with the text "fail".
func wantRejected(t *testing.T, err error, status int, code string) *nodes.WebhookError {
	t.Helper()
	var we *nodes.WebhookError
	if !errors.As(err, &we) {
		t.Fatalf("error = %v, want a *nodes.WebhookError %d %s", err, status, code)
	}
	if we.Status != status || we.Code != code {
		t.Fatalf("rejection = %d %s (%v), want %d %s", we.Status, we.Code, we.Err, status, code)
	}
	if a := we.Answer; a == nil || a.Body != "fail" || a.Status != status || !strings.HasPrefix(a.Headers["Content-Type"], "text/plain") {
		t.Fatalf("answer = %+v, want the text fail with status %d", a, status)
	}
	return we
}

func body(acc *nodes.Accepted) map[string]any { return acc.Payload["body"].(map[string]any) }

func TestNotifyAccepted(t *testing.T) {
	testKeys(t)
	fields := testFields(t, "")
	values := notification(time.Now())
	form := signNotify(t, alipayKey, values)

	// The fixture is what the SDK itself accepts as a genuine notification.
	client, err := sdk.New(testAppID, pkcs1PEM(appKey), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.LoadAliPayPublicKey(publicPEM(&alipayKey.PublicKey)); err != nil {
		t.Fatal(err)
	}
	parsed, _ := url.ParseQuery(form)
	if _, err := client.DecodeNotification(parsed); err != nil {
		t.Fatalf("the SDK refuses the test notification: %v", err)
	}

	acc, err := trigger(t, `{}`).Accept(context.Background(), post(form, fields))
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	if acc.DedupKey != "ac05099524730693a8b330c5ecf72da9786" || acc.BusinessKey != "ord_8f3a2c91d4" {
		t.Errorf("keys = %q, %q", acc.DedupKey, acc.BusinessKey)
	}
	if a := acc.Ack; a == nil || a.Status != 200 || a.Body != "success" || !strings.HasPrefix(a.Headers["Content-Type"], "text/plain") {
		t.Errorf("ack = %+v, want 200 text/plain success", a)
	}
	b := body(acc)
	if b["provider"] != "alipay" || b["type"] != payment.EventPaid || b["providerType"] != "TRADE_SUCCESS" ||
		b["eventId"] != "ac05099524730693a8b330c5ecf72da9786" || b["transactionId"] != "2026112922001405761234567890" ||
		b["merchantOrderId"] != "ord_8f3a2c91d4" {
		t.Errorf("event = %v", b)
	}
	amount := b["amount"].(map[string]any)
	if amount["minor"] != int64(8800) || amount["currency"] != "CNY" || amount["decimal"] != "88.00" {
		t.Errorf("amount = %v, want 8800 fen", amount)
	}
	if p := b["payer"].(map[string]any); p["id"] != "2088102122524333" || p["name"] != "159****5620" {
		t.Errorf("payer = %v", p)
	}
	paid, _ := time.ParseInLocation(timeLayout, values.Get("gmt_payment"), chinaTime)
	if b["time"] != paid.UTC().Format(time.RFC3339) || !strings.HasSuffix(b["time"].(string), "Z") {
		t.Errorf("time = %v, want gmt_payment %s read as Beijing time, in UTC", b["time"], values.Get("gmt_payment"))
	}
	raw := b["raw"].(map[string]any)
	if raw["fund_bill_list"] != values.Get("fund_bill_list") || raw["body"] != "" {
		t.Errorf("raw = %v", raw)
	}
	if acc.Payload["method"] != "POST" || acc.Payload["headers"].(map[string]any)["user-agent"] != "Mozilla/4.0" {
		t.Errorf("payload = %v", acc.Payload)
	}
	// The trigger's step passes the event on.
	res, err := trigger(t, `{}`).Execute(context.Background(), &nodes.Exec{Input: acc.Payload})
	if err != nil || res.Output.(map[string]any)["body"] == nil {
		t.Errorf("execute = %v, %v", res.Output, err)
	}
}

func TestNotifyRejected(t *testing.T) {
	testKeys(t)
	fields := testFields(t, "")
	now := time.Now()
	good := signNotify(t, alipayKey, notification(now))
	tampered := strings.Replace(good, "total_amount=88.00", "total_amount=0.01", 1)
	otherApp := notification(now)
	otherApp.Set("app_id", "2021000999999999")
	noSign := url.Values(notification(now)).Encode()
	badSign := notification(now)
	badSign.Set("sign", "not base64!")
	rsa1 := notification(now)
	rsa1.Set("sign_type", "RSA")
	emptyDropped := notification(now)
	for _, k := range []string{"body", "out_biz_no", "passback_params"} {
		emptyDropped.Del(k) // signed without the empty fields, then sent with one, as a signer dropping empties would
	}
	stale := notification(now.Add(-72 * time.Hour))
	future := notification(now.Add(time.Hour))
	noNotifyID := notification(now)
	noNotifyID.Del("notify_id")
	badAmount := notification(now)
	badAmount.Set("total_amount", "88.001")

	tests := []struct {
		name   string
		req    *nodes.WebhookRequest
		status int
		code   string
	}{
		{"tampered body", post(tampered, fields), 401, CodeSignatureInvalid},
		{"signed with another key", post(signNotify(t, evilKey, notification(now)), fields), 401, CodeSignatureInvalid},
		{"checked against another Alipay key", post(good, map[string]string{FieldAppID: testAppID, FieldPrivateKey: pkcs8Base64(appKey),
			FieldAlipayPublicKey: publicPEM(&evilKey.PublicKey)}), 401, CodeSignatureInvalid},
		{"app id mismatch", post(signNotify(t, alipayKey, otherApp), fields), 403, CodeAppIDMismatch},
		{"missing sign", post(noSign, fields), 401, CodeSignatureMissing},
		{"sign not base64", post(badSign.Encode(), fields), 401, CodeSignatureInvalid},
		{"field added after signing", post(good+"&extra=1", fields), 401, CodeSignatureInvalid},
		{"RSA1 sign type", post(signNotify(t, alipayKey, rsa1), fields), 401, CodeSignTypeUnsupported},
		{"empty value left out of the signature", post(signNotify(t, alipayKey, emptyDropped)+"&body=", fields), 401, CodeSignatureInvalid},
		{"repeated field", post(good+"&total_amount=88.00", fields), 400, CodePayloadInvalid},
		{"empty body", post("", fields), 400, CodePayloadInvalid},
		{"not a form", post("a=%zz", fields), 400, CodePayloadInvalid},
		{"stale", post(signNotify(t, alipayKey, stale), fields), 400, CodeNotifyStale},
		{"from the future", post(signNotify(t, alipayKey, future), fields), 400, CodeNotifyStale},
		{"no notify_id", post(signNotify(t, alipayKey, noNotifyID), fields), 400, CodePayloadInvalid},
		{"amount with three decimals", post(signNotify(t, alipayKey, badAmount), fields), 400, CodePayloadInvalid},
		{"too large", post(good+"&x="+strings.Repeat("a", maxNotifyBody), fields), 413, CodeBodyTooLarge},
	}
	n := trigger(t, `{}`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := n.Accept(context.Background(), tc.req)
			wantRejected(t, err, tc.status, tc.code)
		})
	}

	t.Run("GET", func(t *testing.T) {
		req := post(good, fields)
		req.Method = http.MethodGet
		_, err := n.Accept(context.Background(), req)
		wantRejected(t, err, 405, CodeMethodNotAllowed)
	})
	t.Run("no credential", func(t *testing.T) {
		req := post(good, nil)
		req.Credential = func(context.Context) (map[string]string, error) { return nil, nodes.ErrNoCredential }
		_, err := n.Accept(context.Background(), req)
		wantRejected(t, err, 500, CodeTriggerCredential)
	})
	t.Run("vault down", func(t *testing.T) {
		req := post(good, nil)
		req.Credential = func(context.Context) (map[string]string, error) { return nil, errors.New("database is locked") }
		_, err := n.Accept(context.Background(), req)
		we := wantRejected(t, err, 503, CodeTriggerCredentialOut)
		// The caller gets Alipay's bare "fail"; the cause is kept for Ferry's log, which is where it belongs.
		if we.Answer == nil || we.Answer.Body != "fail" {
			t.Errorf("the rejection answers %+v, want Alipay's fail", we.Answer)
		}
		if !strings.Contains(we.Error(), "database is locked") {
			t.Errorf("the rejection loses the cause an administrator needs: %v", we)
		}
	})
	t.Run("unusable key", func(t *testing.T) {
		_, err := n.Accept(context.Background(), post(good, map[string]string{FieldAppID: testAppID, FieldPrivateKey: "x", FieldAlipayPublicKey: "not a key"}))
		we := wantRejected(t, err, 500, CodeTriggerCredentialBad)
		if strings.Contains(we.Error(), "not a key") {
			t.Errorf("the rejection repeats the credential's value: %v", we)
		}
	})
	t.Run("age check off", func(t *testing.T) {
		if _, err := trigger(t, `{"maxAge": "0s"}`).Accept(context.Background(), post(signNotify(t, alipayKey, stale), fields)); err != nil {
			t.Fatalf("stale notification refused with the age check off: %v", err)
		}
	})
}

// A redelivery carries the same notify_id and so the same dedup key; another notification of the same trade
// (TRADE_FINISHED after TRADE_SUCCESS) has its own.
func TestNotifyDedupKey(t *testing.T) {
	testKeys(t)
	fields := testFields(t, "")
	n := trigger(t, `{}`)
	first := notification(time.Now())
	again := notification(time.Now().Add(4 * time.Minute)) // Alipay's first redelivery, a new notify_time
	finished := notification(time.Now())
	finished.Set("notify_id", "bc15099524730693a8b330c5ecf72da9999")
	finished.Set("trade_status", "TRADE_FINISHED")
	var keys []string
	for _, v := range []url.Values{first, again, finished} {
		acc, err := n.Accept(context.Background(), post(signNotify(t, alipayKey, v), fields))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, acc.DedupKey)
	}
	if keys[0] != keys[1] || keys[0] == keys[2] || keys[0] == "" {
		t.Fatalf("dedup keys = %q: a redelivery must repeat the key, another notification must not", keys)
	}
	long := notification(time.Now())
	long.Set("notify_id", strings.Repeat("n", 300))
	acc, err := n.Accept(context.Background(), post(signNotify(t, alipayKey, long), fields))
	if err != nil || len(acc.DedupKey) > 200 || !strings.HasPrefix(acc.DedupKey, "sha256:") {
		t.Fatalf("long notify_id: key %q, %v", acc.DedupKey, err)
	}
}

func TestNotifyStatuses(t *testing.T) {
	testKeys(t)
	fields := testFields(t, "")
	n := trigger(t, `{}`)
	tests := []struct {
		name       string
		set        map[string]string
		typ        string
		minor      int64
		refunded   int64 // 0: no refundedAmount
		timeSource string
	}{
		{"waiting", map[string]string{"trade_status": "WAIT_BUYER_PAY", "gmt_payment": ""}, payment.EventPending, 8800, 0, "gmt_create"},
		{"paid", map[string]string{"trade_status": "TRADE_SUCCESS"}, payment.EventPaid, 8800, 0, "gmt_payment"},
		{"finished", map[string]string{"trade_status": "TRADE_FINISHED"}, payment.EventPaid, 8800, 0, "gmt_payment"},
		{"closed", map[string]string{"trade_status": "TRADE_CLOSED", "gmt_close": "2026-11-29 20:00:00"}, payment.EventClosed, 8800, 0, "gmt_close"},
		{"partial refund", map[string]string{"trade_status": "TRADE_SUCCESS", "refund_fee": "10.00", "gmt_refund": "2026-11-29 19:00:00.123", "out_biz_no": "r1"},
			payment.EventRefunded, 1000, 1000, "gmt_refund"},
		{"full refund", map[string]string{"trade_status": "TRADE_CLOSED", "refund_fee": "88.00", "gmt_refund": "2026-11-29 19:00:00.456", "gmt_close": "2026-11-29 19:00:00"},
			payment.EventRefunded, 8800, 8800, "gmt_refund"},
		{"finished after a refund", map[string]string{"trade_status": "TRADE_FINISHED", "refund_fee": "10.00", "gmt_refund": "2026-11-29 19:00:00"},
			payment.EventPaid, 8800, 0, "gmt_payment"},
		{"one fen", map[string]string{"total_amount": "0.01"}, payment.EventPaid, 1, 0, "gmt_payment"},
		{"unknown status", map[string]string{"trade_status": "TRADE_PENDING_SOMETHING"}, payment.EventOther, 8800, 0, "notify_time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := notification(time.Now())
			for k, val := range tc.set {
				v.Set(k, val)
			}
			acc, err := n.Accept(context.Background(), post(signNotify(t, alipayKey, v), fields))
			if err != nil {
				t.Fatal(err)
			}
			b := body(acc)
			if b["type"] != tc.typ || b["amount"].(map[string]any)["minor"] != tc.minor {
				t.Errorf("type %v amount %v, want %s %d", b["type"], b["amount"], tc.typ, tc.minor)
			}
			r, has := b["refundedAmount"].(map[string]any)
			if (tc.refunded != 0) != has || (has && r["minor"] != tc.refunded) {
				t.Errorf("refundedAmount = %v, want %d", b["refundedAmount"], tc.refunded)
			}
			want, _ := parseChinaTime(v.Get(tc.timeSource))
			if b["time"] != payment.FormatTime(want) {
				t.Errorf("time = %v, want %s from %s", b["time"], payment.FormatTime(want), tc.timeSource)
			}
		})
	}
}

// A GBK notification is signed over its GBK bytes; flows get UTF-8.
func TestNotifyGBK(t *testing.T) {
	testKeys(t)
	v := notification(time.Now())
	v.Set("charset", "gbk")
	subject, err := simplifiedchinese.GBK.NewEncoder().String("测试订单")
	if err != nil {
		t.Fatal(err)
	}
	v.Set("subject", subject)
	acc, err := trigger(t, `{}`).Accept(context.Background(), post(signNotify(t, alipayKey, v), testFields(t, "")))
	if err != nil {
		t.Fatal(err)
	}
	if got := body(acc)["raw"].(map[string]any)["subject"]; got != "测试订单" {
		t.Fatalf("subject = %q, want it in UTF-8", got)
	}
}

func TestTriggerConfig(t *testing.T) {
	if _, err := build(t, TriggerType, `{}`, ""); err == nil || !strings.Contains(err.Error(), "credential") {
		t.Errorf("a trigger without a credential built: %v", err)
	}
	if _, err := build(t, TriggerType, `{"maxAge": "soon"}`, "c"); err == nil {
		t.Error("maxAge soon accepted")
	}
}
