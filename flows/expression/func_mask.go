package expression

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// The mask functions hide personal data before it reaches logs, chat notifications or analytics, as PIPL and
// GDPR expect. They never fail on odd input: text they do not recognise is masked with the generic rule, and
// null becomes "". They also never reveal a whole value: when the characters to keep would cover all of it,
// only the last quarter is kept.

// maskChar replaces each hidden character.
const maskChar = '*'

// maskRunes keeps keepStart characters at the start and keepEnd at the end of s and stars the rest.
func maskRunes(s string, keepStart, keepEnd int) string {
	rs := []rune(s)
	n := len(rs)
	if keepStart+keepEnd >= n {
		keepStart, keepEnd = 0, min(keepEnd, n/4)
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(string(rs[:keepStart]))
	for i := keepStart; i < n-keepEnd; i++ {
		b.WriteRune(maskChar)
	}
	b.WriteString(string(rs[n-keepEnd:]))
	return b.String()
}

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// minPhoneHidden is the fewest digits maskPhone hides: an 8-digit Hong Kong number keeps only its last four.
const minPhoneHidden = 4

// maskPhone keeps the country code, the first three and the last four digits of the national number, giving
// up first the leading and then the trailing digits when fewer than four would be hidden.
func maskPhone(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "+") && len(s) <= maxPhoneLength {
		if num, err := phonenumbers.Parse(s, "ZZ"); err == nil {
			national := phonenumbers.GetNationalSignificantNumber(num)
			return "+" + strconv.Itoa(int(num.GetCountryCode())) + maskPhoneDigits(national)
		}
	}
	if d := digitsOf(s); d != "" {
		return maskPhoneDigits(d)
	}
	return maskRunes(s, 3, 4)
}

func maskPhoneDigits(d string) string {
	hide := max(minPhoneHidden, len(d)-3-4)
	keepEnd := min(4, max(len(d)-hide, 0))
	keepStart := min(3, max(len(d)-hide-keepEnd, 0))
	return d[:keepStart] + strings.Repeat(string(maskChar), len(d)-keepStart-keepEnd) + d[len(d)-keepEnd:]
}

// maskEmail keeps the first and last character of the local part and the whole domain; three stars stand
// for the rest whatever its length, so the length is hidden too.
func maskEmail(s string) string {
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return maskRunes(s, 1, 1)
	}
	local := []rune(s[:at])
	switch len(local) {
	case 1:
		return "***" + s[at:]
	case 2:
		return string(local[0]) + "***" + s[at:]
	}
	return string(local[0]) + "***" + string(local[len(local)-1]) + s[at:]
}

// maskBankCard keeps the first four and last four digits and always shows four groups, hiding the length.
func maskBankCard(s string) string {
	d := digitsOf(s)
	if len(d) < 12 {
		if d == "" {
			return maskRunes(strings.TrimSpace(s), 0, 4)
		}
		return maskRunes(d, 0, 4)
	}
	return d[:4] + " **** **** " + d[len(d)-4:]
}

func registerMask(doc FunctionDoc, maskFn func(string) string, types ...any) {
	name := doc.Name
	doc.Category = CategoryMask
	register(doc, func(params ...any) (any, error) {
		if err := arity(name, params, 1, 1); err != nil {
			return nil, err
		}
		if params[0] == nil {
			return "", nil
		}
		s, err := argText(name, 0, params[0])
		if err != nil {
			return nil, err
		}
		return maskFn(s), nil
	}, types...)
}

func init() {
	registerMask(FunctionDoc{
		Name:        "maskPhone",
		Signature:   "maskPhone(number) string",
		Description: "Masks a phone number keeping the country code, the first 3 and the last 4 digits of the national number (+86138****5678), and always hiding at least 4 digits.",
		Example:     `maskPhone("+86 138 1234 5678") + " " + maskPhone("13812345678")`,
		Output:      "+86138****5678 138****5678",
	}, maskPhone, new(func(any) string))

	registerMask(FunctionDoc{
		Name:        "maskEmail",
		Signature:   "maskEmail(email) string",
		Description: "Masks an email address keeping the first and last character of the name and the whole domain, with three stars for the rest whatever its length.",
		Example:     `maskEmail("ada.lovelace@example.com")`,
		Output:      "a***e@example.com",
	}, maskEmail, new(func(string) string))

	registerMask(FunctionDoc{
		Name:        "maskIdCard",
		Signature:   "maskIdCard(id) string",
		Description: "Masks an identity document number keeping the first 6 characters (a Chinese ID's region code) and the last 4.",
		Example:     `maskIdCard("110101199003074477")`,
		Output:      "110101********4477",
	}, func(s string) string { return maskRunes(strings.TrimSpace(s), 6, 4) }, new(func(any) string))

	registerMask(FunctionDoc{
		Name:        "maskBankCard",
		Signature:   "maskBankCard(number) string",
		Description: "Masks a bank card number as its first 4 and last 4 digits around two starred groups, whatever its length.",
		Example:     `maskBankCard("6222 0212 3456 7890 123")`,
		Output:      "6222 **** **** 0123",
	}, maskBankCard, new(func(any) string))

	register(FunctionDoc{
		Name: "mask", Category: CategoryMask,
		Signature:   "mask(text, keepStart, keepEnd) string",
		Description: "Replaces every character of text with * except keepStart at the start and keepEnd at the end; when these would cover the whole text only its last quarter is kept.",
		Example:     `mask("Ada Lovelace", 1, 2)`,
		Output:      "A*********ce",
	}, func(params ...any) (any, error) {
		if err := arity("mask", params, 3, 3); err != nil {
			return nil, err
		}
		if params[0] == nil {
			return "", nil
		}
		s, err := argText("mask", 0, params[0])
		if err != nil {
			return nil, err
		}
		start, err := argInt("mask", 1, params[1])
		if err != nil {
			return nil, err
		}
		end, err := argInt("mask", 2, params[2])
		if err != nil {
			return nil, err
		}
		if start < 0 {
			return nil, errArg("mask", 1, "must not be negative, got %d", start)
		}
		if end < 0 {
			return nil, errArg("mask", 2, "must not be negative, got %d", end)
		}
		return maskRunes(s, start, end), nil
	}, new(func(any, int, int) string))
}

// Masks for personal data outside expressions (the API masks run data with them).
const (
	MaskKindPhone    = "phone"
	MaskKindEmail    = "email"
	MaskKindIDCard   = "idcard"
	MaskKindBankCard = "bankcard"
	MaskKindOther    = "other"
)

// MaskPersonal masks value the way the expression function of its kind does (maskPhone, maskEmail,
// maskIdCard, maskBankCard); other kinds keep the first and last character.
func MaskPersonal(kind, value string) string {
	switch kind {
	case MaskKindPhone:
		return maskPhone(value)
	case MaskKindEmail:
		return maskEmail(value)
	case MaskKindIDCard:
		return maskRunes(strings.TrimSpace(value), 6, 4)
	case MaskKindBankCard:
		return maskBankCard(value)
	}
	return maskRunes(value, 1, 1)
}
