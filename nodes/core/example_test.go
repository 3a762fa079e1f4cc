package core_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
)

// Building and running a node the way the engine does: look the type up, check the JSON parameters through
// NewConfig, construct, then execute a step against the run's expression environment.
func Example() {
	reg, _ := nodes.Lookup(core.MapType, 0)
	var params map[string]json.RawMessage
	_ = json.Unmarshal([]byte(`{"fields": [
		{"target": "order_id", "expression": "trigger.body.order_id", "required": true},
		{"target": "customer.email", "expression": "lower(trigger.body.customer.email)"},
		{"target": "amount_minor", "expression": "trigger.body.amount", "type": "money_minor", "currency": "{{ trigger.body.currency }}"}
	]}`), &params)
	node, err := reg.New(nodes.NewConfig(&reg.Spec, "map1", params, ""))
	if err != nil {
		fmt.Println(err)
		return
	}

	body, _ := nodes.DecodeJSON([]byte(`{"order_id": "ord_8f3a", "amount": 149.99, "currency": "EUR",
		"customer": {"email": "Ada.Lovelace@Example.COM"}}`))
	trigger := map[string]any{"body": body}
	res, err := node.Execute(context.Background(), &nodes.Exec{
		Input: trigger,
		Env:   map[string]any{"trigger": trigger, "prev": trigger, "nodes": map[string]any{}, "vars": map[string]any{}, "env": "test"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := json.Marshal(res.Output)
	fmt.Println(string(out))
	// Output: {"amount_minor":14999,"customer":{"email":"ada.lovelace@example.com"},"order_id":"ord_8f3a"}
}

// Bad parameters are reported all at once, each with the field it belongs to, before anything runs.
func Example_problems() {
	reg, _ := nodes.Lookup(core.SwitchType, 0)
	params := map[string]json.RawMessage{
		"value": json.RawMessage(`"trigger.body.status"`),
		"cases": json.RawMessage(`[{"port": "paid", "equals": "paid"}, {"port": "paid", "equals": "captured"}, {"port": "Refund!", "when": "true"}]`),
	}
	_, err := reg.New(nodes.NewConfig(&reg.Spec, "switch1", params, ""))
	for _, p := range err.(*nodes.ConfigError).Problems {
		fmt.Println(p.Field, p.Code)
	}
	// Output:
	// cases[1].port param_invalid
	// cases[2].port param_invalid
}
