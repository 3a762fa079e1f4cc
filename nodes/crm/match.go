// Package crm holds what the CRM connectors share beyond the connector runtime: finding the record of an
// incoming customer (Match), once for every CRM. A CRM supplies only a Searcher ("the records whose field equals
// this value, at most n of them"); the order of the keys, their normalisation, when a search decides and what an
// ambiguous answer shows an operator are decided here, so HubSpot, Salesforce, Zoho CRM and Jiandaoyun match a
// customer the same way (D28: by stable keys, never by name, ambiguous matches to review).
package crm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/ferry-hq/ferry/nodes"
)

// Kind says what a key is, which decides how its value is normalised before the search.
type Kind string

// Key kinds, in the order a flow usually tries them: the most stable identifier first.
const (
	// KindExternalID is the customer's id in the system the data comes from (a shop's customer id), kept in a
	// CRM field: compared as written, trimmed.
	KindExternalID Kind = "externalId"
	// KindUnionID is a WeChat UnionID (one person across a company's mini-programs and official accounts):
	// compared as written, trimmed.
	KindUnionID Kind = "unionId"
	// KindPhone is a phone number: normalised to E.164 (+8613800138000), numbers without a country code read
	// as numbers of the match's region.
	KindPhone Kind = "phone"
	// KindEmail is an e-mail address: trimmed and lower-cased.
	KindEmail Kind = "email"
	// KindProperty is any other field whose values identify one customer (a member number, a tax id): compared
	// as written, trimmed.
	KindProperty Kind = "property"
)

// Kinds lists every key kind, for the node's form.
var Kinds = []Kind{KindExternalID, KindUnionID, KindPhone, KindEmail, KindProperty}

// Outcome is what a match found; each is one output port of a match node.
type Outcome string

// Outcomes, which are also the match nodes' output port ids.
const (
	// Found: a key found exactly one record.
	Found Outcome = "found"
	// None: no key found a record (and at least one key had a value to look for).
	None Outcome = "none"
	// Ambiguous: a key found more than one record; no later key is tried, and nothing is chosen.
	Ambiguous Outcome = "ambiguous"
)

// Failure codes of a match.
const (
	// CodeNoKeys: the incoming customer has no usable value for any key (all empty, or not a phone number or an
	// e-mail address), so nothing could be looked for. Permanent: the same data fails the same way. It is a
	// failure rather than "none" because a flow creating the customer on "none" would create one per run.
	CodeNoKeys = "crm_match_no_keys"
	// CodeNameKey: a key looks a customer up by a name field; refused when the flow is saved (names are not
	// unique: two customers share one, and one customer writes theirs in several ways).
	CodeNameKey = "crm_match_name_key"
	// CodeKeyInvalid: a key of the node's configuration is malformed (an unknown kind, no field); refused when
	// the flow is saved.
	CodeKeyInvalid = "crm_match_key_invalid"
	// CodeSearchInvalid: a CRM's search answered something a match cannot read (a record without an id).
	CodeSearchInvalid = "crm_match_search_invalid"
)

// Bounds of a match.
const (
	// DefaultCandidates is how many candidates an ambiguous match lists by default.
	DefaultCandidates = 5
	// MaxCandidates is the most an ambiguous match lists; more are reported as more, not listed.
	MaxCandidates = 20
	// MaxKeys is the most keys one match tries.
	MaxKeys = 10
	// DefaultRegion reads phone numbers written without a country code, as the expression function phone
	// does: Ferry's users mostly keep bare 11-digit mainland mobile numbers.
	DefaultRegion = "CN"
	// maxValueLength bounds a key's value: no identifier comes close, and the value goes into a query.
	maxValueLength = 512
)

// Key is one way to look an incoming customer up: its kind, the CRM field it is kept in, and the incoming value.
type Key struct {
	Kind  Kind
	Field string
	Value string
}

// Record is one record a CRM's search found, as a match shows it.
type Record struct {
	// ID is the CRM's id of the record.
	ID string
	// Label is what an operator recognises the record by (a name, an e-mail address); it may be empty.
	Label string
	// Fields are the record's fields the search read, by the CRM's field names, so a match can say which keys
	// each candidate has in common with the customer.
	Fields map[string]any
	// Raw is the record as the CRM answered it: the output of a match that found it.
	Raw any
}

// Searcher is what a CRM supplies to a match: the records whose field equals value exactly (value is already
// normalised), at most limit of them (limit is at least 2, so one search tells one record from several). A
// failure is returned as the connector runtime classified it (retryable, permanent, rate-limited), and the match
// returns it unchanged.
type Searcher interface {
	Search(ctx context.Context, field, value string, limit int) ([]Record, error)
}

// SearchFunc is a Searcher written as a function.
type SearchFunc func(ctx context.Context, field, value string, limit int) ([]Record, error)

// Search calls f.
func (f SearchFunc) Search(ctx context.Context, field, value string, limit int) ([]Record, error) {
	return f(ctx, field, value, limit)
}

// Options bound a match.
type Options struct {
	// Region reads phone numbers without a country code (a two-letter region such as CN); empty is DefaultRegion.
	Region string
	// Candidates is how many candidates an ambiguous match lists (1 to MaxCandidates); zero is DefaultCandidates.
	Candidates int
}

// FieldMatch is one key a record has in common with the incoming customer: the key's kind, the CRM field and
// the normalised value.
type FieldMatch struct {
	Kind  Kind   `json:"kind"`
	Field string `json:"field"`
	Value string `json:"value"`
}

// Candidate is one record of an ambiguous match, as an operator reviewing it sees it: its id, its label and the
// keys it shares with the customer (the key that found it first), with the fields the search read.
type Candidate struct {
	ID      string         `json:"id"`
	Label   string         `json:"label,omitempty"`
	Matched []FieldMatch   `json:"matched"`
	Fields  map[string]any `json:"fields,omitempty"`
}

// Attempt is what one key did: searched (Found records, at most the search's limit) or skipped (Skipped says
// why: "empty", "invalid", "not tried" after a key decided).
type Attempt struct {
	Kind    Kind   `json:"kind"`
	Field   string `json:"field"`
	Value   string `json:"value,omitempty"`
	Found   int    `json:"found"`
	Skipped string `json:"skipped,omitempty"`
}

// Result is what a match decided. It is the match node's output (Output), and what a review of an ambiguous
// match presents to an operator (Candidates); ParseResult reads it back from a step's output.
type Result struct {
	Outcome Outcome `json:"outcome"`
	// Key is the key that decided (found or ambiguous), with its normalised value.
	Key *FieldMatch `json:"key,omitempty"`
	// ID, Label, Record and Matched describe the record found: its id, label, the record as the CRM answered it
	// and the keys it shares with the customer.
	ID      string       `json:"id,omitempty"`
	Label   string       `json:"label,omitempty"`
	Record  any          `json:"record,omitempty"`
	Matched []FieldMatch `json:"matched,omitempty"`
	// Conflicts are the keys the record found holds another value for than the customer (a phone number found
	// on a record with another external id: a relative, a shared company line), each with the record's value,
	// so a flow can send such a match to review instead of merging two people.
	Conflicts []FieldMatch `json:"conflicts,omitempty"`
	// Candidates are the records of an ambiguous match, at most Options.Candidates; More says the search found
	// more than are listed.
	Candidates []Candidate `json:"candidates,omitempty"`
	More       bool        `json:"more,omitempty"`
	// Tried says what every key did, in order.
	Tried []Attempt `json:"tried"`
}

// normalised is a key with its value as searched, or why it is skipped.
type normalised struct {
	Key
	skip string
}

// Match finds the record of an incoming customer: keys are tried in order, empty ones skipped; the first key
// whose search finds exactly one record decides Found, the first that finds more than one decides Ambiguous
// (no later key is tried: a later key finding one record would be a guess among the candidates), and when every
// key finds nothing the outcome is None. Phone numbers are searched in E.164, e-mail addresses trimmed and
// lower-cased, other values trimmed. A customer with no usable value for any key fails with CodeNoKeys, and a
// search's failure is returned as the Searcher classified it.
func Match(ctx context.Context, s Searcher, keys []Key, opts Options) (*Result, error) {
	region, err := checkRegion(opts.Region)
	if err != nil {
		return nil, nodes.NewPermanent(CodeKeyInvalid, fmt.Errorf("crm: match: %w", err))
	}
	limit := opts.Candidates
	if limit <= 0 {
		limit = DefaultCandidates
	}
	limit = min(limit, MaxCandidates)
	if len(keys) == 0 {
		return nil, nodes.NewPermanent(CodeKeyInvalid, errors.New("crm: match: no keys to look the customer up by"))
	}
	if len(keys) > MaxKeys {
		return nil, nodes.NewPermanent(CodeKeyInvalid, fmt.Errorf("crm: match: %d keys; a match tries at most %d", len(keys), MaxKeys))
	}
	norm := make([]normalised, len(keys))
	usable := 0
	for i, k := range keys {
		if err := CheckKey(k.Kind, k.Field); err != nil {
			return nil, nodes.NewPermanent(CodeOf(err), fmt.Errorf("crm: match: key %d: %w", i+1, err))
		}
		v, skip := Normalise(k.Kind, k.Value, region)
		norm[i] = normalised{Key: Key{Kind: k.Kind, Field: strings.TrimSpace(k.Field), Value: v}, skip: skip}
		if skip == "" {
			usable++
		}
	}
	res := &Result{Tried: make([]Attempt, 0, len(keys))}
	if usable == 0 {
		for _, n := range norm {
			res.Tried = append(res.Tried, Attempt{Kind: n.Kind, Field: n.Field, Skipped: n.skip})
		}
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeNoKeys,
			errors.New("crm: match: the customer has no value to look for: every key is empty or not valid (a phone number, an e-mail address)")),
			map[string]any{"tried": res.Tried})
	}
	for i, n := range norm {
		if res.Outcome != "" {
			res.Tried = append(res.Tried, Attempt{Kind: n.Kind, Field: n.Field, Value: n.Value, Skipped: "not tried"})
			continue
		}
		if n.skip != "" {
			res.Tried = append(res.Tried, Attempt{Kind: n.Kind, Field: n.Field, Skipped: n.skip})
			continue
		}
		found, err := s.Search(ctx, n.Field, n.Value, limit+1)
		if err != nil {
			return nil, err
		}
		for j, r := range found {
			if strings.TrimSpace(r.ID) == "" {
				return nil, nodes.NewPermanent(CodeSearchInvalid, fmt.Errorf("crm: match: key %d (%s): the search answered record %d without an id", i+1, n.Field, j+1))
			}
		}
		found = distinct(found)
		res.Tried = append(res.Tried, Attempt{Kind: n.Kind, Field: n.Field, Value: n.Value, Found: len(found)})
		key := &FieldMatch{Kind: n.Kind, Field: n.Field, Value: n.Value}
		switch {
		case len(found) == 1:
			r := found[0]
			res.Outcome, res.Key = Found, key
			res.ID, res.Label, res.Record = r.ID, r.Label, r.Raw
			res.Matched = matched(r, n, norm, region)
			res.Conflicts = conflicts(r, norm, region)
		case len(found) > 1:
			res.Outcome, res.Key = Ambiguous, key
			if len(found) > limit {
				found, res.More = found[:limit], true
			}
			for _, r := range found {
				res.Candidates = append(res.Candidates, Candidate{ID: r.ID, Label: r.Label, Matched: matched(r, n, norm, region), Fields: r.Fields})
			}
		}
	}
	if res.Outcome == "" {
		res.Outcome = None
	}
	return res, nil
}

// distinct drops records repeated in one answer (a search that lists a record once per matching field).
func distinct(rs []Record) []Record {
	seen := make(map[string]bool, len(rs))
	out := rs[:0:0]
	for _, r := range rs {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

// matched lists the keys record r shares with the customer: the key that found it, then every other usable key
// whose field the search read and whose value, normalised as the key's, is the customer's.
func matched(r Record, by normalised, all []normalised, region string) []FieldMatch {
	out := []FieldMatch{{Kind: by.Kind, Field: by.Field, Value: by.Value}}
	for _, n := range all {
		if n.skip != "" || (n.Field == by.Field && n.Value == by.Value) {
			continue
		}
		v, ok := r.Fields[n.Field]
		if !ok || v == nil {
			continue
		}
		if got, skip := Normalise(n.Kind, fmt.Sprint(v), region); skip == "" && got == n.Value {
			out = append(out, FieldMatch{Kind: n.Kind, Field: n.Field, Value: n.Value})
		}
	}
	return out
}

// conflicts lists the usable keys whose field record r holds a different value for than the customer, with the
// record's value (normalised as the key's when it can be). A field the search did not read, or left empty, is
// no conflict.
func conflicts(r Record, all []normalised, region string) []FieldMatch {
	var out []FieldMatch
	for _, n := range all {
		if n.skip != "" {
			continue
		}
		v, ok := r.Fields[n.Field]
		if !ok || v == nil {
			continue
		}
		raw := strings.TrimSpace(fmt.Sprint(v))
		got, skip := Normalise(n.Kind, raw, region)
		switch {
		case skip == "empty":
		case skip != "":
			out = append(out, FieldMatch{Kind: n.Kind, Field: n.Field, Value: raw})
		case got != n.Value:
			out = append(out, FieldMatch{Kind: n.Kind, Field: n.Field, Value: got})
		}
	}
	return out
}

// Normalise is a key's value as a match searches it, or why the key is skipped ("empty", "invalid"): a phone
// number in E.164 (numbers without a country code read as numbers of region), an e-mail address trimmed and
// lower-cased, anything else trimmed.
func Normalise(kind Kind, value, region string) (string, string) {
	v := strings.TrimSpace(value)
	if v == "" {
		return "", "empty"
	}
	if len(v) > maxValueLength {
		return "", "invalid"
	}
	switch kind {
	case KindPhone:
		num, err := phonenumbers.Parse(v, region)
		if err != nil || !phonenumbers.IsValidNumber(num) {
			return "", "invalid"
		}
		return phonenumbers.Format(num, phonenumbers.E164), ""
	case KindEmail:
		v = strings.ToLower(v)
		local, domain, ok := strings.Cut(v, "@")
		if !ok || local == "" || domain == "" || strings.ContainsAny(domain, "@ ") || strings.ContainsAny(local, " ") {
			return "", "invalid"
		}
		return v, ""
	}
	return v, ""
}

// checkRegion is the region phone numbers are read in, upper-cased, or why it is not one.
func checkRegion(region string) (string, error) {
	r := strings.ToUpper(strings.TrimSpace(region))
	if r == "" {
		return DefaultRegion, nil
	}
	if !phonenumbers.GetSupportedRegions()[r] {
		return "", fmt.Errorf("unknown phone region %q (want a two-letter country code such as CN or US)", region)
	}
	return r, nil
}

// keyError is a refused key, with its failure code.
type keyError struct {
	code string
	msg  string
}

func (e *keyError) Error() string { return e.msg }

// CodeOf is the failure code of an error CheckKey returned (CodeKeyInvalid for any other).
func CodeOf(err error) string {
	var ke *keyError
	if errors.As(err, &ke) {
		return ke.code
	}
	return CodeKeyInvalid
}

// CheckKey refuses a key a match may not use: an unknown kind, no field, or a field that holds a name (name,
// first or last name, a company's or a deal's name, 姓名, 名称…) whatever kind it is given: names are not unique,
// so a match by a name alone would pick one of two customers who share it, or miss one who writes it another way.
func CheckKey(kind Kind, field string) error {
	known := false
	for _, k := range Kinds {
		known = known || k == kind
	}
	if !known {
		return &keyError{CodeKeyInvalid, fmt.Sprintf("%q is not a key kind (externalId, unionId, phone, email or property)", kind)}
	}
	f := strings.TrimSpace(field)
	if f == "" {
		return &keyError{CodeKeyInvalid, "the key names no field to look in"}
	}
	if IsNameField(f) {
		return &keyError{CodeNameKey, fmt.Sprintf("%s holds a name: customers are never matched by name (two share one, one writes it several ways); "+
			"look them up by an id, a union id, a phone number or an e-mail address", f)}
	}
	return nil
}

// nameFields are field names that hold a person's or an organisation's name, lower-cased without separators,
// as the CRMs and forms name them (HubSpot firstname, Salesforce LastName, Zoho Full_Name, a form's 姓名).
var nameFields = map[string]bool{
	"name": true, "firstname": true, "lastname": true, "fullname": true, "middlename": true, "displayname": true,
	"nickname": true, "salutation": true, "accountname": true, "companyname": true, "company": true, "dealname": true,
	"contactname": true, "leadname": true, "customername": true, "username": true, "realname": true, "givenname": true,
	"familyname": true, "surname": true,
	"姓名": true, "名字": true, "名称": true, "姓": true, "名": true, "客户名称": true, "客户姓名": true, "客户名": true,
	"公司名称": true, "公司": true, "联系人": true, "联系人姓名": true, "昵称": true, "真实姓名": true,
}

// IsNameField reports whether a field's name says it holds a name: its name lower-cased, without separators,
// a custom field's __c and a relationship's path, is one of the known name fields.
func IsNameField(field string) bool {
	f := strings.TrimSpace(field)
	if i := strings.LastIndex(f, "."); i >= 0 {
		f = f[i+1:]
	}
	f = strings.TrimSuffix(strings.TrimSuffix(f, "__c"), "__C")
	f = strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "").Replace(f))
	return nameFields[f]
}
