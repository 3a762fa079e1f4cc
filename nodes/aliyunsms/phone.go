package aliyunsms

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxNumbers is the most numbers one SendSms takes (PhoneNumbers, comma-separated).
const maxNumbers = 1000

// numbersOf splits what the field rendered (a list, or text separated by commas, semicolons or line breaks).
func numbersOf(v any) []string {
	var raw []string
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			raw = append(raw, fmt.Sprint(e))
		}
	case []string:
		raw = t
	default:
		raw = strings.FieldsFunc(fmt.Sprint(v), func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' })
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// e164 parses a number written in E.164 (+ and the country code, spaces and dashes allowed) and checks that it
// is a valid number of its country.
func e164(s string) (*phonenumbers.PhoneNumber, error) {
	clean := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(s)
	if !strings.HasPrefix(clean, "+") {
		return nil, fmt.Errorf("%q is not in E.164 form: write it with + and the country code (+8613800138000)", s)
	}
	n, err := phonenumbers.Parse(clean, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return nil, fmt.Errorf("%q is not a valid phone number (E.164, such as +8613800138000)", s)
	}
	return n, nil
}

// checkNumbers validates every number as E.164 and writes them as SendSms takes them: a Chinese mainland number
// as its 11 digits, any other as country code and number without + (国际/港澳台: 国际区号+号码), comma-separated.
func checkNumbers(v any) (any, error) {
	list := numbersOf(v)
	if len(list) == 0 {
		return nil, fmt.Errorf("no phone number")
	}
	if len(list) > maxNumbers {
		return nil, fmt.Errorf("%d phone numbers: SendSms takes at most %d", len(list), maxNumbers)
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		n, err := e164(s)
		if err != nil {
			return nil, err
		}
		national := phonenumbers.GetNationalSignificantNumber(n)
		if n.GetCountryCode() == 86 {
			out = append(out, national)
		} else {
			out = append(out, fmt.Sprint(n.GetCountryCode())+national)
		}
	}
	return strings.Join(out, ","), nil
}
