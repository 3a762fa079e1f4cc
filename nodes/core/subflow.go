package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// SubflowType is the node type that runs another flow.
const SubflowType = "core.subflow"

// CodeSubflowFailed fails a step whose subflow's run did not succeed.
const CodeSubflowFailed = "subflow_failed"

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        SubflowType,
		Version:     1,
		Name:        "Run a flow",
		Category:    nodes.CategoryLogic,
		Description: "Starts a run of another flow with an input, and waits for its answer or goes on at once.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Answer", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{
				Name: "flow", Label: "Flow", Type: nodes.TypeString, Required: true,
				Description: "Id of the flow to run (its address in the editor ends with it). It starts at its manual trigger, else at its first trigger.",
				Examples:    []nodes.Example{{Name: "A flow id", Value: "0193a4c2-7d1e-7b3a-9f00-5c2d8e1a4b6f"}},
			},
			{
				Name: "version", Label: "Version", Type: nodes.TypeInteger, Default: 0,
				Description: "A published version to pin, so later changes to that flow do not change this one; 0 runs the version published when the step runs.",
			},
			{
				Name: "input", Label: "Input", Type: nodes.TypeExpr, Default: "prev", Expression: true,
				Description: "Expression giving the other flow's trigger payload.",
				Examples:    []nodes.Example{{Name: "This step's input", Value: "prev"}, {Name: "The order", Value: `{"order_id": trigger.body.order_id}`}},
			},
			{
				Name: "wait", Label: "Wait for its answer", Type: nodes.TypeBoolean, Default: true,
				Description: "Wait, without holding a worker, until the run ends and go on with its answer (a failed run fails this step, and retrying this run retries it); off: start it and go on at once.",
			},
		},
		Docs: "Runs another flow as a step: its run starts at the flow's trigger with the input as payload, is linked to " +
			"this run both ways (`parentRunId` on it; this run's page lists it), and keeps its own steps, retries and " +
			"dead letter. While it runs, this run waits without holding a worker. A test run starts nothing: it shows " +
			"what it would start.\n\n" +
			"**Output:** waiting, the other run's answer: what its `core.respond` answered, else its last step's " +
			"output; a run that failed fails this step (`" + CodeSubflowFailed + "`, its error in the details). Not " +
			"waiting, `{\"started\": true, \"flowId\": …}`.\n\n" +
			"**Example:** a shared \"Upsert the customer in the CRM\" flow with a manual trigger, run from every payment " +
			"flow with input `{\"email\": trigger.body.payer.email}`; each caller goes on with the customer it answers.",
	}, newSubflow)
}

type subflowNode struct {
	flow    string
	version int
	input   *expression.Program
	wait    bool
}

func newSubflow(cfg *nodes.Config) (nodes.Node, error) {
	n := &subflowNode{flow: strings.TrimSpace(cfg.String("flow")), version: cfg.Int("version"), wait: true}
	if cfg.Has("wait") {
		n.wait = cfg.Bool("wait")
	}
	if n.version < 0 {
		cfg.Fail("version", nodes.CodeParamInvalid, "a version is 1 or more, or 0 for the published one")
	}
	if cfg.Has("input") {
		n.input = cfg.Expr("input", expression.ResultAny)
	}
	return n, cfg.Err()
}

// Execute asks for the other flow's run, or, once it ended (Exec.Resume), goes on with its answer.
func (n *subflowNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	if x.Resume != nil {
		return n.answer(x.Resume)
	}
	input := x.Input
	if n.input != nil {
		v, err := n.input.Eval(envOf(x))
		if err != nil {
			return nodes.Result{}, nodes.EvalFailed(SubflowType, "input", err)
		}
		input = v
	}
	if x.Mode != nodes.ModeLive {
		return nodes.Result{Output: map[string]any{"test": true, "flowId": n.flow, "version": n.version, "input": input,
			"note": "a test run starts no other run; run this flow live, or test the other flow with this input"}}, nil
	}
	sf := &nodes.Subflow{FlowID: n.flow, Version: n.version, Forget: !n.wait}
	res := nodes.Result{Split: &nodes.Split{Items: []any{input}, Keys: []string{"0"}, Parallel: 1, Flow: sf}}
	if !n.wait {
		res.Output = map[string]any{"started": true, "flowId": n.flow}
	}
	return res, nil
}

// answer reads the summary of the one child run: its output, or its failure.
func (n *subflowNode) answer(r *nodes.Resume) (nodes.Result, error) {
	var summary struct {
		Children []struct {
			RunID  string         `json:"runId"`
			Status string         `json:"status"`
			Error  map[string]any `json:"error"`
			Output any            `json:"output"`
		} `json:"children"`
	}
	if len(r.Decision) > 0 {
		if err := json.Unmarshal(r.Decision, &summary); err != nil {
			return nodes.Result{}, nodes.NewPermanent("subflow_summary_invalid", err)
		}
	}
	if r.TimedOut || len(summary.Children) != 1 {
		return nodes.Result{}, nodes.NewPermanent(CodeSubflowFailed, fmt.Errorf("%s: the run of flow %s did not end in time", SubflowType, n.flow))
	}
	c := summary.Children[0]
	if c.Status != "succeeded" {
		return nodes.Result{}, nodes.WithDetails(nodes.NewPermanent(CodeSubflowFailed,
			fmt.Errorf("%s: run %s of flow %s ended %s", SubflowType, c.RunID, n.flow, c.Status)), map[string]any{"runId": c.RunID, "error": c.Error})
	}
	return nodes.Result{Output: c.Output}, nil
}
