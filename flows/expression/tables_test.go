package expression

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func testTables() Tables {
	other := "other"
	return Tables{
		"status": {Entries: map[string]string{"TRADE_SUCCESS": "paid", "TRADE_CLOSED": "cancelled"}, Default: &other},
		"strict": {Entries: map[string]string{"a": "A", "1": "one"}},
	}
}

func TestCompileWithTables(t *testing.T) {
	tables := testTables()
	tests := []struct {
		src  string
		body any
		want any
		err  string
	}{
		{src: `lookup(trigger.body.s, tables.status)`, body: map[string]any{"s": "TRADE_SUCCESS"}, want: "paid"},
		{src: `lookup(trigger.body.s, tables.status)`, body: map[string]any{"s": "WAIT_BUYER_PAY"}, want: "other"},
		{src: `lookup(trigger.body.s, tables["status"])`, body: map[string]any{"s": "WAIT_BUYER_PAY"}, want: "other"},
		{src: `lookup(trigger.body.s, tables?.status)`, body: map[string]any{"s": "nope"}, want: "other"},
		{src: `lookup(trigger.body.s, tables.status)`, body: map[string]any{}, want: "other"}, // null is missing too
		{src: `lookup(trigger.body.s, tables.status, "explicit")`, body: map[string]any{"s": "nope"}, want: "explicit"},
		{src: `lookup(trigger.body.s, tables.status, nil)`, body: map[string]any{"s": "nope"}, want: nil},
		{src: `lookup(trigger.body.s, tables.strict)`, body: map[string]any{"s": "a"}, want: "A"},
		{src: `lookup(trigger.body.s, tables.strict)`, body: map[string]any{"s": 1}, want: "one"},
		{src: `lookup(trigger.body.s, tables.strict)`, body: map[string]any{"s": "b"},
			err: `lookup: no entry for "b" in the table (it has "1", "a")`},
		{src: `tables.status[trigger.body.s] ?? "unmapped"`, body: map[string]any{"s": "nope"}, want: "unmapped"},
		{src: `tables.status[trigger.body.s]`, body: map[string]any{"s": "TRADE_CLOSED"}, want: "cancelled"},
		{src: `tables.status.TRADE_CLOSED`, want: "cancelled"},
		{src: `tables[trigger.body.t][trigger.body.s]`, body: map[string]any{"t": "strict", "s": "a"}, want: "A"},
		// A table picked at run time is a plain object: no default through lookup.
		{src: `lookup(trigger.body.s, tables[trigger.body.t])`, body: map[string]any{"t": "status", "s": "x"}, err: "no entry"},
		{src: `len(tables)`, want: 2},
		{src: `upper(lookup(trigger.body.s, tables.status))`, body: map[string]any{"s": "TRADE_SUCCESS"}, want: "PAID"},
		{src: `map(trigger.body.list, lookup(#, tables.status))`, body: map[string]any{"list": []any{"TRADE_CLOSED", "?"}}, want: []any{"cancelled", "other"}},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			p, err := CompileWithTables(tc.src, ResultAny, tables)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got, err := p.Eval(envWith(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestCompileWithTablesErrors(t *testing.T) {
	tests := []struct {
		src, code, msg string
		line, col      int
	}{
		{`lookup(trigger.body.s, tables.stauts)`, CodeUnknownTable, `there is no lookup table "stauts"; the node has "status", "strict"`, 1, 31},
		{"1 +\n  len(tables[\"nope\"])", CodeUnknownTable, `"nope"`, 2, 14},
		{`let tables = 1; tables`, CodeUnknownTable, "choose another name", 1, 5},
		{`lookup(trigger.body.s, tables.status`, CodeSyntax, "", 0, 0},
		{`tables.status + 1`, CodeSyntax, "", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := CompileWithTables(tc.src, ResultAny, testTables())
			var ee *Error
			if !errors.As(err, &ee) || ee.Code != tc.code {
				t.Fatalf("err = %#v, want code %s", err, tc.code)
			}
			if !strings.Contains(ee.Message, tc.msg) {
				t.Fatalf("message = %q, want %q", ee.Message, tc.msg)
			}
			if tc.line > 0 && (ee.Line != tc.line || ee.Column != tc.col) {
				t.Fatalf("position = %d:%d, want %d:%d", ee.Line, ee.Column, tc.line, tc.col)
			}
		})
	}
	// A node without tables says so.
	_, err := CompileWithTables(`tables.status`, ResultAny, nil)
	if err == nil || !strings.Contains(err.Error(), "this node has no lookup tables") {
		t.Fatalf("err = %v", err)
	}
	// Without tables in the expression nothing changes: the plain program is shared.
	a, _ := CompileWithTables(`trigger.body.x`, ResultAny, testTables())
	b, _ := Compile(`trigger.body.x`, ResultAny)
	if a != b {
		t.Fatal("an expression without tables was compiled apart from the shared cache")
	}
}

// The same text over different tables is a different program; over equal tables it is the same.
func TestCompileWithTablesCache(t *testing.T) {
	x, y := "x", "y"
	src := `lookup("missing", tables.t)`
	p1, _ := CompileWithTables(src, ResultAny, Tables{"t": {Entries: map[string]string{}, Default: &x}})
	p2, _ := CompileWithTables(src, ResultAny, Tables{"t": {Entries: map[string]string{}, Default: &y}})
	p3, _ := CompileWithTables(src, ResultAny, Tables{"t": {Entries: map[string]string{}, Default: &x}})
	v1, _ := p1.Eval(envWith(nil))
	v2, _ := p2.Eval(envWith(nil))
	if v1 != "x" || v2 != "y" {
		t.Fatalf("got %v and %v, want x and y", v1, v2)
	}
	if p1 != p3 {
		t.Fatal("equal tables did not share the compiled program")
	}
}

// Runs share one program; the tables baked into it are read, never written.
func TestCompileWithTablesConcurrent(t *testing.T) {
	p, err := CompileWithTables(`lookup(trigger.body.s, tables.status)`, ResultAny, testTables())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				s, want := "TRADE_SUCCESS", "paid"
				if (i+j)%2 == 0 {
					s, want = "unknown", "other"
				}
				if got, err := p.Eval(envWith(map[string]any{"s": s})); err != nil || got != want {
					t.Errorf("got %v, %v; want %v", got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
