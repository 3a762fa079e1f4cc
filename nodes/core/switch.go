package core

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// SwitchType is the node type of the many-way branch.
const SwitchType = "core.switch"

// PortDefault is the switch port followed when no case matches.
const PortDefault = "default"

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        SwitchType,
		Version:     1,
		Name:        "Switch",
		Category:    nodes.CategoryLogic,
		Description: "Sends the data to the first case that matches, or to default.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Dynamic: &nodes.DynamicPorts{
			Param: "cases", PortField: "port", LabelField: "label",
			Fixed: []nodes.Port{{ID: PortDefault, Label: "Default", Kind: nodes.PortMain}},
		},
		Params: []nodes.Field{
			{
				Name: "value", Label: "Value", Type: nodes.TypeExpr, Expression: true, ExprResult: "any",
				Description: "Expression for the value the cases' Equals texts are compared with. Needed " +
					"when any case uses Equals.",
				Examples: []nodes.Example{
					{Name: "Order status", Value: "trigger.body.status"},
					{Name: "Payment provider", Value: "trigger.body.payment.provider"},
				},
			},
			{
				Name: "cases", Label: "Cases", Type: nodes.TypeList, Required: true,
				Description: "Checked in order; the first that matches wins. Each case is an output port.",
				Fields: []nodes.Field{
					{
						Name: "port", Label: "Port id", Type: nodes.TypeString, Required: true,
						Description: "Id of the output port: lower-case letters, digits, _ and -, unique, not default or error.",
						Examples:    []nodes.Example{{Name: "Paid", Value: "paid"}, {Name: "Refunded", Value: "refunded"}},
					},
					{
						Name: "label", Label: "Label", Type: nodes.TypeString,
						Description: "Name shown on the port in the editor.",
					},
					{
						Name: "equals", Label: "Equals", Type: nodes.TypeString,
						Description: "Matches when the value, written as text, is exactly this text: 100 matches " +
							"the number 100 and the text \"100\"; true matches true; null counts as empty text. Case-sensitive.",
						Examples: []nodes.Example{{Name: "Status", Value: "paid"}, {Name: "Number", Value: "100"}},
					},
					{
						Name: "when", Label: "When", Type: nodes.TypeExpr, Expression: true, ExprResult: string(expression.ResultBool),
						Description: "Instead of Equals: matches when this condition is true.",
						Examples: []nodes.Example{
							{Name: "Large order", Value: "trigger.body.amount >= 1000"},
							{Name: "One of", Value: `trigger.body.status in ["paid", "captured"]`},
						},
					},
				},
				Examples: []nodes.Example{{Name: "By payment status", Value: []any{
					map[string]any{"port": "paid", "label": "Paid", "equals": "paid"},
					map[string]any{"port": "refunded", "label": "Refunded", "equals": "refunded"},
					map[string]any{"port": "large", "label": "Large", "when": "trigger.body.amount >= 1000"},
				}}},
			},
		},
		Docs: "Compares a value with each case in turn and follows the port of the first case that matches; " +
			"when none does, it follows **default**. A case matches by **Equals** (the value written as text " +
			"equals the text given: `100` matches the number 100) or by **When** (a condition).\n\n" +
			"**Output:** the input, unchanged, on the chosen port.\n\n" +
			"**Example:** value `trigger.body.status` with cases `paid` (equals `paid`) and `refunded` (equals " +
			"`refunded`) sends `{\"status\": \"refunded\"}` to **refunded** and `{\"status\": \"pending\"}` to " +
			"**default**.",
	}, newSwitch)
}

type switchCase struct {
	port   string
	equals string
	when   *expression.Program // nil: compare with equals
}

type switchNode struct {
	value *expression.Program
	// compares is set when some case uses Equals, so the value is worth evaluating.
	compares bool
	cases    []switchCase
}

func newSwitch(cfg *nodes.Config) (nodes.Node, error) {
	n := &switchNode{value: cfg.Expr("value", expression.ResultAny)}
	rows := cfg.List("cases")
	if cfg.Has("cases") && len(rows) == 0 {
		cfg.Fail("cases", nodes.CodeParamRequired, "add at least one case")
	}
	seen := map[string]int{}
	needValue := false
	for i, rc := range rows {
		c := switchCase{port: strings.TrimSpace(rc.String("port"))}
		switch j, dup := seen[c.port]; {
		case c.port == "":
			// Reported by the required check.
		case c.port == PortDefault || c.port == nodes.ErrorPort:
			rc.Fail("port", nodes.CodeParamInvalid, fmt.Sprintf("%q is reserved; choose another port id", c.port))
		case !portPattern.MatchString(c.port):
			rc.Fail("port", nodes.CodeParamInvalid, fmt.Sprintf("%q must be 1 to 64 lower-case letters, digits, _ or -", c.port))
		case dup:
			rc.Fail("port", nodes.CodeParamInvalid, fmt.Sprintf("%q is already used by case %d", c.port, j+1))
		default:
			seen[c.port] = i
		}
		hasEquals, hasWhen := rc.Has("equals"), strings.TrimSpace(rc.String("when")) != ""
		switch {
		case hasEquals && hasWhen:
			rc.Fail("when", nodes.CodeParamInvalid, "give either Equals or When, not both")
		case hasWhen:
			c.when = rc.Expr("when", expression.ResultBool)
		case hasEquals:
			c.equals = rc.String("equals")
			needValue = true
		default:
			rc.Fail("equals", nodes.CodeParamRequired, "give Equals or When")
		}
		n.cases = append(n.cases, c)
	}
	if needValue && n.value == nil && strings.TrimSpace(cfg.String("value")) == "" {
		cfg.Fail("value", nodes.CodeParamRequired, "Value is required when a case uses Equals")
	}
	n.compares = needValue
	return n, cfg.Err()
}

// Execute follows the first matching case. The value is evaluated once, and only if some case compares with it.
func (n *switchNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	env := envOf(x)
	var text string
	if n.compares {
		v, err := n.value.Eval(env)
		if err != nil {
			return nodes.Result{}, nodes.EvalFailed("switch", "value", err)
		}
		text = expression.Stringify(v)
	}
	for i := range n.cases {
		c := &n.cases[i]
		if c.when == nil {
			if text == c.equals {
				return nodes.Result{Output: x.Input, Port: c.port}, nil
			}
			continue
		}
		ok, err := c.when.EvalBool(env)
		if err != nil {
			return nodes.Result{}, nodes.EvalFailed("switch", fmt.Sprintf("cases[%d].when", i), err)
		}
		if ok {
			return nodes.Result{Output: x.Input, Port: c.port}, nil
		}
	}
	return nodes.Result{Output: x.Input, Port: PortDefault}, nil
}

var _ nodes.Node = (*switchNode)(nil)
