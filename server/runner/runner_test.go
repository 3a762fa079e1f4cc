package runner_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	_ "github.com/ferry-hq/ferry/internal/testnodes"
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
