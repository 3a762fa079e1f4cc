package names

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{"", "Order paid → CRM", "订单已支付", "Zahlung eingegangen", "שלום", "مرحبا", "emoji 🚚", "tab-free name"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v", ok, err)
		}
	}
	for _, c := range []struct {
		name   string
		r      rune
		offset int
	}{
		{"pay\x00ment", 0, 3},
		{"invoice\u202Efdp.exe", 0x202E, 7},
		{"\u202Astart", 0x202A, 0},
		{"iso\u2066late\u2069", 0x2066, 3},
		{"mark\u200E", 0x200E, 4},
		{"mark\u200F", 0x200F, 4},
		{"alm\u061C", 0x061C, 3},
		{"two\nlines", '\n', 3},
		{"del\x7f", 0x7f, 3},
		{"c1\u0085", 0x85, 2},
		{"bad\xffutf8", 0xFFFD, 3},
	} {
		err := Check(c.name)
		var e *Error
		if !errors.As(err, &e) || e.Rune != c.r || e.Offset != c.offset || e.Code() != Code {
			t.Errorf("Check(%q) = %#v, want rune %U at %d", c.name, err, c.r, c.offset)
		}
	}
	// A real U+FFFD, written as such, is a character like any other.
	if err := Check("replacement \uFFFD"); err != nil {
		t.Errorf("an encoded U+FFFD refused: %v", err)
	}
}
