package expression

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestTemplateSingleExpressionKeepsType(t *testing.T) {
	body := map[string]any{"amount": 149.99, "items": []any{1.0, 2.0}, "paid": true, "customer": map[string]any{"name": "Ada"}}
	for src, want := range map[string]any{
		"{{ trigger.body.amount }}":                   149.99,
		"{{trigger.body.paid}}":                       true,
		"{{ trigger.body.items }}":                    []any{1.0, 2.0},
		"{{ trigger.body.customer }}":                 map[string]any{"name": "Ada"},
		"{{ toMinor(trigger.body.amount, \"EUR\") }}": int64(14999),
		"{{ trigger.body.missing }}":                  nil,
		" {{ trigger.body.amount }}":                  " 149.99", // any text around it makes the result text
		"{{ trigger.body.amount }} EUR":               "149.99 EUR",
		"{{ trigger.body.amount }}{{ 1 }}":            "149.991",
	} {
		tpl, err := CompileTemplate(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, err := tpl.Eval(envWith(body))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		assertValue(t, got, want)
	}
}

func TestTemplateRendering(t *testing.T) {
	tpl, err := CompileTemplate("Order {{ trigger.body.id }} paid {{ fromMinor(trigger.body.minor, \"EUR\") }} EUR at {{ parseTime(trigger.body.at) }}; items {{ trigger.body.items }}{{ trigger.body.none }}.")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.EvalString(envWith(map[string]any{
		"id": "ord_1", "minor": 14999.0, "at": "2024-03-15T14:30:00+08:00", "items": []any{"a", 1e6},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `Order ord_1 paid 149.99 EUR at 2024-03-15T14:30:00+08:00; items ["a",1000000].`; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if tpl.Static() || tpl.Source() == "" {
		t.Fatal("a template with expressions reported static")
	}

	static, err := CompileTemplate("no expressions here }}")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := static.Eval(nil); !static.Static() || v != "no expressions here }}" {
		t.Fatalf("static template: %v", v)
	}
	if IsTemplate("plain") || !IsTemplate("a {{ b }}") {
		t.Fatal("IsTemplate")
	}
}

func TestTemplateCompileErrorPositions(t *testing.T) {
	for _, c := range []struct {
		src          string
		msg          string
		line, column int
	}{
		{"Hello {{ trigerr.x }}", "unknown name trigerr", 1, 10},
		{"{{trigerr}}", "unknown name trigerr", 1, 3},
		{"订单 {{ trigerr }}", "unknown name trigerr", 1, 7},
		{"Line one\nOrder {{ trigger.body.id }} and {{ trigerr.x }}", "unknown name trigerr", 2, 36},
		// An error on a later line of a multi-line expression keeps that line's own column.
		{"Line one\nOrder {{\n  trigger.body.id +\n    trigerr.x }}", "unknown name trigerr", 4, 5},
		{"a {{ 1 + }} b", "unexpected token", 1, 9},
		{"a\nb {{ md5(1) }}", "cannot use int as argument", 2, 10},
		{"x {{ toMinor(1, \"EURO\") }}", `unknown currency "EURO"`, 1, 17},
		{"a\n  {{ trigger.body.x", "unclosed {{ in template", 2, 3},
		{"a {{   }} b", "empty {{ }} in template", 1, 3},
	} {
		_, err := CompileTemplate(c.src)
		assertCompileError(t, err, CodeSyntax, c.msg, c.line, c.column)
	}
}

func TestTemplateRuntimeErrorPositions(t *testing.T) {
	tpl, err := CompileTemplate("Paid:\n  {{ trigger.body.id }} / {{ toMinor(trigger.body.amount, \"EUR\") }}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Eval(envWith(map[string]any{"id": "x", "amount": "lots"}))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v", err, err)
	}
	if e.Code != CodeRuntime || e.Line != 2 || e.Column < 27 {
		t.Fatalf("runtime error at %d:%d (%s), want line 2 from column 27", e.Line, e.Column, e.Message)
	}
}

func TestStringify(t *testing.T) {
	tenth, fifth := 0.1, 0.2
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"s", "s"},
		{true, "true"},
		{42, "42"},
		{int64(-7), "-7"},
		{1e21, "1000000000000000000000"},
		{tenth + fifth, "0.30000000000000004"},
		{json.Number("1.50"), "1.50"},
		{time.Date(2024, 3, 15, 14, 30, 0, 0, time.FixedZone("CST", 8*3600)), "2024-03-15T14:30:00+08:00"},
		{90 * time.Minute, "1h30m0s"},
		{[]byte("raw"), "raw"},
		{map[string]any{"b": 1, "a": "x"}, `{"a":"x","b":1}`},
		{[]any{1, "a", nil}, `[1,"a",null]`},
		{func() {}, ""},
	} {
		if got := Stringify(c.in); got != c.want {
			t.Errorf("Stringify(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}
