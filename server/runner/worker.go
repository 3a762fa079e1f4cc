package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/store"
)

// Work runs n workers that receive run ids from the queue and process them, until ctx ends. Then they stop
// receiving, and the runs they hold get ShutdownGrace to finish; a run still executing after that stops at its
// next step boundary and is handed back (saved as queued, for this or another process to continue). Work returns
// when every worker has finished.
func (r *Runner) Work(ctx context.Context, n int) {
	execCtx, cancelExec := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelExec()
	go func() {
		select {
		case <-ctx.Done():
		case <-execCtx.Done():
			return
		}
		t := time.NewTimer(r.ShutdownGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelExec()
		case <-execCtx.Done():
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			backoff := 100 * time.Millisecond
			for {
				d, err := r.Queue.Receive(ctx)
				if err != nil {
					if ctx.Err() != nil || errors.Is(err, queue.ErrClosed) {
						return
					}
					r.Logger.Warn("queue receive failed", "err", err)
					select {
					case <-ctx.Done():
						return
					case <-time.After(backoff):
					}
					backoff = min(backoff*2, 5*time.Second)
					continue
				}
				backoff = 100 * time.Millisecond
				if err := r.Process(execCtx, d.RunID()); err != nil && execCtx.Err() == nil {
					r.Logger.Warn("process run", "run", d.RunID(), "err", err)
				}
				if err := d.Ack(context.WithoutCancel(ctx)); err != nil {
					r.Logger.Warn("queue ack failed", "run", d.RunID(), "err", err)
				}
			}
		}()
	}
	wg.Wait()
}

// Process claims runID and executes it until it finishes, waits or needs a retry. A run someone else holds,
// or that is not due, is left alone.
func (r *Runner) Process(ctx context.Context, runID string) error {
	run, err := r.Store.ClaimRun(ctx, runID, r.Owner, time.Now().Add(r.Lease))
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("claim run %s: %w", runID, err)
	}
	var loaded *Loaded
	if run.FlowVersion == 0 {
		loaded, err = Compile(run.FlowID, 0, run.Doc)
	} else {
		loaded, err = r.Version(ctx, run.FlowID, run.FlowVersion)
	}
	if err != nil {
		return r.failUnloadable(ctx, run, err)
	}
	var trigger any
	if len(run.Trigger) > 0 {
		if err := json.Unmarshal(run.Trigger, &trigger); err != nil {
			return r.failUnloadable(ctx, run, fmt.Errorf("decode trigger payload: %w", err))
		}
	}
	state := &engine.State{}
	if len(run.Checkpoint) > 0 {
		if err := json.Unmarshal(run.Checkpoint, state); err != nil {
			return r.failUnloadable(ctx, run, fmt.Errorf("decode checkpoint: %w", err))
		}
	} else {
		state = engine.NewState(loaded.Compiled, run.TriggerNode, trigger)
	}
	if run.ParentRunID != "" && state.Borrows {
		// A child of a split borrows its parent's trigger, variables and outputs.
		pc, err := r.parentOf(ctx, run.ParentRunID)
		if errors.Is(err, store.ErrNotFound) {
			return r.failUnloadable(ctx, run, err)
		}
		if err != nil {
			return err // the store did not answer: the lease expires and the run is taken up again
		}
		trigger = pc.trigger
		state.Inherit(pc.vars, pc.outputs)
	}

	// Keep the lease while executing; losing it (the run was cancelled, or we stalled past it and another
	// worker took over) stops this execution between steps.
	execCtx, cancel := context.WithCancel(ctx)
	var lost bool
	var lostMu sync.Mutex
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(r.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := r.Store.ExtendLease(ctx, run.ID, r.Owner, time.Now().Add(r.Lease)); errors.Is(err, store.ErrConflict) {
					lostMu.Lock()
					lost = true
					lostMu.Unlock()
					cancel()
					return
				}
			}
		}
	}()
	er := r.engineRun(run, trigger, state)
	er.Persist = func(ctx context.Context, st *engine.State, steps []engine.Step) error {
		return r.Store.SaveProgress(context.WithoutCancel(ctx), r.running(run, loaded.Compiled, st, steps))
	}
	out := r.Engine.Execute(execCtx, loaded.Compiled, er)
	close(done)
	cancel()
	lostMu.Lock()
	leaseLost := lost
	lostMu.Unlock()
	if leaseLost {
		return nil
	}
	prog := r.progress(run, loaded.Compiled, state, out)
	if err := r.Store.SaveProgress(context.WithoutCancel(ctx), prog); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil // cancelled or taken over meanwhile: the other side's state wins
		}
		return fmt.Errorf("save run %s: %w", run.ID, err)
	}
	applyProgress(run, prog)
	r.finish(run, out, prog)
	return nil
}

// failUnloadable ends a run whose flow version or data cannot be loaded: retrying cannot help.
func (r *Runner) failUnloadable(ctx context.Context, run *store.Run, cause error) error {
	se := &engine.StepError{Code: "run_unloadable", Message: cause.Error()}
	prog := store.Progress{RunID: run.ID, LeaseOwner: r.Owner, Status: store.RunFailed, Attempt: run.Attempt,
		Checkpoint: run.Checkpoint, Error: mustJSON(se), FinishedAt: time.Now().UTC()}
	prog.Starts = r.deadLetterStarts(run, nil, se)
	prog.ParentRunID, prog.Woken = run.ParentRunID, new([]string)
	if err := r.Store.SaveProgress(context.WithoutCancel(ctx), prog); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return cause
		}
		return fmt.Errorf("fail run %s: %w", run.ID, err)
	}
	r.countRun(run.FlowID, store.RunFailed)
	r.enqueueStarts(prog.Starts)
	r.enqueueIDs(*prog.Woken)
	return cause
}

// RetryFailed resumes a failed run from its failed step, with a fresh attempt count.
func (r *Runner) RetryFailed(ctx context.Context, runID string) (*store.Run, error) {
	run, err := r.Store.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	if run.Status != store.RunFailed || len(run.Checkpoint) == 0 {
		return nil, ErrNotRetryable
	}
	var st engine.State
	if err := json.Unmarshal(run.Checkpoint, &st); err != nil {
		return nil, fmt.Errorf("decode checkpoint: %w", err)
	}
	if len(st.Pending) == 0 {
		return nil, ErrNotRetryable
	}
	st.Pending[0].Attempt = 1
	now := time.Now().UTC()
	attempt := run.Attempt + 1
	err = r.Store.Transition(ctx, runID, []string{store.RunFailed}, store.RunQueued, store.RunUpdate{
		Attempt: &attempt, Checkpoint: mustJSON(&st), AvailableAt: &now, ClearError: true, ClearLease: true,
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, ErrNotRetryable
	}
	if err != nil {
		return nil, err
	}
	if err := r.Queue.Enqueue(ctx, runID, now); err != nil {
		r.Logger.Warn("enqueue failed; the sweeper will pick the run up", "run", runID, "err", err)
	}
	r.countRun(run.FlowID, store.RunQueued)
	return r.Store.GetRun(ctx, runID)
}

// Replay starts a new run with the original trigger payload of runID, on the same flow version, or on the
// currently published one when current is true. It carries no dedup key: replaying is deliberate.
func (r *Runner) Replay(ctx context.Context, runID string, current bool) (*store.Run, error) {
	orig, err := r.Store.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	var loaded *Loaded
	switch {
	case orig.FlowVersion == 0:
		loaded, err = Compile(orig.FlowID, 0, orig.Doc)
	case current:
		_, loaded, err = r.Published(ctx, orig.FlowID)
	default:
		loaded, err = r.Version(ctx, orig.FlowID, orig.FlowVersion)
	}
	if err != nil {
		return nil, err
	}
	var payload any
	if len(orig.Trigger) > 0 {
		if err := json.Unmarshal(orig.Trigger, &payload); err != nil {
			return nil, fmt.Errorf("decode trigger payload: %w", err)
		}
	}
	t := Trigger{Flow: loaded, Node: orig.TriggerNode, Payload: payload, BusinessKey: orig.BusinessKey,
		Mode: nodes.Mode(orig.Mode), ReplayOf: orig.ID}
	if t.Mode == nodes.ModeTest {
		res, err := r.RunNow(ctx, t, r.TestTimeout)
		if err != nil {
			return nil, err
		}
		return res.Run, nil
	}
	return r.Accept(ctx, t)
}

// Cancel stops a queued, waiting or running run. A running run stops at its next step boundary, when its
// worker finds its lease gone.
func (r *Runner) Cancel(ctx context.Context, runID string) (*store.Run, error) {
	now := time.Now().UTC()
	err := r.Store.Transition(ctx, runID, []string{store.RunQueued, store.RunWaiting, store.RunRunning}, store.RunCancelled,
		store.RunUpdate{FinishedAt: &now, ClearLease: true})
	if errors.Is(err, store.ErrConflict) {
		return nil, ErrNotRetryable
	}
	if err != nil {
		return nil, err
	}
	run, err := r.Store.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	if err := r.Store.CancelWaits(ctx, runID, now); err != nil {
		r.Logger.Warn("closing the waits of a cancelled run failed; they cannot be decided anyway", "run", runID, "err", err)
	}
	r.countRun(run.FlowID, store.RunCancelled)
	r.wake(ctx, run)
	r.cancelChildren(ctx, runID)
	return run, nil
}

// cancelChildren cancels the children of a split whose parent was cancelled, so none of them goes on alone; a
// child that ended meanwhile is left as it is.
func (r *Runner) cancelChildren(ctx context.Context, parentID string) {
	f := store.RunFilter{ParentRunID: parentID, Status: []string{store.RunQueued, store.RunWaiting, store.RunRunning}, Limit: 500}
	for {
		page, err := r.Store.ListRuns(ctx, f)
		if err != nil {
			r.Logger.Warn("cancelling the children of a cancelled run failed", "run", parentID, "err", err)
			return
		}
		for _, c := range page.Runs {
			if _, err := r.Cancel(ctx, c.ID); err != nil && !errors.Is(err, ErrNotRetryable) {
				r.Logger.Warn("cancelling a child run failed", "run", c.ID, "err", err)
			}
		}
		if page.NextCursor == "" {
			return
		}
		f.Cursor = page.NextCursor
	}
}
