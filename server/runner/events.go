package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/store"
)

// ErrEventInvalid wraps what is wrong with an event given to DeliverEvent.
var ErrEventInvalid = errors.New("runner: invalid event")

// MaxEventData bounds an event's data (its JSON encoding).
const MaxEventData = 256 << 10

// EventRetention is how long delivered events are kept: long enough to recognise a provider's redelivery of the
// same event and for a wait to take an event that arrived shortly before it (core.wait-event's lookback, at
// most 24h), short enough that events do not pile up. The pruner deletes older ones.
const EventRetention = 7 * 24 * time.Hour

// EventListenersTTL is how long the runner trusts the set of event names published flows wait for. Within one
// process a publish, pause or delete takes effect at once (ForgetFlows); other processes see it within this time.
const EventListenersTTL = 5 * time.Second

// Event is a business event that may resume parked runs (core.wait-event).
type Event struct {
	// ID identifies the event for deduplication; empty: a new id is generated, and the event cannot be
	// recognised if delivered again.
	ID   string
	Name string
	Key  string
	Data json.RawMessage
}

// Delivered is what delivering an event did: the runs it resumed, or that it was delivered before.
type Delivered struct {
	ID        string
	Duplicate bool
	Resumed   []string
}

// DeliverEvent stores the event and resumes every run waiting for its name and key, in one transaction, then
// queues those runs. An event delivered again (same name and id) resumes nothing; an event no run waits for is
// kept for a while, so a run that starts waiting for it soon after still takes it (core.wait-event's lookback).
func (r *Runner) DeliverEvent(ctx context.Context, e Event) (*Delivered, error) {
	e.Name, e.Key, e.ID = strings.TrimSpace(e.Name), strings.TrimSpace(e.Key), strings.TrimSpace(e.ID)
	switch {
	case e.Name == "":
		return nil, fmt.Errorf("%w: name is required", ErrEventInvalid)
	case e.Key == "":
		return nil, fmt.Errorf("%w: key is required", ErrEventInvalid)
	case len(e.Name) > store.MaxEventName:
		return nil, fmt.Errorf("%w: name has more than %d characters", ErrEventInvalid, store.MaxEventName)
	case len(e.Key) > store.MaxEventKey:
		return nil, fmt.Errorf("%w: key has more than %d characters", ErrEventInvalid, store.MaxEventKey)
	case len(e.ID) > 200:
		return nil, fmt.Errorf("%w: id has more than 200 characters", ErrEventInvalid)
	case len(e.Data) > MaxEventData:
		return nil, fmt.Errorf("%w: data is larger than %d bytes", ErrEventInvalid, MaxEventData)
	case len(e.Data) > 0 && !json.Valid(e.Data):
		return nil, fmt.Errorf("%w: data is not JSON", ErrEventInvalid)
	}
	if e.ID == "" {
		e.ID = uuid.Must(uuid.NewV7()).String()
	}
	now := time.Now().UTC()
	d, err := r.Store.DeliverEvent(ctx, store.Event{ID: e.ID, Name: e.Name, Key: e.Key, Data: e.Data, ReceivedAt: now})
	if err != nil {
		return nil, err
	}
	out := &Delivered{ID: e.ID, Duplicate: d.Duplicate, Resumed: []string{}}
	if len(d.Resumed) == 0 {
		return out, nil
	}
	entries := make([]queue.Entry, len(d.Resumed))
	for i, w := range d.Resumed {
		out.Resumed = append(out.Resumed, w.RunID)
		entries[i] = queue.Entry{RunID: w.RunID, At: now}
		r.countRun(w.FlowID, store.RunQueued)
	}
	if err := r.Queue.EnqueueBatch(ctx, entries); err != nil {
		// The runs are committed as queued; the sweeper will find them.
		r.Logger.Warn("enqueue failed; the sweeper will pick the runs up", "event", e.Name, "runs", len(entries), "err", err)
	}
	return out, nil
}

// eventListener is implemented by core.wait-event: the event name it waits for.
type eventListener interface{ EventName() string }

type listenerCache struct {
	mu    sync.Mutex
	names map[string]bool
	until time.Time
}

func (c *listenerCache) forget() {
	c.mu.Lock()
	c.names, c.until = nil, time.Time{}
	c.mu.Unlock()
}

// listened reports whether a wait-event node of a published flow waits for the event name, from a set of names
// cached for EventListenersTTL.
func (r *Runner) listened(ctx context.Context, name string) (bool, error) {
	c := &r.listeners
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.names != nil && time.Now().Before(c.until) {
		return c.names[name], nil
	}
	versions, err := r.Store.PublishedFlows(ctx)
	if err != nil {
		return false, err
	}
	names := map[string]bool{}
	for _, v := range versions {
		l, err := r.Version(ctx, v.FlowID, v.Version)
		if err != nil {
			continue // reported where the flow runs; it listens to nothing here
		}
		for _, n := range l.Compiled.Nodes {
			if el, ok := n.Impl.(eventListener); ok {
				names[el.EventName()] = true
			}
		}
	}
	c.names, c.until = names, time.Now().Add(EventListenersTTL)
	return names[name], nil
}

// emitFlowEvents delivers the event "flow:<flowId>" of each live run just committed with a business key, when a
// published flow waits for it: runs of one flow resume the runs of another that wait for the same business key
// (core.wait-event). It runs after the runs' commit; the event id is the run id, so it is delivered once however
// often this is repeated. A failure is logged: the waiting run takes the run as its event when its wait falls due
// (undeliveredFlowEvent), late but through received.
func (r *Runner) emitFlowEvents(ctx context.Context, runs ...*store.Run) {
	// The runs are committed: their events are due even if the caller has gone away.
	ctx = context.WithoutCancel(ctx)
	for _, run := range runs {
		if run == nil || run.BusinessKey == "" || run.Mode != string(nodes.ModeLive) {
			continue
		}
		name := core.FlowEventPrefix + run.FlowID
		ok, err := r.listened(ctx, name)
		if err != nil {
			r.Logger.Warn("cannot read which events flows wait for; the run's event is not emitted", "run", run.ID, "err", err)
			return
		}
		if !ok {
			continue
		}
		_, err = r.DeliverEvent(ctx, Event{ID: run.ID, Name: name, Key: run.BusinessKey, Data: run.Trigger})
		if err != nil {
			r.Logger.Warn("emitting the run's event failed", "run", run.ID, "event", name, "err", err)
		}
	}
}

// takenAtOnce enqueues a run that parked on an event wait which an earlier event decided in the same
// transaction (core.wait-event's lookback): the store queued it, due at once.
func (r *Runner) takenAtOnce(run *store.Run, out engine.Outcome) {
	if out.Park == nil || out.Park.Park.Event == nil {
		return
	}
	ctx := context.Background()
	w, err := r.Store.GetWait(ctx, out.Park.ID)
	if err != nil || w.Status != store.WaitDecided {
		return
	}
	if err := r.Queue.Enqueue(ctx, run.ID, time.Now()); err != nil {
		r.Logger.Warn("enqueue failed; the sweeper will pick the run up", "run", run.ID, "err", err)
	}
}

// undeliveredFlowEvent is the last look of a due wait for a flow's run before it times out. Such a wait's events
// are runs of that flow, which the store keeps anyway: a run accepted with the wait's key after the wait started
// and before its timeout is its event even if the event was never delivered (the process stopped between the
// run's commit and the delivery, or it had not yet seen that a flow waits for these runs). The wait then takes
// that run as its event, under the run's lease, instead of timing out; nil when there is none.
func (r *Runner) undeliveredFlowEvent(ctx context.Context, w *store.Wait) (*nodes.Resume, error) {
	flowID, ok := strings.CutPrefix(w.EventName, core.FlowEventPrefix)
	if !ok || flowID == "" || w.EventKey == "" {
		return nil, nil
	}
	page, err := r.Store.ListRuns(ctx, store.RunFilter{FlowID: flowID, BusinessKey: w.EventKey, Mode: string(nodes.ModeLive),
		Since: w.CreatedAt, Until: w.TimeoutAt, Limit: 1})
	if err != nil || len(page.Runs) == 0 {
		return nil, err
	}
	run, err := r.Store.GetRun(ctx, page.Runs[0].ID)
	if err != nil {
		return nil, err
	}
	e := store.Event{ID: run.ID, Name: w.EventName, Key: w.EventKey, Data: run.Trigger, ReceivedAt: run.CreatedAt}
	err = r.Store.TakeEvent(ctx, w.ID, e)
	if errors.Is(err, store.ErrConflict) {
		return nil, nil // decided in the meantime: the caller reads the wait again
	}
	if err != nil {
		return nil, err
	}
	got, err := r.Store.GetWait(ctx, w.ID)
	if err != nil {
		return nil, err
	}
	return &nodes.Resume{WaitID: got.ID, Request: got.Request, Decision: got.Decision, DecidedBy: got.DecidedBy,
		DecidedAt: got.DecidedAt}, nil
}
