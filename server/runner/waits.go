package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/store"
)

// Errors of decisions, which the API maps to answers.
var (
	// ErrWaitClosed is returned when a wait was already decided, timed out, or its run cancelled.
	ErrWaitClosed = errors.New("runner: the wait is no longer open")
	// ErrDecisionInvalid wraps what is wrong with a decision.
	ErrDecisionInvalid = errors.New("runner: invalid decision")
	// ErrNotAssignee refuses a decision from someone the wait is not assigned to (nodes.Assignee).
	ErrNotAssignee = errors.New("runner: the wait is assigned to someone else")
)

// Decider is who decides a wait: Name is recorded as its decider (an e-mail, or "token <id>"); Email and Role
// are checked against the wait's assignee, when its request names one.
type Decider struct {
	Name  string
	Email string
	Role  string
}

// resumeWait is the engine's Resume hook: how the wait of a parked step ended. A decided wait resumes with the
// decision; an open one whose timeout has passed is closed as timed out here, by the worker holding the run's
// lease, so a late decision is refused (I11); an open one not yet due parks the run again until its timeout.
func (r *Runner) resumeWait(ctx context.Context, runID, waitID string) (*nodes.Resume, time.Time, error) {
	if strings.HasPrefix(waitID, engine.ChildWaitPrefix) {
		return r.childrenEnded(ctx, runID, waitID)
	}
	w, err := r.Store.GetWait(ctx, waitID)
	if errors.Is(err, store.ErrNotFound) {
		// The wait is gone (its row never written by an older build, or removed by hand): nobody can decide it.
		return &nodes.Resume{WaitID: waitID, TimedOut: true}, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	if w.RunID != runID {
		return nil, time.Time{}, fmt.Errorf("wait %s belongs to run %s", waitID, w.RunID)
	}
	switch w.Status {
	case store.WaitDecided:
		return &nodes.Resume{WaitID: waitID, Request: w.Request, Decision: w.Decision, DecidedBy: w.DecidedBy,
			DecidedAt: w.DecidedAt}, time.Time{}, nil
	case store.WaitOpen:
		now := time.Now()
		if now.Before(w.TimeoutAt) {
			return nil, w.TimeoutAt, nil
		}
		if res, err := r.undeliveredFlowEvent(ctx, w); res != nil || err != nil {
			return res, time.Time{}, err
		}
		err := r.Store.EndWait(ctx, waitID, store.WaitTimedOut, now)
		if errors.Is(err, store.ErrConflict) {
			return r.resumeWait(ctx, runID, waitID) // decided in the meantime: read it again
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		return &nodes.Resume{WaitID: waitID, TimedOut: true}, time.Time{}, nil
	default:
		return &nodes.Resume{WaitID: waitID, TimedOut: true}, time.Time{}, nil
	}
}

// parkedWait is what the store keeps of the wait a run parked on.
func parkedWait(run *store.Run, p *engine.Parked) *store.Wait {
	if p == nil {
		return nil
	}
	w := &store.Wait{ID: p.ID, FlowID: run.FlowID, NodeID: p.NodeID, NodeType: p.NodeType, Kind: p.Park.Kind,
		Title: p.Park.Title, Request: mustJSON(p.Park.Request), CreatedAt: time.Now().UTC(), TimeoutAt: p.Deadline.UTC()}
	if ev := p.Park.Event; ev != nil {
		w.EventName, w.EventKey, w.EventSince = ev.Name, ev.Key, w.CreatedAt.Add(-max(ev.Lookback, 0))
	}
	return w
}

// Decide records a person's decision on an open wait and queues its run to resume with it. The decision is
// checked against the wait's request by its kind (nodes.RegisterDecision), and the decider against the
// request's assignee (nodes.AssigneeOf), before anything is written: ErrNotAssignee says the decider may not,
// ErrDecisionInvalid what is wrong, ErrWaitClosed that the wait was decided, timed out or its run cancelled
// first.
func (r *Runner) Decide(ctx context.Context, waitID string, decision json.RawMessage, by Decider) (*store.Wait, error) {
	w, err := r.Store.GetWait(ctx, waitID)
	if err != nil {
		return nil, err
	}
	if w.Status != store.WaitOpen {
		return nil, ErrWaitClosed
	}
	if a := nodes.AssigneeOf(w.Request); !a.Allows(by.Email, by.Role) {
		return nil, fmt.Errorf("%w: it may be decided by %s", ErrNotAssignee, a)
	}
	if err := nodes.CheckDecision(w.Kind, w.Request, decision); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecisionInvalid, err)
	}
	now := time.Now().UTC()
	decided, err := r.Store.DecideWait(ctx, store.Decision{WaitID: waitID, Decision: decision, By: by.Name, At: now})
	if errors.Is(err, store.ErrConflict) {
		return nil, ErrWaitClosed
	}
	if err != nil {
		return nil, err
	}
	r.countRun(w.FlowID, store.RunQueued)
	if err := r.Queue.Enqueue(ctx, w.RunID, now); err != nil {
		r.Logger.Warn("enqueue failed; the sweeper will pick the run up", "run", w.RunID, "err", err)
	}
	return decided, nil
}
