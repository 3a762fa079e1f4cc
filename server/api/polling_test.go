package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store"
)

// erp is a stand-in for a system with no webhooks: it lists orders changed after updated_after, oldest first,
// in numbered pages, for a bearer token.
type erp struct {
	*httptest.Server
	mu       sync.Mutex
	orders   map[string]string // id → updated_at
	throttle atomic.Bool
}

func newERP(t *testing.T) *erp {
	e := &erp{orders: map[string]string{}}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer erp-token" {
			w.WriteHeader(401)
			return
		}
		if e.throttle.Load() {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(429)
			return
		}
		after, err := time.Parse(time.RFC3339, r.URL.Query().Get("updated_after"))
		if err != nil {
			w.WriteHeader(400)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		size, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		e.mu.Lock()
		var list []map[string]any
		for id, up := range e.orders {
			if t, _ := time.Parse(time.RFC3339, up); t.After(after) {
				list = append(list, map[string]any{"id": id, "updated_at": up, "number": "SO-" + id})
			}
		}
		e.mu.Unlock()
		sort.Slice(list, func(i, j int) bool {
			if list[i]["updated_at"] != list[j]["updated_at"] {
				return list[i]["updated_at"].(string) < list[j]["updated_at"].(string)
			}
			return list[i]["id"].(string) < list[j]["id"].(string)
		})
		start := min((page-1)*size, len(list))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list[start:min(start+size, len(list))])
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *erp) set(id string, at time.Time) {
	e.mu.Lock()
	e.orders[id] = at.UTC().Format(time.RFC3339)
	e.mu.Unlock()
}

// TestPollingTrigger: a published flow with a polling trigger starts at the moment it is first polled, a backfill
// runs every order changed since a date once (in pages, with overlapping walks deduplicated), a change makes one
// more run, a 429 waits as long as the API asks and shows on the trigger, and only editors may reset or backfill.
func TestPollingTrigger(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		api := newERP(t)
		base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		for i := 1; i <= 5; i++ {
			api.set(strconv.Itoa(i), base.Add(time.Duration(i)*time.Minute))
		}
		clock := base.Add(time.Hour)
		h.app.Poller.Now = func() time.Time { return clock }
		cred := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "ERP", "type": "http.bearer",
			"allowedDestinations": []string{api.URL}, "live": map[string]string{"token": "erp-token"}}), 201)["id"].(string)
		doc := `{"schema":1,"name":"ERP orders","nodes":[{"id":"erp","type":"core.poll","credential":"` + cred + `","params":{
		  "url":"` + api.URL + `/orders","interval":"1m","overlap":"2m","sinceParam":"updated_after","businessKeyPath":"/number",
		  "pagination":"page","sizeParam":"per_page","pageSize":2}}],"edges":[]}`
		flowID := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
		round := func() {
			t.Helper()
			if _, err := h.app.Poller.Round(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		runs := func() []store.Run {
			t.Helper()
			page, err := h.app.Store.ListRuns(t.Context(), store.RunFilter{FlowID: flowID, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			return page.Runs
		}
		poll := func() map[string]any {
			t.Helper()
			polls := h.expect(h.do("GET", "/api/v1/flows/"+flowID+"/polling", nil), 200)["polls"].([]any)
			if len(polls) != 1 {
				t.Fatalf("polls %v", polls)
			}
			return polls[0].(map[string]any)
		}

		// The first poll starts now: the orders changed an hour ago are history.
		round()
		if n := len(runs()); n != 0 {
			t.Fatalf("a new flow ran %d old orders", n)
		}
		if p := poll(); p["lastCount"] != float64(0) || p["cursor"].(map[string]any)["time"] != clock.Format(time.RFC3339) {
			t.Fatalf("first poll %v", p)
		}

		// A backfill from the start of the day runs each order once, page after page.
		viewer := "Bearer " + h.userToken("viewer@example.com", auth.RoleViewer)
		h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/polling/erp/backfill", `{"since":"2026-12-01T00:00:00Z"}`, "Authorization", viewer), 403)
		h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/polling/erp/backfill", `{"since":"2026-12-01T00:00:00Z"}`), 200)
		round()
		got := runs()
		keys := map[string]bool{}
		for _, r := range got {
			keys[r.BusinessKey] = true
		}
		if len(got) != 5 || len(keys) != 5 || !keys["SO-1"] || !keys["SO-5"] {
			t.Fatalf("backfill made %d runs: %v", len(got), keys)
		}
		p := poll()
		if p["totalCount"] != float64(5) || p["cursor"].(map[string]any)["id"] != "5" || p["cursor"].(map[string]any)["token"] != nil {
			t.Fatalf("after the backfill %v", p)
		}
		h.eventually("the polled runs succeed", func() bool {
			for _, r := range runs() {
				if r.Status != store.RunSucceeded {
					return false
				}
			}
			return true
		})

		// The next walk overlaps the last two minutes (order 5 again: no second run); order 2 changes: one run.
		clock = clock.Add(2 * time.Minute)
		api.set("2", base.Add(10*time.Minute))
		round()
		if got = runs(); len(got) != 6 {
			t.Fatalf("after a change: %d runs", len(got))
		}
		if p = poll(); p["lastCount"] != float64(1) || p["totalCount"] != float64(6) {
			t.Fatalf("after a change %v", p)
		}

		// The API asks to slow down: the poll waits as long as it says, and the trigger shows why.
		api.throttle.Store(true)
		clock = clock.Add(2 * time.Minute)
		round()
		p = poll()
		if p["failures"] != float64(1) || p["lastError"].(map[string]any)["code"] != "http_rate_limited" ||
			p["nextPollAt"] != clock.Add(30*time.Second).Format(time.RFC3339) {
			t.Fatalf("throttled %v", p)
		}
		api.throttle.Store(false)
		round() // not due yet
		if p = poll(); p["failures"] != float64(1) {
			t.Fatalf("polled before the API's wait was over: %v", p)
		}
		clock = clock.Add(31 * time.Second)
		round()
		if p = poll(); p["failures"] != float64(0) || p["lastError"] != nil || len(runs()) != 6 {
			t.Fatalf("after the wait %v, %d runs", p, len(runs()))
		}

		// A reset starts over from now.
		p = h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/polling/erp/reset", nil), 200)
		if p["totalCount"] != float64(0) {
			t.Fatalf("reset %v", p)
		}
		h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/polling/nope/reset", nil), 400)
		for _, action := range []string{"flow.poll_reset", "flow.poll_backfill"} {
			if events := h.expect(h.do("GET", "/api/v1/audit?action="+action, nil), 200)["events"].([]any); len(events) != 1 {
				t.Errorf("audit of %s: %v", action, events)
			}
		}
	})
}
