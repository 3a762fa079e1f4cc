package core

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

func TestApprovalParks(t *testing.T) {
	n := mustBuild(t, ApprovalType, `{"title": "Refund {{ prev.amount }} to {{ prev.email }}", "details": "Order **{{ prev.order }}**",
		"role": "editor", "users": "Finance@Example.com, {{ prev.manager }}", "timeout": "2h"}`)
	input := map[string]any{"amount": "120.00", "email": "ana@example.com", "order": "A-1", "manager": "boss@example.com"}
	res, err := run(t, n, input)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Park
	if p == nil || p.Kind != ApprovalKind || p.Title != "Refund 120.00 to ana@example.com" || p.Timeout != 2*time.Hour {
		t.Fatalf("park: %+v", p)
	}
	raw, _ := json.Marshal(p.Request)
	var req ApprovalRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	if req.Details != "Order **A-1**" || !req.CommentRequiredOnReject || req.Assignee.Role != "editor" ||
		strings.Join(req.Assignee.Users, ",") != "finance@example.com,boss@example.com" {
		t.Fatalf("request: %s", raw)
	}
	// The general mechanism reads who may decide from the stored request.
	a := nodes.AssigneeOf(raw)
	for _, tc := range []struct {
		email, role string
		want        bool
	}{
		{"someone@example.com", "editor", true},
		{"someone@example.com", "operator", false},
		{"FINANCE@example.com", "viewer", true},
		{"root@example.com", "admin", true},
		{"", "viewer", false},
	} {
		if got := a.Allows(tc.email, tc.role); got != tc.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", tc.email, tc.role, got, tc.want)
		}
	}
	if got := nodes.AssigneeOf(json.RawMessage(`{"input": 1}`)); got != nil {
		t.Fatalf("a request without an assignee names %+v", got)
	}
	if got := nodes.AssigneeOf(json.RawMessage(`{"assignee": "everyone"}`)); got == nil || got.Allows("x@example.com", "operator") {
		t.Fatalf("an unreadable assignee admits non-admins: %+v", got)
	}

	// Defaults: operators decide within 72 hours.
	res, err = run(t, mustBuild(t, ApprovalType, `{}`), map[string]any{})
	if err != nil || res.Park == nil || res.Park.Title != "Approval needed" || res.Park.Timeout != nodes.DefaultParkTimeout ||
		res.Park.Request.(ApprovalRequest).Assignee.Role != "operator" {
		t.Fatalf("defaults: %+v %v", res.Park, err)
	}
}

func TestApprovalResumes(t *testing.T) {
	setNow(t, time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC))
	n := mustBuild(t, ApprovalType, `{}`)
	req := json.RawMessage(`{"title":"t","assignee":{"role":"operator"},"commentRequiredOnReject":true}`)
	at := time.Date(2026, time.December, 1, 8, 30, 0, 0, time.UTC)
	input := map[string]any{"order": "A-1"}
	resume := func(r *nodes.Resume) nodes.Result {
		t.Helper()
		res, err := n.Execute(context.Background(), &nodes.Exec{Input: input, Env: env(input, input), Mode: nodes.ModeLive, Resume: r})
		if err != nil {
			t.Fatal(err)
		}
		if res.Park != nil {
			t.Fatal("a resumed approval parked again")
		}
		return res
	}
	res := resume(&nodes.Resume{WaitID: "w1", Request: req, Decision: json.RawMessage(`{"approve":true,"comment":"ok"}`), DecidedBy: "ops@example.com", DecidedAt: at})
	out := res.Output.(map[string]any)
	ap := out["approval"].(map[string]any)
	if res.Port != ApprovedPort || out["order"] != "A-1" || ap["decision"] != "approved" || ap["comment"] != "ok" ||
		ap["by"] != "ops@example.com" || ap["at"] != "2026-12-01T08:30:00Z" || ap["waitId"] != "w1" {
		t.Fatalf("approved: %s %v", res.Port, out)
	}
	res = resume(&nodes.Resume{WaitID: "w1", Request: req, Decision: json.RawMessage(`{"approve":false,"comment":"too much"}`), DecidedBy: "ops@example.com", DecidedAt: at})
	if ap := res.Output.(map[string]any)["approval"].(map[string]any); res.Port != RejectedPort || ap["decision"] != "rejected" || ap["comment"] != "too much" {
		t.Fatalf("rejected: %s %v", res.Port, res.Output)
	}
	res = resume(&nodes.Resume{WaitID: "w1", TimedOut: true})
	if ap := res.Output.(map[string]any)["approval"].(map[string]any); res.Port != TimeoutPort || ap["decision"] != "timeout" || ap["by"] != "" ||
		ap["at"] != "2026-12-01T09:00:00Z" {
		t.Fatalf("timed out: %s %v", res.Port, res.Output)
	}
	_, err := n.Execute(context.Background(), &nodes.Exec{Input: input, Mode: nodes.ModeLive,
		Resume: &nodes.Resume{WaitID: "w1", Request: req, Decision: json.RawMessage(`{"yes":1}`)}})
	wantFailure(t, err, nodes.Permanent, CodeApprovalDecisionInvalid)
}

func TestApprovalTestRunFollowsChosenPort(t *testing.T) {
	for _, port := range []string{ApprovedPort, RejectedPort, TimeoutPort} {
		n := mustBuild(t, ApprovalType, `{"testDecision": "`+port+`"}`)
		input := map[string]any{"order": "A-1"}
		res, err := n.Execute(context.Background(), &nodes.Exec{Input: input, Env: env(input, input), Mode: nodes.ModeTest})
		if err != nil || res.Park != nil || res.Port != port {
			t.Fatalf("%s: %+v %v", port, res, err)
		}
		ap := res.Output.(map[string]any)["approval"].(map[string]any)
		if ap["simulated"] != true || !strings.Contains(ap["note"].(string), "nobody was asked") {
			t.Fatalf("%s: %v", port, ap)
		}
	}
}

func TestApprovalDecisionCheck(t *testing.T) {
	strict := json.RawMessage(`{"title":"t","assignee":{"role":"operator"},"commentRequiredOnReject":true}`)
	lax := json.RawMessage(`{"title":"t","assignee":{"role":"operator"}}`)
	for _, tc := range []struct {
		req      json.RawMessage
		decision string
		ok       bool
	}{
		{strict, `{"approve": true}`, true},
		{strict, `{"approve": true, "comment": "fine"}`, true},
		{strict, `{"approve": false, "comment": "too much"}`, true},
		{strict, `{"approve": false}`, false},
		{strict, `{"approve": false, "comment": "  "}`, false},
		{lax, `{"approve": false}`, true},
		{strict, `{}`, false},
		{strict, `{"approve": "yes"}`, false},
		{strict, `{"approve": true, "extra": 1}`, false},
		{strict, `{"approve": true, "comment": "` + strings.Repeat("x", maxApprovalComment+1) + `"}`, false},
	} {
		err := nodes.CheckDecision(ApprovalKind, tc.req, json.RawMessage(tc.decision))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.decision, err, tc.ok)
		}
	}
}

func TestApprovalConfigFailures(t *testing.T) {
	for _, tc := range []struct{ params, field, code string }{
		{`{"users": "not-an-address"}`, "users", nodes.CodeParamInvalid},
		{`{"role": "none"}`, "users", nodes.CodeParamInvalid},
		{`{"role": "none", "users": " , "}`, "users", nodes.CodeParamInvalid},
		{`{"timeout": "0s"}`, "timeout", nodes.CodeParamInvalid},
		{`{"timeout": "2161h"}`, "timeout", nodes.CodeParamInvalid},
		{`{"role": "viewer"}`, "role", nodes.CodeParamInvalid},
	} {
		_, err := build(t, ApprovalType, tc.params, "")
		wantProblem(t, err, tc.field, tc.code)
	}
	// Only the listed people, named by the run's data: nobody valid fails the step.
	n := mustBuild(t, ApprovalType, `{"role": "none", "users": "{{ prev.manager }}"}`)
	_, err := run(t, n, map[string]any{"manager": ""})
	wantFailure(t, err, nodes.Permanent, CodeApprovalAssigneeInvalid)
	_, err = run(t, n, map[string]any{"manager": "nobody"})
	wantFailure(t, err, nodes.Permanent, CodeApprovalAssigneeInvalid)
	res, err := run(t, n, map[string]any{"manager": "boss@example.com"})
	if err != nil || res.Park.Request.(ApprovalRequest).Assignee.Role != "" {
		t.Fatalf("listed only: %+v %v", res.Park, err)
	}
}
