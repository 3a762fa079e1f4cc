package core

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// ValidateType is the node type that checks the input against rules and sorts it into valid and invalid.
const ValidateType = "core.validate"

// Output ports of core.validate.
const (
	PortValid   = "valid"
	PortInvalid = "invalid"
)

// MaxValidateRules is the most rules one validate node may have; every rule runs on every item.
const MaxValidateRules = 200

// maxEchoRunes is the length from which a failing value is shortened in its problem: a problem list is read by
// people and written into run data, and a 5 kB text does not help anyone see what is wrong.
const maxEchoRunes = 200

// echoRunes is how much of a value of maxEchoRunes or more a problem shows, followed by "…".
const echoRunes = 100

// Checks a validate rule can apply.
const (
	checkRequired   = "required"
	checkType       = "type"
	checkRegex      = "regex"
	checkEmail      = "email"
	checkPhoneE164  = "phone_e164"
	checkResidentID = "cn_resident_id"
	checkAmount     = "amount_range"
	checkOneOf      = "one_of"
)

// JSON types the type check knows.
const (
	typeString  = "string"
	typeNumber  = "number"
	typeInteger = "integer"
	typeBoolean = "boolean"
	typeObject  = "object"
	typeArray   = "array"
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:     ValidateType,
		Version:  1,
		Name:     "Validate",
		Category: nodes.CategoryLogic,
		Description: "Checks fields of the data against rules (required, type, pattern, e-mail, phone, " +
			"Chinese resident ID, amount range, list of values) and sends it to valid or invalid, with every problem listed.",
		Inputs: []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs: []nodes.Port{
			{ID: PortValid, Label: "Valid", Kind: nodes.PortMain},
			{ID: PortInvalid, Label: "Invalid", Kind: nodes.PortMain},
		},
		Params: []nodes.Field{{
			Name: "rules", Label: "Rules", Type: nodes.TypeList, Required: true,
			Description: "Checked in order, all of them: the data is valid when no rule fails. Each rule checks one " +
				"field; give a field several rules to check it several ways.",
			Fields: []nodes.Field{
				{
					Name: "field", Label: "Field", Type: nodes.TypeString, Required: true,
					Description: "Path of the field in the step's input, as jsonGet reads it: dots between keys, " +
						"[0] or .0 for an item of a list, [\"a.b\"] for a key with a dot; $ is the whole input.",
					Examples: []nodes.Example{
						{Name: "Top-level", Value: "email"},
						{Name: "Nested", Value: "customer.phone"},
						{Name: "First item", Value: "items[0].sku"},
					},
				},
				{
					Name: "check", Label: "Check", Type: nodes.TypeSelect, Required: true,
					Description: "What the value must be. Every check but Required passes a field that is missing, " +
						"null or blank text: add a Required rule for fields that must be there.",
					Options: []nodes.Option{
						{Value: checkRequired, Label: "Required", Description: "Present, not null, not blank text, not an empty list or object."},
						{Value: checkType, Label: "Type", Description: "Of a JSON type: text, number, whole number, true/false, object or list."},
						{Value: checkRegex, Label: "Pattern", Description: "Text (or a number or true/false, as text) the regular expression matches."},
						{Value: checkEmail, Label: "E-mail address", Description: "One address such as ada@example.com, without a name or spaces; the domain has a dot."},
						{Value: checkPhoneE164, Label: "Phone (E.164)", Description: "A valid number written with + and the country code, such as +8613800138000; spaces, dashes and parentheses allowed."},
						{Value: checkResidentID, Label: "Chinese resident ID", Description: "18-character 居民身份证号码 (GB 11643-1999): a real birth date and a matching check digit (0-9 or X)."},
						{Value: checkAmount, Label: "Amount range", Description: "A decimal amount (text or number) between Min and Max, both included, compared exactly."},
						{Value: checkOneOf, Label: "One of", Description: "Equal, written as text, to one of Values; case-sensitive."},
					},
					Examples: []nodes.Example{{Name: "Required", Value: checkRequired}, {Name: "E-mail", Value: checkEmail}},
				},
				{
					Name: "type", Label: "Type", Type: nodes.TypeSelect, Required: true,
					ShowIf:      map[string][]any{"check": {checkType}},
					Description: "JSON type the value must have; text holding digits is text, not a number.",
					Options: []nodes.Option{
						{Value: typeString, Label: "Text"},
						{Value: typeNumber, Label: "Number"},
						{Value: typeInteger, Label: "Whole number", Description: "A number without a fractional part: 3 and 3.0, not 3.5."},
						{Value: typeBoolean, Label: "True/false"},
						{Value: typeObject, Label: "Object"},
						{Value: typeArray, Label: "List"},
					},
				},
				{
					Name: "pattern", Label: "Pattern", Type: nodes.TypeString, Required: true,
					ShowIf: map[string][]any{"check": {checkRegex}},
					Description: "Regular expression (RE2 syntax, as Go writes it) that must match the value; it matches " +
						"anywhere in the text unless anchored with ^ and $. Checked when the flow is saved.",
					Examples: []nodes.Example{
						{Name: "Postcode (CN)", Value: `^\d{6}$`},
						{Name: "Order number", Value: `^ORD-[0-9]{8}$`},
					},
				},
				{
					Name: "min", Label: "Min", Type: nodes.TypeString,
					ShowIf: map[string][]any{"check": {checkAmount}},
					Description: "Smallest amount allowed, as decimal text (0.01); empty means no lower bound. Give Min, " +
						"Max or both.",
					Examples: []nodes.Example{{Name: "One cent", Value: "0.01"}, {Name: "Zero", Value: "0"}},
				},
				{
					Name: "max", Label: "Max", Type: nodes.TypeString,
					ShowIf:      map[string][]any{"check": {checkAmount}},
					Description: "Largest amount allowed, as decimal text (50000.00); empty means no upper bound.",
					Examples:    []nodes.Example{{Name: "Fifty thousand", Value: "50000.00"}},
				},
				{
					Name: "values", Label: "Values", Type: nodes.TypeJSON, Required: true,
					ShowIf: map[string][]any{"check": {checkOneOf}},
					Description: "JSON list of the allowed values (texts, numbers, true/false). They are compared as " +
						"text, as the switch node does: 100 allows the number 100 and the text \"100\".",
					Examples: []nodes.Example{
						{Name: "Order statuses", Value: []any{"paid", "shipped", "refunded"}},
						{Name: "Currencies", Value: []any{"CNY", "HKD", "USD"}},
					},
				},
				{
					Name: "message", Label: "Message", Type: nodes.TypeString,
					Description: "Message of the problem when the rule fails, instead of the default one (which names " +
						"the field and what is wrong).",
					Examples: []nodes.Example{{Name: "For a form", Value: "请填写正确的手机号"}},
				},
			},
			Examples: []nodes.Example{{Name: "Customer sign-up", Value: []any{
				map[string]any{"field": "customer.email", "check": checkRequired},
				map[string]any{"field": "customer.email", "check": checkEmail},
				map[string]any{"field": "customer.phone", "check": checkPhoneE164, "message": "请填写带国家码的手机号"},
				map[string]any{"field": "customer.idNumber", "check": checkResidentID},
				map[string]any{"field": "amount", "check": checkAmount, "min": "0.01", "max": "50000.00"},
				map[string]any{"field": "status", "check": checkOneOf, "values": []any{"paid", "shipped"}},
			}}},
		}},
		Docs: "Checks fields of its input against rules and follows **valid** when every rule passes, **invalid** " +
			"when any fails, listing every failing rule rather than the first. Each rule names a field by its path " +
			"in the input (`customer.phone`, `items[0].sku`) and one check:\n\n" +
			"- **Required**: present, not null, not blank text, not an empty list or object.\n" +
			"- **Type**: text, number, whole number, true/false, object or list, as JSON has them (the text \"3\" is not a number).\n" +
			"- **Pattern**: a regular expression (RE2) matches the value; anchor it with `^` and `$` to match all of it.\n" +
			"- **E-mail address**: one bare address with a dot in its domain (`ada@example.com`).\n" +
			"- **Phone (E.164)**: `+`, the country code and a valid number of that country, as the SMS nodes take them " +
			"(`+8613800138000`; spaces, dashes and parentheses allowed).\n" +
			"- **Chinese resident ID**: 18 characters, 17 digits and a check digit (`X` for 10, `x` accepted), whose " +
			"birth date (characters 7 to 14) is a real date from 1800 up to today, China time, and whose check " +
			"digit matches (GB 11643-1999, ISO 7064 MOD 11-2).\n" +
			"- **Amount range**: a decimal amount, as text or a number, from *Min* to *Max*, both included; compared " +
			"exactly as decimals, never as floating point (149.99 is 149.99, not 149.98999…).\n" +
			"- **One of**: equal, written as text, to one of *Values*.\n\n" +
			"Every check but Required passes a field that is missing, null or blank text, so optional fields are " +
			"checked only when filled in. A bad pattern, an unknown check or type, a malformed or inverted amount " +
			"range and an empty list of values are refused when the flow is saved, at `rules[i].<field>`.\n\n" +
			"**Output:** on **valid**, the input, unchanged. On **invalid**, `{\"input\": <the input>, \"problems\": " +
			"[...]}`, one problem per failing rule, in rule order: `{\"field\", \"check\", \"message\", \"value\"}`, " +
			"where `message` is the rule's *Message* or a default naming the field, and `value` is the value found " +
			"(left out when the field is missing or null; text of 200 characters or more is cut to its first 100, " +
			"followed by …, and so is the JSON of a long object or list). Nothing is masked. Read them in a later " +
			"step as `prev.problems`, and the data as `prev.input`.\n\n" +
			"**Example:** rules `email` Required, `email` E-mail address and `amount` Amount range from `0.01` to " +
			"`100` send `{\"email\": \"ada@example.com\", \"amount\": \"99.90\"}` to **valid** unchanged, and " +
			"`{\"email\": \"ada@\", \"amount\": 120}` to **invalid** as\n\n" +
			"```json\n" +
			"{\"input\": {\"email\": \"ada@\", \"amount\": 120},\n" +
			" \"problems\": [\n" +
			"  {\"field\": \"email\", \"check\": \"email\", \"message\": \"email is not an e-mail address\", \"value\": \"ada@\"},\n" +
			"  {\"field\": \"amount\", \"check\": \"amount_range\", \"message\": \"amount must be from 0.01 to 100\", \"value\": 120}]}\n" +
			"```",
	}, newValidate)
}

// validateRule is one compiled rule.
type validateRule struct {
	field   expression.Path
	check   string
	message string
	typ     string
	pattern *regexp.Regexp
	// min and max bound an amount range; nil is no bound.
	min, max *expression.Amount
	// oneOf holds the allowed values written as text, in order for the message, and as a set.
	oneOf   []string
	allowed map[string]bool
}

type validateNode struct {
	rules []validateRule
}

func newValidate(cfg *nodes.Config) (nodes.Node, error) {
	n := &validateNode{}
	rows := cfg.List("rules")
	switch {
	case cfg.Has("rules") && len(rows) == 0:
		cfg.Fail("rules", nodes.CodeParamRequired, "add at least one rule")
	case len(rows) > MaxValidateRules:
		cfg.Fail("rules", nodes.CodeParamInvalid, fmt.Sprintf("%d rules; a node may have at most %d", len(rows), MaxValidateRules))
		return n, cfg.Err()
	}
	for i, rc := range rows {
		// A value the spec already refused (a number where text belongs, a check not in the list) is not read
		// again, so each mistake is reported once.
		refused := refusedFields(cfg, fmt.Sprintf("rules[%d].", i))
		text := func(name string) string {
			if refused[name] {
				return ""
			}
			return rc.String(name)
		}
		given := func(name string) bool {
			return rc.Has(name) && (refused[name] || strings.TrimSpace(text(name)) != "")
		}
		r := validateRule{check: text("check"), message: strings.TrimSpace(text("message"))}
		if path := strings.TrimSpace(text("field")); path != "" {
			p, err := expression.ParsePath(path)
			if err != nil {
				rc.Fail("field", nodes.CodeParamInvalid, err.Error())
			}
			r.field = p
		}
		switch r.check {
		case checkType:
			r.typ = text("type") // required and one of the options: checked against the spec
		case checkRegex:
			if pattern := text("pattern"); strings.TrimSpace(pattern) != "" {
				re, err := regexp.Compile(pattern)
				if err != nil {
					rc.Fail("pattern", nodes.CodeParamInvalid, fmt.Sprintf("not a regular expression: %v", err))
				}
				r.pattern = re
			}
		case checkAmount:
			if !given("min") && !given("max") {
				rc.Fail("min", nodes.CodeParamRequired, "give Min, Max or both")
				break
			}
			r.min, r.max = amountBound(rc, "min", text("min")), amountBound(rc, "max", text("max"))
			if r.min != nil && r.max != nil && r.min.Cmp(*r.max) > 0 {
				rc.Fail("max", nodes.CodeParamInvalid, fmt.Sprintf("Max %s is less than Min %s", r.max, r.min))
			}
		case checkOneOf:
			if !refused["values"] {
				r.oneOf, r.allowed = allowedValues(rc)
			}
		}
		n.rules = append(n.rules, r)
	}
	return n, cfg.Err()
}

// refusedFields lists the fields of one row (by the row's prefix, "rules[2].") that already have a problem.
func refusedFields(cfg *nodes.Config, prefix string) map[string]bool {
	out := map[string]bool{}
	for _, p := range cfg.Problems() {
		if name, ok := strings.CutPrefix(p.Field, prefix); ok {
			out[name] = true
		}
	}
	return out
}

// amountBound reads Min or Max, given as text s: a decimal amount, or nil when empty.
func amountBound(rc *nodes.Config, name, s string) *expression.Amount {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	a, err := expression.ParseAmount(s)
	if err != nil {
		rc.Fail(name, nodes.CodeParamInvalid, fmt.Sprintf("%q is not a decimal amount such as 0.01 or 50000.00", s))
		return nil
	}
	return &a
}

// allowedValues reads the Values of a one-of rule: a non-empty JSON list of texts, numbers and booleans, decoded
// as payloads are, so 1 and 1.0 are both written as "1".
func allowedValues(rc *nodes.Config) ([]string, map[string]bool) {
	var raw json.RawMessage
	if !rc.JSON("values", &raw) {
		return nil, nil // missing: reported by the required check
	}
	v, err := nodes.DecodeJSON(raw)
	list, isList := v.([]any)
	if err != nil || !isList || len(list) == 0 {
		rc.Fail("values", nodes.CodeParamInvalid, "Values must be a list of at least one value, such as [\"paid\", \"shipped\"]")
		return nil, nil
	}
	texts := make([]string, 0, len(list))
	set := make(map[string]bool, len(list))
	for i, e := range list {
		switch e.(type) {
		case string, bool, int64, float64:
		default:
			rc.Fail("values", nodes.CodeParamInvalid, fmt.Sprintf("value %d is %s; give texts, numbers or true/false", i+1, jsonKind(e)))
			return nil, nil
		}
		s := expression.Stringify(e)
		if !set[s] {
			texts = append(texts, s)
			set[s] = true
		}
	}
	return texts, set
}

// Execute runs every rule on the input and follows valid when none fails, invalid with the problems otherwise.
func (n *validateNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	var problems []any
	for i := range n.rules {
		r := &n.rules[i]
		v, found := r.field.Lookup(x.Input)
		if found && v == nil {
			found = false
		}
		msg := r.apply(v, found)
		if msg == "" {
			continue
		}
		if r.message != "" {
			msg = r.message
		} else {
			msg = r.field.String() + " " + msg
		}
		p := map[string]any{"field": r.field.String(), "check": r.check, "message": msg}
		if found {
			p["value"] = echo(v)
		}
		problems = append(problems, p)
	}
	if len(problems) == 0 {
		return nodes.Result{Output: x.Input, Port: PortValid}, nil
	}
	return nodes.Result{Output: map[string]any{"input": x.Input, "problems": problems}, Port: PortInvalid}, nil
}

// apply runs the rule on the value found at its field (found is false for a missing or null field) and returns
// what is wrong, after the field's name ("is required"), or "" when the rule passes.
func (r *validateRule) apply(v any, found bool) string {
	if r.check == checkRequired {
		if !found || isBlank(v) || isEmptyCollection(v) {
			return "is required"
		}
		return ""
	}
	if !found || isBlank(v) {
		return "" // optional: only a value that is there is checked
	}
	switch r.check {
	case checkType:
		switch kind := jsonKind(v); {
		case hasType(v, r.typ):
		case r.typ == typeInteger && kind == "a number":
			return "must be a whole number, without a fractional part"
		default:
			return fmt.Sprintf("must be %s, not %s", typeNames[r.typ], kind)
		}
	case checkRegex:
		s, ok := scalarText(v)
		if !ok {
			return fmt.Sprintf("must be text to match a pattern, not %s", jsonKind(v))
		}
		if !r.pattern.MatchString(s) {
			return "does not match the pattern " + r.pattern.String()
		}
	case checkEmail:
		if s, ok := v.(string); !ok || !isEmail(s) {
			return "is not an e-mail address"
		}
	case checkPhoneE164:
		s, ok := v.(string)
		if !ok {
			return "must be a phone number written as text, such as +8613800138000"
		}
		if _, err := expression.ParseE164(s); err != nil {
			return "is not a valid phone number in E.164 form: + and the country code, such as +8613800138000"
		}
	case checkResidentID:
		s, ok := v.(string)
		if !ok {
			return "must be a resident ID number written as text (18 characters)"
		}
		return residentIDProblem(s)
	case checkAmount:
		return r.amountProblem(v)
	case checkOneOf:
		s, ok := scalarText(v)
		if !ok || !r.allowed[s] {
			return "must be one of " + listForMessage(r.oneOf)
		}
	}
	return ""
}

func (r *validateRule) amountProblem(v any) string {
	switch v.(type) {
	case bool, map[string]any, []any:
		return "must be an amount (decimal text or a number), not " + jsonKind(v)
	}
	a, err := expression.ParseAmount(v)
	if err != nil {
		return "must be an amount (decimal text such as 149.99, or a number)"
	}
	switch {
	case r.min != nil && r.max != nil && (a.Cmp(*r.min) < 0 || a.Cmp(*r.max) > 0):
		return fmt.Sprintf("must be from %s to %s", r.min, r.max)
	case r.min != nil && a.Cmp(*r.min) < 0:
		return "must be at least " + r.min.String()
	case r.max != nil && a.Cmp(*r.max) > 0:
		return "must be at most " + r.max.String()
	}
	return ""
}

// typeNames are the type check's types as the default messages say them.
var typeNames = map[string]string{
	typeString: "text", typeNumber: "a number", typeInteger: "a whole number", typeBoolean: "true or false",
	typeObject: "an object", typeArray: "a list",
}

// hasType reports whether v has the JSON type typ. Values come from decoded JSON (int64 for whole numbers,
// float64 otherwise); other Go numbers, maps and slices an earlier node produced are read by kind.
func hasType(v any, typ string) bool {
	switch typ {
	case typeString:
		_, ok := v.(string)
		return ok
	case typeBoolean:
		_, ok := v.(bool)
		return ok
	case typeNumber:
		return jsonKind(v) == "a number"
	case typeInteger:
		if jsonKind(v) != "a number" {
			return false
		}
		a, err := expression.ParseAmount(v)
		return err == nil && !strings.Contains(a.String(), ".")
	case typeObject:
		return jsonKind(v) == "an object"
	case typeArray:
		return jsonKind(v) == "a list"
	}
	return false
}

// jsonKind names the JSON type of a value for messages: "text", "a number", "true or false", "an object",
// "a list" or "null".
func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "text"
	case bool:
		return "true or false"
	case json.Number:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	default:
		rv := reflect.ValueOf(x)
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
			reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
			return "a number"
		case reflect.Map, reflect.Struct:
			return "an object"
		case reflect.Slice, reflect.Array:
			return "a list"
		}
		return fmt.Sprintf("%T", x)
	}
}

// scalarText writes text, numbers and booleans as text (100 as "100"), as switch and templates do; objects and
// lists are not text.
func scalarText(v any) (string, bool) {
	switch jsonKind(v) {
	case "text", "a number", "true or false":
		return expression.Stringify(v), true
	}
	return "", false
}

func isBlank(v any) bool {
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

func isEmptyCollection(v any) bool {
	switch jsonKind(v) {
	case "an object", "a list":
		rv := reflect.ValueOf(v)
		return (rv.Kind() == reflect.Map || rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array) && rv.Len() == 0
	}
	return false
}

// listForMessage writes allowed values for a message, the first ten of them.
func listForMessage(values []string) string {
	const shown = 10
	quoted := make([]string, 0, shown+1)
	for i, v := range values {
		if i == shown {
			quoted = append(quoted, fmt.Sprintf("… (%d more)", len(values)-shown))
			break
		}
		quoted = append(quoted, fmt.Sprintf("%q", v))
	}
	return strings.Join(quoted, ", ")
}

// echo is the value a problem shows: the value itself, or, when it (or its JSON) has maxEchoRunes characters or
// more, its first echoRunes characters followed by "…".
func echo(v any) any {
	s, isText := v.(string)
	if !isText {
		switch jsonKind(v) {
		case "a number", "true or false":
			return v
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprintf("%T", v)
		}
		s = string(b)
	}
	if utf8.RuneCountInString(s) < maxEchoRunes {
		return v
	}
	return string([]rune(s)[:echoRunes]) + "…"
}

var _ nodes.Node = (*validateNode)(nil)
