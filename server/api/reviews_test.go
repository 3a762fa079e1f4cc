package api_test

import (
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/internal/testnodes"
	"github.com/ferry-hq/ferry/nodes"
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

// TestApprovals parks a run on core.approval assigned to editors and one listed person: it is listed with kind
// approval and for the people who may decide it (assignee=me); an operator, whom it is not assigned to, is
// refused with approval_not_assignee even though operators decide other reviews; the listed person, a viewer,
// rejects it with a comment; the run follows rejected, and the step's output and the audit log say who and when.
func TestApprovals(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		doc := `{"schema":1,"name":"Refunds","nodes":[{"id":"in","type":"core.manual"},
		 {"id":"ask","type":"core.approval","params":{"title":"Refund {{ trigger.amount }}","details":"Order **{{ trigger.order }}**","role":"editor","users":"fin@example.com"}},
		 {"id":"yes","type":"test.pass"},{"id":"no","type":"test.pass"}],
		 "edges":[{"source":"in","target":"ask"},{"source":"ask","sourcePort":"approved","target":"yes"},{"source":"ask","sourcePort":"rejected","target":"no"}]}`
		flowID := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
		runID := h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/run", `{"payload":{"amount":"900.00","order":"A-1"}}`), 202)["id"].(string)
		h.eventually("the run to park", func() bool { return h.runStatus(runID) == store.RunWaiting })

		items := h.expect(h.do("GET", "/api/v1/reviews?kind=approval", nil), 200)["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("approvals: %v", items)
		}
		rv := items[0].(map[string]any)
		req := rv["request"].(map[string]any)
		if rv["kind"] != "approval" || rv["title"] != "Refund 900.00" || req["details"] != "Order **A-1**" ||
			req["assignee"].(map[string]any)["role"] != "editor" {
			t.Fatalf("approval: %v", rv)
		}
		id := rv["id"].(string)
		if got := h.expect(h.do("GET", "/api/v1/reviews?kind=crm.conflict", nil), 200)["items"].([]any); len(got) != 0 {
			t.Fatalf("other kinds: %v", got)
		}
		h.expect(h.do("GET", "/api/v1/reviews?assignee=someone", nil), 400)

		operator := h.userToken("ops@example.com", auth.RoleOperator)
		fin := h.userToken("fin@example.com", auth.RoleViewer)
		other := h.userToken("other@example.com", auth.RoleViewer)
		if got := h.expect(h.do("GET", "/api/v1/reviews?assignee=me", nil, "Authorization", "Bearer "+operator), 200)["items"].([]any); len(got) != 0 {
			t.Fatalf("an operator's approvals: %v", got)
		}
		if got := h.expect(h.do("GET", "/api/v1/reviews?assignee=me", nil, "Authorization", "Bearer "+fin), 200)["items"].([]any); len(got) != 1 {
			t.Fatalf("the listed person's approvals: %v", got)
		}
		refused := h.expect(h.do("POST", "/api/v1/reviews/"+id+"/decision", `{"approve":true}`, "Authorization", "Bearer "+operator), 403)
		if refused["error"].(map[string]any)["code"] != "approval_not_assignee" {
			t.Fatalf("operator: %v", refused)
		}
		h.expect(h.do("POST", "/api/v1/reviews/"+id+"/decision", `{"approve":true}`, "Authorization", "Bearer "+other), 403)
		bad := h.expect(h.do("POST", "/api/v1/reviews/"+id+"/decision", `{"approve":false}`, "Authorization", "Bearer "+fin), 400)
		if bad["error"].(map[string]any)["code"] != "review_decision_invalid" || h.runStatus(runID) != store.RunWaiting {
			t.Fatalf("rejection without a comment: %v", bad)
		}

		decided := h.expect(h.do("POST", "/api/v1/reviews/"+id+"/decision", `{"approve":false,"comment":"over budget"}`, "Authorization", "Bearer "+fin), 200)
		if decided["status"] != "decided" || decided["decidedBy"] != "fin@example.com" || decided["decidedAt"] == nil {
			t.Fatalf("decided: %v", decided)
		}
		h.expect(h.do("POST", "/api/v1/reviews/"+id+"/decision", `{"approve":true}`), 409)
		h.eventually("the run to follow rejected", func() bool { return h.runStatus(runID) == store.RunSucceeded })
		run := h.expect(h.do("GET", "/api/v1/runs/"+runID+"?reveal=true", nil), 200)
		var ap map[string]any
		ran := map[string]bool{}
		for _, s := range run["steps"].([]any) {
			s := s.(map[string]any)
			ran[s["nodeId"].(string)] = true
			if s["nodeId"] == "ask" && s["status"] == "succeeded" {
				ap = s["output"].(map[string]any)["approval"].(map[string]any)
			}
		}
		if !ran["no"] || ran["yes"] || ap["decision"] != "rejected" || ap["comment"] != "over budget" ||
			ap["by"] != "fin@example.com" || ap["at"] != decided["decidedAt"].(string)[:19]+"Z" {
			t.Fatalf("run: steps %v, approval %v (decided at %v)", ran, ap, decided["decidedAt"])
		}

		events := h.expect(h.do("GET", "/api/v1/audit?action=review.decide", nil), 200)["events"].([]any)
		if len(events) != 1 {
			t.Fatalf("audit: %v", events)
		}
		ev := events[0].(map[string]any)
		detail := ev["detail"].(map[string]any)
		if ev["actorEmail"] != "fin@example.com" || ev["targetId"] != runID || detail["review"] != id || detail["decision"] != "rejected" ||
			detail["comment"] != "over budget" || detail["decidedBy"] != "fin@example.com" || detail["decidedAt"] == nil {
			t.Fatalf("audit event: %v", ev)
		}
	})
}

// TestApprovalRolesAreAuthRoles: the roles an approval is assigned to are compared with the caller's role by
// name, so the names the node offers and the one nodes.Assignee lets through must be server/auth's.
func TestApprovalRolesAreAuthRoles(t *testing.T) {
	if nodes.AdminRole != string(auth.RoleAdmin) {
		t.Fatalf("nodes.AdminRole %q, auth.RoleAdmin %q", nodes.AdminRole, auth.RoleAdmin)
	}
	spec, ok := nodes.Lookup("core.approval", 1)
	if !ok {
		t.Fatal("core.approval is not registered")
	}
	known := map[string]bool{"none": true}
	for _, r := range auth.Roles {
		known[string(r)] = true
	}
	for _, f := range spec.Spec.Params {
		if f.Name != "role" {
			continue
		}
		for _, o := range f.Options {
			if !known[o.Value] {
				t.Errorf("core.approval offers role %v, which server/auth does not know", o.Value)
			}
		}
	}
}
