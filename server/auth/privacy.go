package auth

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync/atomic"
	"unicode"

	"github.com/ferry-hq/ferry/flows/expression"
)

// DefaultPersonalFields are the JSON keys treated as personal data unless configured otherwise: phone numbers,
// e-mail addresses, identity card numbers and bank card numbers, under the names shops, payment providers and
// CRMs use for them. A key matches when, lower-cased and stripped of everything but letters and digits, it ends
// with one of these (so customer_phone and buyerMobile match).
var DefaultPersonalFields = []string{"phone", "mobile", "tel", "telephone", "email", "id_card", "id_number", "identity_card",
	"bank_card", "card_number", "card_no", "account_number", "iban"}

// Masker hides personal data in run data shown to callers who may not see it (I5's sibling for customer data:
// payment flows carry buyers' phones, e-mails and card numbers). Its fields can be replaced while it is in use
// (SetFields), because an admin changes them in the settings without a restart.
type Masker struct {
	rules atomic.Pointer[maskRules]
}

// maskRules is one consistent set of personal-data keys: swapped whole, so a masking walk never sees half of an
// old list and half of a new one.
type maskRules struct {
	suffixes []string
	kinds    []string
}

// NewMasker returns a masker for the given field names (DefaultPersonalFields when empty).
func NewMasker(fields []string) *Masker {
	m := &Masker{}
	m.SetFields(fields)
	return m
}

// SetFields replaces the personal-data keys (DefaultPersonalFields when empty); masking that starts afterwards
// uses them.
func (m *Masker) SetFields(fields []string) {
	if len(fields) == 0 {
		fields = DefaultPersonalFields
	}
	r := &maskRules{}
	for _, f := range fields {
		n := NormalizeFieldName(f)
		if n == "" {
			continue
		}
		r.suffixes = append(r.suffixes, n)
		r.kinds = append(r.kinds, kindOf(n))
	}
	m.rules.Store(r)
}

// NormalizeFieldName is how a personal-data field and a JSON key are compared: lower case, letters and digits
// only. A configured field whose normalized name is empty matches nothing, so settings reject it.
func NormalizeFieldName(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func kindOf(n string) string {
	switch {
	case strings.Contains(n, "mail"):
		return expression.MaskKindEmail
	case strings.Contains(n, "phone") || strings.Contains(n, "mobile") || strings.HasSuffix(n, "tel"):
		return expression.MaskKindPhone
	case strings.Contains(n, "id") || strings.Contains(n, "identity"):
		return expression.MaskKindIDCard
	case strings.Contains(n, "card") || strings.Contains(n, "account") || strings.Contains(n, "iban"):
		return expression.MaskKindBankCard
	}
	return expression.MaskKindOther
}

// kind returns the mask kind for a JSON key, or "" when the key is not personal data.
func (r *maskRules) kind(key string) string {
	n := NormalizeFieldName(key)
	for i, s := range r.suffixes {
		if strings.HasSuffix(n, s) {
			return r.kinds[i]
		}
	}
	return ""
}

// MaskJSON returns raw with the values of personal-data keys masked, wherever they are nested, and whether
// anything was masked. Raw that is not JSON is returned as is.
func (m *Masker) MaskJSON(raw json.RawMessage) (json.RawMessage, bool) {
	if len(raw) == 0 {
		return raw, false
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers that are not masked come back exactly as they were
	if err := dec.Decode(&v); err != nil {
		return raw, false
	}
	v, changed := m.rules.Load().mask(v, "")
	if !changed {
		return raw, false
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw, false
	}
	return out, true
}

// mask walks v; kind is the mask of the key v sits under ("" when none).
func (m *maskRules) mask(v any, kind string) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		changed := false
		for k, e := range x {
			k2 := m.kind(k)
			if k2 == "" {
				k2 = kind
			}
			nv, c := m.mask(e, k2)
			if c {
				x[k], changed = nv, true
			}
		}
		return x, changed
	case []any:
		changed := false
		for i, e := range x {
			nv, c := m.mask(e, kind)
			if c {
				x[i], changed = nv, true
			}
		}
		return x, changed
	case string:
		if kind == "" || x == "" {
			return x, false
		}
		return expression.MaskPersonal(kind, x), true
	case json.Number:
		if kind == "" {
			return x, false
		}
		return expression.MaskPersonal(kind, x.String()), true
	}
	return v, false
}
