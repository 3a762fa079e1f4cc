package nodes

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/ferry-hq/ferry/nodes/egress"
)

// Node is a configured node, built once per flow version by its constructor and shared by every run of that
// version, so Execute must be safe for concurrent use.
type Node interface {
	Execute(ctx context.Context, x *Exec) (Result, error)
}

// DryRunner is implemented by side-effecting nodes: in test runs the engine calls DryRun instead of Execute, and
// the node reports what it would have sent without sending it.
type DryRunner interface {
	DryRun(ctx context.Context, x *Exec) (Result, error)
}

// Closer is implemented by nodes that hold resources; the engine closes them when a flow version is unloaded.
type Closer interface {
	Close() error
}

// Mode tells test runs from live ones.
type Mode string

// Run modes.
const (
	ModeLive Mode = "live"
	ModeTest Mode = "test"
)

// Exec is what a node sees of the run while it executes one step.
type Exec struct {
	// Input is the output of the node that led here (the trigger payload for trigger nodes).
	Input any
	// Env is the expression environment (trigger, prev, nodes, vars, env, run); nodes evaluate their
	// expression parameters against it.
	Env map[string]any

	RunID   string
	FlowID  string
	NodeID  string
	Attempt int
	Mode    Mode
	// IdempotencyKey is the same for every attempt of this step of this run, so providers that honour keys
	// apply a side effect once however often the step is retried.
	IdempotencyKey string
	// Credential returns the decrypted fields of the node's credential, or ErrNoCredential.
	Credential func(ctx context.Context) (map[string]string, error)

	// HTTP is the step's way out: the process's guarded client (internal addresses refused), bound to the
	// destinations of the step's credential when it names one. Nodes send every request through it (Client).
	HTTP   *http.Client
	Logger *slog.Logger
	// ReportQuota, set when the step's calls are paced, tells the engine what a provider's answer said of its own
	// quota (Shopify's extensions.cost.throttleStatus): how long until its bucket can take another call like the
	// one just made. The engine holds every call sharing the step's rate-limit key that long, so calls slow down
	// before the provider refuses them. Nil when the step is not paced.
	ReportQuota func(ctx context.Context, wait time.Duration)
	// ReportUsage, set when someone listens, tells the process what a provider's answer said of the account's use
	// of its API allowance (Salesforce's Sforce-Limit-Info: api-usage=18/15000), which it exports as a gauge by
	// credential, so monitoring sees an org running out before its requests are refused.
	ReportUsage func(provider string, used, limit int64)
	// RenewCredential, set for a step whose credential can be renewed (OAuth2), gets fresh fields when the
	// provider refused the access token in fields (Salesforce's INVALID_SESSION_ID: a session revoked or timed
	// out before its announced expiry). Connectors call it once per request.
	RenewCredential func(ctx context.Context, refused map[string]string) (map[string]string, error)
	// Breakers are the process's circuit breakers, one per provider endpoint, so a connector fails fast while
	// an endpoint is down instead of adding to its load and holding the run; nil means no breaking.
	Breakers *Breakers
	// Resume is set when the step runs again after it parked the run (Result.Park): how the wait ended. Nil on
	// every other execution.
	Resume *Resume
	// Iteration, for a node that closes a loop (an input of kind PortBack), is the round this arrival starts:
	// 1 when the data came in from before the loop, one more each time it came back.
	Iteration int
	// Sending, set on live steps, records durably that the step is about to send a request it cannot repeat (a
	// write the provider cannot deduplicate), before it is sent: if the process dies before the step's outcome
	// is saved, the run resumes with the step failed with code, message and details (an unknown outcome), and
	// never sends the request again. An error means it could not be recorded, and the request must not be sent.
	// Nil when there is nothing to record it in (test runs).
	Sending func(ctx context.Context, code, message string, details any) error
	// Rotations are the durable turn counters of round-robin assignment (core.assign), shared by every run and
	// every worker of the fleet; nil when the engine has none, and the node then keeps its turns in the process.
	Rotations Rotations
}

// Client returns the step's HTTP client: HTTP, or the default guard's client when the step was given none, so a
// node never opens a connection of its own that skips the address rules.
func (x *Exec) Client() *http.Client {
	if x != nil && x.HTTP != nil {
		return x.HTTP
	}
	return egress.Default().Client()
}

// ErrNoCredential is returned by Exec.Credential when the node names no credential.
var ErrNoCredential = errors.New("node has no credential")

// Result is what a step produces.
type Result struct {
	// Output is the data passed to the next nodes as their input and kept as nodes.<id>.
	Output any
	// Port selects the output port to follow; empty means the node's first output.
	Port string
	// WaitUntil parks the run until that time (delay); the worker is released meanwhile.
	WaitUntil time.Time
	// Response is the answer to a synchronous trigger (core.respond).
	Response *Response
	// Vars are merged into the run's flow variables (core.set-vars).
	Vars map[string]any
	// Park, when set, parks the run until a person decides or the park times out; Output and Port are ignored
	// and the step runs again on resume (see Park).
	Park *Park
	// Split, when set in a live run, starts one child run per item (core.split) and parks the run until every
	// child has ended; the step runs again then, with Exec.Resume.Decision holding the children's summary.
	Split *Split
}

// Joiner is implemented by nodes that join branches (core.merge). The engine runs such a node once per run, when
// every connected input has arrived, or when no branch that has not arrived can still reach it (a condition took
// the other way), or, when JoinFirst says so, on the first arrival; later arrivals are dropped. Its Exec.Input is
// then an object of the inputs that arrived, by input port id.
type Joiner interface {
	Node
	JoinFirst() bool
}

// Bounds of child runs, whatever a node's parameters say: the children one step may start, and how many of them
// may execute at once.
const (
	MaxChildRuns     = 10_000
	MaxChildParallel = 100
)

// PortEnd is the port of a result that follows no edge: the branch ends at the step (a node that handed its items
// to child runs, one per item, ends there once they have ended).
const PortEnd = "end"

// Split asks the engine for child runs: each executes the branch of Port with its item as input, at most
// Parallel at once. Keys name the items, one each and all different: a child's dedup key is its parent's run and
// node with its key, and its business key the parent's with the key.
type Split struct {
	Port     string
	Items    []any
	Keys     []string
	Parallel int
	// Flow, when set, makes each child a run of that flow (core.subflow) instead of the split's port: it starts
	// at the flow's trigger with its item as the trigger payload, and borrows nothing from the parent.
	Flow *Subflow
}

// Subflow names the flow a child run executes: a pinned version, or the published one (Version 0). With Forget,
// the step does not wait for the child: it goes on at once and the child runs on its own.
type Subflow struct {
	FlowID  string
	Version int
	Forget  bool
}

// Response is an HTTP answer a flow gives to the caller of a synchronous webhook.
type Response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

// Limit is a provider quota: on average Rate requests per second, with up to Burst sent at once after a quiet
// spell. Shops and CRMs (Shopify, HubSpot) refuse calls over their quota, so Ferry paces the calls it makes
// with one credential, across every run and worker, to stay under it.
type Limit struct {
	// Rate is requests per second; zero or less means no limit.
	Rate float64 `json:"rate"`
	// Burst is how many requests may go at once; less than 1 counts as 1.
	Burst int `json:"burst,omitempty"`
}

// Enabled reports whether the limit restricts anything.
func (l Limit) Enabled() bool { return l.Rate > 0 && !math.IsInf(l.Rate, 1) && !math.IsNaN(l.Rate) }

// RateLimited is implemented by nodes that carry their own request-rate setting (core.http's rateLimit), so
// the engine can pace them when the credential they use has no quota of its own, or when they use none.
type RateLimited interface {
	// RateLimit returns the limit for this step and the scope it shares with other calls when the node names
	// no credential (for instance "host:api.example.com"); ok is false when the step is not limited.
	RateLimit(x *Exec) (limit Limit, scope string, ok bool)
}

// Kind classifies a step failure, so the engine knows whether trying again can help.
type Kind string

// Failure kinds. A plain error returned by a node counts as Retryable.
const (
	Retryable  Kind = "retryable"
	Permanent  Kind = "permanent"
	RetryAfter Kind = "retry_after"
	Cancel     Kind = "cancel"
)

// Error is a typed step failure. Nodes return it (through the constructors below) to say how the engine should
// treat the failure; Code is a stable machine-readable reason and Details carries what the provider said.
type Error struct {
	Kind    Kind
	Code    string
	Err     error
	After   time.Duration
	Details any
	// RateLimited says the provider refused the call for going over its quota (HTTP 429), so the engine slows
	// down every call sharing the step's rate-limit key, not only this retry.
	RateLimited bool
	// Fallback says the target is known to be down (an open circuit): when the node's error port is
	// connected, the run follows it at once to a backup path instead of spending its retries waiting.
	Fallback bool
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// NewPermanent marks err as a failure that retrying cannot fix (bad input, 4xx from a provider).
func NewPermanent(code string, err error) error { return &Error{Kind: Permanent, Code: code, Err: err} }

// NewRetryable marks err as a transient failure worth retrying with backoff (timeouts, 5xx).
func NewRetryable(code string, err error) error { return &Error{Kind: Retryable, Code: code, Err: err} }

// NewRetryAfter marks err as a rate limit: retry no sooner than after.
func NewRetryAfter(code string, err error, after time.Duration) error {
	return &Error{Kind: RetryAfter, Code: code, Err: err, After: after}
}

// NewRateLimited marks err as the provider refusing a call over its quota: retried no sooner than after (with
// the usual backoff when the provider named no time), and reported to the rate limiter of the step's key.
func NewRateLimited(code string, err error, after time.Duration) error {
	kind := Retryable
	if after > 0 {
		kind = RetryAfter
	}
	return &Error{Kind: kind, Code: code, Err: err, After: after, RateLimited: true}
}

// NewCancel stops the run without retrying and without following the error port.
func NewCancel(code string, err error) error { return &Error{Kind: Cancel, Code: code, Err: err} }

// Classify returns the typed form of any error a node returned; untyped errors are retryable. A request the
// outbound guard refused (an internal address, a credential sent where it may not go) fails for good with the
// guard's code, however the node wrapped it: trying again would meet the same refusal.
func Classify(err error) *Error {
	var e *Error
	found := errors.As(err, &e)
	if refused := egress.Refused(err); refused != nil && (!found || e.Code != refused.Code) {
		c := &Error{Kind: Permanent, Code: refused.Code, Err: err}
		if found {
			c.Details = e.Details
		}
		return c
	}
	if found {
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: Retryable, Code: "timeout", Err: err}
	}
	return &Error{Kind: Retryable, Code: "node_failed", Err: err}
}

// WithDetails attaches provider details (a response body, a request) to a typed error.
func WithDetails(err error, details any) error {
	e := Classify(err)
	c := *e
	c.Details = details
	return &c
}
