package api

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/server/store"
)

func init() {
	routeGroups = append(routeGroups, (*API).flowListRoutes)
	schemaGroups = append(schemaGroups, flowListSchemas)
}

// activityWindow is how far back the flows list counts runs and failures.
const activityWindow = 24 * time.Hour

func (a *API) flowListRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/api/v1/flows/:id/duplicate", Permission: PermFlowsWrite, Tag: "flows",
			Summary: "Create a new draft flow named \"<name> (copy)\" from a flow's draft", Response: "Flow", Status: 201,
			Handler: a.duplicateFlow},
	}
}

// flowListSchemas describes the flows list with each flow's run activity; it replaces the plain FlowList schema
// because GET /api/v1/flows answers with the activity too.
func flowListSchemas() map[string]any {
	activity := obj(map[string]any{"lastRunId": str, "lastStatus": map[string]any{"enum": []string{"queued", "running",
		"waiting", "succeeded", "failed", "cancelled"}}, "lastRunAt": when, "runs24h": integer, "failed24h": integer},
		"runs24h", "failed24h")
	item := map[string]any{"allOf": []any{ref("Flow"), obj(map[string]any{"activity": ref("FlowActivity")}, "activity")}}
	return map[string]any{
		"FlowActivity": activity,
		"FlowList":     obj(map[string]any{"flows": list(item)}, "flows"),
	}
}

// FlowActivityResponse is what the flows list shows about a flow's live runs: the newest one, and how many ran
// and failed in the last 24 hours, so a failing flow stands out without opening it.
type FlowActivityResponse struct {
	LastRunID  string     `json:"lastRunId,omitempty"`
	LastStatus string     `json:"lastStatus,omitempty"`
	LastRunAt  *time.Time `json:"lastRunAt,omitempty"`
	Runs24h    int64      `json:"runs24h"`
	Failed24h  int64      `json:"failed24h"`
}

// FlowListItem is one flow of GET /api/v1/flows: the flow without its document, with its run activity.
type FlowListItem struct {
	FlowResponse
	Activity FlowActivityResponse `json:"activity"`
}

// flowListItems joins flows with their activity, read for all of them at once.
func (a *API) flowListItems(c fiber.Ctx, list []store.Flow) ([]FlowListItem, error) {
	ids := make([]string, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	activity, err := a.Store.FlowActivity(c.Context(), ids, time.Now().Add(-activityWindow))
	if err != nil {
		return nil, err
	}
	out := make([]FlowListItem, len(list))
	for i := range list {
		out[i] = FlowListItem{FlowResponse: flowResponse(&list[i], false)}
		if act, found := activity[list[i].ID]; found {
			at := act.LastRunAt
			out[i].Activity = FlowActivityResponse{LastRunID: act.LastRunID, LastStatus: act.LastStatus, LastRunAt: &at,
				Runs24h: act.Runs, Failed24h: act.Failed}
		}
	}
	return out, nil
}

// duplicateFlow copies a flow's draft into a new draft flow, so a user can start a variant without touching the
// original or its published versions.
func (a *API) duplicateFlow(c fiber.Ctx) error {
	src, err := a.Store.GetFlow(c.Context(), c.Params("id"))
	if err != nil {
		return fromStore(err, "flow")
	}
	f, err := flows.Parse(src.Draft)
	if err != nil {
		return errInvalidFlow(err)
	}
	f.Name = src.Name + " (copy)"
	doc, err := f.Marshal()
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	row := &store.Flow{ID: uuid.NewString(), Name: f.Name, Description: src.Description, Draft: doc, Revision: 1,
		Status: store.FlowDraft, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateFlow(c.Context(), row); err != nil {
		return fromStore(err, "flow")
	}
	a.audit(c, "flow.create", "flow", row.ID, map[string]any{"name": row.Name, "duplicateOf": src.ID})
	return ok(c, http.StatusCreated, flowResponse(row, true))
}
