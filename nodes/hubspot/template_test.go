package hubspot

import (
	"context"
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
	_ "github.com/ferry-hq/ferry/nodes/alipay"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// TestAlipayDealWonTemplateRuns runs the "Alipay payment confirmed: mark the HubSpot deal won" template on the
// event its Alipay trigger outputs for a paid trade (the signature is the Alipay package's tests' business):
// the deal found by order_id with the amount paid moves to closed won; an amount that differs goes to review and
// the deal is left alone. Every HubSpot request validates against HubSpot's descriptions in the stand-in.
func TestAlipayDealWonTemplateRuns(t *testing.T) {
	s := newStandIn(t)
	s.records["deals"]["501"] = map[string]any{"id": "501", "properties": map[string]any{"hs_object_id": "501", "order_id": "ord_8f3a2c91d4",
		"amount": "88.88", "dealstage": "presentationscheduled"}, "createdAt": "2026-12-01T00:00:00Z", "updatedAt": "2026-12-01T00:00:00Z", "archived": false}
	var mu sync.Mutex
	var review []string
	ops := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		review = append(review, string(b))
		mu.Unlock()
		io.WriteString(w, `{"ok":true}`)
	}))
	defer ops.Close()
	data, err := fs.ReadFile(templates.FS(), "alipay-hubspot-deal-won.json")
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
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"hubspot": {Name: "HubSpot", Type: CredentialPrivateApp, Fields: map[string]string{FieldAccessToken: testToken}, Destinations: egress.MustDestinations(s.URL)},
	})}
	pay := func(id string, minor int64, decimal string) *engine.Outcome {
		trigger := map[string]any{"body": map[string]any{"provider": "alipay", "type": "paid", "merchantOrderId": "ord_8f3a2c91d4",
			"transactionId": "2026120722001400001" + id, "time": "2026-12-07T10:15:00Z",
			"amount": map[string]any{"minor": minor, "currency": "CNY", "decimal": decimal}}}
		run := &engine.Run{ID: "run" + id, FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: trigger,
			State: engine.NewState(c, c.Webhook.Def.ID, trigger)}
		out := eng.Execute(context.Background(), c, run)
		return &out
	}
	if out := pay("1", 8889, "88.89"); out.Status != engine.StatusSucceeded {
		t.Fatalf("mismatch run %s: %+v", out.Status, out.Error)
	}
	if len(review) != 1 || !strings.Contains(review[0], `"reason":"amount_mismatch"`) || !strings.Contains(review[0], `"deal_amount":"88.88"`) ||
		s.records["deals"]["501"]["properties"].(map[string]any)["dealstage"] != "presentationscheduled" {
		t.Fatalf("mismatch: review %v, deal %v", review, s.records["deals"]["501"])
	}
	if out := pay("2", 8888, "88.88"); out.Status != engine.StatusSucceeded {
		t.Fatalf("run %s: %+v", out.Status, out.Error)
	}
	p := s.records["deals"]["501"]["properties"].(map[string]any)
	if p["dealstage"] != "closedwon" || p["closedate"] != "2026-12-07T10:15:00Z" || len(review) != 1 {
		t.Fatalf("deal %v, review %v", p, review)
	}
	last := s.received()[len(s.received())-1]
	if last.Method != http.MethodPatch || last.URL.Path != "/crm/v3/objects/deals/501" {
		t.Fatalf("won sent %s %s", last.Method, last.URL)
	}
}
