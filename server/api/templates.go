package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/store"
)

// Stable error codes of the template routes.
const (
	CodeTemplateNotFound   = "template_not_found"
	CodeCredentialNotFound = "credential_not_found"
)

func init() {
	routeGroups = append(routeGroups, (*API).templateRoutes)
	schemaGroups = append(schemaGroups, templateSchemas)
}

func (a *API) templateRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/templates", Permission: PermFlowsRead, Tag: "templates", Summary: "The bundled flow templates: names and descriptions in English and Chinese, node chain and the credentials each needs (node names in the Accept-Language language), without documents", Response: "TemplateList", Handler: a.listTemplates},
		{Method: "GET", Path: "/api/v1/templates/:id", Permission: PermFlowsRead, Tag: "templates", Summary: "One bundled template with its flow document, node names in the Accept-Language language", Response: "Template", Handler: a.getTemplate},
		{Method: "POST", Path: "/api/v1/templates/:id/use", Permission: PermFlowsWrite, Tag: "templates", Summary: "Create a draft flow from a template with a credential chosen for each node that needs one, its nodes named in the Accept-Language language", Request: "TemplateUseRequest", Response: "Flow", Status: 201, Handler: a.useTemplate},
	}
}

func templateSchemas() map[string]any {
	text := obj(map[string]any{"en": str, "zh": str}, "en", "zh")
	need := obj(map[string]any{"nodeId": str, "nodeName": str, "nodeType": str, "types": list(str), "required": boolean, "hint": text},
		"nodeId", "nodeName", "nodeType", "types", "required")
	props := map[string]any{"id": str, "name": text, "description": text, "category": map[string]any{"enum": templates.Categories},
		"tags": list(str), "nodeCount": integer, "nodeTypes": list(str),
		"steps":        list(obj(map[string]any{"id": str, "name": str, "type": str}, "id", "type")),
		"credentials":  list(need),
		"placeholders": list(obj(map[string]any{"nodeId": str, "param": str, "hint": text}, "nodeId", "param", "hint"))}
	summary := obj(props, "id", "name", "description", "category", "tags", "nodeCount", "nodeTypes", "steps", "credentials", "placeholders")
	full := map[string]any{}
	for k, v := range props {
		full[k] = v
	}
	full["document"] = ref("FlowDocument")
	return map[string]any{
		"TemplateSummary": summary,
		"TemplateList":    obj(map[string]any{"templates": list(ref("TemplateSummary"))}, "templates"),
		"Template":        obj(full, "id", "name", "description", "category", "tags", "nodeCount", "nodeTypes", "steps", "credentials", "placeholders", "document"),
		"TemplateUseRequest": obj(map[string]any{"name": str,
			"credentials": map[string]any{"type": "object", "additionalProperties": str, "description": "credential id per node id"}}),
	}
}

// TemplateUseRequest creates a flow from a template: its name (when empty, the template's name in the caller's
// Accept-Language language) and the credential id chosen for each node that takes one, keyed by node id.
type TemplateUseRequest struct {
	Name        string            `json:"name"`
	Credentials map[string]string `json:"credentials"`
}

func (a *API) loadTemplate(c fiber.Ctx) (*templates.Template, error) {
	t, found, err := templates.Get(c.Params("id"))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &Error{Status: http.StatusNotFound, Code: CodeTemplateNotFound, Message: "no template " + c.Params("id")}
	}
	return t, nil
}

// listTemplates answers the gallery; step and credential node names follow the caller's Accept-Language.
func (a *API) listTemplates(c fiber.Ctx) error {
	all, err := templates.All()
	if err != nil {
		return err
	}
	lang := catalogLanguage(c)
	out := make([]templates.Template, len(all))
	for i, t := range all {
		out[i] = *t.In(lang)
		out[i].Document = nil
	}
	return ok(c, http.StatusOK, fiber.Map{"templates": out})
}

// getTemplate answers one template with its document, node names in the caller's Accept-Language language.
func (a *API) getTemplate(c fiber.Ctx) error {
	t, err := a.loadTemplate(c)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, t.In(catalogLanguage(c)))
}

// useTemplate checks every chosen credential (it exists and is of a type the node accepts; each node the
// template cannot run without has one) and creates the draft, so the new flow is ready to test. The flow's nodes,
// and its name when the request gives none, are in the caller's Accept-Language language.
func (a *API) useTemplate(c fiber.Ctx) error {
	t, err := a.loadTemplate(c)
	if err != nil {
		return err
	}
	lang := catalogLanguage(c)
	t = t.In(lang)
	var req TemplateUseRequest
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	if req.Name == "" {
		req.Name = t.Name.In(lang)
	}
	chosen := make(map[string]templates.Credential, len(req.Credentials))
	var missing []nodes.Problem
	for nodeID, credID := range req.Credentials {
		if credID == "" {
			continue
		}
		cred, err := a.Store.GetCredential(c.Context(), credID)
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, nodes.Problem{Code: CodeCredentialNotFound, NodeID: nodeID, Field: "credentials." + nodeID,
				Message: "credential " + credID + " does not exist"})
			continue
		}
		if err != nil {
			return err
		}
		chosen[nodeID] = templates.Credential{ID: cred.ID, Type: cred.Type}
	}
	f, refusals := t.Instantiate(req.Name, chosen)
	problems := missing
	for _, r := range refusals {
		field := "name"
		if r.NodeID != "" {
			field = "credentials." + r.NodeID
		}
		problems = append(problems, nodes.Problem{Code: r.Code, NodeID: r.NodeID, Field: field, Message: r.Message})
	}
	if len(problems) > 0 {
		// The first problem gives the error its code; order them by field so it does not depend on map order.
		slices.SortStableFunc(problems, func(x, y nodes.Problem) int { return strings.Compare(x.Field, y.Field) })
		e := errBadRequest(problems[0].Code, "%s", problems[0].Message)
		e.Problems = problems
		return e
	}
	canonical, err := f.Marshal()
	if err != nil {
		return err
	}
	_, doc, err := parseDoc(canonical)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	row := &store.Flow{ID: uuid.NewString(), Name: f.Name, Description: f.Description, Draft: doc, Revision: 1,
		Status: store.FlowDraft, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateFlow(c.Context(), row); err != nil {
		return err
	}
	a.audit(c, "flow.create", "flow", row.ID, map[string]any{"name": row.Name, "template": t.ID})
	return ok(c, http.StatusCreated, flowResponse(row, true))
}
