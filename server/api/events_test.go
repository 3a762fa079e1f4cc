package api_test

import (
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store"
)

// TestEvents parks a live run on core.wait-event, refuses bad events and viewers, resumes the run with the
// operator's event once, answers a second delivery as a duplicate, and refuses to let a person decide the wait.
func TestEvents(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		doc := `{"schema":1,"name":"Wait for payment","nodes":[{"id":"in","type":"core.manual"},` +
			`{"id":"wait","type":"core.wait-event","params":{"event":"payment.paid","key":"{{ trigger.order }}","timeout":"2h"}},` +
			`{"id":"paid","type":"test.pass"},{"id":"late","type":"test.pass"}],` +
			`"edges":[{"source":"in","target":"wait"},{"source":"wait","sourcePort":"received","target":"paid"},{"source":"wait","sourcePort":"timeout","target":"late"}]}`
		flowID := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
		runID := h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/run", `{"payload":{"order":"A-1"}}`), 202)["id"].(string)
		h.eventually("the run to park", func() bool { return h.runStatus(runID) == store.RunWaiting })

		for body, field := range map[string]string{`{"key":"A-1"}`: "name", `{"name":"payment.paid"}`: "key"} {
			bad := h.expect(h.do("POST", "/api/v1/events", body), 400)["error"].(map[string]any)
			if bad["code"] != "event_invalid" || bad["details"].(map[string]any)["field"] != field {
				t.Fatalf("event without %s: %v", field, bad)
			}
		}
		big := `{"name":"payment.paid","key":"A-1","data":"` + strings.Repeat("x", 300<<10) + `"}`
		if bad := h.expect(h.do("POST", "/api/v1/events", big), 400)["error"].(map[string]any); bad["code"] != "event_invalid" {
			t.Fatalf("oversized event: %v", bad)
		}
		h.expect(h.do("POST", "/api/v1/events", `{"name":`), 400)
		viewer := h.userToken("viewer@example.com", auth.RoleViewer)
		h.expect(h.do("POST", "/api/v1/events", `{"name":"payment.paid","key":"A-1"}`, "Authorization", "Bearer "+viewer), 403)
		if h.runStatus(runID) != store.RunWaiting {
			t.Fatal("a refused event moved the run")
		}
		// A wait for an event is nobody's to decide: it is not among the reviews.
		if reviews := h.expect(h.do("GET", "/api/v1/reviews?runId="+runID+"&status=all", nil), 200); len(reviews["items"].([]any)) != 0 || reviews["open"].(float64) != 0 {
			t.Fatalf("reviews: %v", reviews)
		}

		operator := h.userToken("ops@example.com", auth.RoleOperator)
		event := `{"id":"cb-1","name":"payment.paid","key":"A-1","data":{"trade_no":"T9"}}`
		got := h.expect(h.do("POST", "/api/v1/events", event, "Authorization", "Bearer "+operator), 200)
		if got["id"] != "cb-1" || got["duplicate"] != false || len(got["resumed"].([]any)) != 1 || got["resumed"].([]any)[0] != runID {
			t.Fatalf("delivered: %v", got)
		}
		again := h.expect(h.do("POST", "/api/v1/events", event, "Authorization", "Bearer "+operator), 200)
		if again["duplicate"] != true || len(again["resumed"].([]any)) != 0 {
			t.Fatalf("delivered again: %v", again)
		}
		h.eventually("the run to resume and finish", func() bool { return h.runStatus(runID) == store.RunSucceeded })
		run := h.expect(h.do("GET", "/api/v1/runs/"+runID+"?reveal=true", nil), 200)
		var ports []string
		for _, s := range run["steps"].([]any) {
			s := s.(map[string]any)
			ports = append(ports, s["nodeId"].(string)+":"+s["status"].(string))
			if s["nodeId"] == "wait" && s["status"] == "succeeded" {
				if ev := s["output"].(map[string]any)["event"].(map[string]any); ev["data"].(map[string]any)["trade_no"] != "T9" {
					t.Fatalf("the step's event: %v", ev)
				}
			}
		}
		if strings.Join(ports, ",") != "in:succeeded,wait:waiting,wait:succeeded,paid:succeeded" {
			t.Fatalf("steps: %v", ports)
		}
		// Nobody waits any more: the event is kept, nothing resumed.
		none := h.expect(h.do("POST", "/api/v1/events", `{"name":"payment.paid","key":"A-1"}`), 200)
		if none["duplicate"] != false || len(none["resumed"].([]any)) != 0 || none["id"] == "" {
			t.Fatalf("event nobody waits for: %v", none)
		}
	})
}
