package api_test

import (
	"testing"

	"github.com/ferry-hq/ferry/server/store"
)

// listedFlows returns GET /api/v1/flows by flow id.
func listedFlows(t *testing.T, h *harness, query string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, f := range h.expect(h.do("GET", "/api/v1/flows"+query, nil), 200)["flows"].([]any) {
		flow := f.(map[string]any)
		out[flow["id"].(string)] = flow
	}
	return out
}

// TestFlowListActivity: the flows list carries each flow's newest live run and its 24-hour counts; test runs and
// other flows' runs do not count.
func TestFlowListActivity(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		live := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", asyncFlow), 201)["id"].(string)
		idle := h.expect(h.do("POST", "/api/v1/flows", asyncFlow), 201)["id"].(string)
		var last string
		for _, body := range []string{`{"id":"a1","order":"A-1"}`, `{"id":"a2","order":"A-2"}`} {
			last = h.expect(h.do("POST", "/hooks/"+live, body), 202)["runId"].(string)
			run := last
			h.eventually("run "+run, func() bool { return h.runStatus(run) == store.RunSucceeded })
		}
		h.expect(h.do("POST", "/api/v1/flows/"+live+"/test", `{"payload":{"id":"t1","order":"T-1"}}`), 200)
		h.expect(h.do("POST", "/api/v1/flows/"+idle+"/test", `{"payload":{"id":"t2","order":"T-2"}}`), 200)

		flows := listedFlows(t, h, "")
		act := flows[live]["activity"].(map[string]any)
		if act["lastRunId"] != last || act["lastStatus"] != "succeeded" || act["lastRunAt"] == nil ||
			act["runs24h"].(float64) != 2 || act["failed24h"].(float64) != 0 {
			t.Errorf("activity of the live flow: %v, want last run %s succeeded, 2 runs, 0 failed", act, last)
		}
		idleAct := flows[idle]["activity"].(map[string]any)
		if idleAct["lastRunId"] != nil || idleAct["runs24h"].(float64) != 0 || idleAct["failed24h"].(float64) != 0 {
			t.Errorf("a flow with only test runs shows activity: %v", idleAct)
		}
		if flows[live]["flow"] != nil {
			t.Error("the list carries flow documents")
		}

		drafts := listedFlows(t, h, "?status=draft")
		if _, listed := drafts[live]; listed || drafts[idle] == nil {
			t.Errorf("status=draft lists %v", drafts)
		}
	})
}

// TestDuplicateFlow: a duplicate is a new draft with the source's draft under "<name> (copy)", audited as a
// create, and the source is untouched.
func TestDuplicateFlow(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		src := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", asyncFlow), 201)
		id := src["id"].(string)
		changed := `{"schema":1,"name":"async","nodes":[
 {"id":"hook","type":"core.webhook","params":{"businessKey":"trigger.body.order"}},
 {"id":"map","type":"core.map","params":{"fields":[{"target":"order_no","expression":"trigger.body.order"}]}}],
 "edges":[{"source":"hook","target":"map"}]}`
		h.expect(h.do("PUT", "/api/v1/flows/"+id, changed), 200)

		dup := h.expect(h.do("POST", "/api/v1/flows/"+id+"/duplicate", nil), 201)
		dupID := dup["id"].(string)
		if dupID == id || dup["name"] != "async (copy)" || dup["status"] != "draft" || dup["publishedVersion"] != nil ||
			dup["revision"].(float64) != 1 {
			t.Fatalf("duplicate: %v", dup)
		}
		doc := dup["flow"].(map[string]any)
		if doc["name"] != "async (copy)" {
			t.Errorf("the duplicate's document is named %v", doc["name"])
		}
		if got := string(mustJSON(t, doc["nodes"])); got != string(mustJSON(t, h.expect(h.do("GET", "/api/v1/flows/"+id, nil), 200)["flow"].(map[string]any)["nodes"])) {
			t.Errorf("the duplicate's nodes differ from the source draft: %s", got)
		}
		if dup["webhookUrl"] != "/hooks/"+dupID {
			t.Errorf("duplicate webhook %v", dup["webhookUrl"])
		}

		again := h.expect(h.do("GET", "/api/v1/flows/"+id, nil), 200)
		if again["name"] != "async" || again["status"] != "published" || again["revision"].(float64) != 2 {
			t.Errorf("the source changed: %v", again)
		}
		h.expect(h.do("POST", "/hooks/"+dupID, `{"id":"d1","order":"D-1"}`), 404) // a draft has no live webhook

		events := h.expect(h.do("GET", "/api/v1/audit?action=flow.create&target="+dupID, nil), 200)["events"].([]any)
		if len(events) != 1 {
			t.Fatalf("audit of the duplicate: %v", events)
		}
		detail := events[0].(map[string]any)["detail"].(map[string]any)
		if detail["duplicateOf"] != id || detail["name"] != "async (copy)" {
			t.Errorf("audit detail: %v", detail)
		}

		missing := h.do("POST", "/api/v1/flows/no-such-flow/duplicate", nil)
		if h.expect(missing, 404)["error"].(map[string]any)["code"] != "not_found" {
			t.Errorf("duplicate of a missing flow: %s", missing.body)
		}
	})
}
