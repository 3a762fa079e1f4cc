package core

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// validateOne builds a validate node with one rule and runs it on input, returning the problems (nil on valid).
func validateOne(t *testing.T, rule map[string]any, input any) []any {
	t.Helper()
	n := mustBuild(t, ValidateType, mustJSON(t, map[string]any{"rules": []any{rule}}))
	res, err := run(t, n, input)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	switch res.Port {
	case PortValid:
		if !reflect.DeepEqual(res.Output, input) {
			t.Fatalf("valid output %v, want the input %v", res.Output, input)
		}
		return nil
	case PortInvalid:
		out := res.Output.(map[string]any)
		if !reflect.DeepEqual(out["input"], input) {
			t.Fatalf("invalid output's input %v, want %v", out["input"], input)
		}
		return out["problems"].([]any)
	}
	t.Fatalf("port %q", res.Port)
	return nil
}

func TestValidateChecks(t *testing.T) {
	setNow(t, time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC))
	long := strings.Repeat("a", 300) + "@example.com"
	tests := []struct {
		name  string
		rule  map[string]any
		value any // the value of field "v"; absent when missing is set
		miss  bool
		fails string // "" when the rule must pass, else a part of the default message
	}{
		{"required text", map[string]any{"check": "required"}, "x", false, ""},
		{"required zero", map[string]any{"check": "required"}, int64(0), false, ""},
		{"required false", map[string]any{"check": "required"}, false, false, ""},
		{"required missing", map[string]any{"check": "required"}, nil, true, "v is required"},
		{"required null", map[string]any{"check": "required"}, nil, false, "v is required"},
		{"required blank", map[string]any{"check": "required"}, "  ", false, "v is required"},
		{"required empty list", map[string]any{"check": "required"}, []any{}, false, "v is required"},
		{"required empty object", map[string]any{"check": "required"}, map[string]any{}, false, "v is required"},

		{"type string", map[string]any{"check": "type", "type": "string"}, "3", false, ""},
		{"type string refuses number", map[string]any{"check": "type", "type": "string"}, int64(3), false, "must be text, not a number"},
		{"type number int", map[string]any{"check": "type", "type": "number"}, int64(3), false, ""},
		{"type number float", map[string]any{"check": "type", "type": "number"}, 3.5, false, ""},
		{"type number json.Number", map[string]any{"check": "type", "type": "number"}, json.Number("3.5"), false, ""},
		{"type number refuses digits text", map[string]any{"check": "type", "type": "number"}, "3", false, "must be a number, not text"},
		{"type integer", map[string]any{"check": "type", "type": "integer"}, int64(3), false, ""},
		{"type integer whole float", map[string]any{"check": "type", "type": "integer"}, 3.0, false, ""},
		{"type integer refuses fraction", map[string]any{"check": "type", "type": "integer"}, 3.5, false, "must be a whole number"},
		{"type integer refuses json fraction", map[string]any{"check": "type", "type": "integer"}, json.Number("3.25"), false, "must be a whole number"},
		{"type boolean", map[string]any{"check": "type", "type": "boolean"}, true, false, ""},
		{"type boolean refuses text", map[string]any{"check": "type", "type": "boolean"}, "true", false, "must be true or false, not text"},
		{"type object", map[string]any{"check": "type", "type": "object"}, map[string]any{"a": 1}, false, ""},
		{"type object refuses list", map[string]any{"check": "type", "type": "object"}, []any{1}, false, "must be an object, not a list"},
		{"type array", map[string]any{"check": "type", "type": "array"}, []any{}, false, ""},
		{"type array of Go strings", map[string]any{"check": "type", "type": "array"}, []string{"a"}, false, ""},
		{"type array refuses object", map[string]any{"check": "type", "type": "array"}, map[string]any{}, false, "must be a list, not an object"},
		{"type skips missing", map[string]any{"check": "type", "type": "number"}, nil, true, ""},
		{"type skips null", map[string]any{"check": "type", "type": "number"}, nil, false, ""},

		{"regex", map[string]any{"check": "regex", "pattern": `^\d{6}$`}, "100086", false, ""},
		{"regex number as text", map[string]any{"check": "regex", "pattern": `^\d{6}$`}, int64(100086), false, ""},
		{"regex no match", map[string]any{"check": "regex", "pattern": `^\d{6}$`}, "10008", false, `does not match the pattern ^\d{6}$`},
		{"regex unanchored", map[string]any{"check": "regex", "pattern": `ORD-`}, "x ORD-1", false, ""},
		{"regex refuses object", map[string]any{"check": "regex", "pattern": `.`}, map[string]any{"a": "b"}, false, "must be text"},

		{"email", map[string]any{"check": "email"}, "ada.lovelace+crm@example.co.uk", false, ""},
		{"email idn", map[string]any{"check": "email"}, "li@例子.中国", false, ""},
		{"email no domain dot", map[string]any{"check": "email"}, "ada@localhost", false, "is not an e-mail address"},
		{"email incomplete", map[string]any{"check": "email"}, "ada@", false, "is not an e-mail address"},
		{"email no at", map[string]any{"check": "email"}, "ada.example.com", false, "is not an e-mail address"},
		{"email display name", map[string]any{"check": "email"}, "Ada <ada@example.com>", false, "is not an e-mail address"},
		{"email spaces", map[string]any{"check": "email"}, " ada@example.com", false, "is not an e-mail address"},
		{"email two ats", map[string]any{"check": "email"}, "a@b@example.com", false, "is not an e-mail address"},
		{"email double dot domain", map[string]any{"check": "email"}, "ada@example..com", false, "is not an e-mail address"},
		{"email hyphen label", map[string]any{"check": "email"}, "ada@-example.com", false, "is not an e-mail address"},
		{"email underscore domain", map[string]any{"check": "email"}, "ada@ex_ample.com", false, "is not an e-mail address"},
		{"email too long", map[string]any{"check": "email"}, long, false, "is not an e-mail address"},
		{"email number", map[string]any{"check": "email"}, int64(5), false, "is not an e-mail address"},

		{"phone cn", map[string]any{"check": "phone_e164"}, "+8613800138000", false, ""},
		{"phone spaced", map[string]any{"check": "phone_e164"}, "+86 138-0013-8000", false, ""},
		{"phone us", map[string]any{"check": "phone_e164"}, "+14155552671", false, ""},
		{"phone hk", map[string]any{"check": "phone_e164"}, "+85291234567", false, ""},
		{"phone without plus", map[string]any{"check": "phone_e164"}, "13800138000", false, "is not a valid phone number in E.164 form"},
		{"phone invalid", map[string]any{"check": "phone_e164"}, "+8612345", false, "is not a valid phone number in E.164 form"},
		{"phone letters", map[string]any{"check": "phone_e164"}, "+86 call me", false, "is not a valid phone number in E.164 form"},
		{"phone number type", map[string]any{"check": "phone_e164"}, int64(8613800138000), false, "written as text"},

		{"resident id", map[string]any{"check": "cn_resident_id"}, "11010519491231002X", false, ""},
		{"resident id lower x", map[string]any{"check": "cn_resident_id"}, "11010519491231002x", false, ""},
		{"resident id digit check", map[string]any{"check": "cn_resident_id"}, "110101199003077774", false, ""},
		{"resident id corrupted check", map[string]any{"check": "cn_resident_id"}, "110105194912310021", false, "wrong check digit"},
		{"resident id corrupted digit", map[string]any{"check": "cn_resident_id"}, "11010519491231012X", false, "wrong check digit"},
		{"resident id swapped digits", map[string]any{"check": "cn_resident_id"}, "11001519491231002X", false, "wrong check digit"},
		{"resident id number type", map[string]any{"check": "cn_resident_id"}, int64(110101199003077774), false, "written as text"},
		{"resident id 15 digits", map[string]any{"check": "cn_resident_id"}, "320311770706001", false, "must be 18 characters"},

		{"amount in range", map[string]any{"check": "amount_range", "min": "0.01", "max": "100"}, "99.99", false, ""},
		{"amount at min", map[string]any{"check": "amount_range", "min": "0.01", "max": "100"}, "0.01", false, ""},
		{"amount at max as number", map[string]any{"check": "amount_range", "min": "0.01", "max": "100"}, int64(100), false, ""},
		{"amount float from JSON", map[string]any{"check": "amount_range", "min": "0.01", "max": "149.99"}, 149.99, false, ""},
		{"amount just over max", map[string]any{"check": "amount_range", "min": "0.01", "max": "149.99"}, "149.991", false, "must be from 0.01 to 149.99"},
		{"amount below min", map[string]any{"check": "amount_range", "min": "0.01", "max": "100"}, "0", false, "must be from 0.01 to 100"},
		{"amount negative", map[string]any{"check": "amount_range", "min": "-10"}, "-10.5", false, "must be at least -10"},
		{"amount only max", map[string]any{"check": "amount_range", "max": "1e3"}, "1000.00", false, ""},
		{"amount only max over", map[string]any{"check": "amount_range", "max": "1000"}, json.Number("1000.01"), false, "must be at most 1000"},
		{"amount text", map[string]any{"check": "amount_range", "min": "0"}, "12,50", false, "must be an amount"},
		{"amount boolean", map[string]any{"check": "amount_range", "min": "0"}, true, false, "must be an amount"},

		{"one of", map[string]any{"check": "one_of", "values": []any{"paid", "shipped"}}, "paid", false, ""},
		{"one of number as text", map[string]any{"check": "one_of", "values": []any{"100", 200}}, int64(100), false, ""},
		{"one of whole float", map[string]any{"check": "one_of", "values": []any{200}}, 200.0, false, ""},
		{"one of case-sensitive", map[string]any{"check": "one_of", "values": []any{"paid", "shipped"}}, "PAID", false, `must be one of "paid", "shipped"`},
		{"one of object", map[string]any{"check": "one_of", "values": []any{"paid"}}, map[string]any{}, false, `must be one of "paid"`},
		{"one of skips blank", map[string]any{"check": "one_of", "values": []any{"paid"}}, "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule := map[string]any{"field": "v"}
			for k, v := range tc.rule {
				rule[k] = v
			}
			input := map[string]any{"other": 1}
			if !tc.miss {
				input["v"] = tc.value
			}
			problems := validateOne(t, rule, input)
			if tc.fails == "" {
				if problems != nil {
					t.Fatalf("problems %v, want valid", problems)
				}
				return
			}
			if len(problems) != 1 {
				t.Fatalf("problems %v, want one containing %q", problems, tc.fails)
			}
			p := problems[0].(map[string]any)
			if p["field"] != "v" || p["check"] != tc.rule["check"] || !strings.Contains(p["message"].(string), tc.fails) {
				t.Fatalf("problem %v, want field v, check %v, message with %q", p, tc.rule["check"], tc.fails)
			}
		})
	}
}

// TestResidentIDDates: the birth date in characters 7 to 14 must be a real date, not before 1800 and not after
// today in China; every vector here has a correct check digit, so only the date decides.
func TestResidentIDDates(t *testing.T) {
	// 2026-12-08 16:30 UTC is 2026-12-09 00:30 in China.
	setNow(t, time.Date(2026, 12, 8, 16, 30, 0, 0, time.UTC))
	tests := []struct{ id, fails string }{
		{"11010519491231002X", ""},
		{"440524188001010014", ""},         // born 1880
		{"110101200002290018", ""},         // 29 February of a leap year
		{"110101202612090012", ""},         // born today, China time
		{"110101202612100018", "future"},   // tomorrow, China time
		{"110101209901010017", "future"},   // 2099
		{"110101190002290003", "birth"},    // 1900 was not a leap year
		{"110101199002300014", "birth"},    // 30 February
		{"110101190013010011", "birth"},    // month 13
		{"110101179912310010", "birth"},    // before 1800
		{"110101199000000014", "birth"},    // month 0
		{"11010519491231002", "18 charac"}, // 17 characters
		{"11010519491231002XX", "18 charac"},
		{"1101051949123100AX", "18 charac"},
		{"11010519491231002Y", "18 charac"},
		{"１１0105194912310021", "18 charac"}, // full-width digits
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			got := residentIDProblem(tc.id)
			if tc.fails == "" && got != "" || !strings.Contains(got, tc.fails) {
				t.Fatalf("residentIDProblem(%q) = %q, want %q", tc.id, got, tc.fails)
			}
		})
	}
}

// TestValidateListsEveryProblem: every failing rule is listed in rule order, with its field, check, message
// (the rule's own when given) and value, which is left out for a missing field and shortened when long.
func TestValidateListsEveryProblem(t *testing.T) {
	n := mustBuild(t, ValidateType, `{"rules": [
		{"field": "customer.email", "check": "required"},
		{"field": "customer.email", "check": "email"},
		{"field": "customer.phone", "check": "phone_e164", "message": "请填写带国家码的手机号"},
		{"field": "customer.idNumber", "check": "cn_resident_id"},
		{"field": "amount", "check": "amount_range", "min": "0.01", "max": "100"},
		{"field": "items[0].sku", "check": "required"},
		{"field": "note", "check": "regex", "pattern": "^[a-z]*$"},
		{"field": "status", "check": "one_of", "values": ["paid", "shipped"]},
		{"field": "status", "check": "type", "type": "string"}]}`)
	note := strings.Repeat("长", 250)
	input := map[string]any{
		"customer": map[string]any{"email": "ada@", "phone": "13800138000", "idNumber": "11010519491231002X"},
		"amount":   120.5,
		"items":    []any{map[string]any{"qty": int64(1)}},
		"note":     note,
		"status":   "paid",
	}
	res, err := run(t, n, input)
	if err != nil || res.Port != PortInvalid {
		t.Fatalf("Execute = %+v, %v; want invalid", res, err)
	}
	want := map[string]any{"input": input, "problems": []any{
		map[string]any{"field": "customer.email", "check": "email", "message": "customer.email is not an e-mail address", "value": "ada@"},
		map[string]any{"field": "customer.phone", "check": "phone_e164", "message": "请填写带国家码的手机号", "value": "13800138000"},
		map[string]any{"field": "amount", "check": "amount_range", "message": "amount must be from 0.01 to 100", "value": 120.5},
		map[string]any{"field": "items[0].sku", "check": "required", "message": "items[0].sku is required"},
		map[string]any{"field": "note", "check": "regex", "message": "note does not match the pattern ^[a-z]*$", "value": strings.Repeat("长", 100) + "…"},
	}}
	if !reflect.DeepEqual(res.Output, want) {
		t.Fatalf("output\n got %v\nwant %v", res.Output, want)
	}
	if input["note"] != note {
		t.Fatal("the input was changed")
	}

	// The same node passes the input, as it is, when every rule holds.
	ok := map[string]any{
		"customer": map[string]any{"email": "ada@example.com", "phone": "+86 138 0013 8000"},
		"amount":   "100.00", "items": []any{map[string]any{"sku": "A-1"}}, "status": "shipped",
	}
	res, err = run(t, n, ok)
	if err != nil || res.Port != PortValid || !reflect.DeepEqual(res.Output, ok) {
		t.Fatalf("Execute = %+v, %v; want valid with the input", res, err)
	}
}

func TestValidateEcho(t *testing.T) {
	short := strings.Repeat("x", maxEchoRunes-1)
	tests := []struct {
		in, want any
	}{
		{short, short},
		{strings.Repeat("x", maxEchoRunes), strings.Repeat("x", echoRunes) + "…"},
		{int64(5), int64(5)},
		{true, true},
		{map[string]any{"a": "b"}, map[string]any{"a": "b"}},
		{[]any{strings.Repeat("y", 300)}, `["` + strings.Repeat("y", echoRunes-2) + "…"},
	}
	for _, tc := range tests {
		if got := echo(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("echo(%.20v) = %.40v, want %.40v", tc.in, got, tc.want)
		}
	}
}

// TestValidateWholeInput: $ is the whole input, so a node can check a list or a text the previous step gave.
func TestValidateWholeInput(t *testing.T) {
	if p := validateOne(t, map[string]any{"field": "$", "check": "type", "type": "array"}, []any{int64(1)}); p != nil {
		t.Fatalf("problems %v", p)
	}
	p := validateOne(t, map[string]any{"field": "$", "check": "email"}, "nobody")
	if len(p) != 1 || p[0].(map[string]any)["message"] != "$ is not an e-mail address" {
		t.Fatalf("problems %v", p)
	}
}

func TestValidateConfig(t *testing.T) {
	rule := func(fields string) string {
		return `{"rules": [{"field": "a", "check": "required"}, {` + fields + `}]}`
	}
	tests := []struct {
		name, params, field, code string
	}{
		{"no rules", `{}`, "rules", nodes.CodeParamRequired},
		{"empty rules", `{"rules": []}`, "rules", nodes.CodeParamRequired},
		{"rules not a list", `{"rules": {"field": "a"}}`, "rules", nodes.CodeParamInvalid},
		{"too many rules", mustJSON(t, map[string]any{"rules": manyRules(MaxValidateRules + 1)}), "rules", nodes.CodeParamInvalid},
		{"missing field", rule(`"check": "required"`), "rules[1].field", nodes.CodeParamRequired},
		{"blank field", rule(`"field": " ", "check": "required"`), "rules[1].field", nodes.CodeParamRequired},
		{"bad path", rule(`"field": "a..b", "check": "required"`), "rules[1].field", nodes.CodeParamInvalid},
		{"bad index", rule(`"field": "items[x]", "check": "required"`), "rules[1].field", nodes.CodeParamInvalid},
		{"missing check", rule(`"field": "a"`), "rules[1].check", nodes.CodeParamRequired},
		{"unknown check", rule(`"field": "a", "check": "iban"`), "rules[1].check", nodes.CodeParamInvalid},
		{"unknown row field", rule(`"field": "a", "check": "required", "when": "x"`), "rules[1].when", nodes.CodeParamUnknown},
		{"type missing", rule(`"field": "a", "check": "type"`), "rules[1].type", nodes.CodeParamRequired},
		{"unknown type", rule(`"field": "a", "check": "type", "type": "date"`), "rules[1].type", nodes.CodeParamInvalid},
		{"pattern missing", rule(`"field": "a", "check": "regex"`), "rules[1].pattern", nodes.CodeParamRequired},
		{"bad pattern", rule(`"field": "a", "check": "regex", "pattern": "^(ab$"`), "rules[1].pattern", nodes.CodeParamInvalid},
		{"backreference", rule(`"field": "a", "check": "regex", "pattern": "(a)\\1"`), "rules[1].pattern", nodes.CodeParamInvalid},
		{"no bounds", rule(`"field": "a", "check": "amount_range"`), "rules[1].min", nodes.CodeParamRequired},
		{"blank bounds", rule(`"field": "a", "check": "amount_range", "min": "", "max": " "`), "rules[1].min", nodes.CodeParamRequired},
		{"bad min", rule(`"field": "a", "check": "amount_range", "min": "1,000"`), "rules[1].min", nodes.CodeParamInvalid},
		{"bad max", rule(`"field": "a", "check": "amount_range", "max": "ten"`), "rules[1].max", nodes.CodeParamInvalid},
		{"min as number", rule(`"field": "a", "check": "amount_range", "min": 0.01`), "rules[1].min", nodes.CodeParamInvalid},
		{"min above max", rule(`"field": "a", "check": "amount_range", "min": "100.01", "max": "100"`), "rules[1].max", nodes.CodeParamInvalid},
		{"values missing", rule(`"field": "a", "check": "one_of"`), "rules[1].values", nodes.CodeParamRequired},
		{"values empty", rule(`"field": "a", "check": "one_of", "values": []`), "rules[1].values", nodes.CodeParamInvalid},
		{"values not a list", rule(`"field": "a", "check": "one_of", "values": "paid"`), "rules[1].values", nodes.CodeParamInvalid},
		{"values with an object", rule(`"field": "a", "check": "one_of", "values": ["paid", {"a": 1}]`), "rules[1].values", nodes.CodeParamInvalid},
		{"values with null", rule(`"field": "a", "check": "one_of", "values": ["paid", null]`), "rules[1].values", nodes.CodeParamInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, ValidateType, tc.params, "")
			wantProblem(t, err, tc.field, tc.code)
		})
	}
}

// TestValidateConfigListsEveryProblem: a save shows every bad rule at once, each at its own place.
func TestValidateConfigListsEveryProblem(t *testing.T) {
	_, err := build(t, ValidateType, `{"rules": [
		{"field": "a", "check": "regex", "pattern": "("},
		{"field": "b", "check": "amount_range", "min": "5", "max": "1"},
		{"field": "c", "check": "nope"}]}`, "")
	for _, want := range [][2]string{
		{"rules[0].pattern", nodes.CodeParamInvalid},
		{"rules[1].max", nodes.CodeParamInvalid},
		{"rules[2].check", nodes.CodeParamInvalid},
	} {
		wantProblem(t, err, want[0], want[1])
	}
}

// TestValidateReportsEachMistakeOnce: a value the spec refuses is not read and refused again by the node.
func TestValidateReportsEachMistakeOnce(t *testing.T) {
	_, err := build(t, ValidateType, `{"rules": [
		{"field": "a", "check": "amount_range", "min": 0.01},
		{"field": "b", "check": "type", "type": 5},
		{"field": "c", "check": 3},
		{"field": "d", "check": "one_of", "values": "{"}]}`, "")
	var ce *nodes.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v", err)
	}
	var fields []string
	for _, p := range ce.Problems {
		fields = append(fields, p.Field)
	}
	if want := []string{"rules[0].min", "rules[1].type", "rules[2].check", "rules[3].values"}; !reflect.DeepEqual(fields, want) {
		t.Fatalf("problems at %v, want one at each of %v: %+v", fields, want, ce.Problems)
	}
}

// TestValidateIgnoresHiddenFields: a value left in a field the chosen check hides (a pattern kept after the check
// was changed to e-mail) neither fails the save nor changes the check.
func TestValidateIgnoresHiddenFields(t *testing.T) {
	n := mustBuild(t, ValidateType, `{"rules": [{"field": "a", "check": "email", "pattern": "(", "min": "x"}]}`)
	res, err := run(t, n, map[string]any{"a": "ada@example.com"})
	if err != nil || res.Port != PortValid {
		t.Fatalf("Execute = %+v, %v", res, err)
	}
}

func manyRules(n int) []any {
	rules := make([]any, n)
	for i := range rules {
		rules[i] = map[string]any{"field": "a", "check": "required"}
	}
	return rules
}

func TestValidatePorts(t *testing.T) {
	reg, _ := nodes.Lookup(ValidateType, 1)
	var ids []string
	for _, p := range reg.Spec.OutputPorts(map[string]json.RawMessage{}) {
		ids = append(ids, p.ID)
	}
	if !reflect.DeepEqual(ids, []string{"valid", "invalid", "error"}) {
		t.Fatalf("ports = %v", ids)
	}
}
