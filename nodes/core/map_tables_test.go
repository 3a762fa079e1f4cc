package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

const statusLookups = `[
	{"name": "stage", "entries": {"TRADE_SUCCESS": "closedwon", "TRADE_FINISHED": "closedwon", "TRADE_CLOSED": "closedlost"}},
	{"name": "channel", "entries": {"alipay": "Alipay", "wechat": "WeChat Pay"}, "default": "Other"}
]`

func alipayTrigger(status, channel string) map[string]any {
	return map[string]any{"body": map[string]any{"trade_status": status, "channel": channel, "out_trade_no": "T100"}}
}

func TestMapLookupTables(t *testing.T) {
	n := mustBuild(t, MapType, `{"lookups": `+statusLookups+`, "fields": [
		{"target": "deal.stage", "expression": "lookup(trigger.body.trade_status, tables.stage)"},
		{"target": "deal.channel", "expression": "lookup(trigger.body.channel, tables.channel)"},
		{"target": "deal.channel_or_unset", "expression": "lookup(trigger.body.channel, tables.channel, \"unset\")"},
		{"target": "deal.direct", "expression": "tables.stage[trigger.body.trade_status] ?? \"open\""},
		{"target": "deal.id", "expression": "trigger.body.out_trade_no"}
	]}`)
	tests := []struct {
		status, channel string
		want            map[string]any
	}{
		{"TRADE_SUCCESS", "alipay", map[string]any{"stage": "closedwon", "channel": "Alipay", "channel_or_unset": "Alipay", "direct": "closedwon", "id": "T100"}},
		{"TRADE_CLOSED", "unionpay", map[string]any{"stage": "closedlost", "channel": "Other", "channel_or_unset": "unset", "direct": "closedlost", "id": "T100"}},
	}
	for _, tc := range tests {
		t.Run(tc.status+"/"+tc.channel, func(t *testing.T) {
			res, err := run(t, n, alipayTrigger(tc.status, tc.channel))
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Output.(map[string]any)["deal"]; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("deal = %s, want %s", mustJSON(t, got), mustJSON(t, tc.want))
			}
		})
	}
}

// D17: a status the table does not know, in a table without a default, fails the step for the error branch,
// naming the field and the value; it is not mapped to null.
func TestMapLookupUnmappedGoesToErrorBranch(t *testing.T) {
	n := mustBuild(t, MapType, `{"lookups": `+statusLookups+`, "fields": [
		{"target": "stage", "expression": "lookup(trigger.body.trade_status, tables.stage)"}
	]}`)
	_, err := run(t, n, alipayTrigger("WAIT_BUYER_PAY", "alipay"))
	e := wantFailure(t, err, nodes.Permanent, expression.CodeRuntime)
	if d, _ := e.Details.(map[string]any); d["field"] != "field stage" {
		t.Fatalf("details = %v", e.Details)
	}
	if !strings.Contains(err.Error(), `no entry for "WAIT_BUYER_PAY"`) {
		t.Fatalf("error = %v", err)
	}
}

// The tables are baked into the node once; a field that outputs a whole table gets it, and later runs still see
// the table unchanged.
func TestMapLookupTableValue(t *testing.T) {
	n := mustBuild(t, MapType, `{"lookups": [{"name": "t", "entries": {"a": "A"}}], "fields": [
		{"target": "table", "expression": "tables.t"},
		{"target": "names", "expression": "sort(keys(tables))"}
	]}`)
	res, err := run(t, n, alipayTrigger("", ""))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"table": map[string]any{"a": "A"}, "names": []any{"t"}}
	if !reflect.DeepEqual(res.Output, want) {
		t.Fatalf("output = %s", mustJSON(t, res.Output))
	}
}

func TestMapLookupConfig(t *testing.T) {
	tests := []struct {
		name, params, field, code string
	}{
		{"duplicate name", `{"lookups": [{"name": "s", "entries": {}}, {"name": "s", "entries": {}}], "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups[1].name", CodeMapTableDuplicate},
		{"name with space", `{"lookups": [{"name": "order status"}], "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups[0].name", CodeMapTableInvalid},
		{"name starts with digit", `{"lookups": [{"name": "1st"}], "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups[0].name", CodeMapTableInvalid},
		{"reserved name", `{"lookups": [{"name": "in"}], "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups[0].name", CodeMapTableInvalid},
		{"missing name", `{"lookups": [{"entries": {"a": "b"}}], "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups[0].name", nodes.CodeParamRequired},
		{"empty key", `{"lookups": [{"name": "s", "entries": {"": "x"}}], "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups[0].entries", CodeMapTableInvalid},
		{"key with spaces", `{"lookups": [{"name": "s", "entries": {"PAID ": "x"}}], "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups[0].entries.PAID ", CodeMapTableInvalid},
		{"entry not text", `{"lookups": [{"name": "s", "entries": {"a": 1}}], "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups[0].entries", nodes.CodeParamInvalid},
		{"default not text", `{"lookups": [{"name": "s", "default": 1}], "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups[0].default", nodes.CodeParamInvalid},
		{"unknown column", `{"lookups": [{"name": "s", "fallback": "x"}], "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups[0].fallback", nodes.CodeParamUnknown},
		{"not a list", `{"lookups": {"s": {}}, "fields": [{"target": "a", "expression": "1"}]}`,
			"lookups", nodes.CodeParamInvalid},
		{"unknown table", `{"lookups": [{"name": "stage"}], "fields": [{"target": "a", "expression": "lookup(trigger.body.s, tables.stag)"}]}`,
			"fields[0].expression", expression.CodeUnknownTable},
		{"table without lookups", `{"fields": [{"target": "a", "expression": "tables.stage[trigger.body.s]"}]}`,
			"fields[0].expression", expression.CodeUnknownTable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, MapType, tc.params, "")
			wantProblem(t, err, tc.field, tc.code)
		})
	}

	// The unknown table is pointed at by line and column.
	_, err := build(t, MapType, `{"lookups": [{"name": "stage"}], "fields": [{"target": "a", "expression": "lookup(\n  trigger.body.s, tables.stag)"}]}`, "")
	if p := wantProblem(t, err, "fields[0].expression", expression.CodeUnknownTable); p.Line != 2 || p.Column != 26 {
		t.Fatalf("problem = %+v, want line 2, column 26", p)
	}

	// A table with a bad name is still known to the expressions: only the name is reported.
	_, err = build(t, MapType, `{"lookups": [{"name": "if"}], "fields": [{"target": "a", "expression": "tables[\"if\"].x"}]}`, "")
	var ce *nodes.ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Field != "lookups[0].name" {
		t.Fatalf("problems = %v", err)
	}
}

func TestMapLookupLimits(t *testing.T) {
	rows := make([]string, MaxMapTables+1)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"name": "t%d"}`, i)
	}
	_, err := build(t, MapType, `{"lookups": [`+strings.Join(rows, ",")+`], "fields": [{"target": "a", "expression": "1"}]}`, "")
	wantProblem(t, err, "lookups", CodeMapTableInvalid)

	entries := make(map[string]string, MaxMapTableEntries+1)
	for i := 0; i <= MaxMapTableEntries; i++ {
		entries[fmt.Sprint(i)] = "x"
	}
	raw, _ := json.Marshal(entries)
	_, err = build(t, MapType, `{"lookups": [{"name": "big", "entries": `+string(raw)+`}], "fields": [{"target": "a", "expression": "1"}]}`, "")
	wantProblem(t, err, "lookups[0].entries", CodeMapTableInvalid)
}

// The spec asks the editor for tables, so the form needs no special case for this node.
func TestMapSpecDisplay(t *testing.T) {
	reg, _ := nodes.Lookup(MapType, 1)
	for _, name := range []string{"fields", "lookups"} {
		if f := reg.Spec.Field(name); f == nil || f.Display != nodes.DisplayTable || f.Type != nodes.TypeList {
			t.Fatalf("%s = %+v, want a list shown as a table", name, f)
		}
	}
	raw, _ := json.Marshal(reg.Spec.Field("lookups"))
	if !strings.Contains(string(raw), `"display":"table"`) {
		t.Fatalf("JSON = %s", raw)
	}
	raw, _ = json.Marshal(reg.Spec.Field("keepInput"))
	if strings.Contains(string(raw), `"display"`) {
		t.Fatalf("a field without a display hint serialises one: %s", raw)
	}
}
