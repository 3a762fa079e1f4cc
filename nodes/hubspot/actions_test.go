package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// TestRecordActions: create, get (by id and by a unique property), update, upsert one record and a batch, each
// request validated against HubSpot's descriptions by the stand-in.
func TestRecordActions(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	in := map[string]any{"email": "Wang.Fang@Example.com", "name": "Wang Fang", "total": 128.5}
	res, err := build(t, "hubspot.contact.create", map[string]any{
		"properties": `{{ {"email": lower(trigger.email), "firstname": trigger.name, "lifecyclestage": "customer"} }}`,
		"owner":      "41"}).Execute(ctx, s.exec(in, testToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	contact := res.Output.(map[string]any)
	id := contact["id"].(string)
	b := s.lastBody()
	if fmt.Sprint(b["properties"]) != "map[email:wang.fang@example.com firstname:Wang Fang hubspot_owner_id:41 lifecyclestage:customer]" || b["associations"] == nil {
		t.Fatalf("create sent %v", b)
	}
	r := s.received()[0]
	if r.Method != "POST" || r.URL.Path != "/crm/v3/objects/contacts" || r.Header.Get("Accept") != "application/json" {
		t.Fatalf("create sent %s %s", r.Method, r.URL)
	}

	res, err = build(t, "hubspot.contact.get", map[string]any{"id": "wang.fang@example.com", "idProperty": "email", "properties": "email,firstname"}).
		Execute(ctx, s.exec(nil, testToken, nil))
	if err != nil || res.Output.(map[string]any)["id"] != id {
		t.Fatalf("get by e-mail: %v %v", res.Output, err)
	}
	if q := s.received()[1].URL.Query(); q.Get("idProperty") != "email" || fmt.Sprint(q["properties"]) != "[email firstname]" || len(q) != 2 {
		t.Fatalf("get asked %v", q)
	}
	_, err = build(t, "hubspot.contact.get", map[string]any{"id": "999999"}).Execute(ctx, s.exec(nil, testToken, nil))
	e := failure(t, err, "hubspot_not_found", nodes.Permanent)
	if !strings.Contains(e.Error(), "OBJECT_NOT_FOUND: Object not found.") {
		t.Fatalf("HubSpot's category and message are not quoted: %v", e)
	}

	// A deal with its pipeline and stage from the loaded choices, numbers written as text.
	res, err = build(t, "hubspot.deal.create", map[string]any{"properties": `{{ {"dealname": "Order 1001", "amount": trigger.total} }}`,
		"pipeline": "default", "stage": "closedwon"}).Execute(ctx, s.exec(in, testToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	deal := res.Output.(map[string]any)["id"].(string)
	if fmt.Sprint(s.lastBody()["properties"]) != "map[amount:128.5 dealname:Order 1001 dealstage:closedwon pipeline:default]" {
		t.Fatalf("deal create sent %v", s.lastBody())
	}
	res, err = build(t, "hubspot.deal.update", map[string]any{"id": deal, "properties": map[string]any{"amount": 130}}).Execute(ctx, s.exec(nil, testToken, nil))
	if err != nil || res.Output.(map[string]any)["properties"].(map[string]any)["amount"] != "130" {
		t.Fatalf("update: %v %v", res.Output, err)
	}
	_, err = build(t, "hubspot.deal.update", map[string]any{"id": deal, "properties": map[string]any{"amount": "lots"}}).Execute(ctx, s.exec(nil, testToken, nil))
	failure(t, err, CodeValidation, nodes.Permanent)
	_, err = build(t, "hubspot.deal.update", map[string]any{"id": deal, "properties": map[string]any{"amount": map[string]any{"value": 1}}}).Execute(ctx, s.exec(nil, testToken, nil))
	failure(t, err, "hubspot_request_invalid", nodes.Permanent)

	// Upsert one record: the existing contact is updated, a new address creates one.
	upsert := build(t, "hubspot.contact.upsert", map[string]any{"value": "{{ lower(trigger.email) }}", "properties": map[string]any{"phone": "+8613800138000"}})
	res, err = upsert.Execute(ctx, s.exec(in, testToken, nil))
	if err != nil || res.Output.(map[string]any)["id"] != id || res.Output.(map[string]any)["new"] != false {
		t.Fatalf("upsert existing: %v %v", res.Output, err)
	}
	if r := s.received()[len(s.received())-1]; r.URL.Path != "/crm/v3/objects/contacts/batch/upsert" {
		t.Fatalf("upsert went to %s", r.URL.Path)
	}
	if got := fmt.Sprint(s.lastBody()["inputs"]); got != "[map[id:wang.fang@example.com idProperty:email properties:map[email:wang.fang@example.com phone:+8613800138000]]]" {
		t.Fatalf("upsert sent %s", got)
	}
	res, err = upsert.Execute(ctx, s.exec(map[string]any{"email": "li.na@example.com"}, testToken, nil))
	if err != nil || res.Output.(map[string]any)["new"] != true || res.Output.(map[string]any)["id"] == id {
		t.Fatalf("upsert new: %v %v", res.Output, err)
	}

	// A batch: three records by e-mail in one request; more than 100, or one value twice, never leaves.
	var records []any
	for i := range 3 {
		records = append(records, map[string]any{"id": fmt.Sprintf("c%d@example.com", i), "properties": map[string]any{"firstname": fmt.Sprintf("C%d", i)}})
	}
	res, err = build(t, "hubspot.contacts.upsert", map[string]any{"records": records}).Execute(ctx, s.exec(nil, testToken, nil))
	if err != nil || len(res.Output.(map[string]any)["results"].([]any)) != 3 || len(s.lastBody()["inputs"].([]any)) != 3 {
		t.Fatalf("batch: %v %v", res.Output, err)
	}
	sent := len(s.received())
	var big []any
	for i := range BatchSize + 1 {
		big = append(big, map[string]any{"id": fmt.Sprintf("b%d@example.com", i)})
	}
	_, err = build(t, "hubspot.contacts.upsert", map[string]any{"records": big}).Execute(ctx, s.exec(nil, testToken, nil))
	failure(t, err, "hubspot_request_invalid", nodes.Permanent)
	_, err = build(t, "hubspot.contacts.upsert", map[string]any{"records": []any{map[string]any{"id": "a@example.com"}, map[string]any{"properties": map[string]any{"email": "a@example.com"}}}}).
		Execute(ctx, s.exec(nil, testToken, nil))
	e = failure(t, err, "hubspot_request_invalid", nodes.Permanent)
	if !strings.Contains(e.Error(), `repeats email "a@example.com"`) {
		t.Fatalf("duplicate: %v", e)
	}
	if len(s.received()) != sent {
		t.Fatal("a refused batch was sent")
	}
}

// TestDryRunShowsShapedBody: a test run shows the batch upsert's body as HubSpot gets it, and sends nothing.
func TestDryRunShowsShapedBody(t *testing.T) {
	s := newStandIn(t)
	n := build(t, "hubspot.company.upsert", map[string]any{"value": "example.com", "properties": map[string]any{"name": "Example"}})
	x := s.exec(nil, testToken, nil)
	x.Mode = nodes.ModeTest
	res, err := n.(nodes.DryRunner).DryRun(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	req := res.Output.(map[string]any)["request"].(map[string]any)
	if !strings.Contains(fmt.Sprint(req["body"]), "idProperty:domain") || len(s.received()) != 0 {
		t.Fatalf("dry run showed %v", req)
	}
}

// TestSearchPages: the cursor and the page size travel in the body; every page validates.
func TestSearchPages(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := build(t, "hubspot.contact.create", map[string]any{"properties": map[string]any{"email": fmt.Sprintf("p%d@example.com", i), "lifecyclestage": "lead"}}).
			Execute(ctx, s.exec(nil, testToken, nil)); err != nil {
			t.Fatal(err)
		}
	}
	base := len(s.received())
	res, err := build(t, "hubspot.contacts.search", map[string]any{
		"filterGroups": []any{map[string]any{"filters": []any{map[string]any{"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}}}},
		"properties":   "email", "pages": "all", "pageSize": 2}).Execute(ctx, s.exec(nil, testToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if out["count"] != int64(5) || out["pages"] != int64(3) || out["complete"] != true {
		t.Fatalf("search: %v", out)
	}
	s.mu.Lock()
	first, second := s.bodies[base], s.bodies[base+1]
	s.mu.Unlock()
	if first["after"] != "0" || first["limit"] != float64(2) || second["after"] != "102" || fmt.Sprint(second["properties"]) != "[email]" {
		t.Fatalf("pages asked %v then %v", first, second)
	}
	// One page, continued from where it stopped.
	res, err = build(t, "hubspot.contacts.search", map[string]any{"query": "example", "pageSize": 2}).Execute(ctx, s.exec(nil, testToken, nil))
	if err != nil || res.Output.(map[string]any)["next"] != "102" {
		t.Fatalf("one page: %v %v", res.Output, err)
	}
	res, err = build(t, "hubspot.contacts.search", map[string]any{"query": "example", "pageSize": 2, "start": "104"}).Execute(ctx, s.exec(nil, testToken, nil))
	if err != nil || res.Output.(map[string]any)["count"] != int64(1) {
		t.Fatalf("continued: %v %v", res.Output, err)
	}
}

func TestAssociate(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	c, err := build(t, "hubspot.contact.create", map[string]any{"properties": map[string]any{"email": "a@example.com"}}).Execute(ctx, s.exec(nil, testToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	d, err := build(t, "hubspot.deal.create", map[string]any{"properties": map[string]any{"dealname": "D"}}).Execute(ctx, s.exec(nil, testToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]any{"deal": d.Output.(map[string]any)["id"], "contact": c.Output.(map[string]any)["id"]}
	n := build(t, "hubspot.associate", map[string]any{"fromId": "{{ trigger.deal }}", "toId": "{{ trigger.contact }}"})
	for range 2 { // twice: associating again changes nothing
		if _, err := n.Execute(ctx, s.exec(in, testToken, nil)); err != nil {
			t.Fatal(err)
		}
	}
	r := s.received()[len(s.received())-1]
	if r.Method != http.MethodPut || r.URL.Path != fmt.Sprintf("/crm/v4/objects/deals/%v/associations/default/contacts/%v", in["deal"], in["contact"]) {
		t.Fatalf("associate sent %s %s", r.Method, r.URL)
	}
	_, err = build(t, "hubspot.associate", map[string]any{"fromId": "1", "toType": "companies", "toId": "2"}).Execute(ctx, s.exec(nil, testToken, nil))
	failure(t, err, "hubspot_not_found", nodes.Permanent)
}

// TestLoadedOptions: pipelines, the stages of the chosen pipeline and owners load from the account; the stages
// ask for a pipeline first, and each pipeline's stages are cached apart.
func TestLoadedOptions(t *testing.T) {
	s := newStandIn(t)
	cred := &nodes.ResolvedCredential{Name: "HubSpot", Type: CredentialPrivateApp, Fields: map[string]string{FieldAccessToken: testToken}}
	client := s.exec(nil, testToken, nil).HTTP
	load := func(field string, params map[string]string, fresh bool) ([]nodes.Option, error) {
		return connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: "hubspot.deal.upsert", Field: field,
			CredentialID: "cred-" + s.URL, Credential: cred, Client: client, Params: params, Fresh: fresh})
	}
	for _, c := range []struct {
		field  string
		params map[string]string
		want   string
	}{
		{"pipeline", nil, "[{default Sales Pipeline} {771 Renewals}]"},
		{"stage", map[string]string{"pipeline": "default"}, "[{appointmentscheduled Appointment scheduled} {closedwon Closed won}]"},
		{"owner", nil, "[{41 li.lei@example.com} {42 han.mei@example.com}]"},
		{"stage", map[string]string{"pipeline": "771"}, "[{1022 Renewal due}]"},
		{"stage", map[string]string{"pipeline": "new deals?"}, "[{1099 Qualified}]"},
	} {
		opts, err := load(c.field, c.params, true)
		if err != nil {
			t.Fatalf("%s %v: %v", c.field, c.params, err)
		}
		var got []string
		for _, o := range opts {
			got = append(got, "{"+o.Value+" "+o.Label+"}")
		}
		if "["+strings.Join(got, " ")+"]" != c.want {
			t.Fatalf("%s %v loaded %v", c.field, c.params, got)
		}
	}
	reqs := s.received()
	if q := reqs[2].URL.Query(); q.Get("limit") != "500" || q.Get("archived") != "false" {
		t.Fatalf("owners asked %v", q)
	}
	if p := reqs[1].URL.EscapedPath(); p != "/crm/v3/pipelines/deals/default/stages" {
		t.Fatalf("stages asked at %s", p)
	}
	if p := reqs[4].URL.EscapedPath(); p != "/crm/v3/pipelines/deals/new%20deals%3F/stages" {
		t.Fatalf("a pipeline id is escaped into the path: %s", p)
	}
	// Cached by pipeline: the default pipeline's stages again are not asked again, and are not another's.
	opts, err := load("stage", map[string]string{"pipeline": "default"}, false)
	if err != nil || len(opts) != 2 || len(s.received()) != len(reqs) {
		t.Fatalf("cached stages %v %v after %d requests", opts, err, len(s.received()))
	}
	var de *connector.DependencyError
	for _, params := range []map[string]string{nil, {"pipeline": "  "}} {
		if _, err := load("stage", params, false); !errors.As(err, &de) || de.Code != connector.CodeDependencyMissing || de.Field != "pipeline" ||
			err.Error() != "choose Pipeline first: the choices depend on it" {
			t.Fatalf("stages without a pipeline %v: %v", params, err)
		}
	}
	for _, params := range []map[string]string{{"pipeline": "{{ trigger.body.pipeline }}"}, {"pipeline": ".."}, {"pipeline": "default", "owner": "41"}} {
		if _, err := load("stage", params, false); !errors.As(err, &de) || de.Code != connector.CodeDependencyInvalid {
			t.Fatalf("stages with %v: %v", params, err)
		}
	}
	if _, err := load("stage", map[string]string{"pipeline": "999"}, false); nodes.Classify(err).Code != "hubspot_not_found" {
		t.Fatalf("an unknown pipeline: %v", err)
	}
}

// TestErrorsAndLimits: HubSpot's error categories and its rate limits.
func TestErrorsAndLimits(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	get := build(t, "hubspot.company.get", map[string]any{"id": "1"})
	_, err := get.Execute(ctx, s.exec(nil, "pat-wrong", nil))
	e := failure(t, err, "hubspot_unauthorized", nodes.Permanent)
	if !strings.Contains(e.Error(), "INVALID_AUTHENTICATION") || strings.Contains(fmt.Sprint(e.Details), testToken) {
		t.Fatalf("unauthorized: %v", e)
	}
	s.scopes = true
	_, err = get.Execute(ctx, s.exec(nil, testToken, nil))
	failure(t, err, CodeMissingScopes, nodes.Permanent)
	s.scopes = false

	s.tooMany = "TEN_SECONDLY_ROLLING"
	_, err = get.Execute(ctx, s.exec(nil, testToken, nil))
	e = failure(t, err, CodeRateLimited, nodes.RetryAfter)
	if e.After != 10*time.Second || !e.RateLimited || !strings.Contains(e.Error(), "correlationId") {
		t.Fatalf("ten-secondly 429: after %v rate-limited %v: %v", e.After, e.RateLimited, e)
	}
	s.tooMany = "DAILY"
	_, err = get.Execute(ctx, s.exec(nil, testToken, nil))
	if e = failure(t, err, CodeRateLimited, nodes.RetryAfter); e.After != time.Hour {
		t.Fatalf("daily 429 waits %v", e.After)
	}
	s.tooMany = ""

	// The headers drive the credential's bucket: calls left in the window report nothing to wait, the last one
	// holds the credential for the window, a spent day for an hour.
	c, err := build(t, "hubspot.company.create", map[string]any{"properties": map[string]any{"name": "A"}}).Execute(ctx, s.exec(nil, testToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	s.remaining = 1
	get = build(t, "hubspot.company.get", map[string]any{"id": c.Output.(map[string]any)["id"]})
	if _, err := get.Execute(ctx, s.exec(nil, testToken, &waits)); err != nil {
		t.Fatal(err)
	}
	s.daily = 0
	if _, err := get.Execute(ctx, s.exec(nil, testToken, &waits)); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(waits) != "[10s 1h0m0s]" {
		t.Fatalf("quota reported %v", waits)
	}
}

// TestLookupByProperty: the read half of an upsert under a conflict policy.
func TestLookupByProperty(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	if _, err := build(t, "hubspot.contact.create", map[string]any{"properties": map[string]any{"email": "a@example.com", "phone": "1"}}).
		Execute(ctx, s.exec(nil, testToken, nil)); err != nil {
		t.Fatal(err)
	}
	get := Getter(s.exec(nil, testToken, nil))
	rec, err := LookupByProperty(ctx, get, "contacts", "email", "a@example.com", []string{"phone"})
	if err != nil || rec == nil || rec.Properties["phone"] != "1" || rec.Modified.IsZero() {
		t.Fatalf("lookup: %+v %v", rec, err)
	}
	if q := s.received()[1].URL.Query(); q.Get("properties") != "phone,lastmodifieddate" || q.Get("idProperty") != "email" {
		t.Fatalf("lookup asked %v", q)
	}
	rec, err = LookupByProperty(ctx, get, "contacts", "email", "none@example.com", nil)
	if err != nil || rec != nil {
		t.Fatalf("missing record: %+v %v", rec, err)
	}
	_, err = LookupByProperty(ctx, Getter(s.exec(nil, "pat-wrong", nil)), "contacts", "email", "a@example.com", nil)
	failure(t, err, "hubspot_unauthorized", nodes.Permanent)
}

func TestConnectionTest(t *testing.T) {
	s := newStandIn(t)
	ct, _ := nodes.LookupCredentialType(CredentialPrivateApp)
	client := s.exec(nil, testToken, nil).HTTP
	msg, err := ct.Test(context.Background(), map[string]string{FieldAccessToken: testToken}, client)
	if err != nil || !strings.Contains(msg, "62515") || s.received()[0].URL.Path != "/account-info/v3/details" {
		t.Fatalf("test: %q %v", msg, err)
	}
	if _, err := ct.Test(context.Background(), map[string]string{FieldAccessToken: "pat-wrong"}, client); err == nil {
		t.Fatal("a wrong token passed")
	}
	oauth, _ := nodes.LookupCredentialType(CredentialOAuth2)
	if oauth.OAuth2 == nil || oauth.OAuth2.AuthURL != OAuthAuthorizeURL || oauth.OAuth2.TokenURL != OAuthTokenURL {
		t.Fatalf("OAuth2 endpoints %+v", oauth.OAuth2)
	}
	if _, err := oauth.Test(context.Background(), map[string]string{nodes.CredentialAccessToken: testToken}, client); err != nil {
		t.Fatalf("OAuth2 access token: %v", err)
	}
}
