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
	// limited marks templates that need a budget to evaluate: one that joins values into text (the text can be
	// many times the size of the values: {{ trigger }} written a thousand times), or a single guarded program.
	limited bool
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
		t.limited = t.single.slot >= 0
	} else {
		t.limited = !t.Static()
	}
	return t, nil
}

// evalPart evaluates one expression of the template on m, placing a runtime error within the whole template.
func (t *Template) evalPart(m *machine, p templatePart, env map[string]any) (any, error) {
	v, err := m.run(p.prog, env)
	if err != nil {
		return nil, shiftError(err, t.src, p.offset)
	}
	return v, nil
}

// partError places an error of the template's own work on a part (writing its value out, joining it) at the
// start of the part.
func (t *Template) partError(m *machine, p templatePart, err error) error {
	e := runtimeError(err, &m.budget).(*Error)
	e.Line, e.Column = 1, 1
	return shiftError(e, t.src, p.offset)
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

// Eval renders the template against env, under the limits of env's mode (LimitsFor).
func (t *Template) Eval(env map[string]any) (any, error) {
	return t.EvalLimits(env, LimitsFor(env))
}

// EvalLimits renders the template against env under l: its expressions and the text they are joined into share
// one budget.
func (t *Template) EvalLimits(env map[string]any, l Limits) (any, error) {
	if t.Static() {
		if len(t.parts) == 0 {
			return "", nil
		}
		return t.parts[0].text, nil
	}
	m := getMachine()
	defer m.release()
	if t.limited {
		m.budget.start(l)
	}
	if t.single != nil {
		return t.evalPart(m, t.parts[0], env)
	}
	// The parts are joined once their size is known, into a text accounted before it is built.
	texts := make([]string, len(t.parts))
	size := 0
	for i, p := range t.parts {
		text := p.text
		if p.prog != nil {
			v, err := t.evalPart(m, p, env)
			if err != nil {
				return nil, err
			}
			if text, err = stringify(&m.budget, v); err != nil {
				return nil, t.partError(m, p, err)
			}
		}
		if err := m.budget.take(int64(len(text))); err != nil {
			return nil, t.partError(m, p, err)
		}
		texts[i] = text
		size += len(text)
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, text := range texts {
		sb.WriteString(text)
	}
	return sb.String(), nil
}

// EvalString renders the template and converts the result to text.
func (t *Template) EvalString(env map[string]any) (string, error) {
	v, err := t.Eval(env)
	if err != nil {
		return "", err
	}
	return Stringify(v), nil
}

// stringify is Stringify within a budget: a list or object is measured before it is written out, and the text
// written is accounted.
func stringify(b *budget, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case nil, bool, int, int64, float64, json.Number, time.Time, time.Duration:
		s := Stringify(v)
		return s, b.grow(s)
	}
	if err := writable(b, v, false); err != nil {
		return "", err
	}
	s := Stringify(v)
	return s, b.grow(s)
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
