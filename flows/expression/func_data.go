package expression

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// pathStep is one step of a jsonGet path: an object key or a list index.
type pathStep struct {
	key     string
	index   int
	isIndex bool
}

// paths caches parsed jsonGet paths, which are nearly always literals.
var paths = newBoundedCache[[]pathStep](512)

// parsePath parses "customer.addresses[0].city", `items[-1]`, `meta["order.id"]` or "items.0.sku"; a leading
// "$" or "$." (JSONPath style) is ignored and "" is the whole value.
func parsePath(path string) ([]pathStep, error) {
	p := strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	if path == "$" || p == "" {
		return nil, nil
	}
	var steps []pathStep
	i := 0
	expectKey := true // at the start and after a dot a key must follow
	for i < len(p) {
		switch c := p[i]; {
		case c == '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: missing ]", path)
			}
			inner := p[i+1 : i+end]
			if strings.HasPrefix(inner, `"`) {
				// A quoted key may itself contain ]; find the closing quote first.
				key, rest, err := quotedKey(p[i+1:])
				if err != nil || !strings.HasPrefix(rest, "]") {
					return nil, fmt.Errorf("path %q: bad quoted key at offset %d", path, i)
				}
				steps = append(steps, pathStep{key: key})
				i = len(p) - len(rest) + 1
			} else {
				n, err := strconv.Atoi(strings.TrimSpace(inner))
				if err != nil {
					return nil, fmt.Errorf("path %q: %q is not a list index (quote keys: [\"key\"])", path, inner)
				}
				steps = append(steps, pathStep{index: n, isIndex: true})
				i += end + 1
			}
			expectKey = false
		case c == '.':
			if expectKey {
				return nil, fmt.Errorf("path %q: empty key at offset %d", path, i)
			}
			expectKey = true
			i++
		default:
			if !expectKey {
				return nil, fmt.Errorf("path %q: missing . before offset %d", path, i)
			}
			end := strings.IndexAny(p[i:], ".[")
			if end < 0 {
				end = len(p) - i
			}
			steps = append(steps, pathStep{key: p[i : i+end]})
			i += end
			expectKey = false
		}
	}
	if expectKey {
		return nil, fmt.Errorf("path %q: ends with a dot", path)
	}
	return steps, nil
}

// quotedKey reads a double-quoted key at the start of s and returns it with the text after the quote.
func quotedKey(s string) (string, string, error) {
	prefix, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", err
	}
	key, err := strconv.Unquote(prefix)
	return key, s[len(prefix):], err
}

func checkPath(path string) error {
	_, err := paths.getOrMake(path, parsePath)
	return err
}

// walkPath follows steps through decoded JSON (and, by reflection, other maps with string keys and slices).
// It reports false when a step is missing.
func walkPath(v any, steps []pathStep) (any, bool) {
	for _, s := range steps {
		switch x := v.(type) {
		case map[string]any:
			if s.isIndex {
				return nil, false
			}
			var ok bool
			if v, ok = x[s.key]; !ok {
				return nil, false
			}
			continue
		case []any:
			i, ok := listIndex(s, len(x))
			if !ok {
				return nil, false
			}
			v = x[i]
			continue
		case nil:
			return nil, false
		}
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.Map:
			if s.isIndex || rv.Type().Key().Kind() != reflect.String {
				return nil, false
			}
			e := rv.MapIndex(reflect.ValueOf(s.key).Convert(rv.Type().Key()))
			if !e.IsValid() {
				return nil, false
			}
			v = e.Interface()
		case reflect.Slice, reflect.Array:
			i, ok := listIndex(s, rv.Len())
			if !ok {
				return nil, false
			}
			v = rv.Index(i).Interface()
		default:
			return nil, false
		}
	}
	return v, true
}

// listIndex resolves a step against a list of n items: [i], [-1] from the end, or a numeric key (items.0).
func listIndex(s pathStep, n int) (int, bool) {
	i := s.index
	if !s.isIndex {
		var err error
		if i, err = strconv.Atoi(s.key); err != nil {
			return 0, false
		}
	}
	if i < 0 {
		i += n
	}
	return i, i >= 0 && i < n
}

// isEmpty reports the values coalesce skips: null, "", and empty lists and objects.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// tableEntry looks key up in a table given as an object.
func tableEntry(table any, key string) (any, bool, error) {
	switch t := table.(type) {
	case map[string]any:
		v, ok := t[key]
		return v, ok, nil
	case map[string]string:
		v, ok := t[key]
		return v, ok, nil
	case nil:
		return nil, false, errArg("lookup", 1, "must be an object, got null")
	}
	rv := reflect.ValueOf(table)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false, errArg("lookup", 1, "must be an object, got %s", describe(table))
	}
	e := rv.MapIndex(reflect.ValueOf(key).Convert(rv.Type().Key()))
	if !e.IsValid() {
		return nil, false, nil
	}
	return e.Interface(), true, nil
}

// tableKeys lists up to limit keys of a table for error messages.
func tableKeys(table any, limit int) string {
	rv := reflect.ValueOf(table)
	keys := make([]string, 0, rv.Len())
	for _, k := range rv.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	more := ""
	if len(keys) > limit {
		keys, more = keys[:limit], fmt.Sprintf(" and %d more", len(keys)-limit)
	}
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = strconv.Quote(k)
	}
	return strings.Join(quoted, ", ") + more
}

func init() {
	checkConstant("jsonGet", 1, checkPath)

	register(FunctionDoc{
		Name: "lookup", Category: CategoryData,
		Signature:   "lookup(value, table[, default]) any",
		Description: "Maps a value through a table object, comparing it as text (1 finds \"1\"); a missing value returns default when one is given and is otherwise an error naming the value, for the node's error branch to catch.",
		Example:     `lookup("TRADE_SUCCESS", {TRADE_SUCCESS: "paid", TRADE_CLOSED: "cancelled"}) + "/" + lookup("WAIT_BUYER_PAY", {TRADE_SUCCESS: "paid"}, "pending")`,
		Output:      "paid/pending",
	}, func(params ...any) (any, error) {
		if err := arity("lookup", params, 2, 3); err != nil {
			return nil, err
		}
		if params[0] != nil {
			key, err := argText("lookup", 0, params[0])
			if err != nil {
				return nil, err
			}
			v, ok, err := tableEntry(params[1], key)
			if err != nil {
				return nil, err
			}
			if ok {
				return v, nil
			}
		} else if _, _, err := tableEntry(params[1], ""); err != nil {
			return nil, err
		}
		if len(params) == 3 {
			return params[2], nil
		}
		return nil, fmt.Errorf("lookup: no entry for %s in the table (it has %s)", quoteValue(params[0]), tableKeys(params[1], 10))
	},
		new(func(any, map[string]any, ...any) any),
	)

	registerBounded(FunctionDoc{
		Name: "jsonGet", Category: CategoryData,
		Signature:   "jsonGet(value, path[, default]) any",
		Description: "Reads a value at a path such as \"customer.addresses[0].city\", `items[-1]` or `meta[\"order.id\"]` from an object, a list or JSON text, returning default (or null) when any step is missing or null.",
		Example:     `jsonGet({customer: {addresses: [{city: "Hangzhou"}]}}, "customer.addresses[0].city") + "/" + jsonGet("{\"a\": []}", "a[0].b", "none")`,
		Output:      "Hangzhou/none",
	}, func(b *budget, params ...any) (any, error) {
		if err := arity("jsonGet", params, 2, 3); err != nil {
			return nil, err
		}
		path, err := argString("jsonGet", 1, params[1])
		if err != nil {
			return nil, err
		}
		steps, err := paths.getOrMake(path, parsePath)
		if err != nil {
			return nil, fmt.Errorf("jsonGet: %w", err)
		}
		obj := params[0]
		if s, ok := obj.(string); ok {
			if obj, err = decodeJSON(b, s); err != nil {
				var limit *limitError
				if errors.As(err, &limit) {
					return nil, err
				}
				return nil, errArg("jsonGet", 0, "is not valid JSON: %v", err)
			}
		}
		var def any
		if len(params) == 3 {
			def = params[2]
		}
		v, ok := walkPath(obj, steps)
		if !ok || v == nil {
			return def, nil
		}
		return v, nil
	},
		new(func(any, string, ...any) any),
	)

	register(FunctionDoc{
		Name: "coalesce", Category: CategoryData,
		Signature:   "coalesce(value, ...) any",
		Description: "Returns the first argument that is neither null, \"\", an empty list nor an empty object (0 and false count as values), or null when all are empty.",
		Example:     `coalesce(nil, "", "fallback@example.com")`,
		Output:      "fallback@example.com",
	}, func(params ...any) (any, error) {
		for _, p := range params {
			if !isEmpty(p) {
				return p, nil
			}
		}
		return nil, nil
	}, new(func(any, ...any) any))

	register(FunctionDoc{
		Name: "uuid", Category: CategoryData,
		Signature:   "uuid() string",
		Description: "Returns a new random (version 4) UUID, such as an idempotency key for a payment request.",
		Example:     `len(uuid())`,
		Output:      "36",
	}, func(params ...any) (any, error) {
		if err := arity("uuid", params, 0, 0); err != nil {
			return nil, err
		}
		return uuid.NewString(), nil
	}, new(func() string))

	register(FunctionDoc{
		Name: "uuidV7", Category: CategoryData,
		Signature:   "uuidV7() string",
		Description: "Returns a new time-ordered (version 7) UUID, which sorts by creation time and so suits database keys.",
		Example:     `uuidV7()[14:15]`,
		Output:      "7",
	}, func(params ...any) (any, error) {
		if err := arity("uuidV7", params, 0, 0); err != nil {
			return nil, err
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("uuidV7: %w", err)
		}
		return id.String(), nil
	}, new(func() string))
}
