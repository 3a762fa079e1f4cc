package core

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// SetVarsType is the node type that sets flow variables.
const SetVarsType = "core.set-vars"

// varNamePattern keeps variable names readable as vars.name in expressions.
var varNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        SetVarsType,
		Version:     1,
		Name:        "Set variables",
		Category:    nodes.CategoryData,
		Description: "Sets flow variables that every later step can read as vars.<name>.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Then", Kind: nodes.PortMain}},
		Params: []nodes.Field{{
			Name: "vars", Label: "Variables", Type: nodes.TypeList, Required: true,
			Description: "Set in order; a row can read the variables set by the rows above it.",
			Fields: []nodes.Field{
				{
					Name: "name", Label: "Name", Type: nodes.TypeString, Required: true,
					Description: "Letters, digits and _, not starting with a digit.",
					Examples:    []nodes.Example{{Name: "Tier", Value: "tier"}, {Name: "Amount", Value: "amount_minor"}},
				},
				{
					Name: "expression", Label: "Value", Type: nodes.TypeExpr, Required: true,
					Expression: true, ExprResult: "any",
					Examples: []nodes.Example{
						{Name: "Tier by amount", Value: `prev.amount_cents > 10000 ? "high" : "standard"`},
						{Name: "Copy a field", Value: "trigger.body.order_id"},
					},
				},
			},
			Examples: []nodes.Example{{Name: "Customer tier", Value: []any{
				map[string]any{"name": "tier", "expression": `trigger.body.amount > 100 ? "high" : "standard"`},
			}}},
		}},
		Docs: "Evaluates each row and stores the value as a flow variable, readable as `vars.<name>` by every " +
			"later step of the run.\n\n" +
			"**Output:** the input, unchanged.\n\n" +
			"**Example:** name `tier`, value `trigger.body.amount > 100 ? \"high\" : \"standard\"`; a Respond " +
			"node then answers `{{ vars.tier }}`.",
	}, newSetVars)
}

type setVar struct {
	name string
	prog *expression.Program
}

type setVarsNode struct {
	vars []setVar
}

func newSetVars(cfg *nodes.Config) (nodes.Node, error) {
	n := &setVarsNode{}
	rows := cfg.List("vars")
	if cfg.Has("vars") && len(rows) == 0 {
		cfg.Fail("vars", nodes.CodeParamRequired, "add at least one variable")
	}
	seen := map[string]int{}
	for i, rc := range rows {
		v := setVar{name: strings.TrimSpace(rc.String("name")), prog: rc.Expr("expression", expression.ResultAny)}
		if v.name != "" {
			if !varNamePattern.MatchString(v.name) {
				rc.Fail("name", nodes.CodeParamInvalid, fmt.Sprintf("%q must be letters, digits and _, not starting with a digit", v.name))
			} else if j, dup := seen[v.name]; dup {
				rc.Fail("name", nodes.CodeParamInvalid, fmt.Sprintf("%q is already set by row %d", v.name, j+1))
			}
			seen[v.name] = i
		}
		n.vars = append(n.vars, v)
	}
	return n, cfg.Err()
}

// Execute evaluates the rows in order. From the second row on, the rows see an environment whose vars include
// the values set above them; the run's own environment is never modified.
func (n *setVarsNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	env := envOf(x)
	out := make(map[string]any, len(n.vars))
	var merged map[string]any
	for i, v := range n.vars {
		if i == 1 {
			merged = map[string]any{}
			if existing, ok := env[expression.VarVars].(map[string]any); ok {
				for k, val := range existing {
					merged[k] = val
				}
			}
			for k, val := range out {
				merged[k] = val
			}
			local := make(map[string]any, len(env)+1)
			for k, val := range env {
				local[k] = val
			}
			local[expression.VarVars] = merged
			env = local
		}
		val, err := v.prog.Eval(env)
		if err != nil {
			return nodes.Result{}, nodes.EvalFailed("set-vars", "vars."+v.name, err)
		}
		out[v.name] = val
		if merged != nil {
			merged[v.name] = val
		}
	}
	return nodes.Result{Output: x.Input, Vars: out}, nil
}

var _ nodes.Node = (*setVarsNode)(nil)
