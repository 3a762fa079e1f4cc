package expression

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
)

// The helpers below convert the arguments the library functions receive. expr checks argument counts and
// literal types at compile time, but values read from a payload (trigger.body.amount) are only known at run
// time, so every function still checks what it got and says which argument was wrong.

// errArg builds the error for argument i (0-based) of function fn.
func errArg(fn string, i int, format string, a ...any) error {
	return fmt.Errorf("%s: argument %d %s", fn, i+1, fmt.Sprintf(format, a...))
}

// arity checks the argument count for direct Go calls; compiled expressions are already checked by expr.
func arity(fn string, params []any, minArgs, maxArgs int) error {
	if len(params) < minArgs || len(params) > maxArgs {
		if minArgs == maxArgs {
			return fmt.Errorf("%s: want %d arguments, got %d", fn, minArgs, len(params))
		}
		return fmt.Errorf("%s: want %d to %d arguments, got %d", fn, minArgs, maxArgs, len(params))
	}
	return nil
}

// describe names a value's type for error messages in the words a flow author uses.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "text"
	case bool:
		return "a boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// argText reads a text argument. Numbers and booleans are accepted and printed as Stringify does, because
// payloads often carry phone numbers or ids as JSON numbers; null, objects and lists are errors.
func argText(fn string, i int, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float64, json.Number:
		return Stringify(x), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	}
	return "", errArg(fn, i, "must be text, got %s", describe(v))
}

// argString reads an argument that must really be a string, such as a pattern, a layout or a code.
func argString(fn string, i int, v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", errArg(fn, i, "must be text, got %s", describe(v))
}

// maxExactFloat is the largest integer a float64 holds exactly (2^53); JSON numbers beyond it have already
// lost digits before any function sees them.
const maxExactFloat = 1 << 53

// toInt64 converts whole numbers of any Go type, integral floats and integer strings. It reports false for
// anything else.
func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return int64(x), x <= math.MaxInt64
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case float32:
		return floatToInt64(float64(x))
	case float64:
		return floatToInt64(x)
	case json.Number:
		return parseWholeNumber(string(x))
	case string:
		return parseWholeNumber(strings.TrimSpace(x))
	}
	return 0, false
}

func floatToInt64(f float64) (int64, bool) {
	if f != math.Trunc(f) || math.Abs(f) > maxExactFloat {
		return 0, false
	}
	return int64(f), true
}

// parseWholeNumber parses "42", "-7", and also "42.0" or "4.2e1", which are whole numbers written as decimals.
func parseWholeNumber(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	d, err := parseDecimal(s)
	if err != nil {
		return 0, false
	}
	return d.int64()
}

// argInt reads a whole-number argument such as a length or a count.
func argInt(fn string, i int, v any) (int, error) {
	n, ok := toInt64(v)
	if !ok || n > math.MaxInt32 || n < math.MinInt32 {
		return 0, errArg(fn, i, "must be a whole number, got %s", quoteValue(v))
	}
	return int(n), nil
}

// quoteValue prints a value for an error message, shortened so a large payload does not flood the run log.
func quoteValue(v any) string {
	if v == nil {
		return "null"
	}
	s := Stringify(v)
	if r := []rune(s); len(r) > 64 {
		s = string(r[:61]) + "..."
	}
	if _, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return s
}

// boundedCache memoises values derived from strings that are almost always constants in the expression
// (regular expressions, time zones, paths). It never holds more than max entries, so expressions built from
// payload data cannot grow it without limit.
type boundedCache[V any] struct {
	mu  sync.RWMutex
	max int
	m   map[string]V
}

func newBoundedCache[V any](maxEntries int) *boundedCache[V] {
	return &boundedCache[V]{max: maxEntries, m: make(map[string]V, 16)}
}

func (c *boundedCache[V]) get(key string) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[key]
	c.mu.RUnlock()
	return v, ok
}

func (c *boundedCache[V]) put(key string, v V) {
	c.mu.Lock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k := range c.m { // evict an arbitrary entry; map iteration order is random
			delete(c.m, k)
			break
		}
	}
	c.m[key] = v
	c.mu.Unlock()
}

// getOrMake returns the cached value for key, or makes, caches and returns it. Errors are not cached.
func (c *boundedCache[V]) getOrMake(key string, build func(string) (V, error)) (V, error) {
	if v, ok := c.get(key); ok {
		return v, nil
	}
	v, err := build(key)
	if err != nil {
		return v, err
	}
	c.put(key, v)
	return v, nil
}

func (c *boundedCache[V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// constantCheck validates a literal argument of a function when the expression is compiled, so that a bad
// regular expression, currency or time zone written into a flow is reported with its position at save time
// instead of failing every run. The same pass (checkConstants) enforces the most arguments a function takes.
type constantCheck struct {
	index int
	check func(string) error
}

var constantChecks = map[string][]constantCheck{}

// checkConstant registers check for the string literal passed as argument index (0-based) of function name.
func checkConstant(name string, index int, check func(string) error) {
	constantChecks[name] = append(constantChecks[name], constantCheck{index, check})
}

type constantVisitor struct {
	err *file.Error
}

func (v *constantVisitor) Visit(node *ast.Node) {
	if v.err != nil {
		return
	}
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	ident, ok := call.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	if a, ok := functionArity[ident.Value]; ok && a[1] >= 0 && len(call.Arguments) > a[1] {
		v.err = &file.Error{Location: call.Location(), Message: fmt.Sprintf("too many arguments to call %s (it takes at most %d)", ident.Value, a[1])}
		return
	}
	for _, c := range constantChecks[ident.Value] {
		if c.index >= len(call.Arguments) {
			continue
		}
		lit, ok := call.Arguments[c.index].(*ast.StringNode)
		if !ok {
			continue
		}
		if err := c.check(lit.Value); err != nil {
			v.err = &file.Error{Location: lit.Location(), Message: fmt.Sprintf("%s: %v", ident.Value, err)}
			return
		}
	}
}

// checkConstants runs the registered constant checks over a checked expression tree.
func checkConstants(src string, node ast.Node) error {
	v := &constantVisitor{}
	ast.Walk(&node, v)
	if v.err != nil {
		return compileError(v.err.Bind(file.NewSource(src)))
	}
	return nil
}
