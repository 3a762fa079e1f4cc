package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/scheduler"
	"github.com/ferry-hq/ferry/server/store"
)

func init() {
	routeGroups = append(routeGroups, (*API).pollingRoutes)
	schemaGroups = append(schemaGroups, pollingSchemas)
}

func (a *API) pollingRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/flows/:id/polling", Permission: PermFlowsRead, Tag: "flows",
			Summary:  "The polling triggers of a flow: where each stopped (its cursor), its last poll, how many records it found, its error",
			Response: "PollList", Handler: a.listPolls},
		{Method: "POST", Path: "/api/v1/flows/:id/polling/:node/reset", Permission: PermFlowsPublish, Tag: "flows",
			Summary: "Start a polling trigger over from now: only changes from this moment on start runs", Response: "Poll", Handler: a.resetPoll},
		{Method: "POST", Path: "/api/v1/flows/:id/polling/:node/backfill", Permission: PermFlowsPublish, Tag: "flows",
			Summary: "Poll again every change since a date: records already run are skipped by their dedup keys",
			Request: "BackfillRequest", Response: "Poll", Handler: a.backfillPoll},
	}
}

func pollingSchemas() map[string]any {
	poll := obj(map[string]any{"nodeId": str, "cursor": map[string]any{"type": "object", "description": "time and id of the newest change seen; from and token of the walk in progress"},
		"nextPollAt": when, "lastPollAt": when, "lastCount": integer, "totalCount": integer, "failures": integer,
		"lastError": obj(map[string]any{"code": str, "message": str})}, "nodeId", "cursor")
	return map[string]any{
		"Poll":            poll,
		"PollList":        obj(map[string]any{"polls": list(poll)}, "polls"),
		"BackfillRequest": obj(map[string]any{"since": when}, "since"),
	}
}

// PollView is what the API shows of a polling trigger's cursor.
type PollView struct {
	NodeID     string           `json:"nodeId"`
	Cursor     nodes.PollCursor `json:"cursor"`
	NextPollAt time.Time        `json:"nextPollAt"`
	LastPollAt *time.Time       `json:"lastPollAt,omitempty"`
	LastCount  int              `json:"lastCount"`
	TotalCount int64            `json:"totalCount"`
	Failures   int              `json:"failures"`
	LastError  *StepErrorView   `json:"lastError,omitempty"`
}

// StepErrorView is a failure's code and message.
type StepErrorView struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func pollView(c *store.PollCursor) PollView {
	v := PollView{NodeID: c.NodeID, NextPollAt: c.NextPollAt, LastCount: c.LastCount, TotalCount: c.TotalCount, Failures: c.Failures}
	_ = json.Unmarshal(c.Cursor, &v.Cursor)
	if !c.LastPollAt.IsZero() {
		t := c.LastPollAt
		v.LastPollAt = &t
	}
	if c.LastErrorCode != "" {
		v.LastError = &StepErrorView{Code: c.LastErrorCode, Message: c.LastError}
	}
	return v
}

func (a *API) listPolls(c fiber.Ctx) error {
	if _, err := a.Store.GetFlow(c.Context(), c.Params("id")); err != nil {
		return fromStore(err, "flow")
	}
	list, err := a.Store.ListPollCursors(c.Context(), c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]PollView, len(list))
	for i := range list {
		out[i] = pollView(&list[i])
	}
	return ok(c, http.StatusOK, fiber.Map{"polls": out})
}

// Codes of the polling routes.
const (
	CodeNotPollingTrigger = "not_polling_trigger"
	CodeFlowNotPublished  = "flow_not_published"
)

// pollingNode checks that node is a polling trigger of the flow's published version.
func (a *API) pollingNode(c fiber.Ctx) (string, error) {
	flowID, node := c.Params("id"), c.Params("node")
	f, l, err := a.Runner.Published(c.Context(), flowID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", errNotFound("flow")
	case errors.Is(err, runner.ErrNotPublished) && f != nil:
		return "", &Error{Status: http.StatusConflict, Code: CodeFlowNotPublished, Message: "the flow is not published, so nothing polls"}
	case err != nil:
		return "", err
	}
	for _, t := range l.Compiled.Triggers {
		if t.Def.ID != node {
			continue
		}
		if _, ok := t.Impl.(nodes.PollingTrigger); ok {
			return flowID, nil
		}
	}
	return "", errBadRequest(CodeNotPollingTrigger, "%s is not a polling trigger of the published flow", node)
}

func (a *API) resetPoll(c fiber.Ctx) error {
	flowID, err := a.pollingNode(c)
	if err != nil {
		return err
	}
	cur, err := a.Store.ResetPollCursor(c.Context(), flowID, c.Params("node"), scheduler.StartCursor(time.Now()), dueAtOnce)
	if err != nil {
		return fromStore(err, "flow")
	}
	a.audit(c, "flow.poll_reset", "flow", flowID, map[string]any{"node": c.Params("node")})
	a.flowsChanged()
	return ok(c, http.StatusOK, pollView(cur))
}

func (a *API) backfillPoll(c fiber.Ctx) error {
	flowID, err := a.pollingNode(c)
	if err != nil {
		return err
	}
	var body struct {
		Since time.Time `json:"since"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	now := time.Now()
	if body.Since.IsZero() || body.Since.After(now) {
		return errBadRequest("since_invalid", "since must be a time in the past, in RFC 3339")
	}
	cursor, _ := json.Marshal(nodes.PollCursor{Time: body.Since.UTC()})
	cur, err := a.Store.ResetPollCursor(c.Context(), flowID, c.Params("node"), cursor, dueAtOnce)
	if err != nil {
		return fromStore(err, "flow")
	}
	a.audit(c, "flow.poll_backfill", "flow", flowID, map[string]any{"node": c.Params("node"), "since": body.Since.UTC()})
	a.flowsChanged()
	return ok(c, http.StatusOK, pollView(cur))
}

// dueAtOnce makes a reset cursor due at the poller's next look, whatever its clock says.
var dueAtOnce = time.Unix(0, 0).UTC()

func (a *API) flowsChanged() {
	if a.FlowsChanged != nil {
		a.FlowsChanged()
	}
}
