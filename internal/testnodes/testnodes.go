// Package testnodes registers small node types used by the flow and engine tests, so those tests exercise the
// engine's rules (ports, retries, error ports, waits, dry runs) without depending on real connectors.
package testnodes

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

var main = []nodes.Port{{ID: "main", Label: "Main", Kind: nodes.PortMain}}

// Calls counts executions per node id across tests that reset it.
var Calls sync.Map

func count(id string) {
	v, _ := Calls.LoadOrStore(id, new(int))
	mu.Lock()
	*(v.(*int))++
	mu.Unlock()
}

var mu sync.Mutex

// CallCount returns how often node id executed since Reset.
func CallCount(id string) int {
	v, ok := Calls.Load(id)
	if !ok {
		return 0
	}
	mu.Lock()
	defer mu.Unlock()
	return *(v.(*int))
}

// Reset clears the counters.
func Reset() { Calls.Range(func(k, _ any) bool { Calls.Delete(k); return true }) }

type passthrough struct{}

func (passthrough) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	count(x.NodeID)
	return nodes.Result{Output: x.Input}, nil
}

type value struct{ prog *expression.Program }

func (v value) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	count(x.NodeID)
	out, err := v.prog.Eval(x.Env)
	if err != nil {
		return nodes.Result{}, nodes.NewPermanent("value_failed", err)
	}
	return nodes.Result{Output: out}, nil
}

type branch struct{ cond *expression.Program }

func (b branch) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	count(x.NodeID)
	ok, err := b.cond.EvalBool(x.Env)
	if err != nil {
		return nodes.Result{}, nodes.NewPermanent("branch_failed", err)
	}
	port := "no"
	if ok {
		port = "yes"
	}
	return nodes.Result{Output: x.Input, Port: port}, nil
}

// flaky fails with the configured kind until it has been called failTimes times for a run.
type flaky struct {
	kind      string
	failTimes int
}

func (f flaky) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	count(x.NodeID)
	if x.Attempt <= f.failTimes {
		err := errors.New("provider unavailable")
		switch f.kind {
		case "permanent":
			return nodes.Result{}, nodes.NewPermanent("rejected", err)
		case "cancel":
			return nodes.Result{}, nodes.NewCancel("stop", err)
		case "retryafter":
			return nodes.Result{}, nodes.NewRetryAfter("rate_limited", err, 42*time.Second)
		}
		return nodes.Result{}, nodes.NewRetryable("unavailable", err)
	}
	return nodes.Result{Output: map[string]any{"attempt": x.Attempt, "key": x.IdempotencyKey}}, nil
}

type wait struct{ d time.Duration }

func (w wait) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	count(x.NodeID)
	return nodes.Result{Output: x.Input, WaitUntil: time.Now().Add(w.d)}, nil
}

// AskKind is the kind of decision test.ask parks for: {"pick": "a" | "b"}.
const AskKind = "test.choice"

// ask parks the run for a person's pick between a and b, and outputs how the wait ended when it resumes.
type ask struct{ timeout time.Duration }

func (a ask) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	count(x.NodeID)
	if x.Resume == nil {
		return nodes.Result{Park: &nodes.Park{Kind: AskKind, Title: "Pick a or b", Timeout: a.timeout,
			Request: map[string]any{"options": []string{"a", "b"}, "input": x.Input}}}, nil
	}
	var d map[string]any
	if len(x.Resume.Decision) > 0 {
		if err := json.Unmarshal(x.Resume.Decision, &d); err != nil {
			return nodes.Result{}, nodes.NewPermanent("decision_unreadable", err)
		}
	}
	return nodes.Result{Output: map[string]any{"pick": d["pick"], "by": x.Resume.DecidedBy, "timedOut": x.Resume.TimedOut,
		"attempt": x.Attempt}}, nil
}

type effect struct{}

func (effect) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	count(x.NodeID)
	return nodes.Result{Output: map[string]any{"sent": true}}, nil
}

func (effect) DryRun(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: map[string]any{"wouldSend": x.Input}}, nil
}

type slow struct{}

func (slow) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	count(x.NodeID)
	<-ctx.Done()
	return nodes.Result{}, ctx.Err()
}

func init() {
	nodes.RegisterDecision(AskKind, func(_, decision json.RawMessage) error {
		var d map[string]any
		if err := json.Unmarshal(decision, &d); err != nil || (d["pick"] != "a" && d["pick"] != "b") {
			return errors.New(`pick a or b: {"pick": "a"}`)
		}
		return nil
	})
	nodes.MustRegister(nodes.Spec{Type: "test.ask", Version: 1, Name: "Ask", Category: nodes.CategoryLogic, Inputs: main, Outputs: main,
		Params: []nodes.Field{{Name: "timeout", Label: "Timeout", Type: nodes.TypeDuration, Default: "1h"}}},
		func(cfg *nodes.Config) (nodes.Node, error) { return ask{timeout: cfg.Duration("timeout")}, cfg.Err() })
	nodes.MustRegister(nodes.Spec{Type: "test.trigger", Version: 1, Name: "Test trigger", Category: nodes.CategoryTrigger,
		Trigger: true, Outputs: main}, func(cfg *nodes.Config) (nodes.Node, error) { return passthrough{}, cfg.Err() })
	nodes.MustRegister(nodes.Spec{Type: "test.pass", Version: 1, Name: "Pass", Category: nodes.CategoryUtilities,
		Inputs: main, Outputs: main}, func(cfg *nodes.Config) (nodes.Node, error) { return passthrough{}, cfg.Err() })
	nodes.MustRegister(nodes.Spec{Type: "test.value", Version: 1, Name: "Value", Category: nodes.CategoryData,
		Inputs: main, Outputs: main, Params: []nodes.Field{{Name: "expr", Label: "Expression", Type: nodes.TypeExpr, Required: true}}},
		func(cfg *nodes.Config) (nodes.Node, error) {
			return value{cfg.Expr("expr", expression.ResultAny)}, cfg.Err()
		})
	nodes.MustRegister(nodes.Spec{Type: "test.branch", Version: 1, Name: "Branch", Category: nodes.CategoryLogic, Inputs: main,
		Outputs: []nodes.Port{{ID: "yes", Label: "Yes", Kind: nodes.PortMain}, {ID: "no", Label: "No", Kind: nodes.PortMain}},
		Params:  []nodes.Field{{Name: "cond", Label: "Condition", Type: nodes.TypeExpr, Required: true, ExprResult: "bool"}}},
		func(cfg *nodes.Config) (nodes.Node, error) {
			return branch{cfg.Expr("cond", expression.ResultBool)}, cfg.Err()
		})
	nodes.MustRegister(nodes.Spec{Type: "test.flaky", Version: 1, Name: "Flaky", Category: nodes.CategoryAction, Inputs: main, Outputs: main,
		Params: []nodes.Field{
			{Name: "kind", Label: "Kind", Type: nodes.TypeSelect, Default: "retryable", Options: []nodes.Option{
				{Value: "retryable"}, {Value: "permanent"}, {Value: "cancel"}, {Value: "retryafter"}}},
			{Name: "failTimes", Label: "Fail times", Type: nodes.TypeInteger, Default: 1},
		}},
		func(cfg *nodes.Config) (nodes.Node, error) {
			return flaky{kind: cfg.String("kind"), failTimes: cfg.Int("failTimes")}, cfg.Err()
		})
	nodes.MustRegister(nodes.Spec{Type: "test.wait", Version: 1, Name: "Wait", Category: nodes.CategoryLogic, Inputs: main, Outputs: main,
		Params: []nodes.Field{{Name: "duration", Label: "Duration", Type: nodes.TypeDuration, Default: "1h"}}},
		func(cfg *nodes.Config) (nodes.Node, error) { return wait{cfg.Duration("duration")}, cfg.Err() })
	nodes.MustRegister(nodes.Spec{Type: "test.effect", Version: 1, Name: "Effect", Category: nodes.CategoryAction, SideEffect: true,
		Inputs: main, Outputs: main}, func(cfg *nodes.Config) (nodes.Node, error) { return effect{}, cfg.Err() })
	nodes.MustRegister(nodes.Spec{Type: "test.slow", Version: 1, Name: "Slow", Category: nodes.CategoryAction,
		Inputs: main, Outputs: main}, func(cfg *nodes.Config) (nodes.Node, error) { return slow{}, cfg.Err() })
}
