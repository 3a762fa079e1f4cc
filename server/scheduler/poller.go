package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// Poller runs the polling triggers of published flows (D18). For each it keeps a cursor in the store, asks the
// trigger for the page after it when the poll is due, and commits the page's runs together with the cursor
// after them (runner.AcceptPolled), so a poll resumes exactly where it stopped, whatever crashed. One process
// polls at a time when several share a store (Leader), and a commit names the cursor revision it read, so a
// poller that lost its turn commits nothing.
type Poller struct {
	Runner *runner.Runner
	// Leader decides which process polls when several share a store; nil means this one always does.
	Leader Leader
	Logger *slog.Logger
	// Tick is how often due polls are looked for (default 1s); Reload how often the list of polling flows is
	// re-read to see publishes made by other processes (default 30s).
	Tick   time.Duration
	Reload time.Duration
	// PagesPerTurn bounds the pages one flow commits before the others get a turn (default 20); Parallel how
	// many flows are polled at once (default 4).
	PagesPerTurn int
	Parallel     int
	// MaxBacklog is how many runs may wait in the queue before polls stop fetching pages (default
	// DefaultMaxBacklog; -1 never stops). A backfill of a hundred thousand records then moves at the speed the workers execute runs,
	// instead of filling the queue ahead of them: webhook and schedule runs are not stuck behind it, and an
	// embedded process does not hold the whole backlog in memory.
	MaxBacklog int
	// Now is the clock; tests replace it.
	Now func() time.Time

	held    atomic.Bool
	mu      sync.Mutex
	entries []pollEntry
	loaded  time.Time
	changed chan struct{}
}

type pollEntry struct {
	flow    *runner.Loaded
	trigger nodes.PollingTrigger
	nodeID  string
	cred    string
	accepts []string
}

// CodePollFailed is the code of a poll that failed for a reason the trigger did not type.
const CodePollFailed = "poll_failed"

// maxPollBackoff bounds the wait after polls that failed in a row.
const maxPollBackoff = time.Hour

func (p *Poller) defaults() {
	if p.Tick <= 0 {
		p.Tick = time.Second
	}
	if p.Reload <= 0 {
		p.Reload = 30 * time.Second
	}
	if p.PagesPerTurn <= 0 {
		p.PagesPerTurn = 20
	}
	if p.Parallel <= 0 {
		p.Parallel = 4
	}
	if p.MaxBacklog == 0 {
		p.MaxBacklog = DefaultMaxBacklog
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.changed == nil {
		p.changed = make(chan struct{}, 1)
	}
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Changed tells the poller that a flow was published, paused or deleted, so it re-reads the polling flows.
func (p *Poller) Changed() {
	p.defaults()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Run polls until ctx ends.
func (p *Poller) Run(ctx context.Context) {
	p.defaults()
	t := time.NewTicker(p.Tick)
	defer t.Stop()
	for {
		more, err := p.Round(ctx)
		if err != nil && ctx.Err() == nil {
			p.Logger.Warn("poll failed", "err", err)
		}
		if more && ctx.Err() == nil && !p.held.Load() {
			continue // a walk has pages waiting: no pause between turns
		}
		var drained <-chan time.Time
		if more {
			drained = time.After(backlogPause) // the queue was full: look again soon, not at the next tick
		}
		select {
		case <-ctx.Done():
			return
		case <-drained:
		case <-t.C:
		case <-p.changed:
			p.mu.Lock()
			p.loaded = time.Time{}
			p.mu.Unlock()
		}
	}
}

// Round does one round: when this process leads, every due poll gets a turn of up to PagesPerTurn pages. It
// reports whether a poll has pages waiting, for the next round to come at once.
func (p *Poller) Round(ctx context.Context) (bool, error) {
	p.defaults()
	if p.Leader != nil {
		lead, err := p.Leader.Lead(ctx)
		if err != nil || !lead {
			return false, err
		}
	}
	entries, err := p.load(ctx)
	if err != nil {
		return false, err
	}
	p.held.Store(false)
	sem := make(chan struct{}, p.Parallel)
	var wg sync.WaitGroup
	var more atomic.Bool
	for _, e := range entries {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m, err := p.turn(ctx, e)
			if err != nil && ctx.Err() == nil {
				p.Logger.Warn("poll", "flow", e.flow.FlowID, "node", e.nodeID, "err", err)
			}
			if m {
				more.Store(true)
			}
		})
	}
	wg.Wait()
	return more.Load(), nil
}

// load lists the polling triggers of published flows, re-read every Reload or after Changed.
func (p *Poller) load(ctx context.Context) ([]pollEntry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.loaded.IsZero() && p.now().Sub(p.loaded) < p.Reload {
		return p.entries, nil
	}
	versions, err := p.Runner.Store.PublishedFlows(ctx)
	if err != nil {
		return nil, err
	}
	var entries []pollEntry
	for _, v := range versions {
		l, err := p.Runner.Version(ctx, v.FlowID, v.Version)
		if err != nil {
			p.Logger.Warn("published flow does not compile", "flow", v.FlowID, "version", v.Version, "err", err)
			continue
		}
		for _, t := range l.Compiled.Triggers {
			pt, ok := t.Impl.(nodes.PollingTrigger)
			if !ok {
				continue
			}
			entries = append(entries, pollEntry{flow: l, trigger: pt, nodeID: t.Def.ID, cred: t.Def.Credential, accepts: t.Spec.Credentials})
		}
	}
	p.entries, p.loaded = entries, p.now()
	return entries, nil
}

// StartCursor is where a flow's polling starts the first time: now, so a new flow runs for changes from its
// publication on, not for every record the provider ever had (a backfill reaches back on purpose).
func StartCursor(now time.Time) json.RawMessage {
	b, _ := json.Marshal(nodes.PollCursor{Time: now.UTC()})
	return b
}

// turn polls one trigger when it is due: pages until the trigger says there is no more, or PagesPerTurn.
func (p *Poller) turn(ctx context.Context, e pollEntry) (bool, error) {
	now := p.now()
	st := p.Runner.Store
	cur, err := st.EnsurePollCursor(ctx, e.flow.FlowID, e.nodeID, StartCursor(now), now)
	if err != nil {
		return false, err
	}
	if cur.NextPollAt.After(now) {
		return false, nil
	}
	trigger := e.trigger
	client, creds := p.credential(e)
	rev := cur.Rev
	var cursor nodes.PollCursor
	if err := json.Unmarshal(cur.Cursor, &cursor); err != nil {
		return false, p.fail(ctx, e, rev, 0, nodes.NewPermanent("poll_cursor_invalid", fmt.Errorf("the stored cursor does not read: %w", err)))
	}
	for page := 0; page < p.PagesPerTurn; page++ {
		if ctx.Err() != nil {
			return false, nil
		}
		if full, err := p.backlogFull(ctx); err != nil || full {
			return true, err
		}
		now = p.now()
		req := &nodes.PollRequest{Cursor: cursor, Mode: nodes.ModeLive, Credential: creds, HTTP: client,
			Breakers: p.Runner.Engine.Breakers, Now: now}
		p.reporters(e, req)
		res, err := trigger.Poll(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return false, nil // stopping: nothing was committed, the next poll starts from the same cursor
			}
			return false, p.fail(ctx, e, rev, cur.Failures, err)
		}
		next, err := json.Marshal(res.Next)
		if err != nil {
			return false, p.fail(ctx, e, rev, cur.Failures, fmt.Errorf("encode the cursor: %w", err))
		}
		due := now.Add(trigger.PollInterval())
		if res.More {
			due = now
		}
		_, err = p.Runner.AcceptPolled(ctx, runner.Polled{Flow: e.flow, Node: e.nodeID, Records: res.Records,
			Commit: store.PollCommit{Rev: rev, Cursor: next, NextPollAt: due, At: now, StartsPoll: page == 0 && cursor.From.IsZero(), EndsPoll: !res.More}})
		if errors.Is(err, store.ErrConflict) {
			return false, nil // another poller committed: its turn
		}
		if err != nil {
			return false, err // the store failed: nothing was committed, the next round tries again from the same cursor
		}
		rev++
		cur.Failures = 0
		cursor = res.Next
		if !res.More {
			return false, nil
		}
	}
	return true, nil
}

// DefaultMaxBacklog is the queue depth at which polls wait when the configuration names none: a few seconds of
// work for the workers, enough that they never idle while a backfill waits, small enough that a webhook's run
// queued behind it starts within seconds.
const DefaultMaxBacklog = 1000

// backlogPause is how long a poll held back by a full queue waits before looking at the queue again.
const backlogPause = 50 * time.Millisecond

// backlogFull reports whether the queue holds MaxBacklog runs or more, so the turn stops before fetching another
// page; the poll stays due and resumes from the same cursor when workers have caught up.
func (p *Poller) backlogFull(ctx context.Context) (bool, error) {
	if p.MaxBacklog < 0 || p.Runner.Queue == nil {
		return false, nil
	}
	n, err := p.Runner.Queue.Depth(ctx)
	if err != nil {
		return false, fmt.Errorf("read the queue's depth: %w", err)
	}
	if n < int64(p.MaxBacklog) {
		return false, nil
	}
	p.held.Store(true)
	return true, nil
}

// fail records a failed poll and when to try again: when the provider said (a rate limit), else after a backoff
// that doubles with each failure in a row, from the interval up to an hour.
func (p *Poller) fail(ctx context.Context, e pollEntry, rev int64, failures int, err error) error {
	typed := nodes.Classify(err)
	now := p.now()
	wait := e.trigger.PollInterval()
	for i := 0; i < failures && wait < maxPollBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, maxPollBackoff)
	if typed.Kind == nodes.RetryAfter || typed.RateLimited {
		wait = max(typed.After, time.Second)
	}
	code := typed.Code
	if code == "" {
		code = CodePollFailed
	}
	ferr := p.Runner.Store.FailPoll(ctx, store.PollFailure{FlowID: e.flow.FlowID, NodeID: e.nodeID, Rev: rev, Code: code,
		Message: typed.Error(), NextPollAt: now.Add(wait), At: now})
	if ferr != nil && !errors.Is(ferr, store.ErrConflict) {
		return ferr
	}
	p.Logger.Warn("poll failed", "flow", e.flow.FlowID, "node", e.nodeID, "code", code, "retry_in", wait, "err", typed.Error())
	return nil
}

// credential gives a poll the trigger's credential, opened once per turn, and the guarded client bound to its
// destinations, as the engine gives a step: a credential of a type the trigger does not accept is refused.
// reporters gives a poll of a trigger with a credential the engine's usage reports and credential renewal.
func (p *Poller) reporters(e pollEntry, req *nodes.PollRequest) {
	eng := p.Runner.Engine
	if e.cred == "" {
		return
	}
	if eng.OnUsage != nil {
		req.ReportUsage = func(provider string, used, limit int64) { eng.OnUsage(e.cred, provider, used, limit) }
	}
	if eng.RenewCredential != nil {
		req.RenewCredential = func(ctx context.Context, refused map[string]string) (map[string]string, error) {
			r, err := eng.RenewCredential(ctx, e.cred, nodes.ModeLive, refused[nodes.CredentialAccessToken])
			if err != nil {
				return nil, err
			}
			return r.Fields, nil
		}
	}
}

func (p *Poller) credential(e pollEntry) (*http.Client, func(context.Context) (map[string]string, error)) {
	eng := p.Runner.Engine
	if e.cred == "" {
		return eng.HTTP, func(context.Context) (map[string]string, error) { return nil, nodes.ErrNoCredential }
	}
	var once sync.Once
	var resolved *nodes.ResolvedCredential
	var rerr error
	resolve := func(ctx context.Context) (*nodes.ResolvedCredential, error) {
		once.Do(func() {
			if eng.Credentials == nil {
				rerr = nodes.NewPermanent("credential_unavailable", fmt.Errorf("credential %s cannot be read: no credential store", e.cred))
				return
			}
			resolved, rerr = eng.Credentials(ctx, e.cred, nodes.ModeLive)
			if rerr == nil && len(e.accepts) > 0 && !slices.Contains(e.accepts, resolved.Type) {
				rerr = nodes.NewPermanent("credential_type_refused", fmt.Errorf("credential %s is a %s credential; the trigger accepts %v",
					resolved.Name, resolved.Type, e.accepts))
				resolved = nil
			}
		})
		return resolved, rerr
	}
	client := egress.Bind(eng.HTTP, func(ctx context.Context) (string, egress.Destinations, error) {
		r, err := resolve(ctx)
		if err != nil {
			return "", nil, err
		}
		return r.Name, r.Destinations, nil
	})
	return client, func(ctx context.Context) (map[string]string, error) {
		r, err := resolve(ctx)
		if err != nil {
			return nil, err
		}
		return r.Fields, nil
	}
}
