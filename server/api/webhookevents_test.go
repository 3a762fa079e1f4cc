package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/hubspot"
	"github.com/ferry-hq/ferry/server/api"
	"github.com/ferry-hq/ferry/server/store"

	_ "github.com/ferry-hq/ferry/internal/testnodes"
)

const (
	hubspotSecret = "3c1d7e2a-5b4f-4e8a-9c6d-0f1e2d3c4b5a"
	hubspotTarget = "https://ferry.example.com/hooks/crm-events"
)

// hubspotFlow imports and publishes a flow whose HubSpot trigger runs for contact and deal events.
func hubspotFlow(t *testing.T, h *harness) string {
	t.Helper()
	cred := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "HubSpot app", "type": hubspot.CredentialWebhook,
		"live": map[string]string{hubspot.FieldClientSecret: hubspotSecret}, "test": map[string]string{hubspot.FieldClientSecret: hubspotSecret}}), 201)
	doc := fmt.Sprintf(`{"schema":1,"name":"crm events","nodes":[
	  {"id":"hs","type":"hubspot.trigger","credential":%q,"params":{"targetUrl":%q,"subscriptionTypes":"contact.creation, deal.propertyChange"}},
	  {"id":"map","type":"core.map","params":{"fields":[{"target":"object","expression":"trigger.body.objectId"}]}}],
	  "edges":[{"source":"hs","target":"map"}]}`, cred["id"], hubspotTarget)
	return h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
}

// hubspotEvent is one event of a HubSpot batch.
func hubspotEvent(id int, typ string, object int) string {
	return fmt.Sprintf(`{"eventId":%d,"subscriptionId":25,"portalId":62515,"appId":54321,"occurredAt":1765100000000,`+
		`"subscriptionType":%q,"attemptNumber":0,"objectId":%d,"changeSource":"CRM"}`, id, typ, object)
}

// deliverHubSpot posts events to path as HubSpot does, signed with the app's client secret.
func deliverHubSpot(h *harness, path string, events ...string) response {
	h.t.Helper()
	body := "[" + strings.Join(events, ",") + "]"
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	return h.do("POST", path, body, "Authorization", "", "X-HubSpot-Signature-v3", hubspot.SignV3(hubspotSecret, http.MethodPost, hubspotTarget, []byte(body), ts),
		"X-HubSpot-Request-Timestamp", ts, "X-HubSpot-Signature-Version", "v3")
}

// flowRuns lists the flow's runs by business key.
func flowRuns(t *testing.T, h *harness, flowID string) map[string]store.Run {
	t.Helper()
	page, err := h.app.Store.ListRuns(context.Background(), store.RunFilter{FlowID: flowID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]store.Run{}
	for _, r := range page.Runs {
		if _, dup := runs[r.BusinessKey]; dup {
			t.Fatalf("two runs with business key %s", r.BusinessKey)
		}
		runs[r.BusinessKey] = r
	}
	return runs
}

// TestHubSpotBatchStartsOneRunPerEvent: a signed batch of HubSpot events starts one run per subscribed event,
// each with the event as its trigger and its own keys, committed before HubSpot gets its 200; the same batch
// delivered again starts nothing, and a batch mixing old and new events starts runs for the new ones only.
func TestHubSpotBatchStartsOneRunPerEvent(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		flow := hubspotFlow(t, h)
		batch := []string{hubspotEvent(1001, "deal.propertyChange", 9001), hubspotEvent(1002, "contact.creation", 501),
			hubspotEvent(1003, "company.deletion", 77), hubspotEvent(1004, "contact.creation", 502)}
		res := deliverHubSpot(h, "/hooks/"+flow, batch...)
		if res.status != http.StatusOK || res.header.Get(api.EventsHeader) != "3" {
			t.Fatalf("batch answered %d (%s events): %s", res.status, res.header.Get(api.EventsHeader), res.body)
		}
		ids := strings.Split(res.header.Get(api.RunIDsHeader), ",")
		runs := flowRuns(t, h, flow)
		if len(ids) != 3 || len(runs) != 3 {
			t.Fatalf("run ids %v, runs %v: want 3 (the company event is not subscribed)", ids, runs)
		}
		for i, want := range []struct{ business, dedup string }{{"9001", "hubspot:1001"}, {"501", "hubspot:1002"}, {"502", "hubspot:1004"}} {
			r, ok := runs[want.business]
			if !ok || r.ID != ids[i] || r.DedupKey != want.dedup {
				t.Fatalf("event %d: run %+v, answered id %s", i, r, ids[i])
			}
			id := r.ID
			h.eventually("run of object "+want.business+" to succeed", func() bool { return h.runStatus(id) == store.RunSucceeded })
			full, err := h.app.Store.GetRun(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(full.Trigger), `"objectId":`+want.business) || strings.Contains(string(full.Trigger), `"events"`) ||
				!strings.Contains(string(full.Trigger), `"x-hubspot-request-timestamp"`) {
				t.Errorf("run %s trigger %s", id, full.Trigger)
			}
			steps, err := h.app.Store.ListSteps(context.Background(), id)
			if err != nil || len(steps) != 2 || !strings.Contains(string(steps[1].Output), `"object":`+want.business) {
				t.Errorf("run %s steps %v %v", id, steps, err)
			}
		}

		// HubSpot delivers the batch again: every event has its run, nothing new starts, HubSpot gets its 200.
		again := deliverHubSpot(h, "/hooks/"+flow, batch...)
		if again.status != http.StatusOK || again.header.Get("X-Ferry-Duplicate") != "true" || again.header.Get(api.RunIDsHeader) != strings.Join(ids, ",") {
			t.Fatalf("redelivery answered %d %v", again.status, again.header)
		}
		if n := len(flowRuns(t, h, flow)); n != 3 {
			t.Fatalf("%d runs after the redelivery, want 3", n)
		}

		// Old and new events together: the new one starts a run, the old one names its run.
		mixed := deliverHubSpot(h, "/hooks/"+flow, hubspotEvent(1002, "contact.creation", 501), hubspotEvent(1005, "deal.propertyChange", 9002))
		got := strings.Split(mixed.header.Get(api.RunIDsHeader), ",")
		runs = flowRuns(t, h, flow)
		if mixed.status != http.StatusOK || len(runs) != 4 || len(got) != 2 || got[0] != ids[1] || got[1] != runs["9002"].ID ||
			mixed.header.Get("X-Ferry-Duplicate") != "" {
			t.Fatalf("mixed batch answered %d %v; runs %v", mixed.status, mixed.header, runs)
		}

		// One event alone: the path of every single-event webhook, with the same keys.
		h.expect(deliverHubSpot(h, "/hooks/"+flow, hubspotEvent(1006, "contact.creation", 503)), http.StatusOK)
		if r := flowRuns(t, h, flow)["503"]; r.DedupKey != "hubspot:1006" {
			t.Fatalf("single event run %+v", r)
		}
	})
}

// TestBatchCommitFailureStartsNothing checks I1 for batches: when the runs cannot be committed HubSpot gets no
// 2xx and no event has a run, so the whole batch delivered again starts every run.
func TestBatchCommitFailureStartsNothing(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		flow := hubspotFlow(t, h)
		batch := []string{hubspotEvent(2001, "contact.creation", 601), hubspotEvent(2002, "contact.creation", 602)}
		h.app.Runner.Store = failingStore{Store: h.app.Store}
		res := deliverHubSpot(h, "/hooks/"+flow, batch...)
		h.app.Runner.Store = h.app.Store
		if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
			t.Fatalf("a batch that was not committed was answered %d: %s", res.status, res.body)
		}
		if runs := flowRuns(t, h, flow); len(runs) != 0 {
			t.Fatalf("a failed commit left runs behind: %v", runs)
		}
		h.expect(deliverHubSpot(h, "/hooks/"+flow, batch...), http.StatusOK)
		if runs := flowRuns(t, h, flow); len(runs) != 2 {
			t.Fatalf("%d runs after the redelivery, want 2", len(runs))
		}
	})
}

// TestBatchOverTheBoundIsRefused: more events than one request may carry are refused with a stable code,
// recorded like every refused call, and start nothing; the server's bound holds for any trigger.
func TestBatchOverTheBoundIsRefused(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		flow := hubspotFlow(t, h)
		events := make([]string, nodes.MaxEvents+1)
		for i := range events {
			events[i] = hubspotEvent(3000+i, "contact.creation", 700+i)
		}
		res := deliverHubSpot(h, "/hooks/"+flow, events...)
		if res.status != http.StatusRequestEntityTooLarge || res.json(t)["error"].(map[string]any)["code"] != nodes.CodeTooManyEvents {
			t.Fatalf("%d events answered %d: %s", len(events), res.status, res.body)
		}
		if runs := flowRuns(t, h, flow); len(runs) != 0 {
			t.Fatalf("a refused batch started %d runs", len(runs))
		}

		generic := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", `{"schema":1,"name":"batches","nodes":[
		  {"id":"b","type":"test.batch"}],"edges":[]}`), 201)["id"].(string)
		var list []string
		for i := range nodes.MaxEvents + 1 {
			list = append(list, fmt.Sprintf(`{"id":"e%d","key":"k%d"}`, i, i))
		}
		big := h.do("POST", "/hooks/"+generic, "["+strings.Join(list, ",")+"]", "Authorization", "")
		if big.status != http.StatusRequestEntityTooLarge || big.json(t)["error"].(map[string]any)["code"] != nodes.CodeTooManyEvents {
			t.Fatalf("the server's bound: %d %s", big.status, big.body)
		}
		if runs := flowRuns(t, h, generic); len(runs) != 0 {
			t.Fatalf("a refused batch started %d runs", len(runs))
		}
		for _, f := range []string{flow, generic} {
			rejections := h.expect(h.do("GET", "/api/v1/webhook-rejections?flow="+f, nil), 200)["rejections"].([]any)
			if len(rejections) != 1 || rejections[0].(map[string]any)["code"] != nodes.CodeTooManyEvents || rejections[0].(map[string]any)["status"].(float64) != 413 {
				t.Fatalf("flow %s rejections %v", f, rejections)
			}
		}
	})
}

// TestBatchAnswer: a trigger with no acknowledgement of its own gets Ferry's 202 naming each event's run, with
// the duplicates marked; a batch of duplicates only is answered 200.
func TestBatchAnswer(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		flow := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", `{"schema":1,"name":"batches","nodes":[
		  {"id":"b","type":"test.batch"}],"edges":[]}`), 201)["id"].(string)
		first := h.expect(h.do("POST", "/hooks/"+flow, `[{"id":"e1","key":"k1"},{"id":"e2","key":"k2"}]`, "Authorization", ""), http.StatusAccepted)
		runs := first["runs"].([]any)
		if len(runs) != 2 || first["runId"] != runs[0].(map[string]any)["runId"] || first["duplicate"] != nil {
			t.Fatalf("answer %v", first)
		}
		second := h.expect(h.do("POST", "/hooks/"+flow, `[{"id":"e2","key":"k2"},{"id":"e3","key":"k3"},{"id":"e3","key":"k3"}]`, "Authorization", ""), http.StatusAccepted)
		views := second["runs"].([]any)
		dupOf := func(i int) (string, bool) {
			v := views[i].(map[string]any)
			d, _ := v["duplicate"].(bool)
			return v["runId"].(string), d
		}
		e2, d2 := dupOf(0)
		e3, d3 := dupOf(1)
		e3again, d3again := dupOf(2)
		if len(views) != 3 || e2 != runs[1].(map[string]any)["runId"] || !d2 || d3 || e3again != e3 || !d3again {
			t.Fatalf("answer %v", second)
		}
		all := h.expect(h.do("POST", "/hooks/"+flow, `[{"id":"e1","key":"k1"},{"id":"e3","key":"k3"}]`, "Authorization", ""), http.StatusOK)
		if all["duplicate"] != true || len(all["runs"].([]any)) != 2 {
			t.Fatalf("answer %v", all)
		}
		keys := []string{}
		for k := range flowRuns(t, h, flow) {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"k1", "k2", "k3"}) {
			t.Fatalf("runs by business key %v", keys)
		}
	})
}

// TestBatchToTheTestWebhook: the test webhook runs the first event of a batch, with its steps, and says how
// many events the request carried; it starts no run for the others.
func TestBatchToTheTestWebhook(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		flow := hubspotFlow(t, h)
		res := deliverHubSpot(h, "/hooks/"+flow+"/test", hubspotEvent(4001, "contact.creation", 801), hubspotEvent(4002, "contact.creation", 802))
		// deliverHubSpot drops the API token: the test webhook needs the flow's test secret.
		if res.status != http.StatusNotFound {
			t.Fatalf("test webhook without a sign-in answered %d", res.status)
		}
		secret := h.expect(h.do("GET", "/api/v1/flows/"+flow+"/test-hook", nil), 200)["url"].(string)
		res = deliverHubSpot(h, secret, hubspotEvent(4001, "contact.creation", 801), hubspotEvent(4002, "contact.creation", 802))
		d := h.expect(res, http.StatusOK)
		if res.header.Get(api.EventsHeader) != "2" || d["businessKey"] != "801" || d["mode"] != "test" || len(d["steps"].([]any)) != 2 {
			t.Fatalf("test run %v (%s events)", d, res.header.Get(api.EventsHeader))
		}
		page, err := h.app.Store.ListRuns(context.Background(), store.RunFilter{FlowID: flow})
		if err != nil || len(page.Runs) != 1 {
			t.Fatalf("%d runs, want the test run of the first event: %v", len(page.Runs), err)
		}
	})
}
