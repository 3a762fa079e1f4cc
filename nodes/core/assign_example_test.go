package core_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
)

// Round-robin lead assignment with an owner on leave: the step takes its turns from Exec.Rotations (the
// store, in the server), so each lead goes to the next available owner.
func Example_assign() {
	reg, _ := nodes.Lookup(core.AssignType, 0)
	var params map[string]json.RawMessage
	_ = json.Unmarshal([]byte(`{"owners": [{"id": "u1", "name": "Li Na"}, {"id": "u2", "name": "Wang Wei"},
		{"id": "u3", "name": "Zhang Min"}], "onLeave": "vars.onLeave"}`), &params)
	node, err := reg.New(nodes.NewConfig(&reg.Spec, "assign", params, ""))
	if err != nil {
		fmt.Println(err)
		return
	}
	turns := nodes.NewMemoryRotations()
	for _, lead := range []string{"lead-1", "lead-2", "lead-3"} {
		input := map[string]any{"lead": lead}
		res, err := node.Execute(context.Background(), &nodes.Exec{
			Input: input, FlowID: "leads", NodeID: "assign", Mode: nodes.ModeLive, Rotations: turns,
			Env: map[string]any{"trigger": input, "prev": input, "nodes": map[string]any{},
				"vars": map[string]any{"onLeave": []any{"u2"}}, "env": "live"},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		out, _ := json.Marshal(res.Output)
		fmt.Println(string(out))
	}
	// Output:
	// {"assignment":{"owner":{"id":"u1","name":"Li Na"},"reason":"roundRobin","skipped":[{"id":"u2","name":"Wang Wei","reason":"onLeave"}]},"lead":"lead-1"}
	// {"assignment":{"owner":{"id":"u3","name":"Zhang Min"},"reason":"roundRobin","skipped":[{"id":"u2","name":"Wang Wei","reason":"onLeave"}]},"lead":"lead-2"}
	// {"assignment":{"owner":{"id":"u1","name":"Li Na"},"reason":"roundRobin","skipped":[{"id":"u2","name":"Wang Wei","reason":"onLeave"}]},"lead":"lead-3"}
}
