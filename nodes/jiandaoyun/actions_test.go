package jiandaoyun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// TestCreateUpdateGet: a record written as plain values goes out wrapped as {"value": …}, subform rows field by
// field; it updates by its _id and reads back; an id that is not Jiandaoyun's shape is refused before sending.
func TestCreateUpdateGet(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	input := map[string]any{"name": "简道云", "amount": 100}
	res, err := build(t, "jiandaoyun.data.create", map[string]any{"app": testApp, "entry": testEntry, "creator": "Yonne",
		"data": `{{ {"_widget_1": trigger.name, "amount": trigger.amount, "done": {"value": true}, "rows": [{"_widget_9": "a"}]} }}`}).Execute(ctx, s.exec(input, testKey))
	if err != nil {
		t.Fatal(err)
	}
	rec := res.Output.(map[string]any)
	if rec["_widget_1"] != "简道云" || rec["done"] != true || fmt.Sprint(rec["rows"]) != "[map[_widget_9:map[value:a]]]" {
		t.Fatalf("created %v", rec)
	}
	if b := s.lastBody(); fmt.Sprint(b["data"]) != "map[_widget_1:map[value:简道云] amount:map[value:100] done:map[value:true] rows:map[value:[map[_widget_9:map[value:a]]]]]" ||
		b["data_creator"] != "Yonne" {
		t.Fatalf("sent %v", b)
	}
	if p := s.requests(); p[0] != "/api/v5/app/entry/data/create" {
		t.Fatalf("sent to %v", p)
	}
	id := rec["_id"]
	res, err = build(t, "jiandaoyun.data.update", map[string]any{"app": testApp, "entry": testEntry, "dataId": "{{ prev._id }}",
		"data": map[string]any{"amount": 120}}).Execute(ctx, s.exec(rec, testKey))
	if err != nil || res.Output.(map[string]any)["amount"] != int64(120) || s.lastBody()["data_id"] != id {
		t.Fatalf("update: %v %v (sent %v)", res.Output, err, s.lastBody())
	}
	res, err = build(t, "jiandaoyun.data.get", map[string]any{"app": testApp, "entry": testEntry, "dataId": id}).Execute(ctx, s.exec(nil, testKey))
	if err != nil || res.Output.(map[string]any)["amount"] != int64(120) {
		t.Fatalf("get: %v %v", res.Output, err)
	}
	before := len(s.requests())
	_, err = build(t, "jiandaoyun.data.get", map[string]any{"app": testApp, "entry": testEntry, "dataId": "{{ '../x' }}"}).Execute(ctx, s.exec(nil, testKey))
	failure(t, err, "jiandaoyun_request_invalid", nodes.Permanent)
	_, err = build(t, "jiandaoyun.data.create", map[string]any{"app": testApp, "entry": testEntry, "data": "{{ {} }}"}).Execute(ctx, s.exec(nil, testKey))
	failure(t, err, "jiandaoyun_request_invalid", nodes.Permanent)
	if len(s.requests()) != before {
		t.Fatal("a refused request was sent")
	}
}

// TestListPages: every page asks for at most 100 records after the last _id of the page before, with the filter
// unchanged; an empty page ends the list; a page size above 100 is refused.
func TestListPages(t *testing.T) {
	s := newStandIn(t)
	s.add(250, func(i int) map[string]any {
		status := "open"
		if i%5 == 0 {
			status = "closed"
		}
		return map[string]any{"status": status, "n": i}
	})
	ctx := context.Background()
	filter := `{"rel": "and", "cond": [{"field": "status", "type": "text", "method": "eq", "value": ["open"]}]}`
	res, err := build(t, "jiandaoyun.data.list", map[string]any{"app": testApp, "entry": testEntry, "filter": filter, "fields": "status, n",
		"pages": "all"}).Execute(ctx, s.exec(nil, testKey))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if out["count"] != int64(200) || out["complete"] != true || len(s.requests()) != 3 {
		t.Fatalf("listed %v in %d requests", out["count"], len(s.requests()))
	}
	b := s.lastBody()
	if b["limit"] != float64(100) || b["data_id"] == nil || fmt.Sprint(b["fields"]) != "[status n]" || b["filter"] == nil {
		t.Fatalf("last page asked %v", b)
	}
	res, err = build(t, "jiandaoyun.data.list", map[string]any{"app": testApp, "entry": testEntry, "pageSize": 7}).Execute(ctx, s.exec(nil, testKey))
	if out := res.Output.(map[string]any); err != nil || out["count"] != int64(7) || out["complete"] != false || out["next"] != fmt.Sprintf("%024x", 7) {
		t.Fatalf("one page: %v %v", res.Output, err)
	}
	reg, _ := nodes.Lookup("jiandaoyun.data.list", 1)
	raw := map[string]json.RawMessage{"app": json.RawMessage(`"` + testApp + `"`), "entry": json.RawMessage(`"` + testEntry + `"`), "pageSize": json.RawMessage("101")}
	if n, err := reg.New(nodes.NewConfig(&reg.Spec, "n1", raw, "cred-1")); err == nil {
		if _, err := n.Execute(ctx, s.exec(nil, testKey)); err == nil {
			t.Fatal("a page of 101 records was accepted")
		}
	}
	_, err = build(t, "jiandaoyun.data.list", map[string]any{"app": testApp, "entry": testEntry, "filter": `{"cond": []}`}).Execute(ctx, s.exec(nil, testKey))
	failure(t, err, "jiandaoyun_request_invalid", nodes.Permanent)
}

// TestErrors: Jiandaoyun's 400 {code, msg} fails with its code and message verbatim; a refused key is
// unauthorized; 429 and code 8303 are rate limits that wait and retry.
func TestErrors(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	bad := `{"rel": "and", "cond": [{"field": "status", "type": "text", "method": "sounds_like", "value": ["x"]}]}`
	_, err := build(t, "jiandaoyun.data.list", map[string]any{"app": testApp, "entry": testEntry, "filter": bad}).Execute(ctx, s.exec(nil, testKey))
	if e := failure(t, err, "jiandaoyun_invalid_request", nodes.Permanent); !strings.Contains(e.Error(), "1: The request is invalid.") {
		t.Fatalf("Jiandaoyun's code and message are not quoted: %v", e)
	}
	_, err = build(t, "jiandaoyun.data.get", map[string]any{"app": testApp, "entry": testEntry, "dataId": strings.Repeat("a", 24)}).Execute(ctx, s.exec(nil, "wrong-key"))
	failure(t, err, "jiandaoyun_unauthorized", nodes.Permanent)
	for _, mode := range []int{429, 8303} {
		s.tooMany = mode
		_, err = build(t, "jiandaoyun.data.get", map[string]any{"app": testApp, "entry": testEntry, "dataId": strings.Repeat("a", 24)}).Execute(ctx, s.exec(nil, testKey))
		e := failure(t, err, CodeRateLimited, nodes.RetryAfter)
		if !e.RateLimited || e.After != rateLimitWait || !strings.Contains(e.Error(), "超出请求频率限制") {
			t.Fatalf("%d: %+v", mode, e)
		}
	}
}

// TestAppsAndConnection: the app field loads the apps the key reaches; the connection test lists one app.
func TestAppsAndConnection(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(nil, testKey)
	opts, err := connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: "jiandaoyun.data.list", Field: "app",
		CredentialID: "cred-jdy-" + t.Name(), Credential: &nodes.ResolvedCredential{Name: "jdy", Type: CredentialType,
			Fields: map[string]string{FieldAPIKey: testKey}}, Client: x.HTTP})
	if err != nil || len(opts) != 2 || opts[0].Value != testApp || opts[0].Label != "销售管理" {
		t.Fatalf("apps %v %v", opts, err)
	}
	ct, _ := nodes.LookupCredentialType(CredentialType)
	msg, err := ct.Test(context.Background(), map[string]string{FieldAPIKey: testKey}, x.HTTP)
	if err != nil || !strings.Contains(msg, "key is valid") || s.lastBody()["limit"] != float64(1) {
		t.Fatalf("test: %q %v", msg, err)
	}
	if _, err := ct.Test(context.Background(), map[string]string{FieldAPIKey: "wrong"}, x.HTTP); err == nil {
		t.Fatal("a wrong key passed the connection test")
	}
}

// TestFormsOfTheChosenApp: the form field loads the forms of the app chosen in the app field, asks for the app
// first, and refuses an app id Jiandaoyun would refuse before asking it.
func TestFormsOfTheChosenApp(t *testing.T) {
	s := newStandIn(t)
	load := func(params map[string]string) ([]nodes.Option, error) {
		return connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: "jiandaoyun.data.create", Field: "entry",
			CredentialID: "cred-jdy-" + t.Name(), Credential: &nodes.ResolvedCredential{Name: "jdy", Type: CredentialType,
				Fields: map[string]string{FieldAPIKey: testKey}}, Client: s.exec(nil, testKey).HTTP, Params: params})
	}
	opts, err := load(map[string]string{"app": " " + testApp + " "})
	if err != nil || len(opts) != 2 || opts[0].Value != testEntry || opts[0].Label != "客户登记" {
		t.Fatalf("forms %v %v", opts, err)
	}
	if b := s.lastBody(); b["app_id"] != testApp || b["limit"] != float64(100) || b["skip"] != float64(0) {
		t.Fatalf("app/entry/list asked with %v", b)
	}
	var de *connector.DependencyError
	if _, err := load(nil); !errors.As(err, &de) || de.Code != connector.CodeDependencyMissing || de.Field != "app" {
		t.Fatalf("without an app: %v", err)
	}
	if _, err := load(map[string]string{"app": "not-an-id"}); !errors.As(err, &de) || de.Code != connector.CodeDependencyInvalid ||
		!strings.Contains(err.Error(), "not a Jiandaoyun app id") {
		t.Fatalf("a malformed app: %v", err)
	}
	if n := len(s.paths); n != 1 {
		t.Fatalf("refused values reached Jiandaoyun: %v", s.paths)
	}
}

// TestDryRun: a create in a test run shows the shaped request without sending it or the key.
func TestDryRun(t *testing.T) {
	s := newStandIn(t)
	n := build(t, "jiandaoyun.data.create", map[string]any{"app": testApp, "entry": testEntry, "data": map[string]any{"_widget_1": "x"}})
	x := s.exec(nil, testKey)
	x.Mode = nodes.ModeTest
	res, err := n.(nodes.DryRunner).DryRun(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	req := res.Output.(map[string]any)["request"].(map[string]any)
	if req["method"] != http.MethodPost || !strings.HasSuffix(fmt.Sprint(req["url"]), "/api/v5/app/entry/data/create") || len(s.requests()) != 0 ||
		!strings.Contains(fmt.Sprint(req["body"]), "map[value:x]") {
		t.Fatalf("dry run %v, %d requests", req, len(s.requests()))
	}
	if strings.Contains(fmt.Sprint(res.Output), testKey) {
		t.Fatal("the dry run shows the key")
	}
}

// TestCreateIsSentOnce: a create whose answer is lost (a 502 after Jiandaoyun saved it) is not sent again, since
// Jiandaoyun documents no idempotency for a single create: the step fails with jiandaoyun_outcome_unknown.
func TestCreateIsSentOnce(t *testing.T) {
	s := newStandIn(t)
	s.failCreate = true
	_, err := build(t, "jiandaoyun.data.create", map[string]any{"app": testApp, "entry": testEntry, "data": map[string]any{"_widget_1": "x"}}).
		Execute(context.Background(), s.exec(nil, testKey))
	failure(t, err, "jiandaoyun_outcome_unknown", nodes.Permanent)
	if n := len(s.requests()); n != 1 {
		t.Fatalf("the create was sent %d times", n)
	}
}
