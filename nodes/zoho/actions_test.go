package zoho

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// TestUpsertThenGet: the first upsert creates the contact, the second (same e-mail) updates it; the record reads
// back by id, and an id Zoho does not have (204) is zoho_not_found.
func TestUpsertThenGet(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	input := map[string]any{"email": "ada@example.com", "name": "Lovelace"}
	n := build(t, "zoho.crm.record.upsert", map[string]any{"module": "Contacts",
		"record":               `{{ {"Last_Name": trigger.name, "Email": trigger.email} }}`,
		"duplicateCheckFields": "Email", "trigger": "workflow"})
	res, err := n.Execute(ctx, s.exec(input))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if out["action"] != "insert" || out["code"] != "SUCCESS" {
		t.Fatalf("first upsert: %v", out)
	}
	id := fmt.Sprint(out["details"].(map[string]any)["id"])
	r := s.received()[0]
	if r.Method != "POST" || r.URL.Path != "/crm/v8/Contacts/upsert" || r.Header.Get("Authorization") != "Zoho-oauthtoken "+testToken {
		t.Fatalf("sent %s %s %q", r.Method, r.URL, r.Header.Get("Authorization"))
	}
	if b := s.lastBody(); fmt.Sprint(b) != "map[data:[map[Email:ada@example.com Last_Name:Lovelace]] duplicate_check_fields:[Email] trigger:[workflow]]" {
		t.Fatalf("sent body %v", b)
	}
	input["name"] = "King"
	res, err = n.Execute(ctx, s.exec(input))
	if out := res.Output.(map[string]any); err != nil || out["action"] != "update" || fmt.Sprint(out["details"].(map[string]any)["id"]) != id {
		t.Fatalf("second upsert: %v %v", res.Output, err)
	}
	res, err = build(t, "zoho.crm.record.get", map[string]any{"module": "Contacts", "id": "{{ prev.details.id }}"}).Execute(ctx, s.exec(out))
	if err != nil || res.Output.(map[string]any)["Last_Name"] != "King" {
		t.Fatalf("get: %v %v", res.Output, err)
	}
	_, err = build(t, "zoho.crm.record.get", map[string]any{"module": "Contacts", "id": "4150868000000000001"}).Execute(ctx, s.exec(nil))
	failure(t, err, "zoho_not_found", nodes.Permanent)
	_, err = build(t, "zoho.crm.record.get", map[string]any{"module": "Contacts", "id": "{{ 'abc' }}"}).Execute(ctx, s.exec(nil))
	failure(t, err, "zoho_request_invalid", nodes.Permanent)
	_, err = build(t, "zoho.crm.record.get", map[string]any{"module": "{{ '../settings' }}", "id": "1"}).Execute(ctx, s.exec(nil))
	failure(t, err, "zoho_request_invalid", nodes.Permanent)
}

// TestRecordErrors: a record Zoho refuses inside its answer fails with the record's code, permanently, with Zoho's
// message and details verbatim, whatever the status (202 for two matches, 400 for a missing mandatory field).
func TestRecordErrors(t *testing.T) {
	s := newStandIn(t)
	s.add("Contacts", map[string]any{"Last_Name": "A", "Email": "twin@example.com"}, map[string]any{"Last_Name": "B", "Email": "twin@example.com"})
	ctx := context.Background()
	_, err := build(t, "zoho.crm.record.upsert", map[string]any{"module": "Contacts", "record": map[string]any{"Last_Name": "C", "Email": "twin@example.com"},
		"duplicateCheckFields": "Email"}).Execute(ctx, s.exec(nil))
	e := failure(t, err, "zoho_duplicate_data", nodes.Permanent)
	if !strings.Contains(e.Error(), `DUPLICATE_DATA: duplicate data (details: {"api_name":"Email","more_records":true})`) {
		t.Fatalf("Zoho's message is not quoted: %v", e)
	}
	if d, _ := e.Details.(map[string]any); d["status"] != 202 {
		t.Fatalf("details %v", e.Details)
	}
	_, err = build(t, "zoho.crm.record.upsert", map[string]any{"module": "Contacts", "record": map[string]any{"Email": "new@example.com"}}).Execute(ctx, s.exec(nil))
	e = failure(t, err, "zoho_mandatory_not_found", nodes.Permanent)
	if !strings.Contains(e.Error(), "MANDATORY_NOT_FOUND: required field not found") {
		t.Fatalf("Zoho's message is not quoted: %v", e)
	}
	_, err = build(t, "zoho.crm.record.upsert", map[string]any{"module": "Contacts", "record": "{{ 'not an object' }}"}).Execute(ctx, s.exec(nil))
	failure(t, err, "zoho_request_invalid", nodes.Permanent)
}

// TestSearchPages: search follows numbered pages and stops when info.more_records is false, even after a full
// page; no match (204) is an empty, complete list.
func TestSearchPages(t *testing.T) {
	s := newStandIn(t)
	for i := range 4 {
		s.add("Leads", map[string]any{"Last_Name": fmt.Sprint("L", i), "Lead_Source": "Web"})
	}
	s.add("Leads", map[string]any{"Last_Name": "X", "Lead_Source": "Fair"})
	ctx := context.Background()
	res, err := build(t, "zoho.crm.records.search", map[string]any{"module": "Leads", "criteria": "(Lead_Source:equals:{{ trigger.source }})",
		"pages": "all", "pageSize": 2}).Execute(ctx, s.exec(map[string]any{"source": "Web"}))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if out["count"] != int64(4) || out["pages"] != int64(2) || out["complete"] != true || len(s.received()) != 2 {
		t.Fatalf("listed %v in %d requests", out, len(s.received()))
	}
	if q := s.received()[1].URL.Query(); q.Get("page") != "2" || q.Get("per_page") != "2" || q.Get("criteria") != "(Lead_Source:equals:Web)" {
		t.Fatalf("second page asked %v", q)
	}
	res, err = build(t, "zoho.crm.records.search", map[string]any{"module": "Leads", "email": "nobody@example.com"}).Execute(ctx, s.exec(nil))
	if out := res.Output.(map[string]any); err != nil || out["count"] != int64(0) || out["complete"] != true {
		t.Fatalf("no match: %v %v", res.Output, err)
	}
}

// TestCOQLPages: the node ends the query with limit offset, size for each page and stops on more_records; a
// query that pages itself is refused before anything is sent; Zoho's syntax error is quoted.
func TestCOQLPages(t *testing.T) {
	s := newStandIn(t)
	for i := range 5 {
		s.add("Deals", map[string]any{"Deal_Name": fmt.Sprint("D", i), "Stage": "Closed Won"})
	}
	ctx := context.Background()
	res, err := build(t, "zoho.crm.coql", map[string]any{"query": "select Deal_Name from Deals where Stage = '{{ trigger.stage }}'",
		"pages": "all", "pageSize": 2}).Execute(ctx, s.exec(map[string]any{"stage": "Closed Won"}))
	if err != nil {
		t.Fatal(err)
	}
	if out := res.Output.(map[string]any); out["count"] != int64(5) || out["pages"] != int64(3) || out["complete"] != true {
		t.Fatalf("listed %v", out)
	}
	want := "select Deal_Name from Deals where Stage = 'Closed Won' limit 0, 2|" +
		"select Deal_Name from Deals where Stage = 'Closed Won' limit 2, 2|select Deal_Name from Deals where Stage = 'Closed Won' limit 4, 2"
	if got := strings.Join(s.queries, "|"); got != want {
		t.Fatalf("queries %s", got)
	}
	// Where an earlier step stopped: its next.
	res, err = build(t, "zoho.crm.coql", map[string]any{"query": "select Deal_Name from Deals", "pageSize": 2, "start": "4"}).Execute(ctx, s.exec(nil))
	if err != nil || res.Output.(map[string]any)["count"] != int64(1) || !strings.HasSuffix(s.queries[len(s.queries)-1], "limit 4, 2") {
		t.Fatalf("start at 4: %v %v (%v)", res.Output, err, s.queries)
	}
	before := len(s.received())
	_, err = build(t, "zoho.crm.coql", map[string]any{"query": "select Deal_Name from Deals limit 10"}).Execute(ctx, s.exec(nil))
	failure(t, err, "zoho_request_invalid", nodes.Permanent)
	if len(s.received()) != before {
		t.Fatal("a query that pages itself was sent")
	}
	_, err = build(t, "zoho.crm.coql", map[string]any{"query": "select Deal_Name frm Deals"}).Execute(ctx, s.exec(nil))
	if e := failure(t, err, "zoho_invalid_request", nodes.Permanent); !strings.Contains(e.Error(), "SYNTAX_ERROR: error occured while parsing the query") {
		t.Fatalf("Zoho's message is not quoted: %v", e)
	}
}

// TestThrottleAndToken: TOO_MANY_REQUESTS waits and retries as a rate limit; a token Zoho refuses is retried,
// not a permanent failure of the flow.
func TestThrottleAndToken(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	s.tooMany = true
	_, err := build(t, "zoho.crm.records.search", map[string]any{"module": "Leads", "word": "tea"}).Execute(ctx, s.exec(nil))
	e := failure(t, err, CodeRateLimited, nodes.RetryAfter)
	if !e.RateLimited || e.After != rateLimitWait || !strings.Contains(e.Error(), "TOO_MANY_REQUESTS") {
		t.Fatalf("rate limit %+v", e)
	}
	s.tooMany = false
	x := s.exec(nil)
	x.Credential = func(context.Context) (map[string]string, error) {
		f := tokenFields()
		f[nodes.CredentialAccessToken] = "1000.revoked"
		return f, nil
	}
	_, err = build(t, "zoho.crm.modules.list", nil).Execute(ctx, x)
	if e := failure(t, err, CodeTokenInvalid, nodes.Retryable); !strings.Contains(e.Error(), "INVALID_TOKEN: invalid oauth token") {
		t.Fatalf("token refusal %v", e)
	}
}

// TestModulesAndFields: the module fields load the account's modules, custom ones included; the fields of a
// module list by their API names.
func TestModulesAndFields(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(nil)
	opts, err := connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: "zoho.crm.record.upsert", Field: "module",
		CredentialID: "cred-zoho-" + t.Name(), Credential: &nodes.ResolvedCredential{Name: "crm", Type: CredentialType, Fields: tokenFields()}, Client: x.HTTP})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range opts {
		got = append(got, o.Value+"="+o.Label)
	}
	if strings.Join(got, ", ") != "Leads=Leads, Contacts=Contacts, Payments_X=付款记录" {
		t.Fatalf("options %v", opts)
	}
	res, err := build(t, "zoho.crm.fields.list", map[string]any{"module": "Payments_X"}).Execute(context.Background(), x)
	if err != nil || len(res.Output.([]any)) != 2 {
		t.Fatalf("fields %v %v", res.Output, err)
	}
	if r := s.received()[1]; r.URL.Path != "/crm/v8/settings/fields" || r.URL.Query().Get("module") != "Payments_X" {
		t.Fatalf("fields asked %s", r.URL)
	}
	for _, typ := range []string{"zoho.crm.record.upsert", "zoho.crm.record.get", "zoho.crm.records.search", "zoho.crm.fields.list"} {
		reg, _ := nodes.Lookup(typ, 1)
		for _, f := range reg.Spec.Params {
			if f.Name == "module" && !f.LoadOptions {
				t.Errorf("%s: the module does not load its options", typ)
			}
		}
	}
}

// TestDryRun: a test run shows the upsert it would send to the account's api_domain, and sends nothing.
func TestDryRun(t *testing.T) {
	s := newStandIn(t)
	n := build(t, "zoho.crm.record.upsert", map[string]any{"module": "Leads", "record": map[string]any{"Last_Name": "Lovelace"}})
	x := s.exec(nil)
	x.Mode = nodes.ModeTest
	res, err := n.(nodes.DryRunner).DryRun(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	req := res.Output.(map[string]any)["request"].(map[string]any)
	if req["method"] != http.MethodPost || !strings.HasSuffix(fmt.Sprint(req["url"]), "/crm/v8/Leads/upsert") || len(s.received()) != 0 {
		t.Fatalf("dry run %v, %d requests", req, len(s.received()))
	}
	if strings.Contains(fmt.Sprint(res.Output), testToken) {
		t.Fatal("the dry run shows the token")
	}
}

func TestCredential(t *testing.T) {
	ct, ok := nodes.LookupCredentialType(CredentialType)
	if !ok || ct.OAuth2 == nil || ct.OAuth2.Grant != nodes.GrantAuthorizationCode || fmt.Sprint(ct.OAuth2.TokenFields) != "[api_domain]" {
		t.Fatalf("credential type %+v", ct)
	}
	for dc, host := range map[string]string{"com": "zoho.com", "com.cn": "zoho.com.cn", "eu": "zoho.eu", ".in": "zoho.in", "COM.AU": "zoho.com.au", "jp": "zoho.jp"} {
		auth, token, err := ct.OAuth2.Endpoints(map[string]string{FieldDataCenter: dc})
		if err != nil || !strings.HasPrefix(auth, "https://accounts."+host+"/oauth/v2/auth?") || token != "https://accounts."+host+"/oauth/v2/token" {
			t.Errorf("%s: %s %s %v", dc, auth, token, err)
		}
		if !strings.Contains(auth, "access_type=offline") || !strings.Contains(auth, "prompt=consent") || !strings.Contains(auth, "ZohoCRM.coql.READ") {
			t.Errorf("%s: authorisation URL %s", dc, auth)
		}
		d := ct.Destinations(map[string]string{FieldDataCenter: dc})
		if fmt.Sprint(d) != "[https://accounts."+host+" https://www.zohoapis."+host[len("zoho."):]+"/crm/v8]" {
			t.Errorf("%s: destinations %v", dc, d)
		}
		if u, err := APIBase("https://www.zohoapis." + host[len("zoho."):]); err != nil || u.Host != "www.zohoapis."+host[len("zoho."):] {
			t.Errorf("%s: api domain %v %v", dc, u, err)
		}
	}
	if _, _, err := ct.OAuth2.Endpoints(map[string]string{FieldDataCenter: "evil.example"}); nodes.Classify(err).Code != CodeDataCenterInvalid {
		t.Errorf("unknown data centre: %v", err)
	}
	if d := ct.Destinations(map[string]string{FieldDataCenter: "evil.example"}); len(d) != 0 {
		t.Errorf("an unknown data centre has destinations %v", d)
	}
	for _, bad := range []string{"", "http://www.zohoapis.com", "https://www.zohoapis.com.evil.example", "https://evil.example",
		"https://www.zohoapis.com:8443", "https://u@www.zohoapis.com", "https://www.zohoapis.com/crm"} {
		if _, err := APIBase(bad); nodes.Classify(err).Code != CodeAPIDomainInvalid {
			t.Errorf("api domain %q: %v", bad, err)
		}
	}
	req, _ := http.NewRequest("GET", "https://www.zohoapis.com/crm/v8/Leads", nil)
	if err := authorize(req, tokenFields()); err != nil || req.Header.Get("Authorization") != "Zoho-oauthtoken "+testToken {
		t.Errorf("authorization %q %v", req.Header.Get("Authorization"), err)
	}
	if err := authorize(req, map[string]string{}); err == nil {
		t.Error("a request without a token was authorised")
	}
}

// TestConnectionTest: the credential's test lists the modules with the token.
func TestConnectionTest(t *testing.T) {
	s := newStandIn(t)
	ct, _ := nodes.LookupCredentialType(CredentialType)
	msg, err := ct.Test(context.Background(), tokenFields(), s.exec(nil).HTTP)
	if err != nil || !strings.Contains(msg, "3 modules") {
		t.Fatalf("test: %q %v", msg, err)
	}
}

// TestRefusedTokenIsRenewed: Zoho's INVALID_TOKEN for a token the vault handed has it renewed (the refused token
// named) and the request sent once more; a renewed token refused too is retried later, after one renewal only.
func TestRefusedTokenIsRenewed(t *testing.T) {
	s := newStandIn(t)
	s.add("Contacts", map[string]any{"Last_Name": "Lovelace", "Email": "ada@example.com"})
	var asked []string
	revoked := func(context.Context) (map[string]string, error) {
		f := tokenFields()
		f[nodes.CredentialAccessToken] = "1000.revoked"
		return f, nil
	}
	x := s.exec(nil)
	x.Credential = revoked
	x.RenewCredential = func(_ context.Context, refused map[string]string) (map[string]string, error) {
		asked = append(asked, refused[nodes.CredentialAccessToken])
		return tokenFields(), nil
	}
	res, err := build(t, "zoho.crm.records.search", map[string]any{"module": "Contacts", "email": "ada@example.com"}).Execute(context.Background(), x)
	if err != nil || res.Output.(map[string]any)["count"] != int64(1) {
		t.Fatalf("search after a renewal: %v %v", res.Output, err)
	}
	if fmt.Sprint(asked) != "[1000.revoked]" || len(s.received()) != 2 {
		t.Fatalf("renewals %v, %d requests", asked, len(s.received()))
	}
	asked = nil
	x.RenewCredential = func(ctx context.Context, refused map[string]string) (map[string]string, error) {
		asked = append(asked, refused[nodes.CredentialAccessToken])
		return revoked(ctx)
	}
	_, err = build(t, "zoho.crm.record.upsert", map[string]any{"module": "Contacts", "record": map[string]any{"Last_Name": "L"}}).Execute(context.Background(), x)
	failure(t, err, CodeTokenInvalid, nodes.Retryable)
	if len(asked) != 1 {
		t.Fatalf("renewals %v", asked)
	}
}
