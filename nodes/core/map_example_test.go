package core_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
)

// Lookup tables translate one system's statuses into another's. A table with an Otherwise value maps every
// unknown value to it; a table without one sends the run to the error branch, so nothing is dropped silently.
func Example_lookupTables() {
	reg, _ := nodes.Lookup(core.MapType, 0)
	var params map[string]json.RawMessage
	_ = json.Unmarshal([]byte(`{
		"lookups": [
			{"name": "stage", "entries": {"TRADE_SUCCESS": "closedwon", "TRADE_CLOSED": "closedlost"}},
			{"name": "channel", "entries": {"alipay": "Alipay"}, "default": "Other"}
		],
		"fields": [
			{"target": "dealstage", "expression": "lookup(trigger.body.trade_status, tables.stage)"},
			{"target": "channel", "expression": "lookup(trigger.body.channel, tables.channel)"}
		]
	}`), &params)
	node, err := reg.New(nodes.NewConfig(&reg.Spec, "map1", params, ""))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, body := range []map[string]any{
		{"trade_status": "TRADE_SUCCESS", "channel": "alipay"},
		{"trade_status": "TRADE_CLOSED", "channel": "bank"},
		{"trade_status": "WAIT_BUYER_PAY", "channel": "alipay"},
	} {
		trigger := map[string]any{"body": body}
		res, err := node.Execute(context.Background(), &nodes.Exec{Input: trigger, Env: map[string]any{"trigger": trigger}})
		if err != nil {
			fmt.Println(nodes.Classify(err).Code, "→ error branch")
			continue
		}
		out, _ := json.Marshal(res.Output)
		fmt.Println(string(out))
	}
	// Output:
	// {"channel":"Alipay","dealstage":"closedwon"}
	// {"channel":"Other","dealstage":"closedlost"}
	// expression_failed → error branch
}

// Problems with lookup tables are found when the flow is saved, each at its row.
func Example_lookupTableProblems() {
	reg, _ := nodes.Lookup(core.MapType, 0)
	params := map[string]json.RawMessage{
		"lookups": json.RawMessage(`[{"name": "stage"}, {"name": "stage"}, {"name": "order status"}]`),
		"fields":  json.RawMessage(`[{"target": "s", "expression": "lookup(trigger.body.status, tables.stages)"}]`),
	}
	_, err := reg.New(nodes.NewConfig(&reg.Spec, "map1", params, ""))
	for _, p := range err.(*nodes.ConfigError).Problems {
		fmt.Println(p.Field, p.Code)
	}
	// Output:
	// lookups[1].name map_table_duplicate
	// lookups[2].name map_table_invalid
	// fields[0].expression expression_unknown_table
}
