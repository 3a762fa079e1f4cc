package core

import (
	"context"
	"fmt"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// LoopType is the node type that repeats a section of the flow.
const LoopType = "core.loop"

// Ports of core.loop.
const (
	PortLoopBody = "body"
	PortLoopNext = "next"
)

// MaxLoopRounds bounds a loop whatever its parameters say.
const MaxLoopRounds = 1000

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        LoopType,
		Version:     1,
		Name:        "Loop",
		Category:    nodes.CategoryLogic,
		Description: "Repeats a section of the flow, over pages or until a condition no longer holds, at most a set number of rounds.",
		Inputs: []nodes.Port{
			{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain},
			{ID: PortLoopNext, Label: "Next round", Kind: nodes.PortBack},
		},
		// Done first: an edge drawn without a source port leaves from it.
		Outputs: []nodes.Port{
			{ID: nodes.DefaultPort, Label: "Done", Kind: nodes.PortMain},
			{ID: PortLoopBody, Label: "Round", Kind: nodes.PortMain},
		},
		Params: []nodes.Field{
			{
				Name: "while", Label: "Go on while", Type: nodes.TypeExpr, Required: true, Expression: true,
				ExprResult: string(expression.ResultBool),
				Description: "Checked before each round with prev = {\"round\", \"value\"}: the round about to start (1 for the first) and " +
					"the data (the loop's input for the first round, then what the last round sent back to Next round).",
				Examples: []nodes.Example{
					{Name: "Every page", Value: "prev.round == 1 || prev.value.next != nil"},
					{Name: "Until the job is done", Value: `prev.value.status != "done"`},
				},
			},
			{
				Name: "maxRounds", Label: "At most this many rounds", Type: nodes.TypeInteger, Required: true, Default: 10,
				Description: fmt.Sprintf("The loop stops after this many rounds even while the condition holds (1 to %d); Done then says bounded.", MaxLoopRounds),
			},
		},
		Docs: "Repeats the nodes of the **Round** port: draw them from Round and back into **Next round**, and the data the " +
			"last of them sends back starts the next round. Before each round the condition is checked; when it no longer " +
			"holds, or after *At most this many rounds*, the loop goes on at **Done**. Each round's steps are recorded, and " +
			"a side-effecting node in the loop sends a different idempotency key each round (the same on its retries). " +
			"A merge inside a loop runs once per run.\n\n" +
			"**Output:** on Round and on Done, `{\"round\": n, \"value\": …}`; Done adds `\"bounded\": true` when the bound " +
			"stopped it.\n\n" +
			"**Example:** an order list read page by page: the loop's Round leads to `core.http` with *Start at* " +
			"`{{ prev.value.next }}`, which leads back to Next round; with `prev.round == 1 || prev.value.next != nil` the " +
			"loop stops at the last page.",
	}, newLoop)
}

type loopNode struct {
	while *expression.Program
	max   int
}

func newLoop(cfg *nodes.Config) (nodes.Node, error) {
	n := &loopNode{while: cfg.Expr("while", expression.ResultBool), max: cfg.Int("maxRounds")}
	if n.max < 1 || n.max > MaxLoopRounds {
		cfg.Fail("maxRounds", nodes.CodeParamInvalid, fmt.Sprintf("must be between 1 and %d", MaxLoopRounds))
	}
	return n, cfg.Err()
}

// Execute starts a round while the condition holds and the bound allows, and goes on at Done otherwise.
func (n *loopNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	round := max(x.Iteration, 1)
	state := map[string]any{"round": round, "value": x.Input}
	if round > n.max {
		return nodes.Result{Output: map[string]any{"round": round - 1, "value": x.Input, "bounded": true}, Port: nodes.DefaultPort}, nil
	}
	env := make(map[string]any, len(envOf(x))+1)
	for k, v := range envOf(x) {
		env[k] = v
	}
	env[expression.VarPrev] = state
	goOn, err := n.while.EvalBool(env)
	if err != nil {
		return nodes.Result{}, nodes.EvalFailed(LoopType, "while", err)
	}
	if !goOn {
		return nodes.Result{Output: map[string]any{"round": round - 1, "value": x.Input}, Port: nodes.DefaultPort}, nil
	}
	return nodes.Result{Output: state, Port: PortLoopBody}, nil
}
