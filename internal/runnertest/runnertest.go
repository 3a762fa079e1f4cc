// Package runnertest runs flows the way the server does, for tests that need more than the engine: child runs,
// dead-letter alerts, parked runs. A runner over a SQLite store in a temporary directory and the in-process
// queue, flows published into it, and the queue drained by executing what it hands out. Only tests import it.
package runnertest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/server/queue/memq"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// New opens a runner with eng over a fresh SQLite store that the test closes when it ends.
func New(t testing.TB, eng *engine.Engine) *runner.Runner {
	t.Helper()
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return runner.New(st, memq.New(), eng, nil, nil)
}

// Publish creates a flow named name from doc, publishes it as version 1 and returns that version, compiled.
func Publish(t testing.TB, r *runner.Runner, name string, doc []byte) *runner.Loaded {
	t.Helper()
	ctx := context.Background()
	f := &store.Flow{Name: name, Draft: json.RawMessage(doc)}
	if err := r.Store.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.Publish(ctx, f.ID, json.RawMessage(doc), "", ""); err != nil {
		t.Fatal(err)
	}
	l, err := r.Version(ctx, f.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Drain executes every run the queue hands out until it has had none for a moment: the runs started, their
// children, alerts and parents woken, as a worker would.
func Drain(t testing.TB, r *runner.Runner) {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		d, err := r.Queue.Receive(ctx)
		cancel()
		if err != nil {
			return
		}
		if err := r.Process(context.Background(), d.RunID()); err != nil {
			t.Fatal(err)
		}
		_ = d.Ack(context.Background())
	}
}
