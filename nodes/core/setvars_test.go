package core

import (
	"reflect"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

func TestSetVars(t *testing.T) {
	n := mustBuild(t, SetVarsType, `{"vars": [
		{"name": "amount_cents", "expression": "int(prev.amount * 100)"},
		{"name": "tier", "expression": "vars.amount_cents > 10000 ? \"high\" : \"standard\""},
		{"name": "region", "expression": "vars.region ?? \"EU\""}]}`)
	input := map[string]any{"amount": 149.99}
	e := env(input, input)
	e["vars"] = map[string]any{"existing": true}
	res, err := n.Execute(t.Context(), &nodes.Exec{Input: input, Env: e})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"amount_cents": 14999, "tier": "high", "region": "EU"}
	if !reflect.DeepEqual(res.Vars, want) {
		t.Fatalf("vars = %#v, want %#v", res.Vars, want)
	}
	if !reflect.DeepEqual(res.Output, input) {
		t.Fatalf("output = %v, want the input", res.Output)
	}
	if !reflect.DeepEqual(e["vars"], map[string]any{"existing": true}) {
		t.Fatalf("the run's vars were modified: %v", e["vars"])
	}
}

func TestSetVarsFailures(t *testing.T) {
	_, err := run(t, mustBuild(t, SetVarsType, `{"vars": [{"name": "x", "expression": "prev.a.b"}]}`), map[string]any{})
	e := wantFailure(t, err, nodes.Permanent, "expression_failed")
	if e.Details.(map[string]any)["field"] != "vars.x" {
		t.Fatalf("details = %v", e.Details)
	}
	for _, tc := range []struct{ params, field, code string }{
		{`{}`, "vars", nodes.CodeParamRequired},
		{`{"vars": []}`, "vars", nodes.CodeParamRequired},
		{`{"vars": [{"expression": "1"}]}`, "vars[0].name", nodes.CodeParamRequired},
		{`{"vars": [{"name": "2fast", "expression": "1"}]}`, "vars[0].name", nodes.CodeParamInvalid},
		{`{"vars": [{"name": "a-b", "expression": "1"}]}`, "vars[0].name", nodes.CodeParamInvalid},
		{`{"vars": [{"name": "a", "expression": "1"}, {"name": "a", "expression": "2"}]}`, "vars[1].name", nodes.CodeParamInvalid},
		{`{"vars": [{"name": "a"}]}`, "vars[0].expression", nodes.CodeParamRequired},
		{`{"vars": [{"name": "a", "expression": "1 +"}]}`, "vars[0].expression", "expression_invalid"},
	} {
		_, err := build(t, SetVarsType, tc.params, "")
		wantProblem(t, err, tc.field, tc.code)
	}
}
