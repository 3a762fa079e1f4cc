package expression

import (
	"encoding/json"
	"math"
	"testing"
)

func TestToMinor(t *testing.T) {
	runEvalCases(t, []evalCase{
		// Payload values: trigger.body is decoded JSON, so amounts arrive as float64.
		{src: `toMinor(trigger.body, "EUR")`, body: 149.99, want: int64(14999)},
		{src: `toMinor(trigger.body, "CNY")`, body: 0.29, want: int64(29)},
		{src: `toMinor(trigger.body, "USD")`, body: 19.99, want: int64(1999)},
		{src: `toMinor(trigger.body, "USD")`, body: 4.35, want: int64(435)}, // 4.35*100 is 434.99999999999994
		{src: `toMinor(trigger.body, "USD")`, body: 0.57, want: int64(57)},  // 0.57*100 is 56.99999999999999
		{src: `toMinor(trigger.body, "USD")`, body: 1.15, want: int64(115)}, // 1.15*100 is 114.99999999999999
		{src: `toMinor(trigger.body, "JPY")`, body: 1000.0, want: int64(1000)},
		{src: `toMinor(trigger.body, "KWD")`, body: 1.234, want: int64(1234)},
		{src: `toMinor(trigger.body, "BHD")`, body: 0.5, want: int64(500)},
		{src: `toMinor(trigger.body, "EUR")`, body: -12.5, want: int64(-1250)},
		{src: `toMinor(trigger.body, "EUR")`, body: 0.0, want: int64(0)},
		{src: `toMinor(trigger.body, "EUR")`, body: 1e15, want: int64(100000000000000000)},
		{src: `toMinor(trigger.body, "EUR")`, body: json.Number("149.99"), want: int64(14999)},
		{src: `toMinor(trigger.body, "EUR")`, body: json.Number("1.4999e2"), want: int64(14999)},
		{src: `toMinor(trigger.body, "EUR")`, body: "  149.99 ", want: int64(14999)},
		{src: `toMinor(trigger.body, "EUR")`, body: "149.990000", want: int64(14999)},
		{src: `toMinor(trigger.body, "EUR")`, body: "+5", want: int64(500)},
		{src: `toMinor(trigger.body, "EUR")`, body: ".5", want: int64(50)},
		{src: `toMinor(trigger.body, "EUR")`, body: "-0.00", want: int64(0)},
		// Literals and currency spelling.
		{src: `toMinor("149.99", "eur")`, want: int64(14999)},
		{src: `toMinor(149.99, " EUR ")`, want: int64(14999)},
		{src: `toMinor(1000, "JPY")`, want: int64(1000)},
		{src: `toMinor(12, "USD")`, want: int64(1200)},
		{src: `toMinor(3, "KWD")`, want: int64(3000)},
		{src: `toMinor("7.5", "CLF")`, want: int64(75000)},
		// The classic float traps.
		{src: `toMinor(0.1 + 0.2, "USD")`, err: "0.30000000000000004 has 17 decimals but USD has 2"},
		{src: `toMinor(0.1 + 0.2, "USD", "half-up")`, want: int64(30)},
		{src: `toMinor(1.005, "USD")`, err: "1.005 has 3 decimals but USD has 2; pass a rounding mode"},
		{src: `toMinor(1.005, "USD", "half-up")`, want: int64(101)}, // float math gives 100
		{src: `toMinor(1.005, "USD", "half-even")`, want: int64(100)},
		{src: `toMinor(1.015, "USD", "half-even")`, want: int64(102)},
		{src: `toMinor(1.0051, "USD", "half-even")`, want: int64(101)},
		{src: `toMinor(1.009, "USD", "down")`, want: int64(100)},
		{src: `toMinor(1.001, "USD", "up")`, want: int64(101)},
		{src: `toMinor(-1.005, "USD", "half-up")`, want: int64(-101)},
		{src: `toMinor(-1.009, "USD", "down")`, want: int64(-100)},
		{src: `toMinor("0.5", "JPY", "half-even")`, want: int64(0)},
		{src: `toMinor("1.5", "JPY", "half-even")`, want: int64(2)},
		{src: `toMinor("99.995", "EUR", "half-up")`, want: int64(10000)},
		{src: `toMinor(1000.5, "JPY")`, err: "1000.5 has 1 decimals but JPY has 0"},
		// Large values: the int64 limit is exact, one more minor unit overflows.
		{src: `toMinor("92233720368547758.07", "USD")`, want: int64(math.MaxInt64)},
		{src: `toMinor("-92233720368547758.07", "USD")`, want: int64(-math.MaxInt64)},
		{src: `toMinor("92233720368547758.08", "USD")`, err: "92233720368547758.08 USD is too large"},
		{src: `toMinor("92233720368547758.071", "USD", "up")`, err: "is too large"},
		{src: `toMinor("9223372036854775807", "JPY")`, want: int64(math.MaxInt64)},
		{src: `toMinor("1e30", "USD")`, err: "is too large"},
		{src: `toMinor(1e17, "USD")`, err: "is too large"},
		// Bad input.
		{src: `toMinor(trigger.body, "USD")`, body: "1,000.00", err: `toMinor: argument 1 must be an amount: "1,000.00" is not a decimal number`},
		{src: `toMinor(trigger.body, "USD")`, body: "", err: "must be an amount: empty amount"},
		{src: `toMinor(trigger.body, "USD")`, body: "abc", err: `"abc" is not a decimal number`},
		{src: `toMinor(trigger.body, "USD")`, body: "1e999", err: `"1e999" is not a decimal number`},
		{src: `toMinor(trigger.body, "USD")`, body: nil, err: "toMinor: argument 1 must be an amount (decimal text or a number), got null"},
		{src: `toMinor(trigger.body, "USD")`, body: true, err: "got a boolean"},
		{src: `toMinor(trigger.body, "USD")`, body: map[string]any{}, err: "got an object"},
		{src: `toMinor(1, trigger.body)`, body: "EURO", err: `toMinor: unknown currency "EURO"`},
		{src: `toMinor(1, trigger.body)`, body: 978.0, err: "toMinor: argument 2 must be text, got a number"},
		{src: `toMinor(1.005, "USD", trigger.body)`, body: "nearest", err: `unknown rounding mode "nearest"`},
	})
}

func TestToMinorDirect(t *testing.T) {
	for _, c := range []struct {
		amount any
		want   int64
	}{
		{float32(19.99), 1999},
		{int64(-7), -700},
		{uint8(3), 300},
		{json.Number("0.29"), 29},
		{[]byte(nil), 0},
	} {
		got, err := call(t, "toMinor", c.amount, "CNY")
		if _, isBytes := c.amount.([]byte); isBytes {
			if err == nil {
				t.Errorf("toMinor(%T) accepted bytes", c.amount)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("toMinor(%T %v) = %v, %v; want %d", c.amount, c.amount, got, err, c.want)
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), float32(math.Inf(-1)), uint64(math.MaxUint64)} {
		if _, err := call(t, "toMinor", bad, "USD"); err == nil {
			t.Errorf("toMinor(%v) accepted", bad)
		}
	}
	if _, err := call(t, "toMinor", 1.0); err == nil {
		t.Error("toMinor with one argument accepted")
	}
}

// TestToMinorMatchesDecimalText checks every cent value from 0.00 to 99.99: the float64 of "d.cc" must convert
// to exactly d*100+cc minor units, which naive multiplication gets wrong for many of them.
func TestToMinorMatchesDecimalText(t *testing.T) {
	for want := int64(0); want < 10000; want++ {
		f, _ := json.Number(formatMinor(want, 2)).Float64()
		got, err := call(t, "toMinor", f, "USD")
		if err != nil || got != want {
			t.Fatalf("toMinor(%v) = %v, %v; want %d", f, got, err, want)
		}
	}
}

func TestFromMinor(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `fromMinor(14999, "EUR")`, want: "149.99"},
		{src: `fromMinor(5, "EUR")`, want: "0.05"},
		{src: `fromMinor(0, "EUR")`, want: "0.00"},
		{src: `fromMinor(-1250, "EUR")`, want: "-12.50"},
		{src: `fromMinor(1000, "JPY")`, want: "1000"},
		{src: `fromMinor(1234, "KWD")`, want: "1.234"},
		{src: `fromMinor(-5, "BHD")`, want: "-0.005"},
		{src: `fromMinor(trigger.body, "USD")`, body: 14999.0, want: "149.99"}, // Stripe amounts decode as float64
		{src: `fromMinor(trigger.body, "USD")`, body: json.Number("14999"), want: "149.99"},
		{src: `fromMinor(trigger.body, "USD")`, body: "14999", want: "149.99"},
		{src: `fromMinor(toMinor(trigger.body, "CNY"), "CNY")`, body: 0.29, want: "0.29"},
		{src: `fromMinor(9223372036854775807, "USD")`, want: "92233720368547758.07"},
		{src: `fromMinor(-9223372036854775807 - 1, "USD")`, want: "-92233720368547758.08"},
		{src: `fromMinor(trigger.body, "USD")`, body: 149.99, err: "fromMinor: argument 1 must be whole minor units (an integer such as 14999), got 149.99"},
		{src: `fromMinor(trigger.body, "USD")`, body: nil, err: "must be whole minor units, got null"},
		{src: `fromMinor(trigger.body, "USD")`, body: 1e300, err: "must be whole minor units"},
		{src: `fromMinor(1, trigger.body)`, body: "XXX", err: `fromMinor: unknown currency "XXX"`},
	})
}

func TestMoney(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `money(trigger.body, "eur")`, body: 149.99, want: map[string]any{"amount": int64(14999), "currency": "EUR"}},
		{src: `money("1000", "JPY")`, want: map[string]any{"amount": int64(1000), "currency": "JPY"}},
		{src: `money(1.005, "USD", "half-up").amount`, want: int64(101)},
		{src: `money(1.005, "USD")`, err: "money: 1.005 has 3 decimals but USD has 2"},
		{src: `money(1, trigger.body)`, body: "EURO", err: `money: unknown currency "EURO"`},
		{src: `formatMoney(14999, "EUR")`, want: "149.99 EUR"},
		{src: `formatMoney(1000, "jpy")`, want: "1000 JPY"},
		{src: `formatMoney(-1, "USD")`, want: "-0.01 USD"},
		{src: `formatMoney(trigger.body, "USD")`, body: "abc", err: `formatMoney: argument 1 must be whole minor units (an integer such as 14999), got "abc"`},
		{src: `formatMoney(1, trigger.body)`, body: "", err: `formatMoney: unknown currency ""`},
		{src: `currencyDigits("EUR")`, want: 2},
		{src: `currencyDigits("jpy")`, want: 0},
		{src: `currencyDigits("KWD")`, want: 3},
		{src: `currencyDigits(trigger.body)`, body: "BTC", err: `currencyDigits: unknown currency "BTC"`},
		{src: `currencyDigits(trigger.body)`, body: 1.0, err: "currencyDigits: argument 1 must be text, got a number"},
		// Minor units are integers, so sums are exact.
		{src: `toMinor(0.1, "USD") + toMinor(0.2, "USD") == toMinor(0.3, "USD")`, want: true},
		{src: `toMinor(149.99, "EUR") == 14999 && toMinor(trigger.body, "EUR") > 10000`, body: 149.99, want: true},
		{src: `toMinor(149.99, "EUR") * 3 - 1`, want: 44996}, // expr does integer arithmetic in int
		{src: `sum(map(trigger.body, toMinor(#, "EUR")))`, body: []any{19.99, 0.01, 149.99}, want: 16999},
	})
}

func TestCurrencyTable(t *testing.T) {
	for code, want := range map[string]int{
		"CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KRW": 0, "HKD": 2, "TWD": 2, "SGD": 2, "AUD": 2,
		"CAD": 2, "CHF": 2, "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3, "VND": 0, "IDR": 2, "CLP": 0, "ISK": 0,
	} {
		if got, ok := currencyMinorUnits[code]; !ok || got != want {
			t.Errorf("%s: %d decimals (known %v), want %d", code, got, ok, want)
		}
	}
	for code := range currencyMinorUnits {
		if len(code) != 3 || code != string([]byte{code[0] &^ 0x20, code[1] &^ 0x20, code[2] &^ 0x20}) {
			t.Errorf("%q is not an upper-case three-letter code", code)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "-0": "0", "007.500": "7.5", "1e3": "1000", "1.5E-3": "0.0015", "-2.5e1": "-25", ".25": "0.25",
		"5.": "5", "+1": "1", "12345678901234567890.123": "12345678901234567890.123",
	} {
		d, err := parseDecimal(in)
		if err != nil || d.String() != want {
			t.Errorf("parseDecimal(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, in := range []string{"", "-", ".", "1.2.3", "1,5", "0x10", "1_000", "1e", "e5", "1e100", " 1", "NaN", "Inf", "--1"} {
		if d, err := parseDecimal(in); err == nil {
			t.Errorf("parseDecimal(%q) = %v, want an error", in, d)
		}
	}
}
