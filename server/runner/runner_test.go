package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/internal/testnodes"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/queue/memq"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

const slowFlow = `{"schema":1,"name":"slow","nodes":[{"id":"in","type":"test.trigger"},{"id":"slow","type":"test.slow"}],"edges":[{"source":"in","target":"slow"}]}`

func newRunner(t *testing.T) *runner.Runner {
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := runner.New(st, memq.New(), &engine.Engine{}, nil, nil)
	r.Lease = 300 * time.Millisecond
	return r
}

func publish(t *testing.T, r *runner.Runner, doc string) *runner.Loaded {
	f := &store.Flow{Name: "t", Draft: json.RawMessage(doc)}
	if err := r.Store.CreateFlow(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.Publish(context.Background(), f.ID, json.RawMessage(doc), "", ""); err != nil {
		t.Fatal(err)
	}
	l, err := r.Version(context.Background(), f.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCancelStopsARunningRun: cancelling takes the lease away, and the worker stops without overwriting the
// cancelled state.
func TestCancelStopsARunningRun(t *testing.T) {
	r := newRunner(t)
	l := publish(t, r, slowFlow)
	run, err := r.Accept(context.Background(), runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeLive})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Process(context.Background(), run.ID) }()
	deadline := time.After(10 * time.Second)
	for {
		got, _ := r.Store.GetRun(context.Background(), run.ID)
		if got.Status == store.RunRunning {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the run never started")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if _, err := r.Cancel(context.Background(), run.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not stop after losing its lease")
	}
	got, _ := r.Store.GetRun(context.Background(), run.ID)
	if got.Status != store.RunCancelled {
		t.Fatalf("status %s", got.Status)
	}
}

func TestTestRunTimesOut(t *testing.T) {
	r := newRunner(t)
	l, err := runner.Compile("", 0, json.RawMessage(slowFlow))
	if err != nil {
		t.Fatal(err)
	}
	f := &store.Flow{Name: "t", Draft: json.RawMessage(slowFlow)}
	if err := r.Store.CreateFlow(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	l.FlowID = f.ID
	res, err := r.RunNow(context.Background(), runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeTest}, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Status != store.RunFailed || !json.Valid(res.Run.Error) || string(res.Run.Error) == "" {
		t.Fatalf("status %s error %s", res.Run.Status, res.Run.Error)
	}
	var e map[string]any
	_ = json.Unmarshal(res.Run.Error, &e)
	if e["code"] != "test_run_timeout" {
		t.Errorf("error %v", e)
	}
	if saved, err := r.Store.GetRun(context.Background(), res.Run.ID); err != nil || saved.Doc == nil || saved.FlowVersion != 0 {
		t.Errorf("a test run keeps the document it ran: %v", err)
	}
}

// TestCompiledVersionsAreShared: concurrent loads of one version compile it once and share it.
func TestCompiledVersionsAreShared(t *testing.T) {
	r := newRunner(t)
	l := publish(t, r, slowFlow)
	var wg sync.WaitGroup
	got := make([]*runner.Loaded, 16)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], _ = r.Version(context.Background(), l.FlowID, 1) }()
	}
	wg.Wait()
	for _, g := range got {
		if g != l {
			t.Fatal("a version was compiled twice")
		}
	}
}

// heldFlow records each execution; settings are filled in per test.
const heldFlow = `{"schema":1,"name":"held","settings":%s,"nodes":[{"id":"in","type":"test.trigger"},
{"id":"rec","type":"test.record","params":{"key":"trigger.order","seq":"trigger.seq","pause":"15ms"}}],
"edges":[{"source":"in","target":"rec"}]}`

// runAll accepts payloads in order, works them with n workers, and waits for every run to succeed.
func runAll(t *testing.T, r *runner.Runner, l *runner.Loaded, payloads []map[string]any, n int) {
	t.Helper()
	testnodes.ResetRecorded()
	ids := make([]string, len(payloads))
	for i, p := range payloads {
		run, err := r.Accept(context.Background(), runner.Trigger{Flow: l, Node: "in", Payload: p, Mode: nodes.ModeLive})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = run.ID
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Work(ctx, n) })
	defer func() { cancel(); wg.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for {
			got, err := r.Store.GetRun(context.Background(), id)
			if err == nil && got.Status == store.RunSucceeded {
				break
			}
			if err == nil && got.Terminal() {
				t.Fatalf("run %s ended %s", id, got.Status)
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s still %s", id, got.Status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// maxOverlap is the most executions that were in progress at one moment: the largest number of executions
// running at the start of any execution.
func maxOverlap(execs []testnodes.Execution) int {
	best := 0
	for _, e := range execs {
		n := 0
		for _, o := range execs {
			if !o.Start.After(e.Start) && o.End.After(e.Start) {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

// TestOrderingKey: runs with the same ordering key execute one at a time in arrival order; runs with different
// keys execute in parallel (D19).
func TestOrderingKey(t *testing.T) {
	r := newRunner(t)
	r.Lease = 10 * time.Second
	l := publish(t, r, fmt.Sprintf(heldFlow, `{"orderingKey":"trigger.order"}`))
	var payloads []map[string]any
	for seq := range 6 {
		for _, order := range []string{"A", "B", "C"} {
			payloads = append(payloads, map[string]any{"order": order, "seq": seq})
		}
	}
	runAll(t, r, l, payloads, 6)
	execs := testnodes.Recorded()
	if len(execs) != len(payloads) {
		t.Fatalf("%d executions, want %d", len(execs), len(payloads))
	}
	byKey := map[string][]testnodes.Execution{}
	for _, e := range execs {
		byKey[e.Key] = append(byKey[e.Key], e)
	}
	for key, list := range byKey {
		sort.Slice(list, func(i, j int) bool { return list[i].Start.Before(list[j].Start) })
		for i, e := range list {
			if e.Seq != i {
				t.Fatalf("key %s: execution %d carried seq %d: out of arrival order", key, i, e.Seq)
			}
			if i > 0 && e.Start.Before(list[i-1].End) {
				t.Fatalf("key %s: seq %d started before seq %d ended", key, e.Seq, list[i-1].Seq)
			}
		}
	}
	if got := maxOverlap(execs); got < 2 {
		t.Fatalf("different keys never ran in parallel (max overlap %d)", got)
	}
}

// TestConcurrencyCap: a flow capped at 2 never executes more than 2 runs at once, however many workers wait.
func TestConcurrencyCap(t *testing.T) {
	r := newRunner(t)
	r.Lease = 10 * time.Second
	l := publish(t, r, fmt.Sprintf(heldFlow, `{"concurrency":2}`))
	var payloads []map[string]any
	for seq := range 12 {
		payloads = append(payloads, map[string]any{"order": fmt.Sprint(seq), "seq": seq})
	}
	runAll(t, r, l, payloads, 8)
	execs := testnodes.Recorded()
	if len(execs) != len(payloads) {
		t.Fatalf("%d executions, want %d", len(execs), len(payloads))
	}
	if got := maxOverlap(execs); got > 2 {
		t.Fatalf("%d runs executed at once; the cap is 2", got)
	}
}
