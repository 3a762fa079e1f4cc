package expression

import (
	"fmt"
	"strings"
)

// Amount is an exact decimal number read the way the money functions read amounts: decimal text, or a number
// from JSON printed as its shortest exact text first, so 149.99 is 149.99 and never 149.98999…. Nodes that
// compare amounts (a range check) use it instead of float64 arithmetic (invariant I7).
type Amount struct{ d decimal }

// ParseAmount reads an amount from decimal text ("149.99", "-5", "1e3") or from a number of any type a payload
// carries; text is trimmed, and thousands separators are refused rather than guessed at.
func ParseAmount(v any) (Amount, error) {
	if s, ok := v.(string); ok {
		d, err := parseDecimal(strings.TrimSpace(s))
		if err != nil {
			return Amount{}, err
		}
		return Amount{d}, nil
	}
	if v == nil {
		return Amount{}, fmt.Errorf("null is not an amount")
	}
	d, err := amountDecimal("amount", 0, v)
	if err != nil {
		return Amount{}, fmt.Errorf("%s is not an amount", quoteValue(v))
	}
	return Amount{d}, nil
}

// Cmp returns -1, 0 or +1 as a is less than, equal to or greater than b, exactly.
func (a Amount) Cmp(b Amount) int {
	if a.d.neg != b.d.neg {
		if a.d.neg {
			return -1
		}
		return 1
	}
	c := cmpAbs(a.d, b.d)
	if a.d.neg {
		return -c
	}
	return c
}

// String prints the amount without leading or trailing zeros ("149.9", "0", "-5").
func (a Amount) String() string { return a.d.String() }

// cmpAbs compares the magnitudes of two decimals. Neither has leading zeros in whole nor trailing zeros in
// frac, so a longer whole part is larger and fractional digits compare as text.
func cmpAbs(a, b decimal) int {
	if len(a.whole) != len(b.whole) {
		if len(a.whole) < len(b.whole) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.whole, b.whole); c != 0 {
		return c
	}
	return strings.Compare(a.frac, b.frac)
}
