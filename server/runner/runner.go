// Package runner is the server side of a run's life: it commits runs before their triggers are answered,
// hands them to the queue, claims them with a lease, executes them with the engine and saves their progress.
// Webhooks, schedules, the manual-run and test-run API, and workers all go through it.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/metrics"
	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/store"
)

// Errors the API maps to answers.
var (
	// ErrNotPublished is returned when a live trigger reaches a flow that has no published version or is paused.
	ErrNotPublished = errors.New("runner: flow is not published")
	// ErrNotRetryable is returned when a run is not in a state that allows the requested action.
	ErrNotRetryable = errors.New("runner: run is not in a state that allows this")
)

// Runner executes runs. It is safe for concurrent use.
type Runner struct {
	Store   store.Store
	Queue   queue.Queue
	Engine  *engine.Engine
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Owner names this process in run leases.
	Owner string
	// Lease is how long a claimed run stays ours without renewal; a crashed worker's runs are picked up after it.
	Lease time.Duration
	// TestTimeout bounds a test run executed inline.
	TestTimeout time.Duration
	// ShutdownGrace is how long runs in progress may go on after Work is told to stop (graceful shutdown).
	ShutdownGrace time.Duration
	// PublicURL is the address people open Ferry at, for the links that leave it (a dead letter's runUrl);
	// empty: no links.
	PublicURL string

	cache     versionCache
	published publishedCache
	watchers  watcherCache
	parents   parentCache
	listeners listenerCache
	// testRunsKept bounds the test runs each flow keeps; see SetTestRunsKept.
	testRunsKept atomic.Int64
}

// DefaultTestRunsKept is how many test runs each flow keeps unless configured otherwise: enough to look back on
// an afternoon of testing, few enough that anyone able to call a test webhook cannot fill the database.
const DefaultTestRunsKept = 100

// SetTestRunsKept bounds the finished test runs each flow keeps, newest first: every test run committed prunes
// its flow's older ones, and the pruner does the same on every pass. Live runs are never touched. n below 1
// means 1.
func (r *Runner) SetTestRunsKept(n int) { r.testRunsKept.Store(int64(max(n, 1))) }

// TestRunsKept is the bound SetTestRunsKept set.
func (r *Runner) TestRunsKept() int { return int(r.testRunsKept.Load()) }

// testRunBatch is how many old test runs one pruning transaction deletes.
const testRunBatch = 500

// PruneTestRuns deletes flowID's finished test runs beyond the newest TestRunsKept, in short transactions, and
// returns how many it deleted.
func (r *Runner) PruneTestRuns(ctx context.Context, flowID string) (int64, error) {
	var total int64
	for {
		n, err := r.Store.PruneRuns(ctx, store.PruneQuery{FlowID: flowID, Mode: string(nodes.ModeTest), Keep: r.TestRunsKept(), Limit: testRunBatch})
		total += n
		if err != nil {
			return total, fmt.Errorf("runner: prune test runs of flow %s: %w", flowID, err)
		}
		if n < testRunBatch {
			return total, nil
		}
	}
}

// New returns a Runner with defaults filled in.
func New(st store.Store, q queue.Queue, eng *engine.Engine, m *metrics.Metrics, logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.Default()
	}
	r := &Runner{Store: st, Queue: q, Engine: eng, Metrics: m, Logger: logger,
		Owner: "ferry-" + uuid.NewString()[:8], Lease: 30 * time.Second, TestTimeout: 60 * time.Second,
		ShutdownGrace: 20 * time.Second,
		cache:         versionCache{entries: map[versionKey]*Loaded{}}}
	r.SetTestRunsKept(DefaultTestRunsKept)
	if eng != nil && eng.Subflows == nil {
		eng.Subflows = r.subflowTarget
	}
	if eng != nil && eng.Resume == nil {
		eng.Resume = r.resumeWait
	}
	return r
}

// Loaded is a compiled flow version.
type Loaded struct {
	FlowID   string
	Version  int
	Compiled *flows.Compiled
	// Doc is kept for test runs of drafts, which store the document they ran.
	Doc json.RawMessage
}

type versionKey struct {
	flowID  string
	version int
}

// versionCache keeps compiled published versions; they are immutable (I8), so an entry never goes stale.
type versionCache struct {
	mu      sync.RWMutex
	entries map[versionKey]*Loaded
}

const maxCachedVersions = 2000

// Version returns flowID's published version `version`, compiled once and cached.
func (r *Runner) Version(ctx context.Context, flowID string, version int) (*Loaded, error) {
	key := versionKey{flowID, version}
	r.cache.mu.RLock()
	l := r.cache.entries[key]
	r.cache.mu.RUnlock()
	if l != nil {
		return l, nil
	}
	v, err := r.Store.GetVersion(ctx, flowID, version)
	if err != nil {
		return nil, err
	}
	l, err = Compile(flowID, version, v.Doc)
	if err != nil {
		return nil, err
	}
	r.cache.mu.Lock()
	if len(r.cache.entries) >= maxCachedVersions {
		for k, old := range r.cache.entries { // evict an arbitrary entry; recompiling is cheap
			old.Compiled.Close()
			delete(r.cache.entries, k)
			break
		}
	}
	if existing := r.cache.entries[key]; existing != nil {
		l.Compiled.Close()
		l = existing
	} else {
		r.cache.entries[key] = l
	}
	r.cache.mu.Unlock()
	return l, nil
}

// Compile parses and compiles a flow document.
func Compile(flowID string, version int, doc json.RawMessage) (*Loaded, error) {
	f, err := flows.Parse(doc)
	if err != nil {
		return nil, err
	}
	c, err := flows.Compile(f)
	if err != nil {
		return nil, err
	}
	return &Loaded{FlowID: flowID, Version: version, Compiled: c, Doc: doc}, nil
}

// PublishedTTL is how long Published trusts what it read about a flow. Within one process a publish, pause or
// delete takes effect at once (ForgetFlows); other processes see it within this time.
const PublishedTTL = time.Second

type publishedEntry struct {
	flow   *store.Flow
	loaded *Loaded
	err    error
	until  time.Time
}

// publishedCache spares every webhook request a read of its flow row.
type publishedCache struct {
	mu      sync.RWMutex
	entries map[string]publishedEntry
}

// ForgetFlows drops what Published remembers; the API calls it after a publish, pause, resume or delete.
func (r *Runner) ForgetFlows() {
	r.published.mu.Lock()
	r.published.entries = nil
	r.published.mu.Unlock()
	r.watchers.forget()
	r.listeners.forget()
}

// Published returns the flow and its published version, or ErrNotPublished. Answers are remembered for
// PublishedTTL.
func (r *Runner) Published(ctx context.Context, flowID string) (*store.Flow, *Loaded, error) {
	now := time.Now()
	r.published.mu.RLock()
	e, ok := r.published.entries[flowID]
	r.published.mu.RUnlock()
	if ok && now.Before(e.until) {
		return e.flow, e.loaded, e.err
	}
	f, l, err := r.readPublished(ctx, flowID)
	if err == nil || errors.Is(err, ErrNotPublished) {
		r.published.mu.Lock()
		if r.published.entries == nil || len(r.published.entries) >= maxCachedVersions {
			r.published.entries = map[string]publishedEntry{}
		}
		r.published.entries[flowID] = publishedEntry{flow: f, loaded: l, err: err, until: now.Add(PublishedTTL)}
		r.published.mu.Unlock()
	}
	return f, l, err
}

func (r *Runner) readPublished(ctx context.Context, flowID string) (*store.Flow, *Loaded, error) {
	f, err := r.Store.GetFlow(ctx, flowID)
	if err != nil {
		return nil, nil, err
	}
	if f.Status != store.FlowPublished || f.PublishedVersion == 0 {
		return f, nil, ErrNotPublished
	}
	l, err := r.Version(ctx, flowID, f.PublishedVersion)
	return f, l, err
}

// Trigger describes a run about to be created.
type Trigger struct {
	Flow        *Loaded
	Node        string
	Payload     any
	DedupKey    string
	BusinessKey string
	Mode        nodes.Mode
	ReplayOf    string
}

func (r *Runner) newRun(t Trigger) (*store.Run, json.RawMessage, error) {
	payload, err := json.Marshal(t.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("runner: encode trigger payload: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, nil, fmt.Errorf("runner: new run id: %w", err)
	}
	now := time.Now().UTC()
	run := &store.Run{
		ID: id.String(), FlowID: t.Flow.FlowID, FlowVersion: t.Flow.Version, Mode: string(t.Mode),
		Status: store.RunQueued, TriggerNode: t.Node, Trigger: payload, DedupKey: t.DedupKey,
		BusinessKey: t.BusinessKey, Attempt: 1, ReplayOf: t.ReplayOf, AvailableAt: now, CreatedAt: now,
	}
	if t.Flow.Version == 0 {
		run.Doc = t.Flow.Doc
	}
	if run.Mode == "" {
		run.Mode = string(nodes.ModeLive)
	}
	if run.Mode == string(nodes.ModeLive) {
		// Test runs are the editor's: they are neither ordered nor counted against the cap.
		run.OrderingKey = t.Flow.Compiled.RunOrderingKey(t.Payload, run.Mode)
		run.Concurrency = t.Flow.Compiled.Concurrency
	}
	return run, payload, nil
}

// Accept commits a queued run for t and enqueues it. When it returns without error the run is durable and
// the trigger may be acknowledged (I1). A repeated dedup key returns *store.DuplicateRunError.
func (r *Runner) Accept(ctx context.Context, t Trigger) (*store.Run, error) {
	run, _, err := r.newRun(t)
	if err != nil {
		return nil, err
	}
	if err := r.Store.CreateRun(ctx, run, nil); err != nil {
		return nil, err
	}
	r.countRun(run.FlowID, store.RunQueued)
	if err := r.Queue.Enqueue(ctx, run.ID, run.AvailableAt); err != nil {
		// The run is committed; the sweeper will find it.
		r.Logger.Warn("enqueue failed; the sweeper will pick the run up", "run", run.ID, "err", err)
	}
	r.emitFlowEvents(ctx, run)
	return run, nil
}

// Accepted is one trigger of AcceptMany: its run, or the run that already held its dedup key.
type Accepted struct {
	Run *store.Run
	// Duplicate names the earlier run holding the trigger's dedup key; Run is then not created.
	Duplicate string
}

// AcceptMany commits a queued run for each trigger in one transaction, all or none, and enqueues the runs it
// created: a provider's request carrying several events (HubSpot's batches). A trigger whose dedup key an
// earlier run (or an earlier trigger of the list) holds starts no run (I3) while the others do. When it returns
// without error every run is durable and the request may be acknowledged (I1).
func (r *Runner) AcceptMany(ctx context.Context, ts []Trigger) ([]Accepted, error) {
	runs := make([]*store.Run, len(ts))
	for i, t := range ts {
		run, _, err := r.newRun(t)
		if err != nil {
			return nil, err
		}
		runs[i] = run
	}
	held, err := r.Store.CreateRuns(ctx, runs)
	if err != nil {
		return nil, err
	}
	out := make([]Accepted, len(runs))
	var entries []queue.Entry
	for i, run := range runs {
		if held[i] != "" {
			out[i] = Accepted{Duplicate: held[i]}
			continue
		}
		out[i] = Accepted{Run: run}
		entries = append(entries, queue.Entry{RunID: run.ID, At: run.AvailableAt})
		r.countRun(run.FlowID, store.RunQueued)
	}
	if len(entries) > 0 {
		if err := r.Queue.EnqueueBatch(ctx, entries); err != nil {
			// The runs are committed; the sweeper will find them.
			r.Logger.Warn("enqueue failed; the sweeper will pick the runs up", "runs", len(entries), "err", err)
		}
	}
	for _, a := range out {
		r.emitFlowEvents(ctx, a.Run)
	}
	return out, nil
}

// Result is a run executed inline, as committed.
type Result struct {
	Run      *store.Run
	Steps    []store.Step
	Response *nodes.Response
}

// RunNow executes a new run inline, within timeout, and commits it with its steps before returning: synchronous
// webhooks answer with its Response, test runs show its steps. A run that waits, needs a retry or runs out of
// time is committed as it stands and continues on a worker. With a dedup key the run is committed first, so
// concurrent duplicate deliveries cannot both execute (I3).
func (r *Runner) RunNow(ctx context.Context, t Trigger, timeout time.Duration) (*Result, error) {
	run, _, err := r.newRun(t)
	if err != nil {
		return nil, err
	}
	leaseUntil := time.Now().Add(timeout + r.Lease)
	committedFirst := t.DedupKey != ""
	switch {
	case held(run):
		// An ordered or capped run may execute only when the store says so: commit it queued, then claim it
		// like a worker would. If it must wait, it continues on a worker and the caller gets it queued.
		committedFirst = true
		if err := r.Store.CreateRun(ctx, run, nil); err != nil {
			return nil, err
		}
		claimed, err := r.Store.ClaimRun(ctx, run.ID, r.Owner, leaseUntil)
		if errors.Is(err, store.ErrConflict) {
			r.countRun(run.FlowID, store.RunQueued)
			if err := r.Queue.Enqueue(ctx, run.ID, run.AvailableAt); err != nil {
				r.Logger.Warn("enqueue failed; the sweeper will pick the run up", "run", run.ID, "err", err)
			}
			r.emitFlowEvents(ctx, run)
			return &Result{Run: run}, nil
		}
		if err != nil {
			return nil, err
		}
		run = claimed
	case committedFirst:
		run.Status, run.LeaseOwner, run.LeaseUntil, run.StartedAt = store.RunRunning, r.Owner, leaseUntil, run.CreatedAt
		if err := r.Store.CreateRun(ctx, run, nil); err != nil {
			return nil, err
		}
	}
	state := engine.NewState(t.Flow.Compiled, t.Node, t.Payload)
	execCtx, cancel := context.WithTimeout(ctx, timeout)
	er := r.engineRun(run, t.Payload, state)
	er.Persist = func(ctx context.Context, st *engine.State, steps []engine.Step) error {
		ctx = context.WithoutCancel(ctx)
		p := r.running(run, t.Flow.Compiled, st, steps)
		if committedFirst {
			return r.Store.SaveProgress(ctx, p)
		}
		// The run exists only here so far: store it, running under this lease, before its request leaves.
		pending := *run
		pending.Status, pending.LeaseOwner, pending.LeaseUntil, pending.StartedAt = store.RunRunning, r.Owner, leaseUntil, run.CreatedAt
		pending.Checkpoint = p.Checkpoint
		if err := r.Store.CreateRun(ctx, &pending, p.Steps); err != nil {
			return err
		}
		committedFirst = true
		return nil
	}
	out := r.Engine.Execute(execCtx, t.Flow.Compiled, er)
	cancel()
	if t.Mode == nodes.ModeTest && out.Status == engine.StatusQueued {
		out.Status = engine.StatusFailed
		out.Error = &engine.StepError{Code: "test_run_timeout", Message: fmt.Sprintf("the test run did not finish within %s", timeout)}
	}
	prog := r.progress(run, t.Flow.Compiled, state, out)
	if !committedFirst && len(prog.Children) > 0 {
		// Children are started by saving the parent's progress: store the run first, running under this lease.
		pending := *run
		pending.Status, pending.LeaseOwner, pending.LeaseUntil, pending.StartedAt = store.RunRunning, r.Owner, leaseUntil, run.CreatedAt
		if err := r.Store.CreateRun(context.WithoutCancel(ctx), &pending, nil); err != nil {
			return nil, err
		}
		committedFirst = true
	}
	if committedFirst {
		// Detach from the caller: once executed, the outcome must be saved even if the caller went away.
		if err := r.Store.SaveProgress(context.WithoutCancel(ctx), prog); err != nil {
			return nil, fmt.Errorf("runner: save run %s: %w", run.ID, err)
		}
		applyProgress(run, prog)
	} else {
		applyProgress(run, prog)
		run.LeaseOwner, run.LeaseUntil = "", time.Time{}
		if run.Status == store.RunRunning {
			run.Status = store.RunQueued
		}
		run.Wait, run.Starts = prog.Wait, prog.Starts
		if err := r.Store.CreateRun(context.WithoutCancel(ctx), run, prog.Steps); err != nil {
			return nil, err
		}
	}
	r.finish(run, out, prog)
	r.emitFlowEvents(ctx, run)
	if t.Mode == nodes.ModeTest {
		// Anyone allowed to test may do it often: each flow keeps only its newest test runs.
		if _, err := r.PruneTestRuns(context.WithoutCancel(ctx), run.FlowID); err != nil {
			r.Logger.Warn("pruning old test runs failed", "flow", run.FlowID, "err", err)
		}
	}
	steps := append([]store.Step(nil), prog.Steps...)
	store.ResolveInputs(steps)
	return &Result{Run: run, Steps: steps, Response: state.Response}, nil
}

func applyProgress(run *store.Run, p store.Progress) {
	run.Status, run.Checkpoint, run.Error, run.Response = p.Status, p.Checkpoint, p.Error, p.Response
	run.Attempt = p.Attempt
	if !p.AvailableAt.IsZero() {
		run.AvailableAt = p.AvailableAt
	}
	run.FinishedAt = p.FinishedAt
	if run.StartedAt.IsZero() {
		run.StartedAt = run.CreatedAt
	}
}

func (r *Runner) engineRun(run *store.Run, trigger any, st *engine.State) *engine.Run {
	return &engine.Run{ID: run.ID, FlowID: run.FlowID, Version: run.FlowVersion, Mode: nodes.Mode(run.Mode),
		Attempt: run.Attempt, Trigger: trigger, State: st}
}

// running is what the store keeps of a run saved while it goes on: its state and the steps since the last save.
func (r *Runner) running(run *store.Run, c *flows.Compiled, st *engine.State, steps []engine.Step) store.Progress {
	return store.Progress{RunID: run.ID, LeaseOwner: r.Owner, Status: store.RunRunning, Attempt: run.Attempt,
		Checkpoint: mustJSON(st.Own()), Steps: r.steps(run.ID, c, steps)}
}

// progress turns an engine outcome into what the store keeps.
func (r *Runner) progress(run *store.Run, c *flows.Compiled, st *engine.State, out engine.Outcome) store.Progress {
	p := store.Progress{RunID: run.ID, LeaseOwner: r.Owner, Attempt: run.Attempt}
	now := time.Now().UTC()
	switch out.Status {
	case engine.StatusSucceeded:
		p.Status, p.FinishedAt = store.RunSucceeded, now
	case engine.StatusFailed:
		p.Status, p.FinishedAt = store.RunFailed, now
	case engine.StatusCancelled:
		p.Status, p.FinishedAt = store.RunCancelled, now
	case engine.StatusWaiting:
		p.Status, p.AvailableAt = store.RunWaiting, out.AvailableAt.UTC()
	case engine.StatusQueued:
		p.Status, p.AvailableAt = store.RunQueued, out.AvailableAt.UTC()
	}
	if p.Status != store.RunSucceeded && p.Status != store.RunCancelled {
		p.Checkpoint = mustJSON(st.Own())
	}
	if out.Error != nil {
		p.Error = mustJSON(out.Error)
	}
	if st.Response != nil {
		p.Response = mustJSON(st.Response)
	}
	p.Steps = r.steps(run.ID, c, out.Steps)
	p.Wait = parkedWait(run, out.Park)
	if p.Status == store.RunFailed {
		p.Starts = r.deadLetterStarts(run, c, out.Error)
	}
	if out.Split != nil {
		p.Children, p.ChildParallel = r.children(run, c, out.Split), out.Split.Parallel
	}
	for _, sp := range out.Started {
		p.Starts = append(p.Starts, r.children(run, c, sp)...)
	}
	p.ParentRunID, p.Woken = run.ParentRunID, new([]string)
	return p
}

// steps converts engine steps for storage, keeping as much data as the flow's saveData setting allows. A step
// whose input is the very value an earlier step of this batch output (the usual case: a node's input is its
// predecessor's output, and a trigger's output is its input) refers to that step instead of storing the JSON
// again.
func (r *Runner) steps(runID string, c *flows.Compiled, in []engine.Step) []store.Step {
	save := c.Flow.Settings.SaveData
	out := make([]store.Step, len(in))
	outputs := map[uintptr]int{} // map value → seq of the stored step that output it
	for i, s := range in {
		st := store.Step{RunID: runID, Seq: s.Seq, NodeID: s.NodeID, NodeType: s.NodeType, Attempt: s.Attempt,
			Status: s.Status, Port: s.Port, StartedAt: s.StartedAt.UTC(), DurationUS: s.Duration.Microseconds()}
		keep := save == "" || save == flows.SaveAll || (save == flows.SaveErrors && s.Status == engine.StepFailed)
		if keep {
			st.Output = mustJSON(s.Output)
			outPtr, outIsMap := mapPointer(s.Output)
			if inPtr, ok := mapPointer(s.Input); ok && s.Seq > 0 {
				if outIsMap && inPtr == outPtr && st.Output != nil {
					st.InputRef = s.Seq
				} else if seq, seen := outputs[inPtr]; seen {
					st.InputRef = seq
				}
			}
			if st.InputRef == 0 {
				st.Input = mustJSON(s.Input)
			}
			if outIsMap && s.Seq > 0 && st.Output != nil {
				outputs[outPtr] = s.Seq
			}
		}
		if s.Error != nil {
			st.Error = mustJSON(s.Error)
		}
		out[i] = st
	}
	return out
}

// mapPointer identifies a JSON object value by its map, so the same value can be recognised as it passes from
// one step to the next.
func mapPointer(v any) (uintptr, bool) {
	if m, ok := v.(map[string]any); ok && m != nil {
		return reflect.ValueOf(m).Pointer(), true
	}
	return 0, false
}

// mustJSON encodes run data; a value that cannot be encoded is stored as a description of the failure rather
// than dropped silently.
func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := encodeJSON(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"encodingError": err.Error()})
	}
	return b
}

func (r *Runner) countRun(flowID, status string) {
	if r.Metrics != nil {
		r.Metrics.Runs.WithLabelValues(flowID, status).Inc()
	}
}

// held reports whether run may have to wait for others before it executes: an ordered run, or a run of a capped
// flow.
func held(run *store.Run) bool { return run.OrderingKey != "" || run.Concurrency > 0 }

// wake enqueues the runs that run held back, now that it no longer executes: the next run with its ordering
// key, or runs of its capped flow waiting for a free slot. A lost wake-up only delays them until the sweeper.
func (r *Runner) wake(ctx context.Context, run *store.Run) {
	if !held(run) {
		return
	}
	ids, err := r.Store.WakeRuns(ctx, run.FlowID, run.OrderingKey, max(1, run.Concurrency))
	if err == nil && len(ids) > 0 {
		now := time.Now()
		batch := make([]queue.Entry, len(ids))
		for i, id := range ids {
			batch[i] = queue.Entry{RunID: id, At: now}
		}
		err = r.Queue.EnqueueBatch(ctx, batch)
	}
	if err != nil {
		r.Logger.Warn("waking held-back runs failed; the sweeper will pick them up", "flow", run.FlowID, "err", err)
	}
}

// finish reports a run's new status, hands a run that continues later back to the queue, wakes the runs it held
// back, and enqueues the runs committed with it (prog's starts) and those its save made claimable.
func (r *Runner) finish(run *store.Run, out engine.Outcome, prog store.Progress) {
	r.countRun(run.FlowID, run.Status)
	if run.Status == store.RunQueued || run.Status == store.RunWaiting {
		if err := r.Queue.Enqueue(context.Background(), run.ID, run.AvailableAt); err != nil {
			r.Logger.Warn("enqueue failed; the sweeper will pick the run up", "run", run.ID, "err", err)
		}
	}
	r.wake(context.Background(), run)
	r.enqueueStarts(prog.Starts)
	if prog.Woken != nil {
		r.enqueueIDs(*prog.Woken)
	}
	r.takenAtOnce(run, out)
	if out.Error != nil && run.Status == store.RunFailed {
		r.Logger.Info("run failed", "run", run.ID, "flow", run.FlowID, "node", out.Error.NodeID, "code", out.Error.Code)
	}
}

// Polled is one page a polling trigger fetched: its records, and what the poller commits with them.
type Polled struct {
	Flow    *Loaded
	Node    string
	Records []nodes.PolledRecord
	Commit  store.PollCommit
}

// AcceptPolled commits a polled page's records as queued live runs together with the trigger's cursor, in one
// transaction (a record seen before is skipped by its dedup key), then enqueues the runs created. When it
// returns without error the page is durable and the poller may ask for the next; a cursor that moved since the
// poller read it fails with store.ErrConflict and commits nothing.
func (r *Runner) AcceptPolled(ctx context.Context, p Polled) ([]string, error) {
	runs := make([]*store.Run, 0, len(p.Records))
	for _, rec := range p.Records {
		run, _, err := r.newRun(Trigger{Flow: p.Flow, Node: p.Node, Payload: rec.Payload, DedupKey: rec.DedupKey,
			BusinessKey: rec.BusinessKey, Mode: nodes.ModeLive})
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	c := p.Commit
	c.FlowID, c.NodeID, c.Runs = p.Flow.FlowID, p.Node, runs
	created, err := r.Store.CommitPoll(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(created) == 0 {
		return created, nil
	}
	at := map[string]time.Time{}
	for _, run := range runs {
		at[run.ID] = run.AvailableAt
	}
	entries := make([]queue.Entry, len(created))
	for i, id := range created {
		entries[i] = queue.Entry{RunID: id, At: at[id]}
		r.countRun(p.Flow.FlowID, store.RunQueued)
	}
	if err := r.Queue.EnqueueBatch(ctx, entries); err != nil {
		// The runs are committed; the sweeper will find them.
		r.Logger.Warn("enqueue failed; the sweeper will pick the runs up", "flow", p.Flow.FlowID, "runs", len(created), "err", err)
	}
	byID := map[string]*store.Run{}
	for _, run := range runs {
		byID[run.ID] = run
	}
	for _, id := range created {
		r.emitFlowEvents(ctx, byID[id])
	}
	return created, nil
}
