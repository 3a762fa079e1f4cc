package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/crm"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// Reviews are the waits of runs parked for a person (a CRM record edited on both sides, a match with two
// candidates): operators list them, look at what is asked, and decide; the run resumes with the decision.

// Review error codes.
const (
	// CodeReviewClosed refuses a decision on a review that was decided, timed out, or whose run was cancelled.
	CodeReviewClosed = "review_closed"
	// CodeReviewDecisionInvalid refuses a decision that does not answer what the review asks.
	CodeReviewDecisionInvalid = "review_decision_invalid"
	// CodeApprovalNotAssignee refuses a decision from someone the review is not assigned to (an approval names
	// a role and people who may decide; admins always may).
	CodeApprovalNotAssignee = "approval_not_assignee"
)

// ReviewResponse is a review as the API shows it.
type ReviewResponse struct {
	ID        string          `json:"id"`
	RunID     string          `json:"runId"`
	FlowID    string          `json:"flowId"`
	FlowName  string          `json:"flowName,omitempty"`
	NodeID    string          `json:"nodeId"`
	NodeType  string          `json:"nodeType"`
	Kind      string          `json:"kind"`
	Title     string          `json:"title"`
	Status    string          `json:"status"`
	CreatedAt time.Time       `json:"createdAt"`
	TimeoutAt time.Time       `json:"timeoutAt"`
	DecidedAt *time.Time      `json:"decidedAt,omitempty"`
	DecidedBy string          `json:"decidedBy,omitempty"`
	Request   json.RawMessage `json:"request,omitempty"`
	Decision  json.RawMessage `json:"decision,omitempty"`
}

var reviewStatuses = map[string]bool{store.WaitOpen: true, store.WaitDecided: true, store.WaitTimedOut: true, store.WaitCancelled: true}

// reviewView is a wait as this caller may see it: personal data masked unless revealed (as in runs).
func (a *API) reviewView(w *store.Wait, flowName string, reveal bool) ReviewResponse {
	out := ReviewResponse{ID: w.ID, RunID: w.RunID, FlowID: w.FlowID, FlowName: flowName, NodeID: w.NodeID,
		NodeType: w.NodeType, Kind: w.Kind, Title: w.Title, Status: w.Status, CreatedAt: w.CreatedAt,
		TimeoutAt: w.TimeoutAt, DecidedBy: w.DecidedBy, Request: w.Request, Decision: w.Decision}
	if !w.DecidedAt.IsZero() {
		t := w.DecidedAt
		out.DecidedAt = &t
	}
	if !reveal {
		out.Request, out.Decision = a.maskReview(w.Kind, out.Request, out.Decision)
		out.Title = a.maskText(out.Title)
	}
	return out
}

// maskReview masks personal data in what a review asks and what was decided. A CRM review holds values under
// their field's name ({"name": "phone", "source": …, "target": …}), so they are masked by that name; a match's
// values sit under their fields' names already. Their decisions name fields and sides, or a candidate's id, and
// hold no personal data. Other kinds are masked as run data is.
func (a *API) maskReview(kind string, request, decision json.RawMessage) (json.RawMessage, json.RawMessage) {
	var byName func(doc map[string]any)
	switch kind {
	case connector.ReviewKind:
		byName = func(doc map[string]any) {
			fields, _ := doc["fields"].([]any)
			for _, f := range fields {
				if f, ok := f.(map[string]any); ok {
					name, _ := f["name"].(string)
					f["source"], f["target"] = a.maskNamed(name, f["source"]), a.maskNamed(name, f["target"])
				}
			}
			if key, ok := doc["key"].(map[string]any); ok {
				name, _ := key["name"].(string)
				key["value"] = a.maskNamed(name, key["value"])
			}
		}
	case crm.ReviewKind:
		// The customer's keys and the candidates' fields sit under their fields' names: masked as run data;
		// the decision is a candidate's id.
		return a.maskRaw(request), decision
	default:
		return a.maskRaw(request), a.maskRaw(decision)
	}
	if a.Masker == nil {
		return request, decision
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(request))
	dec.UseNumber() // numbers come back as they were
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return a.maskRaw(request), decision
	}
	byName(doc)
	masked, err := json.Marshal(doc)
	if err != nil {
		return a.maskRaw(request), decision
	}
	// Candidates' and records' fields sit under their own names: masked as run data.
	return a.maskRaw(masked), decision
}

// maskNamed masks v as the value of a field called name.
func (a *API) maskNamed(name string, v any) any {
	raw, err := json.Marshal(map[string]any{name: v})
	if err != nil {
		return v
	}
	var out map[string]any
	if json.Unmarshal(a.maskRaw(raw), &out) != nil {
		return v
	}
	return out[name]
}

// maskText masks personal data in a line of text (a review's title names the customer).
func (a *API) maskText(s string) string {
	if a.Masker == nil || s == "" {
		return s
	}
	raw, _ := json.Marshal(s)
	var out string
	if json.Unmarshal(a.maskRaw(raw), &out) != nil {
		return s
	}
	return out
}

// flowNames looks up the names of the flows of waits, once each.
func (a *API) flowNames(c fiber.Ctx, waits []store.Wait) map[string]string {
	names := map[string]string{}
	for _, w := range waits {
		if _, done := names[w.FlowID]; done {
			continue
		}
		names[w.FlowID] = ""
		if f, err := a.Store.GetFlow(c.Context(), w.FlowID); err == nil {
			names[w.FlowID] = f.Name
		}
	}
	return names
}

func (a *API) listReviews(c fiber.Ctx) error {
	f := store.WaitFilter{Status: c.Query("status", store.WaitOpen), FlowID: c.Query("flowId"), RunID: c.Query("runId"),
		Kind: c.Query("kind"), After: c.Query("cursor")}
	mine := false
	switch c.Query("assignee") {
	case "":
	case "me":
		mine = true
	default:
		return errBadRequest(CodeBadRequest, "assignee may only be me: the reviews the caller may decide")
	}
	if f.Status == "all" {
		f.Status = ""
	} else if !reviewStatuses[f.Status] {
		return errBadRequest(CodeBadRequest, "unknown review status %q; use open, decided, timed_out, cancelled or all", f.Status)
	}
	f.Limit = 50
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return errBadRequest(CodeBadRequest, "limit must be a number from 1 to 200")
		}
		f.Limit = n
	}
	reveal, err := a.revealing(c)
	if err != nil {
		return err
	}
	waits, err := a.Store.ListWaits(c.Context(), f)
	if err != nil {
		return err
	}
	next := ""
	if len(waits) == f.Limit {
		next = waits[len(waits)-1].ID
	}
	if mine {
		// Filtered after the page is read, so a page may hold fewer than limit items; nextCursor still pages on.
		p := principal(c)
		kept := waits[:0]
		for _, w := range waits {
			if mayDecide(p, &w) {
				kept = append(kept, w)
			}
		}
		waits = kept
	}
	names := a.flowNames(c, waits)
	items := make([]ReviewResponse, len(waits))
	for i := range waits {
		items[i] = a.reviewView(&waits[i], names[waits[i].FlowID], reveal)
	}
	open, err := a.Store.CountWaits(c.Context(), store.WaitOpen)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, fiber.Map{"items": items, "nextCursor": next, "open": open})
}

func (a *API) getReview(c fiber.Ctx) error {
	w, err := a.Store.GetWait(c.Context(), c.Params("id"))
	if err != nil {
		return fromStore(err, "review")
	}
	reveal, err := a.revealing(c)
	if err != nil {
		return err
	}
	if reveal {
		a.audit(c, "run.reveal", "run", w.RunID, map[string]any{"review": w.ID})
	}
	return ok(c, http.StatusOK, a.reviewView(w, a.flowNames(c, []store.Wait{*w})[w.FlowID], reveal))
}

func (a *API) decideReview(c fiber.Ctx) error {
	body := c.Body()
	var decision map[string]any
	if err := json.Unmarshal(body, &decision); err != nil || decision == nil {
		return errBadRequest(CodeInvalidJSON, "the decision must be a JSON object")
	}
	var by runner.Decider
	p := principal(c)
	if p != nil {
		by = runner.Decider{Name: p.Email, Email: p.Email, Role: string(p.Role)}
		if by.Name == "" && p.TokenID != "" {
			by.Name = "token " + p.TokenID
		}
	}
	// The route admits every reader, so that the people an approval names may decide it whatever their role;
	// a review that names nobody is decided by those who operate runs, as before.
	if w, err := a.Store.GetWait(c.Context(), c.Params("id")); err == nil && nodes.AssigneeOf(w.Request) == nil &&
		(p == nil || !auth.Allowed(p.Role, string(PermRunsOperate))) {
		role := ""
		if p != nil {
			role = string(p.Role)
		}
		return &Error{Status: http.StatusForbidden, Code: CodeForbidden,
			Message: "the " + role + " role may not decide this review (needs " + string(PermRunsOperate) + ")"}
	}
	w, err := a.Runner.Decide(c.Context(), c.Params("id"), json.RawMessage(body), by)
	switch {
	case errors.Is(err, runner.ErrNotAssignee):
		return &Error{Status: http.StatusForbidden, Code: CodeApprovalNotAssignee,
			Message: strings.TrimPrefix(err.Error(), "runner: ")}
	case errors.Is(err, runner.ErrWaitClosed):
		return &Error{Status: http.StatusConflict, Code: CodeReviewClosed,
			Message: "this review is no longer open: someone else decided it, it timed out, or its run was cancelled"}
	case errors.Is(err, runner.ErrDecisionInvalid):
		return &Error{Status: http.StatusBadRequest, Code: CodeReviewDecisionInvalid, Message: err.Error()}
	case err != nil:
		return fromStore(err, "review")
	}
	a.audit(c, "review.decide", "run", w.RunID, reviewAudit(w))
	return ok(c, http.StatusOK, a.reviewView(w, a.flowNames(c, []store.Wait{*w})[w.FlowID], false))
}

// mayDecide reports whether the caller may decide the wait: the people it is assigned to, or, when it names
// nobody, those who operate runs.
func mayDecide(p *auth.Principal, w *store.Wait) bool {
	if p == nil {
		return false
	}
	if as := nodes.AssigneeOf(w.Request); as != nil {
		return as.Allows(p.Email, string(p.Role))
	}
	return auth.Allowed(p.Role, string(PermRunsOperate))
}

// reviewAudit is what the audit log keeps of a decision: which review, what was decided, by whom and when (the
// entry names its actor too), and, for an approval, the verdict and its comment.
func reviewAudit(w *store.Wait) map[string]any {
	out := map[string]any{"review": w.ID, "kind": w.Kind, "node": w.NodeID, "decidedBy": w.DecidedBy, "decidedAt": w.DecidedAt}
	if w.Kind == core.ApprovalKind {
		var d core.ApprovalDecision
		if json.Unmarshal(w.Decision, &d) == nil && d.Approve != nil {
			out["decision"] = map[bool]string{true: "approved", false: "rejected"}[*d.Approve]
			out["comment"] = d.Comment
		}
	}
	return out
}
