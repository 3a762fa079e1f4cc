package aliyunsms

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/ferry-hq/ferry/flows/expression"
)

// maxNumbers is the most numbers one SendSms takes (PhoneNumbers, comma-separated).
const maxNumbers = 1000

// checkNumbers validates every number as E.164 (expression.ParseE164List) and writes them as SendSms takes them:
// a Chinese mainland number as its 11 digits, any other as country code and number without + (国际/港澳台:
// 国际区号+号码), comma-separated.
func checkNumbers(v any) (any, error) {
	list, err := expression.ParseE164List(v, maxNumbers)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, n := range list {
		national := phonenumbers.GetNationalSignificantNumber(n)
		if n.GetCountryCode() == 86 {
			out = append(out, national)
		} else {
			out = append(out, fmt.Sprint(n.GetCountryCode())+national)
		}
	}
	return strings.Join(out, ","), nil
}
