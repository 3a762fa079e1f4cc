package scheduler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// TestPollerWaitsForTheQueue: a backfill stops fetching pages while the queue holds MaxBacklog runs, resumes from
// the same cursor once workers have taken them, and counts the walk's records as one poll across its turns.
func TestPollerWaitsForTheQueue(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		fetched := 0
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fetched++
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			var list []map[string]any
			for i := (page-1)*2 + 1; i <= min(page*2, 10); i++ {
				list = append(list, map[string]any{"id": strconv.Itoa(i), "updated_at": base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)})
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(list)
		}))
		t.Cleanup(api.Close)
		t.Setenv("FERRY_ALLOWED_INTERNAL_HOSTS", "127.0.0.1")
		a := newApp(t, b)
		ctx := context.Background()
		flowID := publish(t, a, fmt.Sprintf(`{"schema":1,"name":"p","nodes":[{"id":"erp","type":"core.poll","params":{
		  "url":"%s/orders","interval":"1m","overlap":"0s","sinceParam":"updated_after","pagination":"page","sizeParam":"per_page","pageSize":2}}],"edges":[]}`, api.URL))
		clock := base.Add(time.Hour)
		a.Poller.Now = func() time.Time { return clock }
		a.Poller.MaxBacklog = 3
		cursor, _ := json.Marshal(nodes.PollCursor{Time: base})
		if _, err := a.Store.ResetPollCursor(ctx, flowID, "erp", cursor, clock); err != nil {
			t.Fatal(err)
		}
		round := func() bool {
			t.Helper()
			more, err := a.Poller.Round(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return more
		}
		// Two pages fill the queue past three runs: the turn stops before a third page and says there is more.
		if !round() || fetched != 2 {
			t.Fatalf("first turn fetched %d pages", fetched)
		}
		if !round() || fetched != 2 {
			t.Fatalf("a full queue still fetched: %d pages", fetched)
		}
		drain := func() {
			t.Helper()
			n, _ := a.Runner.Queue.Depth(ctx)
			for ; n > 0; n-- {
				d, err := a.Runner.Queue.Receive(ctx)
				if err != nil {
					t.Fatal(err)
				}
				d.Ack(ctx)
			}
		}
		for range 10 {
			drain()
			if !round() {
				break
			}
		}
		page, err := a.Store.ListRuns(ctx, store.RunFilter{FlowID: flowID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		cur, err := a.Store.GetPollCursor(ctx, flowID, "erp")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) != 10 || cur.LastCount != 10 || cur.TotalCount != 10 || cur.LastPollAt.IsZero() {
			t.Fatalf("after the walk: %d runs, last count %d, total %d", len(page.Runs), cur.LastCount, cur.TotalCount)
		}
	})
}
