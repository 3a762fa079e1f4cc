package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	_ "github.com/ferry-hq/ferry/nodes/core"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// approvalFlow asks finance (editors, or fin@example.com) and goes on by the decision's port.
const approvalFlow = `{"schema":1,"name":"refund","nodes":[{"id":"in","type":"test.trigger"},` +
	`{"id":"ask","type":"core.approval","params":{"title":"Refund {{ trigger.amount }}","role":"editor","users":"fin@example.com","timeout":"%s"}},` +
	`{"id":"yes","type":"test.pass"},{"id":"no","type":"test.pass"},{"id":"late","type":"test.pass"}],` +
	`"edges":[{"source":"in","target":"ask"},{"source":"ask","sourcePort":"approved","target":"yes"},` +
	`{"source":"ask","sourcePort":"rejected","target":"no"},{"source":"ask","sourcePort":"timeout","target":"late"}]}`

// TestApprovalPorts parks a run on core.approval and ends it by approval, by rejection and by timeout: each
// takes its own port once, with who decided and when; a decider the approval is not assigned to is refused, and
// so is a second decision; on SQLite and on Postgres.
func TestApprovalPorts(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			ctx := context.Background()
			r, closeR := openRunner(t, b)
			defer closeR()
			start := func(timeout string) (*store.Run, store.Wait) {
				t.Helper()
				l := publish(t, r, fmt.Sprintf(approvalFlow, timeout))
				run, err := r.Accept(ctx, runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{"amount": "900.00"}, Mode: nodes.ModeLive})
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Process(ctx, run.ID); err != nil {
					t.Fatal(err)
				}
				waits, err := r.Store.ListWaits(ctx, store.WaitFilter{RunID: run.ID, Kind: "approval"})
				if err != nil || len(waits) != 1 || waits[0].Title != "Refund 900.00" || waits[0].Status != store.WaitOpen {
					t.Fatalf("waits: %+v %v", waits, err)
				}
				return run, waits[0]
			}
			finish := func(runID, wantNode, wantDecision, wantBy string) map[string]any {
				t.Helper()
				if err := r.Process(ctx, runID); err != nil {
					t.Fatal(err)
				}
				got, _ := r.Store.GetRun(ctx, runID)
				if got.Status != store.RunSucceeded {
					t.Fatalf("run %s: %s %s", runID, got.Status, got.Error)
				}
				steps, _ := r.Store.ListSteps(ctx, runID)
				ran := map[string]int{}
				var out map[string]any
				for _, s := range steps {
					ran[s.NodeID]++
					if s.NodeID == "ask" && s.Status == store.StepSucceeded {
						_ = json.Unmarshal(s.Output, &out)
						if s.Port != map[string]string{"approved": "approved", "rejected": "rejected", "timeout": "timeout"}[wantDecision] {
							t.Fatalf("port %q, want %s", s.Port, wantDecision)
						}
					}
				}
				if ran[wantNode] != 1 || ran["ask"] != 2 || len(ran) != 3 {
					t.Fatalf("steps by node: %v, want %s once after ask parked and resumed", ran, wantNode)
				}
				ap, _ := out["approval"].(map[string]any)
				if ap["decision"] != wantDecision || ap["by"] != wantBy || out["amount"] != "900.00" {
					t.Fatalf("output: %v", out)
				}
				return ap
			}

			// Approved by an editor, the role it is assigned to.
			run, w := start("1h")
			operator := runner.Decider{Name: "ops@example.com", Email: "ops@example.com", Role: "operator"}
			if _, err := r.Decide(ctx, w.ID, json.RawMessage(`{"approve":true}`), operator); !errors.Is(err, runner.ErrNotAssignee) {
				t.Fatalf("an operator decided an approval assigned to editors: %v", err)
			}
			if got, _ := r.Store.GetWait(ctx, w.ID); got.Status != store.WaitOpen {
				t.Fatalf("a refused decider closed the wait: %+v", got)
			}
			editor := runner.Decider{Name: "ed@example.com", Email: "ed@example.com", Role: "editor"}
			decided, err := r.Decide(ctx, w.ID, json.RawMessage(`{"approve":true,"comment":"fine"}`), editor)
			if err != nil || decided.DecidedBy != "ed@example.com" || decided.DecidedAt.IsZero() {
				t.Fatalf("decide: %+v %v", decided, err)
			}
			admin := runner.Decider{Name: "root@example.com", Email: "root@example.com", Role: "admin"}
			if _, err := r.Decide(ctx, w.ID, json.RawMessage(`{"approve":false,"comment":"no"}`), admin); !errors.Is(err, runner.ErrWaitClosed) {
				t.Fatalf("second decision: %v", err)
			}
			ap := finish(run.ID, "yes", "approved", "ed@example.com")
			if ap["comment"] != "fine" || ap["at"] != decided.DecidedAt.UTC().Format(time.RFC3339) || ap["waitId"] != w.ID {
				t.Fatalf("approval: %v", ap)
			}

			// Rejected by the listed person, a viewer; a rejection without a comment is refused first.
			run, w = start("1h")
			fin := runner.Decider{Name: "fin@example.com", Email: "FIN@example.com", Role: "viewer"}
			if _, err := r.Decide(ctx, w.ID, json.RawMessage(`{"approve":false}`), fin); !errors.Is(err, runner.ErrDecisionInvalid) {
				t.Fatalf("rejection without a comment: %v", err)
			}
			if _, err := r.Decide(ctx, w.ID, json.RawMessage(`{"approve":false,"comment":"over budget"}`), fin); err != nil {
				t.Fatal(err)
			}
			if ap := finish(run.ID, "no", "rejected", "fin@example.com"); ap["comment"] != "over budget" {
				t.Fatalf("rejection: %v", ap)
			}

			// Nobody decides: the timeout port, and a late decision is refused.
			run, w = start("1ms")
			for {
				due, err := r.Store.DueRuns(ctx, store.DueQuery{Now: time.Now()})
				if err != nil {
					t.Fatal(err)
				}
				if len(due) > 0 {
					break
				}
			}
			finish(run.ID, "late", "timeout", "")
			if _, err := r.Decide(ctx, w.ID, json.RawMessage(`{"approve":true}`), admin); !errors.Is(err, runner.ErrWaitClosed) {
				t.Fatalf("decision after the timeout: %v", err)
			}
		})
	}
}
