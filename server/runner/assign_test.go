package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core" // core.assign
	"github.com/ferry-hq/ferry/server/queue/memq"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

const assignFlow = `{"schema":1,"name":"leads","nodes":[{"id":"in","type":"test.trigger"},
{"id":"assign","type":"core.assign","params":{"owners":[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d"}]}}],
"edges":[{"source":"in","target":"assign"}]}`

// assignRunner is a worker process: a store of its own on the shared database, and an engine whose rotations
// live in that store, as the app wires them.
func assignRunner(t *testing.T, b storetest.Backend) *runner.Runner {
	t.Helper()
	st, err := store.Open(t.Context(), b.URL, b.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return runner.New(st, memq.New(), &engine.Engine{Rotations: nodes.RotationFunc(st.AdvanceRotation)}, nil, nil)
}

// assignedOwner reads who the assign step of a finished run chose.
func assignedOwner(t *testing.T, r *runner.Runner, runID string) string {
	t.Helper()
	steps, err := r.Store.ListSteps(t.Context(), runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.NodeID != "assign" {
			continue
		}
		var out struct {
			Assignment struct {
				Owner struct {
					ID string `json:"id"`
				} `json:"owner"`
			} `json:"assignment"`
		}
		if err := json.Unmarshal(s.Output, &out); err != nil || out.Assignment.Owner.ID == "" {
			t.Fatalf("assign step of run %s: status %s output %s (%v)", runID, s.Status, s.Output, err)
		}
		return out.Assignment.Owner.ID
	}
	t.Fatalf("run %s has no assign step", runID)
	return ""
}

// liveRun accepts a run of l and has r's worker execute it to the end.
func liveRun(t *testing.T, r *runner.Runner, l *runner.Loaded) string {
	t.Helper()
	run, err := r.Accept(t.Context(), runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeLive})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Process(t.Context(), run.ID); err != nil {
		t.Fatal(err)
	}
	got, err := r.Store.GetRun(t.Context(), run.ID)
	if err != nil || got.Status != store.RunSucceeded {
		t.Fatalf("run %s: %+v %v", run.ID, got, err)
	}
	return run.ID
}

// TestAssignRotationHolds: runs of a flow take the rotation's turns one after another; a test run takes a turn
// of its own rotation and leaves the live one alone; a process started again on the same database (a new store
// instance) goes on where the last stopped; and workers of a fleet running many runs at once give every owner
// the same number of items.
func TestAssignRotationHolds(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			t.Run(b.Name, func(t *testing.T) { testAssignRotationHolds(t, b) })
		})
	}
}

func testAssignRotationHolds(t *testing.T, b storetest.Backend) {
	first := assignRunner(t, b)
	l := publish(t, first, assignFlow)
	var owners []string
	for range 2 {
		owners = append(owners, assignedOwner(t, first, liveRun(t, first, l)))
	}
	if owners[0] != "a" || owners[1] != "b" {
		t.Fatalf("two runs in sequence got %v, want a then b", owners)
	}

	draft, err := runner.Compile(l.FlowID, 0, json.RawMessage(assignFlow))
	if err != nil {
		t.Fatal(err)
	}
	res, err := first.RunNow(t.Context(), runner.Trigger{Flow: draft, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeTest}, 10*time.Second)
	if err != nil || res.Run.Status != store.RunSucceeded {
		t.Fatalf("test run: %+v %v", res, err)
	}
	if got := assignedOwner(t, first, res.Run.ID); got != "a" {
		t.Fatalf("the first test run got %s, want a from the test rotation", got)
	}

	// The process restarts: a new store on the same database, a new runner.
	first.Store.Close()
	again := assignRunner(t, b)
	l, err = again.Version(t.Context(), l.FlowID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := assignedOwner(t, again, liveRun(t, again, l)); got != "c" {
		t.Fatalf("after a restart the run got %s, want c: the test run or the restart moved the rotation", got)
	}
	// The turns are the store's: the live rotation's next turn is the fourth.
	if n, err := again.Store.AdvanceRotation(t.Context(), "flow:"+l.FlowID+":assign"); err != nil || n != 3 {
		t.Fatalf("the stored rotation is at turn %d (%v), want 3", n, err)
	}

	// A fleet of two workers, each with its own store, runs 40 runs at once.
	fleet := []*runner.Runner{again, assignRunner(t, b)}
	const runs = 40
	ids := make([]string, runs)
	for i := range ids {
		run, err := again.Accept(t.Context(), runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{"n": i}, Mode: nodes.ModeLive})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = run.ID
	}
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for i, id := range ids {
		w := fleet[i%len(fleet)]
		wg.Go(func() {
			if err := w.Process(context.WithoutCancel(t.Context()), id); err != nil {
				errs <- fmt.Errorf("run %s: %w", id, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, id := range ids {
		counts[assignedOwner(t, again, id)]++
	}
	// Turns 4 to 43 of four owners: ten each, whichever worker took them.
	for _, o := range []string{"a", "b", "c", "d"} {
		if counts[o] != runs/4 {
			t.Fatalf("owners of %d concurrent runs: %v, want %d each", runs, counts, runs/4)
		}
	}
}
