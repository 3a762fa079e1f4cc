package expression

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"time"
	"unicode/utf8"
)

// Every evaluation runs under Limits: a time limit and a memory budget. Both are enforced inside the
// evaluation, by guards the compiler inserts into every program (see guard.go), so an evaluation that exceeds
// them stops where it is and frees what it built, whoever is waiting for it:
//
//   - the time limit is checked as loops iterate and as values are built, so a long-running expression (nested
//     all/any over ranges, a quadratic uniq) stops within a few iterations of its limit;
//   - the memory budget counts the bytes of the text, lists and objects the evaluation builds, as they are
//     built; functions that can build much more than they are given (repeat, join, replace, split, toJSON,
//     fromJSON, string, concat, flatten, padLeft, regexReplace, …) check the size of their result before they
//     allocate it, so no single call can overshoot. The value an evaluation returns is also measured as it
//     would be written out (JSON), since a small list can refer to the same large text many times.
//
// A stopped evaluation fails with CodeTimeout or CodeMemory and the position of the guard that stopped it.

// Limits bound one evaluation of an expression or a template.
type Limits struct {
	// Time is how long one evaluation may run.
	Time time.Duration
	// Bytes is how much text, list and object data one evaluation may build, in bytes.
	Bytes int64
}

// The limits of each kind of evaluation. Real mappings and conditions take microseconds and kilobytes, so the
// limits only stop runaway expressions. Previews are the tightest: any signed-in user, viewers included, can
// send them, and the editor sends one per keystroke. Test runs come next: editors start them, and they run
// inline in the editor's request. Live runs get the most room, since failing a customer's run costs more than
// a few seconds of a worker; their payloads are bounded by the request body limit (4 MiB by default), so
// 64 MiB leaves ample room for mappings that build on a large payload.
const (
	PreviewTimeLimit  = time.Second
	PreviewBytesLimit = 16 << 20
	TestTimeLimit     = 2 * time.Second
	TestBytesLimit    = 32 << 20
	LiveTimeLimit     = 5 * time.Second
	LiveBytesLimit    = 64 << 20
)

// Limits of each kind of evaluation, made of the constants above.
var (
	// PreviewLimits bound the evaluations of the preview endpoints.
	PreviewLimits = Limits{Time: PreviewTimeLimit, Bytes: PreviewBytesLimit}
	// TestLimits bound the evaluations of test runs, and of any evaluation whose environment is not live.
	TestLimits = Limits{Time: TestTimeLimit, Bytes: TestBytesLimit}
	// LiveLimits bound the evaluations of live runs.
	LiveLimits = Limits{Time: LiveTimeLimit, Bytes: LiveBytesLimit}
)

// LimitsFor returns the limits of an evaluation in env: LiveLimits when env's mode (VarEnv) is "live", and the
// tighter TestLimits otherwise, including for an environment without a mode.
func LimitsFor(env map[string]any) Limits {
	if s, ok := env[VarEnv].(string); ok && s == "live" {
		return LiveLimits
	}
	return TestLimits
}

// MaxDepth is how deeply the lists and objects an evaluation returns, parses (fromJSON, jsonGet) or writes out
// (toJSON, string, toString, templates) may nest. Payloads nest at most 64 levels (nodes.MaxJSONDepth); the
// bound keeps the values that leave an evaluation, which encoding run data walks recursively, far from the
// stack's limit.
const MaxDepth = 256

// Ticks measure the work of an evaluation: a loop iteration or a comparison is one tick, a call of a function
// callWork ticks, and building or scanning a kibibyte one more. The clock is read every clockEvery ticks: a
// reading costs as much as a few dozen loop iterations, and the time limit is still noticed within about a
// millisecond of work.
const (
	clockEvery = 32
	callWork   = 4
)

// now reads the clock for the time limit; tests replace it to make time pass per reading.
var now = time.Now

// limitError is the error a guard returns when an evaluation exceeds its limits; runtimeError turns it into an
// *Error with its code and the guard's position.
type limitError struct {
	code    string
	message string
}

func (e *limitError) Error() string { return e.message }

// budget is the state of one evaluation's limits. Its methods are no-ops on a nil budget, which is what library
// functions get when Go code calls them directly rather than through an expression.
type budget struct {
	limits   Limits
	left     int64
	deadline time.Time
	ticks    uint64
	clockAt  uint64
	stopped  *limitError
}

// start begins an evaluation under l. The clock is first read after clockEvery ticks of work, and the time
// limit counts from there: the few microseconds before it are not worth a reading of the clock, which costs
// as much as the whole of most evaluations.
func (b *budget) start(l Limits) {
	*b = budget{limits: l, left: l.Bytes, clockAt: clockEvery}
}

// used is how many bytes the evaluation has built so far.
func (b *budget) used() int64 { return b.limits.Bytes - b.left }

// tick counts a step of the evaluation and stops it once it has run past its time limit.
func (b *budget) tick() error { return b.work(1) }

// work counts units ticks of work, and stops the evaluation once it has run past its time limit.
func (b *budget) work(units uint64) error {
	if b == nil {
		return nil
	}
	b.ticks += units
	if b.ticks < b.clockAt {
		return nil
	}
	b.clockAt = b.ticks + clockEvery
	t := now()
	if b.deadline.IsZero() {
		b.deadline = t.Add(b.limits.Time)
		return nil
	}
	if t.After(b.deadline) {
		return b.stop(&limitError{code: CodeTimeout,
			message: fmt.Sprintf("the expression ran longer than its limit of %s", b.limits.Time)})
	}
	return nil
}

// take accounts n bytes about to be built, before they are allocated, and refuses them when they would exceed
// the budget. A negative n (an overflowed size) is refused too.
func (b *budget) take(n int64) error {
	if b == nil {
		return nil
	}
	if n < 0 || n > b.left {
		b.left = -1
		return b.exceeded()
	}
	b.left -= n
	return b.work(1 + uint64(n)>>10)
}

// scan counts the work of reading n bytes of text.
func (b *budget) scan(n int) error { return b.work(uint64(n) >> 10) }

// fits refuses a result of n bytes that would not fit in what is left, without accounting it: the caller
// accounts the exact size once it is built.
func (b *budget) fits(n int64) error {
	if b == nil || (n >= 0 && n <= b.left) {
		return nil
	}
	return b.exceeded()
}

func (b *budget) exceeded() error {
	if b == nil {
		return nil
	}
	return b.stop(&limitError{code: CodeMemory,
		message: fmt.Sprintf("the expression built more than its limit of %s", formatBytes(b.limits.Bytes))})
}

// stop records why the evaluation stopped, so that an error a function wraps or replaces still reports the limit.
func (b *budget) stop(e *limitError) error {
	if b.stopped == nil {
		b.stopped = e
	}
	return e
}

// grow accounts a value that has just been built.
func (b *budget) grow(v any) error { return b.take(sizeOf(v)) }

// checkResult measures the value an evaluation returns as it would be written out, against the whole budget:
// it is what run data, templates and previews will write.
func (b *budget) checkResult(v any) error {
	switch v.(type) {
	case nil, bool, string, int, int64, float64:
		return nil // scalars were accounted when built
	}
	if _, err := measure(b, v, b.limits.Bytes, false); err != nil {
		return err
	}
	return nil
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Sizes used to account built values. They are close to what the Go runtime allocates: a list element is an
// interface (two words), an object entry a key, a value and the map's bookkeeping.
const (
	sliceHeaderBytes = 24
	elemBytes        = 16
	mapBaseBytes     = 48
	mapEntryBytes    = 48
)

// sizeOf is the number of bytes accounted for a value an evaluation built: the text of a string, the slots of a
// list, the entries of an object. Nested values are not followed: they were accounted when they were built, or
// they come from the payload, which the evaluation did not build.
func sizeOf(v any) int64 {
	switch x := v.(type) {
	case nil, bool, int, int64, float64:
		return 0
	case string:
		return int64(len(x))
	case []any:
		return sliceHeaderBytes + elemBytes*int64(len(x))
	case []string:
		return sliceHeaderBytes + elemBytes*int64(len(x))
	case []int:
		return sliceHeaderBytes + 8*int64(len(x))
	case []float64:
		return sliceHeaderBytes + 8*int64(len(x))
	case map[string]any:
		return mapBaseBytes + mapEntryBytes*int64(len(x))
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return int64(rv.Len())
	case reflect.Slice:
		return sliceHeaderBytes + int64(rv.Len())*int64(rv.Type().Elem().Size())
	case reflect.Map:
		t := rv.Type()
		return mapBaseBytes + int64(rv.Len())*(int64(t.Key().Size()+t.Elem().Size())+8)
	}
	return 0
}

// measure returns the size of v written out as JSON (indented with two spaces when indent is set), or a little
// more, and refuses values larger than limit or nested deeper than MaxDepth. It stops as soon as the limit is
// passed, so measuring a list that refers to the same large value a million times costs no more than the
// limit. The estimate is also an upper bound of fmt's %v text of the value, which string() writes.
func measure(b *budget, v any, limit int64, indent bool) (int64, error) {
	m := measurer{limit: limit, indent: indent, b: b}
	if !m.value(v, 0) {
		if m.err != nil {
			return m.n, m.err
		}
		if b == nil {
			return m.n, &limitError{code: CodeMemory, message: fmt.Sprintf("the value is larger than %s when written out", formatBytes(limit))}
		}
		return m.n, b.stop(&limitError{code: CodeMemory,
			message: fmt.Sprintf("the expression built a value larger than its limit of %s when written out", formatBytes(b.limits.Bytes))})
	}
	return m.n, nil
}

type measurer struct {
	b      *budget
	limit  int64
	n      int64
	indent bool
	err    error
	steps  int
}

// add counts n bytes; it reports false once the limit is passed.
func (m *measurer) add(n int64) bool {
	m.n += n
	return m.n <= m.limit
}

// element counts what separates and indents one element or entry at depth.
func (m *measurer) element(depth int) bool {
	if m.indent {
		return m.add(2 + 2*int64(depth))
	}
	return m.add(1)
}

func (m *measurer) nested(depth int) bool {
	if depth >= MaxDepth {
		m.err = &limitError{code: CodeMemory, message: fmt.Sprintf("the value nests lists and objects more than %d levels deep", MaxDepth)}
		if m.b != nil {
			m.err = m.b.stop(m.err.(*limitError))
		}
		return false
	}
	// Measuring a large value takes time too: count it against the time limit.
	if m.steps++; m.steps%1024 == 0 {
		if err := m.b.tick(); err != nil {
			m.err = err
			return false
		}
	}
	return true
}

func (m *measurer) value(v any, depth int) bool {
	switch x := v.(type) {
	case nil:
		return m.add(5) // null, or <nil> for %v
	case bool:
		return m.add(5)
	case string:
		return m.add(jsonStringLen(x))
	case int:
		return m.add(20)
	case int64:
		return m.add(20)
	case float64:
		return m.add(24)
	case json.Number:
		return m.add(int64(len(x)))
	case time.Time:
		return m.add(64)
	case time.Duration:
		return m.add(24)
	case []any:
		if !m.nested(depth) || !m.add(2) {
			return false
		}
		for _, e := range x {
			if !m.element(depth+1) || !m.value(e, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		if !m.nested(depth) || !m.add(5) { // {} or map[]
			return false
		}
		for k, e := range x {
			if !m.element(depth+1) || !m.add(jsonStringLen(k)+2) || !m.value(e, depth+1) {
				return false
			}
		}
		return true
	case []string:
		if !m.nested(depth) || !m.add(2) {
			return false
		}
		for _, e := range x {
			if !m.element(depth+1) || !m.add(jsonStringLen(e)) {
				return false
			}
		}
		return true
	}
	return m.reflected(reflect.ValueOf(v), depth)
}

func (m *measurer) reflected(rv reflect.Value, depth int) bool {
	switch rv.Kind() {
	case reflect.Invalid:
		return m.add(5)
	case reflect.Bool:
		return m.add(5)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return m.add(20)
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return m.add(48)
	case reflect.String:
		return m.add(jsonStringLen(rv.String()))
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return m.add(5)
		}
		if !m.nested(depth) {
			return false
		}
		return m.reflected(rv.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return m.add(int64(base64Len(rv.Len())) + 2) // []byte is base64 in JSON
		}
		if !m.nested(depth) || !m.add(2) {
			return false
		}
		for i := 0; i < rv.Len(); i++ {
			if !m.element(depth+1) || !m.value(rv.Index(i).Interface(), depth+1) {
				return false
			}
		}
		return true
	case reflect.Map:
		if !m.nested(depth) || !m.add(5) {
			return false
		}
		it := rv.MapRange()
		for it.Next() {
			if !m.element(depth+1) || !m.add(4) || !m.value(it.Key().Interface(), depth+1) || !m.value(it.Value().Interface(), depth+1) {
				return false
			}
		}
		return true
	case reflect.Struct:
		if !m.nested(depth) || !m.add(64) {
			return false
		}
		t := rv.Type()
		for i := 0; i < rv.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			if !m.element(depth+1) || !m.add(int64(len(t.Field(i).Name))+4) || !m.value(rv.Field(i).Interface(), depth+1) {
				return false
			}
		}
		return true
	}
	return m.add(64) // functions and channels: written as an error or an address
}

func base64Len(n int) int { return (n + 2) / 3 * 4 }

// jsonStringLen is the length of s quoted as encoding/json quotes it: HTML-safe, control characters escaped,
// invalid UTF-8 replaced by \ufffd, U+2028 and U+2029 escaped.
func jsonStringLen(s string) int64 {
	n := int64(2)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			n += 6
		} else {
			n += int64(size)
		}
		i += size
	}
	return n
}

// mulBytes multiplies two sizes, saturating instead of overflowing, so a size check cannot be fooled by a
// wrapped-around product.
func mulBytes(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}
