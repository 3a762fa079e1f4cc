package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
)

// The conversions below are the ones core.map offers per field. They accept the values expressions produce
// (int, int64, float64, string, bool, time.Time, json.Number) without reflection, because mapping is on the
// hot path of every run.

func toInteger(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float64:
		return floatToInt(x)
	case json.Number:
		return parseInteger(string(x))
	case string:
		return parseInteger(x)
	}
	return 0, fmt.Errorf("cannot convert %s to an integer", describe(v))
}

// twoTo63 is 2^63, the first float64 beyond the int64 range.
const twoTo63 = 9223372036854775808.0

func floatToInt(f float64) (int64, error) {
	if f != math.Trunc(f) || f < -twoTo63 || f >= twoTo63 {
		return 0, fmt.Errorf("%s is not a whole number", strconv.FormatFloat(f, 'f', -1, 64))
	}
	return int64(f), nil
}

func parseInteger(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if i, err := strconv.ParseInt(t, 10, 64); err == nil {
		return i, nil
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return floatToInt(f)
	}
	return 0, fmt.Errorf("%q is not a whole number", s)
}

// toNumber keeps integers as int64 and everything else as float64, the same split nodes.DecodeJSON makes.
func toNumber(v any) (any, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("%v is not a finite number", x)
		}
		return x, nil
	case json.Number:
		return parseNumber(string(x))
	case string:
		return parseNumber(x)
	}
	return nil, fmt.Errorf("cannot convert %s to a number", describe(v))
}

func parseNumber(s string) (any, error) {
	t := strings.TrimSpace(s)
	if i, err := strconv.ParseInt(t, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}

func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "yes", "y", "on":
			return true, nil
		case "false", "0", "no", "n", "off", "":
			return false, nil
		}
		return false, fmt.Errorf("%q is not true or false", x)
	case int64, int, float64, json.Number:
		n, err := toInteger(x)
		if err == nil && (n == 0 || n == 1) {
			return n == 1, nil
		}
	}
	return false, fmt.Errorf("cannot convert %s to true or false", describe(v))
}

// timeLayouts are the textual times accepted by the time conversion and by core.delay, most specific first.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02",
	time.RFC1123Z,
	time.RFC1123,
}

// unixMillisThreshold tells Unix seconds from Unix milliseconds: 10^12 seconds is beyond the year 30000, while
// 10^12 milliseconds is 2001, so larger numbers can only be milliseconds.
const unixMillisThreshold = 1_000_000_000_000

// toTime reads a time from text (RFC 3339 and the layouts above; times without a zone are UTC), from Unix seconds
// or milliseconds, or from a time value.
func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		t := strings.TrimSpace(x)
		for _, layout := range timeLayouts {
			if tm, err := time.Parse(layout, t); err == nil {
				return tm, nil
			}
		}
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return unixTime(n), nil
		}
		return time.Time{}, fmt.Errorf("%q is not a time such as 2026-01-02T15:04:05Z", x)
	case int64, int, int32, float64, json.Number:
		n, err := toInteger(x)
		if err != nil {
			return time.Time{}, fmt.Errorf("cannot read a Unix time: %w", err)
		}
		return unixTime(n), nil
	}
	return time.Time{}, fmt.Errorf("cannot convert %s to a time", describe(v))
}

func unixTime(n int64) time.Time {
	if n >= unixMillisThreshold || n <= -unixMillisThreshold {
		return time.UnixMilli(n).UTC()
	}
	return time.Unix(n, 0).UTC()
}

// formatTime is how times are written into run data: RFC 3339 keeps the offset and survives a JSON round trip,
// where a time.Time value would come back as text after a checkpoint anyway.
func formatTime(t time.Time) string { return t.Format(time.RFC3339Nano) }

// Currency exponents that differ from the usual two decimal places, from ISO 4217.
var currencyExponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
	"UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// currencyExponent returns the number of minor-unit digits of an ISO 4217 code; codes are case-insensitive
// (Stripe sends "eur") and well-formed codes not listed above have two.
func currencyExponent(code string) (int, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if len(c) != 3 || !isUpperAlpha(c) {
		return 0, fmt.Errorf("%q is not a three-letter ISO 4217 currency code", code)
	}
	if e, ok := currencyExponents[c]; ok {
		return e, nil
	}
	return 2, nil
}

func isUpperAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

var errMinorOverflow = errors.New("amount is too large for integer minor units")

// toMinor converts an amount in major units (149.99) to integer minor units (14999) without float arithmetic:
// floats are first written as their shortest exact decimal text, which is then scaled digit by digit. Amounts
// with more decimals than the currency has are rounded half away from zero.
func toMinor(v any, exp int) (int64, error) {
	switch x := v.(type) {
	case int64:
		return scaleInt(x, exp)
	case int:
		return scaleInt(int64(x), exp)
	case int32:
		return scaleInt(int64(x), exp)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, fmt.Errorf("%v is not an amount", x)
		}
		var buf [32]byte
		return decimalToMinor(strconv.AppendFloat(buf[:0], x, 'f', -1, 64), exp)
	case json.Number:
		return decimalToMinor(string(x), exp)
	case string:
		return decimalToMinor(strings.TrimSpace(x), exp)
	}
	return 0, fmt.Errorf("cannot convert %s to an amount", describe(v))
}

func scaleInt(n int64, exp int) (int64, error) {
	for range exp {
		if n > math.MaxInt64/10 || n < math.MinInt64/10 {
			return 0, errMinorOverflow
		}
		n *= 10
	}
	return n, nil
}

// decimalToMinor parses [+-]digits[.digits] exactly. It takes text or bytes, so a float can be formatted into a
// stack buffer and parsed without allocating.
func decimalToMinor[T string | []byte](s T, exp int) (int64, error) {
	text, neg := s, false
	if len(text) > 0 && (text[0] == '-' || text[0] == '+') {
		neg = text[0] == '-'
		text = text[1:]
	}
	whole, frac := text, text[:0]
	for i := 0; i < len(text); i++ {
		if text[i] == '.' {
			whole, frac = text[:i], text[i+1:]
			break
		}
	}
	if len(whole) == 0 && len(frac) == 0 || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("%q is not a decimal amount such as 149.99", string(s))
	}
	var n uint64
	const limit = uint64(math.MaxInt64)
	for i := 0; i < len(whole)+exp; i++ {
		d := byte('0')
		switch {
		case i < len(whole):
			d = whole[i]
		case i-len(whole) < len(frac):
			d = frac[i-len(whole)]
		}
		if n > (limit-uint64(d-'0'))/10 {
			return 0, errMinorOverflow
		}
		n = n*10 + uint64(d-'0')
	}
	if len(frac) > exp && frac[exp] >= '5' {
		if n == limit {
			return 0, errMinorOverflow
		}
		n++
	}
	if neg {
		return -int64(n), nil
	}
	return int64(n), nil
}

func allDigits[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// describe names a value in an error message without dumping it whole (it may be a large object or personal
// data).
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			return "text"
		}
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case int64, int, int32, float64, json.Number:
		return expression.Stringify(x)
	}
	return fmt.Sprintf("a value of type %T", v)
}
