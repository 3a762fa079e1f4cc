package core

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

func TestCondition(t *testing.T) {
	trigger := orderTrigger(t)
	tests := []struct {
		cond string
		port string
	}{
		{"trigger.body.amount > 100", PortTrue},
		{"trigger.body.amount > 1000", PortFalse},
		{`trigger.body.payment?.status == "captured" && env == "live"`, PortTrue},
		{`trigger.body.refund?.status == "done"`, PortFalse},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			n := mustBuild(t, ConditionType, mustJSON(t, map[string]string{"condition": tc.cond}))
			res, err := n.Execute(t.Context(), &nodes.Exec{Input: "in", Env: env(trigger, "in")})
			if err != nil || res.Port != tc.port || res.Output != "in" {
				t.Fatalf("Execute = %+v, %v; want port %s with the input", res, err, tc.port)
			}
		})
	}
}

func TestConditionFailures(t *testing.T) {
	n := mustBuild(t, ConditionType, `{"condition": "trigger.body.refund.status == \"done\""}`)
	_, err := n.Execute(t.Context(), &nodes.Exec{Env: env(orderTrigger(t), nil)})
	e := wantFailure(t, err, nodes.Permanent, "expression_failed")
	if d := e.Details.(map[string]any); d["field"] != "condition" || d["line"] != 1 {
		t.Fatalf("details = %v", e.Details)
	}
	// A value that is not a boolean at run time fails too, rather than counting as false.
	n = mustBuild(t, ConditionType, `{"condition": "trigger.body.amount"}`)
	_, err = n.Execute(t.Context(), &nodes.Exec{Env: env(orderTrigger(t), nil)})
	wantFailure(t, err, nodes.Permanent, "expression_failed")

	for params, code := range map[string]string{
		`{}`:                              nodes.CodeParamRequired,
		`{"condition": "  "}`:             nodes.CodeParamRequired,
		`{"condition": "\"yes\""}`:        "expression_invalid",
		`{"condition": "amount >"}`:       "expression_invalid",
		`{"condition": "1 == 1", "x": 1}`: nodes.CodeParamUnknown,
	} {
		_, err := build(t, ConditionType, params, "")
		field := "condition"
		if code == nodes.CodeParamUnknown {
			field = "x"
		}
		wantProblem(t, err, field, code)
	}
}

func TestConditionPorts(t *testing.T) {
	reg, _ := nodes.Lookup(ConditionType, 1)
	var ids []string
	for _, p := range reg.Spec.OutputPorts(map[string]json.RawMessage{}) {
		ids = append(ids, p.ID)
	}
	if !reflect.DeepEqual(ids, []string{"true", "false", "error"}) {
		t.Fatalf("ports = %v", ids)
	}
}
