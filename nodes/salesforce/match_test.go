package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/crm"
)

func contacts(s *standIn) {
	s.objects["Contact"] = []record{
		{"Id": "003xx000004TmiQAAS", "Name": "Fang Wang", "Email": "wang.fang@example.com", "MobilePhone": "+8613800138000"},
		{"Id": "003xx000004TmiRAAS", "Name": "Fang Wang", "Email": "fang.w@example.com", "MobilePhone": "+8613800138000"},
		{"Id": "003xx000004TmiSAAS", "Name": "Na Li", "Email": "Li.Na@Example.com", "MobilePhone": "+8613900139000", "Shop_Customer_Id__c": `O'Brien\7`},
	}
}

var matchKeys = []map[string]any{
	{"kind": "externalId", "field": "Shop_Customer_Id__c", "value": "{{ trigger.customer.id }}"},
	{"kind": "phone", "field": "MobilePhone", "value": "{{ trigger.customer.phone }}"},
	{"kind": "email", "field": "Email", "value": "{{ trigger.customer.email }}"},
}

func customer(id, phone, email string) map[string]any {
	return map[string]any{"customer": map[string]any{"id": id, "phone": phone, "email": email}}
}

// TestMatch: salesforce.match runs one SOQL query per key, the value quoted so a quote or a backslash in it stays
// data: an external id with both is found, a mobile number two contacts share is ambiguous with both listed and
// the e-mail never queried, an unknown customer is none; only queries are sent.
func TestMatch(t *testing.T) {
	s := newStandIn(t)
	contacts(s)
	ctx := context.Background()
	n := build(t, MatchType, map[string]any{"keys": matchKeys, "fields": "AccountId"})

	res, err := n.Execute(ctx, s.exec(customer(`O'Brien\7`, "", ""), nil))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if res.Port != "found" || out["id"] != "003xx000004TmiSAAS" || out["label"] != "Na Li" {
		t.Fatalf("found: %s %v", res.Port, out)
	}
	q, _ := url.ParseQuery(strings.SplitN(s.sent()[0], "?", 2)[1])
	if want := `SELECT Id, Name, Shop_Customer_Id__c, MobilePhone, Email, AccountId FROM Contact WHERE Shop_Customer_Id__c = 'O\'Brien\\7' LIMIT 6`; q.Get("q") != want {
		t.Fatalf("query\n%s\nwant\n%s", q.Get("q"), want)
	}

	res, err = n.Execute(ctx, s.exec(customer("", "138 0013 8000", "wang.fang@example.com"), nil))
	if err != nil || res.Port != "ambiguous" {
		t.Fatalf("ambiguous: %s %v", res.Port, err)
	}
	r, _ := crm.ParseResult(res.Output)
	if len(r.Candidates) != 2 || r.Candidates[0].ID != "003xx000004TmiQAAS" || r.Candidates[1].Label != "Fang Wang" ||
		fmt.Sprint(r.Candidates[0].Matched) != "[{phone MobilePhone +8613800138000} {email Email wang.fang@example.com}]" {
		t.Fatalf("candidates %+v", r.Candidates)
	}
	if len(s.sent()) != 2 || !strings.Contains(s.sent()[1], "MobilePhone+%3D+%27%2B8613800138000%27") {
		t.Fatalf("sent %v", s.sent())
	}

	// SOQL compares without regard to case: the e-mail stored in mixed case is found by the lower-cased key.
	res, err = n.Execute(ctx, s.exec(customer("", "", "LI.NA@example.com"), nil))
	if err != nil || res.Port != "found" || res.Output.(map[string]any)["id"] != "003xx000004TmiSAAS" {
		t.Fatalf("by e-mail: %s %v %v", res.Port, res.Output, err)
	}
	res, err = n.Execute(ctx, s.exec(customer("C-404", "13700137000", "new@example.com"), nil))
	if err != nil || res.Port != "none" {
		t.Fatalf("none: %s %v", res.Port, err)
	}
	for _, r := range s.sent() {
		if !strings.HasPrefix(r, "GET /services/data/v62.0/query?q=") {
			t.Fatalf("a match sent %s", r)
		}
	}

	s.limited = true
	_, err = n.Execute(ctx, s.exec(customer("C-1", "", ""), nil))
	failure(t, err, CodeRateLimited, nodes.RetryAfter)
}

// TestQuoteSOQL: every character that could end a SOQL string literal or change its meaning is escaped.
func TestQuoteSOQL(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:               `'plain'`,
		`x' OR Name != '`:     `'x\' OR Name != \''`,
		`back\slash`:          `'back\\slash'`,
		"line\nbreak\ttab\r":  `'line\nbreak\ttab\r'`,
		`say "hi"`:            `'say \"hi\"'`,
		`\' OR Id != null --`: `'\\\' OR Id != null --'`,
		"\b\f":                `'\b\f'`,
	} {
		if got := QuoteSOQL(in); got != want {
			t.Errorf("QuoteSOQL(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestMatchRefusesBadKeys: a name field, or a field name SOQL could not take, does not save.
func TestMatchRefusesBadKeys(t *testing.T) {
	reg, _ := nodes.Lookup(MatchType, 1)
	for field, code := range map[string]string{"LastName": crm.CodeNameKey, "Account.Name": crm.CodeNameKey, "Email) OR (Id": crm.CodeKeyInvalid} {
		keys, _ := json.Marshal([]map[string]any{{"kind": "property", "field": field, "value": "x"}})
		_, err := reg.New(nodes.NewConfig(&reg.Spec, "m", map[string]json.RawMessage{"keys": keys, "sObject": json.RawMessage(`"Contact; DELETE"`)}, "cred-1"))
		var ce *nodes.ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 2 {
			t.Fatalf("%s: %v", field, err)
		}
		got := map[string]string{}
		for _, p := range ce.Problems {
			got[p.Field] = p.Code
		}
		if got["keys[0].field"] != code || got["sObject"] != nodes.CodeParamInvalid {
			t.Errorf("%s: %+v", field, ce.Problems)
		}
	}
}
