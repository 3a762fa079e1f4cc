package expression

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// defaultPhoneRegion is assumed for numbers written without a country code: Ferry's users are mostly in
// mainland China, where shops and CRMs store bare 11-digit mobile numbers.
const defaultPhoneRegion = "CN"

// maxPhoneLength bounds the input given to the parser; no real number with formatting comes close.
const maxPhoneLength = 64

func phoneRegionArg(fn string, params []any, i int) (string, error) {
	if len(params) <= i {
		return defaultPhoneRegion, nil
	}
	r, err := argString(fn, i, params[i])
	if err != nil {
		return "", err
	}
	if err := checkRegion(r); err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	return strings.ToUpper(strings.TrimSpace(r)), nil
}

func checkRegion(region string) error {
	if !phonenumbers.GetSupportedRegions()[strings.ToUpper(strings.TrimSpace(region))] {
		return fmt.Errorf("unknown region %q (want a two-letter country code such as CN or US)", region)
	}
	return nil
}

// parsePhone parses and validates a number. Numbers starting with + (or an international prefix such as
// 00) carry their own country; others are read as numbers of region. A country code typed without + ("86
// 138…") is recognised when the rest is a valid number of that region.
func parsePhone(fn string, params []any) (*phonenumbers.PhoneNumber, error) {
	if err := arity(fn, params, 1, 2); err != nil {
		return nil, err
	}
	s, err := argText(fn, 0, params[0])
	if err != nil {
		return nil, err
	}
	region, err := phoneRegionArg(fn, params, 1)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%s: phone number is empty", fn)
	}
	if len(s) > maxPhoneLength {
		return nil, fmt.Errorf("%s: %s is too long to be a phone number", fn, quoteValue(s))
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		if strings.HasPrefix(strings.TrimSpace(s), "+") {
			return nil, fmt.Errorf("%s: %s is not a valid phone number", fn, strconv.Quote(s))
		}
		return nil, fmt.Errorf("%s: %s is not a valid phone number for region %s", fn, strconv.Quote(s), region)
	}
	return num, nil
}

func init() {
	for _, name := range []string{"phone", "phoneRegion", "isPhone"} {
		checkConstant(name, 1, checkRegion)
	}

	register(FunctionDoc{
		Name: "phone", Category: CategoryPhone,
		Signature:   "phone(number[, region]) string",
		Description: "Normalises a phone number to E.164 (+8613812345678), reading numbers without a country code as numbers of region (CN by default), and fails when the number is not valid.",
		Example:     `phone("0086 138-1234-5678") + " " + phone("(415) 555-2671", "US")`,
		Output:      "+8613812345678 +14155552671",
	}, func(params ...any) (any, error) {
		num, err := parsePhone("phone", params)
		if err != nil {
			return nil, err
		}
		return phonenumbers.Format(num, phonenumbers.E164), nil
	},
		new(func(string, ...string) string),
	)

	register(FunctionDoc{
		Name: "isPhone", Category: CategoryPhone,
		Signature:   "isPhone(number[, region]) bool",
		Description: "Reports whether phone would accept the number, for conditions that route invalid numbers instead of failing.",
		Example:     `isPhone("13812345678") && !isPhone("12345")`,
		Output:      "true",
	}, func(params ...any) (any, error) {
		if err := arity("isPhone", params, 1, 2); err != nil {
			return nil, err
		}
		if _, err := phoneRegionArg("isPhone", params, 1); err != nil {
			return nil, err
		}
		if params[0] == nil {
			return false, nil
		}
		if _, err := argText("isPhone", 0, params[0]); err != nil {
			return nil, err
		}
		_, err := parsePhone("isPhone", params)
		return err == nil, nil
	},
		new(func(string, ...string) bool),
	)

	register(FunctionDoc{
		Name: "phoneRegion", Category: CategoryPhone,
		Signature:   "phoneRegion(number[, region]) string",
		Description: "Returns the two-letter country of a valid phone number (\"CN\", \"HK\", \"US\"), failing as phone does for invalid numbers.",
		Example:     `phoneRegion("+852 6123 4567")`,
		Output:      "HK",
	}, func(params ...any) (any, error) {
		num, err := parsePhone("phoneRegion", params)
		if err != nil {
			return nil, err
		}
		return phonenumbers.GetRegionCodeForNumber(num), nil
	},
		new(func(string, ...string) string),
	)
}

// e164Separators are what people put inside a number written in E.164 form and a parser can drop safely.
var e164Separators = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "")

// ParseE164 parses a number written in E.164 form (+ and the country code; spaces, dashes and parentheses
// allowed) and checks that it is a valid number of its country. Unlike phone, it reads no number as a number of
// a default region: the SMS connectors send to what it accepts and core.validate checks for it, so they agree
// on what a number in E.164 form is. The error quotes s and says what is wrong.
func ParseE164(s string) (*phonenumbers.PhoneNumber, error) {
	if len(s) > maxPhoneLength {
		return nil, fmt.Errorf("%s is too long to be a phone number", quoteValue(s))
	}
	clean := e164Separators.Replace(strings.TrimSpace(s))
	if !strings.HasPrefix(clean, "+") {
		return nil, fmt.Errorf("%q is not in E.164 form: write it with + and the country code (+8613800138000)", s)
	}
	n, err := phonenumbers.Parse(clean, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return nil, fmt.Errorf("%q is not a valid phone number (E.164, such as +8613800138000)", s)
	}
	return n, nil
}

// ParseE164List reads what a phone-number field rendered (a list, or text separated by commas, semicolons or
// line breaks) and parses each number with ParseE164, refusing an empty list and one longer than max: the SMS
// connectors read their recipients with it, each then writing the numbers as its provider takes them.
func ParseE164List(v any, max int) ([]*phonenumbers.PhoneNumber, error) {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' })
	}
	var raw []string
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			raw = append(raw, split(fmt.Sprint(e))...)
		}
	case []string:
		for _, e := range t {
			raw = append(raw, split(e)...)
		}
	default:
		raw = split(fmt.Sprint(v))
	}
	var out []*phonenumbers.PhoneNumber
	for _, s := range raw {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := ParseE164(s)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	switch {
	case len(out) == 0:
		return nil, fmt.Errorf("no phone number")
	case len(out) > max:
		return nil, fmt.Errorf("%d phone numbers: at most %d at once", len(out), max)
	}
	return out, nil
}
