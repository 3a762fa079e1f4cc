package expression

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm/runtime"
)

// Budget-aware versions of expr's built-ins that can build much more than they are given: repeat and join
// multiply text, replace and split multiply matches, toJSON, string and flatten follow every reference of a
// value (a list of a thousand references to one large object writes out a thousand objects), fromJSON builds
// objects many times larger than its text, and uniq compares every pair of items. Each checks the size of its
// result against the evaluation's budget before building it, and behaves otherwise exactly as expr's own (same
// results, same types, same errors), which TestBoundedBuiltinsBehaveAsExprs checks. Guards redirect every call
// of these built-ins here (guard.go).
func init() {
	for name, fn := range map[string]boundedFunc{
		"repeat":     boundedRepeat,
		"join":       boundedJoin,
		"replace":    boundedReplace,
		"split":      func(b *budget, args ...any) (any, error) { return boundedSplit(b, "split", false, args) },
		"splitAfter": func(b *budget, args ...any) (any, error) { return boundedSplit(b, "splitAfter", true, args) },
		"toJSON":     boundedToJSON,
		"fromJSON":   boundedFromJSON,
		"string":     boundedString,
		"concat":     boundedConcat,
		"flatten":    boundedFlatten,
		"uniq":       boundedUniq,
		"toBase64":   boundedToBase64,
	} {
		if _, ok := builtin.Index[name]; !ok {
			panic(fmt.Sprintf("expression: %s is not an expr built-in", name))
		}
		boundedBuiltins[name] = fn
		declareBounded(name, fn)
	}
}

func boundedRepeat(b *budget, args ...any) (any, error) {
	s := args[0].(string)
	n := runtime.ToInt(args[1])
	if n < 0 {
		return nil, fmt.Errorf("invalid argument for repeat (expected positive integer, got %d)", n)
	}
	if err := b.take(mulBytes(int64(len(s)), int64(n))); err != nil {
		return nil, err
	}
	return strings.Repeat(s, n), nil
}

func boundedJoin(b *budget, args ...any) (any, error) {
	glue := ""
	if len(args) == 2 {
		glue = args[1].(string)
	}
	switch list := args[0].(type) {
	case []string:
		var size int64
		for _, s := range list {
			size += int64(len(s))
		}
		if err := b.take(size + joinGlue(glue, len(list))); err != nil {
			return nil, err
		}
		return strings.Join(list, glue), nil
	case []any:
		// Sized before anything is built; like expr, an item that is not text fails the call.
		var size int64
		for _, item := range list {
			size += int64(len(item.(string)))
		}
		size += joinGlue(glue, len(list))
		if err := b.take(size); err != nil {
			return nil, err
		}
		var sb strings.Builder
		sb.Grow(int(size))
		for i, item := range list {
			if i > 0 {
				sb.WriteString(glue)
			}
			sb.WriteString(item.(string))
		}
		return sb.String(), nil
	}
	return nil, fmt.Errorf("invalid argument for join (type %s)", reflect.TypeOf(args[0]))
}

func joinGlue(glue string, items int) int64 {
	if items < 2 {
		return 0
	}
	return mulBytes(int64(len(glue)), int64(items-1))
}

func boundedReplace(b *budget, args ...any) (any, error) {
	if len(args) != 3 && len(args) != 4 {
		return nil, fmt.Errorf("invalid number of arguments for replace (expected 3 or 4, got %d)", len(args))
	}
	s, old, repl := args[0].(string), args[1].(string), args[2].(string)
	n := -1
	if len(args) == 4 {
		n = runtime.ToInt(args[3])
	}
	if err := b.scan(len(s)); err != nil {
		return nil, err
	}
	matches := strings.Count(s, old)
	if n >= 0 && n < matches {
		matches = n
	}
	if matches == 0 {
		return s, nil // nothing replaced: strings.Replace returns s itself
	}
	size := int64(len(s)) + mulBytes(int64(matches), int64(len(repl))) - int64(matches)*int64(len(old))
	if err := b.take(size); err != nil {
		return nil, err
	}
	return strings.Replace(s, old, repl, n), nil
}

func boundedSplit(b *budget, name string, after bool, args []any) (any, error) {
	if len(args) != 2 && len(args) != 3 {
		return nil, fmt.Errorf("invalid number of arguments for %s (expected 2 or 3, got %d)", name, len(args))
	}
	s, sep := args[0].(string), args[1].(string)
	n := -1
	if len(args) == 3 {
		n = runtime.ToInt(args[2])
	}
	if err := b.scan(len(s)); err != nil {
		return nil, err
	}
	parts := strings.Count(s, sep) + 1
	if sep == "" {
		parts = utf8.RuneCountInString(s)
	}
	if n >= 0 && n < parts {
		parts = n
	}
	if err := b.take(sliceHeaderBytes + elemBytes*int64(parts)); err != nil {
		return nil, err
	}
	if after {
		return strings.SplitAfterN(s, sep, n), nil
	}
	return strings.SplitN(s, sep, n), nil
}

func boundedToJSON(b *budget, args ...any) (any, error) {
	if err := writable(b, args[0], true); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(args[0], "", "  ")
	if err != nil {
		return nil, err
	}
	s := string(out)
	return s, b.grow(s)
}

// writable refuses a value whose written form (JSON, or fmt's %v text) would not fit in what is left of the
// budget, before it is written.
func writable(b *budget, v any, indent bool) error {
	if b == nil {
		return nil
	}
	_, err := measure(b, v, b.left, indent)
	return err
}

func boundedFromJSON(b *budget, args ...any) (any, error) {
	return decodeJSON(b, args[0].(string))
}

// decodeJSON parses text as json.Unmarshal into any does, after checking that the objects, lists and text it
// will build fit in what is left of the budget and nest at most MaxDepth levels deep.
func decodeJSON(b *budget, text string) (any, error) {
	cost, err := jsonDecodeCost(text)
	if err != nil {
		return nil, err
	}
	if err := b.take(cost); err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// jsonDecodeCost bounds what decoding text into Go values allocates: a copy of the text, the text of every
// string, a boxed value for every scalar, and the backing arrays and maps of every list and object with room
// for their growth. It also refuses documents nested deeper than MaxDepth, in one linear pass before decoding.
func jsonDecodeCost(text string) (int64, error) {
	cost := int64(len(text))
	depth := 0
	inString, escaped, inLiteral := false, false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			cost++
			continue
		}
		literal := false
		switch c {
		case '"':
			inString = true
			cost += elemBytes * 2
		case '{':
			depth++
			cost += mapBaseBytes + elemBytes
		case '[':
			depth++
			cost += sliceHeaderBytes + elemBytes*3
		case '}', ']':
			depth--
		case ':':
			cost += mapEntryBytes * 2
		case ',':
			cost += elemBytes * 2
		case ' ', '\t', '\r', '\n':
		default:
			literal = true
			if !inLiteral {
				cost += elemBytes + 8
			}
		}
		inLiteral = literal
		if depth > MaxDepth {
			return 0, &limitError{code: CodeMemory, message: fmt.Sprintf("the JSON text nests objects and lists more than %d levels deep", MaxDepth)}
		}
	}
	return cost, nil
}

func boundedString(b *budget, args ...any) (any, error) {
	v := args[0]
	switch v.(type) {
	case nil, bool, string, int, int64, float64:
	default:
		if err := writable(b, v, false); err != nil {
			return nil, err
		}
	}
	s := fmt.Sprintf("%v", v)
	return s, b.grow(s)
}

func boundedToBase64(b *budget, args ...any) (any, error) {
	s := args[0].(string)
	if err := b.take(int64(base64.StdEncoding.EncodedLen(len(s)))); err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func boundedConcat(b *budget, args ...any) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("invalid number of arguments (expected at least 1, got 0)")
	}
	var total int64
	for _, arg := range args {
		v := reflect.ValueOf(arg)
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
			return nil, fmt.Errorf("cannot concat %s", v.Kind())
		}
		total += int64(v.Len())
	}
	if err := b.take(sliceHeaderBytes + elemBytes*total); err != nil {
		return nil, err
	}
	var arr []any
	if total > 0 {
		arr = make([]any, 0, total)
	}
	for _, arg := range args {
		v := reflect.ValueOf(arg)
		for i := 0; i < v.Len(); i++ {
			arr = append(arr, v.Index(i).Interface())
		}
	}
	return arr, nil
}

func boundedFlatten(b *budget, args ...any) (any, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("invalid number of arguments (expected 1, got %d)", len(args))
	}
	v := reflect.ValueOf(args[0])
	if v.Kind() != reflect.Array && v.Kind() != reflect.Slice {
		return nil, fmt.Errorf("cannot flatten %s", v.Kind())
	}
	var leaves int64
	limit := int64(-1)
	if b != nil {
		limit = (b.left - sliceHeaderBytes) / elemBytes
	}
	if err := countLeaves(b, v, 0, &leaves, limit); err != nil {
		return nil, err
	}
	if err := b.take(sliceHeaderBytes + elemBytes*leaves); err != nil {
		return nil, err
	}
	out := make([]any, 0, leaves)
	return appendLeaves(out, v), nil
}

// countLeaves counts the items flatten returns, stopping once they could not fit in limit (when limit ≥ 0).
func countLeaves(b *budget, v reflect.Value, depth int, n *int64, limit int64) error {
	if depth > builtin.MaxDepth || depth > MaxDepth {
		return builtin.ErrorMaxDepth
	}
	for i := 0; i < v.Len(); i++ {
		item := derefValue(v.Index(i))
		if item.Kind() == reflect.Array || item.Kind() == reflect.Slice {
			if err := countLeaves(b, item, depth+1, n, limit); err != nil {
				return err
			}
			continue
		}
		if *n++; limit >= 0 && *n > limit {
			return b.exceeded()
		}
		if *n%1024 == 0 {
			if err := b.tick(); err != nil {
				return err
			}
		}
	}
	return nil
}

func appendLeaves(out []any, v reflect.Value) []any {
	for i := 0; i < v.Len(); i++ {
		item := derefValue(v.Index(i))
		if item.Kind() == reflect.Array || item.Kind() == reflect.Slice {
			out = appendLeaves(out, item)
		} else {
			out = append(out, item.Interface())
		}
	}
	return out
}

// derefValue follows interfaces and pointers, as expr's built-ins do before looking at an item.
func derefValue(v reflect.Value) reflect.Value {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return v
		}
		v = v.Elem()
	}
	return v
}

func boundedUniq(b *budget, args ...any) (any, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("invalid number of arguments (expected 1, got %d)", len(args))
	}
	v := reflect.ValueOf(args[0])
	if v.Kind() != reflect.Array && v.Kind() != reflect.Slice {
		return nil, fmt.Errorf("cannot uniq %s", v.Kind())
	}
	size := v.Len()
	if err := b.take(sliceHeaderBytes + elemBytes*int64(size)); err != nil {
		return nil, err
	}
	// Every item is compared with every kept one, as expr does: the comparisons count against the time limit.
	ret := []any{}
	comparisons := 0
	for i := 0; i < size; i++ {
		item := v.Index(i).Interface()
		seen := false
		for _, r := range ret {
			if comparisons++; comparisons%256 == 0 {
				if err := b.tick(); err != nil {
					return nil, err
				}
			}
			if runtime.Equal(item, r) {
				seen = true
				break
			}
		}
		if !seen {
			ret = append(ret, item)
		}
	}
	return ret, nil
}
