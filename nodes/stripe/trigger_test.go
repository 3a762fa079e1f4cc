package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/payment"
)

const (
	endpointSecret = "whsec_test_endpoint_secret_1"
	rolledSecret   = "whsec_test_endpoint_secret_2"
)

var signedAt = time.Unix(1767225600, 0) // 2026-01-01T00:00:00Z

// paymentIntentSucceeded is a payment_intent.succeeded event as Stripe sends it at the pinned version (trimmed).
const paymentIntentSucceeded = `{
  "id": "evt_3PgbQk2eZvKYlo2C0Zk7sR1a",
  "object": "event",
  "api_version": "2025-08-27.basil",
  "created": 1767225590,
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": "req_8fJ2", "idempotency_key": "run1:create"},
  "type": "payment_intent.succeeded",
  "data": {"object": {
    "id": "pi_3PgbQk2eZvKYlo2C0Mz1u3Xx",
    "object": "payment_intent",
    "amount": 14999,
    "amount_received": 14999,
    "currency": "eur",
    "customer": "cus_QXa1b2C3d4",
    "latest_charge": "ch_3PgbQk2eZvKYlo2C0ab12345",
    "metadata": {"order_id": "ord_8f3a", "crm": "hubspot"},
    "receipt_email": "ada@example.com",
    "status": "succeeded",
    "created": 1767225580
  }}
}`

// signed signs body with stripe-go's own test helper, so our verification is checked against Stripe's
// reference implementation rather than against itself.
func signed(body string, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: at}).Header
}

type delivery struct {
	method  string
	body    string
	sig     string
	noSig   bool
	cred    map[string]string
	credErr error
}

func (d delivery) request() *nodes.WebhookRequest {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if !d.noSig {
		h.Set("Stripe-Signature", d.sig)
	}
	method := d.method
	if method == "" {
		method = http.MethodPost
	}
	cred := d.cred
	if cred == nil && d.credErr == nil {
		cred = map[string]string{FieldWebhookSecret: endpointSecret}
	}
	return &nodes.WebhookRequest{Method: method, Header: h, Body: []byte(d.body), Mode: nodes.ModeLive, Credential: credFunc(cred, d.credErr)}
}

func trigger(t *testing.T, params string) nodes.WebhookTrigger {
	t.Helper()
	return mustBuild(t, TriggerType, params).(nodes.WebhookTrigger)
}

func TestTriggerAcceptsSignedEvent(t *testing.T) {
	setNow(t, signedAt.Add(2*time.Minute))
	tr := trigger(t, `{}`)
	acc, err := tr.Accept(context.Background(), delivery{body: paymentIntentSucceeded, sig: signed(paymentIntentSucceeded, endpointSecret, signedAt)}.request())
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if acc.DedupKey != "evt_3PgbQk2eZvKYlo2C0Zk7sR1a" || acc.BusinessKey != "ord_8f3a" || acc.Sync {
		t.Fatalf("keys = %q %q sync %v", acc.DedupKey, acc.BusinessKey, acc.Sync)
	}
	if !reflect.DeepEqual(acc.Ack, &nodes.Response{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: map[string]any{"received": true}}) {
		t.Fatalf("ack = %+v", acc.Ack)
	}
	body := acc.Payload["body"].(map[string]any)
	want := map[string]any{
		"provider": "stripe", "type": payment.EventPaid, "providerType": "payment_intent.succeeded",
		"eventId": "evt_3PgbQk2eZvKYlo2C0Zk7sR1a", "transactionId": "pi_3PgbQk2eZvKYlo2C0Mz1u3Xx",
		"merchantOrderId": "ord_8f3a", "time": "2025-12-31T23:59:50Z", // created 1767225590
		"amount": map[string]any{"minor": int64(14999), "currency": "EUR", "decimal": "149.99"},
		"payer":  map[string]any{"id": "cus_QXa1b2C3d4", "email": "ada@example.com", "name": ""},
	}
	for k, v := range want {
		if !reflect.DeepEqual(body[k], v) {
			t.Errorf("body[%s] = %#v, want %#v", k, body[k], v)
		}
	}
	raw := body["raw"].(map[string]any)
	if raw["id"] != "evt_3PgbQk2eZvKYlo2C0Zk7sR1a" || raw["data"].(map[string]any)["object"].(map[string]any)["amount"] != int64(14999) {
		t.Fatalf("raw = %#v", raw)
	}
	if acc.Payload["method"] != "POST" || acc.Payload["headers"].(map[string]any)["content-type"] == nil {
		t.Fatalf("payload = %#v", acc.Payload)
	}
	// What Stripe's own library says about the same delivery agrees.
	if _, err := webhook.ConstructEventWithOptions([]byte(paymentIntentSucceeded), signed(paymentIntentSucceeded, endpointSecret, time.Now()), endpointSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true}); err != nil {
		t.Fatalf("stripe-go refuses the fixture: %v", err)
	}
}

func TestTriggerRejections(t *testing.T) {
	setNow(t, signedAt.Add(time.Minute))
	good := signed(paymentIntentSucceeded, endpointSecret, signedAt)
	tampered := strings.Replace(paymentIntentSucceeded, `"amount_received": 14999`, `"amount_received": 1`, 1)
	tests := []struct {
		name   string
		d      delivery
		status int
		code   string
	}{
		{"missing header", delivery{body: paymentIntentSucceeded, noSig: true}, 400, CodeSignatureMissing},
		{"empty header", delivery{body: paymentIntentSucceeded, sig: "  "}, 400, CodeSignatureMissing},
		{"tampered body", delivery{body: tampered, sig: good}, 400, CodeSignatureInvalid},
		{"wrong secret", delivery{body: paymentIntentSucceeded, sig: signed(paymentIntentSucceeded, "whsec_other", signedAt)}, 400, CodeSignatureInvalid},
		{"timestamp changed", delivery{body: paymentIntentSucceeded, sig: strings.Replace(good, fmt.Sprint(signedAt.Unix()), fmt.Sprint(signedAt.Unix()+1), 1)}, 400, CodeSignatureInvalid},
		{"no v1", delivery{body: paymentIntentSucceeded, sig: fmt.Sprintf("t=%d,v0=abcd", signedAt.Unix())}, 400, CodeSignatureInvalid},
		{"no timestamp", delivery{body: paymentIntentSucceeded, sig: good[strings.Index(good, ",")+1:]}, 400, CodeSignatureInvalid},
		{"bad timestamp", delivery{body: paymentIntentSucceeded, sig: "t=soon," + good[strings.Index(good, ",")+1:]}, 400, CodeSignatureInvalid},
		{"stale", delivery{body: paymentIntentSucceeded, sig: signed(paymentIntentSucceeded, endpointSecret, signedAt.Add(-6*time.Minute))}, 400, CodeTimestampStale},
		{"future", delivery{body: paymentIntentSucceeded, sig: signed(paymentIntentSucceeded, endpointSecret, signedAt.Add(10*time.Minute))}, 400, CodeTimestampStale},
		{"not an event", delivery{body: `{"id": "pi_1", "object": "payment_intent"}`, sig: signed(`{"id": "pi_1", "object": "payment_intent"}`, endpointSecret, signedAt)}, 400, CodeEventInvalid},
		{"not JSON", delivery{body: `id=evt_1`, sig: signed(`id=evt_1`, endpointSecret, signedAt)}, 400, CodeEventInvalid},
		{"GET", delivery{method: http.MethodGet, body: paymentIntentSucceeded, sig: good}, 405, CodeMethodNotAllowed},
		{"too large", delivery{body: strings.Repeat(" ", maxEventBytes+1), sig: good}, 413, CodeBodyTooLarge},
		{"no credential", delivery{body: paymentIntentSucceeded, sig: good, credErr: nodes.ErrNoCredential}, 500, CodeCredentialMissing},
		{"credential lacks secret", delivery{body: paymentIntentSucceeded, sig: good, cred: map[string]string{FieldSecretKey: "sk_test_1"}}, 500, CodeCredentialMissing},
		{"vault down", delivery{body: paymentIntentSucceeded, sig: good, credErr: errors.New("database is locked")}, 503, CodeCredentialUnavailable},
	}
	tr := trigger(t, `{}`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tr.Accept(context.Background(), tc.d.request())
			we := wantWebhookError(t, err, tc.status, tc.code)
			if we.Answer != nil {
				t.Fatalf("a rejection carries an acknowledgement: %+v", we.Answer)
			}
		})
	}
	// Stripe's own library refuses the same forged deliveries.
	if err := webhook.ValidatePayloadIgnoringTolerance([]byte(tampered), good, endpointSecret); err == nil {
		t.Fatal("stripe-go accepted the tampered body")
	}
}

func TestTriggerTolerance(t *testing.T) {
	setNow(t, signedAt.Add(9*time.Minute))
	sig := signed(paymentIntentSucceeded, endpointSecret, signedAt)
	_, err := trigger(t, `{}`).Accept(context.Background(), delivery{body: paymentIntentSucceeded, sig: sig}.request())
	wantWebhookError(t, err, 400, CodeTimestampStale)
	if _, err := trigger(t, `{"tolerance": "10m"}`).Accept(context.Background(), delivery{body: paymentIntentSucceeded, sig: sig}.request()); err != nil {
		t.Fatalf("within a 10m tolerance: %v", err)
	}
	for _, bad := range []string{`{"tolerance": "1s"}`, `{"tolerance": "2h"}`, `{"tolerance": "soon"}`} {
		_, err := build(t, TriggerType, bad, "cred1")
		wantProblem(t, err, "tolerance", nodes.CodeParamInvalid)
	}
}

// TestTriggerSecretRotation: while an endpoint secret is rolled, Stripe signs each delivery with both secrets;
// either one in the credential verifies it, and a credential listing both verifies deliveries signed with one.
func TestTriggerSecretRotation(t *testing.T) {
	setNow(t, signedAt)
	old := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(paymentIntentSucceeded), Secret: endpointSecret, Timestamp: signedAt})
	rolled := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(paymentIntentSucceeded), Secret: rolledSecret, Timestamp: signedAt})
	both := old.Header + ",v1=" + rolled.Header[strings.Index(rolled.Header, "v1=")+3:]
	if err := webhook.ValidatePayloadIgnoringTolerance([]byte(paymentIntentSucceeded), both, rolledSecret); err != nil {
		t.Fatalf("stripe-go refuses the two-signature header: %v", err)
	}
	tr := trigger(t, `{}`)
	for name, c := range map[string]struct {
		sig, secrets string
	}{
		"two v1, old secret":   {both, endpointSecret},
		"two v1, new secret":   {both, rolledSecret},
		"one v1, both secrets": {rolled.Header, endpointSecret + ", " + rolledSecret},
		"v0 and junk ignored":  {"v0=zz," + old.Header + ",v1=nothex,x", endpointSecret},
	} {
		t.Run(name, func(t *testing.T) {
			cred := map[string]string{FieldWebhookSecret: c.secrets}
			if _, err := tr.Accept(context.Background(), delivery{body: paymentIntentSucceeded, sig: c.sig, cred: cred}.request()); err != nil {
				t.Fatalf("Accept: %v", err)
			}
		})
	}
	_, err := tr.Accept(context.Background(), delivery{body: paymentIntentSucceeded, sig: both, cred: map[string]string{FieldWebhookSecret: "whsec_third"}}.request())
	wantWebhookError(t, err, 400, CodeSignatureInvalid)
}

func TestTriggerEventTypes(t *testing.T) {
	setNow(t, signedAt)
	d := delivery{body: paymentIntentSucceeded, sig: signed(paymentIntentSucceeded, endpointSecret, signedAt)}
	for _, params := range []string{`{"eventTypes": "payment_intent.succeeded"}`, `{"eventTypes": "charge.refunded, payment_intent.*"}`, `{"eventTypes": "*"}`} {
		if _, err := trigger(t, params).Accept(context.Background(), d.request()); err != nil {
			t.Fatalf("%s: %v", params, err)
		}
	}
	// Not accepted: acknowledged so Stripe stops delivering it, but no run.
	acc, err := trigger(t, `{"eventTypes": "charge.refunded"}`).Accept(context.Background(), d.request())
	if err != nil || !acc.Skip || acc.Ack == nil || acc.Ack.Status != 200 || !reflect.DeepEqual(acc.Ack.Body, map[string]any{"received": true}) {
		t.Fatalf("ignored type: %+v, %v; want skipped with the acknowledgement", acc, err)
	}
	_, err = trigger(t, `{"eventTypes": "charge.*", "ignoredEvents": "reject"}`).Accept(context.Background(), d.request())
	if we := wantWebhookError(t, err, 400, CodeEventTypeIgnored); we.Answer != nil {
		t.Fatalf("reject carries an answer %+v", we.Answer)
	}
	// An unsigned event of an ignored type is still refused as unsigned: the filter runs after verification.
	_, err = trigger(t, `{"eventTypes": "charge.refunded"}`).Accept(context.Background(), delivery{body: paymentIntentSucceeded, sig: "t=1,v1=00"}.request())
	wantWebhookError(t, err, 400, CodeSignatureInvalid)
	for _, bad := range []string{`{"eventTypes": "Payment Intent"}`, `{"eventTypes": "payment_intent*"}`} {
		_, err := build(t, TriggerType, bad, "cred1")
		wantProblem(t, err, "eventTypes", nodes.CodeParamInvalid)
	}
	_, err = build(t, TriggerType, `{}`, "")
	wantProblem(t, err, "credential", "credential_required")
}

func eventJSON(typ, object string) string {
	return fmt.Sprintf(`{"id": "evt_%s", "object": "event", "api_version": %q, "created": 1767225590, "livemode": true, "type": %q, "data": {"object": %s}}`,
		strings.ReplaceAll(typ, ".", "_"), APIVersion, typ, object)
}

func TestTriggerNormalisation(t *testing.T) {
	setNow(t, signedAt)
	charge := `{"id": "ch_1", "object": "charge", "amount": 5000, "amount_captured": 5000, "amount_refunded": %d, "currency": "jpy",
	  "payment_intent": %s, "customer": {"id": "cus_9", "object": "customer"}, "billing_details": {"email": "bill@example.com", "name": "Ada Lovelace"},
	  "receipt_email": "receipt@example.com", "metadata": {"shop_order": "SO-1"}, "status": "succeeded"}`
	tests := []struct {
		typ, object string
		kind        string
		txn, order  string
		amount      payment.Amount
		refunded    *payment.Amount
		payer       payment.Payer
	}{
		{"charge.succeeded", fmt.Sprintf(charge, 0, `"pi_1"`), payment.EventPaid, "pi_1", "SO-1", payment.FromMinor(5000, "jpy"), nil,
			payment.Payer{ID: "cus_9", Email: "bill@example.com", Name: "Ada Lovelace"}},
		{"charge.refunded", fmt.Sprintf(charge, 1200, `null`), payment.EventRefunded, "ch_1", "SO-1", payment.FromMinor(5000, "JPY"), ptr(payment.FromMinor(1200, "JPY")),
			payment.Payer{ID: "cus_9", Email: "bill@example.com", Name: "Ada Lovelace"}},
		{"checkout.session.completed", `{"id": "cs_1", "object": "checkout.session", "amount_total": 2599, "currency": "usd", "payment_intent": "pi_2",
		  "client_reference_id": "ORD-77", "customer": null, "customer_details": {"email": "cd@example.com", "name": "C D"}, "payment_status": "paid", "metadata": {}}`,
			payment.EventPaid, "pi_2", "ORD-77", payment.FromMinor(2599, "USD"), nil, payment.Payer{Email: "cd@example.com", Name: "C D"}},
		{"checkout.session.completed", `{"id": "cs_2", "object": "checkout.session", "amount_total": 2599, "currency": "eur", "payment_intent": null,
		  "customer_email": "late@example.com", "payment_status": "unpaid", "metadata": {"shop_order": "SO-2"}}`,
			payment.EventPending, "cs_2", "SO-2", payment.FromMinor(2599, "EUR"), nil, payment.Payer{Email: "late@example.com"}},
		{"refund.updated", `{"id": "re_1", "object": "refund", "amount": 700, "currency": "cny", "payment_intent": "pi_3", "charge": "ch_3", "status": "succeeded", "metadata": {"shop_order": "SO-3"}}`,
			payment.EventRefunded, "pi_3", "SO-3", payment.FromMinor(700, "CNY"), ptr(payment.FromMinor(700, "CNY")), payment.Payer{}},
		{"refund.updated", `{"id": "re_2", "object": "refund", "amount": 700, "currency": "cny", "payment_intent": null, "charge": "ch_4", "status": "failed", "metadata": {}}`,
			payment.EventOther, "ch_4", "", payment.FromMinor(700, "CNY"), ptr(payment.FromMinor(700, "CNY")), payment.Payer{}},
		{"payment_intent.payment_failed", `{"id": "pi_5", "object": "payment_intent", "amount": 300, "amount_received": 0, "currency": "gbp", "customer": "cus_5", "metadata": {"shop_order": "SO-5"}, "receipt_email": null}`,
			payment.EventFailed, "pi_5", "SO-5", payment.FromMinor(300, "GBP"), nil, payment.Payer{ID: "cus_5"}},
		{"payment_intent.canceled", `{"id": "pi_6", "object": "payment_intent", "amount": 300, "currency": "gbp", "metadata": {}}`,
			payment.EventClosed, "pi_6", "", payment.FromMinor(300, "GBP"), nil, payment.Payer{}},
		{"payment_intent.processing", `{"id": "pi_7", "object": "payment_intent", "amount": 300, "currency": "gbp", "metadata": {}}`,
			payment.EventPending, "pi_7", "", payment.FromMinor(300, "GBP"), nil, payment.Payer{}},
		{"customer.created", `{"id": "cus_8", "object": "customer", "email": "x@example.com"}`,
			payment.EventOther, "cus_8", "", payment.Amount{}, nil, payment.Payer{}},
	}
	tr := trigger(t, `{"orderIdKey": "shop_order"}`)
	for _, tc := range tests {
		t.Run(tc.typ+" "+tc.txn, func(t *testing.T) {
			body := eventJSON(tc.typ, tc.object)
			acc, err := tr.Accept(context.Background(), delivery{body: body, sig: signed(body, endpointSecret, signedAt)}.request())
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			want := payment.Event{Provider: "stripe", Type: tc.kind, ProviderType: tc.typ, EventID: "evt_" + strings.ReplaceAll(tc.typ, ".", "_"),
				TransactionID: tc.txn, MerchantOrderID: tc.order, Amount: tc.amount, RefundedAmount: tc.refunded, Payer: tc.payer,
				Time: "2025-12-31T23:59:50Z"}
			got := acc.Payload["body"].(map[string]any)
			wantPayload := want.Payload()
			delete(got, "raw")
			delete(wantPayload, "raw")
			if !reflect.DeepEqual(got, wantPayload) {
				t.Fatalf("event =\n%#v\nwant\n%#v", got, wantPayload)
			}
			wantBusiness := tc.order
			if wantBusiness == "" {
				wantBusiness = tc.txn
			}
			if acc.BusinessKey != wantBusiness || acc.DedupKey != want.EventID {
				t.Fatalf("keys = %q %q", acc.DedupKey, acc.BusinessKey)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestTriggerSDKEventRoundTrip checks that what the trigger reads agrees with what stripe-go parses from the same
// verified delivery.
func TestTriggerSDKEventRoundTrip(t *testing.T) {
	setNow(t, time.Now())
	sig := signed(paymentIntentSucceeded, endpointSecret, time.Now())
	ev, err := webhook.ConstructEventWithOptions([]byte(paymentIntentSucceeded), sig, endpointSecret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := trigger(t, `{}`).Accept(context.Background(), delivery{body: paymentIntentSucceeded, sig: sig}.request())
	if err != nil {
		t.Fatal(err)
	}
	body := acc.Payload["body"].(map[string]any)
	if acc.DedupKey != ev.ID || body["providerType"] != string(ev.Type) || body["transactionId"] != ev.Data.Object["id"] {
		t.Fatalf("trigger %v / %#v, stripe-go %s %s %v", acc.DedupKey, body, ev.ID, ev.Type, ev.Data.Object["id"])
	}
}
