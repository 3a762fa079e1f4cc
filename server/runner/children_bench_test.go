package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/queue/memq"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// BenchmarkSplitDrain splits one run into 10,000 children (100 at once) in embedded mode (SQLite, in-process
// queue) and drains them with 8 workers, until the parent has gone on with its summary: children/s, the time
// until the parent parked with its children committed, and the peak heap in use are the figures the README quotes.
func BenchmarkSplitDrain(b *testing.B) {
	const items = 10_000
	doc := `{"schema":1,"name":"bench","nodes":[{"id":"in","type":"test.trigger"},` +
		`{"id":"split","type":"core.split","params":{"items":"trigger.items","key":"prev.sku","parallel":100,"maxItems":10000}},` +
		`{"id":"line","type":"test.value","params":{"expr":"{\"sku\": prev.sku, \"qty\": prev.qty * 2}"}},` +
		`{"id":"after","type":"test.pass"}],` +
		`"edges":[{"source":"in","target":"split"},{"source":"split","sourcePort":"each","target":"line"},{"source":"split","sourcePort":"done","target":"after"}]}`
	list := make([]any, items)
	for i := range list {
		list[i] = map[string]any{"sku": fmt.Sprintf("SKU-%05d", i), "qty": i % 7}
	}
	var total time.Duration
	var peak uint64 // the heap in use, sampled while the children drain
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		st, err := store.Open(ctx, "", b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		r := runner.New(st, memq.New(), &engine.Engine{}, nil, nil)
		f := &store.Flow{Name: "bench", Draft: json.RawMessage(doc)}
		if err := st.CreateFlow(ctx, f); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Publish(ctx, f.ID, json.RawMessage(doc), "", ""); err != nil {
			b.Fatal(err)
		}
		l, err := r.Version(ctx, f.ID, 1)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		parent, err := r.Accept(ctx, runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{"items": list}, Mode: nodes.ModeLive})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { r.Work(ctx, 8); close(done) }()
		tick := time.NewTicker(20 * time.Millisecond)
		parked := time.Duration(0)
		for {
			<-tick.C
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			got, err := st.GetRun(ctx, parent.ID)
			if err != nil {
				b.Fatal(err)
			}
			if parked == 0 && got.Status == store.RunWaiting {
				parked = time.Since(start)
				b.ReportMetric(parked.Seconds(), "s-to-park")
			}
			if got.Status == store.RunSucceeded {
				break
			}
			if got.Terminal() {
				b.Fatalf("parent %s: %s", got.Status, got.Error)
			}
		}
		total += time.Since(start)
		tick.Stop()
		cancel()
		<-done
		st.Close()
	}
	b.ReportMetric(float64(items*b.N)/total.Seconds(), "children/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
