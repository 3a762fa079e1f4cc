package core

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

const statusCases = `{"value": "trigger.body.status", "cases": [
	{"port": "paid", "label": "Paid", "equals": "paid"},
	{"port": "hundred", "equals": "100"},
	{"port": "flag", "equals": "true"},
	{"port": "large", "when": "(trigger.body.amount ?? 0) >= 1000"},
	{"port": "paid_again", "equals": "paid"},
	{"port": "empty", "equals": ""}]}`

func TestSwitch(t *testing.T) {
	n := mustBuild(t, SwitchType, statusCases)
	tests := []struct {
		name string
		body map[string]any
		port string
	}{
		{"text", map[string]any{"status": "paid", "amount": int64(5000)}, "paid"},
		{"integer matches its text", map[string]any{"status": int64(100)}, "hundred"},
		{"integral float matches too", map[string]any{"status": 100.0}, "hundred"},
		{"boolean", map[string]any{"status": true}, "flag"},
		{"condition", map[string]any{"status": "pending", "amount": int64(1000)}, "large"},
		{"null is empty text", map[string]any{"amount": int64(1)}, "empty"},
		{"case-sensitive", map[string]any{"status": "PAID"}, PortDefault},
		{"no match", map[string]any{"status": "refunded"}, PortDefault},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trigger := map[string]any{"body": tc.body}
			res, err := n.Execute(t.Context(), &nodes.Exec{Input: "in", Env: env(trigger, "in")})
			if err != nil || res.Port != tc.port || res.Output != "in" {
				t.Fatalf("Execute = %+v, %v; want port %s with the input", res, err, tc.port)
			}
		})
	}
}

func TestSwitchWhenOnly(t *testing.T) {
	n := mustBuild(t, SwitchType, `{"cases": [{"port": "cn", "when": "trigger.body.country == \"CN\""}]}`)
	res, err := n.Execute(t.Context(), &nodes.Exec{Env: env(map[string]any{"body": map[string]any{"country": "CN"}}, nil)})
	if err != nil || res.Port != "cn" {
		t.Fatalf("Execute = %+v, %v", res, err)
	}
	_, err = n.Execute(t.Context(), &nodes.Exec{Env: env(map[string]any{}, nil)})
	e := wantFailure(t, err, nodes.Permanent, "expression_failed")
	if e.Details.(map[string]any)["field"] != "cases[0].when" {
		t.Fatalf("details = %v", e.Details)
	}
}

func TestSwitchConfig(t *testing.T) {
	tests := []struct {
		name, params, field, code string
	}{
		{"no cases", `{"value": "1"}`, "cases", nodes.CodeParamRequired},
		{"empty cases", `{"value": "1", "cases": []}`, "cases", nodes.CodeParamRequired},
		{"missing port", `{"value": "1", "cases": [{"equals": "1"}]}`, "cases[0].port", nodes.CodeParamRequired},
		{"bad port", `{"value": "1", "cases": [{"port": "Paid!", "equals": "1"}]}`, "cases[0].port", nodes.CodeParamInvalid},
		{"reserved default", `{"value": "1", "cases": [{"port": "default", "equals": "1"}]}`, "cases[0].port", nodes.CodeParamInvalid},
		{"reserved error", `{"value": "1", "cases": [{"port": "error", "equals": "1"}]}`, "cases[0].port", nodes.CodeParamInvalid},
		{"duplicate port", `{"value": "1", "cases": [{"port": "a", "equals": "1"}, {"port": "a", "equals": "2"}]}`, "cases[1].port", nodes.CodeParamInvalid},
		{"both", `{"value": "1", "cases": [{"port": "a", "equals": "1", "when": "true"}]}`, "cases[0].when", nodes.CodeParamInvalid},
		{"neither", `{"value": "1", "cases": [{"port": "a"}]}`, "cases[0].equals", nodes.CodeParamRequired},
		{"value needed", `{"cases": [{"port": "a", "equals": "1"}]}`, "value", nodes.CodeParamRequired},
		{"when not boolean", `{"cases": [{"port": "a", "when": "\"x\""}]}`, "cases[0].when", "expression_invalid"},
		{"value syntax", `{"value": "a.(", "cases": [{"port": "a", "equals": "1"}]}`, "value", "expression_invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, SwitchType, tc.params, "")
			wantProblem(t, err, tc.field, tc.code)
		})
	}
}

func TestSwitchPorts(t *testing.T) {
	reg, _ := nodes.Lookup(SwitchType, 1)
	var params map[string]json.RawMessage
	if err := json.Unmarshal([]byte(statusCases), &params); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range reg.Spec.OutputPorts(params) {
		ids = append(ids, p.ID)
	}
	want := []string{"paid", "hundred", "flag", "large", "paid_again", "empty", "default", "error"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("ports = %v, want %v", ids, want)
	}
}
