package store

import (
	"testing"
	"time"
)

// TestFlowActivity checks the flows list's per-flow figures on both databases.
func TestFlowActivity(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) Store) { testFlowActivity(t, open(t)) })
}

func testFlowActivity(t *testing.T, s Store) {
	now := time.Now().UTC()
	since := now.Add(-24 * time.Hour)
	busy, quiet, testOnly, unlisted := newFlow(t, s, "busy"), newFlow(t, s, "quiet"), newFlow(t, s, "test only"),
		newFlow(t, s, "unlisted")

	run := func(flowID, mode, status string, age time.Duration) *Run {
		r := queuedRun(t, flowID)
		r.Mode, r.Status, r.CreatedAt = mode, status, now.Add(-age)
		return createRun(t, s, r)
	}
	// Created in id order, oldest first, as the runner does.
	run(busy.ID, "live", RunFailed, 30*time.Hour)
	run(busy.ID, "live", RunSucceeded, 2*time.Hour)
	run(busy.ID, "live", RunCancelled, 90*time.Minute)
	last := run(busy.ID, "live", RunFailed, time.Hour)
	run(busy.ID, "test", RunFailed, time.Minute)
	old := run(quiet.ID, "live", RunSucceeded, 26*time.Hour)
	run(testOnly.ID, "test", RunSucceeded, time.Minute)
	run(unlisted.ID, "live", RunFailed, time.Minute)

	got, err := s.FlowActivity(t.Context(), []string{busy.ID, quiet.ID, testOnly.ID}, since)
	mustOK(t, err, "flow activity")
	if len(got) != 2 {
		t.Fatalf("got activity for %d flows, want 2 (busy, quiet): %+v", len(got), got)
	}
	b := got[busy.ID]
	if b.LastRunID != last.ID || b.LastStatus != RunFailed || !b.LastRunAt.Equal(dbTime(last.CreatedAt)) {
		t.Errorf("busy last run = %s %s %v, want %s failed %v", b.LastRunID, b.LastStatus, b.LastRunAt, last.ID,
			dbTime(last.CreatedAt))
	}
	if b.Runs != 3 || b.Failed != 1 {
		t.Errorf("busy runs/failed in window = %d/%d, want 3/1 (the 30h-old run and the test run do not count)",
			b.Runs, b.Failed)
	}
	q := got[quiet.ID]
	if q.LastRunID != old.ID || q.LastStatus != RunSucceeded || q.Runs != 0 || q.Failed != 0 {
		t.Errorf("quiet = %+v, want last run %s succeeded and nothing in the window", q, old.ID)
	}
	if _, listed := got[unlisted.ID]; listed {
		t.Error("a flow that was not asked about has activity")
	}

	empty, err := s.FlowActivity(t.Context(), nil, since)
	mustOK(t, err, "flow activity of no flows")
	if len(empty) != 0 {
		t.Errorf("no flows asked, got %+v", empty)
	}
}
