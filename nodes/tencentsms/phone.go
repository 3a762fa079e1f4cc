package tencentsms

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/ferry-hq/ferry/flows/expression"
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

// checkNumbers validates every number as E.164 (expression.ParseE164: + and the country code; spaces, dashes and
// parentheses allowed) and writes each as PhoneNumberSet takes it: E.164 without spaces (+8613711112222).
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
		n, err := expression.ParseE164(s)
		if err != nil {
			return nil, err
		}
		out = append(out, phonenumbers.Format(n, phonenumbers.E164))
	}
	return out, nil
}
