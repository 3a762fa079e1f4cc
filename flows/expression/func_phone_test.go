package expression

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPhone(t *testing.T) {
	var cases []evalCase
	// Every way Chinese mobile numbers show up in shop and CRM data normalises to the same E.164 number.
	for _, in := range []any{
		"13812345678", "138 1234 5678", "138-1234-5678", "(138) 1234-5678", " 13812345678 ",
		"+86 138 1234 5678", "+86-138-1234-5678", "+8613812345678", "0086 138 1234 5678", "008613812345678",
		"86 138 1234 5678", "8613812345678", "+86 (138) 1234 5678",
		13812345678.0, json.Number("13812345678"), int64(8613812345678),
	} {
		cases = append(cases,
			evalCase{src: `phone(trigger.body)`, body: in, want: "+8613812345678"},
			evalCase{src: `phone(trigger.body, "CN")`, body: in, want: "+8613812345678"},
		)
	}
	cases = append(cases, []evalCase{
		{src: `phone("010 1234 5678")`, want: "+861012345678"}, // Beijing landline
		{src: `phone("(415) 555-2671", "US")`, want: "+14155552671"},
		{src: `phone("415.555.2671", "us")`, want: "+14155552671"},
		{src: `phone("+1 415 555 2671")`, want: "+14155552671"}, // + wins over the default region
		{src: `phone("+44 20 7946 0958", "CN")`, want: "+442079460958"},
		{src: `phone("020 7946 0958", "GB")`, want: "+442079460958"},
		{src: `phone("6123 4567", "HK")`, want: "+85261234567"},
		{src: `phoneRegion("+852 6123 4567")`, want: "HK"},
		{src: `phoneRegion("13812345678")`, want: "CN"},
		{src: `phoneRegion("+1 415 555 2671")`, want: "US"},
		{src: `phoneRegion("(415) 555-2671", "US")`, want: "US"},
		{src: `isPhone("13812345678")`, want: true},
		{src: `isPhone("+86 138 1234 5678", "US")`, want: true},
		{src: `isPhone("12345")`, want: false},
		{src: `isPhone("not a phone")`, want: false},
		{src: `isPhone(trigger.body)`, body: nil, want: false},
		{src: `isPhone(trigger.body)`, body: map[string]any{}, err: "isPhone: argument 1 must be text, got an object"},
		{src: `isPhone("13812345678", trigger.body)`, body: "XX", err: `isPhone: unknown region "XX"`},
		// Invalid numbers are errors naming the number and the region.
		{src: `phone(trigger.body)`, body: "12345", err: `phone: "12345" is not a valid phone number for region CN`},
		{src: `phone(trigger.body)`, body: "1381234567", err: `phone: "1381234567" is not a valid phone number for region CN`},
		{src: `phone(trigger.body)`, body: "23812345678", err: `is not a valid phone number for region CN`},
		{src: `phone(trigger.body)`, body: "+86 12345", err: `phone: "+86 12345" is not a valid phone number`},
		{src: `phone(trigger.body)`, body: "call me", err: `phone: "call me" is not a valid phone number for region CN`},
		{src: `phone(trigger.body)`, body: "  ", err: "phone: phone number is empty"},
		{src: `phone(trigger.body)`, body: "+86 138 1234 5678 1234 5678 1234 5678 1234 5678 1234 5678 1234 5678 12", err: "is too long to be a phone number"},
		{src: `phone(trigger.body)`, body: nil, err: "phone: argument 1 must be text, got null"},
		{src: `phone("13812345678", trigger.body)`, body: "China", err: `phone: unknown region "China"`},
		{src: `phoneRegion(trigger.body)`, body: "000", err: `phoneRegion: "000" is not a valid phone number`},
	}...)
	runEvalCases(t, cases)
}

func TestParseE164(t *testing.T) {
	for _, s := range []string{"+8613800138000", "+86 138 0013 8000", "+86-138-0013-8000", "+1 (415) 555-2671", " +85291234567 "} {
		if _, err := ParseE164(s); err != nil {
			t.Errorf("ParseE164(%q): %v", s, err)
		}
	}
	for s, want := range map[string]string{
		"13800138000":                 "not in E.164 form",
		"008613800138000":             "not in E.164 form",
		"+8612345":                    "not a valid phone number",
		"+86 138 0013 8000 ext":       "not a valid phone number",
		"":                            "not in E.164 form",
		"+" + strings.Repeat("1", 80): "too long",
	} {
		if _, err := ParseE164(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseE164(%q) = %v, want %q", s, err, want)
		}
	}
}

func TestParseE164List(t *testing.T) {
	got, err := ParseE164List([]any{"+86 138-0013-8000", "+44 20 7946 0958; +8613900139000"}, 3)
	if err != nil || len(got) != 3 || got[2].GetNationalNumber() != 13900139000 {
		t.Fatalf("list: %v %v", got, err)
	}
	if got, err := ParseE164List("+8613800138000,\n+8613900139000", 5); err != nil || len(got) != 2 {
		t.Fatalf("text: %v %v", got, err)
	}
	for _, bad := range []any{"", " , ;", "+8613800138000, 13900139000"} {
		if _, err := ParseE164List(bad, 5); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseE164List("+8613800138000,+8613900139000", 1); err == nil {
		t.Error("more numbers than allowed accepted")
	}
}
