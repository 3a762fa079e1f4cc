package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/store"
)

// DeadLetterWatchersTTL is how long the runner trusts the list of published dead-letter triggers it read. Within
// one process a publish, pause or delete takes effect at once (ForgetFlows); other processes see it within this
// time. The list is read only when a live run fails for good.
const DeadLetterWatchersTTL = 5 * time.Second

// deadLetterKeyPrefix starts the dedup key of every run a dead-letter trigger starts: one run per trigger per
// failure, and a run recognisable as an alert, which never starts another.
const deadLetterKeyPrefix = "deadletter:"

// deadLetterWatcher is one dead-letter trigger of a published flow.
type deadLetterWatcher struct {
	flow    *Loaded
	node    string
	trigger nodes.DeadLetterTrigger
}

type watcherCache struct {
	mu    sync.Mutex
	list  []deadLetterWatcher
	until time.Time
}

func (c *watcherCache) forget() {
	c.mu.Lock()
	c.until = time.Time{}
	c.list = nil
	c.mu.Unlock()
}

// deadLetterWatchers lists the dead-letter triggers of every published flow, cached for DeadLetterWatchersTTL.
func (r *Runner) deadLetterWatchers(ctx context.Context) ([]deadLetterWatcher, error) {
	c := &r.watchers
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Now().Before(c.until) {
		return c.list, nil
	}
	versions, err := r.Store.PublishedFlows(ctx)
	if err != nil {
		return nil, err
	}
	var list []deadLetterWatcher
	for _, v := range versions {
		l, err := r.Version(ctx, v.FlowID, v.Version)
		if err != nil {
			r.Logger.Warn("published flow does not compile", "flow", v.FlowID, "version", v.Version, "err", err)
			continue
		}
		for _, t := range l.Compiled.Triggers {
			if dl, ok := t.Impl.(nodes.DeadLetterTrigger); ok {
				list = append(list, deadLetterWatcher{flow: l, node: t.Def.ID, trigger: dl})
			}
		}
	}
	c.list, c.until = list, time.Now().Add(DeadLetterWatchersTTL)
	return list, nil
}

// deadLetterStarts returns the queued runs of the dead-letter triggers watching run, a live run that just failed
// for good with se; c is its compiled flow, nil when it could not be loaded. They are committed with the failure
// (Progress.Starts). A run that a dead-letter trigger started starts none, so a failing alert cannot loop.
func (r *Runner) deadLetterStarts(run *store.Run, c *flows.Compiled, se *engine.StepError) []*store.Run {
	if run.Mode != string(nodes.ModeLive) || strings.HasPrefix(run.DedupKey, deadLetterKeyPrefix) {
		return nil
	}
	if c != nil {
		if t := c.Nodes[run.TriggerNode]; t != nil {
			if _, ok := t.Impl.(nodes.DeadLetterTrigger); ok {
				return nil
			}
		}
	}
	if se == nil {
		se = &engine.StepError{Code: "run_failed", Message: "the run failed"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	watchers, err := r.deadLetterWatchers(ctx)
	if err != nil {
		r.Logger.Warn("reading the dead-letter triggers failed; this failure starts none", "run", run.ID, "err", err)
		return nil
	}
	var starts []*store.Run
	var payload map[string]any
	for _, w := range watchers {
		if !w.trigger.Watches(run.FlowID, se.Code) {
			continue
		}
		if payload == nil {
			payload = r.deadLetterPayload(ctx, run, c, se)
		}
		start, _, err := r.newRun(Trigger{Flow: w.flow, Node: w.node, Payload: payload, Mode: nodes.ModeLive,
			BusinessKey: run.BusinessKey, DedupKey: fmt.Sprintf("%s%s:%d:%s", deadLetterKeyPrefix, run.ID, run.Attempt, w.node)})
		if err != nil {
			r.Logger.Warn("starting a dead-letter trigger failed", "run", run.ID, "flow", w.flow.FlowID, "err", err)
			continue
		}
		starts = append(starts, start)
	}
	return starts
}

// deadLetterPayload describes a failed run as the dead-letter trigger outputs it.
func (r *Runner) deadLetterPayload(ctx context.Context, run *store.Run, c *flows.Compiled, se *engine.StepError) map[string]any {
	p := map[string]any{
		"runId": run.ID, "flowId": run.FlowID, "flowVersion": run.FlowVersion, "failedNode": se.NodeID,
		"errorCode": se.Code, "errorMessage": se.Message, "attempt": run.Attempt, "businessKey": run.BusinessKey,
		"createdAt": run.CreatedAt.UTC().Format(time.RFC3339), "failedAt": time.Now().UTC().Format(time.RFC3339),
		"flowName": "", "failedNodeName": "",
	}
	if f, err := r.Store.GetFlow(ctx, run.FlowID); err == nil {
		p["flowName"] = f.Name
	}
	if c != nil {
		if n := c.Nodes[se.NodeID]; n != nil {
			p["failedNodeName"] = n.Def.Name
		}
	}
	if r.PublicURL != "" {
		p["runUrl"] = strings.TrimRight(r.PublicURL, "/") + "/runs/" + run.ID
	}
	return p
}

// enqueueStarts hands the runs committed with a run's progress (dead-letter alerts, a split's children) to the
// queue; a lost enqueue only delays them until the sweeper.
func (r *Runner) enqueueStarts(starts []*store.Run) {
	if len(starts) == 0 {
		return
	}
	entries := make([]queue.Entry, 0, len(starts))
	for _, s := range starts {
		r.countRun(s.FlowID, store.RunQueued)
		if !s.Held { // a held child is enqueued when the store releases it
			entries = append(entries, queue.Entry{RunID: s.ID, At: s.AvailableAt})
		}
	}
	if len(entries) == 0 {
		return
	}
	if err := r.Queue.EnqueueBatch(context.Background(), entries); err != nil {
		r.Logger.Warn("enqueue failed; the sweeper will pick the runs up", "runs", len(entries), "err", err)
	}
}
