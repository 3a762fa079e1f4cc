package core_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
)

// A validate step sends data that meets every rule to valid, unchanged, and other data to invalid with one
// problem per failing rule: the example of the node's docs.
func Example_validate() {
	reg, _ := nodes.Lookup(core.ValidateType, 1)
	params := map[string]json.RawMessage{"rules": json.RawMessage(`[
		{"field": "email", "check": "required"},
		{"field": "email", "check": "email"},
		{"field": "amount", "check": "amount_range", "min": "0.01", "max": "100"}]`)}
	node, err := reg.New(nodes.NewConfig(&reg.Spec, "validate1", params, ""))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, body := range []string{`{"email": "ada@example.com", "amount": "99.90"}`, `{"email": "ada@", "amount": 120}`} {
		input, _ := nodes.DecodeJSON([]byte(body))
		res, err := node.Execute(context.Background(), &nodes.Exec{Input: input})
		if err != nil {
			fmt.Println(err)
			return
		}
		out, _ := json.Marshal(res.Output)
		fmt.Println(res.Port, string(out))
	}
	// Output:
	// valid {"amount":"99.90","email":"ada@example.com"}
	// invalid {"input":{"amount":120,"email":"ada@"},"problems":[{"check":"email","field":"email","message":"email is not an e-mail address","value":"ada@"},{"check":"amount_range","field":"amount","message":"amount must be from 0.01 to 100","value":120}]}
}
