package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-hq/ferry/server/store"
)

// dashProvider is a fake HTTP provider that refuses calls (422) until told to accept them.
type dashProvider struct {
	mu     sync.Mutex
	accept bool
	srv    *httptest.Server
}

func newDashProvider(t *testing.T) *dashProvider {
	p := &dashProvider{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.accept {
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write([]byte(`{"message":"deal stage unknown"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *dashProvider) setAccept(v bool) {
	p.mu.Lock()
	p.accept = v
	p.mu.Unlock()
}

// dashFlow is a published flow manual → call, where call posts to url.
func dashFlow(h *harness, name, url string) string {
	doc := `{"schema":1,"name":"` + name + `","nodes":[{"id":"in","type":"core.manual"},
	 {"id":"call","type":"core.http","params":{"method":"POST","url":"` + url + `","bodyType":"json","body":"{{ trigger }}"}}],
	 "edges":[{"source":"in","target":"call"}]}`
	return h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
}

// dashRun starts a live run of flow and waits until it reaches status.
func dashRun(h *harness, flow, key, status string) string {
	id := h.expect(h.do("POST", "/api/v1/flows/"+flow+"/run", `{"payload":{"deal":"`+key+`"},"businessKey":"`+key+`"}`), 202)["id"].(string)
	h.eventually("run "+key+" to be "+status, func() bool { return h.runStatus(id) == status })
	return id
}

func dashNum(v any) float64 {
	f, _ := v.(float64)
	return f
}

func TestDashboard(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		failing, working := newDashProvider(t), newDashProvider(t)
		working.setAccept(true)
		bad := dashFlow(h, "HubSpot deals", failing.srv.URL)
		good := dashFlow(h, "Orders", working.srv.URL)
		dashRun(h, bad, "D-1", store.RunFailed)
		dashRun(h, bad, "D-2", store.RunFailed)
		dashRun(h, good, "O-1", store.RunSucceeded)
		dashRun(h, good, "O-2", store.RunSucceeded)
		dashRun(h, good, "O-3", store.RunSucceeded)
		waitDoc := `{"schema":1,"name":"w","nodes":[{"id":"in","type":"core.manual"},{"id":"pause","type":"core.delay","params":{"mode":"duration","duration":"1h"}}],"edges":[{"source":"in","target":"pause"}]}`
		wid := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", waitDoc), 201)["id"].(string)
		dashRun(h, wid, "W-1", store.RunWaiting)
		// A test run never counts.
		h.expect(h.do("POST", "/api/v1/flows/"+bad+"/test", `{"payload":{"deal":"T"}}`), 200)

		d := h.expect(h.do("GET", "/api/v1/dashboard", nil), 200)
		if d["window"] != "1h" || dashNum(d["bucketSeconds"]) != 60 {
			t.Fatalf("window %v %v", d["window"], d["bucketSeconds"])
		}
		buckets := d["buckets"].([]any)
		var sum float64
		for _, b := range buckets {
			sum += dashNum(b.(map[string]any)["total"])
		}
		if len(buckets) != 60 || sum != 6 {
			t.Errorf("%d buckets holding %v runs, want 60 holding 6", len(buckets), sum)
		}
		totals := d["totals"].(map[string]any)
		by := totals["byStatus"].(map[string]any)
		if dashNum(totals["runs"]) != 6 || dashNum(by["succeeded"]) != 3 || dashNum(by["failed"]) != 2 || dashNum(by["waiting"]) != 1 ||
			dashNum(totals["finished"]) != 5 || dashNum(totals["successRate"]) != 0.6 {
			t.Errorf("totals %v", totals)
		}
		failures := d["failures"].([]any)
		if len(failures) != 1 {
			t.Fatalf("failures %v", failures)
		}
		f := failures[0].(map[string]any)
		lastErr, _ := f["lastError"].(map[string]any)
		if f["flowId"] != bad || f["flowName"] != "HubSpot deals" || dashNum(f["failed"]) != 2 || lastErr["code"] != "http_client_error" || lastErr["nodeId"] != "call" {
			t.Errorf("failure %v", f)
		}
		dl := d["deadLetters"].(map[string]any)
		byFlow := dl["byFlow"].([]any)
		if dashNum(dl["total"]) != 2 || len(byFlow) != 1 || byFlow[0].(map[string]any)["flowId"] != bad || dashNum(byFlow[0].(map[string]any)["count"]) != 2 {
			t.Errorf("dead letters %v", dl)
		}
		backlog := d["backlog"].(map[string]any)
		if dashNum(backlog["waiting"]) != 1 || dashNum(backlog["queued"]) != 0 || dashNum(backlog["running"]) != 0 {
			t.Errorf("backlog %v", backlog)
		}
		if q := d["queue"].(map[string]any); q["depth"] == nil {
			t.Errorf("queue depth missing: %v", q)
		}

		week := h.expect(h.do("GET", "/api/v1/dashboard?window=7d", nil), 200)
		if len(week["buckets"].([]any)) != 84 || dashNum(week["bucketSeconds"]) != 7200 || dashNum(week["totals"].(map[string]any)["runs"]) != 6 {
			t.Errorf("7d window: %d buckets of %v s", len(week["buckets"].([]any)), week["bucketSeconds"])
		}
		if day := h.expect(h.do("GET", "/api/v1/dashboard?window=24h", nil), 200); len(day["buckets"].([]any)) != 96 {
			t.Errorf("24h window: %d buckets", len(day["buckets"].([]any)))
		}
		e := h.expect(h.do("GET", "/api/v1/dashboard?window=2d", nil), 400)["error"].(map[string]any)
		if e["code"] != "bad_request" {
			t.Errorf("unknown window: %v", e)
		}
	})
}

func TestDeadLettersAndBulkRetry(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		p := newDashProvider(t)
		flow := dashFlow(h, "HubSpot deals", p.srv.URL)
		other := dashFlow(h, "Other", p.srv.URL)
		r1 := dashRun(h, flow, "D-1", store.RunFailed)
		r2 := dashRun(h, flow, "D-2", store.RunFailed)
		r3 := dashRun(h, flow, "D-3", store.RunFailed)
		r4 := dashRun(h, other, "X-1", store.RunFailed)

		list := h.expect(h.do("GET", "/api/v1/dead-letters?flow="+flow, nil), 200)["deadLetters"].([]any)
		if len(list) != 3 {
			t.Fatalf("dead letters %v", list)
		}
		first := list[0].(map[string]any)
		if first["id"] != r3 || first["failedNode"] != "call" || dashNum(first["attempts"]) != 1 || first["errorCode"] != "http_client_error" ||
			first["businessKey"] != "D-3" || first["status"] != "failed" {
			t.Errorf("newest dead letter %v", first)
		}
		if l := h.expect(h.do("GET", "/api/v1/dead-letters?code=timeout", nil), 200)["deadLetters"].([]any); len(l) != 0 {
			t.Errorf("code filter: %v", l)
		}
		page := h.expect(h.do("GET", "/api/v1/dead-letters?code=http_client_error&limit=3", nil), 200)
		if len(page["deadLetters"].([]any)) != 3 || page["nextCursor"] == "" {
			t.Errorf("first page of 3: %v", page)
		}
		page = h.expect(h.do("GET", "/api/v1/dead-letters?code=http_client_error&limit=3&cursor="+page["nextCursor"].(string), nil), 200)
		if l := page["deadLetters"].([]any); len(l) != 1 || l[0].(map[string]any)["id"] != r1 || page["nextCursor"] != "" {
			t.Errorf("second page: %v", page)
		}
		h.expect(h.do("GET", "/api/v1/dead-letters?since=yesterday", nil), 400)

		// Bad requests change nothing.
		for body, code := range map[string]string{
			`{}`:                                  "bad_request",
			`{"ids":[]}`:                          "bad_request",
			`{"ids":["` + r1 + `",""]}`:           "bad_request",
			`{"ids":["` + r1 + `"],"filter":{}}`:  "bad_request",
			`{"filter":{"since":"last week"}}`:    "bad_request",
			`{"ids":"` + r1 + `"}`:                "invalid_json",
			`{"ids":[` + dashIDs(501) + `]}`:      "retry_batch_too_large",
			`{"ids":["` + r1 + `"],"cursor":"x"}`: "bad_request",
		} {
			e := h.expect(h.do("POST", "/api/v1/runs/retry", body), 400)["error"].(map[string]any)
			if e["code"] != code {
				t.Errorf("%s: %v, want %s", body, e, code)
			}
		}
		if h.runStatus(r1) != store.RunFailed {
			t.Fatal("a refused bulk retry changed a run")
		}

		p.setAccept(true)
		res := h.expect(h.do("POST", "/api/v1/runs/retry", map[string]any{"ids": []string{r1, r2, "no-such-run", r1}}), 200)
		results := res["results"].([]any)
		if len(results) != 3 || dashNum(res["retried"]) != 2 || dashNum(res["failed"]) != 1 {
			t.Fatalf("bulk retry %v", res)
		}
		for i, want := range []struct {
			id   string
			ok   bool
			code string
		}{{r1, true, ""}, {r2, true, ""}, {"no-such-run", false, "not_found"}} {
			r := results[i].(map[string]any)
			code := ""
			if e, _ := r["error"].(map[string]any); e != nil {
				code, _ = e["code"].(string)
			}
			if r["id"] != want.id || r["ok"] != want.ok || code != want.code {
				t.Errorf("result %d: %v, want %+v", i, r, want)
			}
		}
		h.eventually("the retried runs to succeed", func() bool {
			return h.runStatus(r1) == store.RunSucceeded && h.runStatus(r2) == store.RunSucceeded
		})

		// A run that is no longer failed is reported, and the rest of the batch goes on.
		res = h.expect(h.do("POST", "/api/v1/runs/retry", map[string]any{"ids": []string{r1, r4}}), 200)
		results = res["results"].([]any)
		if r := results[0].(map[string]any); r["ok"] != false || r["error"].(map[string]any)["code"] != "run_state_conflict" {
			t.Errorf("retrying a succeeded run: %v", r)
		}
		if r := results[1].(map[string]any); r["ok"] != true {
			t.Errorf("the other run of the batch: %v", r)
		}
		h.eventually("r4 to succeed", func() bool { return h.runStatus(r4) == store.RunSucceeded })

		// By filter: only the dead letters of the flow that match are retried.
		res = h.expect(h.do("POST", "/api/v1/runs/retry", map[string]any{"filter": map[string]any{"flow": flow, "code": "http_client_error"}}), 200)
		results = res["results"].([]any)
		if len(results) != 1 || results[0].(map[string]any)["id"] != r3 || res["nextCursor"] != "" {
			t.Fatalf("retry by filter %v", res)
		}
		h.eventually("r3 to succeed", func() bool { return h.runStatus(r3) == store.RunSucceeded })
		if l := h.expect(h.do("GET", "/api/v1/dead-letters", nil), 200)["deadLetters"].([]any); len(l) != 0 {
			t.Errorf("dead letters left: %v", l)
		}

		events := h.expect(h.do("GET", "/api/v1/audit?action=run.retry_bulk", nil), 200)["events"].([]any)
		if len(events) != 3 {
			t.Fatalf("%d audit events for 3 batches", len(events))
		}
		detail := events[len(events)-1].(map[string]any)["detail"].(map[string]any)
		if fmt.Sprint(detail["ids"]) != fmt.Sprint([]any{r1, r2, "no-such-run"}) || fmt.Sprint(detail["notRetried"]) != "[no-such-run]" {
			t.Errorf("audit detail of the first batch %v", detail)
		}
	})
}

func dashIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", fmt.Sprint("run-", i))
	}
	return strings.Join(ids, ",")
}
