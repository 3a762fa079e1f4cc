package engine_test

import (
	"context"
	"testing"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
)

// runawayFlow maps a field with an expression that doubles a text 27 times (128 MiB), in a step that would
// otherwise be retried.
const runawayFlow = `{"schema":1,"name":"runaway","nodes":[
 {"id":"in","type":"test.trigger"},
 {"id":"map","type":"core.map","params":{"fields":[{"target":"x","expression":"reduce(1..27, #acc + #acc, \"x\")"}]},
  "retry":{"maxAttempts":3,"backoff":"10s"}},
 {"id":"after","type":"test.pass"}],
 "edges":[{"source":"in","target":"map"},{"source":"map","target":"after"}]}`

// TestRunawayExpressionFailsTheStepPermanently: an evaluation stopped at its limits fails its step at once,
// in live and test runs alike, with the limit's code and where the expression stopped; a retry would only hit
// the same limit.
func TestRunawayExpressionFailsTheStepPermanently(t *testing.T) {
	c := compile(t, runawayFlow)
	for _, mode := range []nodes.Mode{nodes.ModeLive, nodes.ModeTest} {
		out := (&engine.Engine{}).Execute(context.Background(), c, start(c, mode, map[string]any{}))
		if out.Status != engine.StatusFailed || out.Error == nil {
			t.Fatalf("%s run: status %s, error %+v; want failed", mode, out.Status, out.Error)
		}
		if out.Error.Code != "expression_memory_exceeded" || out.Error.Kind != string(nodes.Permanent) || out.Error.NodeID != "map" {
			t.Fatalf("%s run: error %+v, want a permanent expression_memory_exceeded at map", mode, out.Error)
		}
		d, _ := out.Error.Details.(map[string]any)
		if d["field"] != "field x" || d["line"] != 1 || d["column"] == nil {
			t.Errorf("%s run: details %v, want the field and the position", mode, out.Error.Details)
		}
		if last := out.Steps[len(out.Steps)-1]; last.NodeID != "map" || last.Attempt != 1 || last.Status != engine.StepFailed {
			t.Errorf("%s run: last step %+v", mode, last)
		}
	}
}
