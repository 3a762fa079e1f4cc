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

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// TestOrderStatusSyncTemplateRuns delivers the order.updated vector, signed as WooCommerce signs it, to the
// template's trigger and runs the flow: the CRM gets the order with its mapped status and exact total, and the
// WooCommerce order gets a private note saying what was synced.
func TestOrderStatusSyncTemplateRuns(t *testing.T) {
	var mu sync.Mutex
	var crm []string
	crmServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		crm = append(crm, r.Method+" "+r.URL.Path+" "+string(b))
		mu.Unlock()
		io.WriteString(w, `{"ok":true}`)
	}))
	defer crmServer.Close()
	shop := newStandIn(t)
	shop.orders = []map[string]any{testOrder(727, "processing", "2026-11-20T09:59:03")}

	data, err := fs.ReadFile(templates.FS(), "woocommerce-order-status-sync.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(data), "https://crm.example.com/api/v2/orders", crmServer.URL+"/orders")
	f, err := flows.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	vf := loadVectors(t)
	v := vf.Vectors[1]
	acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(),
		delivery{body: body(t, v.File), signature: v.Signature, topic: v.Topic, deliveryID: v.DeliveryID, secret: vf.Secret}.request())
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: func(_ context.Context, id string, _ nodes.Mode) (*nodes.ResolvedCredential, error) {
		if id != "woocommerce-store" {
			t.Errorf("credential %q", id)
		}
		return &nodes.ResolvedCredential{Name: "Ferry Tea", Type: CredentialType, Fields: fields(),
			Destinations: egress.MustDestinations(shop.URL + APIPath)}, nil
	}}
	run := &engine.Run{ID: "run1", FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: acc.Payload,
		State: engine.NewState(c, c.Webhook.Def.ID, acc.Payload)}
	if out := eng.Execute(context.Background(), c, run); out.Status != engine.StatusSucceeded {
		t.Fatalf("run %s: %+v", out.Status, out.Error)
	}
	if len(crm) != 1 || !strings.HasPrefix(crm[0], "PATCH /orders/727 ") {
		t.Fatalf("CRM calls %v", crm)
	}
	var sent map[string]any
	json.Unmarshal([]byte(strings.SplitN(crm[0], " ", 3)[2]), &sent)
	if sent["status"] != "paid" || sent["shop_status"] != "processing" || sent["total_minor"] != 3490.0 || sent["currency"] != "EUR" ||
		sent["customer_email"] != "ada@example.com" {
		t.Fatalf("CRM got %v", sent)
	}
	notes := shop.notes["727"]
	if len(notes) != 1 || notes[0].(map[string]any)["note"] != "Status processing synced to the CRM as paid." || notes[0].(map[string]any)["customer_note"] != false {
		t.Fatalf("notes %v", notes)
	}
}
