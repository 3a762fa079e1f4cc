package core

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/nodes"
)

func TestSplitAsksForChildren(t *testing.T) {
	n := mustBuild(t, SplitType, `{"items": "prev.lines", "key": "prev.sku", "parallel": 3}`)
	lines := []any{map[string]any{"sku": "A"}, map[string]any{"sku": 7.0}}
	res, err := run(t, n, map[string]any{"lines": lines})
	if err != nil {
		t.Fatal(err)
	}
	want := &nodes.Split{Port: PortEach, Items: lines, Keys: []string{"A", "7"}, Parallel: 3}
	if !reflect.DeepEqual(res.Split, want) {
		t.Fatalf("split %+v, want %+v", res.Split, want)
	}
	// Without a key expression, items are named by their index.
	res, _ = run(t, mustBuild(t, SplitType, `{"items": "prev.lines"}`), map[string]any{"lines": lines})
	if !reflect.DeepEqual(res.Split.Keys, []string{"0", "1"}) || res.Split.Parallel != 10 {
		t.Fatalf("default split %+v", res.Split)
	}
	// An empty list goes straight on.
	res, err = run(t, n, map[string]any{"lines": []any{}})
	if err != nil || res.Split != nil || res.Port != PortDone || res.Output.(map[string]any)["total"] != 0 {
		t.Fatalf("empty list: %+v %v", res, err)
	}
}

func TestSplitFailures(t *testing.T) {
	n := mustBuild(t, SplitType, `{"items": "prev.lines", "key": "prev.sku", "maxItems": 2}`)
	for _, c := range []struct {
		lines any
		code  string
	}{
		{"not a list", CodeSplitNotList},
		{[]any{map[string]any{"sku": "A"}, map[string]any{"sku": "B"}, map[string]any{"sku": "C"}}, CodeSplitTooMany},
		{[]any{map[string]any{"sku": "A"}, map[string]any{"sku": "A"}}, CodeSplitKey},
		{[]any{map[string]any{"sku": ""}}, CodeSplitKey},
		{[]any{map[string]any{"other": 1}}, CodeSplitKey},
	} {
		_, err := run(t, n, map[string]any{"lines": c.lines})
		nodetest.Failure(t, err, c.code, nodes.Permanent)
	}
	for params, want := range map[string][2]string{
		`{"items": "prev.lines", "parallel": 0}`:                     {"parallel", nodes.CodeParamInvalid},
		`{"items": "prev.lines", "parallel": 101}`:                   {"parallel", nodes.CodeParamInvalid},
		`{"items": "prev.lines", "maxItems": 10001}`:                 {"maxItems", nodes.CodeParamInvalid},
		`{"items": "prev.lines", "collect": true, "maxItems": 5000}`: {"collect", nodes.CodeParamInvalid},
		`{"items": "prev.lines +"}`:                                  {"items", expression.CodeSyntax},
	} {
		_, err := build(t, SplitType, params, "")
		wantProblem(t, err, want[0], want[1])
	}
}

func TestSplitTestRunAndResume(t *testing.T) {
	n := mustBuild(t, SplitType, `{"items": "prev.lines"}`)
	lines := []any{map[string]any{"sku": "A"}, map[string]any{"sku": "B"}}
	x := &nodes.Exec{Input: map[string]any{"lines": lines}, Env: env(nil, map[string]any{"lines": lines}), Mode: nodes.ModeTest, Attempt: 1}
	res, err := n.Execute(context.Background(), x)
	if err != nil || res.Split != nil || res.Port != PortEach || !reflect.DeepEqual(res.Output, lines[0]) {
		t.Fatalf("test run: %+v %v", res, err)
	}
	summary, _ := json.Marshal(map[string]any{"total": 2, "succeeded": 2, "failed": 0})
	x = &nodes.Exec{Mode: nodes.ModeLive, Attempt: 1, Resume: &nodes.Resume{WaitID: "children:split:1", Decision: summary}}
	res, err = n.Execute(context.Background(), x)
	if err != nil || res.Port != PortDone || res.Output.(map[string]any)["succeeded"] != 2.0 {
		t.Fatalf("resume: %+v %v", res, err)
	}
}
