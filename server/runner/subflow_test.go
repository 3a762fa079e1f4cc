package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// calleeFlow doubles n, and fails when n is 0.
const calleeFlow = `{"schema":1,"name":"double","nodes":[{"id":"start","type":"core.manual"},` +
	`{"id":"double","type":"test.value","params":{"expr":"trigger.n == 0 ? trigger.nope.x : {\"doubled\": trigger.n * 2}"}}],` +
	`"edges":[{"source":"start","target":"double"}]}`

// callerFlow runs the callee (waiting or not) and goes on.
const callerFlow = `{"schema":1,"name":"caller","nodes":[{"id":"in","type":"test.trigger"},` +
	`{"id":"call","type":"core.subflow","params":{"flow":"%s","input":"{\"n\": trigger.n}","wait":%t}},` +
	`{"id":"after","type":"test.pass"}],"edges":[{"source":"in","target":"call"},{"source":"call","target":"after"}]}`

// TestSubflow: a step runs another flow and waits for its answer (the run linked to its caller); a failed
// subflow fails the step, and retrying the caller retries the subflow's run; without waiting the caller goes on
// at once; a flow that is not published fails the step. On SQLite and Postgres.
func TestSubflow(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			ctx := context.Background()
			r, done := openRunner(t, backend(t))
			defer done()
			callee := publish(t, r, calleeFlow)
			caller := publish(t, r, fmt.Sprintf(callerFlow, callee.FlowID, true))

			run, err := r.Accept(ctx, runner.Trigger{Flow: caller, Node: "in", Payload: map[string]any{"n": 21}, BusinessKey: "SO-7", Mode: nodes.ModeLive})
			if err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			if got, _ := r.Store.GetRun(ctx, run.ID); got.Status != store.RunSucceeded {
				t.Fatalf("caller: %s %s", got.Status, got.Error)
			}
			steps, _ := r.Store.ListSteps(ctx, run.ID)
			var answer string
			for _, s := range steps {
				if s.NodeID == "call" && s.Status == store.StepSucceeded {
					answer = string(s.Output)
				}
			}
			if answer != `{"doubled":42}` || steps[len(steps)-1].NodeID != "after" {
				t.Fatalf("answer %s, steps %+v", answer, steps)
			}
			kids := childrenOf(t, r, run.ID)
			if len(kids) != 1 || kids[0].FlowID != callee.FlowID || kids[0].BusinessKey != "SO-7" || kids[0].Status != store.RunSucceeded {
				t.Fatalf("the subflow's run: %+v", kids)
			}

			// A failing subflow fails the step; the caller's retry retries the same run of the subflow.
			failing, err := r.Accept(ctx, runner.Trigger{Flow: caller, Node: "in", Payload: map[string]any{"n": 0}, Mode: nodes.ModeLive})
			if err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			got, _ := r.Store.GetRun(ctx, failing.ID)
			var e map[string]any
			_ = json.Unmarshal(got.Error, &e)
			if got.Status != store.RunFailed || e["code"] != "subflow_failed" {
				t.Fatalf("caller of a failing subflow: %s %s", got.Status, got.Error)
			}
			if _, err := r.RetryFailed(ctx, failing.ID); err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			if kids := childrenOf(t, r, failing.ID); len(kids) != 1 || kids[0].Attempt != 2 || kids[0].Status != store.RunFailed {
				t.Fatalf("after the retry, the subflow's run: %+v", kids)
			}

			// Without waiting, the caller goes on at once and the subflow runs on its own.
			forget := publish(t, r, fmt.Sprintf(callerFlow, callee.FlowID, false))
			run, err = r.Accept(ctx, runner.Trigger{Flow: forget, Node: "in", Payload: map[string]any{"n": 5}, Mode: nodes.ModeLive})
			if err != nil {
				t.Fatal(err)
			}
			d, _ := r.Queue.Receive(ctx)
			if err := r.Process(ctx, d.RunID()); err != nil {
				t.Fatal(err)
			}
			if got, _ := r.Store.GetRun(ctx, run.ID); got.Status != store.RunSucceeded {
				t.Fatalf("caller not waiting: %s", got.Status)
			}
			drain(t, r)
			if kids := childrenOf(t, r, run.ID); len(kids) != 1 || kids[0].Status != store.RunSucceeded {
				t.Fatalf("the subflow started without waiting: %+v", kids)
			}

			// A flow that is not published cannot be run.
			unpublished := &store.Flow{Name: "draft only", Draft: json.RawMessage(calleeFlow)}
			if err := r.Store.CreateFlow(ctx, unpublished); err != nil {
				t.Fatal(err)
			}
			bad := publish(t, r, fmt.Sprintf(callerFlow, unpublished.ID, true))
			run, err = r.Accept(ctx, runner.Trigger{Flow: bad, Node: "in", Payload: map[string]any{"n": 1}, Mode: nodes.ModeLive})
			if err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			got, _ = r.Store.GetRun(ctx, run.ID)
			_ = json.Unmarshal(got.Error, &e)
			if got.Status != store.RunFailed || e["code"] != "subflow_unavailable" {
				t.Fatalf("an unpublished subflow: %s %s", got.Status, got.Error)
			}
		})
	}
}
