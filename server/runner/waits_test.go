package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/internal/testnodes"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/queue/memq"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

const askFlow = `{"schema":1,"name":"ask","nodes":[{"id":"in","type":"test.trigger"},{"id":"ask","type":"test.ask","params":{"timeout":"%s"}},{"id":"after","type":"test.pass"}],` +
	`"edges":[{"source":"in","target":"ask"},{"source":"ask","target":"after"}]}`

// openRunner opens a store on b's database and a runner over it, as a process starting would.
func openRunner(t *testing.T, b storetest.Backend) (*runner.Runner, func()) {
	st, err := store.Open(context.Background(), b.URL, b.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	r := runner.New(st, memq.New(), &engine.Engine{}, nil, nil)
	return r, func() { st.Close() }
}

// TestParkedRunSurvivesRestart parks a run for a decision, stops the process, and decides it in a new one: the
// run resumes there with the decision, exactly once, on SQLite and on Postgres.
func TestParkedRunSurvivesRestart(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			ctx := context.Background()
			testnodes.Reset()
			r1, close1 := openRunner(t, b)
			l := publish(t, r1, fmt.Sprintf(askFlow, "1h"))
			run, err := r1.Accept(ctx, runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{"order": "A-1"}, Mode: nodes.ModeLive})
			if err != nil {
				t.Fatal(err)
			}
			if err := r1.Process(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			got, _ := r1.Store.GetRun(ctx, run.ID)
			if got.Status != store.RunWaiting || got.LeaseOwner != "" || time.Until(got.AvailableAt) < 59*time.Minute {
				t.Fatalf("parked run: %+v", got)
			}
			waits, err := r1.Store.ListWaits(ctx, store.WaitFilter{RunID: run.ID})
			if err != nil || len(waits) != 1 || waits[0].Status != store.WaitOpen || waits[0].Kind != testnodes.AskKind ||
				string(waits[0].Request) != `{"input":{"order":"A-1"},"options":["a","b"]}` {
				t.Fatalf("waits: %+v %v", waits, err)
			}
			steps, _ := r1.Store.ListSteps(ctx, run.ID)
			if len(steps) != 2 || steps[1].Status != store.StepWaiting {
				t.Fatalf("steps: %+v", steps)
			}
			close1()

			// A new process: nothing was held in memory.
			r2, close2 := openRunner(t, b)
			defer close2()
			if err := r2.Process(ctx, run.ID); err != nil { // woken early: not claimable before its timeout
				t.Fatal(err)
			}
			if got, _ := r2.Store.GetRun(ctx, run.ID); got.Status != store.RunWaiting {
				t.Fatalf("an early wake-up resumed the run: %s", got.Status)
			}
			_, err = r2.Decide(ctx, waits[0].ID, json.RawMessage(`{"pick":"c"}`), runner.Decider{Name: "ops@example.com", Email: "ops@example.com", Role: "operator"})
			if !errors.Is(err, runner.ErrDecisionInvalid) {
				t.Fatalf("invalid decision: %v", err)
			}
			w, err := r2.Decide(ctx, waits[0].ID, json.RawMessage(`{"pick":"b"}`), runner.Decider{Name: "ops@example.com", Email: "ops@example.com", Role: "operator"})
			if err != nil || w.Status != store.WaitDecided {
				t.Fatalf("decide: %+v %v", w, err)
			}
			if _, err := r2.Decide(ctx, waits[0].ID, json.RawMessage(`{"pick":"a"}`), runner.Decider{Name: "late@example.com", Email: "late@example.com", Role: "operator"}); !errors.Is(err, runner.ErrWaitClosed) {
				t.Fatalf("second decision: %v", err)
			}
			// The decision queued the run; a worker takes it from the queue.
			d, err := r2.Queue.Receive(ctx)
			if err != nil || d.RunID() != run.ID {
				t.Fatalf("queue: %v %v", d, err)
			}
			if err := r2.Process(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			got, _ = r2.Store.GetRun(ctx, run.ID)
			if got.Status != store.RunSucceeded {
				t.Fatalf("after the decision: %s %s", got.Status, got.Error)
			}
			steps, _ = r2.Store.ListSteps(ctx, run.ID)
			if len(steps) != 4 || string(steps[2].Output) != `{"attempt":1,"by":"ops@example.com","pick":"b","timedOut":false}` || steps[3].NodeID != "after" {
				t.Fatalf("steps after resuming: %+v", steps)
			}
			if n := testnodes.CallCount("ask"); n != 2 {
				t.Fatalf("ask executed %d times, want 2 (park, resume)", n)
			}
		})
	}
}

// TestParkedRunTimesOut resumes a run nobody decided as timed out, after which a decision is refused; and a
// cancelled run's wait cannot be decided either.
func TestParkedRunTimesOut(t *testing.T) {
	r := newRunner(t)
	ctx := context.Background()
	l := publish(t, r, fmt.Sprintf(askFlow, "1ms"))
	run, err := r.Accept(ctx, runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeLive})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Process(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	waits, _ := r.Store.ListWaits(ctx, store.WaitFilter{RunID: run.ID})
	if len(waits) != 1 {
		t.Fatalf("waits %+v", waits)
	}
	// Due at its timeout: the sweeper's query finds it, and a worker claims it.
	var due []string
	for len(due) == 0 {
		due, err = r.Store.DueRuns(ctx, store.DueQuery{Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Process(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := r.Store.GetRun(ctx, run.ID)
	steps, _ := r.Store.ListSteps(ctx, run.ID)
	if got.Status != store.RunSucceeded || string(steps[2].Output) != `{"attempt":1,"by":"","pick":null,"timedOut":true}` {
		t.Fatalf("timed out: %s %+v", got.Status, steps)
	}
	if w, _ := r.Store.GetWait(ctx, waits[0].ID); w.Status != store.WaitTimedOut {
		t.Fatalf("wait after its timeout: %+v", w)
	}
	if _, err := r.Decide(ctx, waits[0].ID, json.RawMessage(`{"pick":"a"}`), runner.Decider{Name: "ops", Role: "operator"}); !errors.Is(err, runner.ErrWaitClosed) {
		t.Fatalf("decision after the timeout: %v", err)
	}

	// Cancel a parked run: its wait closes.
	l2 := publish(t, r, fmt.Sprintf(askFlow, "1h"))
	run2, _ := r.Accept(ctx, runner.Trigger{Flow: l2, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeLive})
	if err := r.Process(ctx, run2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Cancel(ctx, run2.ID); err != nil {
		t.Fatal(err)
	}
	w2, _ := r.Store.ListWaits(ctx, store.WaitFilter{RunID: run2.ID})
	if len(w2) != 1 || w2[0].Status != store.WaitCancelled {
		t.Fatalf("wait of a cancelled run: %+v", w2)
	}
	if _, err := r.Decide(ctx, w2[0].ID, json.RawMessage(`{"pick":"a"}`), runner.Decider{Name: "ops", Role: "operator"}); !errors.Is(err, runner.ErrWaitClosed) {
		t.Fatalf("decision on a cancelled run: %v", err)
	}
}

// TestTestRunCannotPark: a test run answers the editor inline, so a step that would wait for a person fails.
func TestTestRunCannotPark(t *testing.T) {
	r := newRunner(t)
	published := publish(t, r, fmt.Sprintf(askFlow, "1h"))
	l, err := runner.Compile(published.FlowID, 0, json.RawMessage(fmt.Sprintf(askFlow, "1h")))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.RunNow(context.Background(), runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeTest}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Status != store.RunFailed || !json.Valid(res.Run.Error) || string(res.Run.Error) == "" {
		t.Fatalf("test run: %+v", res.Run)
	}
	var e engine.StepError
	_ = json.Unmarshal(res.Run.Error, &e)
	if e.Code != engine.CodeParkInTestRun {
		t.Fatalf("error %+v", e)
	}
}

// TestProcessDiesMidSend: a worker is lost while an unrepeatable request is out; the worker that takes the run
// over fails the step with the unknown outcome and never sends the request again, on SQLite and on Postgres.
func TestProcessDiesMidSend(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			testnodes.Reset()
			hold := make(chan struct{})
			testnodes.SendHold = hold
			defer func() { testnodes.SendHold = nil }()
			r1, close1 := openRunner(t, b)
			defer close1()
			r1.Lease = 300 * time.Millisecond
			doc := `{"schema":1,"name":"s","nodes":[{"id":"in","type":"test.trigger"},{"id":"prep","type":"test.pass"},{"id":"send","type":"test.send"}],
			 "edges":[{"source":"in","target":"prep"},{"source":"prep","target":"send"}]}`
			l := publish(t, r1, doc)
			run, err := r1.Accept(context.Background(), runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeLive})
			if err != nil {
				t.Fatal(err)
			}
			ctx1, die := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r1.Process(ctx1, run.ID) }()
			testenv.WaitFor(t, "the send to be saved before it leaves", 10*time.Second, func() bool {
				got, _ := r1.Store.GetRun(context.Background(), run.ID)
				steps, _ := r1.Store.ListSteps(context.Background(), run.ID)
				return got != nil && strings.Contains(string(got.Checkpoint), `"sending"`) && len(steps) == 2
			})
			die() // the first worker is gone: its lease is no longer extended

			r2, close2 := openRunner(t, b)
			defer close2()
			testenv.WaitFor(t, "another worker to take the run over", 10*time.Second, func() bool {
				if err := r2.Process(context.Background(), run.ID); err != nil {
					t.Fatal(err)
				}
				got, _ := r2.Store.GetRun(context.Background(), run.ID)
				return got.Status != store.RunRunning
			})
			got, _ := r2.Store.GetRun(context.Background(), run.ID)
			var e engine.StepError
			_ = json.Unmarshal(got.Error, &e)
			if got.Status != store.RunFailed || e.Code != "test_outcome_unknown" || e.NodeID != "send" {
				t.Fatalf("taken over: %s %s", got.Status, got.Error)
			}
			if n := testnodes.CallCount("send"); n != 1 {
				t.Fatalf("sent %d times", n)
			}
			close(hold) // the lost worker's request comes back: it may not overwrite the run
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if after, _ := r2.Store.GetRun(context.Background(), run.ID); after.Status != store.RunFailed {
				t.Fatalf("the lost worker overwrote the run: %s", after.Status)
			}
			steps, _ := r2.Store.ListSteps(context.Background(), run.ID)
			if len(steps) != 3 || steps[2].NodeID != "send" || steps[2].Status != store.StepFailed {
				t.Fatalf("steps: %+v", steps)
			}
		})
	}
}

// TestInlineRunSavedBeforeItSends: a run executed inline (a synchronous webhook) is stored before its
// unrepeatable request leaves, and then completed without storing a step twice.
func TestInlineRunSavedBeforeItSends(t *testing.T) {
	r := newRunner(t)
	doc := `{"schema":1,"name":"s","nodes":[{"id":"in","type":"test.trigger"},{"id":"prep","type":"test.pass"},{"id":"send","type":"test.send"},{"id":"after","type":"test.pass"}],
	 "edges":[{"source":"in","target":"prep"},{"source":"prep","target":"send"},{"source":"send","target":"after"}]}`
	l := publish(t, r, doc)
	hold := make(chan struct{})
	testnodes.SendHold = hold
	defer func() { testnodes.SendHold = nil }()
	done := make(chan *runner.Result, 1)
	go func() {
		res, err := r.RunNow(context.Background(), runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeLive}, time.Minute)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	var runID string
	testenv.WaitFor(t, "the run to be stored before the send", 10*time.Second, func() bool {
		page, _ := r.Store.ListRuns(context.Background(), store.RunFilter{FlowID: l.FlowID})
		if len(page.Runs) == 1 && page.Runs[0].Status == store.RunRunning {
			runID = page.Runs[0].ID
			return true
		}
		return false
	})
	close(hold)
	res := <-done
	if res == nil || res.Run.ID != runID || res.Run.Status != store.RunSucceeded {
		t.Fatalf("inline run: %+v", res)
	}
	steps, _ := r.Store.ListSteps(context.Background(), runID)
	if len(steps) != 4 || steps[0].NodeID != "in" || steps[3].NodeID != "after" {
		t.Fatalf("steps: %+v", steps)
	}
}
