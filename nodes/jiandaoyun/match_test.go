package jiandaoyun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/crm"
)

var matchKeys = []map[string]any{
	{"kind": "unionId", "field": "union_id", "value": "{{ trigger.customer.unionId }}"},
	{"kind": "phone", "field": "_widget_1432728651403", "value": "{{ trigger.customer.phone }}"},
	{"kind": "email", "field": "email", "value": "{{ trigger.customer.email }}"},
}

func customer(unionID, phone, email string) map[string]any {
	return map[string]any{"customer": map[string]any{"unionId": unionID, "phone": phone, "email": email}}
}

// TestMatch: jiandaoyun.match lists the form's records once per key with one eq condition: a union id is found, a
// phone two records share is ambiguous with both listed and the e-mail never tried, an unknown customer is none;
// only lists are sent.
func TestMatch(t *testing.T) {
	s := newStandIn(t)
	rows := []map[string]any{
		{"customer_name": "王芳", "_widget_1432728651403": "+8613800138000", "email": "wang.fang@example.com"},
		{"customer_name": "王芳", "_widget_1432728651403": "+8613800138000", "email": "fang.w@example.com"},
		{"customer_name": "李娜", "_widget_1432728651403": "+8613900139000", "email": "li.na@example.com", "union_id": "oRrdQt0c8Y-lina"},
	}
	s.add(len(rows), func(i int) map[string]any { return rows[i] })
	ctx := context.Background()
	n := build(t, MatchType, map[string]any{"app": testApp, "entry": testEntry, "labelField": "customer_name", "keys": matchKeys})

	res, err := n.Execute(ctx, s.exec(customer("oRrdQt0c8Y-lina", "", ""), testKey))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	if res.Port != "found" || out["id"] != fmt.Sprintf("%024x", 3) || out["label"] != "李娜" {
		t.Fatalf("found: %s %v", res.Port, out)
	}
	if got := fmt.Sprint(s.lastBody()); got != "map[app_id:"+testApp+" entry_id:"+testEntry+
		" filter:map[cond:[map[field:union_id method:eq value:[oRrdQt0c8Y-lina]]] rel:and] limit:6]" {
		t.Fatalf("list body %s", got)
	}

	sent := len(s.requests())
	res, err = n.Execute(ctx, s.exec(customer("", "138 0013 8000", "wang.fang@example.com"), testKey))
	if err != nil || res.Port != "ambiguous" {
		t.Fatalf("ambiguous: %s %v", res.Port, err)
	}
	r, _ := crm.ParseResult(res.Output)
	if len(r.Candidates) != 2 || r.Candidates[1].Label != "王芳" ||
		fmt.Sprint(r.Candidates[0].Matched) != "[{phone _widget_1432728651403 +8613800138000} {email email wang.fang@example.com}]" {
		t.Fatalf("candidates %+v", r.Candidates)
	}
	if len(s.requests())-sent != 1 {
		t.Fatalf("%d lists after an ambiguous key", len(s.requests())-sent)
	}

	res, err = n.Execute(ctx, s.exec(customer("oNew", "13700137000", "new@example.com"), testKey))
	if err != nil || res.Port != "none" {
		t.Fatalf("none: %s %v", res.Port, err)
	}
	for _, p := range s.requests() {
		if !strings.HasSuffix(p, "/app/entry/data/list") {
			t.Fatalf("a match sent %s", p)
		}
	}

	s.tooMany = 8303
	_, err = n.Execute(ctx, s.exec(customer("oNew", "", ""), testKey))
	failure(t, err, CodeRateLimited, nodes.RetryAfter)
}

// TestMatchRefusesBadKeys: a key on a field aliased as a name, a field that is neither an id nor an alias, and
// an app that is not an id do not save.
func TestMatchRefusesBadKeys(t *testing.T) {
	reg, _ := nodes.Lookup(MatchType, 1)
	for field, code := range map[string]string{"customer_name": crm.CodeNameKey, "姓名": crm.CodeNameKey, "a b": crm.CodeKeyInvalid} {
		keys, _ := json.Marshal([]map[string]any{{"kind": "property", "field": field, "value": "x"}})
		_, err := reg.New(nodes.NewConfig(&reg.Spec, "m", map[string]json.RawMessage{"keys": keys,
			"app": json.RawMessage(`"not-an-app"`), "entry": json.RawMessage(`"` + testEntry + `"`)}, "cred-1"))
		var ce *nodes.ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 2 {
			t.Fatalf("%s: %v", field, err)
		}
		got := map[string]string{}
		for _, p := range ce.Problems {
			got[p.Field] = p.Code
		}
		if got["keys[0].field"] != code || got["app"] != nodes.CodeParamInvalid {
			t.Errorf("%s: %+v", field, ce.Problems)
		}
	}
}
