package core

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// sandbox is one execution's interpreter: a fresh goja runtime holding nothing but the language's built-ins,
// the step's data as lazily copied read-only globals, a console that records lines, and guards on the built-ins
// that multiply the size of a string in one call.
type sandbox struct {
	rt      *goja.Runtime
	logs    []string
	dropped int
	// exportFn runs the conversion of a result inside the runtime, so a getter or a proxy trap that throws, or
	// an interrupt that lands while one runs, comes back as an error instead of a panic.
	exportFn  goja.Callable
	exporting *exporter
	exported  any
	exportErr error
	stringify goja.Callable
}

func newSandbox(input any, env map[string]any) *sandbox {
	s := &sandbox{rt: goja.New()}
	s.rt.SetMaxCallStackSize(MaxCodeCallDepth)
	s.lazy("$input", func() any { return input })
	s.lazy("$trigger", func() any { return env[expression.VarTrigger] })
	s.lazy("$nodes", func() any { return env[expression.VarNodes] })
	s.lazy("$vars", func() any { return env[expression.VarVars] })
	s.lazy("$env", func() any { return env[expression.VarEnv] })
	s.lazy("$run", func() any { return env[expression.VarRun] })
	s.console()
	s.guardStrings()
	s.exportFn, _ = goja.AssertFunction(s.rt.ToValue(func(call goja.FunctionCall) goja.Value {
		s.exported, s.exportErr = s.exporting.value(call.Argument(0), 0)
		return goja.Undefined()
	}))
	return s
}

// lazy defines a read-only global whose value is copied into the runtime the first time the script reads it:
// most scripts read $input and nothing of the earlier nodes' outputs.
func (s *sandbox) lazy(name string, get func() any) {
	var cached goja.Value
	getter := s.rt.ToValue(func(goja.FunctionCall) goja.Value {
		if cached == nil {
			cached = s.toJS(get(), 0)
		}
		return cached
	})
	_ = s.rt.GlobalObject().DefineAccessorProperty(name, getter, nil, goja.FLAG_FALSE, goja.FLAG_FALSE)
}

// maxInputDepth stops copying data nested deeper than anything a run holds (expression.MaxDepth).
const maxInputDepth = expression.MaxDepth + 8

// toJS copies a run value into plain JavaScript objects and arrays, so a script changing them changes nothing
// outside the execution (goja would otherwise wrap Go maps and write through to the run's data).
func (s *sandbox) toJS(v any, depth int) goja.Value {
	if depth > maxInputDepth {
		return goja.Null()
	}
	switch t := v.(type) {
	case nil:
		return goja.Null()
	case string, bool, int, int64, int32, float64, float32, uint32:
		return s.rt.ToValue(t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return s.rt.ToValue(i)
		}
		f, _ := t.Float64()
		return s.rt.ToValue(f)
	case time.Time:
		return s.rt.ToValue(t.Format(time.RFC3339Nano))
	case map[string]any:
		obj := s.rt.NewObject()
		for k, item := range t {
			_ = obj.Set(k, s.toJS(item, depth+1))
		}
		return obj
	case []any:
		vals := make([]any, len(t))
		for i, item := range t {
			vals[i] = s.toJS(item, depth+1)
		}
		return s.rt.NewArray(vals...)
	}
	// Other Go values (typed slices and maps from a node's output) go through their JSON form.
	b, err := json.Marshal(v)
	if err != nil {
		return s.rt.ToValue(fmt.Sprint(v))
	}
	decoded, err := nodes.DecodeJSON(b)
	if err != nil {
		return s.rt.ToValue(string(b))
	}
	return s.toJS(decoded, depth)
}

// console gives scripts console.log and its siblings, writing to a bounded list of lines that the step's error
// details carry; without them a script with a leftover debugging line would fail.
func (s *sandbox) console() {
	c := s.rt.NewObject()
	write := s.rt.ToValue(func(call goja.FunctionCall) goja.Value {
		if len(s.logs) >= MaxCodeLogLines {
			s.dropped++
			return goja.Undefined()
		}
		parts := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			parts[i] = s.logText(a)
		}
		line := strings.Join(parts, " ")
		if len(line) > MaxCodeLogLineBytes {
			line = truncateUTF8(line, MaxCodeLogLineBytes-len("…")) + "…"
		}
		s.logs = append(s.logs, line)
		return goja.Undefined()
	})
	for _, name := range []string{"log", "info", "warn", "error", "debug"} {
		_ = c.Set(name, write)
	}
	_ = s.rt.Set("console", c)
}

// logText writes one console argument: text as it is, objects as JSON where they can be.
func (s *sandbox) logText(v goja.Value) string {
	obj, ok := v.(*goja.Object)
	if !ok || obj.ClassName() == "Function" {
		return v.String()
	}
	if s.stringify == nil {
		s.stringify, _ = goja.AssertFunction(s.rt.GlobalObject().Get("JSON").ToObject(s.rt).Get("stringify"))
	}
	if out, err := s.stringify(goja.Undefined(), v); err == nil && !goja.IsUndefined(out) {
		return out.String()
	}
	return v.String()
}

// guardStrings bounds the string built by one call of repeat, padStart and padEnd, which can build gigabytes
// from a short text in a single call, before the time limit is next checked. A call over the bound stops the
// script as the time limit does.
func (s *sandbox) guardStrings() {
	proto := s.rt.GlobalObject().Get("String").ToObject(s.rt).Get("prototype").ToObject(s.rt)
	guard := func(name string, size func(this goja.Value, args []goja.Value) int64) {
		orig, ok := goja.AssertFunction(proto.Get(name))
		if !ok {
			return
		}
		f := s.rt.ToValue(func(call goja.FunctionCall) goja.Value {
			if size(call.This, call.Arguments) > MaxCodeStringLength {
				s.rt.Interrupt(errCodeString)
				return goja.Undefined()
			}
			out, err := orig(call.This, call.Arguments...)
			if err != nil {
				panic(err)
			}
			return out
		})
		_ = proto.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
	// The length of the text in bytes is at least its length in UTF-16 units, so the checks never let a longer
	// string through; arguments are read as the built-ins read them (ToIntegerOrInfinity).
	textLen := func(this goja.Value) int64 {
		if this == nil || goja.IsUndefined(this) || goja.IsNull(this) {
			return 0
		}
		return int64(len(this.String()))
	}
	count := func(args []goja.Value) float64 {
		if len(args) == 0 {
			return 0
		}
		f := args[0].ToFloat()
		if math.IsNaN(f) {
			return 0
		}
		return math.Trunc(f)
	}
	guard("repeat", func(this goja.Value, args []goja.Value) int64 {
		n := count(args)
		l := textLen(this)
		if n <= 0 || l == 0 {
			return 0
		}
		if n > float64(MaxCodeStringLength) {
			return math.MaxInt64
		}
		return l * int64(n)
	})
	pad := func(this goja.Value, args []goja.Value) int64 {
		n := count(args)
		if n > float64(MaxCodeStringLength) {
			return math.MaxInt64
		}
		return int64(n)
	}
	guard("padStart", pad)
	guard("padEnd", pad)
}

// export converts what a script returned into plain JSON values within out's budget. keep is false when the
// script returned undefined.
func (s *sandbox) export(out *exporter, v goja.Value) (result any, keep bool, err error) {
	if v == nil || goja.IsUndefined(v) {
		return nil, false, nil
	}
	s.exporting, s.exported, s.exportErr = out, nil, nil
	if err := func() error { _, err := s.exportFn(goja.Undefined(), v); return err }(); err != nil {
		return nil, false, err
	}
	if s.exportErr != nil {
		return nil, false, s.exportErr
	}
	return s.exported, true, nil
}

// exportError is a result that cannot leave the script, with its stable code.
type exportError struct {
	code string
	msg  string
}

func (e *exportError) Error() string { return e.msg }

// exporter walks a script's result as JSON.stringify would, counting the bytes of the JSON it makes against a
// budget, so a result over MaxCodeOutputBytes fails before it is copied out in full.
type exporter struct {
	budget int64
}

func (e *exporter) charge(n int64) error {
	e.budget -= n
	if e.budget < 0 {
		return &exportError{code: CodeCodeOutputTooLarge,
			msg: fmt.Sprintf("the result is larger than %d KiB as JSON", MaxCodeOutputBytes>>10)}
	}
	return nil
}

func invalidResult(format string, a ...any) error {
	return &exportError{code: CodeCodeResultInvalid, msg: fmt.Sprintf(format, a...)}
}

// value converts one value. Numbers that are whole (and exact, up to 2^53) become int64, so ids and minor units
// stay integers; undefined properties are left out and undefined list entries become null, as in JSON.
func (e *exporter) value(v goja.Value, depth int) (any, error) {
	if depth > nodes.MaxJSONDepth {
		return nil, invalidResult("the result nests deeper than %d levels, or refers to itself", nodes.MaxJSONDepth)
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, e.charge(4)
	}
	if _, ok := v.(*goja.Symbol); ok {
		return nil, invalidResult("the result holds a symbol")
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		return e.primitive(v.Export())
	}
	if _, ok := goja.AssertFunction(obj); ok {
		return nil, invalidResult("the result holds a function")
	}
	switch obj.ClassName() {
	case "Date":
		t, ok := obj.Export().(time.Time)
		if !ok {
			return nil, invalidResult("the result holds an invalid Date")
		}
		s := t.UTC().Format(time.RFC3339Nano)
		return s, e.charge(int64(len(s) + 2))
	case "Number", "String", "Boolean", "BigInt":
		return e.primitive(obj.Export())
	case "Array":
		n := obj.Get("length").ToInteger()
		if err := e.charge(2 + max(n-1, 0)); err != nil {
			return nil, err
		}
		list := make([]any, n)
		for i := range n {
			item, err := e.value(obj.Get(strconv.FormatInt(i, 10)), depth+1)
			if err != nil {
				return nil, err
			}
			list[i] = item
		}
		return list, nil
	}
	// Maps and sets hold their entries outside their properties: JSON.stringify would write {} and lose them.
	if tag := obj.GetSymbol(goja.SymToStringTag); tag != nil {
		switch name := tag.String(); name {
		case "Map", "Set", "WeakMap", "WeakSet", "Promise":
			return nil, invalidResult("the result holds a %s; convert it first (Object.fromEntries(map), [...set])", name)
		}
	}
	keys := obj.Keys()
	if err := e.charge(2 + int64(len(keys))); err != nil {
		return nil, err
	}
	m := make(map[string]any, len(keys))
	for _, k := range keys {
		pv := obj.Get(k)
		if pv == nil || goja.IsUndefined(pv) {
			continue
		}
		if err := e.charge(jsonTextLen(k) + 1); err != nil {
			return nil, err
		}
		item, err := e.value(pv, depth+1)
		if err != nil {
			return nil, err
		}
		m[k] = item
	}
	return m, nil
}

func (e *exporter) primitive(v any) (any, error) {
	switch t := v.(type) {
	case nil:
		return nil, e.charge(4)
	case bool:
		if t {
			return true, e.charge(4)
		}
		return false, e.charge(5)
	case int64:
		return t, e.charge(int64(len(strconv.FormatInt(t, 10))))
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, invalidResult("the result holds %v, which JSON cannot hold", t)
		}
		if t == math.Trunc(t) && math.Abs(t) <= 1<<53 {
			i := int64(t)
			return i, e.charge(int64(len(strconv.FormatInt(i, 10))))
		}
		return t, e.charge(int64(len(strconv.FormatFloat(t, 'g', -1, 64))))
	case string:
		return t, e.charge(jsonTextLen(t))
	case *big.Int:
		if !t.IsInt64() {
			return nil, invalidResult("the result holds the BigInt %s, beyond 64 bits; write it as text", t)
		}
		i := t.Int64()
		return i, e.charge(int64(len(strconv.FormatInt(i, 10))))
	}
	return nil, invalidResult("the result holds a %T", v)
}

// jsonTextLen is the length of s as a JSON string: quotes, and the escapes of quotes, backslashes and control
// characters.
func jsonTextLen(s string) int64 {
	n := int64(len(s) + 2)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}
