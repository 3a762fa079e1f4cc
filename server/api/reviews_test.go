package api_test

import (
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/internal/testnodes"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store"
)

// TestReviews parks a live run for a person's decision, lists it, refuses decisions from viewers and malformed
// ones, takes the operator's, resumes the run with it, and refuses a second decision.
func TestReviews(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		doc := `{"schema":1,"name":"Ask the team","nodes":[{"id":"in","type":"core.manual"},{"id":"ask","type":"test.ask","params":{"timeout":"2h"}},{"id":"after","type":"test.pass"}],
		 "edges":[{"source":"in","target":"ask"},{"source":"ask","target":"after"}]}`
		flowID := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
		runID := h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/run", `{"payload":{"email":"ana@example.com"}}`), 202)["id"].(string)
		h.eventually("the run to park", func() bool { return h.runStatus(runID) == store.RunWaiting })

		if m := h.do("GET", "/metrics", nil); m.status != 200 || !strings.Contains(string(m.body), "ferry_reviews_open 1") {
			t.Fatalf("metrics: %d, ferry_reviews_open missing or not 1", m.status)
		}
		list := h.expect(h.do("GET", "/api/v1/reviews", nil), 200)
		items := list["items"].([]any)
		if len(items) != 1 || list["open"].(float64) != 1 {
			t.Fatalf("open reviews: %v", list)
		}
		rv := items[0].(map[string]any)
		if rv["runId"] != runID || rv["flowName"] != "Ask the team" || rv["kind"] != testnodes.AskKind || rv["status"] != "open" ||
			rv["nodeId"] != "ask" || rv["title"] != "Pick a or b" || rv["timeoutAt"] == nil {
			t.Fatalf("review: %v", rv)
		}
		id := rv["id"].(string)
		// Personal data is masked as in runs, unless revealed.
		if req := rv["request"].(map[string]any); req["input"].(map[string]any)["email"] == "ana@example.com" {
			t.Fatalf("the review shows personal data unmasked: %v", req)
		}
		one := h.expect(h.do("GET", "/api/v1/reviews/"+id+"?reveal=true", nil), 200)
		if one["request"].(map[string]any)["input"].(map[string]any)["email"] != "ana@example.com" {
			t.Fatalf("revealed review: %v", one)
		}
		if got := h.expect(h.do("GET", "/api/v1/reviews?runId="+runID+"&status=all", nil), 200)["items"].([]any); len(got) != 1 {
			t.Fatalf("by run: %v", got)
		}
		h.expect(h.do("GET", "/api/v1/reviews?status=later", nil), 400)
		h.expect(h.do("GET", "/api/v1/reviews/nope", nil), 404)

		viewer := h.userToken("viewer@example.com", auth.RoleViewer)
		h.expect(h.do("GET", "/api/v1/reviews", nil, "Authorization", "Bearer "+viewer), 200)
		h.expect(h.do("POST", "/api/v1/reviews/"+id+"/decision", `{"pick":"a"}`, "Authorization", "Bearer "+viewer), 403)

		bad := h.expect(h.do("POST", "/api/v1/reviews/"+id+"/decision", `{"pick":"c"}`), 400)
		if bad["error"].(map[string]any)["code"] != "review_decision_invalid" {
			t.Fatalf("invalid decision: %v", bad)
		}
		h.expect(h.do("POST", "/api/v1/reviews/"+id+"/decision", `[1]`), 400)
		if h.runStatus(runID) != store.RunWaiting {
			t.Fatal("a refused decision moved the run")
		}

		operator := h.userToken("ops@example.com", auth.RoleOperator)
		decided := h.expect(h.do("POST", "/api/v1/reviews/"+id+"/decision", `{"pick":"b"}`, "Authorization", "Bearer "+operator), 200)
		if decided["status"] != "decided" || decided["decidedBy"] != "ops@example.com" || decided["decision"].(map[string]any)["pick"] != "b" {
			t.Fatalf("decided: %v", decided)
		}
		h.eventually("the run to resume and finish", func() bool { return h.runStatus(runID) == store.RunSucceeded })
		run := h.expect(h.do("GET", "/api/v1/runs/"+runID, nil), 200)
		var out map[string]any
		for _, s := range run["steps"].([]any) {
			s := s.(map[string]any)
			if s["nodeId"] == "ask" && s["status"] == "succeeded" {
				out = s["output"].(map[string]any)
			}
		}
		if out["pick"] != "b" || out["by"] != "ops@example.com" {
			t.Fatalf("the step did not resume with the decision: %v", run["steps"])
		}
		closed := h.expect(h.do("POST", "/api/v1/reviews/"+id+"/decision", `{"pick":"a"}`), 409)
		if closed["error"].(map[string]any)["code"] != "review_closed" {
			t.Fatalf("second decision: %v", closed)
		}
		if open := h.expect(h.do("GET", "/api/v1/reviews", nil), 200); len(open["items"].([]any)) != 0 || open["open"].(float64) != 0 {
			t.Fatalf("open reviews after the decision: %v", open)
		}
	})
}
