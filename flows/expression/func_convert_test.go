package expression

import (
	"encoding/json"
	"math"
	"testing"
)

func TestConversions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `toInt(trigger.body)`, body: "42", want: 42},
		{src: `toInt(trigger.body)`, body: " -7 ", want: -7},
		{src: `toInt(trigger.body)`, body: "42.0", want: 42},
		{src: `toInt(trigger.body)`, body: "1e3", want: 1000},
		{src: `toInt(trigger.body)`, body: 42.0, want: 42},
		{src: `toInt(trigger.body)`, body: json.Number("42"), want: 42},
		{src: `toInt(trigger.body)`, body: int64(math.MaxInt64), want: math.MaxInt},
		{src: `toInt(trigger.body)`, body: "9223372036854775807", want: math.MaxInt},
		{src: `toInt(7) + 1`, want: 8},
		{src: `toInt(trigger.body)`, body: 4.7, err: "toInt: 4.7 is not a whole number"},
		{src: `toInt(trigger.body)`, body: "4.7", err: `toInt: "4.7" is not a whole number`},
		{src: `toInt(trigger.body)`, body: "9223372036854775808", err: "is not a whole number or is too large"},
		{src: `toInt(trigger.body)`, body: 1e300, err: "is not a whole number or is too large"},
		{src: `toInt(trigger.body)`, body: "forty-two", err: `toInt: cannot convert "forty-two" to a whole number`},
		{src: `toInt(trigger.body)`, body: "", err: "toInt: cannot convert empty text to a whole number"},
		{src: `toInt(trigger.body)`, body: true, err: "toInt: cannot convert a boolean to a whole number"},
		{src: `toInt(trigger.body)`, body: nil, err: "toInt: cannot convert null to a whole number"},
		{src: `toInt(trigger.body)`, body: []any{}, err: "toInt: cannot convert [] to a whole number"},

		{src: `toNumber(trigger.body)`, body: "3.14", want: 3.14},
		{src: `toNumber(trigger.body)`, body: " 42 ", want: 42.0},
		{src: `toNumber(trigger.body)`, body: "-1.5e3", want: -1500.0},
		{src: `toNumber(trigger.body)`, body: 42, want: 42.0},
		{src: `toNumber(trigger.body)`, body: json.Number("2.5"), want: 2.5},
		{src: `toNumber("2.5") * 2`, want: 5.0},
		{src: `toNumber(trigger.body)`, body: "NaN", err: `toNumber: cannot convert "NaN" to a number`},
		{src: `toNumber(trigger.body)`, body: "Inf", err: `toNumber: cannot convert "Inf" to a number`},
		{src: `toNumber(trigger.body)`, body: "0x10", err: `toNumber: cannot convert "0x10" to a number`},
		{src: `toNumber(trigger.body)`, body: "1,5", err: `toNumber: cannot convert "1,5" to a number`},
		{src: `toNumber(trigger.body)`, body: "", err: `toNumber: cannot convert "" to a number`},
		{src: `toNumber(trigger.body)`, body: false, err: "toNumber: cannot convert a boolean to a number"},
		{src: `toNumber(trigger.body)`, body: nil, err: "toNumber: cannot convert null to a number"},
		{src: `toNumber(trigger.body)`, body: map[string]any{}, err: "toNumber: cannot convert an object to a number"},
		{src: `toNumber(trigger.body)`, body: json.Number("x"), err: "toNumber: cannot convert x to a number"},

		{src: `toString(trigger.body)`, body: 1e6, want: "1000000"},
		{src: `toString(trigger.body)`, body: 149.99, want: "149.99"},
		{src: `toString(trigger.body)`, body: nil, want: ""},
		{src: `toString(trigger.body)`, body: true, want: "true"},
		{src: `toString(trigger.body)`, body: map[string]any{"b": 1.0, "a": []any{"x"}}, want: `{"a":["x"],"b":1}`},
		{src: `toString(parseTime("2024-03-15T14:30:00+08:00"))`, want: "2024-03-15T14:30:00+08:00"},
		{src: `toString(toMinor(1.5, "EUR"))`, want: "150"},
		{src: `string(1e6) + " vs " + toString(1e6)`, want: "1e+06 vs 1000000"},

		{src: `toBool(trigger.body)`, body: "true", want: true},
		{src: `toBool(trigger.body)`, body: " YES ", want: true},
		{src: `toBool(trigger.body)`, body: "y", want: true},
		{src: `toBool(trigger.body)`, body: "On", want: true},
		{src: `toBool(trigger.body)`, body: "1", want: true},
		{src: `toBool(trigger.body)`, body: "False", want: false},
		{src: `toBool(trigger.body)`, body: "no", want: false},
		{src: `toBool(trigger.body)`, body: "off", want: false},
		{src: `toBool(trigger.body)`, body: "0", want: false},
		{src: `toBool(trigger.body)`, body: 1.0, want: true},
		{src: `toBool(trigger.body)`, body: 0, want: false},
		{src: `toBool(trigger.body)`, body: json.Number("1"), want: true},
		{src: `toBool(trigger.body)`, body: false, want: false},
		{src: `toBool(trigger.body)`, body: "maybe", err: `toBool: cannot convert "maybe" to a boolean (want true/false, yes/no, on/off or 1/0)`},
		{src: `toBool(trigger.body)`, body: "", err: `toBool: cannot convert "" to a boolean`},
		{src: `toBool(trigger.body)`, body: 2.0, err: "toBool: cannot convert 2 to a boolean (want 1 or 0)"},
		{src: `toBool(trigger.body)`, body: nil, err: "toBool: cannot convert null to a boolean"},
		{src: `toBool(trigger.body)`, body: []any{}, err: "toBool: cannot convert a list to a boolean"},
	})
}

func TestConversionsDirect(t *testing.T) {
	for _, v := range []any{int8(5), int16(5), int32(5), uint(5), uint16(5), uint32(5), uint64(5), float32(5)} {
		if got, err := call(t, "toInt", v); err != nil || got != 5 {
			t.Errorf("toInt(%T) = %v, %v", v, got, err)
		}
		if got, err := call(t, "toNumber", v); err != nil || got != 5.0 {
			t.Errorf("toNumber(%T) = %v, %v", v, got, err)
		}
	}
	for _, v := range []any{math.NaN(), math.Inf(-1)} {
		if _, err := call(t, "toNumber", v); err == nil {
			t.Errorf("toNumber(%v) accepted", v)
		}
	}
	if _, err := call(t, "toInt", uint64(math.MaxUint64)); err == nil {
		t.Error("toInt accepted a value beyond int64")
	}
	if _, err := call(t, "toBool", 1, 2); err == nil {
		t.Error("toBool accepted two arguments")
	}
}
