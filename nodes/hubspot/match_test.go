package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/crm"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// contact stores a contact in the stand-in as HubSpot keeps it.
func (s *standIn) contact(id string, p map[string]any) {
	p["hs_object_id"] = id
	s.records["contacts"][id] = map[string]any{"id": id, "properties": p, "createdAt": "2026-12-01T00:00:00Z",
		"updatedAt": "2026-12-01T00:00:00Z", "archived": false}
}

func twins(s *standIn) {
	s.contact("301", map[string]any{"firstname": "Fang", "lastname": "Wang", "email": "wang.fang@example.com", "phone": "+8613800138000"})
	s.contact("302", map[string]any{"firstname": "Fang", "lastname": "Wang", "email": "fang.w@example.com", "phone": "+8613800138000"})
	s.contact("303", map[string]any{"firstname": "Na", "lastname": "Li", "email": "li.na@example.com", "phone": "+8613900139000", "shop_customer_id": "C-1001"})
}

var matchKeys = []map[string]any{
	{"kind": "externalId", "field": "shop_customer_id", "value": "{{ trigger.body.customer.id }}"},
	{"kind": "phone", "field": "phone", "value": "{{ trigger.body.customer.phone }}"},
	{"kind": "email", "field": "email", "value": "{{ trigger.body.customer.email }}"},
}

func customer(id, phone, email string) map[string]any {
	return map[string]any{"body": map[string]any{"customer": map[string]any{"id": id, "phone": phone, "email": email, "name": "Wang Fang"}}}
}

// TestMatch: hubspot.match searches contacts one key at a time with one EQ filter, each request validated against
// HubSpot's description: a unique external id is found, a phone two contacts share is ambiguous with both listed,
// an unknown customer is none; only searches are sent.
func TestMatch(t *testing.T) {
	s := newStandIn(t)
	twins(s)
	ctx := context.Background()
	n := build(t, MatchType, map[string]any{"keys": matchKeys, "properties": "lifecyclestage"})

	res, err := n.Execute(ctx, s.exec(customer("C-1001", "138 0013 8000", ""), testToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if res.Port != "found" || out["id"] != "303" || out["label"] != "Na Li" || out["record"].(map[string]any)["id"] != "303" {
		t.Fatalf("found: %s %v", res.Port, out)
	}
	// Found by its external id, the contact holds another phone than the customer gave: reported for review.
	if got := fmt.Sprint(out["conflicts"]); got != "[map[field:phone kind:phone value:+8613900139000]]" {
		t.Fatalf("conflicts %s", got)
	}
	b := s.lastBody()
	if got := fmt.Sprint(b["filterGroups"]); got != "[map[filters:[map[operator:EQ propertyName:shop_customer_id value:C-1001]]]]" {
		t.Fatalf("filter %s", got)
	}
	if got := fmt.Sprint(b["properties"]); got != "[shop_customer_id phone email firstname lastname lastmodifieddate lifecyclestage]" || b["limit"] != float64(crm.DefaultCandidates+1) {
		t.Fatalf("search body %v", b)
	}

	sent := len(s.received())
	res, err = n.Execute(ctx, s.exec(customer("", "+86 138-0013-8000", "wang.fang@example.com"), testToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Port != "ambiguous" {
		t.Fatalf("port %s, want ambiguous", res.Port)
	}
	r, err := crm.ParseResult(res.Output)
	if err != nil || len(r.Candidates) != 2 || r.Candidates[0].ID != "301" || r.Candidates[1].ID != "302" || r.Candidates[0].Label != "Fang Wang" {
		t.Fatalf("candidates %+v %v", r, err)
	}
	if fmt.Sprint(r.Candidates[0].Matched) != "[{phone phone +8613800138000} {email email wang.fang@example.com}]" ||
		fmt.Sprint(r.Candidates[1].Matched) != "[{phone phone +8613800138000}]" {
		t.Fatalf("matched %v / %v", r.Candidates[0].Matched, r.Candidates[1].Matched)
	}
	// The external id was empty, so one search (the phone's), and the e-mail was never tried.
	if got := len(s.received()) - sent; got != 1 || !strings.Contains(fmt.Sprint(s.lastBody()["filterGroups"]), "+8613800138000") {
		t.Fatalf("%d searches; last %v", got, s.lastBody())
	}

	res, err = n.Execute(ctx, s.exec(customer("C-2002", "13700137000", "new@example.com"), testToken, nil))
	if err != nil || res.Port != "none" || len(res.Output.(map[string]any)["tried"].([]any)) != 3 {
		t.Fatalf("none: %s %v %v", res.Port, res.Output, err)
	}
	for _, r := range s.received() {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/crm/v3/objects/contacts/search") {
			t.Fatalf("a match sent %s %s", r.Method, r.URL.Path)
		}
	}

	// The provider's refusals keep their classification.
	s.tooMany = "TEN_SECONDLY_ROLLING"
	_, err = n.Execute(ctx, s.exec(customer("C-1001", "", ""), testToken, nil))
	if e := failure(t, err, CodeRateLimited, nodes.RetryAfter); !e.RateLimited {
		t.Fatalf("not reported as a rate limit: %+v", e)
	}
	s.tooMany, s.scopes = "", true
	_, err = n.Execute(ctx, s.exec(customer("C-1001", "", ""), testToken, nil))
	failure(t, err, CodeMissingScopes, nodes.Permanent)
}

// TestMatchRefusesNameKeys: a match keyed by a name field does not save, with crm_match_name_key at the key; nor
// does a key on what cannot be a property's name.
func TestMatchRefusesNameKeys(t *testing.T) {
	reg, _ := nodes.Lookup(MatchType, 1)
	for field, code := range map[string]string{"firstname": crm.CodeNameKey, "lastname": crm.CodeNameKey, "name": crm.CodeNameKey,
		"dealname": crm.CodeNameKey, "e-mail address": crm.CodeKeyInvalid} {
		keys, _ := json.Marshal([]map[string]any{{"kind": "property", "field": field, "value": "{{ trigger.body.customer.name }}"}})
		_, err := reg.New(nodes.NewConfig(&reg.Spec, "m", map[string]json.RawMessage{"keys": keys}, "cred-1"))
		var ce *nodes.ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Code != code || ce.Problems[0].Field != "keys[0].field" {
			t.Errorf("a key on %s: %v", field, err)
		}
	}
}

// matchFlow: a customer is matched among contacts; found updates the contact, none creates it, ambiguous is set
// aside for review without writing. Runs of one customer are ordered by the same key the match normalises.
const matchFlow = `{"schema": 1, "name": "Customer to HubSpot",
 "settings": {"orderingKey": "lower(trim(trigger.body.customer.email))"},
 "nodes": [
  {"id": "start", "type": "core.manual", "version": 1},
  {"id": "match", "type": "hubspot.match", "version": 1, "credential": "hubspot", "params": {"keys": %s}},
  {"id": "update", "type": "hubspot.contact.update", "version": 1, "credential": "hubspot",
   "params": {"id": "{{ prev.id }}", "properties": {"lifecyclestage": "customer"}}},
  {"id": "create", "type": "hubspot.contact.upsert", "version": 1, "credential": "hubspot",
   "params": {"value": "{{ lower(trigger.body.customer.email) }}", "properties": {"phone": "{{ trigger.body.customer.phone }}"}}},
  {"id": "review", "type": "core.set-vars", "version": 1,
   "params": {"vars": [{"name": "candidates", "expression": "map(prev.candidates, #.id)"}]}}
 ],
 "edges": [
  {"source": "start", "sourcePort": "main", "target": "match", "targetPort": "main"},
  {"source": "match", "sourcePort": "found", "target": "update", "targetPort": "main"},
  {"source": "match", "sourcePort": "none", "target": "create", "targetPort": "main"},
  {"source": "match", "sourcePort": "ambiguous", "target": "review", "targetPort": "main"}
 ]}`

// TestMatchFlowAmbiguousNeverWrites runs trigger → hubspot.match → (found: update, none: create, ambiguous:
// review) on the engine: a customer whose phone two contacts share follows ambiguous and the stand-in receives
// no write at all; a customer found by a unique key is updated, an unknown one created, so the flow does write
// when the match decides. The ordering key is the customer's e-mail normalised as the match normalises it, so two
// updates of one customer written differently queue behind each other.
func TestMatchFlowAmbiguousNeverWrites(t *testing.T) {
	s := newStandIn(t)
	twins(s)
	keys, _ := json.Marshal(matchKeys)
	f, err := flows.Parse([]byte(fmt.Sprintf(matchFlow, keys)))
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
	run := func(id string, trigger map[string]any) (engine.Outcome, map[string]string) {
		t.Helper()
		r := &engine.Run{ID: "run" + id, FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: trigger,
			State: engine.NewState(c, "start", trigger)}
		out := eng.Execute(context.Background(), c, r)
		if out.Status != engine.StatusSucceeded {
			t.Fatalf("run %s: %s %+v", id, out.Status, out.Error)
		}
		ports := map[string]string{}
		for _, st := range out.Steps {
			ports[st.NodeID] = st.Port
		}
		return out, ports
	}
	writes := func() []string {
		var w []string
		for _, r := range s.received() {
			if !strings.HasSuffix(r.URL.Path, "/search") {
				w = append(w, r.Method+" "+r.URL.Path)
			}
		}
		return w
	}

	// Two candidates: the ambiguous port, the review step, and not one write request.
	out, ports := run("1", customer("", "13800138000", "wang.fang@example.com"))
	if ports["match"] != "ambiguous" || ports["review"] == "" {
		t.Fatalf("steps %v", ports)
	}
	if _, ok := ports["update"]; ok {
		t.Fatal("the update ran on an ambiguous match")
	}
	if _, ok := ports["create"]; ok {
		t.Fatal("the create ran on an ambiguous match")
	}
	if w := writes(); len(w) != 0 {
		t.Fatalf("an ambiguous match wrote: %v", w)
	}
	if review := out.Steps[len(out.Steps)-1]; review.NodeID != "review" || fmt.Sprint(review.Input.(map[string]any)["candidates"].([]any)[1].(map[string]any)["id"]) != "302" {
		t.Fatalf("review step %+v", review)
	}
	for _, id := range []string{"301", "302"} {
		if p := s.records["contacts"][id]["properties"].(map[string]any); p["lifecyclestage"] != nil {
			t.Fatalf("contact %s was changed: %v", id, p)
		}
	}

	// One candidate: the contact found by its external id is updated.
	_, ports = run("2", customer("C-1001", "13800138000", "li.na@example.com"))
	if ports["match"] != "found" || fmt.Sprint(writes()) != "[PATCH /crm/v3/objects/contacts/303]" ||
		s.records["contacts"]["303"]["properties"].(map[string]any)["lifecyclestage"] != "customer" {
		t.Fatalf("found: steps %v, writes %v", ports, writes())
	}
	// No candidate: created.
	_, ports = run("3", customer("", "13700137000", "New.Customer@Example.com"))
	if ports["match"] != "none" || len(writes()) != 2 || writes()[1] != "POST /crm/v3/objects/contacts/batch/upsert" {
		t.Fatalf("none: steps %v, writes %v", ports, writes())
	}

	// Two updates of one customer, its e-mail written two ways, carry one ordering key; another customer another.
	a := c.RunOrderingKey(customer("", "", " Wang.Fang@Example.com"), "live")
	b := c.RunOrderingKey(customer("", "", "wang.fang@example.com"), "live")
	if a == "" || a != b || a == c.RunOrderingKey(customer("", "", "li.na@example.com"), "live") {
		t.Fatalf("ordering keys %q %q", a, b)
	}
}
