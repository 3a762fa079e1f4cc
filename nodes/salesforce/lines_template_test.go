package salesforce

import (
	"context"
	"encoding/json"
	"io/fs"
	"testing"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/runnertest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
	_ "github.com/ferry-hq/ferry/nodes/shopify"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// TestOrderLinesTemplateRuns publishes "Shopify order paid: one Salesforce order line per item" in a runner over
// a real store and starts it with the normalised event the Shopify trigger outputs (its signature is the shopify
// package's tests' business): the order becomes one child run per line, each upserting its Order_Line__c by
// Line_Key__c in the Salesforce stand-in, and the order's run goes on with the count of lines written. The same
// order again writes the same three records, not three more.
func TestOrderLinesTemplateRuns(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"salesforce":    {Name: "Salesforce", Type: CredentialOAuth2, Fields: fields(), Destinations: egress.MustDestinations(s.URL)},
		"shopify-store": {Name: "Shop", Type: "shopify.store", Fields: map[string]string{}},
	})}
	r := runnertest.New(t, eng)
	st := r.Store
	doc, err := fs.ReadFile(templates.FS(), "shopify-salesforce-order-lines.json")
	if err != nil {
		t.Fatal(err)
	}
	l := runnertest.Publish(t, r, "order lines", doc)
	event := map[string]any{"provider": "shopify", "type": "paid", "orderId": "gid://shopify/Order/5551", "orderNumber": "#1051",
		"items": []any{
			map[string]any{"sku": "TEA-01", "name": "绿茶 Green tea", "quantity": 2, "unitPrice": map[string]any{"minor": 4800, "currency": "CNY", "decimal": "48.00"}},
			map[string]any{"sku": "CUP-02", "name": "Tea cup", "quantity": 6, "unitPrice": map[string]any{"minor": 1250, "currency": "CNY", "decimal": "12.50"}},
			map[string]any{"sku": "POT-03", "name": "Teapot", "quantity": 1, "unitPrice": map[string]any{"minor": 16800, "currency": "CNY", "decimal": "168.00"}},
		}}
	order := func(runKey string) string {
		t.Helper()
		run, err := r.Accept(ctx, runner.Trigger{Flow: l, Node: "shopify", Payload: map[string]any{"body": event}, BusinessKey: "#1051",
			DedupKey: runKey, Mode: nodes.ModeLive})
		if err != nil {
			t.Fatal(err)
		}
		runnertest.Drain(t, r)
		got, _ := st.GetRun(ctx, run.ID)
		if got.Status != store.RunSucceeded {
			t.Fatalf("order run: %s %s", got.Status, got.Error)
		}
		return run.ID
	}
	first := order("webhook-1")
	if kids, _ := st.ListRuns(ctx, store.RunFilter{ParentRunID: first}); len(kids.Runs) > 0 && kids.Runs[0].Status != store.RunSucceeded {
		t.Fatalf("a line's run: %s %s", kids.Runs[0].Status, kids.Runs[0].Error)
	}
	lines := s.objects["Order_Line__c"]
	if len(lines) != 3 {
		t.Fatalf("%d order lines: %v", len(lines), lines)
	}
	byKey := map[string]record{}
	for _, rec := range lines {
		byKey[rec["Line_Key__c"].(string)] = rec
	}
	cup := byKey["5551:CUP-02"]
	if cup == nil || cup["Order_No__c"] != "#1051" || cup["Product_Name__c"] != "Tea cup" || cup["Quantity__c"] != 6.0 || cup["Unit_Price__c"] != "12.50" {
		t.Fatalf("the cup's line: %v", cup)
	}
	if tea := byKey["5551:TEA-01"]; tea == nil || tea["Product_Name__c"] != "绿茶 Green tea" {
		t.Fatalf("the tea's line: %v", tea)
	}
	page, _ := st.ListRuns(ctx, store.RunFilter{ParentRunID: first})
	if len(page.Runs) != 3 {
		t.Fatalf("%d child runs", len(page.Runs))
	}
	steps, _ := st.ListSteps(ctx, first)
	last := steps[len(steps)-1]
	var vars map[string]any
	_ = json.Unmarshal(last.Output, &vars)
	if last.NodeID != "done" || vars["succeeded"] != 3.0 {
		t.Fatalf("the order's run went on with %s %s", last.NodeID, last.Output)
	}
	// Another delivery of the same order (a new run, as a manual replay would be): the same three records.
	order("webhook-2")
	if n := len(s.objects["Order_Line__c"]); n != 3 {
		t.Fatalf("%d order lines after the order came again", n)
	}
}
