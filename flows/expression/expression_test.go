package expression

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestCompileCachesPrograms(t *testing.T) {
	a, err := Compile(`lower(trigger.body.email)`, ResultAny)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compile(`lower(trigger.body.email)`, ResultAny)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("the same source compiled twice returned different programs")
	}
	c, err := Compile(`lower(trigger.body.email)`, ResultString)
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Fatal("programs with different result types share a cache entry")
	}
	if a.Source() != `lower(trigger.body.email)` {
		t.Fatalf("Source() = %q", a.Source())
	}
}

func TestCompileConcurrentlyReturnsOneProgram(t *testing.T) {
	const src = `trigger.body.concurrent + 1`
	var wg sync.WaitGroup
	progs := make([]*Program, 8)
	for i := range progs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			progs[i], _ = Compile(src, ResultAny)
		}()
	}
	wg.Wait()
	for _, p := range progs {
		if p == nil || p != progs[0] {
			t.Fatal("concurrent compiles of one source returned different programs")
		}
	}
}

func TestCompileCacheIsBounded(t *testing.T) {
	defer func(n int64) { maxCachedPrograms = n }(maxCachedPrograms)
	maxCachedPrograms = 10
	for i := 0; i < 50; i++ {
		if _, err := Compile(fmt.Sprintf("%d + trigger.body.n", i), ResultAny); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	cache.Range(func(any, any) bool { n++; return true })
	if n > 10 {
		t.Fatalf("cache holds %d programs, the bound is 10", n)
	}
}

func TestMisspeltVariableFailsAtCompileTime(t *testing.T) {
	runCompileErrorCases(t, []compileErrorCase{
		{`trigerr.body.email`, "unknown name trigerr", 1, 1},
		{`lower(trigger.body.email) + trigerr.body`, "unknown name trigerr", 1, 29},
		{"trigger.body.a +\n  trigerr.body.b", "unknown name trigerr", 2, 3},
		{`varz.x`, "unknown name varz", 1, 1},
		{`lowr(trigger.body.email)`, "unknown name lowr", 1, 1},
		{`"订单" + trigerr`, "unknown name trigerr", 1, 8}, // columns count characters, not bytes
	})
}

func TestEveryVariableIsDeclared(t *testing.T) {
	for _, v := range []string{VarTrigger, VarPrev, VarNodes, VarVars, VarEnv, VarRun} {
		if _, err := Compile(v, ResultAny); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	for _, src := range []string{`trigger.body.a.b.c`, `prev.amount`, `nodes.fetch_order.status`, `vars.x`, `run.attempt > 1`, `env == "live"`} {
		if _, err := Compile(src, ResultAny); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

func TestSyntaxErrorsHavePositions(t *testing.T) {
	runCompileErrorCases(t, []compileErrorCase{
		{`trigger.body.a +`, "unexpected token EOF", 1, 16},
		{"1 +\n  (2", "unexpected token EOF", 2, 4},
		{`trigger.body.a == "x`, "literal not terminated", 1, 21},
	})
}

func TestLimitsProduceTooLarge(t *testing.T) {
	_, err := Compile(strings.Repeat(" ", MaxSourceBytes)+"1", ResultAny)
	assertCompileError(t, err, CodeTooLarge, fmt.Sprintf("expression is %d bytes, the limit is %d", MaxSourceBytes+1, MaxSourceBytes), 0, 0)

	// Within the byte limit but over the node limit.
	src := "1" + strings.Repeat("+1", MaxNodes)
	if len(src) > MaxSourceBytes {
		t.Fatal("test source exceeds the byte limit")
	}
	_, err = Compile(src, ResultAny)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeTooLarge {
		t.Fatalf("got %v, want code %s", err, CodeTooLarge)
	}
	if _, err := Compile("1"+strings.Repeat("+1", MaxNodes/4), ResultAny); err != nil {
		t.Fatalf("an expression well within the limits failed: %v", err)
	}
}

func TestMemoryBudgetStopsHugeAllocations(t *testing.T) {
	p, err := Compile(`len(map(1..10000000, # * 2))`, ResultAny)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Eval(envWith(nil))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeMemory {
		t.Fatalf("got %v, want code %s", err, CodeMemory)
	}
}

func TestResultTypes(t *testing.T) {
	if _, err := Compile(`"yes"`, ResultBool); err == nil {
		t.Error("a string compiled as ResultBool")
	}
	if _, err := Compile(`1 + 1`, ResultString); err == nil {
		t.Error("a number compiled as ResultString")
	}
	if _, err := Compile(`"a"`, ResultNumber); err == nil {
		t.Error("a string compiled as ResultNumber")
	}

	p, err := Compile(`trigger.body.amount > 100 && env == "test"`, ResultBool)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := p.EvalBool(envWith(map[string]any{"amount": 149.99}))
	if err != nil || !ok {
		t.Fatalf("EvalBool = %v, %v", ok, err)
	}

	n, err := Compile(`len(trigger.body)`, ResultNumber)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := n.Eval(envWith([]any{1, 2})); err != nil || v != 2.0 {
		t.Fatalf("ResultNumber gave %T %v, %v; want float64 2", v, v, err)
	}

	anyProg, err := Compile(`trigger.body`, ResultAny)
	if err != nil {
		t.Fatal(err)
	}
	_, err = anyProg.EvalBool(envWith("text"))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeRuntime || !strings.Contains(e.Message, "produced string, want bool") {
		t.Fatalf("EvalBool of a string: %v", err)
	}
}

func TestRuntimeErrorsHavePositions(t *testing.T) {
	p, err := Compile("trigger.body.a +\n  toMinor(trigger.body.b, \"EUR\")", ResultAny)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Eval(envWith(map[string]any{"a": 1, "b": "abc"}))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v", err, err)
	}
	if e.Code != CodeRuntime || e.Line != 2 || e.Column < 3 || !strings.Contains(e.Message, `"abc" is not a decimal number`) {
		t.Fatalf("got %+v", e)
	}
	if !strings.Contains(e.Error(), "at line 2") {
		t.Fatalf("Error() = %q", e.Error())
	}
}

func TestEvalIsSafeForConcurrentUse(t *testing.T) {
	p, err := Compile(`toMinor(trigger.body.amount, trigger.body.currency) + len(trigger.body.items)`, ResultAny)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				body := map[string]any{"amount": float64(i) + 0.99, "currency": "EUR", "items": make([]any, g)}
				v, err := p.Eval(envWith(body))
				if want := fmt.Sprint(i*100 + 99 + g); err != nil || fmt.Sprint(v) != want {
					t.Errorf("got %v, %v; want %s", v, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
