package paypal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
)

func newAction(t *testing.T, typ string, params map[string]any) nodes.Node {
	t.Helper()
	reg, ok := nodes.Lookup(typ, 1)
	if !ok {
		t.Fatalf("%s is not registered", typ)
	}
	raw := map[string]json.RawMessage{}
	for k, v := range params {
		b, _ := json.Marshal(v)
		raw[k] = b
	}
	n, err := reg.New(nodes.NewConfig(&reg.Spec, "step", raw, "cred_paypal"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func execFor(fields map[string]string, key string, input any) *nodes.Exec {
	return &nodes.Exec{Input: input, IdempotencyKey: key, Mode: nodes.ModeLive, RunID: "run1", NodeID: "step", HTTP: testenv.LocalClient(),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

func typed(t *testing.T, err error) *nodes.Error {
	t.Helper()
	var e *nodes.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a typed step error, got %v", err)
	}
	return e
}

func TestOrderCreate(t *testing.T) {
	pp := newFakePayPal(t)
	n := newAction(t, OrderCreateType, map[string]any{
		"amount": "{{ prev.amount_cents }}", "currency": "{{ prev.currency }}", "merchantOrderId": "{{ prev.order_id }}",
		"description": "Order {{ prev.order_id }}", "returnUrl": "https://shop.example.com/return", "cancelUrl": "https://shop.example.com/cancel",
	})
	input := map[string]any{"amount_cents": int64(1999), "currency": "usd", "order_id": "ord_8f3a"}
	res, err := n.Execute(context.Background(), execFor(pp.fields(), "run1:create", input))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if !strings.HasPrefix(out["approveUrl"].(string), "https://www.sandbox.paypal.com/checkoutnow?token=") || out["status"] != "CREATED" ||
		out["amount"].(map[string]any)["minor"] != int64(1999) {
		t.Errorf("output %v", out)
	}
	calls := pp.recorded()
	if len(calls) != 1 || calls[0].RequestID != "run1:create" || calls[0].Path != "/v2/checkout/orders" {
		t.Fatalf("calls %+v", calls)
	}
	unit := calls[0].Body["purchase_units"].([]any)[0].(map[string]any)
	if a := unit["amount"].(map[string]any); a["value"] != "19.99" || a["currency_code"] != "USD" || unit["custom_id"] != "ord_8f3a" ||
		unit["description"] != "Order ord_8f3a" {
		t.Errorf("purchase unit %v", unit)
	}
	exp := calls[0].Body["payment_source"].(map[string]any)["paypal"].(map[string]any)["experience_context"].(map[string]any)
	if exp["return_url"] != "https://shop.example.com/return" || exp["cancel_url"] != "https://shop.example.com/cancel" {
		t.Errorf("experience context %v", exp)
	}

	// A retry of the same step sends the same PayPal-Request-Id and gets the same order back.
	again, err := n.Execute(context.Background(), execFor(pp.fields(), "run1:create", input))
	if err != nil {
		t.Fatal(err)
	}
	if again.Output.(map[string]any)["orderId"] != out["orderId"] {
		t.Errorf("retry created another order: %v then %v", out["orderId"], again.Output.(map[string]any)["orderId"])
	}
	if calls := pp.recorded(); calls[1].RequestID != "run1:create" {
		t.Errorf("retry request id %q", calls[1].RequestID)
	}
}

func TestOrderCreateAmounts(t *testing.T) {
	pp := newFakePayPal(t)
	for i, c := range []struct {
		amount, currency, value string
		ok                      bool
	}{
		{"1200", "JPY", "1200", true},
		{"150000", "HUF", "1500", true},
		{"15050", "HUF", "", false},
		{"1050", "KWD", "1.050", true},
		{"7", "EUR", "0.07", true},
		{"10.5", "USD", "", false},
		{"0", "USD", "", false},
		{"100", "US", "", false},
	} {
		n := newAction(t, OrderCreateType, map[string]any{"amount": c.amount, "currency": c.currency})
		_, err := n.Execute(context.Background(), execFor(pp.fields(), "k"+string(rune('a'+i)), nil))
		if !c.ok {
			if e := typed(t, err); e.Kind != nodes.Permanent || e.Code != CodeRequestInvalid {
				t.Errorf("%s %s: %v", c.amount, c.currency, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.amount, c.currency, err)
			continue
		}
		calls := pp.recorded()
		got := calls[len(calls)-1].Body["purchase_units"].([]any)[0].(map[string]any)["amount"].(map[string]any)["value"]
		if got != c.value {
			t.Errorf("%s %s sent as %v, want %s", c.amount, c.currency, got, c.value)
		}
	}
}

func TestCaptureAndRefund(t *testing.T) {
	pp := newFakePayPal(t)
	capture := newAction(t, OrderCaptureType, map[string]any{"orderId": "{{ trigger.body.transactionId }}"})
	x := execFor(pp.fields(), "run2:capture", nil)
	x.Env = map[string]any{"trigger": map[string]any{"body": map[string]any{"transactionId": "5O190127TN364715T"}}}
	res, err := capture.Execute(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if out["captureId"] != "3C679366HH908993F" || out["captureStatus"] != "COMPLETED" || out["merchantOrderId"] != "ord_8f3a" ||
		out["amount"].(map[string]any)["minor"] != int64(10000) || out["payer"].(map[string]any)["email"] != "buyer@example.com" {
		t.Errorf("capture output %v", out)
	}

	partial := newAction(t, RefundType, map[string]any{"captureId": "3C679366HH908993F", "amount": "500", "currency": "USD", "noteToPayer": "Damaged item"})
	res, err = partial.Execute(context.Background(), execFor(pp.fields(), "run2:refund", nil))
	if err != nil {
		t.Fatal(err)
	}
	if out := res.Output.(map[string]any); out["amount"].(map[string]any)["minor"] != int64(500) || out["status"] != "COMPLETED" {
		t.Errorf("refund output %v", out)
	}
	full := newAction(t, RefundType, map[string]any{"captureId": "3C679366HH908993F"})
	if _, err := full.Execute(context.Background(), execFor(pp.fields(), "run3:refund", nil)); err != nil {
		t.Fatal(err)
	}
	calls := pp.recorded()
	if len(calls) != 3 {
		t.Fatalf("calls %+v", calls)
	}
	if c := calls[0]; c.Path != "/v2/checkout/orders/5O190127TN364715T/capture" || c.RequestID != "run2:capture" || c.Body != nil {
		t.Errorf("capture call %+v", c)
	}
	if c := calls[1]; c.Path != "/v2/payments/captures/3C679366HH908993F/refund" || c.RequestID != "run2:refund" ||
		c.Body["amount"].(map[string]any)["value"] != "5.00" || c.Body["note_to_payer"] != "Damaged item" {
		t.Errorf("partial refund call %+v", c)
	}
	if c := calls[2]; c.RequestID != "run3:refund" || len(c.Body) != 0 {
		t.Errorf("full refund call %+v", c)
	}

	if _, err := partial.Execute(context.Background(), execFor(pp.fields(), strings.Repeat("k", 200), nil)); err != nil {
		t.Fatal(err)
	}
	if id := pp.recorded()[3].RequestID; len(id) > maxRequestID {
		t.Errorf("PayPal-Request-Id of %d characters", len(id))
	}
}

func TestActionFailures(t *testing.T) {
	pp := newFakePayPal(t)
	n := newAction(t, OrderCaptureType, map[string]any{"orderId": "5O190127TN364715T"})
	path := "/v2/checkout/orders/5O190127TN364715T/capture"
	declined := `{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"INSTRUMENT_DECLINED","description":"The instrument presented was either declined by the processor or bank, or it can't be used for this payment."}],"message":"The requested action could not be performed, semantically incorrect, or failed business validation.","debug_id":"c0a6c7f3d0d6a","links":[{"href":"https://developer.paypal.com/docs/api/orders/v2/#error-INSTRUMENT_DECLINED","rel":"information_link","method":"GET"}]}`
	for _, c := range []struct {
		name  string
		ans   cannedAnswer
		kind  nodes.Kind
		code  string
		after time.Duration
	}{
		{"declined", cannedAnswer{status: 422, body: declined}, nodes.Permanent, CodeUnprocessable, 0},
		{"rate limited", cannedAnswer{status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"name":"RATE_LIMIT_REACHED","message":"Too many requests."}`}, nodes.RetryAfter, CodeRateLimited, 7 * time.Second},
		{"server error", cannedAnswer{status: 500, body: `{"name":"INTERNAL_SERVER_ERROR","message":"An internal server error occurred.","debug_id":"90957fca61718"}`}, nodes.Retryable, CodeServerError, 0},
		{"unavailable", cannedAnswer{status: 503, header: map[string]string{"Retry-After": "30"}, body: `{"name":"SERVICE_UNAVAILABLE"}`}, nodes.RetryAfter, CodeUnavailable, 30 * time.Second},
		{"not found", cannedAnswer{status: 404, body: `{"name":"RESOURCE_NOT_FOUND","message":"The specified resource does not exist.","details":[{"issue":"INVALID_RESOURCE_ID"}]}`}, nodes.Permanent, CodeNotFound, 0},
		{"bad request", cannedAnswer{status: 400, body: `{"name":"INVALID_REQUEST","message":"Request is not well-formed."}`}, nodes.Permanent, CodeClientError, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			pp.failNext(path, c.ans)
			_, err := n.Execute(context.Background(), execFor(pp.fields(), "run4:capture", nil))
			e := typed(t, err)
			if e.Kind != c.kind || e.Code != c.code || e.After != c.after {
				t.Errorf("got %s %s after %s (%v)", e.Kind, e.Code, e.After, err)
			}
			d := e.Details.(map[string]any)
			if d["status"] != c.ans.status || d["request"].(map[string]any)["headers"].(map[string]any)["PayPal-Request-Id"] != "run4:capture" {
				t.Errorf("details %v", d)
			}
			if c.name == "declined" {
				if d["name"] != "UNPROCESSABLE_ENTITY" || d["debugId"] != "c0a6c7f3d0d6a" ||
					d["details"].([]map[string]any)[0]["issue"] != "INSTRUMENT_DECLINED" ||
					!strings.Contains(err.Error(), "INSTRUMENT_DECLINED") || !strings.Contains(err.Error(), "failed business validation") {
					t.Errorf("PayPal's answer not kept verbatim: %v / %v", err, d)
				}
			}
			if c.name == "rate limited" && !e.RateLimited {
				t.Error("429 not reported to the rate limiter")
			}
		})
	}

	// A token PayPal revoked is replaced once, transparently.
	pp.revokeTokens()
	if _, err := n.Execute(context.Background(), execFor(pp.fields(), "run5:capture", nil)); err != nil {
		t.Errorf("after revocation: %v", err)
	}

	// Wrong client secret: permanent, no API call.
	fields := pp.fields()
	fields[fieldClientSecret] = "nope"
	if e := typed(t, func() error { _, err := n.Execute(context.Background(), execFor(fields, "k", nil)); return err }()); e.Code != CodeAuthFailed || e.Kind != nodes.Permanent {
		t.Errorf("refused client: %s %s", e.Kind, e.Code)
	}
	// No credential.
	x := execFor(nil, "k", nil)
	x.Credential = func(context.Context) (map[string]string, error) { return nil, nodes.ErrNoCredential }
	if e := typed(t, func() error { _, err := n.Execute(context.Background(), x); return err }()); e.Code != CodeCredentialMissing {
		t.Errorf("no credential: %s", e.Code)
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	pp := newFakePayPal(t)
	n := newAction(t, RefundType, map[string]any{"captureId": "3C679366HH908993F", "amount": "250", "currency": "EUR"})
	res, err := n.(nodes.DryRunner).DryRun(context.Background(), execFor(pp.fields(), "run6:refund", nil))
	if err != nil {
		t.Fatal(err)
	}
	req := res.Output.(map[string]any)["request"].(map[string]any)
	if req["url"] != pp.srv.URL+"/v2/payments/captures/3C679366HH908993F/refund" ||
		req["body"].(map[string]any)["amount"].(map[string]any)["value"] != "2.50" {
		t.Errorf("dry run %v", req)
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if len(pp.calls) != 0 || pp.tokenCalls != 0 {
		t.Errorf("dry run called PayPal: %d calls, %d tokens", len(pp.calls), pp.tokenCalls)
	}
}

func TestConcurrentStepsShareOneToken(t *testing.T) {
	pp := newFakePayPal(t)
	n := newAction(t, RefundType, map[string]any{"captureId": "3C679366HH908993F"})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := n.Execute(context.Background(), execFor(pp.fields(), "run7:"+string(rune('a'+i)), nil))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.tokenCalls != 1 {
		t.Errorf("%d token requests for 20 concurrent steps, want 1", pp.tokenCalls)
	}
}

func TestCredentialTest(t *testing.T) {
	pp := newFakePayPal(t)
	ct, ok := nodes.LookupCredentialType(CredentialApp)
	if !ok || !ct.Testable {
		t.Fatal("paypal.app is not registered as testable")
	}
	msg, err := ct.Test(context.Background(), pp.fields(), http.DefaultClient)
	if err != nil || !strings.Contains(msg, "issued an access token") {
		t.Errorf("good credential: %q %v", msg, err)
	}
	fields := pp.fields()
	fields[fieldClientSecret] = "wrong"
	if _, err := ct.Test(context.Background(), fields, http.DefaultClient); err == nil || !strings.Contains(err.Error(), "invalid_client") ||
		strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong secret: %v", err)
	}
	for env, want := range map[string]string{envLive: LiveBaseURL, envSandbox: SandboxBaseURL} {
		a, err := accountFrom(map[string]string{fieldEnvironment: env, fieldClientID: "id", fieldClientSecret: "s"})
		if err != nil || a.base.String() != want {
			t.Errorf("%s: %v %v", env, a, err)
		}
	}
	if _, err := accountFrom(map[string]string{fieldEnvironment: "staging", fieldClientID: "id", fieldClientSecret: "s"}); err == nil {
		t.Error("unknown environment accepted")
	}
}
