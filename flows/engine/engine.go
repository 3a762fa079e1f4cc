// Package engine executes one run of a compiled flow: it walks the graph from the trigger, evaluates each node,
// follows ports and error ports, decides retries, parks runs that wait, and records every step. It keeps no
// state between calls: everything needed to resume a run is in the State it returns, which the caller stores
// as the run's checkpoint.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/nodes"
)

// Run outcomes.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusWaiting   = "waiting"
	StatusQueued    = "queued" // to be retried at AvailableAt
	StatusCancelled = "cancelled"
)

// Step statuses.
const (
	StepSucceeded = "succeeded"
	StepFailed    = "failed"
	StepDryRun    = "dry_run"
)

// Stable error codes of run failures the engine itself detects.
const (
	CodeTooManySteps = "run_too_many_steps"
	CodeNodeMissing  = "run_node_missing"
	CodeInterrupted  = "run_interrupted"
)

// CredentialResolver decrypts the credential a node names, picking its test or live variant by mode.
type CredentialResolver func(ctx context.Context, credentialID string, mode nodes.Mode) (map[string]string, error)

// Engine executes runs. One Engine serves every run; it holds only shared services.
type Engine struct {
	HTTP        *http.Client
	Credentials CredentialResolver
	Logger      *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// OnStep, when set, is told about every step as it finishes (metrics).
	OnStep func(nodeType, status string, d time.Duration)
}

// State is everything needed to resume a run: the run's checkpoint.
type State struct {
	Vars    map[string]any `json:"vars,omitempty"`
	Outputs map[string]any `json:"outputs,omitempty"`
	Pending []Pending      `json:"pending,omitempty"`
	// Seq is the number of steps recorded so far.
	Seq      int             `json:"seq"`
	Response *nodes.Response `json:"response,omitempty"`
}

// Pending is a step waiting to execute: a node and the input it receives.
type Pending struct {
	Node    string `json:"node"`
	Input   any    `json:"input,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
}

// Run is the engine's view of a run.
type Run struct {
	ID      string
	FlowID  string
	Version int
	Mode    nodes.Mode
	Attempt int
	Trigger any
	State   *State
}

// Step is one executed node.
type Step struct {
	Seq       int
	NodeID    string
	NodeType  string
	Attempt   int
	Status    string
	Port      string
	Input     any
	Output    any
	Error     *StepError
	StartedAt time.Time
	Duration  time.Duration
}

// StepError describes a failed step or run.
type StepError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Kind    string `json:"kind,omitempty"`
	NodeID  string `json:"nodeId,omitempty"`
	Details any    `json:"details,omitempty"`
}

// data is the error as expressions see it on an error port: prev.error.code, prev.error.message, ….
func (se *StepError) data() map[string]any {
	return map[string]any{"code": se.Code, "message": se.Message, "kind": se.Kind, "nodeId": se.NodeID, "details": se.Details}
}

// Outcome is where a call to Execute left the run.
type Outcome struct {
	Status string
	// AvailableAt is when a queued (retrying) or waiting run continues.
	AvailableAt time.Time
	Error       *StepError
	Steps       []Step
}

// NewState starts a run at trigger with the trigger payload as its input.
func NewState(c *flows.Compiled, trigger string, payload any) *State {
	vars := make(map[string]any, len(c.Flow.Settings.Vars))
	for k, v := range c.Flow.Settings.Vars {
		vars[k] = v
	}
	return &State{
		Vars:    vars,
		Outputs: map[string]any{},
		Pending: []Pending{{Node: trigger, Input: payload, Attempt: 1}},
	}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Execute runs steps until the run finishes, fails, waits, or needs a retry later. It mutates run.State, which
// the caller stores as the checkpoint. A cancelled ctx stops the run between steps with StatusQueued, so
// another worker can resume it.
func (e *Engine) Execute(ctx context.Context, c *flows.Compiled, run *Run) Outcome {
	st := run.State
	if st.Outputs == nil {
		st.Outputs = map[string]any{}
	}
	if st.Vars == nil {
		st.Vars = map[string]any{}
	}
	env := map[string]any{
		"trigger": run.Trigger,
		"nodes":   st.Outputs,
		"vars":    st.Vars,
		"env":     string(run.Mode),
		"run":     map[string]any{"id": run.ID, "flowId": run.FlowID, "version": run.Version, "attempt": run.Attempt},
		"prev":    nil,
	}
	var out Outcome
	for len(st.Pending) > 0 {
		if err := ctx.Err(); err != nil {
			out.Status, out.AvailableAt = StatusQueued, e.now()
			return out
		}
		p := st.Pending[0]
		node := c.Nodes[p.Node]
		if node == nil {
			return e.fail(out, &StepError{Code: CodeNodeMissing, Message: fmt.Sprintf("node %q is not in this flow version", p.Node), NodeID: p.Node})
		}
		if st.Seq >= c.MaxSteps {
			return e.fail(out, &StepError{Code: CodeTooManySteps, Message: fmt.Sprintf("the run reached its limit of %d steps", c.MaxSteps), NodeID: p.Node})
		}
		if p.Attempt == 0 {
			p.Attempt = 1
		}
		st.Seq++
		step := Step{Seq: st.Seq, NodeID: node.Def.ID, NodeType: node.Spec.Type, Attempt: p.Attempt, Input: p.Input, StartedAt: e.now()}
		env["prev"] = p.Input
		x := &nodes.Exec{
			Input: p.Input, Env: env, RunID: run.ID, FlowID: run.FlowID, NodeID: node.Def.ID, Attempt: p.Attempt,
			Mode: run.Mode, IdempotencyKey: run.ID + ":" + node.Def.ID, HTTP: e.HTTP, Logger: e.Logger,
			Credential: e.credential(node.Def.Credential, run.Mode),
		}
		res, err, dry := e.call(ctx, node, x)
		step.Duration = e.now().Sub(step.StartedAt)
		if err != nil {
			typed := nodes.Classify(err)
			step.Status = StepFailed
			step.Error = &StepError{Code: typed.Code, Message: typed.Error(), Kind: string(typed.Kind), NodeID: node.Def.ID, Details: typed.Details}
			out.Steps = append(out.Steps, step)
			e.observe(step)
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				// The worker is stopping, not the node failing: hand the step back untouched.
				st.Seq--
				out.Steps = out.Steps[:len(out.Steps)-1]
				out.Status, out.AvailableAt = StatusQueued, e.now()
				return out
			}
			switch {
			case typed.Kind == nodes.Cancel:
				st.Pending = st.Pending[1:]
				out.Status, out.Error = StatusCancelled, step.Error
				return out
			case typed.Kind != nodes.Permanent && run.Mode == nodes.ModeLive && p.Attempt < node.Retry.MaxAttempts:
				delay := node.Retry.Delay(p.Attempt + 1)
				if typed.Kind == nodes.RetryAfter && typed.After > 0 {
					delay = typed.After
				}
				st.Pending[0].Attempt = p.Attempt + 1
				out.Status, out.AvailableAt = StatusQueued, e.now().Add(delay)
				return out
			}
			if errTargets := node.Next[nodes.ErrorPort]; len(errTargets) > 0 {
				payload := map[string]any{"error": step.Error.data(), "input": p.Input}
				st.Outputs[node.Def.ID] = payload
				st.Pending = st.Pending[1:]
				for _, t := range errTargets {
					st.Pending = append(st.Pending, Pending{Node: t.Def.ID, Input: payload, Attempt: 1})
				}
				continue
			}
			// Leave the failed step pending so "retry from the failed step" resumes exactly here.
			st.Pending[0].Attempt = 1
			out.Status, out.Error = StatusFailed, step.Error
			return out
		}
		step.Status = StepSucceeded
		if dry {
			step.Status = StepDryRun
		}
		port := res.Port
		if port == "" && len(node.Spec.Outputs) > 0 {
			port = node.Spec.Outputs[0].ID
		}
		step.Port, step.Output = port, res.Output
		out.Steps = append(out.Steps, step)
		e.observe(step)
		st.Outputs[node.Def.ID] = res.Output
		for k, v := range res.Vars {
			st.Vars[k] = v
		}
		if res.Response != nil {
			st.Response = res.Response
		}
		st.Pending = st.Pending[1:]
		for _, t := range node.Next[port] {
			st.Pending = append(st.Pending, Pending{Node: t.Def.ID, Input: res.Output, Attempt: 1})
		}
		if !res.WaitUntil.IsZero() && run.Mode == nodes.ModeLive && res.WaitUntil.After(e.now()) {
			out.Status, out.AvailableAt = StatusWaiting, res.WaitUntil
			return out
		}
	}
	out.Status = StatusSucceeded
	return out
}

func (e *Engine) fail(out Outcome, se *StepError) Outcome {
	out.Status, out.Error = StatusFailed, se
	return out
}

// call executes one node, turning panics into permanent failures so a broken node cannot take a worker down.
func (e *Engine) call(ctx context.Context, node *flows.CompiledNode, x *nodes.Exec) (res nodes.Result, err error, dry bool) {
	defer func() {
		if r := recover(); r != nil {
			err = nodes.NewPermanent("node_panicked", fmt.Errorf("%s panicked: %v", node.Spec.Type, r))
			if e.Logger != nil {
				e.Logger.Error("node panicked", "node", node.Def.ID, "type", node.Spec.Type, "panic", r)
			}
		}
	}()
	if x.Mode == nodes.ModeTest && node.Spec.SideEffect {
		if dr, ok := node.Impl.(nodes.DryRunner); ok {
			res, err = dr.DryRun(ctx, x)
			return res, err, true
		}
		return nodes.Result{Output: map[string]any{"dryRun": true}}, nil, true
	}
	res, err = node.Impl.Execute(ctx, x)
	return res, err, false
}

func (e *Engine) credential(id string, mode nodes.Mode) func(context.Context) (map[string]string, error) {
	return func(ctx context.Context) (map[string]string, error) {
		if id == "" {
			return nil, nodes.ErrNoCredential
		}
		if e.Credentials == nil {
			return nil, nodes.NewPermanent("credential_unavailable", fmt.Errorf("credential %s cannot be read: no credential store", id))
		}
		return e.Credentials(ctx, id, mode)
	}
}

func (e *Engine) observe(s Step) {
	if e.OnStep != nil {
		e.OnStep(s.NodeType, s.Status, s.Duration)
	}
}
