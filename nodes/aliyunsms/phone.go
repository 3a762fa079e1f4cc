package aliyunsms

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/ferry-hq/ferry/flows/expression"
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

// checkNumbers validates every number as E.164 (expression.ParseE164) and writes them as SendSms takes them: a
// Chinese mainland number as its 11 digits, any other as country code and number without + (国际/港澳台:
// 国际区号+号码), comma-separated.
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
		n, err := expression.ParseE164(s)
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
