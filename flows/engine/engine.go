// Package engine executes one run of a compiled flow: it walks the graph from the trigger, evaluates each node,
// follows ports and error ports, decides retries, paces calls against provider quotas, parks runs that wait (for
// a delay, an approval or a rate-limit slot), and records every step. It keeps no state between calls:
// everything needed to resume a run is in the State it returns, which the caller stores as the run's checkpoint.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
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
	// StepWaiting is a step that parked the run (nodes.Result.Park); it runs again when the run resumes.
	StepWaiting = "waiting"
)

// Stable error codes of run failures the engine itself detects.
const (
	CodeTooManySteps = "run_too_many_steps"
	CodeNodeMissing  = "run_node_missing"
	CodeInterrupted  = "run_interrupted"
	// CodeRateLimited fails a step of a test run whose quota is used up for longer than MaxRateWait: test
	// runs answer the person waiting for them and do not park.
	CodeRateLimited = "rate_limited"
	// CodeParkInTestRun fails a step of a test run that would wait for a person: test runs answer the person
	// waiting for them in the editor and cannot park.
	CodeParkInTestRun = "park_in_test_run"
)

// DefaultMaxRateWait is how long a test run (executed inline, never on a worker) waits for a rate-limit slot,
// and how late a parked run may use the slot it reserved, when Engine.MaxRateWait is zero.
const DefaultMaxRateWait = time.Second

// Limiter paces calls that share a provider quota (D8): the engine asks it before a rate-limited step runs and
// tells it when the provider refused a call anyway. A Limiter shared through Redis paces every worker process
// as one; an in-memory one paces a single process.
type Limiter interface {
	// Reserve takes the next slot of key's bucket under limit and returns how long until that slot is due
	// (zero: now). The slot belongs to the caller, who sends the call then and does not reserve again for it;
	// reserving rather than waiting lets the engine park a run for a long wait instead of holding a worker.
	Reserve(ctx context.Context, key string, limit nodes.Limit) (time.Duration, error)
	// Penalize slows key down after the provider refused a call over its quota (HTTP 429): no slot before
	// retryAfter from now when it is positive, and a lower rate for a cool-down.
	Penalize(ctx context.Context, key string, retryAfter time.Duration) error
	// Hold gives key no slot before d from now, without Penalize's lower rate: the provider's answer said its
	// own bucket for the credential is short (Shopify's throttleStatus), so the next calls wait for it to refill
	// instead of being refused.
	Hold(ctx context.Context, key string, d time.Duration) error
}

// LimitResolver returns the quota configured for a credential (its own setting, else its type's), or false when
// calls made with it are not paced. The server provides it, since credentials live in the store.
type LimitResolver func(ctx context.Context, credentialID string) (nodes.Limit, bool)

// CredentialResolver decrypts the credential a node names, picking its test or live variant by mode, and says
// where it may be sent.
type CredentialResolver func(ctx context.Context, credentialID string, mode nodes.Mode) (*nodes.ResolvedCredential, error)

// CodeCredentialTypeRefused fails a step whose credential is of a type its node does not accept: a node applies
// a credential by its fields, so a credential of another kind (a webhook secret given to the HTTP node) could
// otherwise be sent as if it were one of its own.
const CodeCredentialTypeRefused = "credential_type_refused"

// Engine executes runs. One Engine serves every run; it holds only shared services.
type Engine struct {
	// HTTP is the process's guarded outbound client (nodes/egress); a step that names a credential gets it
	// bound to the credential's destinations.
	HTTP        *http.Client
	Credentials CredentialResolver
	Logger      *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// OnStep, when set, is told about every step as it finishes (metrics).
	OnStep func(nodeType, status string, d time.Duration)
	// OnUsage, when set, is told what a step's provider said of its API allowance for the step's credential
	// (nodes.Exec.ReportUsage): metrics.
	OnUsage func(credentialID, provider string, used, limit int64)
	// RenewCredential, when set, renews a credential whose access token a provider refused (the vault's Renew):
	// steps get it as nodes.Exec.RenewCredential.
	RenewCredential func(ctx context.Context, credentialID string, mode nodes.Mode, refusedToken string) (*nodes.ResolvedCredential, error)
	// Breakers, when set, are handed to every step so connectors fail fast on endpoints that are down (D15).
	Breakers *nodes.Breakers
	// Rotations, when set, keep the turns of round-robin assignment (core.assign) in the store, so they hold
	// across runs, restarts and every worker; steps get them as nodes.Exec.Rotations.
	Rotations nodes.Rotations
	// Limiter, when set, paces the steps that have a rate limit: those naming a credential LimitFor knows, and
	// nodes with a limit of their own (nodes.RateLimited).
	Limiter Limiter
	// LimitFor gives the quota of a credential. It comes before a node's own limit, and every step naming the
	// credential shares its bucket.
	LimitFor LimitResolver
	// MaxRateWait is how long a test run waits inline for a rate-limit slot (a longer wait fails its step with
	// rate_limited) and how late a parked run may still use its reserved slot. Live runs never wait on a worker:
	// any wait parks them until their slot. Zero means DefaultMaxRateWait.
	MaxRateWait time.Duration
	// Resume, when set, says how the wait of a parked step ended when its run comes back (Pending.Wait): the
	// decision, or a timeout. It returns a nil Resume and the time to wait until when the wait is still open and
	// not yet due (a run woken early), and an error when the wait cannot be read now (the run is retried). The
	// server reads it from the store; without it a parked run resumes as timed out.
	Resume func(ctx context.Context, runID, waitID string) (*nodes.Resume, time.Time, error)
	// NewWaitID names a new wait; nil uses UUIDv7, as run ids do.
	NewWaitID func() string
	// Subflows finds the flow a subflow step starts (core.subflow): its compiled version and its number, the
	// published one when version is 0. The server reads it from the store; without it subflows fail.
	Subflows func(ctx context.Context, flowID string, version int) (*flows.Compiled, int, error)
}

// State is everything needed to resume a run: the run's checkpoint.
type State struct {
	Vars    map[string]any `json:"vars,omitempty"`
	Outputs map[string]any `json:"outputs,omitempty"`
	Pending []Pending      `json:"pending,omitempty"`
	// Seq is the number of steps recorded so far.
	Seq      int             `json:"seq"`
	Response *nodes.Response `json:"response,omitempty"`
	// Visits counts, per node, how often the run reached it, to number repeated visits.
	Visits map[string]int `json:"visits,omitempty"`
	// Joins holds, per joining node (core.merge), the inputs that arrived and whether it has run.
	Joins map[string]*JoinState `json:"joins,omitempty"`
	// Rounds counts, per loop node (core.loop), the round its latest arrival started.
	Rounds map[string]int `json:"rounds,omitempty"`
	// Borrows is set on the state of a split's child, which borrows its parent's trigger, variables and outputs
	// when it executes (Inherit); a subflow's run borrows nothing.
	Borrows bool `json:"borrows,omitempty"`
	// inherited names the outputs a child run borrowed from its parent (Inherit), left out of its checkpoint.
	inherited map[string]bool
}

// Pending is a step waiting to execute: a node and the input it receives.
type Pending struct {
	Node  string `json:"node"`
	Input any    `json:"input,omitempty"`
	// Port is the input port the step's input arrives at, for a node that joins branches: joinedPort once the
	// arrivals are joined into its input, empty for a check that no other branch can reach it any more.
	Port string `json:"port,omitempty"`
	// Round, for a loop node, is the round this arrival starts (nodes.Exec.Iteration).
	Round   int `json:"round,omitempty"`
	Attempt int `json:"attempt,omitempty"`
	// Visit numbers the times the run reached this node (0 or 1 for the first), so a node reached by two
	// paths sends a different idempotency key on each visit and the same one on every retry of a visit (I4).
	Visit int `json:"visit,omitempty"`
	// Slot is the time the rate limiter reserved for this step's call; a run parked for it sends the call
	// then, without taking another slot.
	Slot time.Time `json:"slot,omitzero"`
	// Wait names the wait this step parked the run on; Resume, once read, is how it ended, kept so a retried
	// attempt of the step sees the same decision.
	Wait   string        `json:"wait,omitempty"`
	Resume *nodes.Resume `json:"resume,omitempty"`
	// Sending is set, and saved, while the step sends a request it cannot repeat (nodes.Exec.Sending): a run
	// resumed from a checkpoint that has it died mid-send, and the step fails with this unknown outcome.
	Sending *Unknown `json:"sending,omitempty"`
}

// Unknown is the failure of a step whose unrepeatable request may have been sent when its process stopped.
type Unknown struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// JoinState is what a joining node has received: the inputs that arrived, by port, and whether it has run.
type JoinState struct {
	Inputs map[string]any `json:"inputs,omitempty"`
	Done   bool           `json:"done,omitempty"`
}

// joinedPort marks the pending step of a joining node whose arrivals are joined into its input.
const joinedPort = "*"

// push queues node to run with input arriving at port, numbering the visit.
func (st *State) push(node, port string, input any) {
	if st.Visits == nil {
		st.Visits = map[string]int{}
	}
	st.Visits[node]++
	st.Pending = append(st.Pending, Pending{Node: node, Port: port, Input: input, Attempt: 1, Visit: st.Visits[node]})
}

// follow queues the nodes n's port leads to, each with value arriving at its input port.
func (st *State) follow(n *flows.CompiledNode, port string, value any) {
	for i, t := range n.Next[port] {
		in := nodes.DefaultPort
		if i < len(n.NextPort[port]) {
			in = n.NextPort[port][i]
		}
		st.push(t.Def.ID, in, value)
		if loops(t) {
			// A loop counts its rounds: data from before it starts the first, data coming back the next.
			if st.Rounds == nil {
				st.Rounds = map[string]int{}
			}
			if t.Spec.IsBackInput(in) {
				st.Rounds[t.Def.ID]++
			} else {
				st.Rounds[t.Def.ID] = 1
			}
			st.Pending[len(st.Pending)-1].Round = st.Rounds[t.Def.ID]
		}
	}
}

// loops reports whether n closes a loop: one of its inputs is of kind PortBack.
func loops(n *flows.CompiledNode) bool {
	for _, in := range n.Spec.Inputs {
		if in.Kind == nodes.PortBack {
			return true
		}
	}
	return false
}

// join records the arrival p brings to joining node n, and reports whether n runs now: every connected input
// arrived, it runs on its first arrival, or no pending step other than p can still reach it. When it runs, p's
// input becomes the arrivals by port.
func (st *State) join(n *flows.CompiledNode, p *Pending, first bool) bool {
	if st.Joins == nil {
		st.Joins = map[string]*JoinState{}
	}
	js := st.Joins[n.Def.ID]
	if js == nil {
		js = &JoinState{Inputs: map[string]any{}}
		st.Joins[n.Def.ID] = js
	}
	if js.Done {
		return false
	}
	if p.Port != "" {
		js.Inputs[p.Port] = p.Input
	}
	ready := first && len(js.Inputs) > 0
	if !ready {
		ready = true
		for _, port := range n.Join.Ports {
			if _, ok := js.Inputs[port]; !ok {
				ready = false
				break
			}
		}
	}
	if !ready {
		ready = true
		for _, q := range st.Pending[1:] {
			if q.Node == n.Def.ID || n.Join.Ancestors[q.Node] {
				ready = false
				break
			}
		}
	}
	if !ready || len(js.Inputs) == 0 {
		return false
	}
	js.Done = true
	inputs := make(map[string]any, len(js.Inputs))
	for k, v := range js.Inputs {
		inputs[k] = v
	}
	p.Input, p.Port = inputs, joinedPort
	return true
}

// unjoined queues a check of every joining node that some input reached but that has not run: with nothing
// else pending, no other branch can reach it, so it runs with what arrived. It reports whether it queued any.
func (st *State) unjoined(c *flows.Compiled) bool {
	queued := false
	ids := make([]string, 0, len(st.Joins))
	for id := range st.Joins {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if js := st.Joins[id]; !js.Done && len(js.Inputs) > 0 && c.Nodes[id] != nil {
			st.Pending = append(st.Pending, Pending{Node: id, Attempt: 1, Visit: max(st.Visits[id], 1)})
			queued = true
		}
	}
	return queued
}

// IdempotencyKey is the key a step sends to providers: the same for every attempt of one visit of a node in a
// run, and different for each visit. The first visit keeps the plain "run:node" form.
func IdempotencyKey(runID, nodeID string, visit int) string {
	if visit > 1 {
		return runID + ":" + nodeID + ":" + strconv.Itoa(visit)
	}
	return runID + ":" + nodeID
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
	// Persist, when set, saves the run's state and the steps recorded since the last save while the run goes on
	// (the run stays running): the engine calls it before a step sends a request it cannot repeat. Steps it
	// saved are not returned again in the Outcome.
	Persist func(ctx context.Context, st *State, steps []Step) error
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
	// Park is set when the run parked for a person (Status waiting): what the store keeps of the wait.
	Park *Parked
	// Split is set when the run parked for child runs (Status waiting): the caller starts them with the
	// run's progress, each from ChildState (or, for a subflow, from its Target's trigger).
	Split *Splitting
	// Started are subflow runs steps started without waiting for them: the caller starts them with the run's
	// progress.
	Started []*Splitting
}

// Splitting is a split a step started: the node, the children to start, and the wait the step resumes from.
// For a subflow, Target is the flow's compiled version the children run, and Version its number.
type Splitting struct {
	NodeID  string
	WaitID  string
	Target  *flows.Compiled
	Version int
	nodes.Split
}

// CodeSubflowUnavailable fails a step whose subflow cannot be run: no such flow, not published, or a version
// that does not exist.
const CodeSubflowUnavailable = "subflow_unavailable"

// subflow finds the flow version a subflow step runs, through Engine.Subflows.
func (e *Engine) subflow(ctx context.Context, sf *nodes.Subflow) (*flows.Compiled, int, error) {
	if e.Subflows == nil {
		return nil, 0, nodes.NewPermanent(CodeSubflowUnavailable, errors.New("this engine cannot start other flows"))
	}
	c, v, err := e.Subflows(ctx, sf.FlowID, sf.Version)
	if err != nil {
		return nil, 0, nodes.NewPermanent(CodeSubflowUnavailable, fmt.Errorf("flow %s: %w", sf.FlowID, err))
	}
	if len(c.Triggers) == 0 {
		return nil, 0, nodes.NewPermanent(CodeSubflowUnavailable, fmt.Errorf("flow %s has no trigger to start at", sf.FlowID))
	}
	return c, v, nil
}

// ChildWaitPrefix starts the wait id of a step waiting for its child runs; the caller's Resume hook tells such
// a wait from a person's by it.
const ChildWaitPrefix = "children:"

// split records step as waiting for its children and parks the run until they end (the caller's Resume hook
// says when), leaving the step pending to run again then.
func (e *Engine) split(out Outcome, st *State, node *flows.CompiledNode, step Step, sp *Splitting) Outcome {
	id := ChildWaitPrefix + node.Def.ID + ":" + strconv.Itoa(max(st.Pending[0].Visit, 1))
	step.Status = StepWaiting
	step.Output = map[string]any{"children": len(sp.Items), "parallel": sp.Parallel, "port": sp.Port}
	if sp.Flow != nil {
		step.Output = map[string]any{"children": len(sp.Items), "flowId": sp.Flow.FlowID, "version": sp.Version}
	}
	out.Steps = append(out.Steps, step)
	e.observe(step)
	st.Pending[0].Wait, st.Pending[0].Resume = id, nil
	out.Status, out.AvailableAt = StatusWaiting, e.now().Add(nodes.MaxParkTimeout)
	sp.WaitID = id
	out.Split = sp
	return out
}

// ChildState is where a child run of a split starts: the split node's output being the item, and the nodes of
// the split's port pending with the item as input. The parent's variables and outputs are not copied into it:
// the caller lends them to the child when it executes (Inherit), so ten thousand children do not store ten
// thousand copies of the parent's data.
func ChildState(c *flows.Compiled, nodeID, port string, item any) *State {
	st := &State{Outputs: map[string]any{nodeID: item}, Borrows: true}
	if n := c.Nodes[nodeID]; n != nil {
		st.follow(n, port, item)
	}
	return st
}

// Inherit lends a child run the variables and node outputs of its parent as they were when it split (so
// expressions read nodes.<id> and vars as the parent did): parent values under the child's own. The maps are
// new, the values shared and only read. Inherited reports which outputs came from the parent, so the child's
// checkpoint can leave them out (Own).
func (st *State) Inherit(vars, outputs map[string]any) {
	v := make(map[string]any, len(vars)+len(st.Vars))
	for k, x := range vars {
		v[k] = x
	}
	for k, x := range st.Vars {
		v[k] = x
	}
	o := make(map[string]any, len(outputs)+len(st.Outputs))
	inherited := make(map[string]bool, len(outputs))
	for k, x := range outputs {
		if _, own := st.Outputs[k]; !own {
			o[k] = x
			inherited[k] = true
		}
	}
	for k, x := range st.Outputs {
		o[k] = x
	}
	st.Vars, st.Outputs, st.inherited = v, o, inherited
}

// Own is the state as a child run keeps it: without the outputs it inherited from its parent. A state that
// inherited nothing is returned as it is.
func (st *State) Own() *State {
	if len(st.inherited) == 0 {
		return st
	}
	own := *st
	own.Outputs = make(map[string]any, len(st.Outputs))
	for k, x := range st.Outputs {
		if !st.inherited[k] {
			own.Outputs[k] = x
		}
	}
	own.inherited = nil
	return &own
}

// Parked is a wait a step started: its id, the node, and what the node asked (nodes.Park). Deadline is when
// it times out.
type Parked struct {
	ID       string
	NodeID   string
	NodeType string
	Park     nodes.Park
	Deadline time.Time
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
	persisted := 0
	out := e.execute(ctx, c, run, &persisted)
	out.Steps = out.Steps[persisted:]
	return out
}

func (e *Engine) execute(ctx context.Context, c *flows.Compiled, run *Run, persisted *int) Outcome {
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
	// Most runs execute each node once: room for that many steps spares the slice its regrowths.
	out := Outcome{Steps: make([]Step, 0, min(len(c.Nodes), c.MaxSteps))}
	// sending saves the run before the current step (Pending[0]) sends a request it cannot repeat; made once per
	// call, not per step, since the step loop is the hot path.
	var sending func(ctx context.Context, code, message string, details any) error
	if run.Mode == nodes.ModeLive && run.Persist != nil {
		sending = func(ctx context.Context, code, message string, details any) error {
			st.Pending[0].Sending = &Unknown{Code: code, Message: message, Details: details}
			if err := run.Persist(ctx, st, out.Steps[*persisted:]); err != nil {
				st.Pending[0].Sending = nil
				return nodes.NewRetryable("run_not_saved", fmt.Errorf("the step's request was not sent: the run could not be saved first: %w", err))
			}
			*persisted = len(out.Steps)
			return nil
		}
	}
	for len(st.Pending) > 0 || st.unjoined(c) {
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
		if node.Join != nil && p.Port != joinedPort {
			// A joining node runs once, with what its branches brought: this arrival is kept until then.
			if !st.join(node, &st.Pending[0], node.Impl.(nodes.Joiner).JoinFirst()) {
				st.Pending = st.Pending[1:]
				continue
			}
			p = st.Pending[0]
		}
		if p.Attempt == 0 {
			p.Attempt = 1
		}
		if p.Wait != "" && p.Resume == nil {
			res, until, err := e.resume(ctx, run.ID, p.Wait)
			switch {
			case err != nil:
				if e.Logger != nil {
					e.Logger.Warn("cannot read the wait of a parked run; trying again", "run", run.ID, "wait", p.Wait, "err", err)
				}
				out.Status, out.AvailableAt = StatusQueued, e.now().Add(time.Second)
				return out
			case res == nil && until.After(e.now()):
				out.Status, out.AvailableAt = StatusWaiting, until
				return out
			case res == nil:
				res = &nodes.Resume{WaitID: p.Wait, TimedOut: true}
			}
			st.Pending[0].Resume, p.Resume = res, res
		}
		env["prev"] = p.Input
		x := &nodes.Exec{
			Input: p.Input, Env: env, RunID: run.ID, FlowID: run.FlowID, NodeID: node.Def.ID, Attempt: p.Attempt,
			Mode: run.Mode, IdempotencyKey: IdempotencyKey(run.ID, node.Def.ID, p.Visit), HTTP: e.HTTP, Logger: e.Logger,
			Credential: noCredential, Breakers: e.Breakers, Resume: p.Resume,
			Rotations: e.Rotations, Iteration: p.Round,
		}
		if node.Def.Credential != "" {
			cred := e.stepCredential(node, run.Mode)
			x.HTTP, x.Credential = cred.client(e.HTTP), cred.fields
			if e.RenewCredential != nil {
				x.RenewCredential = cred.renew
			}
			if e.OnUsage != nil {
				id := node.Def.Credential
				x.ReportUsage = func(provider string, used, limit int64) { e.OnUsage(id, provider, used, limit) }
			}
		}
		rateKey, due := e.pace(ctx, node, x, &st.Pending[0])
		if rateKey != "" {
			x.ReportQuota = func(ctx context.Context, wait time.Duration) { e.hold(ctx, rateKey, wait) }
		}
		x.Sending = sending
		var paceErr error
		if p.Sending != nil {
			// The process stopped while this step sent a request it cannot repeat: it may have been applied.
			paceErr = nodes.WithDetails(nodes.NewPermanent(p.Sending.Code, errors.New(p.Sending.Message)), p.Sending.Details)
			due = time.Time{}
		}
		if wait := due.Sub(e.now()); wait > 0 {
			switch {
			case run.Mode == nodes.ModeLive:
				// A live run never waits on a worker: it parks until its slot, and the worker moves on.
				st.Pending[0].Slot = due
				out.Status, out.AvailableAt = StatusQueued, due
				return out
			case wait > e.maxRateWait():
				paceErr = nodes.NewRetryAfter(CodeRateLimited,
					fmt.Errorf("the rate limit of %s allows the next call in %s", rateKey, wait.Round(time.Millisecond)), wait)
			default:
				// Test runs execute inline, in the editor's request, and cannot park: a short wait is waited.
				if !sleep(ctx, wait) {
					st.Pending[0].Slot = due
					out.Status, out.AvailableAt = StatusQueued, due
					return out
				}
			}
		}
		st.Seq++
		step := Step{Seq: st.Seq, NodeID: node.Def.ID, NodeType: node.Spec.Type, Attempt: p.Attempt, Input: p.Input, StartedAt: e.now()}
		var res nodes.Result
		var err error
		var dry bool
		if paceErr != nil {
			err = paceErr
		} else {
			res, err, dry = e.call(ctx, node, x)
			st.Pending[0].Sending = nil // the step knows what became of its request: its outcome says
		}
		step.Duration = e.now().Sub(step.StartedAt)
		if err != nil {
			typed := nodes.Classify(err)
			if typed.RateLimited && rateKey != "" {
				e.penalize(ctx, rateKey, typed.After)
			}
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
			errTargets := node.Next[nodes.ErrorPort]
			// A failure that says the target is down (an open circuit) takes a connected error port at once: the
			// backup path is why it was drawn, and retrying would only wait for the same refusal.
			fallback := typed.Fallback && len(errTargets) > 0
			switch {
			case typed.Kind == nodes.Cancel:
				st.Pending = st.Pending[1:]
				out.Status, out.Error = StatusCancelled, step.Error
				return out
			case !fallback && typed.Kind != nodes.Permanent && run.Mode == nodes.ModeLive && p.Attempt < node.Retry.MaxAttempts:
				delay := node.Retry.Delay(p.Attempt + 1)
				if typed.Kind == nodes.RetryAfter && typed.After > 0 {
					delay = typed.After
				}
				st.Pending[0].Attempt = p.Attempt + 1
				out.Status, out.AvailableAt = StatusQueued, e.now().Add(delay)
				return out
			}
			if len(errTargets) > 0 {
				payload := map[string]any{"error": step.Error.data(), "input": p.Input}
				st.Outputs[node.Def.ID] = payload
				st.Pending = st.Pending[1:]
				st.follow(node, nodes.ErrorPort, payload)
				continue
			}
			// Leave the failed step pending so "retry from the failed step" resumes exactly here, asking afresh
			// if it had parked.
			st.Pending[0].Attempt = 1
			st.Pending[0].Wait, st.Pending[0].Resume, st.Pending[0].Sending = "", nil, nil
			out.Status, out.Error = StatusFailed, step.Error
			return out
		}
		if res.Park != nil {
			return e.park(out, run, st, node, step, res.Park)
		}
		if res.Split != nil && run.Mode == nodes.ModeLive {
			sp := &Splitting{NodeID: node.Def.ID, Split: *res.Split}
			if res.Split.Flow != nil {
				if sp.Target, sp.Version, err = e.subflow(ctx, res.Split.Flow); err != nil {
					step.Status = StepFailed
					typed := nodes.Classify(err)
					step.Error = &StepError{Code: typed.Code, Message: typed.Error(), Kind: string(typed.Kind), NodeID: node.Def.ID}
					out.Steps = append(out.Steps, step)
					e.observe(step)
					st.Pending[0].Attempt = 1
					return e.fail(out, step.Error)
				}
			}
			if res.Split.Flow == nil || !res.Split.Flow.Forget {
				return e.split(out, st, node, step, sp)
			}
			out.Started = append(out.Started, sp) // started with the run's progress; the step goes on at once
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
		st.follow(node, port, res.Output)
		if !res.WaitUntil.IsZero() && run.Mode == nodes.ModeLive && res.WaitUntil.After(e.now()) {
			out.Status, out.AvailableAt = StatusWaiting, res.WaitUntil
			return out
		}
	}
	out.Status = StatusSucceeded
	return out
}

// park records step as waiting and parks the run on a new wait, leaving the step pending to run again on
// resume. A test run cannot wait for a person: its step fails instead.
func (e *Engine) park(out Outcome, run *Run, st *State, node *flows.CompiledNode, step Step, p *nodes.Park) Outcome {
	if run.Mode != nodes.ModeLive {
		step.Status = StepFailed
		step.Error = &StepError{Code: CodeParkInTestRun, Kind: string(nodes.Permanent), NodeID: node.Def.ID,
			Message: fmt.Sprintf("%s would wait for a person (%s); a test run cannot wait, run it live", node.Spec.Type, p.Kind),
			Details: map[string]any{"kind": p.Kind, "title": p.Title, "request": p.Request}}
		out.Steps = append(out.Steps, step)
		e.observe(step)
		return e.fail(out, step.Error)
	}
	id := ""
	if e.NewWaitID != nil {
		id = e.NewWaitID()
	} else {
		id = uuid.Must(uuid.NewV7()).String()
	}
	now := e.now()
	parked := &Parked{ID: id, NodeID: node.Def.ID, NodeType: node.Spec.Type, Park: *p, Deadline: p.Deadline(now)}
	step.Status = StepWaiting
	step.Output = map[string]any{"waitId": id, "kind": p.Kind, "title": p.Title, "request": p.Request, "timeoutAt": parked.Deadline.UTC()}
	out.Steps = append(out.Steps, step)
	e.observe(step)
	st.Pending[0].Wait, st.Pending[0].Resume = id, nil
	out.Status, out.AvailableAt, out.Park = StatusWaiting, parked.Deadline, parked
	return out
}

// resume asks how the wait of a parked step ended; without a Resume hook the wait has timed out.
func (e *Engine) resume(ctx context.Context, runID, waitID string) (*nodes.Resume, time.Time, error) {
	if e.Resume == nil {
		return &nodes.Resume{WaitID: waitID, TimedOut: true}, time.Time{}, nil
	}
	return e.Resume(ctx, runID, waitID)
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

func (e *Engine) maxRateWait() time.Duration {
	if e.MaxRateWait > 0 {
		return e.MaxRateWait
	}
	return DefaultMaxRateWait
}

// pace applies the step's rate limit: it returns the limiter key (empty when the step is not limited) and when
// the call may go. A slot reserved before the run was parked is used as is, unless it went stale while the run
// waited for a worker: calls sent long after their slots would bunch up and overrun the quota.
func (e *Engine) pace(ctx context.Context, node *flows.CompiledNode, x *nodes.Exec, p *Pending) (string, time.Time) {
	now := e.now()
	slot := p.Slot
	p.Slot = time.Time{}
	key, limit, limited := e.rateLimit(ctx, node, x)
	if !slot.IsZero() && now.Sub(slot) <= e.maxRateWait() {
		return key, slot
	}
	if !limited {
		return "", now
	}
	d, err := e.Limiter.Reserve(ctx, key, limit)
	if err != nil {
		// The provider's own 429 answers still slow the run down; a limiter outage must not stop every flow.
		if e.Logger != nil {
			e.Logger.Warn("rate limiter unavailable; sending without pacing", "key", key, "node", node.Def.ID, "err", err)
		}
		return key, now
	}
	return key, now.Add(d)
}

// rateLimit finds the limit of a step: the quota of the credential it names, else the node's own setting,
// keyed by the credential or, without one, by the scope the node gives (its host).
func (e *Engine) rateLimit(ctx context.Context, node *flows.CompiledNode, x *nodes.Exec) (string, nodes.Limit, bool) {
	if e.Limiter == nil || (x.Mode == nodes.ModeTest && node.Spec.SideEffect) {
		return "", nodes.Limit{}, false // test runs of side effects send nothing
	}
	cred := node.Def.Credential
	if cred != "" && e.LimitFor != nil {
		if l, ok := e.LimitFor(ctx, cred); ok && l.Enabled() {
			return "credential:" + cred + ":" + string(x.Mode), l, true
		}
	}
	rl, ok := node.Impl.(nodes.RateLimited)
	if !ok {
		return "", nodes.Limit{}, false
	}
	l, scope, ok := rl.RateLimit(x)
	switch {
	case !ok || !l.Enabled():
		return "", nodes.Limit{}, false
	case cred != "":
		return "credential:" + cred + ":" + string(x.Mode), l, true
	case scope != "":
		return scope, l, true
	}
	return "node:" + x.FlowID + ":" + node.Def.ID, l, true
}

func (e *Engine) penalize(ctx context.Context, key string, retryAfter time.Duration) {
	if err := e.Limiter.Penalize(ctx, key, retryAfter); err != nil && e.Logger != nil {
		e.Logger.Warn("rate limiter: record a refused call", "key", key, "err", err)
	}
}

// hold applies what a provider said of its own quota to the step's key.
func (e *Engine) hold(ctx context.Context, key string, d time.Duration) {
	if d <= 0 {
		return
	}
	if err := e.Limiter.Hold(ctx, key, d); err != nil && e.Logger != nil {
		e.Logger.Warn("rate limiter: hold a key the provider says is short", "key", key, "err", err)
	}
}

// sleep waits d unless ctx ends first, and reports whether it waited the whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// stepCredential is the credential of one step, opened at most once however often the node and its HTTP client
// ask for it.
type stepCredential struct {
	e        *Engine
	id       string
	mode     nodes.Mode
	nodeType string
	accepted []string

	mu       sync.Mutex
	done     bool
	resolved *nodes.ResolvedCredential
	err      error
}

func (e *Engine) stepCredential(node *flows.CompiledNode, mode nodes.Mode) *stepCredential {
	return &stepCredential{e: e, id: node.Def.Credential, mode: mode, nodeType: node.Spec.Type, accepted: node.Spec.Credentials}
}

func (s *stepCredential) resolve(ctx context.Context) (*nodes.ResolvedCredential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return s.resolved, s.err
	}
	s.done = true
	switch {
	case s.id == "":
		s.err = nodes.ErrNoCredential
	case s.e.Credentials == nil:
		s.err = nodes.NewPermanent("credential_unavailable", fmt.Errorf("credential %s cannot be read: no credential store", s.id))
	default:
		s.resolved, s.err = s.e.Credentials(ctx, s.id, s.mode)
		if s.err == nil && len(s.accepted) > 0 && !slices.Contains(s.accepted, s.resolved.Type) {
			s.err = nodes.NewPermanent(CodeCredentialTypeRefused, fmt.Errorf("credential %s is a %s credential; %s accepts %s",
				s.resolved.Name, s.resolved.Type, s.nodeType, strings.Join(s.accepted, ", ")))
			s.resolved = nil
		}
	}
	return s.resolved, s.err
}

// fields is the step's Exec.Credential.
func (s *stepCredential) fields(ctx context.Context) (map[string]string, error) {
	r, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	return r.Fields, nil
}

// renew is the step's Exec.RenewCredential: the credential resolved again with the refused token renewed; the
// step's later calls use what it gives.
func (s *stepCredential) renew(ctx context.Context, refused map[string]string) (map[string]string, error) {
	r, err := s.e.RenewCredential(ctx, s.id, s.mode, refused[nodes.CredentialAccessToken])
	if err != nil {
		return nil, err
	}
	if len(s.accepted) > 0 && !slices.Contains(s.accepted, r.Type) {
		return nil, nodes.NewPermanent(CodeCredentialTypeRefused, fmt.Errorf("credential %s is a %s credential; %s accepts %s",
			r.Name, r.Type, s.nodeType, strings.Join(s.accepted, ", ")))
	}
	s.mu.Lock()
	s.done, s.resolved, s.err = true, r, nil
	s.mu.Unlock()
	return r.Fields, nil
}

// noCredential is Exec.Credential of a step that names no credential.
func noCredential(context.Context) (map[string]string, error) { return nil, nodes.ErrNoCredential }

// client returns base bound to the credential's destinations.
func (s *stepCredential) client(base *http.Client) *http.Client {
	return egress.Bind(base, func(ctx context.Context) (string, egress.Destinations, error) {
		r, err := s.resolve(ctx)
		if err != nil {
			return "", nil, err
		}
		return r.Name, r.Destinations, nil
	})
}

func (e *Engine) observe(s Step) {
	if e.OnStep != nil {
		e.OnStep(s.NodeType, s.Status, s.Duration)
	}
}

// StaticCredentials resolves credentials from a fixed table, for programs and tests that run flows without a
// vault. An id missing from the table fails the step as the vault would.
func StaticCredentials(table map[string]*nodes.ResolvedCredential) CredentialResolver {
	return func(_ context.Context, id string, _ nodes.Mode) (*nodes.ResolvedCredential, error) {
		c, ok := table[id]
		if !ok {
			return nil, nodes.NewPermanent("credential_not_found", fmt.Errorf("credential %s does not exist", id))
		}
		return c, nil
	}
}
