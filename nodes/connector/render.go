package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// value is a parameter as the constructor compiled it: a literal of the field's type, or a template evaluated
// per step.
type value struct {
	set     bool
	literal any
	tmpl    *expression.Template
}

// compileValue reads one parameter. Text parameters may interpolate {{ }}; a typed parameter (a number, a
// choice) holds a literal of its type or, when the field accepts expressions, text with {{ }} evaluated per step.
func compileValue(cfg *nodes.Config, prm compiledParam) value {
	if !cfg.Has(prm.Name) {
		if prm.Default == nil {
			return value{}
		}
		return value{set: true, literal: prm.Default}
	}
	var raw any
	if !cfg.JSON(prm.Name, &raw) {
		return value{}
	}
	if s, ok := raw.(string); ok && (prm.Expression || prm.Type == nodes.TypeString || prm.Type == nodes.TypeText) && expression.IsTemplate(s) {
		t, err := expression.CompileTemplate(s)
		if err != nil {
			cfg.FailExpr(prm.Name, err)
			return value{}
		}
		return value{set: true, tmpl: t}
	}
	if _, err := convert(prm.Param, raw); err != nil {
		cfg.Fail(prm.Name, nodes.CodeParamInvalid, fmt.Sprintf("%s: %v", labelOf(prm.Field), err))
		return value{}
	}
	return value{set: true, literal: raw}
}

func labelOf(f nodes.Field) string {
	if f.Label != "" {
		return f.Label
	}
	return f.Name
}

// kind is the conversion a parameter's value goes through.
func (p Param) kind() As {
	if p.As != "" {
		return p.As
	}
	switch p.Type {
	case nodes.TypeInteger:
		return AsInteger
	case nodes.TypeNumber:
		return AsNumber
	case nodes.TypeBoolean:
		return AsBoolean
	case nodes.TypeJSON, nodes.TypeKeyValue:
		return AsJSON
	case nodes.TypeList:
		return AsList
	}
	return AsString
}

// convert turns a rendered value into what the parameter sends. Numbers stay exact: integers as int64, other
// numbers as their decimal text (json.Number), never through a float that would round an amount.
func convert(p Param, v any) (any, error) {
	switch p.kind() {
	case AsJSON:
		return v, nil
	case AsList:
		switch l := v.(type) {
		case []any:
			return l, nil
		case string:
			var out []any
			for _, s := range strings.Split(l, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			return out, nil
		case nil:
			return nil, nil
		}
		return []any{v}, nil
	case AsInteger:
		return toInteger(v)
	case AsNumber:
		return toNumber(v)
	case AsBoolean:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			parsed, err := strconv.ParseBool(strings.TrimSpace(b))
			if err != nil {
				return nil, fmt.Errorf("%q is not true or false", b)
			}
			return parsed, nil
		}
		return nil, fmt.Errorf("%s is not true or false", describe(v))
	}
	switch s := v.(type) {
	case string:
		return s, nil
	case nil:
		return "", nil
	case map[string]any, []any:
		return nil, fmt.Errorf("%s cannot be sent as text", describe(v))
	}
	return expression.Stringify(v), nil
}

func toInteger(v any) (int64, error) {
	switch n := v.(type) {
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case json.Number:
		return n.Int64()
	case float64:
		if n != math.Trunc(n) || math.Abs(n) >= 1<<53 {
			return 0, fmt.Errorf("%v is not a whole number", n)
		}
		return int64(n), nil
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number", n)
		}
		return i, nil
	}
	return 0, fmt.Errorf("%s is not a whole number", describe(v))
}

func toNumber(v any) (any, error) {
	switch n := v.(type) {
	case int64, int:
		return n, nil
	case json.Number:
		return n, nil
	case float64:
		return json.Number(strconv.FormatFloat(n, 'f', -1, 64)), nil
	case string:
		s := strings.TrimSpace(n)
		if _, err := strconv.ParseFloat(s, 64); err != nil || s == "" {
			return nil, fmt.Errorf("%q is not a number", n)
		}
		return json.Number(s), nil
	}
	return nil, fmt.Errorf("%s is not a number", describe(v))
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "text"
	case bool:
		return "true or false"
	}
	return fmt.Sprintf("%v", v)
}

// request is the operation's request for one step, before the credential is applied: what is sent and what a
// test run or a failure shows.
type request struct {
	method string
	url    *url.URL
	header http.Header
	body   []byte
	// bodyView is the body as run data shows it (parsed JSON, or form values).
	bodyView any
	// vars are the GraphQL variables, kept so pages can set their cursor.
	vars map[string]any
	// jsonBody is the JSON body, kept so pages can set their cursor in it.
	jsonBody map[string]any
	form     url.Values
}

func (r *request) clone() *request {
	c := *r
	u := *r.url
	c.url = &u
	c.header = r.header.Clone()
	return &c
}

// shown is the request as run data shows it; the credential is never part of it, since it is applied after.
func (r *request) shown() map[string]any {
	headers := make(map[string]any, len(r.header))
	for k, v := range r.header {
		if len(v) > 0 {
			headers[k] = v[0]
		}
	}
	out := map[string]any{"method": r.method, "url": r.url.String(), "headers": headers}
	if r.bodyView != nil {
		out["body"] = r.bodyView
	}
	return out
}

// credential opens the step's credential.
func (n *node) credential(ctx context.Context, x *nodes.Exec) (map[string]string, error) {
	if x.Credential == nil {
		return nil, nodes.NewPermanent(n.code("credential_invalid"), fmt.Errorf("%s: the step has no credential", n.c.p.Name))
	}
	fields, err := x.Credential(ctx)
	switch {
	case errors.Is(err, nodes.ErrNoCredential):
		return nil, nodes.NewPermanent(n.code("credential_invalid"), fmt.Errorf("%s: the step needs a %s credential", n.c.p.Name, n.c.p.Credentials[0]))
	case err != nil:
		var typed *nodes.Error
		if errors.As(err, &typed) {
			return nil, fmt.Errorf("%s: load credential: %w", n.c.p.Name, err)
		}
		return nil, nodes.NewRetryable(n.code("credential_unavailable"), fmt.Errorf("%s: load credential: %w", n.c.p.Name, err))
	}
	return fields, nil
}

// code is a failure code of the provider ("woocommerce_not_found").
func (n *node) code(what string) string { return n.c.p.Name + "_" + what }

// render evaluates every parameter and builds the request, without the credential.
func (n *node) render(x *nodes.Exec, fields map[string]string) (*request, error) {
	base, err := n.c.p.BaseURL(fields)
	if err != nil {
		return nil, n.credentialInvalid(err)
	}
	env := envOf(x)
	r := &request{method: n.c.op.Method, header: http.Header{}}
	path := n.c.op.Path
	query := url.Values{}
	for k, v := range n.c.p.Headers {
		r.header.Set(k, v)
	}
	for i, prm := range n.c.params {
		v, present, err := n.eval(i, env)
		if err != nil {
			return nil, err
		}
		if !present {
			if prm.Required {
				return nil, n.invalid("%s is required but rendered empty", labelOf(prm.Field))
			}
			continue
		}
		switch prm.In {
		case InPath:
			s := expression.Stringify(v)
			path = strings.ReplaceAll(path, "{"+prm.Key+"}", url.PathEscape(s))
		case InQuery:
			for _, s := range texts(v) {
				query.Add(prm.Key, s)
			}
		case InHeader:
			s := strings.Join(texts(v), ",")
			if strings.ContainsAny(s, "\r\n\x00") {
				return nil, n.invalid("header %s contains a line break", prm.Key)
			}
			r.header.Set(prm.Key, s)
		case InForm:
			if r.form == nil {
				r.form = url.Values{}
			}
			for _, s := range texts(v) {
				r.form.Add(prm.Key, s)
			}
		case InBody:
			if _, isObject := v.(map[string]any); len(prm.pointer) == 0 && !isObject {
				return nil, n.invalid("%s must be an object of fields, not %s", prm.Name, expression.Stringify(v))
			}
			r.jsonBody = prm.pointer.Set(r.jsonBody, v)
		case InVariable:
			r.vars = prm.pointer.Set(r.vars, v)
		}
	}
	if strings.Contains(path, "{") {
		return nil, n.invalid("the path %s still has a placeholder", path)
	}
	r.url = base.JoinPath(path)
	if len(query) > 0 {
		q := r.url.Query()
		for k, vs := range query {
			q[k] = vs
		}
		r.url.RawQuery = q.Encode()
	}
	if n.c.op.Shape != nil {
		shaped, err := n.c.op.Shape(r.jsonBody)
		if err != nil {
			return nil, n.invalid("%v", err)
		}
		r.jsonBody = shaped
	}
	if n.c.op.IdempotencyHeader != "" && x.IdempotencyKey != "" {
		r.header.Set(n.c.op.IdempotencyHeader, x.IdempotencyKey)
	}
	if err := r.encode(n.c); err != nil {
		return nil, n.invalid("encode the body: %v", err)
	}
	return r, nil
}

// encode writes the body from the JSON document, the GraphQL variables or the form.
func (r *request) encode(c *compiled) error {
	switch c.bodyKind() {
	case BodyJSON:
		if c.op.GraphQL != "" {
			vars := r.vars
			if vars == nil {
				vars = map[string]any{}
			}
			body, err := encodeGraphQL(c.op.GraphQL, vars)
			if err != nil {
				return err
			}
			r.body, r.bodyView = body, map[string]any{"query": c.op.GraphQL, "variables": vars}
			r.header.Set("Content-Type", "application/json")
			return nil
		}
		return r.encodeJSON()
	case BodyForm:
		r.body = []byte(r.form.Encode())
		view := make(map[string]any, len(r.form))
		for k, v := range r.form {
			if len(v) == 1 {
				view[k] = v[0]
			} else {
				view[k] = append([]string(nil), v...)
			}
		}
		r.bodyView = view
		r.header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return nil
}

// encodeJSON writes the JSON body from the JSON document.
func (r *request) encodeJSON() error {
	doc := r.jsonBody
	if doc == nil {
		doc = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	r.body = bytes.TrimRight(buf.Bytes(), "\n")
	r.bodyView = doc
	r.header.Set("Content-Type", "application/json")
	return nil
}

// encodeGraphQL writes a GraphQL request body: {"query": document, "variables": vars}.
func encodeGraphQL(document string, vars map[string]any) ([]byte, error) {
	if vars == nil {
		vars = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"query": document, "variables": vars}); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// eval renders parameter i: its value converted, and whether it is sent at all (unset and empty values are not).
func (n *node) eval(i int, env map[string]any) (any, bool, error) {
	v := n.values[i]
	prm := n.c.params[i]
	if !v.set {
		return nil, false, nil
	}
	raw := v.literal
	if v.tmpl != nil {
		var err error
		if raw, err = v.tmpl.Eval(env); err != nil {
			return nil, false, nodes.EvalFailed(n.c.op.Type, prm.Name, err)
		}
	}
	if raw == nil {
		return nil, false, nil
	}
	if s, ok := raw.(string); ok && strings.TrimSpace(s) == "" && prm.kind() != AsString {
		return nil, false, nil
	}
	out, err := convert(prm.Param, raw)
	if err != nil {
		return nil, false, n.invalid("%s: %v", labelOf(prm.Field), err)
	}
	if prm.Transform != nil {
		if out, err = prm.Transform(out); err != nil {
			return nil, false, n.invalid("%s: %v", labelOf(prm.Field), err)
		}
	}
	if s, ok := out.(string); ok && s == "" {
		return nil, false, nil
	}
	if l, ok := out.([]any); ok && len(l) == 0 {
		return nil, false, nil
	}
	return out, true, nil
}

// credentialInvalid is the failure of a credential whose fields give no base URL: the provider's own typed
// failure when BaseURL returned one (an insecure store address has its own code), else
// <provider>_credential_invalid.
func (n *node) credentialInvalid(err error) error {
	var typed *nodes.Error
	if errors.As(err, &typed) {
		return err
	}
	return nodes.NewPermanent(n.code("credential_invalid"), fmt.Errorf("%s: %w", n.c.p.Name, err))
}

func (n *node) invalid(format string, args ...any) error {
	return nodes.NewPermanent(n.code("request_invalid"), fmt.Errorf("%s: %s: %s", n.c.p.Name, n.c.op.Type, fmt.Sprintf(format, args...)))
}

// texts writes a value as the texts of a query parameter, a form field or a header.
func texts(v any) []string {
	if l, ok := v.([]any); ok {
		out := make([]string, 0, len(l))
		for _, item := range l {
			out = append(out, expression.Stringify(item))
		}
		return out
	}
	return []string{expression.Stringify(v)}
}

// envOf is the expression environment of a step.
func envOf(x *nodes.Exec) map[string]any {
	if x.Env != nil {
		return x.Env
	}
	return map[string]any{expression.VarPrev: x.Input, expression.VarTrigger: x.Input}
}
