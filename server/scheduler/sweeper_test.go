package scheduler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/scheduler"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// countingQueue records every id handed to the queue.
type countingQueue struct {
	queue.Queue
	mu  sync.Mutex
	ids map[string]int
}

func (q *countingQueue) Enqueue(ctx context.Context, id string, at time.Time) error {
	q.mu.Lock()
	q.ids[id]++
	q.mu.Unlock()
	return q.Queue.Enqueue(ctx, id, at)
}

func (q *countingQueue) EnqueueBatch(ctx context.Context, es []queue.Entry) error {
	q.mu.Lock()
	for _, e := range es {
		q.ids[e.RunID]++
	}
	q.mu.Unlock()
	return q.Queue.EnqueueBatch(ctx, es)
}

func (q *countingQueue) take() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.ids
	q.ids = map[string]int{}
	return out
}

// TestSweeperLooksOnce checks that between full sweeps each run is looked at once, Grace after it became due:
// a backlog waiting in the queue is not enqueued again every few seconds, and a run missed by the fast path is.
func TestSweeperLooksOnce(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		a := newApp(t, b)
		ctx := context.Background()
		q := &countingQueue{Queue: a.Queue, ids: map[string]int{}}
		a.Runner.Queue = q
		flowID := publish(t, a, manualFlow)
		now := time.Now().UTC()
		mk := func(avail time.Time) string {
			id, _ := uuid.NewV7()
			r := &store.Run{ID: id.String(), FlowID: flowID, FlowVersion: 1, Mode: "live", Status: store.RunQueued,
				TriggerNode: "in", Trigger: json.RawMessage(`{}`), Attempt: 1, AvailableAt: avail, CreatedAt: now}
			if err := a.Store.CreateRun(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		old := mk(now.Add(-time.Hour))
		s := &scheduler.Sweeper{Runner: a.Runner, Grace: 10 * time.Second, FullEvery: time.Hour}

		// The first look is a full sweep: everything due.
		if err := s.Tick(ctx, now, false); err != nil {
			t.Fatal(err)
		}
		if got := q.take(); got[old] != 1 || len(got) != 1 {
			t.Fatalf("full sweep enqueued %v, want the old run once", got)
		}
		// A run that becomes due one second from now (its enqueue lost) is left to the fast path for Grace...
		late := mk(now.Add(time.Second))
		if err := s.Tick(ctx, now.Add(5*time.Second), false); err != nil {
			t.Fatal(err)
		}
		if got := q.take(); len(got) != 0 {
			t.Fatalf("look within grace enqueued %v", got)
		}
		// ...then enqueued once, and the old run, still waiting, is not enqueued again.
		if err := s.Tick(ctx, now.Add(12*time.Second), false); err != nil {
			t.Fatal(err)
		}
		if got := q.take(); got[late] != 1 || len(got) != 1 {
			t.Fatalf("look after grace enqueued %v, want the late run once", got)
		}
		if err := s.Tick(ctx, now.Add(14*time.Second), false); err != nil {
			t.Fatal(err)
		}
		if got := q.take(); len(got) != 0 {
			t.Fatalf("later look enqueued %v again", got)
		}
		// A forced full sweep (the queue lost entries) enqueues everything due again.
		if err := s.Tick(ctx, now.Add(16*time.Second), true); err != nil {
			t.Fatal(err)
		}
		if got := q.take(); got[old] != 1 || got[late] != 1 {
			t.Fatalf("forced full sweep enqueued %v", got)
		}
	})
}

// TestRedisLeader checks that of two processes one leads, and that the other takes over once the leader stops
// renewing.
func TestRedisLeader(t *testing.T) {
	url := testenv.Service(t, testenv.RedisURL, "the Redis leadership test")
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	key := "ferry:test:leader:" + uuid.NewString()
	defer client.Del(context.Background(), key)
	ctx := context.Background()
	a := &scheduler.RedisLeader{Client: client, Key: key, Owner: "a", TTL: 300 * time.Millisecond}
	b := &scheduler.RedisLeader{Client: client, Key: key, Owner: "b", TTL: 300 * time.Millisecond}
	for i := 0; i < 3; i++ {
		la, err := a.Lead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lb, err := b.Lead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !la || lb {
			t.Fatalf("round %d: a leads %v, b leads %v; want only a", i, la, lb)
		}
	}
	// a stops renewing; after its lease, b takes over and a no longer leads.
	testenv.WaitFor(t, "b to take over", 5*time.Second, func() bool {
		lb, err := b.Lead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return lb
	})
	if la, _ := a.Lead(ctx); la {
		t.Fatal("a still leads after b took over")
	}
}

// TestPrunerKeepsRetention: a flow's own retention wins over the defaults, only finished runs go, and other
// flows keep the default.
func TestPrunerKeepsRetention(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		a := newApp(t, b)
		ctx := context.Background()
		own := publish(t, a, `{"schema":1,"name":"own","settings":{"retention":{"runs":2}},"nodes":[{"id":"in","type":"core.manual"}],"edges":[]}`)
		def := publish(t, a, manualFlow)
		mk := func(flowID, status string) string {
			id, _ := uuid.NewV7()
			r := &store.Run{ID: id.String(), FlowID: flowID, FlowVersion: 1, Mode: "live", Status: status,
				TriggerNode: "in", Attempt: 1, CreatedAt: time.Now()}
			if err := a.Store.CreateRun(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		var ownRuns, defRuns []string
		for range 5 {
			ownRuns = append(ownRuns, mk(own, store.RunSucceeded))
			defRuns = append(defRuns, mk(def, store.RunSucceeded))
		}
		live := mk(own, store.RunWaiting)
		p := &scheduler.Pruner{Runner: a.Runner, Days: 30, Runs: 4, Batch: 2}
		n, err := p.Once(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// own keeps its 2 newest (the waiting run and the last succeeded one); def keeps the default 4.
		if n != 4+1 {
			t.Fatalf("pruned %d runs, want 5", n)
		}
		for _, id := range append([]string{live, ownRuns[4]}, defRuns[1:]...) {
			if _, err := a.Store.GetRun(ctx, id); err != nil {
				t.Fatalf("run %s was pruned: %v", id, err)
			}
		}
		// A run older than the age bound goes too.
		if n, _ := p.Once(ctx, time.Now().Add(31*24*time.Hour)); n != 4+1 {
			t.Fatalf("pruning by age deleted %d runs, want every finished one (5)", n)
		}
		if _, err := a.Store.GetRun(ctx, live); err != nil {
			t.Fatalf("the waiting run was pruned: %v", err)
		}
	})
}

// TestPrunerBoundsAnonymousTables: refused webhook calls from very many addresses and failed sign-ins from very
// many addresses are cut to their caps, the newest kept; users' audit events and unexpired throttles stay.
func TestPrunerBoundsAnonymousTables(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		a := newApp(t, b)
		ctx := context.Background()
		flow := publish(t, a, manualFlow)
		for i := range 25 {
			id, _ := uuid.NewV7()
			r := &store.WebhookRejection{ID: id.String(), FlowID: flow, Status: 401, Code: "sig", Message: "bad signature",
				RemoteIP: fmt.Sprintf("203.0.113.%d", i)}
			if err := a.Store.RecordWebhookRejection(ctx, r); err != nil {
				t.Fatal(err)
			}
			id, _ = uuid.NewV7()
			if err := a.Store.AppendAudit(ctx, &store.AuditEvent{ID: id.String(), ActorType: "anonymous", IP: r.RemoteIP, Action: "auth.login_failed"}); err != nil {
				t.Fatal(err)
			}
		}
		id, _ := uuid.NewV7()
		if err := a.Store.AppendAudit(ctx, &store.AuditEvent{ID: id.String(), ActorType: "user", ActorID: "u", Action: "flow.create"}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for i, expires := range []time.Duration{-time.Second, time.Hour} {
			if _, err := a.Store.UpdateThrottle(ctx, fmt.Sprint("t", i), func(cur store.Throttle) store.Throttle {
				cur.Failures, cur.LastAt, cur.ExpiresAt = 1, now, now.Add(expires)
				return cur
			}); err != nil {
				t.Fatal(err)
			}
		}
		for i, age := range []time.Duration{runner.EventRetention + time.Hour, runner.EventRetention + time.Minute, time.Hour} {
			e := store.Event{ID: fmt.Sprint("e", i), Name: "payment.paid", Key: "A-1", ReceivedAt: now.Add(-age)}
			if _, err := a.Store.DeliverEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		p := &scheduler.Pruner{Runner: a.Runner, Batch: 4, AuditAnonymous: 10, RejectionsPerFlow: 7}
		got, err := p.Bound(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if got != (scheduler.Bounded{AuditEvents: 15, Rejections: 18, Throttles: 1, Events: 2}) {
			t.Fatalf("bound deleted %+v, want 15 audit events, 18 rejections, 1 throttle, 2 events", got)
		}
		// The event kept is still recognised when delivered again.
		if d, err := a.Store.DeliverEvent(ctx, store.Event{ID: "e2", Name: "payment.paid", Key: "A-1"}); err != nil || !d.Duplicate {
			t.Fatalf("the newest event was pruned: %+v %v", d, err)
		}
		page, _ := a.Store.ListWebhookRejections(ctx, store.RejectionFilter{FlowID: flow, Limit: 100})
		if len(page.Rejections) != 7 || page.Rejections[0].RemoteIP != "203.0.113.24" {
			t.Fatalf("%d rejections left, newest from %s", len(page.Rejections), page.Rejections[0].RemoteIP)
		}
		events, _ := a.Store.ListAudit(ctx, store.AuditFilter{Limit: 100})
		if len(events.Events) != 11 || events.Events[0].ActorType != "user" {
			t.Fatalf("%d audit events left, want the newest 10 anonymous ones and the user's", len(events.Events))
		}
		if _, err := a.Store.GetThrottle(ctx, "t1"); err != nil {
			t.Fatalf("an unexpired throttle was pruned: %v", err)
		}
	})
}
