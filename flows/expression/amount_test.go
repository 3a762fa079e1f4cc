package expression

import (
	"encoding/json"
	"math"
	"testing"
)

func TestAmountCmp(t *testing.T) {
	tests := []struct {
		a, b any
		want int
	}{
		{"149.99", "149.99", 0},
		{"149.990", 149.99, 0}, // a float from JSON is read as its shortest text, never 149.98999…
		{"0.1", 0.1, 0},
		{"0.3", 0.30000000000000004, -1},
		{"100", int64(100), 0},
		{"1e2", json.Number("100.00"), 0},
		{"-0", "0", 0},
		{"0.5", "0.51", -1},
		{"0.6", "0.51", 1},
		{"9.99", "10", -1},
		{"-10.5", "-10", -1},
		{"-1", "0.01", -1},
		{"0.01", "-1", 1},
		{"-2", "-10", 1},
		{" 42 ", int64(42), 0},
		{"99999999999999999999.01", "99999999999999999999", 1}, // beyond int64 and float64 precision
	}
	for _, tc := range tests {
		a, err := ParseAmount(tc.a)
		if err != nil {
			t.Fatalf("ParseAmount(%v): %v", tc.a, err)
		}
		b, err := ParseAmount(tc.b)
		if err != nil {
			t.Fatalf("ParseAmount(%v): %v", tc.b, err)
		}
		if got := a.Cmp(b); got != tc.want {
			t.Errorf("%v cmp %v = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := b.Cmp(a); got != -tc.want {
			t.Errorf("%v cmp %v = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

func TestParseAmountRefuses(t *testing.T) {
	for _, v := range []any{"", "abc", "1,000.00", "1.2.3", "¥5", "1e999", nil, true, math.NaN(), math.Inf(1), []any{}} {
		if a, err := ParseAmount(v); err == nil {
			t.Errorf("ParseAmount(%v) = %s, want an error", v, a)
		}
	}
	if a, _ := ParseAmount("0100.500"); a.String() != "100.5" {
		t.Errorf("String = %s", a)
	}
}
