package stripe

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

const testKey = "sk_test_51FerryKey"

// received is one request the fake Stripe saw.
type received struct {
	method, path string
	header       http.Header
	query        url.Values
	form         url.Values
	rawBody      string
}

// fakeStripe checks every request the way the Stripe API does (Bearer key, pinned version, form-encoded POSTs
// with an Idempotency-Key) and answers from a script.
type fakeStripe struct {
	*httptest.Server
	t *testing.T
	// wrongKeyExpected makes a refused key an answer (401) rather than a test failure.
	wrongKeyExpected bool
	mu               sync.Mutex
	seen             []received
	answers          []func(w http.ResponseWriter, r *received)
}

func newFakeStripe(t *testing.T, answers ...func(w http.ResponseWriter, r *received)) *fakeStripe {
	f := &fakeStripe{t: t, answers: answers}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeStripe) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := received{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), query: r.URL.Query(), rawBody: string(body)}
	problem := ""
	switch {
	case r.Header.Get("Authorization") != "Bearer "+testKey:
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****"}}`)
		problem = "bad Authorization " + r.Header.Get("Authorization")
	case r.Header.Get("Stripe-Version") != APIVersion:
		problem = "Stripe-Version " + r.Header.Get("Stripe-Version")
	case r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/x-www-form-urlencoded":
		problem = "Content-Type " + r.Header.Get("Content-Type")
	case r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") == "":
		problem = "POST without Idempotency-Key"
	case r.Method != http.MethodPost && (len(body) > 0 || r.Header.Get("Idempotency-Key") != ""):
		problem = "GET with a body or an idempotency key"
	}
	if problem != "" && !(f.wrongKeyExpected && strings.HasPrefix(problem, "bad Authorization")) {
		f.t.Errorf("fake Stripe: %s %s: %s", r.Method, r.URL.Path, problem)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		f.t.Errorf("fake Stripe: body is not form-encoded: %v", err)
	}
	rec.form = form
	f.mu.Lock()
	n := len(f.seen)
	f.seen = append(f.seen, rec)
	f.mu.Unlock()
	if problem != "" {
		return
	}
	if n >= len(f.answers) {
		f.t.Errorf("fake Stripe: unexpected request %d: %s %s", n+1, r.Method, r.URL.Path)
		w.WriteHeader(500)
		return
	}
	w.Header().Set("Request-Id", "req_fake"+string(rune('A'+n)))
	f.answers[n](w, &rec)
}

func (f *fakeStripe) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.seen...)
}

func answer(status int, body string, headers ...string) func(http.ResponseWriter, *received) {
	return func(w http.ResponseWriter, _ *received) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func execFor(f *fakeStripe, trigger map[string]any) *nodes.Exec {
	env := map[string]any{"trigger": trigger, "prev": trigger, "nodes": map[string]any{}, "vars": map[string]any{}, "env": "live"}
	return &nodes.Exec{Input: trigger, Env: env, RunID: "run1", NodeID: "refund", Attempt: 1, Mode: nodes.ModeLive,
		IdempotencyKey: "run1:refund", HTTP: f.Client(),
		Credential: credFunc(map[string]string{FieldSecretKey: testKey, FieldAPIBase: f.URL}, nil)}
}

var order = map[string]any{"order_id": "ord_8f3a", "amount_cents": int64(14999), "currency": "EUR", "email": "ada@example.com",
	"payment": "pi_3PgbQk2eZvKYlo2C0Mz1u3Xx", "refund": "12.50"}

func TestCreatePaymentIntent(t *testing.T) {
	f := newFakeStripe(t, answer(200, `{"id": "pi_new", "object": "payment_intent", "amount": 14999, "currency": "eur", "status": "requires_payment_method", "metadata": {"order_id": "ord_8f3a"}}`))
	n := mustBuild(t, PaymentIntentCreateType, `{"amount": "{{ trigger.amount_cents }}", "currency": "{{ trigger.currency }}",
		"orderId": "{{ trigger.order_id }}", "receiptEmail": "{{ trigger.email }}", "metadata": {"source": "ferry"},
		"captureMethod": "manual", "extra": {"payment_method_types[0]": "card"}}`)
	res, err := n.Execute(context.Background(), execFor(f, order))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	out := res.Output.(map[string]any)
	if out["id"] != "pi_new" || out["amount"] != int64(14999) {
		t.Fatalf("output = %#v", out)
	}
	got := f.requests()[0]
	want := url.Values{"amount": {"14999"}, "currency": {"eur"}, "metadata[order_id]": {"ord_8f3a"}, "metadata[source]": {"ferry"},
		"receipt_email": {"ada@example.com"}, "capture_method": {"manual"}, "payment_method_types[0]": {"card"}}
	if got.method != "POST" || got.path != "/v1/payment_intents" || got.form.Encode() != want.Encode() {
		t.Fatalf("request = %s %s %s", got.method, got.path, got.rawBody)
	}
	if got.header.Get("Idempotency-Key") != "run1:refund" {
		t.Fatalf("Idempotency-Key = %q", got.header.Get("Idempotency-Key"))
	}
}

// TestRetrySendsSameIdempotencyKey: a step retried after a Stripe failure sends the same key, so Stripe applies
// the refund once (I4).
func TestRetrySendsSameIdempotencyKey(t *testing.T) {
	f := newFakeStripe(t,
		answer(500, `{"error": {"type": "api_error", "message": "An unknown error occurred"}}`),
		answer(429, `{"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}}`, "Retry-After", "2"),
		answer(409, `{"error": {"type": "idempotency_error", "message": "There is currently another in-progress request using this Idempotent Key"}}`),
		answer(200, `{"id": "re_1", "object": "refund", "amount": 1250, "status": "succeeded"}`))
	n := mustBuild(t, RefundType, `{"paymentIntent": "{{ trigger.payment }}", "amount": "{{ toMinor(trigger.refund, trigger.currency) }}",
		"reason": "requested_by_customer", "orderId": "{{ trigger.order_id }}"}`)
	x := execFor(f, order)
	_, err := n.Execute(context.Background(), x)
	wantFailure(t, err, nodes.Retryable, CodeServerError)
	x.Attempt = 2
	_, err = n.Execute(context.Background(), x)
	e := wantFailure(t, err, nodes.RetryAfter, CodeRateLimited)
	if e.After != 2*time.Second || !e.RateLimited {
		t.Fatalf("rate limit = %+v", e)
	}
	x.Attempt = 3
	_, err = n.Execute(context.Background(), x)
	wantFailure(t, err, nodes.Retryable, CodeConflict)
	x.Attempt = 4
	res, err := n.Execute(context.Background(), x)
	if err != nil || res.Output.(map[string]any)["id"] != "re_1" {
		t.Fatalf("Execute = %v, %v", res.Output, err)
	}
	reqs := f.requests()
	for i, r := range reqs {
		if r.header.Get("Idempotency-Key") != "run1:refund" {
			t.Fatalf("attempt %d sent Idempotency-Key %q", i+1, r.header.Get("Idempotency-Key"))
		}
		want := url.Values{"payment_intent": {"pi_3PgbQk2eZvKYlo2C0Mz1u3Xx"}, "amount": {"1250"}, "reason": {"requested_by_customer"}, "metadata[order_id]": {"ord_8f3a"}}
		if r.path != "/v1/refunds" || r.form.Encode() != want.Encode() {
			t.Fatalf("attempt %d: %s %s", i+1, r.path, r.rawBody)
		}
	}
}

func TestFailuresKeepStripeErrorVerbatim(t *testing.T) {
	declined := `{"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds.", "param": "", "doc_url": "https://stripe.com/docs/error-codes/card-declined"}}`
	tests := []struct {
		name   string
		answer func(http.ResponseWriter, *received)
		kind   nodes.Kind
		code   string
		msg    string
	}{
		{"card declined", answer(402, declined), nodes.Permanent, CodeCardError, "402 card_error card_declined insufficient_funds: Your card has insufficient funds."},
		{"invalid request", answer(400, `{"error": {"type": "invalid_request_error", "code": "amount_too_large", "param": "amount", "message": "Refund amount ($150.00) is greater than unrefunded amount on charge ($149.99)"}}`),
			nodes.Permanent, CodeInvalidRequest, "Refund amount ($150.00) is greater than unrefunded amount on charge ($149.99)"},
		{"idempotency misuse", answer(400, `{"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}}`),
			nodes.Permanent, CodeIdempotencyError, "idempotency_error"},
		{"not found", answer(404, `{"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "payment_intent", "message": "No such payment_intent: 'pi_x'"}}`),
			nodes.Permanent, CodeNotFound, "No such payment_intent"},
		{"restricted key", answer(403, `{"error": {"type": "invalid_request_error", "message": "The provided key does not have the required permissions"}}`),
			nodes.Permanent, CodePermissionDenied, "required permissions"},
		{"lock timeout", answer(429, `{"error": {"type": "invalid_request_error", "code": "lock_timeout", "message": "This object cannot be accessed right now because another API request or Stripe process is currently accessing it."}}`),
			nodes.Retryable, CodeLockTimeout, "lock_timeout"},
		{"rate limited without Retry-After", answer(429, `{"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}}`),
			nodes.Retryable, CodeRateLimited, "rate_limit"},
		{"503 with Retry-After", answer(503, `{"error": {"type": "api_error", "message": "down"}}`, "Retry-After", "30"),
			nodes.RetryAfter, CodeServerError, "down"},
		{"server says do not retry", answer(500, `{"error": {"type": "api_error", "message": "bad"}}`, "Stripe-Should-Retry", "false"),
			nodes.Permanent, CodeServerError, "bad"},
		{"server says retry", answer(400, `{"error": {"type": "invalid_request_error", "message": "try again"}}`, "Stripe-Should-Retry", "true"),
			nodes.Retryable, CodeServerError, "try again"},
		{"not JSON", answer(502, `<html>bad gateway</html>`), nodes.Retryable, CodeServerError, "502: Bad Gateway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeStripe(t, tc.answer)
			n := mustBuild(t, RefundType, `{"paymentIntent": "pi_x"}`)
			_, err := n.Execute(context.Background(), execFor(f, order))
			e := wantFailure(t, err, tc.kind, tc.code)
			if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "refund: stripe: POST /v1/refunds: ") {
				t.Fatalf("message = %q, want it to contain %q", err.Error(), tc.msg)
			}
			d := e.Details.(map[string]any)
			if d["requestId"] != "req_fakeA" || d["request"].(map[string]any)["headers"].(map[string]any)["Authorization"] != redacted {
				t.Fatalf("details = %#v", d)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatal("the secret key leaked into the error")
			}
		})
	}
	// The card error details carry Stripe's fields one by one.
	f := newFakeStripe(t, answer(402, declined))
	_, err := mustBuild(t, RefundType, `{"paymentIntent": "pi_x"}`).Execute(context.Background(), execFor(f, order))
	d := nodes.Classify(err).Details.(map[string]any)
	if d["type"] != "card_error" || d["code"] != "card_declined" || d["declineCode"] != "insufficient_funds" || d["status"] != 402 ||
		d["message"] != "Your card has insufficient funds." || d["docUrl"] == nil {
		t.Fatalf("details = %#v", d)
	}
}

func TestTransportFailures(t *testing.T) {
	f := newFakeStripe(t)
	f.Close()
	_, err := mustBuild(t, RefundType, `{"paymentIntent": "pi_x"}`).Execute(context.Background(), execFor(f, order))
	wantFailure(t, err, nodes.Retryable, CodeNetwork)
}

func TestRetrievePaymentIntent(t *testing.T) {
	f := newFakeStripe(t, answer(200, `{"id": "pi_3PgbQk2eZvKYlo2C0Mz1u3Xx", "object": "payment_intent", "status": "succeeded", "amount_received": 14999}`))
	n := mustBuild(t, PaymentIntentRetrieveType, `{"id": "{{ trigger.payment }}", "expand": "latest_charge, customer"}`)
	res, err := n.Execute(context.Background(), execFor(f, order))
	if err != nil || res.Output.(map[string]any)["amount_received"] != int64(14999) {
		t.Fatalf("Execute = %#v, %v", res.Output, err)
	}
	got := f.requests()[0]
	if got.method != "GET" || got.path != "/v1/payment_intents/pi_3PgbQk2eZvKYlo2C0Mz1u3Xx" ||
		got.query.Get("expand[0]") != "latest_charge" || got.query.Get("expand[1]") != "customer" {
		t.Fatalf("request = %s %s %v", got.method, got.path, got.query)
	}
	// An id that is not one cannot reach the path.
	_, err = n.Execute(context.Background(), execFor(f, map[string]any{"payment": "pi_1/../../v1/customers"}))
	wantFailure(t, err, nodes.Permanent, CodeRequestInvalid)
}

func TestCustomerUpsert(t *testing.T) {
	t.Run("creates", func(t *testing.T) {
		f := newFakeStripe(t,
			answer(200, `{"object": "list", "data": [], "has_more": false}`),
			answer(200, `{"id": "cus_new", "object": "customer", "email": "ada@example.com"}`))
		n := mustBuild(t, CustomerUpsertType, `{"email": "{{ trigger.email }}", "name": "Ada", "metadata": {"crm_id": "42"}}`)
		res, err := n.Execute(context.Background(), execFor(f, order))
		if err != nil {
			t.Fatal(err)
		}
		out := res.Output.(map[string]any)
		if out["created"] != true || out["customer"].(map[string]any)["id"] != "cus_new" {
			t.Fatalf("output = %#v", out)
		}
		reqs := f.requests()
		if reqs[0].method != "GET" || reqs[0].path != "/v1/customers" || reqs[0].query.Get("email") != "ada@example.com" {
			t.Fatalf("lookup = %s %s %v", reqs[0].method, reqs[0].path, reqs[0].query)
		}
		want := url.Values{"email": {"ada@example.com"}, "name": {"Ada"}, "metadata[crm_id]": {"42"}}
		if reqs[1].path != "/v1/customers" || reqs[1].form.Encode() != want.Encode() || reqs[1].header.Get("Idempotency-Key") != "run1:refund" {
			t.Fatalf("create = %s %s key %q", reqs[1].path, reqs[1].rawBody, reqs[1].header.Get("Idempotency-Key"))
		}
	})
	t.Run("updates the newest match", func(t *testing.T) {
		f := newFakeStripe(t,
			answer(200, `{"object": "list", "data": [{"id": "cus_old", "created": 100}, {"id": "cus_newer", "created": 200}], "has_more": false}`),
			answer(200, `{"id": "cus_newer", "object": "customer", "email": "ada@example.com", "name": "Ada"}`))
		n := mustBuild(t, CustomerUpsertType, `{"email": "{{ trigger.email }}", "name": "Ada"}`)
		res, err := n.Execute(context.Background(), execFor(f, order))
		if err != nil {
			t.Fatal(err)
		}
		out := res.Output.(map[string]any)
		if out["created"] != false || out["matches"] != int64(2) {
			t.Fatalf("output = %#v", out)
		}
		up := f.requests()[1]
		if up.path != "/v1/customers/cus_newer" || up.form.Encode() != "name=Ada" || up.header.Get("Idempotency-Key") != "run1:refund:update" {
			t.Fatalf("update = %s %s key %q", up.path, up.rawBody, up.header.Get("Idempotency-Key"))
		}
	})
}

func TestActionConfig(t *testing.T) {
	_, err := build(t, PaymentIntentCreateType, `{"amount": "19.99", "currency": "usd"}`, "c1")
	wantProblem(t, err, "amount", nodes.CodeParamInvalid)
	_, err = build(t, PaymentIntentCreateType, `{"currency": "usd"}`, "c1")
	wantProblem(t, err, "amount", nodes.CodeParamRequired)
	_, err = build(t, RefundType, `{"paymentIntent": "{{ trigger.( }}"}`, "c1")
	wantProblem(t, err, "paymentIntent", "expression_invalid")
	_, err = build(t, RefundType, `{"paymentIntent": "pi_1", "reason": "because"}`, "c1")
	wantProblem(t, err, "reason", nodes.CodeParamInvalid)

	f := newFakeStripe(t)
	// A decimal amount at run time is refused before anything is sent (I7).
	n := mustBuild(t, PaymentIntentCreateType, `{"amount": "{{ trigger.refund }}", "currency": "eur"}`)
	_, err = n.Execute(context.Background(), execFor(f, order))
	wantFailure(t, err, nodes.Permanent, CodeRequestInvalid)
	n = mustBuild(t, RefundType, `{"paymentIntent": "{{ trigger.email }}"}`)
	_, err = n.Execute(context.Background(), execFor(f, order))
	wantFailure(t, err, nodes.Permanent, CodeRequestInvalid)
	if len(f.requests()) != 0 {
		t.Fatalf("%d requests sent for invalid input", len(f.requests()))
	}
}

func TestCredentialHandling(t *testing.T) {
	f := newFakeStripe(t)
	n := mustBuild(t, RefundType, `{"paymentIntent": "pi_x"}`)
	x := execFor(f, order)
	x.Credential = credFunc(nil, nodes.ErrNoCredential)
	_, err := n.Execute(context.Background(), x)
	wantFailure(t, err, nodes.Permanent, CodeCredentialInvalid)
	x.Credential = credFunc(nil, errors.New("vault sealed"))
	_, err = n.Execute(context.Background(), x)
	wantFailure(t, err, nodes.Retryable, CodeCredentialUnavail)
	x.Credential = credFunc(map[string]string{FieldSecretKey: "pk_test_publishable"}, nil)
	_, err = n.Execute(context.Background(), x)
	wantFailure(t, err, nodes.Permanent, CodeCredentialInvalid)
	// A test run never uses a live key, nor the placeholder the vault gives when there is no test variant.
	x.Mode = nodes.ModeTest
	for _, key := range []string{"sk_live_123", "[live credential withheld in test runs]"} {
		x.Credential = credFunc(map[string]string{FieldSecretKey: key}, nil)
		_, err = mustBuild(t, PaymentIntentRetrieveType, `{"id": "pi_1"}`).Execute(context.Background(), x)
		wantFailure(t, err, nodes.Permanent, CodeTestKeyRequired)
	}
	if len(f.requests()) != 0 {
		t.Fatalf("%d requests sent", len(f.requests()))
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	f := newFakeStripe(t)
	x := execFor(f, order)
	x.Mode = nodes.ModeTest
	n := mustBuild(t, RefundType, `{"paymentIntent": "{{ trigger.payment }}", "orderId": "{{ trigger.order_id }}"}`)
	res, err := n.(nodes.DryRunner).DryRun(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	req := res.Output.(map[string]any)["request"].(map[string]any)
	h := req["headers"].(map[string]any)
	if req["url"] != f.URL+"/v1/refunds" || h["Authorization"] != redacted || h["Idempotency-Key"] != "run1:refund" || h["Stripe-Version"] != APIVersion ||
		req["body"] != "metadata%5Border_id%5D=ord_8f3a&payment_intent=pi_3PgbQk2eZvKYlo2C0Mz1u3Xx" {
		t.Fatalf("dry run = %#v", req)
	}
	u, err := mustBuild(t, CustomerUpsertType, `{"email": "a@example.com"}`).(nodes.DryRunner).DryRun(context.Background(), x)
	if err != nil || u.Output.(map[string]any)["lookup"].(map[string]any)["url"] != f.URL+"/v1/customers?email=a%40example.com&limit=10" {
		t.Fatalf("upsert dry run = %#v %v", u.Output, err)
	}
	if len(f.requests()) != 0 {
		t.Fatalf("%d requests sent by a dry run", len(f.requests()))
	}
}

func TestCredentialTest(t *testing.T) {
	ct, ok := nodes.LookupCredentialType(CredentialType)
	if !ok || !ct.Testable {
		t.Fatal("stripe.account is not registered with a test")
	}
	f := newFakeStripe(t, answer(200, `{"object": "balance", "livemode": false, "available": [{"amount": 0, "currency": "usd"}]}`))
	msg, err := ct.Test(context.Background(), map[string]string{FieldSecretKey: testKey, FieldWebhookSecret: "whsec_1", FieldAPIBase: f.URL}, f.Client())
	if err != nil || !strings.Contains(msg, "/v1/balance answered 200") || !strings.Contains(msg, "test mode") {
		t.Fatalf("Test = %q, %v", msg, err)
	}
	if r := f.requests()[0]; r.method != "GET" || r.path != "/v1/balance" {
		t.Fatalf("request = %s %s", r.method, r.path)
	}
	bad := newFakeStripe(t)
	bad.wrongKeyExpected = true
	_, err = ct.Test(context.Background(), map[string]string{FieldSecretKey: "sk_test_wrong", FieldAPIBase: bad.URL}, bad.Client())
	if err == nil || !strings.Contains(err.Error(), "Invalid API Key") || strings.Contains(err.Error(), "sk_test_wrong") {
		t.Fatalf("wrong key: %v", err)
	}
	for _, fields := range []map[string]string{
		{FieldSecretKey: "pk_test_1"},
		{FieldWebhookSecret: "not-a-whsec"},
		{},
	} {
		if _, err := ct.Test(context.Background(), fields, nil); err == nil {
			t.Fatalf("Test(%v) passed", fields)
		}
	}
	if msg, err := ct.Test(context.Background(), map[string]string{FieldWebhookSecret: "whsec_a, whsec_b"}, nil); err != nil {
		t.Fatalf("trigger-only credential: %v", err)
	} else if strings.Contains(msg, "whsec_a") {
		t.Fatal("the secret is in the message")
	}
}

func TestWrongKeyMessage(t *testing.T) {
	bad := newFakeStripe(t)
	bad.wrongKeyExpected = true
	ct, _ := nodes.LookupCredentialType(CredentialType)
	_, err := ct.Test(context.Background(), map[string]string{FieldSecretKey: "sk_test_wrong", FieldAPIBase: bad.URL}, bad.Client())
	want := bad.URL + ": stripe: GET /v1/balance: 401 invalid_request_error: Invalid API Key provided: sk_test_****"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}
