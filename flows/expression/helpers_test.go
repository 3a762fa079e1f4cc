package expression

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envWith builds the environment a flow step sees, with body as trigger.body.
func envWith(body any) map[string]any {
	return map[string]any{
		VarTrigger: map[string]any{"body": body, "headers": map[string]any{}, "method": "POST"},
		VarPrev:    nil,
		VarNodes:   map[string]any{},
		VarVars:    map[string]any{},
		VarEnv:     "test",
		VarRun:     map[string]any{"id": "run_1", "attempt": 1},
	}
}

// evalCase is one expression evaluated against trigger.body = body. Exactly one of want and err applies:
// err is a substring the runtime error message must contain.
type evalCase struct {
	src  string
	body any
	want any
	err  string
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			t.Helper()
			p, err := Compile(c.src, ResultAny)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got, err := p.Eval(envWith(c.body))
			if c.err != "" {
				assertRuntimeError(t, err, c.err)
				return
			}
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			assertValue(t, got, c.want)
		})
	}
}

func assertRuntimeError(t *testing.T, err error, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got none", contains)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %T: %v", err, err)
	}
	if e.Code != CodeRuntime {
		t.Errorf("code = %q, want %q", e.Code, CodeRuntime)
	}
	if !strings.Contains(e.Message, contains) {
		t.Errorf("message = %q, want it to contain %q", e.Message, contains)
	}
	if e.Line != 1 || e.Column < 1 {
		t.Errorf("position = %d:%d, want line 1 and a column", e.Line, e.Column)
	}
}

func assertValue(t *testing.T, got, want any) {
	t.Helper()
	if wt, ok := want.(time.Time); ok {
		gt, ok := got.(time.Time)
		if !ok {
			t.Fatalf("got %T %v, want time %v", got, got, wt)
		}
		if !gt.Equal(wt) || gt.Format(time.RFC3339Nano) != wt.Format(time.RFC3339Nano) {
			t.Fatalf("got %v, want %v", gt.Format(time.RFC3339Nano), wt.Format(time.RFC3339Nano))
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %T %#v, want %T %#v", got, got, want, want)
	}
}

// compileErrorCase is an expression that must fail to compile, at line:column.
type compileErrorCase struct {
	src    string
	msg    string
	line   int
	column int
}

func runCompileErrorCases(t *testing.T, cases []compileErrorCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			t.Helper()
			_, err := Compile(c.src, ResultAny)
			assertCompileError(t, err, CodeSyntax, c.msg, c.line, c.column)
		})
	}
}

func assertCompileError(t *testing.T, err error, code, msg string, line, column int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a compile error containing %q, got none", msg)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %T: %v", err, err)
	}
	if e.Code != code {
		t.Errorf("code = %q, want %q", e.Code, code)
	}
	if !strings.Contains(e.Message, msg) {
		t.Errorf("message = %q, want it to contain %q", e.Message, msg)
	}
	if e.Line != line || e.Column != column {
		t.Errorf("position = %d:%d, want %d:%d (%s)", e.Line, e.Column, line, column, e.Snippet)
	}
}

// call invokes a registered function directly, as expr would, for inputs a literal cannot express.
func call(t *testing.T, name string, params ...any) (any, error) {
	t.Helper()
	fn, ok := functionImpls[name]
	if !ok {
		t.Fatalf("no function %q", name)
	}
	return fn(params...)
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
