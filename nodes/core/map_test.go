package core

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

// orderPayload is the webhook body of the project's benchmark (shared/bench/payload.json), as nodes.DecodeJSON gives it.
const orderJSON = `{"event":"order.paid","order_id":"ord_8f3a2c91d4","created_at":"2026-11-22T07:30:00Z","amount":149.99,` +
	`"currency":"EUR","customer":{"id":"cus_51b7e0","name":"Ada Lovelace","email":"Ada.Lovelace@Example.COM",` +
	`"phone":"+44 20 7946 0958"},"items":[{"sku":"SKU-1001","name":"Analytical Engine manual","qty":1,"price":99.99},` +
	`{"sku":"SKU-2002","name":"Punch cards (pack of 500)","qty":2,"price":25.00}],"shipping":{"method":"express",` +
	`"address":{"line1":"12 St James's Square","city":"London","postcode":"SW1Y 4JH","country":"GB"}},` +
	`"payment":{"provider":"card","last4":"4242","status":"captured"}}`

func orderTrigger(t testing.TB) map[string]any {
	t.Helper()
	body, err := nodes.DecodeJSON([]byte(orderJSON))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"body": body, "headers": map[string]any{"content-type": "application/json"}, "query": map[string]any{}, "method": "POST"}
}

func TestMapFields(t *testing.T) {
	trigger := orderTrigger(t)
	tests := []struct {
		name   string
		fields string
		want   map[string]any
	}{
		{"copy and nest",
			`[{"target": "order_id", "expression": "trigger.body.order_id"},
			  {"target": "customer.email", "expression": "lower(trigger.body.customer.email)"},
			  {"target": "customer.address.city", "expression": "trigger.body.shipping.address.city"}]`,
			map[string]any{"order_id": "ord_8f3a2c91d4", "customer": map[string]any{"email": "ada.lovelace@example.com",
				"address": map[string]any{"city": "London"}}}},
		{"defaults and nulls",
			`[{"target": "phone", "expression": "trigger.body.customer?.mobile", "default": ""},
			  {"target": "tags", "expression": "trigger.body.tags", "default": ["new"]},
			  {"target": "note", "expression": "trigger.body.note"}]`,
			map[string]any{"phone": "", "tags": []any{"new"}, "note": nil}},
		{"conversions",
			`[{"target": "amount_text", "expression": "trigger.body.amount", "type": "string"},
			  {"target": "qty", "expression": "\"2\"", "type": "integer"},
			  {"target": "whole", "expression": "trigger.body.items[1].price", "type": "integer"},
			  {"target": "price", "expression": "\"25.50\"", "type": "number"},
			  {"target": "count", "expression": "len(trigger.body.items)", "type": "number"},
			  {"target": "express", "expression": "\"yes\"", "type": "boolean"},
			  {"target": "created", "expression": "trigger.body.created_at", "type": "time"},
			  {"target": "epoch", "expression": "1767225600", "type": "time"},
			  {"target": "day", "expression": "\"2026-11-22\"", "type": "time"}]`,
			map[string]any{"amount_text": "149.99", "qty": int64(2), "whole": int64(25), "price": 25.5, "count": int64(2),
				"express": true, "created": "2026-11-22T07:30:00Z", "epoch": "2026-01-01T00:00:00Z", "day": "2026-11-22T00:00:00Z"}},
		{"money",
			`[{"target": "eur", "expression": "trigger.body.amount", "type": "money_minor", "currency": "EUR"},
			  {"target": "dynamic", "expression": "trigger.body.amount", "type": "money_minor", "currency": "{{ trigger.body.currency }}"},
			  {"target": "yen", "expression": "1500", "type": "money_minor", "currency": "JPY"},
			  {"target": "dinar", "expression": "\"1.2345\"", "type": "money_minor", "currency": "kwd"},
			  {"target": "cny_default", "expression": "\"0.1\"", "type": "money_minor"},
			  {"target": "float_noise", "expression": "0.1 + 0.2", "type": "money_minor", "currency": "USD"},
			  {"target": "sum", "expression": "trigger.body.items[0].price + trigger.body.items[1].price * 2", "type": "money_minor", "currency": "EUR"}]`,
			map[string]any{"eur": int64(14999), "dynamic": int64(14999), "yen": int64(1500), "dinar": int64(1235),
				"cny_default": int64(10), "float_noise": int64(30), "sum": int64(14999)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := mustBuild(t, MapType, `{"fields": `+tc.fields+`}`)
			res, err := n.Execute(t.Context(), &nodes.Exec{Input: trigger, Env: env(trigger, trigger)})
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if !reflect.DeepEqual(res.Output, tc.want) {
				t.Fatalf("output = %s\nwant     %s", mustJSON(t, res.Output), mustJSON(t, tc.want))
			}
		})
	}
}

func TestMapKeepInputDoesNotModifyInput(t *testing.T) {
	input := map[string]any{"id": "o1", "customer": map[string]any{"name": "Ada", "address": map[string]any{"city": "London"}}, "status": "x"}
	before := mustJSON(t, input)
	n := mustBuild(t, MapType, `{"keepInput": true, "fields": [
		{"target": "customer.address.country", "expression": "\"GB\""},
		{"target": "customer.email", "expression": "\"ada@example.com\""},
		{"target": "status.code", "expression": "\"paid\""},
		{"target": "total", "expression": "1"}]}`)
	res, err := run(t, n, input)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "o1", "total": int64(1), "status": map[string]any{"code": "paid"},
		"customer": map[string]any{"name": "Ada", "email": "ada@example.com", "address": map[string]any{"city": "London", "country": "GB"}}}
	if mustJSON(t, res.Output) != mustJSON(t, want) {
		t.Fatalf("output = %s\nwant     %s", mustJSON(t, res.Output), mustJSON(t, want))
	}
	if after := mustJSON(t, input); after != before {
		t.Fatalf("input changed:\n%s\n%s", before, after)
	}
	// Without an object to keep, the fields make a new object.
	if res, err = run(t, n, "text"); err != nil || len(res.Output.(map[string]any)) != 3 {
		t.Fatalf("non-object input: %v %v", res.Output, err)
	}
}

func TestMapDefaultIsNotShared(t *testing.T) {
	n := mustBuild(t, MapType, `{"fields": [{"target": "tags", "expression": "nil", "default": {"list": ["a"]}}]}`)
	first, _ := run(t, n, nil)
	first.Output.(map[string]any)["tags"].(map[string]any)["list"] = "changed"
	second, _ := run(t, n, nil)
	if got := mustJSON(t, second.Output); got != `{"tags":{"list":["a"]}}` {
		t.Fatalf("second run = %s, the default was modified through the first", got)
	}
}

func TestMapFailures(t *testing.T) {
	trigger := orderTrigger(t)
	tests := []struct {
		name, fields, code, field string
	}{
		{"required", `[{"target": "vat_id", "expression": "trigger.body.vat_id", "required": true}]`, CodeMapFieldRequired, "vat_id"},
		{"not a whole number", `[{"target": "n", "expression": "trigger.body.amount", "type": "integer"}]`, CodeMapFieldInvalid, "n"},
		{"not a number", `[{"target": "n", "expression": "trigger.body.event", "type": "number"}]`, CodeMapFieldInvalid, "n"},
		{"not a boolean", `[{"target": "b", "expression": "\"maybe\"", "type": "boolean"}]`, CodeMapFieldInvalid, "b"},
		{"not a time", `[{"target": "t", "expression": "\"yesterday\"", "type": "time"}]`, CodeMapFieldInvalid, "t"},
		{"not an amount", `[{"target": "a", "expression": "\"1,50\"", "type": "money_minor"}]`, CodeMapFieldInvalid, "a"},
		{"bad dynamic currency", `[{"target": "a", "expression": "1", "type": "money_minor", "currency": "{{ trigger.body.event }}"}]`, CodeMapFieldInvalid, "a"},
		{"expression fails", `[{"target": "x", "expression": "trigger.body.missing.field"}]`, "expression_failed", "field x"},
		{"expression stopped at its memory budget", `[{"target": "x", "expression": "reduce(1..27, #acc + #acc, \"x\")"}]`, "expression_memory_exceeded", "field x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := mustBuild(t, MapType, `{"fields": `+tc.fields+`}`)
			_, err := n.Execute(t.Context(), &nodes.Exec{Input: trigger, Env: env(trigger, trigger)})
			e := wantFailure(t, err, nodes.Permanent, tc.code)
			if d, _ := e.Details.(map[string]any); d["field"] != tc.field {
				t.Fatalf("details = %v, want field %q", e.Details, tc.field)
			}
		})
	}
}

func TestMapConfig(t *testing.T) {
	tests := []struct {
		name, params, field, code string
	}{
		{"no fields", `{}`, "fields", nodes.CodeParamRequired},
		{"empty fields", `{"fields": []}`, "fields", nodes.CodeParamRequired},
		{"missing target", `{"fields": [{"expression": "1"}]}`, "fields[0].target", nodes.CodeParamRequired},
		{"missing expression", `{"fields": [{"target": "a"}]}`, "fields[0].expression", nodes.CodeParamRequired},
		{"empty path part", `{"fields": [{"target": "customer..email", "expression": "1"}]}`, "fields[0].target", nodes.CodeParamInvalid},
		{"duplicate target", `{"fields": [{"target": "a", "expression": "1"}, {"target": "a", "expression": "2"}]}`, "fields[1].target", nodes.CodeParamInvalid},
		{"overlapping targets", `{"fields": [{"target": "a.b", "expression": "1"}, {"target": "a", "expression": "2"}]}`, "fields[1].target", nodes.CodeParamInvalid},
		{"syntax error", `{"fields": [{"target": "a", "expression": "lower(trigger.body.email"}]}`, "fields[0].expression", "expression_invalid"},
		{"unknown type", `{"fields": [{"target": "a", "expression": "1", "type": "decimal"}]}`, "fields[0].type", nodes.CodeParamInvalid},
		{"bad currency", `{"fields": [{"target": "a", "expression": "1", "type": "money_minor", "currency": "EURO"}]}`, "fields[0].currency", nodes.CodeParamInvalid},
		{"bad currency template", `{"fields": [{"target": "a", "expression": "1", "type": "money_minor", "currency": "{{ trigger. }}"}]}`, "fields[0].currency", "expression_invalid"},
		{"unknown column", `{"fields": [{"target": "a", "expression": "1", "format": "x"}]}`, "fields[0].format", nodes.CodeParamUnknown},
		{"keepInput not boolean", `{"keepInput": "yes", "fields": [{"target": "a", "expression": "1"}]}`, "keepInput", nodes.CodeParamInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, MapType, tc.params, "")
			wantProblem(t, err, tc.field, tc.code)
		})
	}
	_, err := build(t, MapType, `{"fields": [{"target": "a", "expression": "1 +\n  (2"}]}`, "")
	if p := wantProblem(t, err, "fields[0].expression", "expression_invalid"); p.Line != 2 {
		t.Fatalf("problem = %+v, want line 2", p)
	}
}

func TestToMinor(t *testing.T) {
	tests := []struct {
		in      any
		exp     int
		want    int64
		wantErr string
	}{
		{149.99, 2, 14999, ""},
		{0.07, 2, 7, ""},
		{1.005, 2, 101, ""}, // the float 1.005 prints as 1.005, so it rounds up, unlike math.Round(1.005*100)
		{-12.345, 2, -1235, ""},
		{int64(12), 2, 1200, ""},
		{12, 0, 12, ""},
		{"+.5", 2, 50, ""},
		{"7.", 3, 7000, ""},
		{" 1.2345 ", 3, 1235, ""},
		{"0.0049", 2, 0, ""},
		{"92233720368547758.07", 2, 9223372036854775807, ""},
		{"92233720368547758.08", 2, 0, "too large"},
		{int64(92233720368547759), 2, 0, "too large"},
		{"1e3", 2, 0, "not a decimal amount"},
		{"", 2, 0, "not a decimal amount"},
		{".", 2, 0, "not a decimal amount"},
		{"--1", 2, 0, "not a decimal amount"},
		{true, 2, 0, "cannot convert"},
	}
	for _, tc := range tests {
		got, err := toMinor(tc.in, tc.exp)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("toMinor(%v, %d) error = %v, want %q", tc.in, tc.exp, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("toMinor(%v, %d) = %d, %v; want %d", tc.in, tc.exp, got, err, tc.want)
		}
	}
}

// BenchmarkMap5Fields maps the benchmark's order payload to the five fields a CRM update typically needs.
func BenchmarkMap5Fields(b *testing.B) {
	n := mustBuild(b, MapType, `{"fields": [
		{"target": "order_id", "expression": "trigger.body.order_id", "required": true},
		{"target": "email", "expression": "lower(trigger.body.customer.email)"},
		{"target": "customer_name", "expression": "trigger.body.customer.name", "type": "string"},
		{"target": "amount_cents", "expression": "trigger.body.amount", "type": "money_minor", "currency": "{{ trigger.body.currency }}"},
		{"target": "item_count", "expression": "len(trigger.body.items)", "type": "integer"}]}`)
	trigger := orderTrigger(b)
	x := &nodes.Exec{Input: trigger, Env: env(trigger, trigger)}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Execute(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
}

// One node serves every run of a flow version at once, over inputs other steps share.
func TestMapConcurrentRuns(t *testing.T) {
	n := mustBuild(t, MapType, `{"keepInput": true, "fields": [
		{"target": "customer.email", "expression": "lower(prev.customer.email)"},
		{"target": "amount_minor", "expression": "prev.amount", "type": "money_minor", "currency": "{{ prev.currency }}"}]}`)
	input := orderTrigger(t)["body"]
	before := mustJSON(t, input)
	done := make(chan error)
	for range 4 {
		go func() {
			var err error
			for range 50 {
				if _, err = run(t, n, input); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if mustJSON(t, input) != before {
		t.Fatal("the shared input was modified")
	}
}
