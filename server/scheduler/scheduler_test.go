package scheduler_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/scheduler"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

func newApp(t *testing.T, b storetest.Backend) *app.App {
	t.Helper()
	cfg, err := app.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.DatabaseURL, cfg.LogLevel = b.DataDir, b.URL, "error"
	cfg.SecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func each(t *testing.T, body func(t *testing.T, b storetest.Backend)) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			t.Run(b.Name, func(t *testing.T) { body(t, b) })
		})
	}
}

func publish(t *testing.T, a *app.App, doc string) string {
	t.Helper()
	f := &store.Flow{Name: "t", Draft: json.RawMessage(doc)}
	if err := a.Store.CreateFlow(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.Publish(context.Background(), f.ID, json.RawMessage(doc), "", ""); err != nil {
		t.Fatal(err)
	}
	return f.ID
}

const manualFlow = `{"schema":1,"name":"m","nodes":[{"id":"in","type":"core.manual"},{"id":"m","type":"core.map","params":{"fields":[{"target":"x","expression":"1"}]}}],"edges":[{"source":"in","target":"m"}]}`

// TestSweepRecoversLostWork checks I2 in embedded mode: a committed run whose enqueue was lost, and a run whose
// worker died holding its lease, both reach a terminal status once the sweeper runs.
func TestSweepRecoversLostWork(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		a := newApp(t, b)
		ctx := context.Background()
		flowID := publish(t, a, manualFlow)
		now := time.Now().UTC()
		lost := &store.Run{ID: "01900000-0000-7000-8000-000000000001", FlowID: flowID, FlowVersion: 1, Mode: "live", Status: store.RunQueued,
			TriggerNode: "in", Trigger: json.RawMessage(`{}`), Attempt: 1, AvailableAt: now, CreatedAt: now}
		crashed := &store.Run{ID: "01900000-0000-7000-8000-000000000002", FlowID: flowID, FlowVersion: 1, Mode: "live", Status: store.RunQueued,
			TriggerNode: "in", Trigger: json.RawMessage(`{}`), Attempt: 1, AvailableAt: now, CreatedAt: now}
		for _, r := range []*store.Run{lost, crashed} {
			if err := a.Store.CreateRun(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
		}
		// A worker that is now gone claimed this one; its lease has run out.
		if _, err := a.Store.ClaimRun(ctx, crashed.ID, "dead-worker", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); a.Runner.Work(wctx, 2) }()
		defer func() { cancel(); wg.Wait() }()
		if err := scheduler.SweepOnce(ctx, a.Runner); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{lost.ID, crashed.ID} {
			testenv.WaitFor(t, "run "+id, 10*time.Second, func() bool {
				r, err := a.Store.GetRun(ctx, id)
				return err == nil && r.Status == store.RunSucceeded
			})
		}
	})
}

// TestCronFiresOncePerTick runs two schedulers over one store, as two processes would: each tick makes one run.
func TestCronFiresOncePerTick(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		a := newApp(t, b)
		ctx, cancel := context.WithCancel(context.Background())
		flowID := publish(t, a, `{"schema":1,"name":"c","nodes":[{"id":"tick","type":"core.schedule","params":{"cron":"* * * * * *","timezone":"Asia/Shanghai"}}],"edges":[]}`)
		var wg sync.WaitGroup
		for i := 0; i < 2; i++ {
			c := scheduler.NewCron(a.Runner, a.Logger)
			wg.Add(1)
			go func() { defer wg.Done(); c.Run(ctx) }()
		}
		wg.Add(1)
		go func() { defer wg.Done(); a.Runner.Work(ctx, 2) }()
		defer func() { cancel(); wg.Wait() }()
		var page store.RunPage
		testenv.WaitFor(t, "two scheduled runs", 10*time.Second, func() bool {
			var err error
			page, err = a.Store.ListRuns(context.Background(), store.RunFilter{FlowID: flowID, Status: []string{store.RunSucceeded}})
			return err == nil && len(page.Runs) >= 2
		})
		all, _ := a.Store.ListRuns(context.Background(), store.RunFilter{FlowID: flowID})
		keys := map[string]bool{}
		for _, r := range all.Runs {
			if keys[r.DedupKey] {
				t.Fatalf("tick %s ran twice", r.DedupKey)
			}
			keys[r.DedupKey] = true
		}
	})
}
