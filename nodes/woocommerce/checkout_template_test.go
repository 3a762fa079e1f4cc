package woocommerce

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/nodes/stripe"
)

// TestStripeCheckoutTemplateCreatesTheOrderOnce delivers a Stripe-signed checkout.session.completed event to the
// "Stripe checkout paid" template and runs it against the WooCommerce stand-in: the order is created paid, with
// the amount Stripe collected as its total. When the create's outcome is unknown (WooCommerce answers 500), the
// order is sent once, even with a retry policy on the step, and the payment goes to the review webhook.
func TestStripeCheckoutTemplateCreatesTheOrderOnce(t *testing.T) {
	var mu sync.Mutex
	var reviews []map[string]any
	review := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		json.Unmarshal(b, &v)
		mu.Lock()
		reviews = append(reviews, v)
		mu.Unlock()
		io.WriteString(w, `{"ok":true}`)
	}))
	defer review.Close()
	data, err := fs.ReadFile(templates.FS(), "stripe-checkout-shop-order.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(data), "https://ops.example.com/hooks/order-review", review.URL+"/review")
	// A retry policy on the create step must not make it send twice.
	doc = strings.Replace(doc, `"credential": "woocommerce-store",`, `"credential": "woocommerce-store", "retry": {"maxAttempts": 5, "backoff": "1ms"},`, 1)

	const secret = "whsec_checkout"
	event := `{"id": "evt_cs_1", "object": "event", "api_version": "` + stripe.APIVersion + `", "created": 1767225590, "livemode": false,
	  "type": "checkout.session.completed", "data": {"object": {"id": "cs_1", "object": "checkout.session", "amount_total": 3490,
	  "currency": "eur", "payment_intent": "pi_3Q", "customer": null, "customer_details": {"email": "Ada@Example.com", "name": "Ada Lovelace"},
	  "payment_status": "paid", "status": "complete", "metadata": {"order_id": "A-1001"}}}}`
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(event), Secret: secret}).Header

	run := func(t *testing.T, shop *standIn) *engine.Outcome {
		f, err := flows.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		c, err := flows.Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(), &nodes.WebhookRequest{
			Method: http.MethodPost, Header: http.Header{"Stripe-Signature": {sig}, "Content-Type": {"application/json"}}, Body: []byte(event),
			Mode: nodes.ModeLive, Credential: func(context.Context) (map[string]string, error) {
				return map[string]string{stripe.FieldWebhookSecret: secret}, nil
			}})
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
			"woocommerce-store": {Name: "Ferry Tea", Type: CredentialType, Fields: fields(), Destinations: egress.MustDestinations(shop.URL + APIPath)},
		})}
		r := &engine.Run{ID: "run1", FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: acc.Payload,
			State: engine.NewState(c, c.Webhook.Def.ID, acc.Payload)}
		// Execute as the runner does: a run handed back for a retry is executed again.
		for i := 0; i < 10; i++ {
			out := eng.Execute(context.Background(), c, r)
			if out.Status != engine.StatusQueued {
				return &out
			}
		}
		t.Fatal("the run kept being retried")
		return nil
	}

	t.Run("created", func(t *testing.T) {
		shop := newStandIn(t)
		if out := run(t, shop); out.Status != engine.StatusSucceeded {
			t.Fatalf("run %s: %+v", out.Status, out.Error)
		}
		if len(shop.orders) != 1 {
			t.Fatalf("%d orders", len(shop.orders))
		}
		o := shop.orders[0]
		b := o["billing"].(map[string]any)
		if o["status"] != "processing" || o["total"] != "34.90" || o["currency"] != "EUR" || o["transaction_id"] != "pi_3Q" ||
			o["payment_method"] != "stripe" || b["email"] != "ada@example.com" || b["first_name"] != "Ada Lovelace" {
			t.Fatalf("order %v", o)
		}
		meta, _ := json.Marshal(o["meta_data"])
		if !strings.Contains(string(meta), `"key":"order_ref","value":"A-1001"`) || !strings.Contains(string(meta), `"value":"evt_cs_1"`) {
			t.Fatalf("meta data %s", meta)
		}
		if len(reviews) != 0 {
			t.Fatalf("reviews %v", reviews)
		}
	})

	t.Run("outcome unknown goes to review", func(t *testing.T) {
		shop := newStandIn(t)
		shop.broken = true
		if out := run(t, shop); out.Status != engine.StatusSucceeded {
			t.Fatalf("run %s: %+v", out.Status, out.Error)
		}
		if n := len(shop.received()); n != 1 {
			t.Fatalf("the order was sent %d times", n)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(reviews) != 1 || reviews[0]["reason"] != "woocommerce_outcome_unknown" || reviews[0]["order_ref"] != "A-1001" ||
			reviews[0]["transaction_id"] != "pi_3Q" || reviews[0]["amount"] != "34.90" {
			t.Fatalf("reviews %v", reviews)
		}
		if raw, _ := json.Marshal(reviews[0]); strings.Contains(string(raw), testSecret) || !strings.Contains(string(raw), "before running this step again") {
			t.Fatalf("review %s", raw)
		}
	})
}
