package store

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

// parkRun creates a run, claims it and parks it on a new wait timing out at timeout; it returns the run and
// the wait's id.
func parkRun(t *testing.T, s Store, flowID string, timeout time.Time) (*Run, string) {
	t.Helper()
	ctx := t.Context()
	r := createRun(t, s, queuedRun(t, flowID))
	_, err := s.ClaimRun(ctx, r.ID, "w1", time.Now().Add(time.Minute))
	mustOK(t, err, "claim")
	waitID := newRunID(t)
	mustOK(t, s.SaveProgress(ctx, Progress{
		RunID: r.ID, LeaseOwner: "w1", Status: RunWaiting, Attempt: 1, AvailableAt: timeout,
		Checkpoint: json.RawMessage(`{"pending":[{"node":"up","wait":"` + waitID + `"}]}`),
		Steps:      []Step{{Seq: 1, NodeID: "up", Status: StepWaiting, Output: json.RawMessage(`{}`)}},
		Wait: &Wait{ID: waitID, FlowID: flowID, NodeID: "up", NodeType: "hubspot.contact.upsert", Kind: "crm.conflict",
			Title: "Contact a@example.com", Request: json.RawMessage(`{"fields":[{"name":"phone","source":"1","target":"2"}]}`),
			TimeoutAt: timeout},
	}), "park")
	return r, waitID
}

func testWaits(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "waits")
	timeout := time.Now().Add(time.Hour)
	r, waitID := parkRun(t, s, f.ID, timeout)

	w, err := s.GetWait(ctx, waitID)
	mustOK(t, err, "get wait")
	if w.RunID != r.ID || w.Status != WaitOpen || w.Kind != "crm.conflict" || w.NodeType != "hubspot.contact.upsert" ||
		string(w.Request) != `{"fields":[{"name":"phone","source":"1","target":"2"}]}` || w.Decision != nil {
		t.Fatalf("wait as stored: %+v", w)
	}
	sameTime(t, "timeout", w.TimeoutAt, micro(timeout))
	if got := getRun(t, s, r.ID); got.Status != RunWaiting || !got.AvailableAt.Equal(micro(timeout)) || got.LeaseOwner != "" {
		t.Fatalf("parked run: %+v", got)
	}
	// Not due before its timeout: no worker takes a parked run early.
	due, err := s.DueRuns(ctx, DueQuery{Now: time.Now()})
	mustOK(t, err, "due runs")
	for _, id := range due {
		if id == r.ID {
			t.Fatal("a parked run is due before its timeout")
		}
	}
	_, err = s.ClaimRun(ctx, r.ID, "w2", time.Now().Add(time.Minute))
	mustErr(t, err, ErrConflict, "claim a parked run")

	open, err := s.ListWaits(ctx, WaitFilter{Status: WaitOpen})
	mustOK(t, err, "list open")
	if len(open) != 1 || open[0].ID != waitID {
		t.Fatalf("open waits: %+v", open)
	}
	if n, _ := s.CountWaits(ctx, WaitOpen); n != 1 {
		t.Fatalf("count open = %d", n)
	}

	// Deciding queues the run, due at once, and records who decided what.
	at := time.Now()
	w, err = s.DecideWait(ctx, Decision{WaitID: waitID, Decision: json.RawMessage(`{"fields":{"phone":"target"}}`), By: "ops@example.com", At: at})
	mustOK(t, err, "decide")
	if w.Status != WaitDecided || string(w.Decision) != `{"fields":{"phone":"target"}}` || w.DecidedBy != "ops@example.com" {
		t.Fatalf("decided wait: %+v", w)
	}
	sameTime(t, "decided at", w.DecidedAt, micro(at))
	if got := getRun(t, s, r.ID); got.Status != RunQueued || !got.AvailableAt.IsZero() {
		t.Fatalf("run after the decision: %+v", got)
	}
	_, err = s.ClaimRun(ctx, r.ID, "w2", time.Now().Add(time.Minute))
	mustOK(t, err, "claim the decided run")

	// A second decision changes nothing.
	_, err = s.DecideWait(ctx, Decision{WaitID: waitID, Decision: json.RawMessage(`{"fields":{"phone":"source"}}`), By: "late@example.com"})
	mustErr(t, err, ErrConflict, "decide twice")
	if w, _ := s.GetWait(ctx, waitID); w.DecidedBy != "ops@example.com" {
		t.Fatalf("a second decision overwrote the first: %+v", w)
	}
	_, err = s.DecideWait(ctx, Decision{WaitID: "missing", Decision: json.RawMessage(`{}`)})
	mustErr(t, err, ErrNotFound, "decide a missing wait")

	// A timed-out wait cannot be decided; a cancelled run's wait neither.
	r2, wait2 := parkRun(t, s, f.ID, time.Now().Add(-time.Second))
	_, err = s.ClaimRun(ctx, r2.ID, "w3", time.Now().Add(time.Minute))
	mustOK(t, err, "claim a timed-out parked run")
	mustOK(t, s.EndWait(ctx, wait2, WaitTimedOut, time.Now()), "time out")
	_, err = s.DecideWait(ctx, Decision{WaitID: wait2, Decision: json.RawMessage(`{}`)})
	mustErr(t, err, ErrConflict, "decide a timed-out wait")
	mustErr(t, s.EndWait(ctx, wait2, WaitTimedOut, time.Now()), ErrConflict, "time out twice")

	r3, wait3 := parkRun(t, s, f.ID, time.Now().Add(time.Hour))
	now := time.Now()
	mustOK(t, s.Transition(ctx, r3.ID, []string{RunWaiting}, RunCancelled, RunUpdate{FinishedAt: &now}), "cancel run")
	_, err = s.DecideWait(ctx, Decision{WaitID: wait3, Decision: json.RawMessage(`{}`)})
	mustErr(t, err, ErrConflict, "decide the wait of a cancelled run")
	if w, _ := s.GetWait(ctx, wait3); w.Status != WaitOpen || w.Decision != nil {
		t.Fatalf("a refused decision left a trace: %+v", w)
	}
	mustOK(t, s.CancelWaits(ctx, r3.ID, now), "cancel waits")
	if w, _ := s.GetWait(ctx, wait3); w.Status != WaitCancelled {
		t.Fatalf("wait of a cancelled run: %+v", w)
	}

	byRun, err := s.ListWaits(ctx, WaitFilter{RunID: r2.ID})
	mustOK(t, err, "list by run")
	if len(byRun) != 1 || byRun[0].ID != wait2 || byRun[0].Status != WaitTimedOut {
		t.Fatalf("waits of run 2: %+v", byRun)
	}
	all, err := s.ListWaits(ctx, WaitFilter{FlowID: f.ID, Limit: 2})
	mustOK(t, err, "list page")
	if len(all) != 2 || all[0].ID != wait3 || all[1].ID != wait2 {
		t.Fatalf("newest first: %+v", all)
	}
	rest, err := s.ListWaits(ctx, WaitFilter{FlowID: f.ID, After: all[1].ID})
	mustOK(t, err, "list next page")
	if len(rest) != 1 || rest[0].ID != waitID {
		t.Fatalf("next page: %+v", rest)
	}

	// A wait goes with its run.
	mustOK(t, s.DeleteFlow(ctx, f.ID), "delete flow")
	if _, err := s.GetWait(ctx, waitID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("wait of a deleted run: %v", err)
	}
}

// testWaitDecisionRace has a decision and a worker taking the run at its timeout race: exactly one wins (I11).
func testWaitDecisionRace(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "wait race")
	for i := 0; i < 10; i++ {
		r, waitID := parkRun(t, s, f.ID, time.Now().Add(-time.Millisecond))
		var wg sync.WaitGroup
		var decideErr, claimErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, decideErr = s.DecideWait(ctx, Decision{WaitID: waitID, Decision: json.RawMessage(`{}`), By: "ops"})
		}()
		go func() {
			defer wg.Done()
			_, claimErr = s.ClaimRun(ctx, r.ID, "sweeper", time.Now().Add(time.Minute))
		}()
		wg.Wait()
		switch {
		case decideErr == nil && claimErr == nil:
			// The decision queued the run, the worker then claimed it: it resumes with the decision.
			if w, _ := s.GetWait(ctx, waitID); w.Status != WaitDecided {
				t.Fatalf("round %d: claimed after a decision, wait %+v", i, w)
			}
		case decideErr != nil && claimErr == nil:
			mustErr(t, decideErr, ErrConflict, "decision after the claim")
			if w, _ := s.GetWait(ctx, waitID); w.Status != WaitOpen || w.Decision != nil {
				t.Fatalf("round %d: refused decision left a trace: %+v", i, w)
			}
		default:
			t.Fatalf("round %d: decide %v, claim %v", i, decideErr, claimErr)
		}
	}
}
