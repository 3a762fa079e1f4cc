package core

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

func codeParams(t testing.TB, mode, code string, extra ...string) string {
	t.Helper()
	p := map[string]any{"mode": mode, "code": code}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i]] = extra[i+1]
	}
	return mustJSON(t, p)
}

func TestCodeAll(t *testing.T) {
	n := mustBuild(t, CodeType, codeParams(t, "all", `
let cents = 0;
for (const l of $input.lines) cents += l.qty * l.price_cents;
return {
  order_id: $input.id, total_cents: cents, half: cents / 2, big: $input.big,
  when: new Date(Date.UTC(2026, 11, 8, 1, 2, 3)), env: $env, first: $trigger.lines[0].qty,
  skipped: undefined, list: [1, undefined, "x"], amount: $input.amount,
};`))
	input := map[string]any{"id": "A1", "big": int64(1) << 60, "amount": "149.99", "lines": []any{
		map[string]any{"qty": int64(2), "price_cents": int64(1250)},
		map[string]any{"qty": int64(1), "price_cents": int64(499)},
	}}
	res, err := run(t, n, input)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"order_id": "A1", "total_cents": int64(2999), "half": 1499.5, "big": float64(1 << 60),
		"when": "2026-12-08T01:02:03Z", "env": "live", "first": int64(2),
		"list": []any{int64(1), nil, "x"}, "amount": "149.99",
	}
	if !reflect.DeepEqual(res.Output, want) {
		t.Fatalf("output = %#v\nwant %#v", res.Output, want)
	}
}

func TestCodeCopiesItsInput(t *testing.T) {
	n := mustBuild(t, CodeType, codeParams(t, "all", `$input.a.b = 2; $input.list.push(3); return $input;`))
	input := map[string]any{"a": map[string]any{"b": int64(1)}, "list": []any{int64(1)}}
	res, err := run(t, n, input)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(input, map[string]any{"a": map[string]any{"b": int64(1)}, "list": []any{int64(1)}}) {
		t.Fatalf("the script changed the run's data: %v", input)
	}
	if !reflect.DeepEqual(res.Output, map[string]any{"a": map[string]any{"b": int64(2)}, "list": []any{int64(1), int64(3)}}) {
		t.Fatalf("output = %#v", res.Output)
	}
}

func TestCodeNodesAndVars(t *testing.T) {
	n := mustBuild(t, CodeType, codeParams(t, "all", `return [$nodes.fetch.count + 1, $vars.tier, $run.id];`))
	e := env(nil, nil)
	e["nodes"] = map[string]any{"fetch": map[string]any{"count": int64(41)}}
	e["vars"] = map[string]any{"tier": "high"}
	res, err := n.Execute(t.Context(), &nodes.Exec{Env: e})
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{int64(42), "high", "run1"}; !reflect.DeepEqual(res.Output, want) {
		t.Fatalf("output = %#v, want %#v", res.Output, want)
	}
}

func TestCodeEach(t *testing.T) {
	n := mustBuild(t, CodeType, codeParams(t, "each", `
if ($item.skip) return null;
if ($item.gone) return;
return { sku: $item.id, pos: $index + 1 };`))
	res, err := run(t, n, []any{
		map[string]any{"id": "a"}, map[string]any{"id": "b", "skip": true},
		map[string]any{"id": "c", "gone": true}, map[string]any{"id": "d"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{map[string]any{"sku": "a", "pos": int64(1)}, map[string]any{"sku": "d", "pos": int64(4)}}
	if !reflect.DeepEqual(res.Output, want) {
		t.Fatalf("output = %#v, want %#v", res.Output, want)
	}

	n = mustBuild(t, CodeType, codeParams(t, "each", `return $item * 2;`, "items", "prev.numbers"))
	res, err = run(t, n, map[string]any{"numbers": []any{int64(1), int64(2)}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{int64(2), int64(4)}; !reflect.DeepEqual(res.Output, want) {
		t.Fatalf("output = %#v, want %#v", res.Output, want)
	}

	_, err = run(t, mustBuild(t, CodeType, codeParams(t, "each", "if ($index === 1) {\n  return $item.x.y;\n}\nreturn $item;")),
		[]any{map[string]any{}, map[string]any{}})
	e := wantFailure(t, err, nodes.Permanent, CodeCodeFailed)
	if d := e.Details.(map[string]any); d["item"] != 1 || d["line"] != 2 || !strings.Contains(err.Error(), "item 1: TypeError") {
		t.Fatalf("details = %v, error %q", d, err)
	}
	_, err = run(t, mustBuild(t, CodeType, codeParams(t, "each", `return $item;`)), map[string]any{"a": 1})
	wantFailure(t, err, nodes.Permanent, CodeCodeItemsInvalid)
	_, err = run(t, mustBuild(t, CodeType, codeParams(t, "each", `return $item;`, "items", "prev.a.b")), map[string]any{})
	wantFailure(t, err, nodes.Permanent, "expression_failed")
}

func TestCodeSyntaxErrorAtSave(t *testing.T) {
	for _, tc := range []struct {
		code         string
		line, column int
	}{
		{"let a = 1;\nlet b = ;\nreturn a;", 2, 9},
		{"return {a: 1", 1, 13},
		{"let x = 1;\nlet x = 2;", 2, 5},
		{"with ({}) {}", 1, 1},
		{"return 1;\n}); (function () {", 1, 1},
	} {
		_, err := build(t, CodeType, codeParams(t, "all", tc.code), "")
		p := wantProblem(t, err, "code", CodeCodeSyntax)
		if p.Line != tc.line || (tc.column != 0 && p.Column != tc.column) {
			t.Errorf("%q: problem at %d:%d (%s), want %d:%d", tc.code, p.Line, p.Column, p.Message, tc.line, tc.column)
		}
		if !strings.HasPrefix(p.Message, "SyntaxError") {
			t.Errorf("%q: message %q", tc.code, p.Message)
		}
	}
	_, err := build(t, CodeType, codeParams(t, "all", "  "), "")
	wantProblem(t, err, "code", nodes.CodeParamRequired)
	_, err = build(t, CodeType, codeParams(t, "all", "return 1", "timeout", "1m"), "")
	wantProblem(t, err, "timeout", nodes.CodeParamInvalid)
	_, err = build(t, CodeType, codeParams(t, "all", "return 1 //"+strings.Repeat("x", MaxCodeSourceBytes)), "")
	wantProblem(t, err, "code", nodes.CodeParamInvalid)
}

func TestCodeRuntimeError(t *testing.T) {
	n := mustBuild(t, CodeType, codeParams(t, "all", "console.log('checking', {id: $input.id});\nconst a = $input.missing;\nreturn  a.b;"))
	_, err := run(t, n, map[string]any{"id": "x"})
	e := wantFailure(t, err, nodes.Permanent, CodeCodeFailed)
	d := e.Details.(map[string]any)
	if d["line"] != 3 || d["column"] != 11 {
		t.Fatalf("details = %v (%v), want line 3, column 11", d, err)
	}
	if !strings.Contains(err.Error(), "TypeError") || !strings.Contains(err.Error(), "line 3, column 11") {
		t.Fatalf("message = %q", err)
	}
	if logs := d["logs"].([]string); len(logs) != 1 || logs[0] != `checking {"id":"x"}` {
		t.Fatalf("logs = %q", logs)
	}

	_, err = run(t, mustBuild(t, CodeType, codeParams(t, "all", "\n  throw new Error('no stock');")), nil)
	e = wantFailure(t, err, nodes.Permanent, CodeCodeFailed)
	if d := e.Details.(map[string]any); d["line"] != 2 || !strings.Contains(err.Error(), "Error: no stock") {
		t.Fatalf("details = %v, error %q", d, err)
	}
	_, err = run(t, mustBuild(t, CodeType, codeParams(t, "all", "undeclared = 1; return 1;")), nil)
	if e := wantFailure(t, err, nodes.Permanent, CodeCodeFailed); !strings.Contains(err.Error(), "ReferenceError") {
		t.Fatalf("strict mode: %v (%+v)", err, e)
	}
}

func TestCodeLimits(t *testing.T) {
	for _, tc := range []struct{ name, code, want string }{
		{"infinite loop", "while (true) {}", CodeCodeTimeout},
		{"recursion", "function f(n) { return f(n + 1) + 1; }\nreturn f(0);", CodeCodeMemory},
		{"repeat", "return 'abc'.repeat(1 << 30).length;", CodeCodeMemory},
		{"padStart", "return ''.padStart(1e12, 'x').length;", CodeCodeMemory},
		{"output", "return 'x'.repeat(1 << 20);", CodeCodeOutputTooLarge},
		{"long list", "return new Array(1e9);", CodeCodeOutputTooLarge},
		{"many items", "const out = []; for (let i = 0; i < 50000; i++) out.push({id: i, name: 'customer ' + i}); return out;", CodeCodeOutputTooLarge},
		{"function", "return {f: function () {}};", CodeCodeResultInvalid},
		{"symbol", "return [Symbol('x')];", CodeCodeResultInvalid},
		{"NaN", "return {n: 0 / 0};", CodeCodeResultInvalid},
		{"cycle", "const a = {}; a.self = a; return a;", CodeCodeResultInvalid},
		{"map", "return new Map([[1, 2]]);", CodeCodeResultInvalid},
		{"getter throws", "return { get x() { throw new TypeError('nope'); } };", CodeCodeFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := "5s" // the other limits must stop the script, even on a slow machine
			if tc.want == CodeCodeTimeout {
				limit = "200ms"
			}
			n := mustBuild(t, CodeType, codeParams(t, "all", tc.code, "timeout", limit))
			start := time.Now()
			_, err := run(t, n, nil)
			wantFailure(t, err, nodes.Permanent, tc.want)
			if d := time.Since(start); d > 4*time.Second {
				t.Fatalf("stopped after %s", d)
			}
		})
	}
	// A loop over items stops at the limit of the whole execution, not of each item.
	n := mustBuild(t, CodeType, codeParams(t, "each", "for (;;) {}", "timeout", "100ms"))
	_, err := run(t, n, []any{int64(1), int64(2), int64(3)})
	wantFailure(t, err, nodes.Permanent, CodeCodeTimeout)
}

func TestCodeCancelled(t *testing.T) {
	n := mustBuild(t, CodeType, codeParams(t, "all", "while (true) {}", "timeout", "10s"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := n.Execute(ctx, &nodes.Exec{Env: env(nil, nil)})
	if err == nil || nodes.Classify(err).Kind == nodes.Permanent {
		t.Fatalf("err = %v, want the context's error", err)
	}
}

func TestCodeSandboxHasNoWayOut(t *testing.T) {
	n := mustBuild(t, CodeType, codeParams(t, "all", `
const names = ["require", "process", "fetch", "setTimeout", "setInterval", "setImmediate", "XMLHttpRequest",
  "module", "exports", "Deno", "Bun", "globalThis.require"];
const out = {};
for (const name of names) out[name] = eval("typeof " + name);
return out;`))
	res, err := run(t, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range res.Output.(map[string]any) {
		if typ != "undefined" {
			t.Errorf("typeof %s = %v, want undefined", name, typ)
		}
	}
}

func TestCodeRunsAreIsolated(t *testing.T) {
	n := mustBuild(t, CodeType, codeParams(t, "all", `
const seen = globalThis.counter || 0;
globalThis.counter = seen + 1;
Array.prototype.leak = true;
return seen;`))
	for range 3 {
		res, err := run(t, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Output != int64(0) {
			t.Fatalf("a run saw the state of an earlier run: %v", res.Output)
		}
	}
}

func TestCodeConcurrent(t *testing.T) {
	n := mustBuild(t, CodeType, codeParams(t, "each", `return { id: $item.id, double: $item.n * 2, env: $env };`))
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Go(func() {
			items := make([]any, 20)
			for i := range items {
				items[i] = map[string]any{"id": fmt.Sprintf("%d-%d", g, i), "n": int64(i)}
			}
			res, err := n.Execute(context.Background(), &nodes.Exec{Input: items, Env: env(items, items)})
			if err != nil {
				errs <- err
				return
			}
			out := res.Output.([]any)
			for i, o := range out {
				m := o.(map[string]any)
				if m["id"] != fmt.Sprintf("%d-%d", g, i) || m["double"] != int64(2*i) {
					errs <- fmt.Errorf("goroutine %d item %d = %v", g, i, m)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkCodeNode is one execution of a small mapping script, from a fresh interpreter to the converted result.
func BenchmarkCodeNode(b *testing.B) {
	n := mustBuild(b, CodeType, codeParams(b, "all", `return {
  order_id: $input.id, email: $input.customer.email.toLowerCase(), amount: $input.amount,
  items: $input.items.length, tier: $input.amount_cents > 10000 ? "high" : "standard" };`))
	input := map[string]any{"id": "ord_8f3a2c91d4", "amount": "149.99", "amount_cents": int64(14999),
		"customer": map[string]any{"email": "Ada.Lovelace@Example.com", "name": "Ada Lovelace"},
		"items":    []any{map[string]any{"sku": "A"}, map[string]any{"sku": "B"}}}
	x := &nodes.Exec{Input: input, Env: env(input, input)}
	ctx := context.Background()
	for b.Loop() {
		if _, err := n.Execute(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
}
