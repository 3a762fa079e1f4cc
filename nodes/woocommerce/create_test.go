package woocommerce

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

func createParams() map[string]any {
	return map[string]any{
		"status": "processing", "currency": "EUR", "customerId": 7, "setPaid": true,
		"billing":       `{{ {"first_name": trigger.name, "email": trigger.email} }}`,
		"shipping":      map[string]any{"first_name": "Ada", "city": "Berlin", "country": "DE"},
		"lineItems":     `{{ [{"product_id": 11, "quantity": 2}] }}`,
		"feeLines":      []any{map[string]any{"name": "Gift wrap", "total": "3.50"}},
		"paymentMethod": "stripe", "paymentMethodTitle": "Card", "transactionId": "{{ trigger.pi }}",
		"metaData":     []any{map[string]any{"key": "order_ref", "value": "A-1001"}},
		"customerNote": "Leave it at the door.",
	}
}

var createInput = map[string]any{"name": "Ada", "email": "ada@example.com", "pi": "pi_3Q"}

// TestOrderCreate: the create body has WooCommerce's documented shape (the stand-in refuses anything else) and
// the output is the order WooCommerce made.
func TestOrderCreate(t *testing.T) {
	s := newStandIn(t)
	res, err := build(t, "woocommerce.order.create", createParams()).Execute(context.Background(), s.exec(createInput))
	if err != nil {
		t.Fatal(err)
	}
	o := res.Output.(map[string]any)
	if o["id"] != int64(800) || o["status"] != "processing" || o["total"] != "19.50" || o["transaction_id"] != "pi_3Q" ||
		o["customer_note"] != "Leave it at the door." {
		t.Fatalf("created %v", o)
	}
	body := s.lastBody()
	b, _ := json.Marshal(body)
	for _, want := range []string{`"billing":{"email":"ada@example.com","first_name":"Ada"}`, `"customer_id":7`, `"set_paid":true`,
		`"line_items":[{"product_id":11,"quantity":2}]`, `"meta_data":[{"key":"order_ref","value":"A-1001"}]`, `"currency":"EUR"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the body %s lacks %s", b, want)
		}
	}
	if r := s.received()[0]; r.Method != "POST" || r.URL.Path != "/wp-json/wc/v3/orders" || len(s.received()) != 1 {
		t.Fatalf("sent %d requests, first %s %s", len(s.received()), r.Method, r.URL)
	}
	// Fields left out are not sent.
	if _, err := build(t, "woocommerce.order.create", map[string]any{"lineItems": []any{map[string]any{"product_id": 12, "quantity": 1}}}).
		Execute(context.Background(), s.exec(nil)); err != nil {
		t.Fatal(err)
	}
	if body := s.lastBody(); len(body) != 2 || body["set_paid"] != false {
		t.Fatalf("sent %v", body)
	}
}

// TestOrderCreateRefusals: WooCommerce refusing the order is permanent with its own code quoted; a shape Ferry
// can tell is wrong is refused before anything is sent.
func TestOrderCreateRefusals(t *testing.T) {
	s := newStandIn(t)
	_, err := build(t, "woocommerce.order.create", map[string]any{"lineItems": []any{map[string]any{"product_id": 99, "quantity": 1}}}).
		Execute(context.Background(), s.exec(nil))
	e := failure(t, err, "woocommerce_invalid_request", nodes.Permanent)
	if !strings.Contains(e.Error(), "woocommerce_rest_invalid_product_id: Product ID provided is invalid.") {
		t.Fatalf("WooCommerce's code is not quoted: %v", e)
	}
	for name, params := range map[string]map[string]any{
		"a misspelt address field": {"billing": map[string]any{"adress_1": "Unter den Linden 1"}},
		"an e-mail when shipping":  {"shipping": map[string]any{"email": "ada@example.com"}},
		"items that are no list":   {"lineItems": `{{ {"product_id": 11} }}`},
		"an item without quantity": {"lineItems": []any{map[string]any{"product_id": 11}}},
		"meta data without value":  {"metaData": []any{map[string]any{"key": "k"}}},
		"a currency name":          {"currency": "euro"},
	} {
		_, err := build(t, "woocommerce.order.create", params).Execute(context.Background(), s.exec(nil))
		if e := nodes.Classify(err); err == nil || e.Code != "woocommerce_request_invalid" || e.Kind != nodes.Permanent {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := len(s.received()); n != 1 {
		t.Fatalf("%d requests sent", n)
	}
}

// TestOrderCreateOutcomeUnknownIsNotResent: when WooCommerce may have made the order but no answer says so (a
// 5xx, the connection lost after the request, no answer in time), the step fails for good with
// woocommerce_outcome_unknown and the request in its details; it is sent once. A 429 says nothing was made
// and is retried after the time WooCommerce's host asks.
func TestOrderCreateOutcomeUnknownIsNotResent(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(*standIn)
		made  int
		ctx   time.Duration
	}{
		{"500", func(s *standIn) { s.broken = true }, 0, 0},
		{"connection lost after the order was made", func(s *standIn) { s.lose = true }, 1, 0},
		{"no answer in time", func(s *standIn) { s.slow = time.Second }, 1, 200 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStandIn(t)
			c.setup(s)
			ctx := context.Background()
			if c.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.ctx)
				defer cancel()
			}
			_, err := build(t, "woocommerce.order.create", createParams()).Execute(ctx, s.exec(createInput))
			e := failure(t, err, "woocommerce_outcome_unknown", nodes.Permanent)
			d := e.Details.(map[string]any)
			req := d["request"].(map[string]any)
			raw, _ := json.Marshal(d)
			if d["outcomeUnknown"] != true || req["method"] != "POST" || !strings.Contains(string(raw), "pi_3Q") ||
				strings.Contains(string(raw), testSecret) || !strings.Contains(e.Error(), "before running this step again") {
				t.Fatalf("details %s; %v", raw, e)
			}
			if n := len(s.received()); n != 1 || len(s.orders) != c.made {
				t.Fatalf("%d requests, %d orders", n, len(s.orders))
			}
		})
	}
	s := newStandIn(t)
	s.tooMany = true
	_, err := build(t, "woocommerce.order.create", createParams()).Execute(context.Background(), s.exec(createInput))
	if e := failure(t, err, "woocommerce_rate_limited", nodes.RetryAfter); e.After != 7*time.Second {
		t.Fatalf("after %s", e.After)
	}
}
