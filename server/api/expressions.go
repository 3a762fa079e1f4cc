package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/flows/expression"
)

func init() {
	routeGroups = append(routeGroups, (*API).expressionRoutes)
	schemaGroups = append(schemaGroups, expressionSchemas)
}

func (a *API) expressionRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/api/v1/expressions/preview", Permission: PermFlowsRead, Tag: "catalog",
			Summary: "Evaluate an expression or a {{ }} template on sample data, as a node would at run time; a bad expression is answered with ok=false and where it is",
			Request: "ExpressionPreviewRequest", Response: "ExpressionPreview", Handler: a.previewExpression},
	}
}

func expressionSchemas() map[string]any {
	return map[string]any{
		"ExpressionPreviewRequest": obj(map[string]any{
			"expression": str,
			"template":   boolean,
			"result":     map[string]any{"enum": []string{"", "any", "bool", "string", "number"}},
			"sample": obj(map[string]any{"trigger": anyJSON, "prev": anyJSON, "nodes": map[string]any{"type": "object"},
				"vars": map[string]any{"type": "object"}, "env": map[string]any{"enum": []string{"test", "live"}}, "run": map[string]any{"type": "object"}}),
		}, "expression"),
		"ExpressionPreview": obj(map[string]any{
			"ok": boolean, "value": anyJSON, "type": str, "truncated": boolean,
			"error": obj(map[string]any{"code": str, "message": str, "line": integer, "column": integer}, "code", "message"),
		}, "ok"),
	}
}

// Stable codes of the preview endpoint, besides the expression package's own (expression_invalid,
// expression_too_large, expression_failed, expression_timeout, expression_memory_exceeded).
const (
	// CodeSampleInvalid: the sample is not shaped like an expression environment.
	CodeSampleInvalid = "preview_sample_invalid"
	// CodePreviewTimeout: the evaluation ran longer than expression.PreviewLimits allow and was stopped.
	CodePreviewTimeout = expression.CodeTimeout
	// CodePreviewBusy: every evaluation slot stayed taken for PreviewTimeout.
	CodePreviewBusy = "preview_busy"
	// CodePreviewUnencodable: the value cannot be written as JSON (NaN, infinity, a function).
	CodePreviewUnencodable = "expression_result_invalid"
)

// Bounds of one preview. The sample is bounded by the app's body limit, like every request.
const (
	// PreviewTimeout is how long an evaluation may run (expression.PreviewLimits, which also bound the memory it
	// builds), and how long a preview waits for a free evaluation slot. Real nodes evaluate in microseconds; a
	// preview that takes longer is a runaway expression, stopped where it is and answered with
	// expression_timeout.
	PreviewTimeout = expression.PreviewTimeLimit
	// PreviewMaxTemplateBytes is the longest template accepted; each {{ }} inside is also held to
	// expression.MaxSourceBytes.
	PreviewMaxTemplateBytes = 64 << 10
	// PreviewMaxValueBytes is the largest value sent back; larger values come back cut, marked truncated.
	PreviewMaxValueBytes = 64 << 10
)

// previewSlots bounds the evaluations running at once, so a burst of runaway expressions, each stopped at its
// limits, cannot take every core or more than a few budgets of memory.
var previewSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// previewSlot takes an evaluation slot, waiting until ctx ends for one to be free.
func previewSlot(ctx context.Context) (release func(), err error) {
	select {
	case previewSlots <- struct{}{}:
		return func() { <-previewSlots }, nil
	case <-ctx.Done():
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: CodePreviewBusy,
			Message: "too many expressions are being evaluated; try again shortly"}
	}
}

// PreviewRequest is the body of POST /api/v1/expressions/preview.
type PreviewRequest struct {
	// Expression is expr source, or with Template a text with {{ expr }} interpolations.
	Expression string `json:"expression"`
	Template   bool   `json:"template"`
	// Result pins the type the expression must produce, as the spec field's exprResult does ("" is any).
	Result string `json:"result,omitempty"`
	// Sample is the data the node sees: trigger, prev, nodes, vars, env and run, all optional.
	Sample map[string]any `json:"sample"`
}

// PreviewError is why an expression has no value, with its position in the source when known.
type PreviewError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// PreviewResponse is the answer of a preview: a value with its type, or an error.
type PreviewResponse struct {
	OK    bool   `json:"ok"`
	Value any    `json:"value,omitempty"`
	Type  string `json:"type,omitempty"`
	// Truncated marks a value larger than PreviewMaxValueBytes: Value is then the start of its JSON text.
	Truncated bool          `json:"truncated,omitempty"`
	Error     *PreviewError `json:"error,omitempty"`
}

func (a *API) previewExpression(c fiber.Ctx) error {
	var req PreviewRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	result, err := previewResult(req.Result)
	if err != nil {
		return err
	}
	env, err := PreviewEnv(req.Sample)
	if err != nil {
		return err
	}
	limit := expression.MaxSourceBytes
	if req.Template {
		limit = PreviewMaxTemplateBytes
	}
	if len(req.Expression) > limit {
		return ok(c, http.StatusOK, PreviewResponse{Error: &PreviewError{Code: expression.CodeTooLarge,
			Message: fmt.Sprintf("the expression is %d bytes, the limit is %d", len(req.Expression), limit)}})
	}
	ctx, cancel := context.WithTimeout(c.Context(), PreviewTimeout)
	defer cancel()
	res, err := evaluatePreview(ctx, req.Expression, req.Template, result, env)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, res)
}

func previewResult(s string) (expression.Result, error) {
	switch r := expression.Result(s); r {
	case "":
		return expression.ResultAny, nil
	case expression.ResultAny, expression.ResultBool, expression.ResultString, expression.ResultNumber:
		return r, nil
	}
	return "", errBadRequest(CodeBadRequest, "result must be any, bool, string or number, not %q", s)
}

// PreviewEnv builds the environment an expression is evaluated in from a sample, in the shape the engine gives
// a step (see engine.Execute): the trigger payload, the input as prev, earlier outputs by node id under nodes,
// flow variables, the mode and the run. Missing parts get the values a test run would have; a sample with
// other keys is refused, since an expression could never read them.
func PreviewEnv(sample map[string]any) (map[string]any, error) {
	env := map[string]any{
		expression.VarTrigger: nil,
		expression.VarPrev:    nil,
		expression.VarNodes:   map[string]any{},
		expression.VarVars:    map[string]any{},
		expression.VarEnv:     "test",
		expression.VarRun:     map[string]any{"id": "", "flowId": "", "version": 0, "attempt": 1},
	}
	for k, v := range sample {
		switch k {
		case expression.VarTrigger, expression.VarPrev:
			env[k] = v
		case expression.VarNodes, expression.VarVars, expression.VarRun:
			if v == nil {
				continue
			}
			m, isMap := v.(map[string]any)
			if !isMap {
				return nil, errBadRequest(CodeSampleInvalid, "sample.%s must be an object", k)
			}
			env[k] = m
		case expression.VarEnv:
			if v == nil {
				continue
			}
			if v != "test" && v != "live" {
				return nil, errBadRequest(CodeSampleInvalid, `sample.env must be "test" or "live"`)
			}
			env[k] = v
		default:
			return nil, errBadRequest(CodeSampleInvalid, "sample.%s is not something expressions can read; use trigger, prev, nodes, vars, env or run", k)
		}
	}
	return env, nil
}

// evaluatePreview compiles and evaluates src in the request's goroutine, holding a slot while it runs, under
// expression.PreviewLimits: an evaluation that exceeds them stops where it is, so nothing keeps running once
// the preview is answered. A bad expression is a normal answer; only a lack of slots is an error.
func evaluatePreview(ctx context.Context, src string, template bool, result expression.Result, env map[string]any) (PreviewResponse, error) {
	release, err := previewSlot(ctx)
	if err != nil {
		return PreviewResponse{}, err
	}
	defer release()
	return evaluate(src, template, result, env), nil
}

func evaluate(src string, template bool, result expression.Result, env map[string]any) (res PreviewResponse) {
	defer func() {
		if r := recover(); r != nil {
			res = PreviewResponse{Error: &PreviewError{Code: expression.CodeRuntime, Message: fmt.Sprintf("evaluation failed: %v", r)}}
		}
	}()
	var value any
	var err error
	if template {
		var t *expression.Template
		if t, err = expression.CompileTemplate(src); err == nil {
			value, err = t.EvalLimits(env, expression.PreviewLimits)
		}
	} else {
		var p *expression.Program
		if p, err = expression.Compile(src, result); err == nil {
			if result == expression.ResultBool {
				value, err = p.EvalBoolLimits(env, expression.PreviewLimits)
			} else {
				value, err = p.EvalLimits(env, expression.PreviewLimits)
			}
		}
	}
	if err != nil {
		return PreviewResponse{Error: previewError(err)}
	}
	return previewValue(value)
}

func previewError(err error) *PreviewError {
	var ee *expression.Error
	if errors.As(err, &ee) {
		return &PreviewError{Code: ee.Code, Message: ee.Message, Line: ee.Line, Column: ee.Column}
	}
	return &PreviewError{Code: expression.CodeRuntime, Message: err.Error()}
}

// previewValue encodes the value the way run data stores it (JSON), cutting values too large to show.
func previewValue(v any) PreviewResponse {
	raw, err := json.Marshal(v)
	if err != nil {
		return PreviewResponse{Error: &PreviewError{Code: CodePreviewUnencodable,
			Message: fmt.Sprintf("the value (%s) cannot be written as JSON: %v", ValueType(v), err)}}
	}
	res := PreviewResponse{OK: true, Type: ValueType(v)}
	if len(raw) > PreviewMaxValueBytes {
		res.Value, res.Truncated = string(raw[:PreviewMaxValueBytes]), true
		return res
	}
	res.Value = json.RawMessage(raw)
	return res
}

// ValueType names the type of an expression's value for the editor: null, boolean, number, string, time,
// duration, array or object.
func ValueType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		return "number"
	case time.Time:
		return "time"
	case time.Duration:
		return "duration"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	}
	return reflect.TypeOf(v).String()
}
