// Package scheduler starts runs on time: cron triggers of published flows, and the sweeper that re-enqueues
// every run the store says is due (lost enqueues, expired leases, delays and retries whose time has come), which
// is what makes the queue a fast path rather than the truth.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// Cron fires the schedule triggers of published flows.
type Cron struct {
	Runner *runner.Runner
	Logger *slog.Logger
	// Reload is how often the list of scheduled flows is re-read, to see publishes made by other processes.
	Reload time.Duration

	mu      sync.Mutex
	entries []cronEntry
	changed chan struct{}
}

type cronEntry struct {
	flowID  string
	version int
	node    string
	trigger nodes.ScheduleTrigger
	next    time.Time
}

// NewCron returns a Cron ready to Run.
func NewCron(r *runner.Runner, logger *slog.Logger) *Cron {
	return &Cron{Runner: r, Logger: logger, Reload: 30 * time.Second, changed: make(chan struct{}, 1)}
}

// Changed tells the scheduler that a flow was published, paused or deleted, so it reloads now.
func (c *Cron) Changed() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// Run fires triggers until ctx ends.
func (c *Cron) Run(ctx context.Context) {
	if err := c.load(ctx); err != nil {
		c.Logger.Warn("load schedules", "err", err)
	}
	reload := time.NewTicker(c.Reload)
	defer reload.Stop()
	for {
		c.mu.Lock()
		var wait time.Duration = time.Hour
		if len(c.entries) > 0 {
			wait = max(time.Until(c.entries[0].next), 0)
		}
		c.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-reload.C:
			timer.Stop()
			if err := c.load(ctx); err != nil {
				c.Logger.Warn("load schedules", "err", err)
			}
		case <-c.changed:
			timer.Stop()
			if err := c.load(ctx); err != nil {
				c.Logger.Warn("load schedules", "err", err)
			}
		case <-timer.C:
			c.fireDue(ctx, time.Now())
		}
	}
}

func (c *Cron) load(ctx context.Context) error {
	versions, err := c.Runner.Store.PublishedFlows(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	var entries []cronEntry
	for _, v := range versions {
		l, err := c.Runner.Version(ctx, v.FlowID, v.Version)
		if err != nil {
			c.Logger.Warn("published flow does not compile", "flow", v.FlowID, "version", v.Version, "err", err)
			continue
		}
		for _, t := range l.Compiled.Triggers {
			st, ok := t.Impl.(nodes.ScheduleTrigger)
			if !ok {
				continue
			}
			entries = append(entries, cronEntry{flowID: v.FlowID, version: v.Version, node: t.Def.ID, trigger: st, next: st.Next(now)})
		}
	}
	c.mu.Lock()
	// Keep the next firing time of entries that did not change, so a reload never skips or repeats a tick.
	old := map[string]time.Time{}
	for _, e := range c.entries {
		old[fmt.Sprintf("%s/%d/%s", e.flowID, e.version, e.node)] = e.next
	}
	for i := range entries {
		if next, ok := old[fmt.Sprintf("%s/%d/%s", entries[i].flowID, entries[i].version, entries[i].node)]; ok {
			entries[i].next = next
		}
	}
	sortEntries(entries)
	c.entries = entries
	c.mu.Unlock()
	return nil
}

func sortEntries(e []cronEntry) {
	sort.Slice(e, func(i, j int) bool { return e[i].next.Before(e[j].next) })
}

// fireDue starts a run for every entry due at now. The dedup key is the scheduled time, so two processes
// firing the same tick create one run (I3).
func (c *Cron) fireDue(ctx context.Context, now time.Time) {
	c.mu.Lock()
	var due []cronEntry
	for i := range c.entries {
		if c.entries[i].next.After(now) {
			continue
		}
		due = append(due, c.entries[i])
		c.entries[i].next = c.entries[i].trigger.Next(now)
	}
	sortEntries(c.entries)
	c.mu.Unlock()
	for _, e := range due {
		l, err := c.Runner.Version(ctx, e.flowID, e.version)
		if err != nil {
			c.Logger.Warn("scheduled flow unavailable", "flow", e.flowID, "err", err)
			continue
		}
		payload := map[string]any{"scheduledAt": e.next.UTC().Format(time.RFC3339), "firedAt": now.UTC().Format(time.RFC3339Nano)}
		_, err = c.Runner.Accept(ctx, runner.Trigger{Flow: l, Node: e.node, Payload: payload, Mode: nodes.ModeLive,
			DedupKey: fmt.Sprintf("schedule:%s:%d", e.node, e.next.Unix())})
		var dup *store.DuplicateRunError
		if err != nil && !errors.As(err, &dup) {
			c.Logger.Warn("start scheduled run", "flow", e.flowID, "err", err)
		}
	}
}
