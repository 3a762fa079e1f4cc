package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// Sweeper makes the store, not the queue, the truth about runs (I2). The queue is a fast path: an enqueue can
// fail after its run committed, a process can die between the two, Redis can be flushed, a worker can be
// killed holding a run. The sweeper finds such runs in the store and enqueues them again; enqueueing a run that
// is already waiting is a no-op, so it never doubles work.
//
// It looks at each queued or waiting run once, Grace after the run became due (created, delayed until, retried
// at): a run still claimable by then was missed by the fast path, or is waiting behind a backlog, and is enqueued
// again. A run whose lease expired (its worker died) is enqueued at the first look after the expiry. A full sweep of every due run happens when the process starts leading, when the queue reports
// it may have lost entries, and every FullEvery.
type Sweeper struct {
	Runner *runner.Runner
	// Leader decides which process sweeps when several share a store; nil means this one always does.
	Leader Leader
	// Interval is the time between looks (default 2s).
	Interval time.Duration
	// Grace is how long the fast path has to deliver a run before the sweeper enqueues it again (default 10s).
	// It must exceed the time a run takes to commit.
	Grace time.Duration
	// FullEvery is the time between full sweeps (default 10m).
	FullEvery time.Duration

	cutoff      time.Time // queued and waiting runs that became due at or before cutoff have been looked at
	leaseCutoff time.Time // running runs whose lease expired at or before leaseCutoff have been looked at
	lastFull    time.Time
	leading     bool
}

// sweepPage is how many run ids one store query and one queue batch carry.
const sweepPage = 500

func (s *Sweeper) defaults() {
	if s.Interval <= 0 {
		s.Interval = 2 * time.Second
	}
	if s.Grace <= 0 {
		s.Grace = 10 * time.Second
	}
	if s.FullEvery <= 0 {
		s.FullEvery = 10 * time.Minute
	}
}

// Run sweeps every Interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	s.defaults()
	var lost <-chan struct{}
	if n, ok := s.Runner.Queue.(queue.LossNotifier); ok {
		lost = n.Lost()
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	forceFull := false
	for {
		if err := s.Tick(ctx, time.Now(), forceFull); err != nil && ctx.Err() == nil {
			s.Runner.Logger.Warn("sweep failed", "err", err)
		} else {
			forceFull = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-lost:
			s.Runner.Logger.Warn("the queue may have lost entries; sweeping every due run")
			forceFull = true
		}
	}
}

// Tick does one look at time now: a full sweep if one is due (or full is set), else the runs that became due
// since the last look.
func (s *Sweeper) Tick(ctx context.Context, now time.Time, full bool) error {
	s.defaults()
	if s.Leader != nil {
		leading, err := s.Leader.Lead(ctx)
		if err != nil {
			// Whatever happened meanwhile (Redis restarted, say), leading again starts with a full sweep.
			s.leading = false
			return fmt.Errorf("scheduler: sweeper leadership: %w", err)
		}
		if !leading {
			s.leading = false
			return nil
		}
	}
	if !s.leading {
		s.leading, full = true, true // a new leader does not know what the last one looked at
	}
	cutoff := now.Add(-s.Grace)
	if full || s.cutoff.IsZero() || now.Sub(s.lastFull) >= s.FullEvery {
		if err := sweep(ctx, s.Runner, store.DueQuery{Now: now}); err != nil {
			return err
		}
		s.lastFull, s.cutoff, s.leaseCutoff = now, cutoff, now
		return nil
	}
	// Expired leases are nobody's fast path: they are enqueued as soon as they expire.
	if err := sweep(ctx, s.Runner, store.DueQuery{Now: now, Since: s.leaseCutoff, Expired: true}); err != nil {
		return err
	}
	s.leaseCutoff = now
	if !cutoff.After(s.cutoff) {
		return nil
	}
	if err := sweep(ctx, s.Runner, store.DueQuery{Now: cutoff, Since: s.cutoff, Waiting: true}); err != nil {
		return err
	}
	s.cutoff = cutoff
	return nil
}

// SweepOnce enqueues every run that is due now.
func SweepOnce(ctx context.Context, r *runner.Runner) error {
	return sweep(ctx, r, store.DueQuery{Now: time.Now()})
}

// sweep pages through the runs q selects and enqueues them at once, a page per queue batch.
func sweep(ctx context.Context, r *runner.Runner, q store.DueQuery) error {
	q.Limit = sweepPage
	now := time.Now()
	for {
		ids, err := r.Store.DueRuns(ctx, q)
		if err != nil {
			return fmt.Errorf("scheduler: find due runs: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		batch := make([]queue.Entry, len(ids))
		for i, id := range ids {
			batch[i] = queue.Entry{RunID: id, At: now}
		}
		if err := r.Queue.EnqueueBatch(ctx, batch); err != nil {
			return fmt.Errorf("scheduler: enqueue %d due runs: %w", len(ids), err)
		}
		if len(ids) < sweepPage {
			return nil
		}
		q.After = ids[len(ids)-1]
	}
}
