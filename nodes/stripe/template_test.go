package stripe_test

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

	"github.com/ferry-hq/ferry/flows/templates"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/nodes/stripe"
)

// TestPaymentReceivedTemplateRuns delivers a Stripe-signed payment_intent.succeeded event to the template's
// trigger and runs the flow against a fake CRM and chat webhook: the CRM gets the mapped order once, with an
// idempotency key, and the team gets a note.
func TestPaymentReceivedTemplateRuns(t *testing.T) {
	var mu sync.Mutex
	calls := map[string][]*http.Request{}
	bodies := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls[r.URL.Path] = append(calls[r.URL.Path], r)
		bodies[r.URL.Path] = string(b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok": true}`)
	}))
	defer srv.Close()
	data, err := fs.ReadFile(templates.FS(), "stripe-payment-received.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(data), "https://crm.example.com", srv.URL)
	doc = strings.ReplaceAll(doc, "https://hooks.slack.com/services/T000/B000/XXXX", srv.URL+"/chat")
	f, err := flows.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const secret = "whsec_template"
	body := `{"id": "evt_tpl_1", "object": "event", "api_version": "` + stripe.APIVersion + `", "created": 1767225590, "livemode": false,
	  "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_tpl", "object": "payment_intent", "amount": 14999,
	  "amount_received": 14999, "currency": "eur", "customer": "cus_tpl", "receipt_email": "Ada@Example.com",
	  "metadata": {"order_id": "ord_8f3a"}, "status": "succeeded"}}}`
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret}).Header
	creds := map[string]map[string]string{"stripe-account": {stripe.FieldWebhookSecret: secret}, "crm-api": {"token": "crm_tok"}}
	acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(), &nodes.WebhookRequest{
		Method: http.MethodPost, Header: http.Header{"Stripe-Signature": {sig}, "Content-Type": {"application/json"}}, Body: []byte(body),
		Mode: nodes.ModeLive, Credential: func(context.Context) (map[string]string, error) { return creds["stripe-account"], nil }})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if acc.DedupKey != "evt_tpl_1" || acc.BusinessKey != "ord_8f3a" {
		t.Fatalf("keys %q %q", acc.DedupKey, acc.BusinessKey)
	}
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"crm-api": {Name: "CRM", Type: "http.bearer", Fields: creds["crm-api"], Destinations: egress.MustDestinations(srv.URL)},
	})}
	run := &engine.Run{ID: "run1", FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: acc.Payload,
		State: engine.NewState(c, c.Webhook.Def.ID, acc.Payload)}
	out := eng.Execute(context.Background(), c, run)
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("run %s: %+v", out.Status, out.Error)
	}
	crm := calls["/api/v2/orders/ord_8f3a"]
	if len(crm) != 1 || crm[0].Method != http.MethodPut || crm[0].Header.Get("Authorization") != "Bearer crm_tok" || crm[0].Header.Get("Idempotency-Key") == "" {
		t.Fatalf("CRM calls = %+v", crm)
	}
	var order map[string]any
	if err := json.Unmarshal([]byte(bodies["/api/v2/orders/ord_8f3a"]), &order); err != nil {
		t.Fatal(err)
	}
	if order["amount_minor"] != float64(14999) || order["amount"] != "149.99" || order["currency"] != "EUR" ||
		order["customer_email"] != "ada@example.com" || order["stripe_payment_id"] != "pi_tpl" || order["payment_status"] != "paid" {
		t.Fatalf("CRM order = %v", order)
	}
	if len(calls["/chat"]) != 1 || !strings.Contains(bodies["/chat"], "Order ord_8f3a paid: 149.99 EUR") {
		t.Fatalf("chat = %q", bodies["/chat"])
	}
}
