package paypal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
)

// captureCompleted is a PAYMENT.CAPTURE.COMPLETED delivery as PayPal sends it (Payments v2 capture resource),
// indented and with characters ("&", "<") that a JSON re-encoding would escape, so a verifier that does not
// forward the raw bytes fails.
const captureCompleted = `{
  "id": "WH-58D329510W468432D-8HN650336L201105X",
  "create_time": "2019-02-14T21:50:07.940Z",
  "resource_type": "capture",
  "event_type": "PAYMENT.CAPTURE.COMPLETED",
  "summary": "Payment completed for $ 2.51 USD & <shipping>",
  "resource": {
    "amount": {"currency_code": "USD", "value": "2.51"},
    "seller_protection": {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]},
    "update_time": "2019-02-14T21:49:58Z",
    "create_time": "2019-02-14T21:49:58Z",
    "final_capture": true,
    "seller_receivable_breakdown": {
      "gross_amount": {"currency_code": "USD", "value": "2.51"},
      "paypal_fee": {"currency_code": "USD", "value": "0.37"},
      "net_amount": {"currency_code": "USD", "value": "2.14"}
    },
    "custom_id": "ord_8f3a",
    "invoice_id": "INV-2019-0042",
    "links": [
      {"href": "https://api.paypal.com/v2/payments/captures/27M47624FP291604U", "rel": "self", "method": "GET"},
      {"href": "https://api.paypal.com/v2/payments/captures/27M47624FP291604U/refund", "rel": "refund", "method": "POST"},
      {"href": "https://api.paypal.com/v2/payments/authorizations/7W5147081L658180V", "rel": "up", "method": "GET"}
    ],
    "id": "27M47624FP291604U",
    "status": "COMPLETED"
  },
  "links": [
    {"href": "https://api.paypal.com/v1/notifications/webhooks-events/WH-58D329510W468432D-8HN650336L201105X", "rel": "self", "method": "GET"}
  ],
  "event_version": "1.0",
  "resource_version": "2.0"
}`

const captureRefunded = `{"id":"WH-1GE84257G0350133W-6RW800890C634293G","create_time":"2024-03-01T10:00:00.000Z","resource_type":"refund",
"event_type":"PAYMENT.CAPTURE.REFUNDED","summary":"A $ 10.50 USD capture payment was refunded",
"resource":{"seller_payable_breakdown":{"gross_amount":{"currency_code":"USD","value":"10.50"},"total_refunded_amount":{"currency_code":"USD","value":"25.00"}},
"amount":{"currency_code":"USD","value":"10.50"},"invoice_id":"INV-77","create_time":"2024-03-01T09:59:58Z","id":"1JU08902781691411","status":"COMPLETED",
"links":[{"href":"https://api.paypal.com/v2/payments/refunds/1JU08902781691411","rel":"self","method":"GET"},{"href":"https://api.paypal.com/v2/payments/captures/2GG279541U471931P","rel":"up","method":"GET"}]},
"event_version":"1.0","resource_version":"2.0"}`

const orderApproved = `{"id":"WH-COC11055RA711503B-4YM959094A144403T","create_time":"2024-03-01T10:00:00Z","resource_type":"checkout-order",
"event_type":"CHECKOUT.ORDER.APPROVED","resource":{"id":"5O190127TN364715T","intent":"CAPTURE","status":"APPROVED",
"purchase_units":[{"reference_id":"default","custom_id":"ord_91","amount":{"currency_code":"JPY","value":"1200"}},{"reference_id":"b","amount":{"currency_code":"JPY","value":"300"}}],
"payer":{"payer_id":"QYR5Z8XDVJNXQ","email_address":"buyer@example.com","name":{"given_name":"John","surname":"Doe"}}}}`

var deliveryTime = time.Date(2024, 3, 1, 10, 0, 5, 0, time.UTC)

func deliveryHeaders(id string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("PAYPAL-AUTH-ALGO", "SHA256withRSA")
	h.Set("PAYPAL-CERT-URL", "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270")
	h.Set("PAYPAL-TRANSMISSION-ID", id)
	h.Set("PAYPAL-TRANSMISSION-SIG", "vSOIQFIZQHv8G2vpbOpD/4fSC4/MYhdHyv+AmgJyeJQq6q5avWyHIe/zL6qO5hle192HSqKbYveLoFXGJun2od2zXN3Q45VBXwdX3woXYGaNq532flAtiYin+tQ/0pNwRDsVIufCxa3a8HskaXy+YEfXNnwCSL287esD3HgOHmuAs0mYKQdbE4e4P52xo1x0G6pmTo4sn3rNIS+8z9rdxhUdOJz4OoHlHcBvC57CrO64r7rcfcGlKoBm4h2ueMrHfP4rN8Q+0yiGKhmA7a+q5w8ZWVq9WG/WOHbV8BvVdoBHg/hKzbAIt3FMqRJDoWv3mcD+WcEdMD1MOfsdQyRv2HGBjDw==")
	h.Set("PAYPAL-TRANSMISSION-TIME", deliveryTime.Format(time.RFC3339))
	return h
}

func newTestTrigger(t *testing.T, params map[string]json.RawMessage) *triggerNode {
	t.Helper()
	reg, ok := nodes.Lookup(TriggerType, 1)
	if !ok {
		t.Fatal("paypal.trigger is not registered")
	}
	n, err := reg.New(nodes.NewConfig(&reg.Spec, "paypal", params, "cred_paypal"))
	if err != nil {
		t.Fatal(err)
	}
	tn := n.(*triggerNode)
	tn.now = func() time.Time { return deliveryTime }
	return tn
}

func request(h http.Header, body string, fields map[string]string) *nodes.WebhookRequest {
	return &nodes.WebhookRequest{Method: http.MethodPost, Header: h, Body: []byte(body), Mode: nodes.ModeLive, HTTP: testenv.LocalClient(),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

func rejection(t *testing.T, err error) *nodes.WebhookError {
	t.Helper()
	var we *nodes.WebhookError
	if !errors.As(err, &we) {
		t.Fatalf("want a webhook rejection, got %v", err)
	}
	return we
}

func TestTriggerAcceptsVerifiedCapture(t *testing.T) {
	pp := newFakePayPal(t)
	h := deliveryHeaders("69cd13f0-d67a-11e5-baa3-778b53f4ae55")
	pp.register(h, []byte(captureCompleted), pp.fields()[fieldWebhookID])
	n := newTestTrigger(t, nil)

	acc, err := n.Accept(context.Background(), request(h, captureCompleted, pp.fields()))
	if err != nil {
		t.Fatal(err)
	}
	if acc.DedupKey != "WH-58D329510W468432D-8HN650336L201105X" || acc.BusinessKey != "ord_8f3a" {
		t.Errorf("keys: dedup %q business %q", acc.DedupKey, acc.BusinessKey)
	}
	if acc.Ack == nil || acc.Ack.Status != http.StatusOK || len(acc.Ack.Body.(map[string]any)) != 0 {
		t.Errorf("ack %+v", acc.Ack)
	}
	body := acc.Payload["body"].(map[string]any)
	amount := body["amount"].(map[string]any)
	if body["provider"] != "paypal" || body["type"] != "paid" || body["providerType"] != EventCaptureCompleted ||
		body["transactionId"] != "27M47624FP291604U" || body["merchantOrderId"] != "ord_8f3a" ||
		amount["minor"] != int64(251) || amount["currency"] != "USD" || amount["decimal"] != "2.51" ||
		body["time"] != "2019-02-14T21:50:07.940Z" {
		t.Errorf("normalised event %v", body)
	}
	if raw := body["raw"].(map[string]any); raw["summary"] != "Payment completed for $ 2.51 USD & <shipping>" {
		t.Errorf("raw event %v", raw["summary"])
	}
	if acc.Payload["headers"].(map[string]any)["paypal-transmission-id"] != "69cd13f0-d67a-11e5-baa3-778b53f4ae55" {
		t.Errorf("headers %v", acc.Payload["headers"])
	}
	// The answer PayPal receives is exactly 200 with {}.
	if b, _ := json.Marshal(acc.Ack.Body); string(b) != "{}" {
		t.Errorf("ack body %s", b)
	}
}

func TestTriggerNormalisesRefundAndOrder(t *testing.T) {
	pp := newFakePayPal(t)
	n := newTestTrigger(t, nil)
	for i, c := range []struct {
		body, typ, txn, order string
		minor                 int64
		currency              string
	}{
		{captureRefunded, "refunded", "2GG279541U471931P", "INV-77", 1050, "USD"},
		{orderApproved, "pending", "5O190127TN364715T", "ord_91", 1500, "JPY"},
	} {
		h := deliveryHeaders("tx-" + string(rune('a'+i)))
		pp.register(h, []byte(c.body), pp.fields()[fieldWebhookID])
		acc, err := n.Accept(context.Background(), request(h, c.body, pp.fields()))
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		body := acc.Payload["body"].(map[string]any)
		amount := body["amount"].(map[string]any)
		if body["type"] != c.typ || body["transactionId"] != c.txn || body["merchantOrderId"] != c.order ||
			amount["minor"] != c.minor || amount["currency"] != c.currency || acc.BusinessKey != c.order {
			t.Errorf("%s: %v", c.typ, body)
		}
		if c.typ == "refunded" {
			if r := body["refundedAmount"].(map[string]any); r["minor"] != int64(2500) {
				t.Errorf("refunded amount %v", r)
			}
		}
		if c.typ == "pending" {
			if p := body["payer"].(map[string]any); p["email"] != "buyer@example.com" || p["name"] != "John Doe" {
				t.Errorf("payer %v", p)
			}
		}
	}
}

func TestTriggerRejections(t *testing.T) {
	pp := newFakePayPal(t)
	good := deliveryHeaders("69cd13f0-d67a-11e5-baa3-778b53f4ae55")
	pp.register(good, []byte(captureCompleted), pp.fields()[fieldWebhookID])
	n := newTestTrigger(t, nil)

	tampered := strings.Replace(captureCompleted, `"value": "2.51"`, `"value": "2510.00"`, 1)
	otherSig := deliveryHeaders("69cd13f0-d67a-11e5-baa3-778b53f4ae55")
	otherSig.Set("PAYPAL-TRANSMISSION-SIG", "Zm9yZ2Vk")
	noSig := deliveryHeaders("x")
	noSig.Del("PAYPAL-TRANSMISSION-SIG")
	noSig.Del("PAYPAL-CERT-URL")
	stale := deliveryHeaders("69cd13f0-d67a-11e5-baa3-778b53f4ae55")
	stale.Set("PAYPAL-TRANSMISSION-TIME", deliveryTime.Add(-6*time.Minute).Format(time.RFC3339))
	future := deliveryHeaders("69cd13f0-d67a-11e5-baa3-778b53f4ae55")
	future.Set("PAYPAL-TRANSMISSION-TIME", deliveryTime.Add(6*time.Minute).Format(time.RFC3339))
	badTime := deliveryHeaders("69cd13f0-d67a-11e5-baa3-778b53f4ae55")
	badTime.Set("PAYPAL-TRANSMISSION-TIME", "yesterday")
	badAlgo := deliveryHeaders("69cd13f0-d67a-11e5-baa3-778b53f4ae55")
	badAlgo.Set("PAYPAL-AUTH-ALGO", "SHA256 with RSA; drop")

	for _, c := range []struct {
		name   string
		h      http.Header
		body   string
		status int
		code   string
	}{
		{"tampered body", good, tampered, http.StatusUnauthorized, CodeSignatureInvalid},
		{"other signature", otherSig, captureCompleted, http.StatusUnauthorized, CodeSignatureInvalid},
		{"malformed header PayPal refuses", badAlgo, captureCompleted, http.StatusUnauthorized, CodeSignatureInvalid},
		{"headers missing", noSig, captureCompleted, http.StatusBadRequest, CodeHeadersMissing},
		{"stale", stale, captureCompleted, http.StatusUnauthorized, CodeTimestampStale},
		{"from the future", future, captureCompleted, http.StatusUnauthorized, CodeTimestampStale},
		{"time not a date", badTime, captureCompleted, http.StatusBadRequest, CodeHeadersInvalid},
		{"not JSON", good, "id=1", http.StatusBadRequest, CodeBodyInvalid},
		{"not an event", good, `{"hello": "world"}`, http.StatusBadRequest, CodeBodyInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := n.Accept(context.Background(), request(c.h, c.body, pp.fields()))
			we := rejection(t, err)
			if we.Status != c.status || we.Code != c.code {
				t.Errorf("got %d %s (%v), want %d %s", we.Status, we.Code, we, c.status, c.code)
			}
		})
	}
	// A stale or header-less delivery is refused without asking PayPal.
	pp.mu.Lock()
	calls := pp.verifyCalls
	pp.mu.Unlock()
	if calls != 3 {
		t.Errorf("verify API called %d times, want 3 (tampered, other signature, malformed header)", calls)
	}

	// The webhook id is part of what PayPal checks: another webhook's id fails.
	fields := pp.fields()
	fields[fieldWebhookID] = "1JE4291016473214C"
	we := rejection(t, func() error {
		_, err := n.Accept(context.Background(), request(good, captureCompleted, fields))
		return err
	}())
	if we.Code != CodeSignatureInvalid {
		t.Errorf("other webhook id: %s", we.Code)
	}
}

func TestTriggerVerificationUnavailable(t *testing.T) {
	pp := newFakePayPal(t)
	h := deliveryHeaders("69cd13f0-d67a-11e5-baa3-778b53f4ae55")
	pp.register(h, []byte(captureCompleted), pp.fields()[fieldWebhookID])
	n := newTestTrigger(t, nil)

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/oauth2/token" {
			pp.srv.Config.Handler.ServeHTTP(w, r)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	fields := pp.fields()
	fields[fieldBaseURL] = down.URL
	_, err := n.Accept(context.Background(), request(h, captureCompleted, fields))
	if we := rejection(t, err); we.Status != http.StatusServiceUnavailable || we.Code != CodeVerificationUnavailable {
		t.Errorf("5xx: %d %s", we.Status, we.Code)
	}

	// PayPal cannot be reached at all.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	fields[fieldBaseURL] = closed.URL
	_, err = n.Accept(context.Background(), request(h, captureCompleted, fields))
	if we := rejection(t, err); we.Status != http.StatusServiceUnavailable || we.Code != CodeVerificationUnavailable {
		t.Errorf("unreachable: %d %s", we.Status, we.Code)
	}

	// A refused client id and secret is a misconfiguration, not a forged delivery.
	fields = pp.fields()
	fields[fieldClientSecret] = "wrong"
	_, err = n.Accept(context.Background(), request(h, captureCompleted, fields))
	if we := rejection(t, err); we.Status != http.StatusInternalServerError || we.Code != CodeTriggerCredentialInvalid {
		t.Errorf("refused client: %d %s", we.Status, we.Code)
	}

	// Without a webhook id nothing can be verified.
	fields = pp.fields()
	delete(fields, fieldWebhookID)
	_, err = n.Accept(context.Background(), request(h, captureCompleted, fields))
	if we := rejection(t, err); we.Status != http.StatusInternalServerError || we.Code != CodeTriggerCredentialInvalid {
		t.Errorf("no webhook id: %d %s", we.Status, we.Code)
	}
}

func TestTriggerTokenCachedAndRenewedOnRevocation(t *testing.T) {
	pp := newFakePayPal(t)
	n := newTestTrigger(t, nil)
	for i := range 3 {
		h := deliveryHeaders("cache-" + string(rune('a'+i)))
		pp.register(h, []byte(captureCompleted), pp.fields()[fieldWebhookID])
		if _, err := n.Accept(context.Background(), request(h, captureCompleted, pp.fields())); err != nil {
			t.Fatal(err)
		}
	}
	pp.revokeTokens()
	h := deliveryHeaders("cache-z")
	pp.register(h, []byte(captureCompleted), pp.fields()[fieldWebhookID])
	if _, err := n.Accept(context.Background(), request(h, captureCompleted, pp.fields())); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.tokenCalls != 2 {
		t.Errorf("%d token requests, want 2 (one cached for three deliveries, one after revocation)", pp.tokenCalls)
	}
}

func TestTriggerParams(t *testing.T) {
	reg, _ := nodes.Lookup(TriggerType, 1)
	if _, err := reg.New(nodes.NewConfig(&reg.Spec, "p", map[string]json.RawMessage{"tolerance": json.RawMessage(`"2h"`)}, "c")); err == nil {
		t.Error("a two-hour tolerance was accepted")
	}
	if _, err := reg.New(nodes.NewConfig(&reg.Spec, "p", nil, "")); err == nil {
		t.Error("a trigger without credential was accepted")
	}
	n := newTestTrigger(t, map[string]json.RawMessage{"tolerance": json.RawMessage(`"15m"`)})
	if n.tolerance != 15*time.Minute {
		t.Errorf("tolerance %s", n.tolerance)
	}
}
