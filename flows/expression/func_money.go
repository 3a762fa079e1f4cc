package expression

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Money is handled as whole minor units (cents, fen) with a currency code, never as float64 arithmetic
// (invariant I7). A float64 that came from JSON is first printed as its shortest exact decimal text and that
// text is parsed, so 149.99 becomes 14999 and never 14998.999….

// currencyMinorUnits maps ISO 4217 codes to their number of decimals (the "minor unit" column). Payment
// providers sometimes deviate (Stripe charges ISK and HUF in whole units, for example); such rules belong to
// the provider's node, which can still use these functions with an explicit currency of the right exponent.
var currencyMinorUnits = map[string]int{
	// Zero decimals.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
	"UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	// Three decimals.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// Four decimals (units of account).
	"CLF": 4, "UYW": 4,
	// Two decimals.
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2, "BAM": 2,
	"BBD": 2, "BDT": 2, "BGN": 2, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2,
	"BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CNY": 2, "COP": 2, "CRC": 2, "CUP": 2, "CVE": 2,
	"CZK": 2, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2,
	"GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2,
	"HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IRR": 2, "JMD": 2, "KES": 2, "KGS": 2, "KHR": 2, "KPW": 2,
	"KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "MAD": 2, "MDL": 2, "MGA": 2,
	"MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2,
	"MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2, "PAB": 2, "PEN": 2, "PGK": 2,
	"PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "SAR": 2, "SBD": 2, "SCR": 2,
	"SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2,
	"SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2,
	"UAH": 2, "USD": 2, "UYU": 2, "UZS": 2, "VES": 2, "WST": 2, "XCD": 2, "YER": 2, "ZAR": 2, "ZMW": 2,
	"ZWG": 2,
}

// currency normalises a code ("eur", " EUR ") and returns it with its decimals.
func currency(code string) (string, int, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	d, ok := currencyMinorUnits[c]
	if !ok {
		return "", 0, fmt.Errorf("unknown currency %q (want an ISO 4217 code such as CNY, EUR or USD)", code)
	}
	return c, d, nil
}

// Rounding modes accepted by toMinor and money when an amount has more decimals than its currency.
const (
	roundHalfUp   = "half-up"   // halves away from zero: 1.005 → 1.01, -1.005 → -1.01
	roundHalfEven = "half-even" // halves to the even neighbour (banker's rounding): 1.005 → 1.00, 1.015 → 1.02
	roundDown     = "down"      // toward zero: 1.009 → 1.00, -1.009 → -1.00
	roundUp       = "up"        // away from zero: 1.001 → 1.01
)

func checkRounding(mode string) error {
	switch mode {
	case roundHalfUp, roundHalfEven, roundDown, roundUp:
		return nil
	}
	return fmt.Errorf("unknown rounding mode %q (want \"half-up\", \"half-even\", \"down\" or \"up\")", mode)
}

// decimal is an exact decimal number: the digits before and after the point, without leading zeros in
// whole nor trailing zeros in frac.
type decimal struct {
	neg   bool
	whole string
	frac  string
}

// maxExponent bounds the exponent of "1e5"-style input so that a hostile value cannot make parseDecimal
// build a huge string.
const maxExponent = 64

// parseDecimal parses decimal text: an optional sign, digits with at most one point, and an optional
// exponent ("1.5e3", as json.Number may hold). Thousands separators and spaces inside are rejected.
func parseDecimal(s string) (decimal, error) {
	var d decimal
	orig := s
	if s == "" {
		return d, fmt.Errorf("empty amount")
	}
	switch s[0] {
	case '-':
		d.neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxExponent || e < -maxExponent {
			return d, fmt.Errorf("%q is not a decimal number", orig)
		}
		exp = e
	}
	whole, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		whole, frac = mant[:i], mant[i+1:]
	}
	if whole == "" && frac == "" || !allDigits(whole) || !allDigits(frac) {
		return d, fmt.Errorf("%q is not a decimal number", orig)
	}
	if exp != 0 {
		digits := whole + frac
		point := len(whole) + exp
		switch {
		case point <= 0:
			whole, frac = "", strings.Repeat("0", -point)+digits
		case point >= len(digits):
			whole, frac = digits+strings.Repeat("0", point-len(digits)), ""
		default:
			whole, frac = digits[:point], digits[point:]
		}
	}
	d.whole = strings.TrimLeft(whole, "0")
	d.frac = strings.TrimRight(frac, "0")
	if d.whole == "" && d.frac == "" {
		d.neg = false // -0 is 0
	}
	return d, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// int64 returns the number when it is whole and fits.
func (d decimal) int64() (int64, bool) {
	if d.frac != "" {
		return 0, false
	}
	return d.scaled(0, "")
}

func (d decimal) String() string {
	s := d.whole
	if s == "" {
		s = "0"
	}
	if d.frac != "" {
		s += "." + d.frac
	}
	if d.neg {
		s = "-" + s
	}
	return s
}

// scaled returns d × 10^places as an integer, rounding the digits beyond places with mode ("" refuses to
// round). The boolean is false on overflow or when rounding was needed but not allowed.
func (d decimal) scaled(places int, mode string) (int64, bool) {
	kept, rest := d.frac, ""
	if len(kept) > places {
		kept, rest = kept[:places], kept[places:]
	}
	if rest != "" && mode == "" {
		return 0, false
	}
	digits := d.whole + kept + strings.Repeat("0", places-len(kept))
	var n uint64
	if digits != "" {
		if len(digits) > 19 {
			return 0, false
		}
		var err error
		if n, err = strconv.ParseUint(digits, 10, 64); err != nil {
			return 0, false
		}
	}
	if rest != "" && roundsAway(mode, rest, n) {
		n++
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	if d.neg {
		return -int64(n), true
	}
	return int64(n), true
}

// roundsAway reports whether dropping the digits rest (never empty, no trailing zeros) from a coefficient
// ending in n moves it one unit away from zero.
func roundsAway(mode, rest string, n uint64) bool {
	switch mode {
	case roundUp:
		return true
	case roundHalfUp:
		return rest[0] >= '5'
	case roundHalfEven:
		if rest[0] != '5' {
			return rest[0] > '5'
		}
		return len(rest) > 1 || n%2 == 1
	}
	return false // roundDown
}

// amountDecimal reads an amount in major units from the types payloads carry.
func amountDecimal(fn string, i int, v any) (decimal, error) {
	var text string
	switch x := v.(type) {
	case string:
		text = strings.TrimSpace(x)
	case json.Number:
		text = string(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return decimal{}, errArg(fn, i, "must be a finite number, got %v", x)
		}
		text = strconv.FormatFloat(x, 'f', -1, 64) // shortest text that reads back as x, e.g. "149.99"
	case float32:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return decimal{}, errArg(fn, i, "must be a finite number, got %v", x)
		}
		text = strconv.FormatFloat(f, 'f', -1, 32)
	default:
		n, ok := toInt64(v)
		if !ok {
			return decimal{}, errArg(fn, i, "must be an amount (decimal text or a number), got %s", describe(v))
		}
		text = strconv.FormatInt(n, 10)
	}
	d, err := parseDecimal(text)
	if err != nil {
		return decimal{}, errArg(fn, i, "must be an amount: %v", err)
	}
	return d, nil
}

// minorUnits converts an amount in major units to minor units of code.
func minorUnits(fn string, amount any, code string, mode string) (int64, string, error) {
	c, places, err := currency(code)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", fn, err)
	}
	if mode != "" {
		if err := checkRounding(mode); err != nil {
			return 0, "", fmt.Errorf("%s: %w", fn, err)
		}
	}
	d, err := amountDecimal(fn, 0, amount)
	if err != nil {
		return 0, "", err
	}
	n, ok := d.scaled(places, mode)
	if !ok {
		if mode == "" && len(d.frac) > places {
			return 0, "", fmt.Errorf("%s: %s has %d decimals but %s has %d; pass a rounding mode (\"half-up\", \"half-even\" or \"down\") to round it",
				fn, d, len(d.frac), c, places)
		}
		return 0, "", fmt.Errorf("%s: %s %s is too large", fn, d, c)
	}
	return n, c, nil
}

// formatMinor prints minor units of a currency with places decimals as a decimal string.
func formatMinor(n int64, places int) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u // two's complement: correct for math.MinInt64 too
	}
	s := strconv.FormatUint(u, 10)
	if places > 0 {
		if len(s) <= places {
			s = strings.Repeat("0", places-len(s)+1) + s
		}
		s = s[:len(s)-places] + "." + s[len(s)-places:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// minorArg reads an amount already in minor units: a whole number, including a whole float64 from JSON.
func minorArg(fn string, i int, v any) (int64, error) {
	if v == nil {
		return 0, errArg(fn, i, "must be whole minor units, got null")
	}
	n, ok := toInt64(v)
	if !ok {
		return 0, errArg(fn, i, "must be whole minor units (an integer such as 14999), got %s", quoteValue(v))
	}
	return n, nil
}

func roundingArg(fn string, params []any, i int) (string, error) {
	if len(params) <= i {
		return "", nil
	}
	return argString(fn, i, params[i])
}

func init() {
	for _, name := range []string{"toMinor", "fromMinor", "money", "formatMoney"} {
		checkConstant(name, 1, func(s string) error { _, _, err := currency(s); return err })
	}
	checkConstant("currencyDigits", 0, func(s string) error { _, _, err := currency(s); return err })
	checkConstant("toMinor", 2, checkRounding)
	checkConstant("money", 2, checkRounding)

	register(FunctionDoc{
		Name: "toMinor", Category: CategoryMoney,
		Signature:   "toMinor(amount, currency[, rounding]) int",
		Description: "Converts an amount in major units (decimal text, integer or JSON number) to integer minor units of the ISO 4217 currency without float arithmetic; more decimals than the currency has are an error unless rounding is \"half-up\", \"half-even\", \"down\" or \"up\".",
		Example:     `toMinor(149.99, "EUR") + toMinor("0.29", "CNY") + toMinor(1000, "JPY") + toMinor("1.005", "USD", "half-up")`,
		Output:      "16129",
	}, func(params ...any) (any, error) {
		if err := arity("toMinor", params, 2, 3); err != nil {
			return nil, err
		}
		code, err := argString("toMinor", 1, params[1])
		if err != nil {
			return nil, err
		}
		mode, err := roundingArg("toMinor", params, 2)
		if err != nil {
			return nil, err
		}
		n, _, err := minorUnits("toMinor", params[0], code, mode)
		if err != nil {
			return nil, err
		}
		return n, nil
	},
		new(func(any, string, ...string) int64),
	)

	register(FunctionDoc{
		Name: "fromMinor", Category: CategoryMoney,
		Signature:   "fromMinor(minor, currency) string",
		Description: "Turns integer minor units back into the exact decimal text of the amount, with as many decimals as the currency has.",
		Example:     `fromMinor(14999, "EUR") + " / " + fromMinor(1000, "JPY") + " / " + fromMinor(-5, "KWD")`,
		Output:      "149.99 / 1000 / -0.005",
	}, func(params ...any) (any, error) {
		if err := arity("fromMinor", params, 2, 2); err != nil {
			return nil, err
		}
		n, err := minorArg("fromMinor", 0, params[0])
		if err != nil {
			return nil, err
		}
		code, err := argString("fromMinor", 1, params[1])
		if err != nil {
			return nil, err
		}
		_, places, err := currency(code)
		if err != nil {
			return nil, fmt.Errorf("fromMinor: %w", err)
		}
		return formatMinor(n, places), nil
	}, new(func(any, string) string))

	register(FunctionDoc{
		Name: "money", Category: CategoryMoney,
		Signature:   "money(amount, currency[, rounding]) map",
		Description: "Builds the money object nodes expect, {\"amount\": minor units, \"currency\": code}, from an amount in major units, converting exactly as toMinor does.",
		Example:     `money("149.99", "eur")`,
		Output:      `{"amount":14999,"currency":"EUR"}`,
	}, func(params ...any) (any, error) {
		if err := arity("money", params, 2, 3); err != nil {
			return nil, err
		}
		code, err := argString("money", 1, params[1])
		if err != nil {
			return nil, err
		}
		mode, err := roundingArg("money", params, 2)
		if err != nil {
			return nil, err
		}
		n, c, err := minorUnits("money", params[0], code, mode)
		if err != nil {
			return nil, err
		}
		return map[string]any{"amount": n, "currency": c}, nil
	},
		new(func(any, string, ...string) map[string]any),
	)

	register(FunctionDoc{
		Name: "formatMoney", Category: CategoryMoney,
		Signature:   "formatMoney(minor, currency) string",
		Description: "Prints integer minor units for people as the decimal amount followed by the currency code, without thousands separators.",
		Example:     `formatMoney(14999, "EUR")`,
		Output:      "149.99 EUR",
	}, func(params ...any) (any, error) {
		if err := arity("formatMoney", params, 2, 2); err != nil {
			return nil, err
		}
		n, err := minorArg("formatMoney", 0, params[0])
		if err != nil {
			return nil, err
		}
		code, err := argString("formatMoney", 1, params[1])
		if err != nil {
			return nil, err
		}
		c, places, err := currency(code)
		if err != nil {
			return nil, fmt.Errorf("formatMoney: %w", err)
		}
		return formatMinor(n, places) + " " + c, nil
	}, new(func(any, string) string))

	register(FunctionDoc{
		Name: "currencyDigits", Category: CategoryMoney,
		Signature:   "currencyDigits(currency) int",
		Description: "Returns how many decimals the ISO 4217 currency has (2 for EUR, 0 for JPY, 3 for KWD), and fails for an unknown code.",
		Example:     `currencyDigits("JPY") + currencyDigits("kwd")`,
		Output:      "3",
	}, func(params ...any) (any, error) {
		if err := arity("currencyDigits", params, 1, 1); err != nil {
			return nil, err
		}
		code, err := argString("currencyDigits", 0, params[0])
		if err != nil {
			return nil, err
		}
		_, places, err := currency(code)
		if err != nil {
			return nil, fmt.Errorf("currencyDigits: %w", err)
		}
		return places, nil
	}, new(func(string) int))
}

// ParseMinor converts a decimal amount string ("88.00", "1000") into integer minor units of currency, exactly,
// refusing more decimals than the currency has. Payment connectors use it on provider amounts (I7).
func ParseMinor(decimal, code string) (int64, error) {
	n, _, err := minorUnits("amount", decimal, code, "")
	return n, err
}

// FormatMinor prints minor units of currency as a decimal string ("149.99"); an unknown currency is printed with
// two decimals.
func FormatMinor(minor int64, code string) string {
	_, places, err := currency(code)
	if err != nil {
		places = 2
	}
	return formatMinor(minor, places)
}
