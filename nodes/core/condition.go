package core

import (
	"context"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// ConditionType is the node type of the two-way branch.
const ConditionType = "core.condition"

// Output ports of core.condition.
const (
	PortTrue  = "true"
	PortFalse = "false"
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        ConditionType,
		Version:     1,
		Name:        "Condition",
		Category:    nodes.CategoryLogic,
		Description: "Sends the data to the true or the false branch, depending on a condition.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs: []nodes.Port{
			{ID: PortTrue, Label: "True", Kind: nodes.PortMain},
			{ID: PortFalse, Label: "False", Kind: nodes.PortMain},
		},
		Params: []nodes.Field{{
			Name: "condition", Label: "Condition", Type: nodes.TypeExpr, Required: true,
			Expression: true, ExprResult: string(expression.ResultBool),
			Description: "Expression that must give true or false. A condition that fails, for example by " +
				"reading a field of a missing object, fails the step; use ?. and ?? to allow for missing data.",
			Examples: []nodes.Example{
				{Name: "Large order", Value: "trigger.body.amount > 100"},
				{Name: "Paid", Value: `trigger.body.payment?.status == "captured"`},
				{Name: "Live runs only", Value: `env == "live"`},
			},
		}},
		Docs: "Evaluates a condition and follows the **true** or the **false** port.\n\n" +
			"**Output:** the input, unchanged, on the chosen port.\n\n" +
			"**Example:** `trigger.body.amount > 100` sends a 149.99 order down **true** and a 25.00 order down " +
			"**false**.",
	}, newCondition)
}

type conditionNode struct {
	cond *expression.Program
}

func newCondition(cfg *nodes.Config) (nodes.Node, error) {
	return &conditionNode{cond: cfg.Expr("condition", expression.ResultBool)}, cfg.Err()
}

// Execute picks the port from the condition and passes the input on.
func (n *conditionNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	ok, err := n.cond.EvalBool(envOf(x))
	if err != nil {
		return nodes.Result{}, nodes.EvalFailed("condition", "condition", err)
	}
	port := PortFalse
	if ok {
		port = PortTrue
	}
	return nodes.Result{Output: x.Input, Port: port}, nil
}

var _ nodes.Node = (*conditionNode)(nil)
