package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

func (a *API) changed() {
	a.Runner.ForgetFlows()
	if a.FlowsChanged != nil {
		a.FlowsChanged()
	}
}

func (a *API) listFlows(c fiber.Ctx) error {
	list, err := a.Store.ListFlows(c.Context(), store.FlowFilter{Search: c.Query("search"), Status: c.Query("status")})
	if err != nil {
		return err
	}
	out, err := a.flowListItems(c, list)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, fiber.Map{"flows": out})
}

func (a *API) createFlow(c fiber.Ctx) error {
	f, doc, err := parseDoc(c.Body())
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	row := &store.Flow{ID: uuid.NewString(), Name: f.Name, Description: f.Description, Draft: doc, Revision: 1,
		Status: store.FlowDraft, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateFlow(c.Context(), row); err != nil {
		return err
	}
	a.audit(c, "flow.create", "flow", row.ID, map[string]any{"name": row.Name})
	return ok(c, http.StatusCreated, flowResponse(row, true))
}

// importFlow creates a flow from an exported document, and publishes it when asked, in one transaction, so a
// bad template leaves nothing behind.
func (a *API) importFlow(c fiber.Ctx) error {
	f, doc, err := parseDoc(c.Body())
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	row := &store.Flow{ID: uuid.NewString(), Name: f.Name, Description: f.Description, Draft: doc, Revision: 1,
		Status: store.FlowDraft, CreatedAt: now, UpdatedAt: now}
	var version *store.FlowVersion
	if c.Query("publish") == "true" {
		version = &store.FlowVersion{FlowID: row.ID, Version: 1, Doc: doc, Message: "imported", CreatedAt: now}
		if p := principal(c); p != nil {
			version.CreatedBy = p.Email
		}
	}
	if err := a.Store.ImportFlow(c.Context(), row, version); err != nil {
		return err
	}
	if version != nil {
		a.changed()
	}
	a.audit(c, "flow.import", "flow", row.ID, map[string]any{"name": row.Name, "published": version != nil})
	saved, err := a.Store.GetFlow(c.Context(), row.ID)
	if err != nil {
		return fromStore(err, "flow")
	}
	return ok(c, http.StatusCreated, flowResponse(saved, true))
}

func (a *API) getFlow(c fiber.Ctx) error {
	f, err := a.Store.GetFlow(c.Context(), c.Params("id"))
	if err != nil {
		return fromStore(err, "flow")
	}
	return ok(c, http.StatusOK, flowResponse(f, true))
}

func (a *API) saveFlow(c fiber.Ctx) error {
	id := c.Params("id")
	expect := 0
	if m := strings.Trim(c.Get("If-Match"), `"W/`); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			return errBadRequest(CodeBadRequest, "If-Match must be the revision number you edited")
		}
		expect = n
	}
	f, doc, err := parseDoc(c.Body())
	if err != nil {
		return err
	}
	row, err := a.Store.GetFlow(c.Context(), id)
	if err != nil {
		return fromStore(err, "flow")
	}
	row.Name, row.Description, row.Draft = f.Name, f.Description, doc
	if err := a.Store.SaveDraft(c.Context(), row, expect); err != nil {
		return fromStore(err, "flow")
	}
	a.audit(c, "flow.save", "flow", id, map[string]any{"name": row.Name, "revision": row.Revision})
	saved, err := a.Store.GetFlow(c.Context(), id)
	if err != nil {
		return fromStore(err, "flow")
	}
	return ok(c, http.StatusOK, flowResponse(saved, true))
}

func (a *API) deleteFlow(c fiber.Ctx) error {
	if err := a.Store.DeleteFlow(c.Context(), c.Params("id")); err != nil {
		return fromStore(err, "flow")
	}
	a.changed()
	a.audit(c, "flow.delete", "flow", c.Params("id"), nil)
	return c.SendStatus(http.StatusNoContent)
}

// PublishRequest is the optional body of a publish.
type PublishRequest struct {
	Message string `json:"message"`
}

func (a *API) publishFlow(c fiber.Ctx) error {
	var req PublishRequest
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	f, err := a.Store.GetFlow(c.Context(), c.Params("id"))
	if err != nil {
		return fromStore(err, "flow")
	}
	if _, _, err := parseDoc(f.Draft); err != nil {
		return err
	}
	by := ""
	if p := principal(c); p != nil {
		by = p.Email
	}
	v, err := a.Store.Publish(c.Context(), f.ID, f.Draft, req.Message, by)
	if err != nil {
		return fromStore(err, "flow")
	}
	a.changed()
	a.audit(c, "flow.publish", "flow", f.ID, map[string]any{"version": v.Version, "message": req.Message})
	return ok(c, http.StatusCreated, versionResponse(v, false))
}

func (a *API) setStatus(c fiber.Ctx, status string) error {
	id := c.Params("id")
	if err := a.Store.SetFlowStatus(c.Context(), id, status); err != nil {
		return fromStore(err, "flow")
	}
	a.changed()
	action := "flow.resume"
	if status == store.FlowPaused {
		action = "flow.pause"
	}
	a.audit(c, action, "flow", id, nil)
	f, err := a.Store.GetFlow(c.Context(), id)
	if err != nil {
		return fromStore(err, "flow")
	}
	return ok(c, http.StatusOK, flowResponse(f, false))
}

func (a *API) pauseFlow(c fiber.Ctx) error  { return a.setStatus(c, store.FlowPaused) }
func (a *API) resumeFlow(c fiber.Ctx) error { return a.setStatus(c, store.FlowPublished) }

func (a *API) listVersions(c fiber.Ctx) error {
	id := c.Params("id")
	if _, err := a.Store.GetFlow(c.Context(), id); err != nil {
		return fromStore(err, "flow")
	}
	list, err := a.Store.ListVersions(c.Context(), id)
	if err != nil {
		return err
	}
	out := make([]VersionResponse, len(list))
	for i := range list {
		out[i] = versionResponse(&list[i], false)
	}
	return ok(c, http.StatusOK, fiber.Map{"versions": out})
}

func (a *API) getVersion(c fiber.Ctx) error {
	n, err := pathInt(c, "version")
	if err != nil {
		return err
	}
	v, err := a.Store.GetVersion(c.Context(), c.Params("id"), n)
	if err != nil {
		return fromStore(err, "flow version")
	}
	return ok(c, http.StatusOK, versionResponse(v, true))
}

func (a *API) rollback(c fiber.Ctx) error {
	n, err := pathInt(c, "version")
	if err != nil {
		return err
	}
	id := c.Params("id")
	if err := a.Store.Republish(c.Context(), id, n); err != nil {
		return fromStore(err, "flow version")
	}
	a.changed()
	a.audit(c, "flow.rollback", "flow", id, map[string]any{"version": n})
	f, err := a.Store.GetFlow(c.Context(), id)
	if err != nil {
		return fromStore(err, "flow")
	}
	return ok(c, http.StatusOK, flowResponse(f, false))
}

// exportFlow answers with a bare flow document, ready for /flows/import on this or another Ferry.
func (a *API) exportFlow(c fiber.Ctx) error {
	id := c.Params("id")
	var doc json.RawMessage
	if c.Query("version") != "" {
		n, err := strconv.Atoi(c.Query("version"))
		if err != nil || n < 1 {
			return errBadRequest(CodeBadRequest, "version must be a positive whole number")
		}
		v, err := a.Store.GetVersion(c.Context(), id, n)
		if err != nil {
			return fromStore(err, "flow version")
		}
		doc = v.Doc
	} else {
		f, err := a.Store.GetFlow(c.Context(), id)
		if err != nil {
			return fromStore(err, "flow")
		}
		doc = f.Draft
	}
	c.Set("Content-Disposition", `attachment; filename="flow-`+id+`.json"`)
	c.Set("Content-Type", "application/json")
	return c.Send(doc)
}

// ValidationResponse is the answer of /api/v1/validate.
type ValidationResponse struct {
	Valid    bool            `json:"valid"`
	Problems []nodes.Problem `json:"problems"`
	// WaitsFor says, for each merge of a valid flow, which nodes it waits for on each input.
	WaitsFor map[string]map[string][]string `json:"waitsFor,omitempty"`
}

func (a *API) validate(c fiber.Ctx) error {
	f, err := flows.Parse(c.Body())
	if err != nil {
		return ok(c, http.StatusOK, ValidationResponse{Problems: flows.Problems(err)})
	}
	problems := flows.Validate(f)
	if problems == nil {
		problems = []nodes.Problem{}
	}
	out := ValidationResponse{Valid: len(problems) == 0, Problems: problems}
	if out.Valid {
		if compiled, err := flows.Compile(f); err == nil {
			if w := compiled.WaitsFor(); len(w) > 0 {
				out.WaitsFor = w
			}
			compiled.Close()
		}
	}
	return ok(c, http.StatusOK, out)
}

// TestRequest is the body of a test run.
type TestRequest struct {
	// Payload is the sample trigger payload. For a webhook trigger it is the request body unless it already has
	// the {body, headers, query, method} shape.
	Payload any `json:"payload"`
	// Trigger picks the trigger node when the flow has several.
	Trigger string `json:"trigger,omitempty"`
	// Flow is an unsaved document to test instead of the saved draft.
	Flow json.RawMessage `json:"flow,omitempty"`
}

func (a *API) testFlow(c fiber.Ctx) error {
	var req TestRequest
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	f, err := a.Store.GetFlow(c.Context(), c.Params("id"))
	if err != nil {
		return fromStore(err, "flow")
	}
	doc := f.Draft
	if len(req.Flow) > 0 {
		if _, canonical, err := parseDoc(req.Flow); err != nil {
			return err
		} else {
			doc = canonical
		}
	}
	loaded, err := runner.Compile(f.ID, 0, doc)
	if err != nil {
		return fromStore(err, "flow")
	}
	trigger, err := pickTrigger(loaded.Compiled, req.Trigger)
	if err != nil {
		return err
	}
	payload := req.Payload
	if trigger == loaded.Compiled.Webhook {
		payload = webhookShape(payload)
	}
	res, err := a.Runner.RunNow(c.Context(), runner.Trigger{Flow: loaded, Node: trigger.Def.ID, Payload: payload,
		Mode: nodes.ModeTest}, a.Runner.TestTimeout)
	if err != nil {
		return err
	}
	d, err := a.detailView(c, res.Run, res.Steps)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, d)
}

// webhookShape wraps a bare sample body into the shape a webhook trigger produces, so test runs see the same
// trigger.body paths as live runs.
func webhookShape(payload any) any {
	if m, isMap := payload.(map[string]any); isMap {
		if _, hasBody := m["body"]; hasBody {
			if _, hasHeaders := m["headers"]; hasHeaders {
				return m
			}
		}
	}
	return map[string]any{"body": payload, "headers": map[string]any{}, "query": map[string]any{}, "method": "POST"}
}

func pickTrigger(c *flows.Compiled, want string) (*flows.CompiledNode, error) {
	if want != "" {
		for _, t := range c.Triggers {
			if t.Def.ID == want {
				return t, nil
			}
		}
		return nil, errBadRequest("trigger_unknown", "the flow has no trigger node %q", want)
	}
	if len(c.Triggers) == 0 {
		return nil, errBadRequest(flows.CodeNoTrigger, "the flow has no trigger node")
	}
	return c.Triggers[0], nil
}

// ManualRunRequest starts a live run by hand (D21: one-off fixes still leave a run record).
type ManualRunRequest struct {
	Payload     any    `json:"payload"`
	Trigger     string `json:"trigger,omitempty"`
	BusinessKey string `json:"businessKey,omitempty"`
}

func (a *API) manualRun(c fiber.Ctx) error {
	var req ManualRunRequest
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	_, loaded, err := a.Runner.Published(c.Context(), c.Params("id"))
	if err != nil {
		return fromStore(err, "flow")
	}
	var trigger *flows.CompiledNode
	if req.Trigger != "" {
		if trigger, err = pickTrigger(loaded.Compiled, req.Trigger); err != nil {
			return err
		}
	} else {
		for _, t := range loaded.Compiled.Triggers {
			if t.Spec.Type == "core.manual" {
				trigger = t
				break
			}
		}
		if trigger == nil {
			return errBadRequest("manual_trigger_missing", "the published flow has no core.manual trigger; name one with \"trigger\"")
		}
	}
	run, err := a.Runner.Accept(c.Context(), runner.Trigger{Flow: loaded, Node: trigger.Def.ID, Payload: req.Payload,
		BusinessKey: req.BusinessKey, Mode: nodes.ModeLive})
	if err != nil {
		return fromStore(err, "run")
	}
	return a.answerRun(c, http.StatusAccepted, run)
}

func (a *API) healthz(c fiber.Ctx) error {
	return ok(c, http.StatusOK, fiber.Map{"status": "ok"})
}

func (a *API) readyz(c fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.Context(), 3*time.Second)
	defer cancel()
	checks := fiber.Map{}
	failed := false
	if err := a.Store.Ping(ctx); err != nil {
		checks["store"], failed = err.Error(), true
	} else {
		checks["store"] = "ok"
	}
	for name, check := range a.Ready {
		if err := check(ctx); err != nil {
			checks[name], failed = err.Error(), true
		} else {
			checks[name] = "ok"
		}
	}
	if failed {
		return c.Status(http.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "checks": checks})
	}
	return ok(c, http.StatusOK, fiber.Map{"status": "ok", "checks": checks})
}

func (a *API) version(c fiber.Ctx) error {
	return ok(c, http.StatusOK, fiber.Map{"version": a.Version, "flowSchema": flows.SchemaVersion})
}
