package hubspot

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/crm"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/nodes/shopify"
)

// shopifyPaidOrder is the trigger payload the template's Shopify trigger makes of the orders/paid delivery signed
// by Shopify's own library (nodes/shopify/testdata/webhooks), so the flow runs on what Shopify really sends.
func shopifyPaidOrder(t *testing.T, c *flows.Compiled) any {
	t.Helper()
	dir := "../shopify/testdata/webhooks/"
	raw, err := os.ReadFile(dir + "vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf struct {
		Secret  string `json:"secret"`
		Vectors []struct {
			Name, File, Topic, WebhookID, Shop, HMAC string
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	v := vf.Vectors[0]
	if v.Topic != "orders/paid" {
		t.Fatalf("the first vector is %s", v.Topic)
	}
	body, err := os.ReadFile(dir + v.File)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	for k, val := range map[string]string{"X-Shopify-Hmac-Sha256": v.HMAC, "X-Shopify-Topic": v.Topic, "X-Shopify-Shop-Domain": v.Shop,
		"X-Shopify-Webhook-Id": v.WebhookID, "X-Shopify-Api-Version": shopify.APIVersion, "Content-Type": "application/json"} {
		h.Set(k, val)
	}
	fields := map[string]string{shopify.FieldShop: v.Shop, shopify.FieldWebhookSecret: vf.Secret}
	acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(), &nodes.WebhookRequest{Method: http.MethodPost,
		Header: h, Body: body, Mode: nodes.ModeLive, Credential: func(context.Context) (map[string]string, error) { return fields, nil }})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return acc.Payload
}

// TestShopifyDealWonTemplateRuns runs the "Shopify order paid: HubSpot contact and deal won" template on Shopify's
// signed orders/paid delivery against the HubSpot stand-in (every request validated against HubSpot's OpenAPI
// descriptions): two contacts sharing the customer's phone make the run wait for a person with nothing written,
// and it ends at the review step when nobody chooses; the contact an operator chooses gets a closed-won deal keyed
// by the Shopify order id, associated with it; no contact creates one, and the same deal is associated with it;
// the same order again finds that contact, writes nothing to it and updates the same deal; a contact the search
// index does not show yet is updated by its e-mail, filling only its empty fields.
func TestShopifyDealWonTemplateRuns(t *testing.T) {
	s := newStandIn(t)
	data, err := fs.ReadFile(templates.FS(), "shopify-hubspot-deal-won.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := flows.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	trigger := shopifyPaidOrder(t, c)
	if key := c.RunOrderingKey(trigger, "live"); key != "ada@example.com" {
		t.Fatalf("ordering key %q", key)
	}
	// An operator's choices, by wait: what Engine.Resume reads from the store in the server.
	decided := map[string]*nodes.Resume{}
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"hubspot": {Name: "HubSpot", Type: CredentialPrivateApp, Fields: map[string]string{FieldAccessToken: testToken}, Destinations: egress.MustDestinations(s.URL)},
	}), Resume: func(_ context.Context, _, waitID string) (*nodes.Resume, time.Time, error) {
		if r := decided[waitID]; r != nil {
			return r, time.Time{}, nil
		}
		return nil, time.Now().Add(time.Hour), nil
	}}
	start := func(id string) (*engine.Run, engine.Outcome) {
		run := &engine.Run{ID: "run" + id, FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: trigger,
			State: engine.NewState(c, c.Webhook.Def.ID, trigger)}
		return run, eng.Execute(context.Background(), c, run)
	}
	execute := func(id string) (*engine.Run, engine.Outcome) {
		t.Helper()
		run, out := start(id)
		if out.Status != engine.StatusSucceeded {
			t.Fatalf("run %s: %s %+v", id, out.Status, out.Error)
		}
		return run, out
	}
	writes := func(from int) []string {
		var w []string
		for _, r := range s.received()[from:] {
			if r.Method != http.MethodGet && !strings.HasSuffix(r.URL.Path, "/search") {
				w = append(w, r.Method+" "+r.URL.Path)
			}
		}
		return w
	}
	contact := func(id, email, first, phone string) {
		s.records["contacts"][id] = map[string]any{"id": id, "properties": map[string]any{"hs_object_id": id, "email": email, "firstname": first, "phone": phone},
			"createdAt": "2026-12-01T00:00:00Z", "updatedAt": "2026-12-01T00:00:00Z", "archived": false}
	}
	// ambiguous starts a run that finds two contacts and waits for a person, and ends the wait with decision
	// (nil: nobody chose in time).
	ambiguous := func(id string, decision *string) (*engine.Run, engine.Outcome) {
		t.Helper()
		run, out := start(id)
		if out.Status != engine.StatusWaiting || out.Park == nil || out.Park.NodeID != "match" || out.Park.Park.Kind != crm.ReviewKind || len(writes(0)) != 0 {
			t.Fatalf("ambiguous run %s: %s %+v, writes %v", id, out.Status, out.Park, writes(0))
		}
		request, _ := json.Marshal(out.Park.Park.Request)
		r := &nodes.Resume{WaitID: out.Park.ID, Request: request, TimedOut: decision == nil}
		if decision != nil {
			r.Decision, _ = json.Marshal(map[string]string{"candidate": *decision})
			if err := nodes.CheckDecision(crm.ReviewKind, request, r.Decision); err != nil {
				t.Fatal(err)
			}
			r.DecidedBy = "ops@example.com"
		}
		decided[out.Park.ID] = r
		out = eng.Execute(context.Background(), c, run)
		if out.Status != engine.StatusSucceeded {
			t.Fatalf("resumed run %s: %s %+v", id, out.Status, out.Error)
		}
		return run, out
	}

	// Two contacts with the customer's phone and neither with the e-mail: the run waits for a person, writing
	// nothing; nobody chooses in time, and it ends at the review step with the candidates.
	contact("11", "ada.l@example.org", "Ada", "+4930901820")
	contact("12", "", "A. Lovelace", "+4930901820")
	run, out := ambiguous("1", nil)
	if last := out.Steps[len(out.Steps)-1]; last.NodeID != "review" || len(writes(0)) != 0 || len(s.records["deals"]) != 0 {
		t.Fatalf("timed out: ended at %s, writes %v, deals %v", last.NodeID, writes(0), s.records["deals"])
	}
	if cands, _ := run.State.Vars["candidates"].([]any); run.State.Vars["review"] != "ambiguous_contact" || run.State.Vars["orderNumber"] != "#1001" || len(cands) != 2 {
		t.Fatalf("review vars %v", run.State.Vars)
	}

	// The same, and the operator picks contact 12: the deal is created and associated with it, the contact untouched.
	twelve := "12"
	from := len(s.received())
	ambiguous("2", &twelve)
	if len(s.records["deals"]) != 1 {
		t.Fatalf("deals %v", s.records["deals"])
	}
	var deal map[string]any
	for _, rec := range s.records["deals"] {
		deal = rec
	}
	dealID := deal["id"].(string)
	if got := strings.Join(writes(from), ", "); got != "POST /crm/v3/objects/deals/batch/upsert, PUT /crm/v4/objects/deals/"+dealID+"/associations/default/contacts/12" ||
		s.records["contacts"]["12"]["properties"].(map[string]any)["firstname"] != "A. Lovelace" {
		t.Fatalf("chosen: writes %s, contact %v", got, s.records["contacts"]["12"])
	}
	dp := deal["properties"].(map[string]any)
	if dp["shopify_order_id"] != "gid://shopify/Order/5829437342011" || dp["dealstage"] != "closedwon" || dp["pipeline"] != "default" ||
		dp["amount"] != "149.99" || dp["deal_currency_code"] != "EUR" || dp["dealname"] != "Shopify order #1001" || dp["closedate"] == "" {
		t.Fatalf("deal %v", dp)
	}

	// No contact: one is created with the order's e-mail and phone, and the same deal is associated with it.
	clear(s.records["contacts"])
	from = len(s.received())
	execute("3")
	var created map[string]any
	for _, rec := range s.records["contacts"] {
		created = rec
	}
	p := created["properties"].(map[string]any)
	if len(s.records["contacts"]) != 1 || p["email"] != "ada@example.com" || p["phone"] != "+4930901820" || p["firstname"] != "Ada Lovelace" {
		t.Fatalf("contacts %v", s.records["contacts"])
	}
	if len(s.records["deals"]) != 1 || deal["properties"].(map[string]any)["amount"] != "149.99" {
		t.Fatalf("deals %v", s.records["deals"])
	}
	contactID := created["id"].(string)
	wantAssoc := "deals/" + dealID + "→contacts/" + contactID
	if len(s.assoc) != 2 || s.assoc[1] != wantAssoc {
		t.Fatalf("associations %v, want %s", s.assoc, wantAssoc)
	}
	// fillEmpty reads the contact by its e-mail before the upsert; there was none, so it was created.
	var read bool
	for _, r := range s.received()[from:] {
		read = read || r.Method == http.MethodGet && r.URL.Path == "/crm/v3/objects/contacts/ada@example.com" && r.URL.Query().Get("idProperty") == "email"
	}
	if !read || strings.Join(writes(from), ", ") != "POST /crm/v3/objects/contacts/batch/upsert, POST /crm/v3/objects/deals/batch/upsert, PUT /crm/v4/objects/deals/"+dealID+"/associations/default/contacts/"+contactID {
		t.Fatalf("read %v, writes %v", read, writes(from))
	}

	// The same order again: the contact is found and left alone, the same deal is updated.
	p["firstname"] = "Ada (edited by sales)"
	from = len(s.received())
	execute("4")
	if got := strings.Join(writes(from), ", "); got != "POST /crm/v3/objects/deals/batch/upsert, PUT /crm/v4/objects/deals/"+dealID+"/associations/default/contacts/"+contactID {
		t.Fatalf("found: writes %s", got)
	}
	if len(s.records["deals"]) != 1 || len(s.records["contacts"]) != 1 || p["firstname"] != "Ada (edited by sales)" {
		t.Fatalf("found: deals %v, contacts %v", s.records["deals"], s.records["contacts"])
	}

	// A contact the search does not show yet: the upsert finds it by e-mail and fills only its empty phone.
	clear(s.records["contacts"])
	contact("31", "ada@example.com", "Countess of Lovelace", "")
	s.unindexed = map[string]bool{"31": true}
	execute("5")
	p = s.records["contacts"]["31"]["properties"].(map[string]any)
	if len(s.records["contacts"]) != 1 || p["firstname"] != "Countess of Lovelace" || p["phone"] != "+4930901820" {
		t.Fatalf("lagging index: contacts %v", s.records["contacts"])
	}
	if last := s.assoc[len(s.assoc)-1]; last != "deals/"+dealID+"→contacts/31" {
		t.Fatalf("associations %v", s.assoc)
	}
}
