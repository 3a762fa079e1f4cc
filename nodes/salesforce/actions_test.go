package salesforce

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

func run(t *testing.T, s *standIn, typ string, params map[string]any, u *usageReport) (any, error) {
	t.Helper()
	res, err := build(t, typ, params).Execute(context.Background(), s.exec(map[string]any{"amount": 129.5, "txn": "pi_3Q7"}, u))
	return res.Output, err
}

func TestUpsertCreatesThenUpdatesByExternalID(t *testing.T) {
	s := newStandIn(t)
	params := map[string]any{"sObject": "Opportunity", "externalIdField": "Payment_Id__c", "externalId": "{{ trigger.txn }}",
		"fields": `{{ {"StageName": "Closed Won", "Amount": trigger.amount, "attributes": {"type": "Opportunity"} } }}`}
	u := &usageReport{}
	out, err := run(t, s, "salesforce.record.upsert", params, u)
	if err != nil {
		t.Fatal(err)
	}
	first := out.(map[string]any)
	if first["created"] != true || first["success"] != true {
		t.Fatalf("first upsert: %v", first)
	}
	out, err = run(t, s, "salesforce.record.upsert", params, u)
	if err != nil || out.(map[string]any)["created"] != false || out.(map[string]any)["id"] != first["id"] {
		t.Fatalf("second upsert: %v %v", out, err)
	}
	sent := s.sent()
	if sent[0] != "PATCH /services/data/v62.0/sobjects/Opportunity/Payment_Id__c/pi_3Q7" {
		t.Errorf("request %s", sent[0])
	}
	if b := s.bodies[0]; len(b) != 2 || b["StageName"] != "Closed Won" || b["Amount"] != 129.5 {
		t.Errorf("body %v (attributes must not be sent)", b)
	}
	if len(s.objects["Opportunity"]) != 1 {
		t.Errorf("%d opportunities", len(s.objects["Opportunity"]))
	}
	// Every answer's Sforce-Limit-Info is reported.
	if u.provider != Provider || u.used != 19 || u.limit != 15000 {
		t.Errorf("usage %+v", u)
	}
	// A second record with the same external id makes the value ambiguous: nothing is written.
	s.objects["Opportunity"] = append(s.objects["Opportunity"], record{"Id": "006xx0000000000999", "Payment_Id__c": "pi_3Q7", "SystemModstamp": s.tick()})
	_, err = run(t, s, "salesforce.record.upsert", params, nil)
	failure(t, err, CodeExternalIDAmbiguous, nodes.Permanent)
}

func TestCreateGetUpdate(t *testing.T) {
	s := newStandIn(t)
	out, err := run(t, s, "salesforce.record.create", map[string]any{"sObject": "Account", "fields": map[string]any{"Name": "Ferry Tea", "Industry": "Retail"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := out.(map[string]any)["id"].(string)
	out, err = run(t, s, "salesforce.record.get", map[string]any{"sObject": "Account", "id": id, "fields": "Name, Industry"}, nil)
	if err != nil || out.(map[string]any)["Name"] != "Ferry Tea" || out.(map[string]any)["attributes"] == nil {
		t.Fatalf("get: %v %v", out, err)
	}
	out, err = run(t, s, "salesforce.record.update", map[string]any{"sObject": "Account", "id": id, "fields": map[string]any{"Industry": "Food"}}, nil)
	if err != nil || out != nil {
		t.Fatalf("update: %v %v", out, err)
	}
	if s.objects["Account"][0]["Industry"] != "Food" {
		t.Errorf("stored %v", s.objects["Account"][0])
	}
	want := []string{"POST /services/data/v62.0/sobjects/Account", "GET /services/data/v62.0/sobjects/Account/" + id + "?fields=Name%2CIndustry",
		"PATCH /services/data/v62.0/sobjects/Account/" + id}
	if got := s.sent(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Bad input is refused before anything is sent, with a stable code.
	for _, params := range []map[string]any{
		{"sObject": "Account; DROP", "fields": map[string]any{"Name": "x"}},
		{"sObject": "Account", "fields": map[string]any{"Id": id}},
		{"sObject": "Account", "fields": "not an object"},
		{"sObject": "Account", "fields": map[string]any{}},
	} {
		_, err := run(t, s, "salesforce.record.create", params, nil)
		failure(t, err, "salesforce_request_invalid", nodes.Permanent)
	}
	_, err = run(t, s, "salesforce.record.get", map[string]any{"sObject": "Account", "id": "42"}, nil)
	failure(t, err, "salesforce_request_invalid", nodes.Permanent)
	if len(s.sent()) != 3 {
		t.Errorf("bad input was sent: %v", s.sent()[3:])
	}
}

func TestQueryFollowsNextRecordsURL(t *testing.T) {
	s := newStandIn(t)
	for i := range 7 {
		s.insert("Account", map[string]any{"Name": "Account " + string(rune('A'+i))})
	}
	s.batch = 3
	out, err := run(t, s, "salesforce.query", map[string]any{"q": "SELECT Id, Name FROM Account", "pages": "all"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := out.(map[string]any)
	items := res["items"].([]any)
	if len(items) != 7 || res["pages"] != int64(3) || res["complete"] != true || items[6].(map[string]any)["Name"] != "Account G" {
		t.Fatalf("query: %v", res)
	}
	sent := s.sent()
	if sent[0] != "GET /services/data/v62.0/query?q=SELECT+Id%2C+Name+FROM+Account" || !strings.HasPrefix(sent[1], "GET /services/data/v62.0/query/01gxx") {
		t.Errorf("requests %v", sent)
	}
	// One page; its next continues the list.
	out, err = run(t, s, "salesforce.query", map[string]any{"q": "SELECT Id, Name FROM Account"}, nil)
	next, _ := out.(map[string]any)["next"].(string)
	if err != nil || !strings.HasPrefix(next, "/services/data/v62.0/query/") {
		t.Fatalf("one page: %v %v", out, err)
	}
	out, err = run(t, s, "salesforce.query", map[string]any{"q": "SELECT Id, Name FROM Account", "start": next, "pages": "all"}, nil)
	if err != nil || out.(map[string]any)["count"] != int64(4) {
		t.Fatalf("continued: %v %v", out, err)
	}
}

func TestErrorArraysMapToStableCodes(t *testing.T) {
	s := newStandIn(t)
	_, err := run(t, s, "salesforce.query", map[string]any{"q": "SELEKT Id FROM Account"}, nil)
	e := failure(t, err, CodeQueryInvalid, nodes.Permanent)
	if !strings.Contains(e.Error(), "MALFORMED_QUERY: unexpected token: SELEKT Id FROM Account") {
		t.Errorf("message not verbatim: %v", e)
	}
	_, err = run(t, s, "salesforce.record.get", map[string]any{"sObject": "Account", "id": "001xx0000000000404"}, nil)
	failure(t, err, CodeNotFound, nodes.Permanent)
	_, err = run(t, s, "salesforce.record.upsert", map[string]any{"sObject": "Account", "externalIdField": "Payment_Id__c",
		"externalId": "x", "fields": map[string]any{"Payment_Id__c": "x"}}, nil)
	e = failure(t, err, CodeFieldInvalid, nodes.Permanent)
	if !strings.Contains(e.Error(), "(fields: Payment_Id__c)") {
		t.Errorf("fields not named: %v", e)
	}
	s.limited = true
	_, err = run(t, s, "salesforce.query", map[string]any{"q": "SELECT Id FROM Account"}, nil)
	e = failure(t, err, CodeRateLimited, nodes.RetryAfter)
	if !e.RateLimited || e.After != RateLimitWait || !strings.Contains(e.Error(), "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.") {
		t.Errorf("rate limit: %+v", e)
	}
	s.limited, s.expired = false, true
	_, err = run(t, s, "salesforce.query", map[string]any{"q": "SELECT Id FROM Account"}, nil)
	failure(t, err, CodeSessionInvalid, nodes.Permanent)
	s.expired = false
	// An unknown sObject path: the status decides, the message is quoted.
	_, err = run(t, s, "salesforce.record.create", map[string]any{"sObject": "Widget__c", "fields": map[string]any{"Name": "x"}}, nil)
	failure(t, err, CodeNotFound, nodes.Permanent)
}

func TestLimitInfo(t *testing.T) {
	for h, want := range map[string][2]int64{"api-usage=18/15000": {18, 15000}, "api-usage=10018/100000, per-app-api-usage=3/250(appName=x)": {10018, 100000}} {
		used, limit, ok := LimitInfo(http.Header{"Sforce-Limit-Info": {h}})
		if !ok || used != want[0] || limit != want[1] {
			t.Errorf("%s: %d/%d %v", h, used, limit, ok)
		}
	}
	for _, h := range []string{"", "api-usage=18", "api-usage=a/b", "per-app-api-usage=1/2"} {
		if _, _, ok := LimitInfo(http.Header{"Sforce-Limit-Info": {h}}); ok {
			t.Errorf("%q read", h)
		}
	}
}

func TestSObjectsLoadedFromTheOrg(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(nil, nil)
	for _, typ := range []string{"salesforce.record.upsert", PollType} {
		opts, err := connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: typ, Field: "sObject", CredentialID: "c-" + typ,
			Credential: &nodes.ResolvedCredential{Name: "Acme", Type: CredentialOAuth2, Fields: fields()}, Client: x.HTTP})
		if err != nil || len(opts) != 2 || opts[0].Value != "Account" || opts[1].Value != "Invoice__c" || opts[1].Label != "Invoice" {
			t.Errorf("%s: %v %v (only createable sObjects)", typ, opts, err)
		}
	}
}

// TestExternalIDFieldsOfTheChosenSObject: the upsert's external id field lists the chosen sObject's fields
// marked External ID, and asks for the sObject first.
func TestExternalIDFieldsOfTheChosenSObject(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(nil, nil)
	load := func(params map[string]string) ([]nodes.Option, error) {
		return connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: "salesforce.record.upsert", Field: "externalIdField",
			CredentialID: "c-" + t.Name(), Credential: &nodes.ResolvedCredential{Name: "Acme", Type: CredentialOAuth2, Fields: fields()},
			Client: x.HTTP, Params: params})
	}
	opts, err := load(map[string]string{"sObject": "Opportunity"})
	if err != nil || fmt.Sprint(opts) != fmt.Sprint([]nodes.Option{{Value: "Payment_Id__c", Label: "Payment Id"}, {Value: "Order_No__c", Label: "Order number"}}) {
		t.Fatalf("external id fields %v %v", opts, err)
	}
	var de *connector.DependencyError
	if _, err := load(nil); !errors.As(err, &de) || de.Code != connector.CodeDependencyMissing || de.Field != "sObject" {
		t.Fatalf("without an sObject: %v", err)
	}
	if _, err := load(map[string]string{"sObject": "Opportunity/../Account"}); !errors.As(err, &de) || de.Code != connector.CodeDependencyInvalid {
		t.Fatalf("a malformed sObject: %v", err)
	}
}

func TestCredentialTypes(t *testing.T) {
	for _, id := range []string{CredentialOAuth2, CredentialClient} {
		ct, ok := nodes.LookupCredentialType(id)
		if !ok || ct.OAuth2 == nil || ct.OAuth2.Endpoints == nil || len(ct.OAuth2.TokenFields) != 1 || ct.OAuth2.TokenFields[0] != "instance_url" {
			t.Fatalf("%s: %+v", id, ct)
		}
		auth, token, err := ct.OAuth2.Endpoints(map[string]string{FieldLoginURL: "test.salesforce.com"})
		if err != nil || auth != "https://test.salesforce.com/services/oauth2/authorize" || token != "https://test.salesforce.com/services/oauth2/token" {
			t.Errorf("%s endpoints %s %s %v", id, auth, token, err)
		}
		// A login address that is no https host stops the grant with its code, before anything is sent.
		if _, _, err := ct.OAuth2.Endpoints(map[string]string{FieldLoginURL: "http://login.salesforce.com"}); nodes.Classify(err).Code != CodeLoginURLInvalid {
			t.Errorf("%s endpoints of a plain http login: %v", id, err)
		}
		if d := ct.Destinations(map[string]string{FieldLoginURL: "https://Acme.my.salesforce.com/"}); strings.Join(d, " ") != "*.my.salesforce.com https://acme.my.salesforce.com" {
			t.Errorf("%s destinations %v", id, d)
		}
	}
	if _, err := LoginURL("http://login.salesforce.com"); nodes.Classify(err).Code != CodeLoginURLInvalid {
		t.Errorf("plain http login: %v", err)
	}
	if u, err := LoginURL(""); err != nil || u.String() != DefaultLoginURL {
		t.Errorf("default login %v %v", u, err)
	}
	for _, bad := range []string{"", "http://acme.my.salesforce.com", "https://acme.my.salesforce.com/path"} {
		if _, err := baseURL(map[string]string{FieldInstanceURL: bad}); nodes.Classify(err).Code != CodeInstanceURLInvalid {
			t.Errorf("instance %q: %v", bad, err)
		}
	}
	if u, _ := baseURL(fields()); u.String() != testInstance+"/services/data/v62.0" {
		t.Errorf("base %s", u)
	}
}

func TestConnectionTest(t *testing.T) {
	s := newStandIn(t)
	ct, _ := nodes.LookupCredentialType(CredentialClient)
	msg, err := ct.Test(context.Background(), fields(), s.exec(nil, nil).HTTP)
	if err != nil || !strings.Contains(msg, "daily API requests left") {
		t.Fatalf("%q %v", msg, err)
	}
	s.expired = true
	if _, err := ct.Test(context.Background(), fields(), s.exec(nil, nil).HTTP); err == nil || !strings.Contains(err.Error(), "INVALID_SESSION_ID") {
		t.Errorf("expired: %v", err)
	}
	_ = time.Second
}

func TestRefusedSessionRenewsTheTokenOnce(t *testing.T) {
	s := newStandIn(t)
	s.token = "00Dxx0000001gPF!renewed"
	renewals := 0
	x := s.exec(nil, nil)
	x.RenewCredential = func(_ context.Context, refused map[string]string) (map[string]string, error) {
		renewals++
		if refused[nodes.CredentialAccessToken] != testToken {
			t.Errorf("refused %v", refused)
		}
		f := fields()
		f[nodes.CredentialAccessToken] = "00Dxx0000001gPF!renewed"
		return f, nil
	}
	res, err := build(t, "salesforce.record.create", map[string]any{"sObject": "Account", "fields": map[string]any{"Name": "Ferry Tea"}}).
		Execute(context.Background(), x)
	if err != nil || res.Output.(map[string]any)["success"] != true || renewals != 1 || len(s.objects["Account"]) != 1 {
		t.Fatalf("renewed: %v %v, %d renewals", res.Output, err, renewals)
	}
	// A renewed token refused as well fails: renewed once per request, not in a loop.
	s.expired = true
	renewals = 0
	_, err = build(t, "salesforce.record.get", map[string]any{"sObject": "Account", "id": "001xx0000000000001"}).Execute(context.Background(), x)
	failure(t, err, CodeSessionInvalid, nodes.Permanent)
	if renewals != 1 {
		t.Errorf("%d renewals", renewals)
	}
	// A step that cannot renew fails at once.
	_, err = run(t, s, "salesforce.record.get", map[string]any{"sObject": "Account", "id": "001xx0000000000001"}, nil)
	failure(t, err, CodeSessionInvalid, nodes.Permanent)
}
