package tencentsms

import (
	"github.com/nyaruka/phonenumbers"

	"github.com/ferry-hq/ferry/flows/expression"
)

// maxNumbers is the most numbers one SendSms takes (PhoneNumberSet).
const maxNumbers = 200

// checkNumbers validates every number as E.164 (expression.ParseE164List: + and the country code; spaces, dashes
// and parentheses allowed) and writes each as PhoneNumberSet takes it: E.164 without spaces (+8613711112222).
func checkNumbers(v any) (any, error) {
	list, err := expression.ParseE164List(v, maxNumbers)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(list))
	for _, n := range list {
		out = append(out, phonenumbers.Format(n, phonenumbers.E164))
	}
	return out, nil
}
