package nodes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
)

// Problem is one thing wrong with a flow, pointing at the node, the parameter and, for expressions, the line
// and column, so the editor can show it where it belongs.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	NodeID  string `json:"nodeId,omitempty"`
	Field   string `json:"field,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// Stable problem codes for parameters.
const (
	CodeParamRequired = "param_required"
	CodeParamInvalid  = "param_invalid"
	CodeParamUnknown  = "param_unknown"
)

// ConfigError carries every problem found while building a node.
type ConfigError struct {
	Problems []Problem
}

func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Field + ": " + p.Message
	}
	return "invalid parameters: " + strings.Join(msgs, "; ")
}

// Config gives a constructor typed access to its node's parameters, applying the spec's defaults and
// collecting problems instead of stopping at the first, so a user sees everything wrong at once.
type Config struct {
	Spec   *Spec
	NodeID string
	// Credential is the id of the credential the flow names for this node, if any.
	Credential string

	params   map[string]json.RawMessage
	fields   []Field
	prefix   string
	problems *[]Problem
}

// NewConfig prepares params of a node for its constructor and checks them against the spec: required values,
// types, select options and unknown names.
func NewConfig(spec *Spec, nodeID string, params map[string]json.RawMessage, credential string) *Config {
	c := &Config{Spec: spec, NodeID: nodeID, Credential: credential, params: params, fields: spec.Params, problems: &[]Problem{}}
	c.checkAgainstSpec()
	return c
}

func (c *Config) checkAgainstSpec() {
	for name := range c.params {
		if c.field(name) == nil {
			c.Fail(name, CodeParamUnknown, fmt.Sprintf("%s has no parameter %q", c.Spec.Type, name))
		}
	}
	for _, f := range c.fields {
		raw, present := c.params[f.Name]
		if !present || isNull(raw) {
			if f.Required && f.Default == nil && c.visible(f) {
				c.Fail(f.Name, CodeParamRequired, f.Label+" is required")
			}
			continue
		}
		if msg := typeMismatch(f, raw); msg != "" {
			c.Fail(f.Name, CodeParamInvalid, msg)
			continue
		}
		if f.Required && c.visible(f) && (f.Type == TypeString || f.Type == TypeText || f.Type == TypeExpr || f.Type == TypeCode) {
			var s string
			_ = json.Unmarshal(raw, &s)
			if strings.TrimSpace(s) == "" {
				c.Fail(f.Name, CodeParamRequired, f.Label+" is required")
			}
		}
	}
}

// visible evaluates a field's show-if conditions against sibling values; hidden fields are not required.
func (c *Config) visible(f Field) bool {
	for name, allowed := range f.ShowIf {
		current := c.rawValue(name)
		match := false
		for _, a := range allowed {
			if fmt.Sprint(a) == fmt.Sprint(current) {
				match = true
				break
			}
		}
		if !match {
			return false
		}
	}
	return true
}

func (c *Config) rawValue(name string) any {
	if raw, ok := c.params[name]; ok && !isNull(raw) {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			return v
		}
	}
	if f := c.field(name); f != nil {
		return f.Default
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

func typeMismatch(f Field, raw json.RawMessage) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "not valid JSON"
	}
	// A typed field that accepts expressions (a number, a choice, a list) may instead hold text with {{ }},
	// evaluated per run and converted then.
	if s, ok := v.(string); ok && f.Expression && expression.IsTemplate(s) {
		return ""
	}
	switch f.Type {
	case TypeString, TypeText, TypeExpr, TypeCode, TypeDuration, TypeCron:
		if _, ok := v.(string); !ok {
			return fmt.Sprintf("%s must be text", f.Label)
		}
	case TypeSelect:
		s, ok := v.(string)
		if !ok {
			return fmt.Sprintf("%s must be one of the listed options", f.Label)
		}
		if f.LoadOptions {
			return "" // the account's choices change; the provider judges the value when the step runs
		}
		for _, o := range f.Options {
			if o.Value == s {
				return ""
			}
		}
		return fmt.Sprintf("%s: %q is not one of the options", f.Label, s)
	case TypeNumber:
		if _, ok := v.(json.Number); !ok {
			return fmt.Sprintf("%s must be a number", f.Label)
		}
	case TypeInteger:
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Sprintf("%s must be a whole number", f.Label)
		}
		if _, err := n.Int64(); err != nil {
			return fmt.Sprintf("%s must be a whole number", f.Label)
		}
	case TypeBoolean:
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("%s must be true or false", f.Label)
		}
	case TypeKeyValue:
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s must be an object of names to values", f.Label)
		}
		for k, item := range obj {
			if _, ok := item.(string); !ok {
				return fmt.Sprintf("%s: value of %q must be text", f.Label, k)
			}
		}
	case TypeList:
		if _, ok := v.([]any); !ok {
			return fmt.Sprintf("%s must be a list", f.Label)
		}
	}
	return ""
}

func (c *Config) field(name string) *Field {
	for i := range c.fields {
		if c.fields[i].Name == name {
			return &c.fields[i]
		}
	}
	return nil
}

func (c *Config) path(name string) string {
	if c.prefix == "" {
		return name
	}
	return c.prefix + "." + name
}

// Fail records a problem with the parameter name.
func (c *Config) Fail(name, code, message string) {
	*c.problems = append(*c.problems, Problem{Code: code, Message: message, NodeID: c.NodeID, Field: c.path(name)})
}

// FailAt records a problem at a line and column of the parameter's text (a script that does not compile), so the
// editor can point at it; line and column are 1-based.
func (c *Config) FailAt(name, code, message string, line, column int) {
	*c.problems = append(*c.problems, Problem{Code: code, Message: message, NodeID: c.NodeID, Field: c.path(name),
		Line: line, Column: column})
}

// FailExpr records an expression error with its line and column.
func (c *Config) FailExpr(name string, err error) {
	p := Problem{Code: expression.CodeSyntax, Message: err.Error(), NodeID: c.NodeID, Field: c.path(name)}
	var ee *expression.Error
	if errors.As(err, &ee) {
		p.Code, p.Message, p.Line, p.Column = ee.Code, ee.Message, ee.Line, ee.Column
	}
	*c.problems = append(*c.problems, p)
}

// Problems returns what has been found wrong so far.
func (c *Config) Problems() []Problem { return *c.problems }

// Err returns a *ConfigError when any problem was recorded, else nil. Constructors end with `return n, cfg.Err()`.
func (c *Config) Err() error {
	if len(*c.problems) == 0 {
		return nil
	}
	return &ConfigError{Problems: append([]Problem(nil), *c.problems...)}
}

// Has reports whether the parameter was given a non-null value.
func (c *Config) Has(name string) bool {
	raw, ok := c.params[name]
	return ok && !isNull(raw)
}

// decode unmarshals the parameter (or its default) into dst; it reports false when neither is set.
func (c *Config) decode(name string, dst any) bool {
	if raw, ok := c.params[name]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, dst); err != nil {
			c.Fail(name, CodeParamInvalid, err.Error())
			return false
		}
		return true
	}
	f := c.field(name)
	if f == nil || f.Default == nil {
		return false
	}
	b, _ := json.Marshal(f.Default)
	return json.Unmarshal(b, dst) == nil
}

// String returns a text parameter, or its default.
func (c *Config) String(name string) string {
	var s string
	c.decode(name, &s)
	return s
}

// Int returns an integer parameter, or its default.
func (c *Config) Int(name string) int {
	var n int
	c.decode(name, &n)
	return n
}

// Float returns a number parameter, or its default. Not for money: money parameters are text or minor units.
func (c *Config) Float(name string) float64 {
	var n float64
	c.decode(name, &n)
	return n
}

// Bool returns a boolean parameter, or its default.
func (c *Config) Bool(name string) bool {
	var b bool
	c.decode(name, &b)
	return b
}

// Duration returns a duration parameter ("30s", "5m", "1h30m"), or its default.
func (c *Config) Duration(name string) time.Duration {
	s := c.String(name)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		c.Fail(name, CodeParamInvalid, fmt.Sprintf("%q is not a duration such as 30s or 5m", s))
		return 0
	}
	if d < 0 {
		c.Fail(name, CodeParamInvalid, "duration must not be negative")
		return 0
	}
	return d
}

// JSON decodes a parameter of any shape into dst.
func (c *Config) JSON(name string, dst any) bool { return c.decode(name, dst) }

// Template compiles a text parameter that may interpolate {{ expr }}; it returns nil when the parameter is unset.
func (c *Config) Template(name string) *expression.Template {
	if !c.Has(name) && c.field(name) != nil && c.field(name).Default == nil {
		return nil
	}
	s := c.String(name)
	if s == "" && !c.Has(name) {
		return nil
	}
	t, err := expression.CompileTemplate(s)
	if err != nil {
		c.FailExpr(name, err)
		return nil
	}
	return t
}

// Expr compiles an expression parameter expecting result; it returns nil when the parameter is unset.
func (c *Config) Expr(name string, result expression.Result) *expression.Program {
	s := strings.TrimSpace(c.String(name))
	if s == "" {
		return nil
	}
	p, err := expression.Compile(s, result)
	if err != nil {
		c.FailExpr(name, err)
		return nil
	}
	return p
}

// KeyValue compiles an object parameter whose values may interpolate {{ expr }} (headers, query parameters).
func (c *Config) KeyValue(name string) map[string]*expression.Template {
	var m map[string]string
	if !c.decode(name, &m) || len(m) == 0 {
		return nil
	}
	out := make(map[string]*expression.Template, len(m))
	for k, v := range m {
		t, err := expression.CompileTemplate(v)
		if err != nil {
			c.FailExpr(name+"."+k, err)
			continue
		}
		out[k] = t
	}
	return out
}

// List returns one Config per row of a list parameter, checked against the field's row spec; problems found in
// rows are reported with paths like "fields[2].expression".
func (c *Config) List(name string) []*Config {
	var rows []map[string]json.RawMessage
	if !c.decode(name, &rows) {
		return nil
	}
	f := c.field(name)
	var sub []Field
	if f != nil {
		sub = f.Fields
	}
	out := make([]*Config, len(rows))
	for i, row := range rows {
		rc := &Config{Spec: c.Spec, NodeID: c.NodeID, Credential: c.Credential, params: row, fields: sub,
			prefix: fmt.Sprintf("%s[%d]", c.path(name), i), problems: c.problems}
		rc.checkAgainstSpec()
		out[i] = rc
	}
	return out
}

// EvalFailed turns an expression that failed at run time into a permanent step failure: the same data would
// fail the same way on every retry. Its code is the expression's (expression_failed, or expression_timeout and
// expression_memory_exceeded for an evaluation stopped at its limits), and the details name the parameter and,
// when known, the line and column, so the run view can point at the expression. who prefixes the message (the
// node type or connector).
func EvalFailed(who, field string, err error) error {
	details := map[string]any{"field": field}
	var ee *expression.Error
	if errors.As(err, &ee) && ee.Line > 0 {
		details["line"], details["column"] = ee.Line, ee.Column
	}
	return WithDetails(NewPermanent(expression.CodeOf(err), fmt.Errorf("%s: evaluate %s: %w", who, field, err)), details)
}

// Names reads a parameter that lists names (separated by commas, spaces or lines) as a set: the topics or event
// types a trigger accepts, where an empty set accepts all. A name valid refuses fails the parameter with
// "<name> is not <what>"; valid nil accepts any name.
func (c *Config) Names(name string, valid func(string) bool, what string) map[string]bool {
	out := map[string]bool{}
	for _, v := range strings.FieldsFunc(c.String(name), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		if valid != nil && !valid(v) {
			c.Fail(name, CodeParamInvalid, fmt.Sprintf("%q is not %s", v, what))
			continue
		}
		out[v] = true
	}
	return out
}
