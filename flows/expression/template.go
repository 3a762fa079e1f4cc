package expression

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Template is a string parameter that may interpolate expressions: "Order {{ trigger.body.order_id }} paid".
// A template that is a single {{ }} and nothing else evaluates to the expression's value with its type kept, so
// "{{ trigger.body.amount }}" stays a number.
type Template struct {
	src    string
	parts  []templatePart
	single *Program
}

type templatePart struct {
	text   string
	prog   *Program
	offset int // byte offset of the expression in the template, to place its runtime errors
}

// IsTemplate reports whether s interpolates any expression.
func IsTemplate(s string) bool { return strings.Contains(s, "{{") }

// CompileTemplate compiles every {{ }} in src. Errors carry line and column within src.
func CompileTemplate(src string) (*Template, error) {
	t := &Template{src: src}
	rest, offset := src, 0
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			if rest != "" {
				t.parts = append(t.parts, templatePart{text: rest})
			}
			break
		}
		if open > 0 {
			t.parts = append(t.parts, templatePart{text: rest[:open]})
		}
		closeAt := strings.Index(rest[open+2:], "}}")
		if closeAt < 0 {
			line, col := position(src, offset+open)
			return nil, &Error{Code: CodeSyntax, Message: "unclosed {{ in template", Line: line, Column: col}
		}
		exprSrc := rest[open+2 : open+2+closeAt]
		if strings.TrimSpace(exprSrc) == "" {
			line, col := position(src, offset+open)
			return nil, &Error{Code: CodeSyntax, Message: "empty {{ }} in template", Line: line, Column: col}
		}
		prog, err := Compile(exprSrc, ResultAny)
		if err != nil {
			return nil, shiftError(err, src, offset+open+2)
		}
		t.parts = append(t.parts, templatePart{prog: prog, offset: offset + open + 2})
		consumed := open + 2 + closeAt + 2
		rest, offset = rest[consumed:], offset+consumed
	}
	if len(t.parts) == 1 && t.parts[0].prog != nil {
		t.single = t.parts[0].prog
	}
	return t, nil
}

// evalPart evaluates one expression of the template, placing a runtime error within the whole template.
func (t *Template) evalPart(p templatePart, env map[string]any) (any, error) {
	v, err := p.prog.Eval(env)
	if err != nil {
		return nil, shiftError(err, t.src, p.offset)
	}
	return v, nil
}

// Source returns the template text.
func (t *Template) Source() string { return t.src }

// Static reports whether the template has no expressions, so its value never changes.
func (t *Template) Static() bool {
	for _, p := range t.parts {
		if p.prog != nil {
			return false
		}
	}
	return true
}

// Eval renders the template against env.
func (t *Template) Eval(env map[string]any) (any, error) {
	if t.single != nil {
		return t.evalPart(t.parts[0], env)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := t.evalPart(p, env)
		if err != nil {
			return nil, err
		}
		b.WriteString(Stringify(v))
	}
	return b.String(), nil
}

// EvalString renders the template and converts the result to text.
func (t *Template) EvalString(env map[string]any) (string, error) {
	v, err := t.Eval(env)
	if err != nil {
		return "", err
	}
	return Stringify(v), nil
}

// Stringify turns a value into the text a template shows for it: nil is empty, numbers are printed without
// exponent or trailing zeros, times in RFC 3339, objects and lists as JSON.
func Stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	case []byte:
		return string(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	}
}

// position returns the 1-based line and column of byte offset off in src, counting runes.
func position(src string, off int) (line, col int) {
	line, col = 1, 1
	for i, r := range src {
		if i >= off {
			break
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// shiftError moves an error found in an embedded expression to its place in the whole template.
func shiftError(err error, src string, exprOffset int) error {
	e, ok := err.(*Error)
	if !ok || e.Line == 0 {
		return err
	}
	line, col := position(src, exprOffset)
	shifted := *e
	if e.Line == 1 {
		shifted.Column = col + e.Column - 1
	}
	shifted.Line = line + e.Line - 1
	return &shifted
}
