package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// Ports are the output ports of every match node: one per outcome.
func Ports() []nodes.Port {
	return []nodes.Port{
		{ID: string(Found), Label: "Found", Kind: nodes.PortMain},
		{ID: string(None), Label: "None", Kind: nodes.PortMain},
		{ID: string(Ambiguous), Label: "Ambiguous", Kind: nodes.PortMain},
	}
}

// KeysExample is the name of the example every match node gives its keys, translated once (TextKey).
const KeysExample = "A shop's customer: id, phone, e-mail"

// Params are the parameters every match node shares, after the CRM's own (the object, module or form): the keys
// in order, the region phone numbers are read in, and how many candidates an ambiguous match lists. example is
// the keys of KeysExample in the CRM's field names; fieldHint says, in the key's field description, what a
// field is called in that CRM.
func Params(example []map[string]any, fieldHint string) []nodes.Field {
	kinds := make([]nodes.Option, 0, len(Kinds))
	for _, k := range Kinds {
		kinds = append(kinds, nodes.Option{Value: string(k), Label: kindLabels[k]})
	}
	return append([]nodes.Field{
		{Name: "keys", TextKey: "crm.match.keys", Label: "Keys", Type: nodes.TypeList, Required: true, Display: nodes.DisplayTable,
			Description: "How the customer is looked up, tried in order: the first key that finds exactly one record decides; a key " +
				"finding several stops the match as ambiguous. Keys whose value is empty are skipped. A name field is refused: " +
				"customers are never matched by name.",
			Examples: []nodes.Example{{Name: KeysExample, Value: example}},
			Fields: []nodes.Field{
				{Name: "kind", TextKey: "crm.match.keys.kind", Label: "Kind", Type: nodes.TypeSelect, Required: true, Default: string(KindEmail),
					Description: "What the key is: it decides how the value is normalised (a phone number to E.164, an e-mail address " +
						"to lower case; others are trimmed).", Options: kinds},
				{Name: "field", TextKey: "crm.match.keys.field", Label: "Field", Type: nodes.TypeString, Required: true,
					Description: "The field the CRM keeps the key in. " + fieldHint},
				{Name: "value", TextKey: "crm.match.keys.value", Label: "Value", Type: nodes.TypeString, Expression: true,
					Description: "The incoming customer's value, usually an expression over the trigger; empty skips the key."},
			}},
		{Name: "region", TextKey: "crm.match.region", Label: "Phone region", Type: nodes.TypeString, Default: DefaultRegion, Advanced: true,
			Description: "Where phone numbers written without a country code are from: a two-letter country code (CN, US, DE)."},
		{Name: "candidates", TextKey: "crm.match.candidates", Label: "Candidates listed", Type: nodes.TypeInteger, Default: DefaultCandidates, Advanced: true,
			Description: fmt.Sprintf("How many records an ambiguous match lists for review (1 to %d); more are reported as more.", MaxCandidates)},
	}, reviewParams()...)
}

var kindLabels = map[Kind]string{
	KindExternalID: "External id", KindUnionID: "Union id (WeChat)", KindPhone: "Phone number", KindEmail: "E-mail address",
	KindProperty: "Other unique field",
}

// Docs is the reference text every match node shares, after its own.
const Docs = "**Keys, in order.** Each key names a kind, the field the CRM keeps it in and the incoming value. Phone numbers are " +
	"searched in E.164 (`+8613800138000`; numbers without a country code are read as numbers of *Phone region*), e-mail " +
	"addresses trimmed and lower-cased, other values trimmed; a key whose value is empty, or is not a phone number or an " +
	"e-mail address, is skipped. The first key that finds exactly one record follows **found**; the first key that finds " +
	"more than one follows **ambiguous** and no later key is tried (a later key narrowing the candidates down would be a " +
	"guess); when every key finds nothing the run follows **none**. A key on a name field (name, first or last name, a " +
	"company's or deal's name, 姓名, 名称) is refused when the flow is saved (`crm_match_name_key`): names are not unique. " +
	"A customer with no usable value for any key fails with `crm_match_no_keys` rather than following **none**, where a " +
	"flow usually creates the customer.\n\n" +
	"**Output.** `outcome`; `key` (`kind`, `field`, `value` as searched) that decided; on **found** the record's `id`, " +
	"`label`, the `record` as the CRM answered it, `matched`, the keys it shares with the customer, and `conflicts`, the " +
	"keys it holds another value for (a phone number found on a record with another external id: check before merging); " +
	"on **ambiguous** " +
	"`candidates` (each `id`, `label`, `matched`, `fields` read) for an operator to choose from, and `more` when the " +
	"search found more than are listed; always `tried`, what each key did (`found`, or `skipped`: empty, invalid, not " +
	"tried).\n\n" +
	"**Failures.** A search fails the step as the connector's other actions do (a rate limit waits, timeouts and 5xx are " +
	"retried, other 4xx fail for good, the provider's message quoted), whichever key it was for.\n\n" +
	"**Never writes.** The node only searches, so connect the write (an update on **found**, a create on **none**) after " +
	"it. Set the flow's `settings.orderingKey` to the same customer key (`lower(trim(trigger.body.customer.email))`), so " +
	"two updates of one customer run one after the other: the second then finds the record the first created instead of " +
	"creating another."

// Matcher is a match node's keys and bounds, compiled once per flow version.
type Matcher struct {
	keys       []keyConfig
	region     string
	candidates int
	// Type names the node in failures.
	Type string
	// ask parks an ambiguous match for a person, for timeout; provider and object name the CRM and the kind of
	// record in the review.
	ask              bool
	timeout          time.Duration
	provider, object string
}

type keyConfig struct {
	kind  Kind
	field string
	value *expression.Template
}

// Configure reads the shared parameters (Params) of a match node, reporting every problem where it is: a key on
// a name field (CodeNameKey), an unknown kind or a missing field, a field checkField refuses (a name the CRM
// cannot have; nil accepts any), a value that does not compile, a region that is not a country, a number of
// candidates out of bounds.
func Configure(cfg *nodes.Config, checkField func(field string) error) *Matcher {
	m := &Matcher{Type: cfg.Spec.Type, candidates: cfg.Int("candidates")}
	rows := cfg.List("keys")
	if cfg.Has("keys") && len(rows) == 0 {
		cfg.Fail("keys", nodes.CodeParamRequired, "add at least one key")
	}
	if len(rows) > MaxKeys {
		cfg.Fail("keys", nodes.CodeParamInvalid, fmt.Sprintf("%d keys; a match tries at most %d", len(rows), MaxKeys))
	}
	for _, rc := range rows {
		k := keyConfig{kind: Kind(rc.String("kind")), field: strings.TrimSpace(rc.String("field"))}
		if k.field != "" {
			if err := CheckKey(k.kind, k.field); err != nil {
				rc.Fail("field", CodeOf(err), err.Error())
			} else if checkField != nil {
				if err := checkField(k.field); err != nil {
					rc.Fail("field", CodeKeyInvalid, err.Error())
				}
			}
		}
		if rc.Has("value") {
			k.value = rc.Template("value")
		}
		m.keys = append(m.keys, k)
	}
	region, err := checkRegion(cfg.String("region"))
	if err != nil {
		cfg.Fail("region", nodes.CodeParamInvalid, err.Error())
	}
	m.region = region
	if m.candidates < 1 || m.candidates > MaxCandidates {
		cfg.Fail("candidates", nodes.CodeParamInvalid, fmt.Sprintf("list 1 to %d candidates", MaxCandidates))
	}
	switch cfg.String("onAmbiguous") {
	case "", AmbiguousPort:
	case AmbiguousReview:
		m.ask = true
		m.timeout = cfg.Duration("reviewTimeout")
		if m.timeout < 0 || m.timeout > maxReviewTimeout {
			cfg.Fail("reviewTimeout", nodes.CodeParamInvalid, fmt.Sprintf("a review times out after at most %s", maxReviewTimeout))
		}
	default:
		cfg.Fail("onAmbiguous", nodes.CodeParamInvalid, "follow the ambiguous port, or ask a person")
	}
	m.provider, _, _ = strings.Cut(m.Type, ".")
	return m
}

// Names sets what a review calls the CRM and the kind of record matched ("HubSpot", "contacts").
func (m *Matcher) Names(provider, object string) {
	m.provider, m.object = provider, object
}

// Fields are the CRM fields the keys look in, each once, in order: what a Searcher reads with every record, so
// a match can tell which keys each candidate shares with the customer.
func (m *Matcher) Fields() []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range m.keys {
		if !seen[k.field] {
			seen[k.field] = true
			out = append(out, k.field)
		}
	}
	return out
}

// Keys evaluates the keys' values for the step.
func (m *Matcher) Keys(x *nodes.Exec) ([]Key, error) {
	env := x.Env
	if env == nil {
		env = map[string]any{expression.VarPrev: x.Input, expression.VarTrigger: x.Input}
	}
	out := make([]Key, len(m.keys))
	for i, k := range m.keys {
		out[i] = Key{Kind: k.kind, Field: k.field}
		if k.value == nil {
			continue
		}
		v, err := k.value.Eval(env)
		if err != nil {
			return nil, nodes.EvalFailed(m.Type, fmt.Sprintf("keys[%d].value", i), err)
		}
		switch v.(type) {
		case map[string]any, []any:
			return nil, nodes.NewPermanent(CodeKeyInvalid, fmt.Errorf("%s: keys[%d].value is an object or a list, not a value to look for", m.Type, i))
		}
		out[i].Value = expression.Stringify(v)
	}
	return out, nil
}

// Run matches the step's customer with search and follows the outcome's port, the Result as output.
func (m *Matcher) Run(ctx context.Context, x *nodes.Exec, s Searcher) (nodes.Result, error) {
	keys, err := m.Keys(x)
	if err != nil {
		return nodes.Result{}, err
	}
	if m.ask && x.Resume != nil {
		return m.decided(x)
	}
	res, err := Match(ctx, s, keys, Options{Region: m.region, Candidates: m.candidates})
	if err != nil {
		return nodes.Result{}, err
	}
	if m.ask && res.Outcome == Ambiguous {
		return m.review(res)
	}
	out, err := res.Output()
	if err != nil {
		return nodes.Result{}, nodes.NewPermanent(CodeSearchInvalid, fmt.Errorf("%s: %w", m.Type, err))
	}
	return nodes.Result{Output: out, Port: string(res.Outcome)}, nil
}

// Output is the result as run data: the JSON object its fields describe, with numbers as expressions read them.
func (r *Result) Output() (any, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("write the match result: %w", err)
	}
	return nodes.DecodeJSON(b)
}

// ParseResult reads a match node's output back (a step's stored output), for what presents an ambiguous match
// to an operator: its candidates, with their ids, labels and the keys they share with the customer.
func ParseResult(output any) (*Result, error) {
	b, err := json.Marshal(output)
	if err != nil {
		return nil, fmt.Errorf("crm: read a match result: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var r Result
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("crm: read a match result: %w", err)
	}
	switch r.Outcome {
	case Found, None, Ambiguous:
	default:
		return nil, fmt.Errorf("crm: read a match result: outcome %q is not found, none or ambiguous", r.Outcome)
	}
	return &r, nil
}
