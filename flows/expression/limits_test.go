package expression

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr"
)

// attack is an expression written to exhaust the server, and the code that must stop it.
type attack struct {
	name, src string
	body      any
	code      string
	template  bool
}

// bigText is a payload field of 100 KiB, so that lists of references to it are large when written out.
var bigText = strings.Repeat("ferry ", 100<<10/6)

// memoryAttacks each build, or make a function build, hundreds of megabytes to gigabytes.
var memoryAttacks = []attack{
	{name: "text doubled by reduce", src: `reduce(1..27, #acc + #acc, "x")`, code: CodeMemory},
	{name: "repeat with a huge count", src: `repeat("x", 10000000000)`, code: CodeMemory},
	{name: "repeat of a repeat", src: `repeat(repeat("x", 100000), 2000)`, code: CodeMemory},
	{name: "nested map over ranges", src: `map(1..3000, map(1..3000, # * 2))`, code: CodeMemory},
	{name: "lists doubled by concat", src: `reduce(1..25, concat(#acc, #acc), [1])`, code: CodeMemory},
	{name: "result referring to a large text many times", src: `map(1..2000, trigger.body)`, body: bigText, code: CodeMemory},
	{name: "toJSON of many references", src: `toJSON(map(1..2000, trigger.body))`, body: bigText, code: CodeMemory},
	{name: "string of many references", src: `string(map(1..2000, trigger.body))`, body: bigText, code: CodeMemory},
	{name: "toString of many references", src: `toString(map(1..2000, trigger.body))`, body: bigText, code: CodeMemory},
	{name: "join of many references", src: `join(map(1..2000, trigger.body), ",")`, body: bigText, code: CodeMemory},
	{name: "replace at every character", src: `replace(trigger.body, "", trigger.body)`, body: bigText[:10000], code: CodeMemory},
	{name: "regexReplace at every position", src: `regexReplace(trigger.body, "", repeat(trigger.body, 5))`, body: bigText[:2000], code: CodeMemory},
	{name: "split into characters", src: `split(repeat("ab", 2000000), "")`, code: CodeMemory},
	{name: "fromJSON of many empty lists", src: `fromJSON("[" + repeat("[],", 1000000) + "[]]")`, code: CodeMemory},
	{name: "jsonGet of many empty lists", src: `jsonGet("[" + repeat("[],", 1000000) + "[]]", "[0]")`, code: CodeMemory},
	{name: "flatten of many references", src: `flatten(map(1..400, trigger.body))`, body: toAnyList(strings.Split(strings.Repeat("x", 20000), "")), code: CodeMemory},
	{name: "value nested too deep", src: `reduce(1..300, [#acc], [])`, code: CodeMemory},
	{name: "template joining a large value many times", src: strings.Repeat("{{ trigger.body }},", 400), body: bigText, code: CodeMemory, template: true},
}

// slowAttacks each take minutes to hours.
var slowAttacks = []attack{
	{name: "nested all", src: `let r = 1..10000; all(r, all(r, all(r, # > 0)))`, code: CodeTimeout},
	{name: "nested any", src: `let r = 1..10000; any(r, any(r, any(r, # < 0)))`, code: CodeTimeout},
	{name: "nested map", src: `let r = 1..30000; len(map(r, count(r, # % 7 == 0)))`, code: CodeTimeout},
	{name: "uniq comparing every pair", src: `len(uniq(1..300000))`, code: CodeTimeout},
	{name: "comparisons of payload lists", src: `count(1..1000000, trigger.body.a == trigger.body.b)`, code: CodeTimeout,
		body: map[string]any{"a": toAnyList(strings.Split(strings.Repeat("x", 10000), "")), "b": toAnyList(strings.Split(strings.Repeat("x", 10000), ""))}},
}

// testLimits are the limits the attacks run under: a test run's budget, and all the time it takes.
var testLimits = Limits{Time: time.Hour, Bytes: 16 << 20}

// evalAttack evaluates a on a machine of its own and returns how many guard ticks it took and the error.
func evalAttack(t *testing.T, a attack, l Limits) (uint64, error) {
	t.Helper()
	env := envWith(a.body)
	if a.template {
		tmpl, err := CompileTemplate(a.src)
		if err != nil {
			t.Fatalf("compile: %v", err)
		}
		_, err = tmpl.EvalLimits(env, l)
		return 0, err
	}
	p, err := Compile(a.src, ResultAny)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	m := getMachine()
	defer m.release()
	m.budget.start(l)
	_, err = m.run(p, env)
	return m.budget.ticks, err
}

func assertStopped(t *testing.T, err error, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an evaluation stopped with %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%s), want %s", e.Code, e.Message, code)
	}
	return e
}

// assertNothingRunning fails when an evaluation still runs in some goroutine of the process.
func assertNothingRunning(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	if bytes.Contains(buf, []byte("expr-lang/expr/vm.(*VM).Run")) {
		t.Fatalf("an evaluation is still running after the call returned:\n%s", buf)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC() // the second cycle frees what sync.Pool's victim cache held
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestMemoryAttacksStopBeforeBuildingAndGiveTheMemoryBack(t *testing.T) {
	before := heapInUse()
	for _, a := range memoryAttacks {
		t.Run(a.name, func(t *testing.T) {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			_, err := evalAttack(t, a, testLimits)
			runtime.ReadMemStats(&m1)
			e := assertStopped(t, err, a.code)
			if e.Line < 1 || e.Column < 1 {
				t.Errorf("position %d:%d, want where the evaluation stopped", e.Line, e.Column)
			}
			// The evaluation never allocated much more than its budget, whatever it set out to build.
			if allocated := m1.TotalAlloc - m0.TotalAlloc; allocated > 3*uint64(testLimits.Bytes) {
				t.Errorf("the evaluation allocated %d MiB, its budget is %d MiB", allocated>>20, testLimits.Bytes>>20)
			}
			assertNothingRunning(t)
		})
	}
	if after := heapInUse(); after > before+8<<20 {
		t.Fatalf("heap grew from %d MiB to %d MiB after the evaluations stopped", before>>20, after>>20)
	}
}

// fakeClock makes time pass by step at every reading, so the time limit is reached after a known number of
// readings whatever the machine's speed.
type fakeClock struct {
	mu       sync.Mutex
	t        time.Time
	step     time.Duration
	readings int
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	c.readings++
	return c.t
}

func TestSlowAttacksStopAtTheTimeLimit(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1700000000, 0), step: 10 * time.Millisecond}
	defer func(f func() time.Time) { now = f }(now)
	now = clock.now
	limits := Limits{Time: time.Second, Bytes: 16 << 20}
	// The first reading starts the time limit; it is passed at the 101st reading after it.
	maxReadings := int(limits.Time/clock.step) + 2
	// The clock is read after every clockEvery ticks of work, or after an allocation counted at once (a tick
	// per KiB, at most the whole budget).
	maxTicks := uint64(maxReadings)*clockEvery + uint64(limits.Bytes>>10)
	for _, a := range slowAttacks {
		t.Run(a.name, func(t *testing.T) {
			clock.readings = 0
			ticks, err := evalAttack(t, a, limits)
			e := assertStopped(t, err, a.code)
			if e.Line < 1 || e.Column < 1 {
				t.Errorf("position %d:%d, want where the evaluation stopped", e.Line, e.Column)
			}
			if clock.readings > maxReadings {
				t.Errorf("the clock was read %d times, the limit is passed at reading %d", clock.readings, maxReadings)
			}
			if ticks > maxTicks {
				t.Errorf("the evaluation went on for %d ticks, at most %d fit in the limit", ticks, maxTicks)
			}
			assertNothingRunning(t)
		})
	}
}

func TestLimitsFollowTheRunMode(t *testing.T) {
	if got := LimitsFor(map[string]any{VarEnv: "live"}); got != LiveLimits {
		t.Errorf("live run: %+v", got)
	}
	for _, env := range []map[string]any{{VarEnv: "test"}, {}, nil, {VarEnv: 1}} {
		if got := LimitsFor(env); got != TestLimits {
			t.Errorf("%v: %+v, want the test limits", env, got)
		}
	}
	if !(PreviewLimits.Time <= TestLimits.Time && TestLimits.Time <= LiveLimits.Time &&
		PreviewLimits.Bytes <= TestLimits.Bytes && TestLimits.Bytes <= LiveLimits.Bytes) {
		t.Error("previews must be held tighter than test runs, and test runs than live runs")
	}

	// A live run gets its larger budget: 40 MiB is refused in a test run and built in a live one.
	p, err := Compile(`len(repeat("x", 40 * 1024 * 1024))`, ResultAny)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Eval(map[string]any{VarEnv: "test"})
	assertStopped(t, err, CodeMemory)
	if v, err := p.Eval(map[string]any{VarEnv: "live"}); err != nil || v != 40<<20 {
		t.Fatalf("live run: %v, %v", v, err)
	}
}

func TestTemplateLimitErrorNamesThePart(t *testing.T) {
	tmpl, err := CompileTemplate("Order {{ trigger.body }}\nagain {{ trigger.body + trigger.body }}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tmpl.EvalLimits(envWith(bigText), Limits{Time: time.Minute, Bytes: 300 << 10})
	e := assertStopped(t, err, CodeMemory)
	if e.Line != 2 || e.Column < 10 {
		t.Fatalf("position %d:%d, want the second expression", e.Line, e.Column)
	}
}

func TestEvaluationsWithinTheirLimitsAreUnchanged(t *testing.T) {
	// Values built near, but within, the limits.
	l := Limits{Time: time.Minute, Bytes: 4 << 20}
	for src, want := range map[string]any{
		`len(reduce(1..19, #acc + #acc, "x"))`:           1 << 19,
		`len(repeat("ab", 100000))`:                      200000,
		`len(toJSON(map(1..100, [#, "n"])))`:             len(mustToJSON(t, 100)),
		`len(split(repeat("a,", 10000), ","))`:           10001,
		`sum(map(1..1000, # * 2))`:                       1001000,
		`len(uniq(map(1..2000, # % 10)))`:                10,
		`all(1..1000, all(1..100, # > 0))`:               true,
		`regexReplace("a-b-c", "-", "$0$0")`:             "a--b--c",
		`padLeft("7", 3, "0")`:                           "007",
		`len(fromJSON("[" + repeat("1,", 1000) + "1]"))`: 1001,
	} {
		p, err := Compile(src, ResultAny)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, err := p.EvalLimits(envWith(nil), l)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		assertValue(t, got, want)
	}
}

func mustToJSON(t *testing.T, n int) string {
	t.Helper()
	items := make([]any, n)
	for i := range items {
		items[i] = []any{i + 1, "n"}
	}
	out, err := boundedToJSON(nil, items)
	if err != nil {
		t.Fatal(err)
	}
	return out.(string)
}

// TestBoundedBuiltinsBehaveAsExprs evaluates the built-ins that guards redirect to budget-aware versions, and
// the operators they wrap, both as expr evaluates them and as Ferry does: results, their types and failures
// must be the same.
func TestBoundedBuiltinsBehaveAsExprs(t *testing.T) {
	for _, src := range []string{
		`repeat("ab", 3)`, `repeat("", 5)`, `repeat("a", 0)`, `repeat("a", -1)`, `repeat(trigger.body, 2)`,
		`join(["a", "b"])`, `join(["a", "b"], "-")`, `join([])`, `join(split("a,b", ","), ";")`, `join([1])`, `join(trigger)`,
		`replace("aaa", "a", "b")`, `replace("aaa", "a", "bb", 2)`, `replace("abc", "", "-")`, `replace("abc", "x", "y")`,
		`replace("abc", "", "-", 2)`, `replace("aaa", "a", "", -1)`,
		`split("a,b,c", ",")`, `split("a,b,c", ",", 2)`, `split("abc", "")`, `split("", ",")`, `split("a,b", ",", 0)`,
		`split("a,b", ",", -1)`, `split("日本語", "")`, `splitAfter("a,b,c", ",")`, `splitAfter("a,b,c", ",", 2)`,
		`splitAfter("abc", "")`,
		`toJSON({a: [1, "x<y", nil, true, 1.5]})`, `toJSON("x<y")`, `toJSON(1.5)`, `toJSON(nil)`, `toJSON([])`, `toJSON(trigger)`,
		`fromJSON("{\"a\": [1, 2, {\"b\": null}]}")`, `fromJSON("bad")`, `fromJSON("1 2")`, `fromJSON("")`, `fromJSON("[1,")`,
		`fromJSON("  \"x\"  ")`, `fromJSON("1e400")`,
		`string(1)`, `string([1, "a", nil])`, `string({a: 1, b: [2]})`, `string(nil)`, `string(1.5)`, `string(true)`, `string(trigger)`,
		`concat([1], [2, 3])`, `concat([])`, `concat([1], [])`, `concat(split("a,b", ","), [1])`, `concat(trigger.body)`,
		`flatten([1, [2, [3, [4]]]])`, `flatten([])`, `flatten([[]])`, `flatten(trigger.body)`,
		`uniq([1, 1, 2, 1.0])`, `uniq([])`, `uniq(["a", "b", "a"])`, `uniq(trigger.body)`,
		`toBase64("Ferry")`, `toBase64("")`,
		`"a" + "b"`, `1 + 2`, `1.5 + 2`, `trigger.body + "!"`, `"x" + trigger.body`, `trigger.missing + "x"`, `trigger.body + 1`,
		`date("2024-03-15") + duration("1h")`,
		`map(1..3, # * 2)`, `filter(1..6, # % 2 == 0)`, `reduce(1..4, #acc + #, 0)`, `sortBy(["b", "a"], #)`,
		`groupBy([1, 2, 3], # % 2)`, `{a: 1, b: [1, 2]}`, `[1, "a", nil]`, `1..5`, `5..1`,
		`trigger.body in ["x", "y"]`, `trigger == trigger`, `"ab" contains "b"`, `trigger.body matches "^t"`,
		`lower(trigger.body)`, `upper("日本")`, `trim("  a ")`, `keys({a: 1})`, `reverse([1, 2])`, `sort([3, 1, 2])`,
		`let x = "a"; x + x`, `trigger?.body + "!"`, `trigger?.missing ?? "none"`,
	} {
		env := envWith("text")
		plain, err := expr.Compile(src, expr.Env(compileEnv))
		if err != nil {
			t.Fatalf("%s: expr: %v", src, err)
		}
		want, wantErr := expr.Run(plain, env)
		p, err := Compile(src, ResultAny)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, gotErr := p.Eval(env)
		if (wantErr != nil) != (gotErr != nil) {
			t.Errorf("%s: error %v, expr's %v", src, gotErr, wantErr)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %T %#v, expr's %T %#v", src, got, got, want, want)
		}
	}
}
