package zoho

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/crm"
)

var matchKeys = []map[string]any{
	{"kind": "externalId", "field": "Shop_Customer_Id", "value": "{{ trigger.customer.id }}"},
	{"kind": "phone", "field": "Mobile", "value": "{{ trigger.customer.phone }}"},
	{"kind": "email", "field": "Email", "value": "{{ trigger.customer.email }}"},
}

func customer(id, phone, email string) map[string]any {
	return map[string]any{"customer": map[string]any{"id": id, "phone": phone, "email": email}}
}

// TestMatch: zoho.crm.match searches the module once per key with (Field:equals:value), each request validated
// against Zoho's description of the search: an external id holding brackets and a comma is found, a mobile number
// two contacts share is ambiguous with both listed, an unknown customer is none (Zoho's 204); only searches are sent.
func TestMatch(t *testing.T) {
	s := newStandIn(t)
	s.add("Contacts",
		map[string]any{"Full_Name": "Fang Wang", "Last_Name": "Wang", "Email": "wang.fang@example.com", "Mobile": "+8613800138000"},
		map[string]any{"Full_Name": "Fang Wang", "Last_Name": "Wang", "Email": "fang.w@example.com", "Mobile": "+8613800138000"},
		map[string]any{"Full_Name": "Na Li", "Last_Name": "Li", "Email": "li.na@example.com", "Mobile": "+8613900139000", "Shop_Customer_Id": "C(1),A"},
	)
	ctx := context.Background()
	n := build(t, MatchType, map[string]any{"keys": matchKeys})

	res, err := n.Execute(ctx, s.exec(customer("C(1),A", "", "")))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if res.Port != "found" || out["id"] != "4150868000000224003" || out["label"] != "Na Li" {
		t.Fatalf("found: %s %v", res.Port, out)
	}
	q := s.received()[0].URL.Query()
	if q.Get("criteria") != `(Shop_Customer_Id:equals:C\(1\)\,A)` || q.Get("per_page") != "6" || q.Get("page") != "1" ||
		q.Get("fields") != "Shop_Customer_Id,Mobile,Email,Full_Name,Account_Name,Deal_Name,Name,Last_Name" {
		t.Fatalf("search %v", q)
	}

	res, err = n.Execute(ctx, s.exec(customer("", "138 0013 8000", "wang.fang@example.com")))
	if err != nil || res.Port != "ambiguous" {
		t.Fatalf("ambiguous: %s %v", res.Port, err)
	}
	r, _ := crm.ParseResult(res.Output)
	if len(r.Candidates) != 2 || r.Candidates[0].Label != "Fang Wang" ||
		fmt.Sprint(r.Candidates[0].Matched) != "[{phone Mobile +8613800138000} {email Email wang.fang@example.com}]" ||
		fmt.Sprint(r.Candidates[1].Matched) != "[{phone Mobile +8613800138000}]" {
		t.Fatalf("candidates %+v", r.Candidates)
	}
	if len(s.received()) != 2 || s.received()[1].URL.Query().Get("criteria") != "(Mobile:equals:+8613800138000)" {
		t.Fatalf("searched %d times", len(s.received()))
	}

	res, err = n.Execute(ctx, s.exec(customer("C-404", "13700137000", "new@example.com")))
	if err != nil || res.Port != "none" {
		t.Fatalf("none: %s %v", res.Port, err)
	}
	for _, r := range s.received() {
		if r.Method != http.MethodGet || r.URL.Path != "/crm/v8/Contacts/search" {
			t.Fatalf("a match sent %s %s", r.Method, r.URL.Path)
		}
	}

	s.tooMany = true
	_, err = n.Execute(ctx, s.exec(customer("C-1", "", "")))
	failure(t, err, CodeRateLimited, nodes.RetryAfter)
}

// TestEscapeCriteria: nothing in a value can end the condition or join another.
func TestEscapeCriteria(t *testing.T) {
	for in, want := range map[string]string{
		"plain@example.com":   "plain@example.com",
		"a)or(Email:equals:x": `a\)or\(Email:equals:x`,
		"Burns,B":             `Burns\,B`,
		"Patricia(Boyle)":     `Patricia\(Boyle\)`,
		"Tom and Jerry":       "Tom and Jerry",
	} {
		if got := EscapeCriteria(in); got != want {
			t.Errorf("EscapeCriteria(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestMatchRefusesBadKeys: a name field, or a field name the criteria could not take, does not save.
func TestMatchRefusesBadKeys(t *testing.T) {
	reg, _ := nodes.Lookup(MatchType, 1)
	for field, code := range map[string]string{"Full_Name": crm.CodeNameKey, "Account_Name": crm.CodeNameKey, "Email)or(Id": crm.CodeKeyInvalid} {
		keys, _ := json.Marshal([]map[string]any{{"kind": "property", "field": field, "value": "x"}})
		_, err := reg.New(nodes.NewConfig(&reg.Spec, "m", map[string]json.RawMessage{"keys": keys}, "cred-1"))
		var ce *nodes.ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Code != code || !strings.HasPrefix(ce.Problems[0].Field, "keys[0]") {
			t.Errorf("%s: %v", field, err)
		}
	}
}
