package wechatpay

import (
	"bytes"
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/payment"
)

func trigger(t *testing.T, params string) nodes.WebhookTrigger {
	t.Helper()
	return mustBuild(t, TriggerType, params).(nodes.WebhookTrigger)
}

// TestFixtureIsAcceptedBySDK makes sure the test notifications are real ones: the SDK's own notification
// handler verifies and decrypts them, so the trigger is tested against WeChat Pay's format, not ours.
func TestFixtureIsAcceptedBySDK(t *testing.T) {
	ks := keys(t)
	h, body := ks.request(t, ks.transactionNotice("EV-2018022511223320873", "1217752501201407033233368018", 100))
	verifier := verifiers.NewSHA256WithRSACombinedVerifier(core.NewCertificateMapWithList([]*x509.Certificate{ks.platformCert}),
		ks.publicKeyID, ks.publicKey.PublicKey)
	handler, err := notify.NewRSANotifyHandler(ks.apiV3Key, verifier)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/hooks/f1", bytes.NewReader(body))
	req.Header = h
	var tx payments.Transaction
	if _, err := handler.ParseNotifyRequest(context.Background(), req, &tx); err != nil {
		t.Fatalf("the SDK refuses the test notification: %v", err)
	}
	if *tx.OutTradeNo != "1217752501201407033233368018" || *tx.Amount.Total != 100 {
		t.Fatalf("the SDK read %+v", tx)
	}
}

func TestTriggerAcceptsPayment(t *testing.T) {
	ks := keys(t)
	n := trigger(t, `{}`)
	h, body := ks.request(t, ks.transactionNotice("EV-2018022511223320873", "1217752501201407033233368018", 12345))
	acc, err := n.Accept(context.Background(), webhookRequest(h, body, ks.fields("")))
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if acc.DedupKey != "EV-2018022511223320873" || acc.BusinessKey != "1217752501201407033233368018" {
		t.Fatalf("keys = %q, %q", acc.DedupKey, acc.BusinessKey)
	}
	if acc.Ack == nil || acc.Ack.Status != http.StatusOK || acc.Ack.Body != nil {
		t.Fatalf("ack = %+v, want 200 with no body", acc.Ack)
	}
	p := acc.Payload["body"].(map[string]any)
	want := map[string]any{"provider": "wechatpay", "type": payment.EventPaid, "providerType": "TRANSACTION.SUCCESS",
		"eventId": "EV-2018022511223320873", "transactionId": "1217752501201407033233368018",
		"merchantOrderId": "1217752501201407033233368018", "time": "2018-06-08T02:34:56Z"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	amount := p["amount"].(map[string]any)
	if amount["minor"] != int64(12345) || amount["currency"] != "CNY" || amount["decimal"] != "123.45" {
		t.Errorf("amount = %v", amount)
	}
	if payer := p["payer"].(map[string]any); payer["id"] != "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" {
		t.Errorf("payer = %v", payer)
	}
	raw := p["raw"].(map[string]any)
	if res := raw["resource"].(map[string]any); res["trade_type"] != "NATIVE" || res["bank_type"] != "CMC" {
		t.Errorf("raw resource = %v", res)
	}
	if _, ok := p["refundedAmount"]; ok {
		t.Error("a payment has no refunded amount")
	}
}

func TestTriggerLegacyAcknowledgement(t *testing.T) {
	ks := keys(t)
	n := trigger(t, `{"acknowledgement": "json"}`)
	h, body := ks.request(t, ks.transactionNotice("EV-1", "order-1", 1))
	acc, err := n.Accept(context.Background(), webhookRequest(h, body, ks.fields("")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := acc.Ack.Body.(map[string]any)
	if acc.Ack.Status != 200 || b["code"] != "SUCCESS" || b["message"] != "成功" {
		t.Fatalf("ack = %+v", acc.Ack)
	}
}

func TestTriggerPublicKeyAndCertificateOnly(t *testing.T) {
	ks := keys(t)
	n := trigger(t, `{}`)
	// Signed with the WeChat Pay public key, selected by its id.
	msg := ks.transactionNotice("EV-PK", "order-pk", 1)
	msg.signKey, msg.serial = ks.publicKey, ks.publicKeyID
	h, body := ks.request(t, msg)
	if _, err := n.Accept(context.Background(), webhookRequest(h, body, ks.fields(""))); err != nil {
		t.Fatalf("public key: %v", err)
	}
	// A credential with platform certificates only does not know the public key id.
	certOnly := ks.fields("")
	delete(certOnly, FieldPublicKey)
	delete(certOnly, FieldPublicKeyID)
	_, err := n.Accept(context.Background(), webhookRequest(h, body, certOnly))
	wantRejection(t, err, http.StatusUnauthorized, CodeSerialUnknown)
	// The serial is compared without regard to case.
	h2, body2 := ks.request(t, ks.transactionNotice("EV-LC", "order-lc", 1))
	h2.Set("Wechatpay-Serial", strings.ToLower(ks.platformSerial))
	if _, err := n.Accept(context.Background(), webhookRequest(h2, body2, certOnly)); err != nil {
		t.Fatalf("lower-case serial: %v", err)
	}
}

func TestTriggerRefunds(t *testing.T) {
	ks := keys(t)
	n := trigger(t, `{}`)
	for _, tc := range []struct{ eventType, status, want string }{
		{"REFUND.SUCCESS", "SUCCESS", payment.EventRefunded},
		{"REFUND.ABNORMAL", "ABNORMAL", payment.EventFailed},
		{"REFUND.CLOSED", "CLOSED", payment.EventClosed},
	} {
		h, body := ks.request(t, ks.refundNotice("EV-"+tc.eventType, tc.eventType, tc.status))
		acc, err := n.Accept(context.Background(), webhookRequest(h, body, ks.fields("")))
		if err != nil {
			t.Fatalf("%s: %v", tc.eventType, err)
		}
		p := acc.Payload["body"].(map[string]any)
		if p["type"] != tc.want || p["providerType"] != tc.eventType || acc.DedupKey != "EV-"+tc.eventType {
			t.Fatalf("%s: payload %v", tc.eventType, p)
		}
		if a := p["amount"].(map[string]any); a["minor"] != int64(999) || a["currency"] != "CNY" {
			t.Fatalf("%s: amount %v", tc.eventType, a)
		}
		if r := p["refundedAmount"].(map[string]any); r["minor"] != int64(1) || r["decimal"] != "0.01" {
			t.Fatalf("%s: refunded %v", tc.eventType, r)
		}
	}
}

func TestTriggerRejections(t *testing.T) {
	ks := keys(t)
	n := trigger(t, `{}`)
	good := func() (http.Header, []byte) {
		return ks.request(t, ks.transactionNotice("EV-R", "order-r", 100))
	}
	otherKey := mustKey()
	tests := []struct {
		name   string
		req    func() *nodes.WebhookRequest
		status int
		code   string
	}{
		{"tampered body", func() *nodes.WebhookRequest {
			h, body := good()
			return webhookRequest(h, bytes.Replace(body, []byte(`"EV-R"`), []byte(`"EV-S"`), 1), ks.fields(""))
		}, 401, CodeSignatureInvalid},
		{"signed with another key", func() *nodes.WebhookRequest {
			msg := ks.transactionNotice("EV-R", "order-r", 100)
			msg.signKey = otherKey
			h, body := ks.request(t, msg)
			return webhookRequest(h, body, ks.fields(""))
		}, 401, CodeSignatureInvalid},
		{"signature probe", func() *nodes.WebhookRequest {
			h, body := good()
			h.Set("Wechatpay-Signature", "WECHATPAY/SIGNTEST/"+h.Get("Wechatpay-Signature"))
			return webhookRequest(h, body, ks.fields(""))
		}, 401, CodeSignatureInvalid},
		{"stale timestamp", func() *nodes.WebhookRequest {
			msg := ks.transactionNotice("EV-R", "order-r", 100)
			msg.timestamp = time.Now().Add(-6 * time.Minute)
			h, body := ks.request(t, msg)
			return webhookRequest(h, body, ks.fields(""))
		}, 401, CodeTimestampStale},
		{"future timestamp", func() *nodes.WebhookRequest {
			msg := ks.transactionNotice("EV-R", "order-r", 100)
			msg.timestamp = time.Now().Add(6 * time.Minute)
			h, body := ks.request(t, msg)
			return webhookRequest(h, body, ks.fields(""))
		}, 401, CodeTimestampStale},
		{"timestamp not a number", func() *nodes.WebhookRequest {
			h, body := good()
			h.Set("Wechatpay-Timestamp", "yesterday")
			return webhookRequest(h, body, ks.fields(""))
		}, 401, CodeTimestampStale},
		{"unknown serial", func() *nodes.WebhookRequest {
			msg := ks.transactionNotice("EV-R", "order-r", 100)
			msg.signKey, msg.serial = otherKey, "7132D72A03E93CDDF8C03BBD1F37EEDF"
			h, body := ks.request(t, msg)
			return webhookRequest(h, body, ks.fields(""))
		}, 401, CodeSerialUnknown},
		{"wrong APIv3 key", func() *nodes.WebhookRequest {
			msg := ks.transactionNotice("EV-R", "order-r", 100)
			msg.apiV3Key = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"
			h, body := ks.request(t, msg)
			return webhookRequest(h, body, ks.fields(""))
		}, 500, CodeDecryptFailed},
		{"signature type", func() *nodes.WebhookRequest {
			h, body := good()
			h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3")
			return webhookRequest(h, body, ks.fields(""))
		}, 401, CodeSignatureTypeUnknown},
		{"GET", func() *nodes.WebhookRequest {
			h, body := good()
			r := webhookRequest(h, body, ks.fields(""))
			r.Method = http.MethodGet
			return r
		}, 405, CodeMethodNotAllowed},
		{"too large", func() *nodes.WebhookRequest {
			h, _ := good()
			return webhookRequest(h, bytes.Repeat([]byte(" "), maxNotifyBody+1), ks.fields(""))
		}, 413, CodeBodyTooLarge},
		{"no credential", func() *nodes.WebhookRequest {
			h, body := good()
			return webhookRequest(h, body, nil)
		}, 500, CodeTriggerCredential},
		{"credential without keys", func() *nodes.WebhookRequest {
			h, body := good()
			f := ks.fields("")
			f[FieldPlatformCertificates], f[FieldPublicKey], f[FieldPublicKeyID] = "", "", ""
			return webhookRequest(h, body, f)
		}, 500, CodeTriggerCredentialBad},
		{"signed body is not a notification", func() *nodes.WebhookRequest {
			body := []byte(`{"hello": "world"}`)
			h := signHeaders(t, ks.platformKey, ks.platformSerial, nowUnix(), "n1", body)
			return webhookRequest(h, body, ks.fields(""))
		}, 400, CodeBodyInvalid},
	}
	for _, header := range []string{"Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial"} {
		tests = append(tests, struct {
			name   string
			req    func() *nodes.WebhookRequest
			status int
			code   string
		}{"missing " + header, func() *nodes.WebhookRequest {
			h, body := good()
			h.Del(header)
			return webhookRequest(h, body, ks.fields(""))
		}, 401, CodeSignatureMissing})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := n.Accept(context.Background(), tc.req())
			wantRejection(t, err, tc.status, tc.code)
			if strings.Contains(err.Error(), ks.apiV3Key) {
				t.Fatal("a rejection reveals the APIv3 key")
			}
		})
	}
}

func TestTriggerClock(t *testing.T) {
	ks := keys(t)
	n := trigger(t, `{}`)
	h, body := ks.request(t, ks.transactionNotice("EV-C", "order-c", 1))
	sent := time.Now()
	for _, tc := range []struct {
		skew time.Duration
		ok   bool
	}{{4*time.Minute + 50*time.Second, true}, {-4*time.Minute - 50*time.Second, true}, {5*time.Minute + 10*time.Second, false}} {
		prev := now
		now = func() time.Time { return sent.Add(tc.skew) }
		_, err := n.Accept(context.Background(), webhookRequest(h, body, ks.fields("")))
		now = prev
		if tc.ok && err != nil {
			t.Fatalf("skew %s: %v", tc.skew, err)
		}
		if !tc.ok {
			wantRejection(t, err, http.StatusUnauthorized, CodeTimestampStale)
		}
	}
}

func TestTriggerNeedsCredential(t *testing.T) {
	_, err := build(t, TriggerType, `{}`, "")
	if err == nil || !strings.Contains(err.Error(), "credential") {
		t.Fatalf("err = %v, want a credential problem", err)
	}
}

func nowUnix() string { return strconv.FormatInt(time.Now().Unix(), 10) }
