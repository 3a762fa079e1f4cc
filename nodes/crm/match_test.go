package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// book is a CRM of records searched field = value, recording every search it was asked.
type book struct {
	records  []Record
	searches []string
	limits   []int
	fail     error
}

func (b *book) Search(_ context.Context, field, value string, limit int) ([]Record, error) {
	b.searches = append(b.searches, field+"="+value)
	b.limits = append(b.limits, limit)
	if b.fail != nil {
		return nil, b.fail
	}
	var out []Record
	for _, r := range b.records {
		if fmt.Sprint(r.Fields[field]) == value && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func rec(id, label string, fields map[string]any) Record {
	return Record{ID: id, Label: label, Fields: fields, Raw: map[string]any{"id": id, "fields": fields}}
}

func customerBook() *book {
	return &book{records: []Record{
		rec("1", "Wang Fang", map[string]any{"shop_id": "C-1001", "email": "wang.fang@example.com", "phone": "+8613800138000"}),
		rec("2", "Wang Fang (old)", map[string]any{"shop_id": "C-0007", "email": "old@example.com", "phone": "+8613800138000"}),
		rec("3", "Li Na", map[string]any{"email": "li.na@example.com", "phone": "+8613900139000"}),
	}}
}

// TestKeysTriedInOrder: the first key that finds one record decides, whichever keys come after; keys finding
// nothing pass to the next.
func TestKeysTriedInOrder(t *testing.T) {
	b := customerBook()
	res, err := Match(context.Background(), b, []Key{
		{Kind: KindExternalID, Field: "shop_id", Value: "C-9999"},
		{Kind: KindEmail, Field: "email", Value: "li.na@example.com"},
		{Kind: KindPhone, Field: "phone", Value: "13800138000"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Found || res.ID != "3" || res.Label != "Li Na" || res.Key.Field != "email" {
		t.Fatalf("result %+v", res)
	}
	if got := strings.Join(b.searches, " "); got != "shop_id=C-9999 email=li.na@example.com" {
		t.Fatalf("searched %s: the phone key was searched after the e-mail decided", got)
	}
	if res.Tried[2].Skipped != "not tried" || res.Tried[0].Found != 0 || res.Tried[1].Found != 1 {
		t.Fatalf("tried %+v", res.Tried)
	}
	// Asked for one more than the listed candidates, so one search tells one record from several.
	if b.limits[0] != DefaultCandidates+1 {
		t.Fatalf("searched with limit %d", b.limits[0])
	}

	// The same customer with the external id first finds record 1 by it, though the phone would be ambiguous.
	b = customerBook()
	res, err = Match(context.Background(), b, []Key{
		{Kind: KindExternalID, Field: "shop_id", Value: " C-1001 "},
		{Kind: KindPhone, Field: "phone", Value: "138 0013 8000"},
	}, Options{})
	if err != nil || res.Outcome != Found || res.ID != "1" {
		t.Fatalf("by external id: %+v %v", res, err)
	}
	if fmt.Sprint(res.Matched) != "[{externalId shop_id C-1001} {phone phone +8613800138000}]" {
		t.Fatalf("matched %v", res.Matched)
	}
	if len(res.Conflicts) != 0 {
		t.Fatalf("conflicts %v", res.Conflicts)
	}
	// Found by the phone alone, the record holds another external id and e-mail: reported, not hidden.
	b = customerBook()
	b.records = b.records[1:]
	res, err = Match(context.Background(), b, []Key{
		{Kind: KindExternalID, Field: "shop_id", Value: "C-1001"},
		{Kind: KindPhone, Field: "phone", Value: "13800138000"},
		{Kind: KindEmail, Field: "email", Value: "wang.fang@example.com"},
		{Kind: KindUnionID, Field: "union_id", Value: "oX"},
	}, Options{})
	if err != nil || res.Outcome != Found || res.ID != "2" {
		t.Fatalf("by phone: %+v %v", res, err)
	}
	if fmt.Sprint(res.Conflicts) != "[{externalId shop_id C-0007} {email email old@example.com}]" {
		t.Fatalf("conflicts %v", res.Conflicts)
	}

	res, err = Match(context.Background(), customerBook(), []Key{{Kind: KindEmail, Field: "email", Value: "nobody@example.com"}}, Options{})
	if err != nil || res.Outcome != None || res.Key != nil || len(res.Tried) != 1 || res.Tried[0].Found != 0 {
		t.Fatalf("none: %+v %v", res, err)
	}
}

// TestNormalisation: phone numbers are searched in E.164 (the region reads numbers without a country code),
// e-mail addresses trimmed and lower-cased, other values trimmed; empty and invalid values skip their key.
func TestNormalisation(t *testing.T) {
	for _, c := range []struct {
		kind          Kind
		in, region    string
		want, skipped string
	}{
		{KindPhone, "138 0013 8000", "CN", "+8613800138000", ""},
		{KindPhone, "+86 138-0013-8000", "US", "+8613800138000", ""},
		{KindPhone, "0086 13800138000", "CN", "+8613800138000", ""},
		{KindPhone, "(415) 555-2671", "US", "+14155552671", ""},
		{KindPhone, "12345", "CN", "", "invalid"},
		{KindPhone, "n/a", "CN", "", "invalid"},
		{KindEmail, "  Wang.Fang@Example.COM ", "CN", "wang.fang@example.com", ""},
		{KindEmail, "wang.fang", "CN", "", "invalid"},
		{KindEmail, "a@b@c", "CN", "", "invalid"},
		{KindUnionID, " oRrdQt0c8Y ", "CN", "oRrdQt0c8Y", ""},
		{KindExternalID, "   ", "CN", "", "empty"},
		{KindProperty, strings.Repeat("x", 600), "CN", "", "invalid"},
	} {
		got, skipped := Normalise(c.kind, c.in, c.region)
		if got != c.want || skipped != c.skipped {
			t.Errorf("Normalise(%s, %q, %s) = %q, %q; want %q, %q", c.kind, c.in, c.region, got, skipped, c.want, c.skipped)
		}
	}

	b := customerBook()
	res, err := Match(context.Background(), b, []Key{
		{Kind: KindUnionID, Field: "union_id", Value: ""},
		{Kind: KindPhone, Field: "phone", Value: "not a number"},
		{Kind: KindEmail, Field: "email", Value: " LI.NA@Example.com"},
	}, Options{Region: "cn"})
	if err != nil || res.Outcome != Found || res.ID != "3" {
		t.Fatalf("%+v %v", res, err)
	}
	if got := strings.Join(b.searches, " "); got != "email=li.na@example.com" {
		t.Fatalf("searched %s", got)
	}
	if res.Tried[0].Skipped != "empty" || res.Tried[1].Skipped != "invalid" || res.Key.Value != "li.na@example.com" {
		t.Fatalf("tried %+v, key %+v", res.Tried, res.Key)
	}
}

// TestAmbiguousStops: a key finding two records stops the match there (the later key that would find one is
// never searched) and lists both candidates with the keys each shares with the customer.
func TestAmbiguousStops(t *testing.T) {
	b := customerBook()
	res, err := Match(context.Background(), b, []Key{
		{Kind: KindPhone, Field: "phone", Value: "13800138000"},
		{Kind: KindEmail, Field: "email", Value: "wang.fang@example.com"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Ambiguous || res.ID != "" || res.Record != nil || len(res.Candidates) != 2 || res.More {
		t.Fatalf("result %+v", res)
	}
	if got := strings.Join(b.searches, " "); got != "phone=+8613800138000" {
		t.Fatalf("searched %s after the phone was ambiguous", got)
	}
	c0, c1 := res.Candidates[0], res.Candidates[1]
	if c0.ID != "1" || c0.Label != "Wang Fang" || fmt.Sprint(c0.Matched) != "[{phone phone +8613800138000} {email email wang.fang@example.com}]" {
		t.Fatalf("candidate 1: %+v", c0)
	}
	if c1.ID != "2" || fmt.Sprint(c1.Matched) != "[{phone phone +8613800138000}]" || c1.Fields["email"] != "old@example.com" {
		t.Fatalf("candidate 2: %+v", c1)
	}
	if res.Tried[1].Skipped != "not tried" {
		t.Fatalf("tried %+v", res.Tried)
	}

	// Bounded: eight records with one phone list three, with more said.
	b = &book{}
	for i := range 8 {
		b.records = append(b.records, rec(fmt.Sprint(i+1), "", map[string]any{"phone": "+8613800138000"}))
	}
	res, err = Match(context.Background(), b, []Key{{Kind: KindPhone, Field: "phone", Value: "13800138000"}}, Options{Candidates: 3})
	if err != nil || res.Outcome != Ambiguous || len(res.Candidates) != 3 || !res.More || b.limits[0] != 4 {
		t.Fatalf("bounded: %+v %v (limit %v)", res, err, b.limits)
	}

	// One record listed twice by a search is one record.
	b = &book{records: []Record{rec("9", "", map[string]any{"email": "a@example.com"}), rec("9", "", map[string]any{"email": "a@example.com"})}}
	res, err = Match(context.Background(), b, []Key{{Kind: KindEmail, Field: "email", Value: "a@example.com"}}, Options{})
	if err != nil || res.Outcome != Found || res.ID != "9" {
		t.Fatalf("repeated record: %+v %v", res, err)
	}
}

// TestNoKeysAndRefusals: a customer without any usable value fails with crm_match_no_keys (not none, on which a
// flow creates); a name key is refused whatever its kind; a search's failure keeps its classification.
func TestNoKeysAndRefusals(t *testing.T) {
	b := customerBook()
	_, err := Match(context.Background(), b, []Key{{Kind: KindEmail, Field: "email", Value: " "}, {Kind: KindPhone, Field: "phone", Value: "—"}}, Options{})
	if e := nodes.Classify(err); e.Code != CodeNoKeys || e.Kind != nodes.Permanent || len(b.searches) != 0 {
		t.Fatalf("no keys: %v (searched %v)", err, b.searches)
	}
	for _, field := range []string{"name", "firstname", "LastName", "Full_Name", "Account.Name", "Customer_Name__c", "姓名", "客户名称", "dealname"} {
		_, err := Match(context.Background(), b, []Key{{Kind: KindProperty, Field: field, Value: "Wang Fang"}}, Options{})
		if e := nodes.Classify(err); e.Code != CodeNameKey || e.Kind != nodes.Permanent {
			t.Errorf("a key on %s: %v", field, err)
		}
	}
	for _, field := range []string{"email", "Phone", "unionid", "shop_customer_id", "_widget_1432728651402"} {
		if err := CheckKey(KindProperty, field); err != nil {
			t.Errorf("%s refused: %v", field, err)
		}
	}
	if err := CheckKey("name", "x"); CodeOf(err) != CodeKeyInvalid {
		t.Errorf("kind name: %v", err)
	}
	if len(b.searches) != 0 {
		t.Fatalf("a refused match searched %v", b.searches)
	}

	limited := nodes.NewRateLimited("hubspot_rate_limited", errors.New("hubspot: 429"), 10*time.Second)
	_, err = Match(context.Background(), &book{fail: limited}, []Key{{Kind: KindEmail, Field: "email", Value: "a@example.com"}}, Options{})
	if e := nodes.Classify(err); e.Code != "hubspot_rate_limited" || e.Kind != nodes.RetryAfter || e.After != 10*time.Second || !e.RateLimited {
		t.Fatalf("rate limit: %+v", e)
	}
	_, err = Match(context.Background(), &book{records: []Record{{Label: "no id", Fields: map[string]any{"email": "a@example.com"}}}},
		[]Key{{Kind: KindEmail, Field: "email", Value: "a@example.com"}}, Options{})
	if e := nodes.Classify(err); e.Code != CodeSearchInvalid {
		t.Fatalf("record without id: %v", err)
	}
}

// spec is a match node's spec as a CRM declares it, unregistered.
func spec() nodes.Spec {
	return nodes.Spec{Type: "crmtest.match", Version: 1, Outputs: Ports(),
		Params: Params([]map[string]any{{"kind": "email", "field": "email", "value": "{{ trigger.email }}"}}, "")}
}

func configure(t *testing.T, params string) (*Matcher, error) {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(params), &raw); err != nil {
		t.Fatal(err)
	}
	s := spec()
	cfg := nodes.NewConfig(&s, "m", raw, "")
	m := Configure(cfg, func(f string) error {
		if strings.Contains(f, " ") {
			return fmt.Errorf("%q is not a field name", f)
		}
		return nil
	})
	return m, cfg.Err()
}

// TestConfigureRefusesNameKeys: saving a match keyed by a name fails with crm_match_name_key at the key's field,
// with every other problem of the node beside it.
func TestConfigureRefusesNameKeys(t *testing.T) {
	_, err := configure(t, `{"keys": [{"kind": "property", "field": "firstname", "value": "{{ trigger.name }}"}], "region": "XX", "candidates": 50}`)
	var ce *nodes.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("a name key saved: %v", err)
	}
	got := map[string]string{}
	for _, p := range ce.Problems {
		got[p.Field] = p.Code
	}
	if got["keys[0].field"] != CodeNameKey || got["region"] != nodes.CodeParamInvalid || got["candidates"] != nodes.CodeParamInvalid {
		t.Fatalf("problems %+v", ce.Problems)
	}
	_, err = configure(t, `{"keys": [{"kind": "email", "field": "e mail", "value": "x"}]}`)
	if !errors.As(err, &ce) || ce.Problems[0].Field != "keys[0].field" || ce.Problems[0].Code != CodeKeyInvalid {
		t.Fatalf("a field the CRM cannot have saved: %v", err)
	}
	_, err = configure(t, `{"keys": []}`)
	if !errors.As(err, &ce) || ce.Problems[0].Field != "keys" {
		t.Fatalf("no keys saved: %v", err)
	}
	_, err = configure(t, `{"keys": [{"kind": "email", "value": "x"}]}`)
	if !errors.As(err, &ce) || ce.Problems[0].Field != "keys[0].field" || ce.Problems[0].Code != nodes.CodeParamRequired {
		t.Fatalf("a key without field saved: %v", err)
	}
	_, err = configure(t, `{"keys": [{"kind": "email", "field": "email", "value": "{{ trigger.email"}]}`)
	if !errors.As(err, &ce) || ce.Problems[0].Field != "keys[0].value" {
		t.Fatalf("a value that does not compile saved: %v", err)
	}
}

// TestRunFollowsPorts: a configured match evaluates its keys against the step, follows the outcome's port and
// outputs the result, which ParseResult reads back for a review.
func TestRunFollowsPorts(t *testing.T) {
	m, err := configure(t, `{"keys": [
		{"kind": "externalId", "field": "shop_id", "value": "{{ trigger.customer.id }}"},
		{"kind": "phone", "field": "phone", "value": "{{ trigger.customer.phone }}"},
		{"kind": "email", "field": "email", "value": "{{ trigger.customer.email }}"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(m.Fields()); got != "[shop_id phone email]" {
		t.Fatalf("fields %s", got)
	}
	run := func(customer map[string]any) (nodes.Result, *book) {
		t.Helper()
		b := customerBook()
		in := map[string]any{"customer": customer}
		res, err := m.Run(context.Background(), &nodes.Exec{Input: in, Env: map[string]any{"trigger": in}}, b)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}
	res, _ := run(map[string]any{"id": nil, "phone": "138-0013-8000", "email": "wang.fang@example.com"})
	if res.Port != "ambiguous" {
		t.Fatalf("port %s", res.Port)
	}
	parsed, err := ParseResult(res.Output)
	if err != nil || len(parsed.Candidates) != 2 || parsed.Candidates[0].ID != "1" || parsed.Candidates[1].Label != "Wang Fang (old)" {
		t.Fatalf("parsed %+v %v", parsed, err)
	}
	out := res.Output.(map[string]any)
	if out["outcome"] != "ambiguous" || out["key"].(map[string]any)["value"] != "+8613800138000" {
		t.Fatalf("output %v", out)
	}

	res, _ = run(map[string]any{"id": "C-1001", "phone": "138-0013-8000"})
	out = res.Output.(map[string]any)
	if res.Port != "found" || out["id"] != "1" || out["record"].(map[string]any)["id"] != "1" {
		t.Fatalf("found: %s %v", res.Port, out)
	}
	res, _ = run(map[string]any{"id": 42, "email": "new@example.com"})
	if res.Port != "none" || res.Output.(map[string]any)["tried"].([]any)[0].(map[string]any)["value"] != "42" {
		t.Fatalf("none: %s %v", res.Port, res.Output)
	}

	_, err = m.Run(context.Background(), &nodes.Exec{Input: map[string]any{}, Env: map[string]any{"trigger": map[string]any{"customer": map[string]any{"id": map[string]any{"a": 1}}}}}, customerBook())
	if e := nodes.Classify(err); e.Code != CodeKeyInvalid {
		t.Fatalf("an object as value: %v", err)
	}
	if _, err := ParseResult(map[string]any{"outcome": "maybe"}); err == nil {
		t.Fatal("an unknown outcome parsed")
	}
	if !reflect.DeepEqual(Ports()[2], nodes.Port{ID: "ambiguous", Label: "Ambiguous", Kind: nodes.PortMain}) {
		t.Fatal("ports")
	}
}
