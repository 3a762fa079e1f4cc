package tencentsms

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxNumbers is the most numbers one SendSms takes (PhoneNumberSet).
const maxNumbers = 200

// numbersOf lists what the field rendered (a list, or text split at commas by the runtime).
func numbersOf(v any) []string {
	var raw []string
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			raw = append(raw, strings.FieldsFunc(fmt.Sprint(e), func(r rune) bool { return r == ';' || r == '\n' || r == '\r' })...)
		}
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

// checkNumbers validates every number as E.164 (+ and the country code; spaces and dashes allowed) and writes
// each as PhoneNumberSet takes it: E.164 without spaces (+8613711112222).
func checkNumbers(v any) (any, error) {
	list := numbersOf(v)
	if len(list) == 0 {
		return nil, fmt.Errorf("no phone number")
	}
	if len(list) > maxNumbers {
		return nil, fmt.Errorf("%d phone numbers: SendSms takes at most %d", len(list), maxNumbers)
	}
	out := make([]any, 0, len(list))
	for _, s := range list {
		clean := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(s)
		if !strings.HasPrefix(clean, "+") {
			return nil, fmt.Errorf("%q is not in E.164 form: write it with + and the country code (+8613711112222)", s)
		}
		n, err := phonenumbers.Parse(clean, "")
		if err != nil || !phonenumbers.IsValidNumber(n) {
			return nil, fmt.Errorf("%q is not a valid phone number (E.164, such as +8613711112222)", s)
		}
		out = append(out, phonenumbers.Format(n, phonenumbers.E164))
	}
	return out, nil
}
