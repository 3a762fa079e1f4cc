package salesforce

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
	"time"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/alipay"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/crm"
	"github.com/ferry-hq/ferry/nodes/egress"
	_ "github.com/ferry-hq/ferry/nodes/wechatpay"
)

// TestPaymentOpportunityTemplatesRun runs the Alipay and the WeChat Pay "payment confirmed: Salesforce opportunity
// closed won" templates on the normalised event their triggers output (the signatures are the payment packages'
// tests' business) against the Salesforce stand-in: an opportunity found by order number with another amount goes
// to review untouched; with the amount paid it moves to Closed Won with the payment's day in Beijing; an order
// without an opportunity gets one through the upsert by Payment_Id__c, once however often the run is repeated;
// several opportunities with one order number wait for a person, go to review when nobody chooses and are
// checked and won when someone does; a refund writes nothing.
func TestPaymentOpportunityTemplatesRun(t *testing.T) {
	for _, provider := range []string{"alipay", "wechatpay"} {
		t.Run(provider, func(t *testing.T) { runPaymentOpportunityTemplate(t, provider) })
	}
}

func runPaymentOpportunityTemplate(t *testing.T, provider string) {
	s := newStandIn(t)
	var mu sync.Mutex
	var review []map[string]any
	ops := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("review got %s", b)
		}
		mu.Lock()
		review = append(review, doc)
		mu.Unlock()
		io.WriteString(w, `{"ok":true}`)
	}))
	defer ops.Close()
	data, err := fs.ReadFile(templates.FS(), provider+"-salesforce-opportunity-won.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := flows.Parse([]byte(strings.ReplaceAll(string(data), "https://ops.example.com", ops.URL)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// An operator's choices, by wait: what Engine.Resume reads from the store in the server.
	decided := map[string]*nodes.Resume{}
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"salesforce": {Name: "Salesforce", Type: CredentialOAuth2, Fields: fields(), Destinations: egress.MustDestinations(s.URL)},
	}), Resume: func(_ context.Context, _, waitID string) (*nodes.Resume, time.Time, error) {
		if r := decided[waitID]; r != nil {
			return r, time.Time{}, nil
		}
		return nil, time.Now().Add(time.Hour), nil
	}}
	// choose is the operator's answer when the run waits for one: a candidate's id, or nil for no answer in time.
	payChoosing := func(runID, typ, order, txn string, minor int64, decimal string, choose *string) {
		t.Helper()
		trigger := map[string]any{"body": map[string]any{"provider": provider, "type": typ, "merchantOrderId": order,
			"transactionId": txn, "time": "2026-12-07T17:30:00Z", "amount": map[string]any{"minor": minor, "currency": "CNY", "decimal": decimal}}}
		if key := c.RunOrderingKey(trigger, "live"); key != order {
			t.Fatalf("ordering key %q", key)
		}
		run := &engine.Run{ID: runID, FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: trigger,
			State: engine.NewState(c, c.Triggers[0].Def.ID, trigger)}
		out := eng.Execute(context.Background(), c, run)
		if out.Status == engine.StatusWaiting && out.Park != nil && out.Park.NodeID == "opp" && out.Park.Park.Kind == crm.ReviewKind {
			request, _ := json.Marshal(out.Park.Park.Request)
			r := &nodes.Resume{WaitID: out.Park.ID, Request: request, TimedOut: choose == nil}
			if choose != nil {
				r.Decision, _ = json.Marshal(map[string]string{"candidate": *choose})
				if err := nodes.CheckDecision(crm.ReviewKind, request, r.Decision); err != nil {
					t.Fatal(err)
				}
			}
			decided[out.Park.ID] = r
			out = eng.Execute(context.Background(), c, run)
		}
		if out.Status != engine.StatusSucceeded {
			t.Fatalf("run %s: %s %+v", runID, out.Status, out.Error)
		}
	}
	pay := func(runID, typ, order, txn string, minor int64, decimal string) {
		t.Helper()
		payChoosing(runID, typ, order, txn, minor, decimal, nil)
	}
	writes := func(from int) []string {
		var w []string
		for _, r := range s.sent()[from:] {
			if strings.HasPrefix(r, "PATCH") || strings.HasPrefix(r, "POST") {
				w = append(w, r)
			}
		}
		return w
	}
	opp := s.insert("Opportunity", map[string]any{"Name": "Tea set for Acme", "Order_Number__c": "ord_8f3a2c91d4", "Amount": 88.88, "StageName": "Negotiation/Review"})

	// Another amount: review, the opportunity is left alone.
	pay("run1", "paid", "ord_8f3a2c91d4", "4200002611202612071234567890", 8889, "88.89")
	if len(review) != 1 || review[0]["reason"] != "amount_mismatch" || review[0]["opportunity"] != opp["Id"] || review[0]["opportunity_amount"] != 88.88 ||
		review[0]["paid"] != "88.89" || len(writes(0)) != 0 || opp["StageName"] != "Negotiation/Review" {
		t.Fatalf("mismatch: review %v, writes %v, opportunity %v", review, writes(0), opp)
	}

	// The amount paid: Closed Won on the payment's day in Beijing (17:30 UTC is the next day there).
	from := len(s.sent())
	pay("run2", "paid", "ord_8f3a2c91d4", "4200002611202612071234567890", 8888, "88.88")
	if got := strings.Join(writes(from), ", "); got != "PATCH /services/data/v62.0/sobjects/Opportunity/"+opp["Id"].(string) {
		t.Fatalf("won: writes %s", got)
	}
	if opp["StageName"] != "Closed Won" || opp["CloseDate"] != "2026-12-08" || opp["Payment_Id__c"] != "4200002611202612071234567890" ||
		opp["Amount"] != 88.88 || opp["Name"] != "Tea set for Acme" || len(review) != 1 {
		t.Fatalf("won: opportunity %v, review %v", opp, review)
	}

	// No opportunity for the order: one is created by the upsert on the payment id; repeating the run writes it again.
	for _, id := range []string{"run3", "run3-again"} {
		pay(id, "paid", "ord_20261207002", "2026120722001400002", 15000, "150.00")
	}
	var created []record
	for _, rec := range s.objects["Opportunity"] {
		if rec["Order_Number__c"] == "ord_20261207002" {
			created = append(created, rec)
		}
	}
	label := map[string]string{"alipay": "Alipay", "wechatpay": "WeChat Pay"}[provider]
	if len(created) != 1 || created[0]["Payment_Id__c"] != "2026120722001400002" || created[0]["StageName"] != "Closed Won" ||
		created[0]["Amount"] != 150.0 || created[0]["CloseDate"] != "2026-12-08" || created[0]["Name"] != label+" order ord_20261207002" {
		t.Fatalf("created %v", created)
	}

	// Several opportunities with one order number: the run waits for a person; nobody chooses in time, and the
	// payment goes to review with the candidates, nothing written.
	copied := s.insert("Opportunity", map[string]any{"Name": "Order 77 (copy)", "Order_Number__c": "ord_77", "Amount": 10.0})
	kept := s.insert("Opportunity", map[string]any{"Name": "Order 77", "Order_Number__c": "ord_77", "Amount": 10.0})
	from = len(s.sent())
	pay("run4", "paid", "ord_77", "2026120722001400077", 1000, "10.00")
	if cands, _ := review[len(review)-1]["candidates"].([]any); len(review) != 2 || review[1]["reason"] != "several_opportunities" || len(cands) != 2 || len(writes(from)) != 0 {
		t.Fatalf("ambiguous: review %v, writes %v", review, writes(from))
	}
	// The operator chooses one: its amount is checked, and it alone is Closed Won.
	id := kept["Id"].(string)
	payChoosing("run6", "paid", "ord_77", "2026120722001400077", 1000, "10.00", &id)
	if kept["StageName"] != "Closed Won" || copied["StageName"] != nil || len(review) != 2 {
		t.Fatalf("chosen: %v, the other %v, review %v", kept, copied, review)
	}

	// A refund is not a payment: nothing is looked up or written.
	from = len(s.sent())
	pay("run5", "refunded", "ord_8f3a2c91d4", "4200002611202612071234567890", 8888, "88.88")
	if len(s.sent()) != from || len(review) != 2 {
		t.Fatalf("refund: requests %v", s.sent()[from:])
	}
}
