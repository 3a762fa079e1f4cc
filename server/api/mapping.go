package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/flows/expression"
)

func init() {
	routeGroups = append(routeGroups, (*API).mappingRoutes)
	schemaGroups = append(schemaGroups, mappingSchemas)
}

// The mapping node's expressions can read its lookup tables as tables.<name>, which the plain preview cannot
// know about; this route previews them with the tables the editor is showing, so the mapping table's preview
// column works before the flow is saved.
func (a *API) mappingRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/api/v1/expressions/preview-lookups", Permission: PermFlowsRead, Tag: "catalog",
			Summary: "Evaluate a mapping expression on sample data with the node's lookup tables (tables.<name>), as core.map would at run time",
			Request: "LookupPreviewRequest", Response: "ExpressionPreview", Handler: a.previewLookupExpression},
	}
}

func mappingSchemas() map[string]any {
	return map[string]any{
		"LookupPreviewRequest": obj(map[string]any{
			"expression": str,
			"sample":     map[string]any{"type": "object", "description": "The data the node sees: trigger, prev, nodes, vars, env and run, all optional."},
			"lookups": list(obj(map[string]any{
				"name":    str,
				"entries": map[string]any{"type": "object", "additionalProperties": str},
				"default": str,
			}, "name")),
		}, "expression"),
	}
}

// LookupPreviewRequest is the body of POST /api/v1/expressions/preview-lookups: an expression, the sample, and
// the map node's lookups parameter as the editor holds it.
type LookupPreviewRequest struct {
	Expression string               `json:"expression"`
	Sample     map[string]any       `json:"sample"`
	Lookups    []LookupTableRequest `json:"lookups"`
}

// LookupTableRequest is one row of the map node's lookups parameter.
type LookupTableRequest struct {
	Name    string            `json:"name"`
	Entries map[string]string `json:"entries"`
	Default string            `json:"default"`
}

// previewTables turns the rows into the tables expressions read. Rows the node would refuse (no name, a second
// row of the same name) are left out here: saving the flow reports them, the preview shows what it can.
func previewTables(rows []LookupTableRequest) expression.Tables {
	tables := make(expression.Tables, len(rows))
	for _, r := range rows {
		if r.Name == "" {
			continue
		}
		if _, dup := tables[r.Name]; dup {
			continue
		}
		t := expression.Table{Entries: r.Entries}
		if t.Entries == nil {
			t.Entries = map[string]string{}
		}
		if r.Default != "" {
			def := r.Default
			t.Default = &def
		}
		tables[r.Name] = t
	}
	return tables
}

func (a *API) previewLookupExpression(c fiber.Ctx) error {
	var req LookupPreviewRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	env, err := PreviewEnv(req.Sample)
	if err != nil {
		return err
	}
	if len(req.Expression) > expression.MaxSourceBytes {
		return ok(c, http.StatusOK, PreviewResponse{Error: &PreviewError{Code: expression.CodeTooLarge,
			Message: fmt.Sprintf("the expression is %d bytes, the limit is %d", len(req.Expression), expression.MaxSourceBytes)}})
	}
	p, err := expression.CompileWithTables(req.Expression, expression.ResultAny, previewTables(req.Lookups))
	if err != nil {
		return ok(c, http.StatusOK, PreviewResponse{Error: previewError(err)})
	}
	ctx, cancel := context.WithTimeout(c.Context(), PreviewTimeout)
	defer cancel()
	res, err := evaluateProgram(ctx, p, env)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, res)
}

// evaluateProgram runs a compiled program as the plain preview does: in the request's goroutine, holding one of
// the shared evaluation slots, under expression.PreviewLimits.
func evaluateProgram(ctx context.Context, p *expression.Program, env map[string]any) (res PreviewResponse, err error) {
	release, err := previewSlot(ctx)
	if err != nil {
		return PreviewResponse{}, err
	}
	defer release()
	defer func() {
		if r := recover(); r != nil {
			res = PreviewResponse{Error: &PreviewError{Code: expression.CodeRuntime, Message: fmt.Sprintf("evaluation failed: %v", r)}}
		}
	}()
	v, err := p.EvalLimits(env, expression.PreviewLimits)
	if err != nil {
		return PreviewResponse{Error: previewError(err)}, nil
	}
	return previewValue(v), nil
}
