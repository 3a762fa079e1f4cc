package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/internal/testnodes"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// waitEventFlow waits for the event %s keyed by the trigger's order, for %s; received leads to got, timeout to late.
const waitEventFlow = `{"schema":1,"name":"wait","nodes":[{"id":"in","type":"test.trigger"},` +
	`{"id":"wait","type":"core.wait-event","params":{"event":"%s","key":"{{ trigger.order }}","timeout":"%s","lookback":"0s"}},` +
	`{"id":"got","type":"test.pass"},{"id":"late","type":"test.pass"}],` +
	`"edges":[{"source":"in","target":"wait"},{"source":"wait","sourcePort":"received","target":"got"},` +
	`{"source":"wait","sourcePort":"timeout","target":"late"}]}`

// parkOrder accepts a live run for order and processes it until it parks.
func parkOrder(t *testing.T, r *runner.Runner, l *runner.Loaded, order string) *store.Run {
	t.Helper()
	ctx := context.Background()
	run, err := r.Accept(ctx, runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{"order": order}, Mode: nodes.ModeLive})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Process(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Store.GetRun(ctx, run.ID); got.Status != store.RunWaiting {
		t.Fatalf("run did not park: %s %s", got.Status, got.Error)
	}
	return run
}

// untilDue returns once the run is due for its timeout, as the sweeper would see it.
func untilDue(t *testing.T, r *runner.Runner, runID string) {
	t.Helper()
	for {
		due, err := r.Store.DueRuns(context.Background(), store.DueQuery{Now: time.Now(), Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range due {
			if id == runID {
				return
			}
		}
	}
}

// finishedVia checks the run succeeded through exactly one of got and late, and returns the step of wait.
func finishedVia(t *testing.T, r *runner.Runner, runID, port string) store.Step {
	t.Helper()
	got, _ := r.Store.GetRun(context.Background(), runID)
	steps, _ := r.Store.ListSteps(context.Background(), runID)
	if got.Status != store.RunSucceeded {
		t.Fatalf("run %s: %s %s", runID, got.Status, got.Error)
	}
	want := map[string]string{"received": "got", "timeout": "late"}[port]
	var nodesRun []string
	var wait store.Step
	for _, s := range steps {
		nodesRun = append(nodesRun, s.NodeID)
		if s.NodeID == "wait" && s.Status == store.StepSucceeded {
			wait = s
		}
	}
	if strings.Join(nodesRun, ",") != "in,wait,wait,"+want || wait.Port != port {
		t.Fatalf("run %s went %v (port %q), want through %s once", runID, nodesRun, wait.Port, want)
	}
	return wait
}

// TestWaitEventSurvivesRestart parks a run for an event, stops the process, and delivers the event to a new one:
// the run resumes once through received, a second delivery is a duplicate, and a late event after another run's
// timeout resumes nothing, on SQLite and on Postgres.
func TestWaitEventSurvivesRestart(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			ctx := context.Background()
			testnodes.Reset()
			r1, close1 := openRunner(t, b)
			l := publish(t, r1, fmt.Sprintf(waitEventFlow, "payment.paid", "1h"))
			run := parkOrder(t, r1, l, "A-1")
			close1()

			r2, close2 := openRunner(t, b)
			defer close2()
			d, err := r2.DeliverEvent(ctx, runner.Event{ID: "cb-1", Name: "payment.paid", Key: "A-2", Data: json.RawMessage(`{}`)})
			if err != nil || len(d.Resumed) != 0 || d.Duplicate {
				t.Fatalf("another order's event: %+v %v", d, err)
			}
			d, err = r2.DeliverEvent(ctx, runner.Event{ID: "cb-2", Name: "payment.paid", Key: "A-1", Data: json.RawMessage(`{"trade_no":"T9"}`)})
			if err != nil || d.Duplicate || len(d.Resumed) != 1 || d.Resumed[0] != run.ID || d.ID != "cb-2" {
				t.Fatalf("deliver: %+v %v", d, err)
			}
			d, err = r2.DeliverEvent(ctx, runner.Event{ID: "cb-2", Name: "payment.paid", Key: "A-1", Data: json.RawMessage(`{"trade_no":"T9"}`)})
			if err != nil || !d.Duplicate || len(d.Resumed) != 0 {
				t.Fatalf("the same event again: %+v %v", d, err)
			}
			q, err := r2.Queue.Receive(ctx)
			if err != nil || q.RunID() != run.ID {
				t.Fatalf("queue: %v %v", q, err)
			}
			if err := r2.Process(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			wait := finishedVia(t, r2, run.ID, "received")
			var out struct {
				Order string
				Event struct {
					ID, Name, Key string
					Data          map[string]any
				}
				TimedOut bool
			}
			if err := json.Unmarshal(wait.Output, &out); err != nil || out.Order != "A-1" || out.Event.ID != "cb-2" ||
				out.Event.Data["trade_no"] != "T9" || out.TimedOut {
				t.Fatalf("output: %s %v", wait.Output, err)
			}

			// Another run times out; the event for it afterwards resumes nothing.
			l2 := publish(t, r2, fmt.Sprintf(waitEventFlow, "payment.paid", "1ms"))
			late := parkOrder(t, r2, l2, "B-1")
			untilDue(t, r2, late.ID)
			if err := r2.Process(ctx, late.ID); err != nil {
				t.Fatal(err)
			}
			finishedVia(t, r2, late.ID, "timeout")
			d, err = r2.DeliverEvent(ctx, runner.Event{Name: "payment.paid", Key: "B-1"})
			if err != nil || len(d.Resumed) != 0 || d.ID == "" {
				t.Fatalf("late event: %+v %v", d, err)
			}
			if n := testnodes.CallCount("got") + testnodes.CallCount("late"); n != 2 {
				t.Fatalf("%d steps after the waits, want 2", n)
			}
		})
	}
}

// TestWaitEventRacesTimeout delivers the event around the moment a worker takes the run at its timeout, from a
// little before to a little after: whichever wins, the run goes through exactly one port, once, and the loser is
// refused or ignored, on SQLite and on Postgres.
func TestWaitEventRacesTimeout(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			ctx := context.Background()
			r, closeR := openRunner(t, b)
			defer closeR()
			l := publish(t, r, fmt.Sprintf(waitEventFlow, "payment.paid", "40ms"))
			ports := map[string]int{}
			for i := range 16 {
				order := fmt.Sprint("R-", i)
				run := parkOrder(t, r, l, order)
				waits, _ := r.Store.ListWaits(ctx, store.WaitFilter{RunID: run.ID, Events: true})
				if len(waits) != 1 {
					t.Fatalf("waits: %+v", waits)
				}
				// From 2ms before the timeout to 1ms after it, in steps of 200µs.
				at := waits[0].TimeoutAt.Add(time.Duration(i-10) * 200 * time.Microsecond)
				delivered := make(chan *runner.Delivered, 1)
				go func() {
					for time.Now().Before(at) {
					}
					d, err := r.DeliverEvent(ctx, runner.Event{ID: order, Name: "payment.paid", Key: order})
					if err != nil {
						t.Error(err)
					}
					delivered <- d
				}()
				// A worker woken by the sweeper as soon as the run is due, or by the event's enqueue.
				for {
					if err := r.Process(ctx, run.ID); err != nil {
						t.Fatal(err)
					}
					got, _ := r.Store.GetRun(ctx, run.ID)
					if got.Terminal() {
						break
					}
				}
				d := <-delivered
				port := "timeout"
				if d != nil && len(d.Resumed) == 1 {
					port = "received"
				}
				finishedVia(t, r, run.ID, port)
				ports[port]++
			}
			t.Logf("ports taken: %v", ports)
		})
	}
}

// TestFlowRunEmitsEvent: a live run of one flow accepted with a business key resumes the run of another flow
// waiting for flow:<its id> with that key, with the trigger payload as the event's data.
func TestFlowRunEmitsEvent(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			r, closeR := openRunner(t, backend(t))
			defer closeR()
			ctx := context.Background()
			payments := publish(t, r, `{"schema":1,"name":"payments","nodes":[{"id":"in","type":"test.trigger"}],"edges":[]}`)
			orders := publish(t, r, fmt.Sprintf(waitEventFlow, "flow:"+payments.FlowID, "1h"))
			waiting := parkOrder(t, r, orders, "O-7")
			other := parkOrder(t, r, orders, "O-8")

			// Without a business key, or in a test run, nothing is emitted.
			if _, err := r.Accept(ctx, runner.Trigger{Flow: payments, Node: "in", Payload: map[string]any{"order": "O-7"}, Mode: nodes.ModeLive}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.RunNow(ctx, runner.Trigger{Flow: payments, Node: "in", Payload: map[string]any{}, BusinessKey: "O-7", Mode: nodes.ModeTest}, time.Minute); err != nil {
				t.Fatal(err)
			}
			if got, _ := r.Store.GetRun(ctx, waiting.ID); got.Status != store.RunWaiting {
				t.Fatalf("resumed without a matching run: %s", got.Status)
			}
			paid, err := r.Accept(ctx, runner.Trigger{Flow: payments, Node: "in", Payload: map[string]any{"paid": true}, BusinessKey: "O-7", Mode: nodes.ModeLive})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := r.Store.GetRun(ctx, waiting.ID); got.Status != store.RunQueued {
				t.Fatalf("the payment run did not resume the order: %s", got.Status)
			}
			if got, _ := r.Store.GetRun(ctx, other.ID); got.Status != store.RunWaiting {
				t.Fatalf("another order was resumed: %s", got.Status)
			}
			if err := r.Process(ctx, waiting.ID); err != nil {
				t.Fatal(err)
			}
			wait := finishedVia(t, r, waiting.ID, "received")
			if !strings.Contains(string(wait.Output), `"id":"`+paid.ID+`"`) || !strings.Contains(string(wait.Output), `"data":{"paid":true}`) {
				t.Fatalf("event from the run: %s", wait.Output)
			}
			// The same run's event delivered again (a retried emit) is a duplicate.
			d, err := r.DeliverEvent(ctx, runner.Event{ID: paid.ID, Name: "flow:" + payments.FlowID, Key: "O-7"})
			if err != nil || !d.Duplicate {
				t.Fatalf("redelivered: %+v %v", d, err)
			}
		})
	}
}

// TestWaitEventLookback: an event delivered shortly before a run starts waiting for it resumes the run at once.
func TestWaitEventLookback(t *testing.T) {
	r := newRunner(t)
	ctx := context.Background()
	doc := strings.Replace(fmt.Sprintf(waitEventFlow, "payment.paid", "1h"), `"lookback":"0s"`, `"lookback":"5m"`, 1)
	l := publish(t, r, doc)
	if _, err := r.DeliverEvent(ctx, runner.Event{ID: "early", Name: "payment.paid", Key: "E-1", Data: json.RawMessage(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
	run, err := r.Accept(ctx, runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{"order": "E-1"}, Mode: nodes.ModeLive})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Process(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Store.GetRun(ctx, run.ID); got.Status != store.RunQueued {
		t.Fatalf("the run parked although its event had come: %s", got.Status)
	}
	if err := r.Process(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	wait := finishedVia(t, r, run.ID, "received")
	if !strings.Contains(string(wait.Output), `"id":"early"`) {
		t.Fatalf("output: %s", wait.Output)
	}
}

// TestDeliverEventRefusesBadInput: a bad event is refused with ErrEventInvalid and stores nothing.
func TestDeliverEventRefusesBadInput(t *testing.T) {
	r := newRunner(t)
	for _, e := range []runner.Event{{Key: "k"}, {Name: "n"}, {Name: "n", Key: "k", Data: json.RawMessage(`{`)},
		{Name: "n", Key: "k", Data: json.RawMessage(`"` + strings.Repeat("x", runner.MaxEventData) + `"`)}} {
		if _, err := r.DeliverEvent(context.Background(), e); err == nil || !strings.Contains(err.Error(), "invalid event") {
			t.Fatalf("event %.60v: %v", e, err)
		}
	}
}

// TestUndeliveredFlowEventIsTakenAtTimeout: a run of the awaited flow that was committed but whose event never
// went out (the process stopped in between) is found when the wait falls due, and the wait takes it instead of
// timing out; a run of another key, or one accepted after the timeout, is not taken, on SQLite and on Postgres.
func TestUndeliveredFlowEventIsTakenAtTimeout(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			r, closeR := openRunner(t, backend(t))
			defer closeR()
			ctx := context.Background()
			payments := publish(t, r, `{"schema":1,"name":"payments","nodes":[{"id":"in","type":"test.trigger"}],"edges":[]}`)
			orders := publish(t, r, fmt.Sprintf(waitEventFlow, "flow:"+payments.FlowID, "300ms"))
			paidOrder := parkOrder(t, r, orders, "U-1")
			lateOrder := parkOrder(t, r, orders, "U-2")
			waits, _ := r.Store.ListWaits(ctx, store.WaitFilter{RunID: lateOrder.ID, Events: true})
			if len(waits) != 1 {
				t.Fatalf("waits: %+v", waits)
			}
			// Committed without their events, as if the process had stopped right after the commit.
			committed := func(key string, at time.Time) *store.Run {
				id, _ := uuid.NewV7()
				run := &store.Run{ID: id.String(), FlowID: payments.FlowID, FlowVersion: 1, Mode: string(nodes.ModeLive),
					Status: store.RunQueued, TriggerNode: "in", Trigger: json.RawMessage(`{"paid":"` + key + `"}`), BusinessKey: key,
					Attempt: 1, CreatedAt: at, AvailableAt: at}
				if err := r.Store.CreateRun(ctx, run, nil); err != nil {
					t.Fatal(err)
				}
				return run
			}
			paid := committed("U-1", time.Now())
			committed("U-3", time.Now())
			committed("U-2", waits[0].TimeoutAt.Add(time.Second))
			for _, order := range []*store.Run{paidOrder, lateOrder} {
				untilDue(t, r, order.ID)
				if err := r.Process(ctx, order.ID); err != nil {
					t.Fatal(err)
				}
			}
			wait := finishedVia(t, r, paidOrder.ID, "received")
			if !strings.Contains(string(wait.Output), `"id":"`+paid.ID+`"`) || !strings.Contains(string(wait.Output), `"data":{"paid":"U-1"}`) {
				t.Fatalf("taken event: %s", wait.Output)
			}
			finishedVia(t, r, lateOrder.ID, "timeout")
			// The run's event, delivered after all, is a duplicate.
			d, err := r.DeliverEvent(ctx, runner.Event{ID: paid.ID, Name: "flow:" + payments.FlowID, Key: "U-1"})
			if err != nil || !d.Duplicate || len(d.Resumed) != 0 {
				t.Fatalf("late delivery: %+v %v", d, err)
			}
		})
	}
}
