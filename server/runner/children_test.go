package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/queue/memq"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// splitFlow splits trigger.items into child runs (two at once), each doubling its quantity, where the item BAD
// fails; then the parent goes on.
const splitFlow = `{"schema":1,"name":"lines","nodes":[{"id":"in","type":"test.trigger"},` +
	`{"id":"split","type":"core.split","params":{"items":"trigger.items","key":"prev.sku","parallel":2}},` +
	`{"id":"line","type":"test.value","params":{"expr":"prev.sku == \"BAD\" ? prev.nope.x : {\"sku\": prev.sku, \"qty\": prev.qty * 2, \"order\": trigger.order}"}},` +
	`{"id":"after","type":"test.pass"}],` +
	`"edges":[{"source":"in","target":"split"},{"source":"split","sourcePort":"each","target":"line"},{"source":"split","sourcePort":"done","target":"after"}]}`

// TestSplitRunsEachItem: a split parks its run and commits one child per item, at most two claimable at once;
// each child ending releases the next, a bad item fails alone, and after a restart the last child's end queues
// the parent, which goes on once with the summary. On SQLite and Postgres.
func TestSplitRunsEachItem(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			ctx := context.Background()
			b := backend(t)
			r, done := openRunner(t, b)
			l := publish(t, r, splitFlow)
			items := []any{map[string]any{"sku": "A", "qty": 1}, map[string]any{"sku": "B", "qty": 2},
				map[string]any{"sku": "BAD"}, map[string]any{"sku": "C", "qty": 3}}
			parent, err := r.Accept(ctx, runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{"order": "SO-1", "items": items},
				BusinessKey: "SO-1", Mode: nodes.ModeLive})
			if err != nil {
				t.Fatal(err)
			}
			d, _ := r.Queue.Receive(ctx)
			if err := r.Process(ctx, d.RunID()); err != nil {
				t.Fatal(err)
			}
			got, _ := r.Store.GetRun(ctx, parent.ID)
			if got.Status != store.RunWaiting || got.ChildrenOpen != 4 {
				t.Fatalf("parent after splitting: %s, %d open", got.Status, got.ChildrenOpen)
			}
			kids := childrenOf(t, r, parent.ID)
			if len(kids) != 4 {
				t.Fatalf("%d children", len(kids))
			}
			for i, k := range kids {
				if k.ChildIndex != i || k.Held != (i >= 2) || k.BusinessKey != "SO-1:"+[]string{"A", "B", "BAD", "C"}[i] {
					t.Errorf("child %d: index %d held %v key %q", i, k.ChildIndex, k.Held, k.BusinessKey)
				}
			}
			due, err := r.Store.DueRuns(ctx, store.DueQuery{Now: got.CreatedAt.AddDate(0, 0, 1), Waiting: true})
			if err != nil || len(due) != 2 {
				t.Fatalf("claimable after the split: %v %v", due, err)
			}
			// Two children end; the restart loses whatever was queued in memory.
			for range 2 {
				d, err := r.Queue.Receive(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Process(ctx, d.RunID()); err != nil {
					t.Fatal(err)
				}
			}
			done()
			r, done = openRunner(t, b)
			defer done()
			for {
				ids, err := r.Store.DueRuns(ctx, store.DueQuery{Now: got.CreatedAt.AddDate(0, 0, 1), Waiting: true})
				if err != nil {
					t.Fatal(err)
				}
				if len(ids) == 0 {
					break
				}
				if len(ids) > 2 {
					t.Fatalf("%d runs claimable at once, more than the split's two", len(ids))
				}
				for _, id := range ids {
					if err := r.Process(ctx, id); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, _ = r.Store.GetRun(ctx, parent.ID)
			if got.Status != store.RunSucceeded {
				t.Fatalf("parent: %s %s", got.Status, got.Error)
			}
			for i, k := range childrenOf(t, r, parent.ID) {
				want := store.RunSucceeded
				if i == 2 {
					want = store.RunFailed
				}
				if k.Status != want {
					t.Errorf("child %d: %s", i, k.Status)
				}
			}
			steps, _ := r.Store.ListSteps(ctx, parent.ID)
			var summary map[string]any
			for _, s := range steps {
				if s.NodeID == "split" && s.Status == store.StepSucceeded {
					_ = json.Unmarshal(s.Output, &summary)
				}
			}
			if summary["total"] != 4.0 || summary["succeeded"] != 3.0 || summary["failed"] != 1.0 {
				t.Fatalf("summary %v", summary)
			}
			listed, _ := summary["children"].([]any)
			if len(listed) != 1 || listed[0].(map[string]any)["key"] != "BAD" || listed[0].(map[string]any)["status"] != store.RunFailed {
				t.Fatalf("listed children %v", listed)
			}
			if last := steps[len(steps)-1]; last.NodeID != "after" {
				t.Fatalf("the parent did not go on after the split: %+v", last)
			}
			// A child's step read the parent's trigger and its item.
			childSteps, _ := r.Store.ListSteps(ctx, childrenOf(t, r, parent.ID)[1].ID)
			if len(childSteps) != 1 || string(childSteps[0].Output) != `{"order":"SO-1","qty":4,"sku":"B"}` {
				t.Fatalf("child steps %+v", childSteps)
			}
		})
	}
}

// childrenOf lists a parent's children in item order.
func childrenOf(t *testing.T, r *runner.Runner, parentID string) []store.Run {
	t.Helper()
	page, err := r.Store.ListRuns(context.Background(), store.RunFilter{ParentRunID: parentID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]store.Run, len(page.Runs))
	for _, k := range page.Runs {
		out[k.ChildIndex] = k
	}
	return out
}

// failingSplitFlow fails its split when a child failed; the item BAD fails on its first attempt only.
const failingSplitFlow = `{"schema":1,"name":"lines","nodes":[{"id":"in","type":"test.trigger"},` +
	`{"id":"split","type":"core.split","params":{"items":"trigger.items","key":"prev.sku","parallel":1,"onChildFailure":"fail"}},` +
	`{"id":"line","type":"test.value","params":{"expr":"run.attempt > 1 || prev.sku != \"BAD\" ? prev : prev.nope.x"}}],` +
	`"edges":[{"source":"in","target":"split"},{"source":"split","sourcePort":"each","target":"line"}]}`

// TestSplitRetryRetriesFailedChildren: a split told to fail when a child fails fails its run once every child
// ended; retrying the run starts again only the failed child, and the run then succeeds. On SQLite and Postgres.
func TestSplitRetryRetriesFailedChildren(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			ctx := context.Background()
			r, done := openRunner(t, backend(t))
			defer done()
			l := publish(t, r, failingSplitFlow)
			items := []any{map[string]any{"sku": "A"}, map[string]any{"sku": "BAD"}, map[string]any{"sku": "C"}}
			parent, err := r.Accept(ctx, runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{"items": items}, Mode: nodes.ModeLive})
			if err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			got, _ := r.Store.GetRun(ctx, parent.ID)
			var e map[string]any
			_ = json.Unmarshal(got.Error, &e)
			if got.Status != store.RunFailed || e["code"] != "split_children_failed" {
				t.Fatalf("parent: %s %s", got.Status, got.Error)
			}
			kids := childrenOf(t, r, parent.ID)
			if kids[0].Status != store.RunSucceeded || kids[1].Status != store.RunFailed || kids[2].Status != store.RunSucceeded {
				t.Fatalf("children: %s %s %s", kids[0].Status, kids[1].Status, kids[2].Status)
			}
			if _, err := r.RetryFailed(ctx, parent.ID); err != nil {
				t.Fatal(err)
			}
			drain(t, r)
			got, _ = r.Store.GetRun(ctx, parent.ID)
			if got.Status != store.RunSucceeded {
				t.Fatalf("parent after the retry: %s %s", got.Status, got.Error)
			}
			kids = childrenOf(t, r, parent.ID)
			if len(kids) != 3 {
				t.Fatalf("%d children after the retry", len(kids))
			}
			for i, k := range kids {
				steps, _ := r.Store.ListSteps(ctx, k.ID)
				want := 1 // the succeeded children were not run again
				if i == 1 {
					want = 2
				}
				if k.Status != store.RunSucceeded || len(steps) != want {
					t.Errorf("child %d: %s with %d steps, want succeeded with %d", i, k.Status, len(steps), want)
				}
			}
		})
	}
}

// TestListOneRunPerRecord: a list read with one run per record (here core.http's offset paging) starts a child
// run per record on the node's output, and the run ends at the node once they ended.
func TestListOneRunPerRecord(t *testing.T) {
	ctx := context.Background()
	records := []any{map[string]any{"id": 1}, map[string]any{"id": 2}, map[string]any{"id": 3}, map[string]any{"id": 4}, map[string]any{"id": 5}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
		size, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(records[min(skip, len(records)):min(skip+size, len(records))])
	}))
	defer srv.Close()
	st, err := store.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := runner.New(st, memq.New(), &engine.Engine{HTTP: testenv.LocalClient()}, nil, nil)
	doc := fmt.Sprintf(`{"schema":1,"name":"records","nodes":[{"id":"in","type":"test.trigger"},`+
		`{"id":"list","type":"core.http","params":{"url":"%s/records","pagination":"offset","offsetParam":"skip","sizeParam":"limit","pageSize":2,"pages":"each","parallel":2}},`+
		`{"id":"each","type":"test.value","params":{"expr":"{\"id\": prev.id * 10}"}}],`+
		`"edges":[{"source":"in","target":"list"},{"source":"list","target":"each"}]}`, srv.URL)
	l := publish(t, r, doc)
	run, err := r.Accept(ctx, runner.Trigger{Flow: l, Node: "in", Payload: map[string]any{}, Mode: nodes.ModeLive})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	got, _ := r.Store.GetRun(ctx, run.ID)
	if got.Status != store.RunSucceeded {
		t.Fatalf("run: %s %s", got.Status, got.Error)
	}
	kids := childrenOf(t, r, run.ID)
	if len(kids) != 5 {
		t.Fatalf("%d children", len(kids))
	}
	for i, k := range kids {
		steps, _ := r.Store.ListSteps(ctx, k.ID)
		if k.Status != store.RunSucceeded || len(steps) != 1 || string(steps[0].Output) != fmt.Sprintf(`{"id":%d}`, (i+1)*10) {
			t.Errorf("child %d: %s %+v", i, k.Status, steps)
		}
	}
	steps, _ := r.Store.ListSteps(ctx, run.ID)
	last := steps[len(steps)-1]
	if last.NodeID != "list" || last.Port != nodes.PortEnd || !strings.Contains(string(last.Output), `"succeeded":5`) {
		t.Fatalf("the run's last step: %+v", last)
	}
}
