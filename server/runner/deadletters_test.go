package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/runnertest"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core" // core.deadletter
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// failingFlow fails for good at its "charge" step, with the code "rejected".
const failingFlow = `{"schema":1,"name":"failing","nodes":[{"id":"in","type":"test.trigger"},` +
	`{"id":"charge","type":"test.flaky","name":"Charge the card","params":{"kind":"permanent","failTimes":100}}],` +
	`"edges":[{"source":"in","target":"charge"}]}`

// watcherFlow starts on the dead letters its params select and then runs then (a node type).
const watcherFlow = `{"schema":1,"name":"alert","nodes":[{"id":"dl","type":"core.deadletter","params":%s},` +
	`{"id":"then","type":"%s","params":%s}],"edges":[{"source":"dl","target":"then"}]}`

func watcher(t *testing.T, r *runner.Runner, params, then, thenParams string) *runner.Loaded {
	return publish(t, r, fmt.Sprintf(watcherFlow, params, then, thenParams))
}

// flowRuns lists the runs of one flow, oldest first, as GetRun reads them.
func flowRuns(t *testing.T, r *runner.Runner, flowID string) []store.Run {
	t.Helper()
	page, err := r.Store.ListRuns(context.Background(), store.RunFilter{FlowID: flowID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	runs := make([]store.Run, len(page.Runs))
	for i := range page.Runs { // with their trigger payloads, which the list leaves out
		full, err := r.Store.GetRun(context.Background(), page.Runs[len(page.Runs)-1-i].ID)
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = *full
	}
	return runs
}

// drain processes every run the queue hands out until it has none due.
func drain(t *testing.T, r *runner.Runner) { runnertest.Drain(t, r) }

// TestDeadLetterStartsWatchers: a live run that fails for good starts, in the same commit, one run of every
// dead-letter trigger watching its flow and code, with the failure described; a failing alert starts nothing,
// a retried run that fails again alerts again, and test runs never alert. On SQLite and Postgres.
func TestDeadLetterStartsWatchers(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			ctx := context.Background()
			r, done := openRunner(t, backend(t))
			defer done()
			r.PublicURL = "https://ferry.example.com/"
			failing := publish(t, r, failingFlow)
			other := publish(t, r, failingFlow)
			mine := watcher(t, r, fmt.Sprintf(`{"flows":"%s"}`, failing.FlowID), "test.pass", `{}`)
			all := watcher(t, r, `{}`, "test.flaky", `{"kind":"permanent","failTimes":100}`)
			otherCode := watcher(t, r, `{"codes":"http_client_error, http_timeout"}`, "test.pass", `{}`)

			run, err := r.Accept(ctx, runner.Trigger{Flow: failing, Node: "in", Payload: map[string]any{"order": "A-1"},
				BusinessKey: "A-1", Mode: nodes.ModeLive})
			if err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			if got, _ := r.Store.GetRun(ctx, run.ID); got.Status != store.RunFailed {
				t.Fatalf("failing run: %s", got.Status)
			}
			alerts := flowRuns(t, r, mine.FlowID)
			if len(alerts) != 1 || alerts[0].Status != store.RunSucceeded || alerts[0].BusinessKey != "A-1" {
				t.Fatalf("watching runs: %+v", alerts)
			}
			var payload map[string]any
			if err := json.Unmarshal(alerts[0].Trigger, &payload); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"runId": run.ID, "flowId": failing.FlowID, "flowName": "t", "flowVersion": 1.0,
				"failedNode": "charge", "failedNodeName": "Charge the card", "errorCode": "rejected", "attempt": 1.0,
				"businessKey": "A-1", "runUrl": "https://ferry.example.com/runs/" + run.ID}
			for k, v := range want {
				if payload[k] != v {
					t.Errorf("payload %s = %v, want %v", k, payload[k], v)
				}
			}
			if payload["errorMessage"] == "" || payload["failedAt"] == "" || payload["createdAt"] == "" {
				t.Errorf("payload: %v", payload)
			}
			// The catch-all alert failed too; it started no alert of its own, nor of anyone else's.
			if alls := flowRuns(t, r, all.FlowID); len(alls) != 1 || alls[0].Status != store.RunFailed {
				t.Fatalf("catch-all runs: %+v", alls)
			}
			if n := len(flowRuns(t, r, otherCode.FlowID)); n != 0 {
				t.Fatalf("a watcher of other codes started %d runs", n)
			}

			// Another flow's failure reaches only the catch-all.
			if _, err := r.Accept(ctx, runner.Trigger{Flow: other, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeLive}); err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			if len(flowRuns(t, r, mine.FlowID)) != 1 || len(flowRuns(t, r, all.FlowID)) != 2 {
				t.Fatalf("after the other flow failed: mine %d, all %d", len(flowRuns(t, r, mine.FlowID)), len(flowRuns(t, r, all.FlowID)))
			}

			// Retried and failed again: a second alert.
			if _, err := r.RetryFailed(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			alerts = flowRuns(t, r, mine.FlowID)
			if len(alerts) != 2 {
				t.Fatalf("after a retry failed again: %d alerts", len(alerts))
			}
			_ = json.Unmarshal(alerts[1].Trigger, &payload)
			if payload["attempt"] != 2.0 || payload["runId"] != run.ID {
				t.Errorf("second alert: %v", payload)
			}

			// Test runs never alert; an inline live run that fails before it was stored alerts with its commit.
			if _, err := r.RunNow(ctx, runner.Trigger{Flow: failing, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeTest}, time.Minute); err != nil {
				t.Fatal(err)
			}
			res, err := r.RunNow(ctx, runner.Trigger{Flow: failing, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeLive}, time.Minute)
			if err != nil || res.Run.Status != store.RunFailed {
				t.Fatalf("inline run: %+v %v", res, err)
			}
			alerts = flowRuns(t, r, mine.FlowID)
			if len(alerts) != 3 || alerts[2].Status != store.RunQueued {
				t.Fatalf("after the test run and the inline run: %+v", alerts)
			}
			_ = json.Unmarshal(alerts[2].Trigger, &payload)
			if payload["runId"] != res.Run.ID {
				t.Errorf("inline alert: %v", payload)
			}
		})
	}
}

// TestDeadLetterWatchersFollowPublishing: pausing a watching flow stops its alerts at once in this process.
func TestDeadLetterWatchersFollowPublishing(t *testing.T) {
	ctx := context.Background()
	r := newRunner(t)
	failing := publish(t, r, failingFlow)
	w := watcher(t, r, `{}`, "test.pass", `{}`)
	start := func() {
		t.Helper()
		if _, err := r.Accept(ctx, runner.Trigger{Flow: failing, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeLive}); err != nil {
			t.Fatal(err)
		}
		drain(t, r)
	}
	start()
	if n := len(flowRuns(t, r, w.FlowID)); n != 1 {
		t.Fatalf("%d alerts, want 1", n)
	}
	if err := r.Store.SetFlowStatus(ctx, w.FlowID, store.FlowPaused); err != nil {
		t.Fatal(err)
	}
	r.ForgetFlows()
	start()
	if n := len(flowRuns(t, r, w.FlowID)); n != 1 {
		t.Fatalf("a paused watcher alerted: %d runs", n)
	}
}
