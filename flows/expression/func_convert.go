package expression

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The conversions exist because payloads disagree on types: one CRM sends "42", another 42, a form "yes".
// Unlike expr's int() and float(), they accept all of these and fail with a clear message instead of
// truncating (int(4.7) is 4; toInt(4.7) is an error).

func toIntValue(v any) (int, error) {
	if v == nil {
		return 0, fmt.Errorf("toInt: cannot convert null to a whole number")
	}
	if _, ok := v.(bool); ok {
		return 0, fmt.Errorf("toInt: cannot convert a boolean to a whole number")
	}
	n, ok := toInt64(v)
	if !ok {
		if s, isText := v.(string); isText && strings.TrimSpace(s) == "" {
			return 0, fmt.Errorf("toInt: cannot convert empty text to a whole number")
		}
		if _, isNumber := numberValue(v); isNumber || isNumericText(v) {
			return 0, fmt.Errorf("toInt: %s is not a whole number or is too large", quoteValue(v))
		}
		return 0, fmt.Errorf("toInt: cannot convert %s to a whole number", quoteValue(v))
	}
	if int64(int(n)) != n {
		return 0, fmt.Errorf("toInt: %s is too large", quoteValue(v))
	}
	return int(n), nil
}

func isNumericText(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := parseDecimal(strings.TrimSpace(s))
	return err == nil
}

func toNumberValue(v any) (float64, error) {
	switch x := v.(type) {
	case nil:
		return 0, fmt.Errorf("toNumber: cannot convert null to a number")
	case bool:
		return 0, fmt.Errorf("toNumber: cannot convert a boolean to a number")
	case string:
		s := strings.TrimSpace(x)
		if _, err := parseDecimal(s); err != nil { // plain decimals only: no "NaN", "Inf", "0x1p4" or "1_000"
			return 0, fmt.Errorf("toNumber: cannot convert %s to a number", quoteValue(x))
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("toNumber: %s is out of range", quoteValue(x))
		}
		return f, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, fmt.Errorf("toNumber: cannot convert %s to a number", x)
		}
		return f, nil
	}
	f, ok := numberValue(v)
	if !ok {
		return 0, fmt.Errorf("toNumber: cannot convert %s to a number", describe(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("toNumber: %v is not a finite number", f)
	}
	return f, nil
}

func toBoolValue(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "yes", "y", "on":
			return true, nil
		case "false", "0", "no", "n", "off":
			return false, nil
		}
		return false, fmt.Errorf("toBool: cannot convert %s to a boolean (want true/false, yes/no, on/off or 1/0)", quoteValue(x))
	case nil:
		return false, fmt.Errorf("toBool: cannot convert null to a boolean")
	}
	if f, ok := numberValue(v); ok {
		switch f {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		return false, fmt.Errorf("toBool: cannot convert %s to a boolean (want 1 or 0)", Stringify(v))
	}
	return false, fmt.Errorf("toBool: cannot convert %s to a boolean", describe(v))
}

func init() {
	register(FunctionDoc{
		Name: "toInt", Category: CategoryConversion,
		Signature:   "toInt(value) int",
		Description: "Converts a whole number given as a number or text (\"42\", \"42.0\", 42.0) to an integer, failing for fractions, empty text, booleans and null rather than truncating as int() does.",
		Example:     `toInt("42") + toInt(8.0)`,
		Output:      "50",
	}, func(params ...any) (any, error) {
		if err := arity("toInt", params, 1, 1); err != nil {
			return nil, err
		}
		return toIntValue(params[0])
	}, new(func(any) int))

	register(FunctionDoc{
		Name: "toNumber", Category: CategoryConversion,
		Signature:   "toNumber(value) float",
		Description: "Converts a number or decimal text (\"3.14\", \" 42 \") to a floating-point number for arithmetic and comparisons; use toMinor for money.",
		Example:     `toNumber("2.5") * 2`,
		Output:      "5",
	}, func(params ...any) (any, error) {
		if err := arity("toNumber", params, 1, 1); err != nil {
			return nil, err
		}
		return toNumberValue(params[0])
	}, new(func(any) float64))

	registerBounded(FunctionDoc{
		Name: "toString", Category: CategoryConversion,
		Signature:   "toString(value) string",
		Description: "Converts any value to the text a template would print: null is \"\", numbers have no exponent (1e6 is \"1000000\"), times are RFC 3339, objects and lists are JSON.",
		Example:     `toString(1000000.0) + " " + toString({a: [1, 2]})`,
		Output:      `1000000 {"a":[1,2]}`,
	}, func(b *budget, params ...any) (any, error) {
		if err := arity("toString", params, 1, 1); err != nil {
			return nil, err
		}
		return stringify(b, params[0])
	}, new(func(any) string))

	register(FunctionDoc{
		Name: "toBool", Category: CategoryConversion,
		Signature:   "toBool(value) bool",
		Description: "Converts true/false, yes/no, y/n, on/off and 1/0 (as text, any case, or as numbers) to a boolean, failing for anything else.",
		Example:     `toBool("Yes") && !toBool(0)`,
		Output:      "true",
	}, func(params ...any) (any, error) {
		if err := arity("toBool", params, 1, 1); err != nil {
			return nil, err
		}
		return toBoolValue(params[0])
	}, new(func(any) bool))
}
