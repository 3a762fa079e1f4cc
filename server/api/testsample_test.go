package api_test

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestLiveTriggerPayloadReplaysAsTestSample checks what the editor's test dialog relies on: the trigger payload a
// live run stored, sent back to the test endpoint with the run's trigger node, reaches the flow exactly as the
// live run saw it. A webhook's stored payload ({body, headers, query, method}) is used as it is, not wrapped as a
// bare body again, and the trigger node decides which trigger starts the test even when it is not the first.
func TestLiveTriggerPayloadReplaysAsTestSample(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		doc := `{"schema":1,"name":"samples","nodes":[
		 {"id":"hand","type":"core.manual"},
		 {"id":"hook","type":"core.webhook","params":{"method":"POST","businessKey":"trigger.body.order"}},
		 {"id":"shape","type":"core.map","params":{"fields":[{"target":"order","expression":"trigger.body.order"}]}}],
		 "edges":[{"source":"hand","target":"shape"},{"source":"hook","target":"shape"}]}`
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
		res := h.do("POST", "/hooks/"+id+"?src=shop", `{"order":"A-1001","amount":"18.00","phone":"13800138000"}`, "X-Shop-Domain", "demo.example.com")
		runID := h.expect(res, 202)["runId"].(string)
		h.eventually("the live run to finish", func() bool { return h.runStatus(runID) == "succeeded" })

		live := h.expect(h.do("GET", "/api/v1/runs/"+runID+"?reveal=true", nil), 200)
		stored := live["trigger"].(map[string]any)
		for _, k := range []string{"body", "headers", "query", "method"} {
			if _, ok := stored[k]; !ok {
				t.Fatalf("stored webhook payload lacks %q: %v", k, stored)
			}
		}
		if live["triggerNode"] != "hook" {
			t.Fatalf("live run trigger node %v", live["triggerNode"])
		}

		req, _ := json.Marshal(map[string]any{"payload": stored, "trigger": live["triggerNode"]})
		test := h.expect(h.do("POST", "/api/v1/flows/"+id+"/test?reveal=true", req), 200)
		steps := test["steps"].([]any)
		first := steps[0].(map[string]any)
		if first["nodeId"] != "hook" {
			t.Fatalf("test started at %v, want the live run's trigger", first["nodeId"])
		}
		if !reflect.DeepEqual(first["output"], stored) {
			t.Errorf("test run saw %v\nlive run saw %v", first["output"], stored)
		}
		if !reflect.DeepEqual(test["trigger"], stored) {
			t.Errorf("test run stored trigger %v, want %v", test["trigger"], stored)
		}
		shaped := steps[1].(map[string]any)["output"].(map[string]any)
		if shaped["order"] != "A-1001" {
			t.Errorf("map step of the test run: %v", shaped)
		}

		// A bare body typed by hand is still wrapped into the webhook shape.
		bare := h.expect(h.do("POST", "/api/v1/flows/"+id+"/test", `{"payload":{"order":"A-2"},"trigger":"hook"}`), 200)
		got := bare["steps"].([]any)[0].(map[string]any)["output"].(map[string]any)
		if got["body"].(map[string]any)["order"] != "A-2" || got["method"] != "POST" {
			t.Errorf("bare sample: %v", got)
		}
	})
}
