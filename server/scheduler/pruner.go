package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// Pruner deletes finished runs past their flow's retention (flows.Retention, else the server's defaults), and
// test runs beyond the runner's TestRunsKept, so run data does not grow without bound. It deletes a batch per short transaction and pauses between batches, so
// webhooks and workers keep committing while it works; queued, running and waiting runs are never touched.
type Pruner struct {
	Runner *runner.Runner
	// Leader, when set, keeps pruning to one process at a time.
	Leader Leader
	// Days and Runs are the defaults for flows that set no retention of their own; 0 disables that bound.
	Days, Runs int
	// Defaults, when set, is asked for the defaults at the start of every pass instead of Days and Runs, so an
	// admin's change in the settings applies from the next pass on, in whichever process leads the pruning. A
	// pass whose defaults cannot be read deletes nothing: stale defaults could delete runs the admin now keeps.
	Defaults func(ctx context.Context) (flows.Retention, error)
	// Interval is the time between passes (default 10m); Batch the runs deleted per transaction (default 500);
	// Pause the rest between batches (default 20ms).
	Interval time.Duration
	Batch    int
	Pause    time.Duration
	// AuditAnonymous and RejectionsPerFlow bound the tables anonymous callers feed: the newest this many
	// anonymous audit events (failed sign-ins) and refused webhook calls of each flow are kept (defaults
	// DefaultAuditAnonymous and DefaultRejectionsPerFlow).
	AuditAnonymous    int
	RejectionsPerFlow int
}

// Bounds of the tables anonymous callers feed. Failed sign-ins and refused webhook calls are already coalesced
// per address (one audit event per failure only for an address's first ten failures, then at 16, 32, 64…; one
// counted row per flow, address and reason while the calls keep coming), so these caps are only reached by
// traffic from very many addresses; they make sure that even that cannot grow the database without bound.
const (
	DefaultAuditAnonymous    = 100_000
	DefaultRejectionsPerFlow = 1_000
)

// Run prunes every Interval until ctx ends, starting one Interval after start.
func (p *Pruner) Run(ctx context.Context) {
	if p.Interval <= 0 {
		p.Interval = 10 * time.Minute
	}
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if p.Leader != nil {
			if leading, err := p.Leader.Lead(ctx); err != nil || !leading {
				continue
			}
		}
		n, err := p.Once(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			p.Runner.Logger.Warn("pruning runs failed", "err", err)
		} else if n > 0 {
			p.Runner.Logger.Info("pruned finished runs past retention", "runs", n)
		}
		b, err := p.Bound(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			p.Runner.Logger.Warn("bounding the audit log, refused webhooks and sign-in throttles failed", "err", err)
		} else if b.AuditEvents+b.Rejections+b.Throttles+b.Events > 0 {
			p.Runner.Logger.Info("pruned anonymous traffic past its bounds", "auditEvents", b.AuditEvents,
				"webhookRejections", b.Rejections, "signInThrottles", b.Throttles, "events", b.Events)
		}
	}
}

// Bounded is what one Bound pass deleted.
type Bounded struct {
	AuditEvents, Rejections, Throttles int64
	// Events counts delivered events older than runner.EventRetention.
	Events int64
}

// Bound enforces the bounds of the tables anonymous traffic feeds: expired sign-in throttles, anonymous audit
// events beyond AuditAnonymous, each flow's refused webhook calls beyond RejectionsPerFlow, and delivered events
// (core.wait-event) older than runner.EventRetention, whatever the run retention. It deletes in
// batches, pausing between them like Once.
func (p *Pruner) Bound(ctx context.Context, now time.Time) (Bounded, error) {
	batch, pause := p.Batch, p.Pause
	if batch <= 0 {
		batch = 500
	}
	if pause <= 0 {
		pause = 20 * time.Millisecond
	}
	audit, rejections := p.AuditAnonymous, p.RejectionsPerFlow
	if audit <= 0 {
		audit = DefaultAuditAnonymous
	}
	if rejections <= 0 {
		rejections = DefaultRejectionsPerFlow
	}
	st := p.Runner.Store
	var b Bounded
	var err error
	if b.Throttles, err = st.PruneThrottles(ctx, now); err != nil {
		return b, fmt.Errorf("scheduler: prune sign-in throttles: %w", err)
	}
	for _, step := range []struct {
		total *int64
		prune func() (int64, error)
	}{
		{&b.AuditEvents, func() (int64, error) { return st.PruneAnonymousAudit(ctx, audit, batch) }},
		{&b.Rejections, func() (int64, error) { return st.PruneWebhookRejections(ctx, rejections, batch) }},
		{&b.Events, func() (int64, error) { return st.PruneEvents(ctx, now.Add(-runner.EventRetention), batch) }},
	} {
		for {
			n, err := step.prune()
			*step.total += n
			if err != nil {
				return b, fmt.Errorf("scheduler: bound anonymous tables: %w", err)
			}
			if n < int64(batch) {
				break
			}
			select {
			case <-ctx.Done():
				return b, ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	return b, nil
}

// Once prunes every flow as of now and returns how many runs it deleted.
func (p *Pruner) Once(ctx context.Context, now time.Time) (int64, error) {
	batch, pause := p.Batch, p.Pause
	if batch <= 0 {
		batch = 500
	}
	if pause <= 0 {
		pause = 20 * time.Millisecond
	}
	defaults := flows.Retention{Days: p.Days, Runs: p.Runs}
	if p.Defaults != nil {
		d, err := p.Defaults(ctx)
		if err != nil {
			return 0, fmt.Errorf("scheduler: prune: read retention defaults: %w", err)
		}
		defaults = d
	}
	list, err := p.Runner.Store.ListFlows(ctx, store.FlowFilter{})
	if err != nil {
		return 0, fmt.Errorf("scheduler: prune: list flows: %w", err)
	}
	var total int64
	for _, f := range list {
		// Test runs are bounded on their own, whatever the flow's retention; the runner prunes them as they
		// come, and this pass applies a lowered bound to the runs already kept.
		n, err := p.Runner.PruneTestRuns(ctx, f.ID)
		total += n
		if err != nil {
			return total, fmt.Errorf("scheduler: prune: %w", err)
		}
		r := p.retention(ctx, f.ID, defaults)
		q := store.PruneQuery{FlowID: f.ID, Keep: r.Runs, Limit: batch}
		if r.Days > 0 {
			q.Before = now.Add(-time.Duration(r.Days) * 24 * time.Hour)
		}
		for {
			n, err := p.Runner.Store.PruneRuns(ctx, q)
			total += n
			if err != nil {
				return total, fmt.Errorf("scheduler: prune flow %s: %w", f.ID, err)
			}
			if n < int64(batch) {
				break
			}
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	return total, nil
}

// retention is the flow's published retention over the defaults.
func (p *Pruner) retention(ctx context.Context, flowID string, defaults flows.Retention) flows.Retention {
	r := defaults
	_, l, err := p.Runner.Published(ctx, flowID)
	if err != nil && !errors.Is(err, runner.ErrNotPublished) {
		return r
	}
	if l != nil && l.Compiled.Flow.Settings.Retention != nil {
		own := l.Compiled.Flow.Settings.Retention
		if own.Days > 0 {
			r.Days = own.Days
		}
		if own.Runs > 0 {
			r.Runs = own.Runs
		}
	}
	return r
}
