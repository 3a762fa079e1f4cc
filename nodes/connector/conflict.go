package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// Writing to a CRM safely (DOMAIN.md D19). An upsert that overwrites whatever the record holds loses the sales
// team's edits: the phone a rep corrected, the deal amount a manager changed. An operation with a Conflict
// reads the record first and applies the node's conflict policy field by field: the source wins (a plain
// upsert), the target wins (an existing record is left alone), the newer side wins (by its last-changed time),
// only empty target fields are filled, or the fields both sides changed go to a person, whose decision the run
// parks for (nodes.Park, kind ReviewKind) and resumes with.

// ConflictPolicy is what an upsert does with a record that already exists at the provider.
type ConflictPolicy string

// Conflict policies.
const (
	// PolicySource writes every field given: the source wins (what an upsert does without a policy).
	PolicySource ConflictPolicy = "source"
	// PolicyTarget leaves an existing record as it is, and creates a missing one.
	PolicyTarget ConflictPolicy = "target"
	// PolicyNewer writes every field when the source changed after the record did, and nothing otherwise.
	PolicyNewer ConflictPolicy = "newer"
	// PolicyFillEmpty writes only the fields the record has empty.
	PolicyFillEmpty ConflictPolicy = "fillEmpty"
	// PolicyReview writes the fields the record has empty or equal, and asks a person about the fields both
	// sides hold different values for: the run parks until they pick a side per field.
	PolicyReview ConflictPolicy = "review"
)

// ReviewKind is the kind of park a conflict review is (nodes.Park.Kind): the reviews API and the app know it.
const ReviewKind = "crm.conflict"

// Conflict is what an upsert operation needs to apply a conflict policy: where the fields it writes sit in its
// body, and how to read the record it would change.
type Conflict struct {
	// Fields points at the object of fields in the body as shaped ("/inputs/0/properties"; "" for a body that is
	// the record itself).
	Fields string
	// Key gives the field and value that find the record (the unique property, the external id), for people
	// and so the field is never compared or left out of the body.
	Key func(w Write) (field string, value any)
	// Read fetches the record w would change, through call; nil when none exists (the upsert creates it).
	// Fields not in the record's answer count as empty.
	Read func(ctx context.Context, call Call, w Write) (*Record, error)
	// UpdatedField is the record's field holding when it last changed (HubSpot's hs_lastmodifieddate), the
	// default of the node's parameter.
	UpdatedField string
	// Object names the kind of record for people ("contact"); ObjectOf, when set, names it from the write
	// instead (the sObject of the path).
	Object   string
	ObjectOf func(w Write) string
	// Plain, when set, is how a value written reads, for comparing it with the record's and for people: a
	// provider that takes values wrapped ({"value": …}) gives the value inside. Record fields come plain.
	Plain func(v any) any

	// Records, set on a batch upsert, points at the list of records in the body ("/inputs"), so the policy is
	// applied per record: Fields then points at the object of fields inside each record ("/properties"), Key is
	// given each record as the Write's Body, and ReadMany replaces Read. A batch takes every policy but review,
	// which is refused when the flow is saved: one run cannot wait for a person per record of a batch.
	Records string
	// ReadMany fetches, in as few requests as the provider allows, the records a batch would change: one entry
	// per record of the list at Records in w.Body, in its order, nil for a record that does not exist (the
	// upsert creates it). w.Fields names the fields of every record.
	ReadMany func(ctx context.Context, call Call, w Write) ([]*Record, error)
	// Results points at the list of records in the batch's answer ("/results"). The records the policy leaves
	// alone are not sent; the step adds them to that list as read, with written: false, and marks those the
	// answer lists written: true.
	Results string
	// Single names the node type that writes one record and takes review, for the message refusing review on
	// a batch.
	Single string
}

// batch reports whether the operation writes a list of records, each under the policy.
func (c *Conflict) batch() bool { return c.Records != "" }

// Write is the request an upsert is about to send, as a Conflict's Read and Key see it.
type Write struct {
	// Path is the request's path relative to the provider's base URL, escaped as sent
	// ("/sobjects/Account/Ext__c/A%2F42"): a Read may send it again as it is.
	Path string
	// Body is the JSON body as shaped.
	Body map[string]any
	// Fields names the record's fields the policy looks at: those written, and the last-changed field.
	Fields []string
}

// Record is a record as a Conflict's Read found it.
type Record struct {
	ID     string
	Fields map[string]any
}

// Call makes one read request of the operation's provider for a Conflict's Read: a method, a path relative to
// the base URL, a query (nil: none) and a JSON body (nil: none), answered as any request of the runtime is (its
// failures classified, the provider's quota reported).
type Call func(ctx context.Context, method, path string, query url.Values, body map[string]any) (*Answer, error)

// IsNotFound reports whether err is a provider's answer that the record does not exist (<provider>_not_found),
// for Reads that look a record up by its key.
func IsNotFound(err error) bool {
	var typed *nodes.Error
	return errors.As(err, &typed) && strings.HasSuffix(typed.Code, "_not_found")
}

// object names the kind of record w writes, for people.
func (c *Conflict) object(w Write) string {
	if c.ObjectOf != nil {
		if o := c.ObjectOf(w); o != "" {
			return o
		}
	}
	return c.Object
}

// single names the single-record upsert for people.
func (c *Conflict) single() string {
	if c.Single != "" {
		return c.Single
	}
	return "the single-record upsert"
}

// conflictFields are the parameters every operation with a Conflict adds to its form.
func (c *Conflict) fields() []nodes.Field {
	review := map[string][]any{"conflictPolicy": {string(PolicyReview)}}
	policy := nodes.Field{Name: "conflictPolicy", TextKey: "connector.conflict.policy", Label: "When the record exists", Type: nodes.TypeSelect,
		Default: string(PolicySource),
		Description: "What to do with a record edited on both sides: the CRM may hold changes the sales team made since " +
			"the last sync. Every policy except the first reads the record before writing.",
		Options: []nodes.Option{
			{Value: string(PolicySource), Label: "Overwrite with these values (source wins)"},
			{Value: string(PolicyTarget), Label: "Keep the record as it is (target wins)"},
			{Value: string(PolicyNewer), Label: "The side changed last wins"},
			{Value: string(PolicyFillEmpty), Label: "Fill only empty fields"},
			{Value: string(PolicyReview), Label: "Ask a person about fields that differ"},
		}}
	sourceAt := nodes.Field{Name: "sourceUpdatedAt", TextKey: "connector.conflict.sourceUpdatedAt", Label: "Source changed at", Type: nodes.TypeString,
		Expression: true, ShowIf: map[string][]any{"conflictPolicy": {string(PolicyNewer)}},
		Description: "When the incoming data last changed (RFC 3339, or Unix seconds or milliseconds): the record is " +
			"overwritten only when this is later than its own last change.",
		Examples: []nodes.Example{{Name: "The order's update time", Value: "{{ trigger.body.updated_at }}"}}}
	updated := nodes.Field{Name: "targetUpdatedField", TextKey: "connector.conflict.targetUpdatedField", Label: "Record's last-changed field",
		Type: nodes.TypeString, Default: c.UpdatedField, Advanced: true, ShowIf: map[string][]any{"conflictPolicy": {string(PolicyNewer)}},
		Description: "The record's field that holds when it last changed."}
	if c.batch() {
		// No review: one run cannot wait for a person per record of a batch.
		policy.TextKey = "connector.conflict.batchPolicy"
		policy.Description = "What to do with each record of the batch that exists and may have been edited in the CRM " +
			"since the last sync, decided record by record. Every policy except the first reads all the records in one " +
			"request before writing. To have a person decide, use the single-record upsert."
		policy.Options = policy.Options[:4]
		sourceAt.TextKey = "connector.conflict.batchSourceUpdatedAt"
		sourceAt.Description = "When the incoming data last changed (RFC 3339, or Unix seconds or milliseconds), one time " +
			"for the whole batch: each record is overwritten only when this is later than its own last change."
		sourceAt.Examples = []nodes.Example{{Name: "When the export ran", Value: "{{ trigger.body.exported_at }}"}}
		return []nodes.Field{policy, sourceAt, updated}
	}
	return []nodes.Field{
		policy, sourceAt, updated,
		{Name: "reviewTimeout", TextKey: "connector.conflict.reviewTimeout", Label: "Review times out after", Type: nodes.TypeDuration,
			Default: "72h", ShowIf: review,
			Description: "How long the run waits for a decision; then the step fails with review_timed_out (its error port, " +
				"if connected, is followed), and nothing is written."},
	}
}

// conflictConfig is a node's conflict parameters.
type conflictConfig struct {
	policy       ConflictPolicy
	sourceAt     *expression.Template
	updatedField string
	timeout      time.Duration
}

func (c *Conflict) configure(cfg *nodes.Config) conflictConfig {
	cc := conflictConfig{policy: ConflictPolicy(cfg.String("conflictPolicy")), updatedField: cfg.String("targetUpdatedField"),
		timeout: cfg.Duration("reviewTimeout")}
	if cc.policy == "" {
		cc.policy = PolicySource
	}
	switch cc.policy {
	case PolicySource, PolicyTarget, PolicyFillEmpty:
	case PolicyReview:
		if c.batch() {
			cfg.Fail("conflictPolicy", nodes.CodeParamInvalid, fmt.Sprintf("a batch cannot ask a person about conflicts: one run "+
				"cannot wait for a decision per record. Use %s, which takes review, once per record (a loop over the list)", c.single()))
		}
	case PolicyNewer:
		cc.sourceAt = cfg.Template("sourceUpdatedAt")
		if !cfg.Has("sourceUpdatedAt") {
			cfg.Fail("sourceUpdatedAt", nodes.CodeParamInvalid, "the newer side wins needs when the source changed")
		}
		if cc.updatedField == "" {
			cc.updatedField = c.UpdatedField
		}
	default:
		cfg.Fail("conflictPolicy", nodes.CodeParamInvalid, fmt.Sprintf("unknown conflict policy %q", cc.policy))
	}
	if !c.batch() && (cc.timeout < 0 || cc.timeout > nodes.MaxParkTimeout) {
		cfg.Fail("reviewTimeout", nodes.CodeParamInvalid, fmt.Sprintf("a review times out after at most %s", nodes.MaxParkTimeout))
	}
	return cc
}

// FieldConflict is one field both sides hold different values for, as a review shows it.
type FieldConflict struct {
	Name   string `json:"name"`
	Source any    `json:"source"`
	Target any    `json:"target"`
}

// ConflictReview is what a person is asked about a record edited on both sides (the request of a
// ReviewKind park).
type ConflictReview struct {
	Provider string `json:"provider"`
	Object   string `json:"object"`
	RecordID string `json:"recordId"`
	// Key is the field and value that found the record: {"name": "email", "value": "ana@example.com"}.
	Key    map[string]any  `json:"key,omitempty"`
	Fields []FieldConflict `json:"fields"`
	// Changed is set when the record changed at the provider while an earlier review of it waited: this review
	// asks again about its current values.
	Changed bool `json:"changed,omitempty"`
}

// ConflictDecision is a person's answer to a ConflictReview: "source" or "target" for every field asked about.
type ConflictDecision struct {
	Fields map[string]string `json:"fields"`
}

func init() {
	nodes.RegisterDecision(ReviewKind, checkConflictDecision)
}

// checkConflictDecision accepts a decision that picks source or target for every field the review asks about,
// and nothing else.
func checkConflictDecision(request, decision json.RawMessage) error {
	var rv ConflictReview
	if err := json.Unmarshal(request, &rv); err != nil {
		return fmt.Errorf("the review cannot be read: %v", err)
	}
	var d ConflictDecision
	if err := json.Unmarshal(decision, &d); err != nil || d.Fields == nil {
		return errors.New(`a decision is {"fields": {"<field>": "source" | "target"}}`)
	}
	asked := map[string]bool{}
	var missing []string
	for _, f := range rv.Fields {
		asked[f.Name] = true
		switch d.Fields[f.Name] {
		case "source", "target":
		case "":
			missing = append(missing, f.Name)
		default:
			return fmt.Errorf("field %s: choose source or target, not %q", f.Name, d.Fields[f.Name])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("choose source or target for %s", strings.Join(missing, ", "))
	}
	for name := range d.Fields {
		if !asked[name] {
			return fmt.Errorf("field %s is not in this review", name)
		}
	}
	return nil
}

// CodeReviewTimedOut fails an upsert whose review nobody decided in time; nothing was written.
const CodeReviewTimedOut = "review_timed_out"

// resolveConflict applies the node's conflict policy to the request about to be sent. It returns the request
// to send (its fields narrowed to what the policy writes), or a result to output instead of sending: the record
// as it is (nothing to write) or a park for a review.
func (n *node) resolveConflict(ctx context.Context, x *nodes.Exec, fields map[string]string, r *request) (*request, *nodes.Result, error) {
	cf, cc := n.c.op.Conflict, n.conflict
	if cc.policy == PolicySource || cc.policy == "" {
		return r, nil, nil
	}
	if x.Resume != nil && x.Resume.TimedOut {
		return nil, nil, nodes.NewPermanent(CodeReviewTimedOut,
			fmt.Errorf("%s: nobody decided the review of this %s in time; nothing was written", n.c.p.Name, cf.Object))
	}
	ptr := MustPointer(cf.Fields)
	rawFields, _ := ptr.Get(r.jsonBody)
	source, _ := rawFields.(map[string]any)
	if source == nil {
		return nil, nil, n.invalid("the body has no fields at %s", cf.Fields)
	}
	base, call, err := n.readCall(x, fields, r)
	if err != nil {
		return nil, nil, err
	}
	w := Write{Path: strings.TrimPrefix(r.url.EscapedPath(), strings.TrimSuffix(base.EscapedPath(), "/")), Body: copyMap(r.jsonBody)}
	for name := range source {
		w.Fields = append(w.Fields, name)
	}
	if cc.policy == PolicyNewer && cc.updatedField != "" {
		w.Fields = append(w.Fields, cc.updatedField)
	}
	sort.Strings(w.Fields)
	keyField, keyValue := "", any(nil)
	if cf.Key != nil {
		keyField, keyValue = cf.Key(w)
	}
	target, err := cf.Read(ctx, call, w)
	if err != nil {
		var typed *nodes.Error
		if errors.As(err, &typed) {
			return nil, nil, err
		}
		return nil, nil, n.invalid("read the record: %v", err)
	}
	if target == nil {
		return r, nil, nil // nothing to conflict with: the upsert creates the record
	}
	key := map[string]bool{}
	if keyField != "" {
		key[keyField] = true
	}
	keep, conflicts := cf.narrow(cc.policy, source, target, key)
	if cc.policy == PolicyNewer {
		newer, err := n.sourceNewer(x, target)
		if err != nil {
			return nil, nil, err
		}
		if !newer {
			clear(keep)
		}
	}
	if cc.policy == PolicyReview && len(conflicts) > 0 {
		decided, park, err := n.decide(x, target, conflicts, keyField, keyValue, cf.object(w))
		if err != nil || park != nil {
			return nil, park, err
		}
		for name, write := range decided {
			keep[name] = write
		}
	}
	written := map[string]any{}
	for name, v := range source {
		if keep[name] && !key[name] {
			written[name] = v
		}
	}
	if len(written) == 0 {
		// Nothing to change: the record stays as it is, and the step outputs it without writing.
		return nil, &nodes.Result{Output: map[string]any{"id": target.ID, "properties": target.Fields, "new": false,
			"written": false, "policy": string(cc.policy)}}, nil
	}
	out := r.clone()
	// A copy of the body whose object of fields keeps only what the policy writes; the pointer may pass
	// through lists ("/inputs/0/properties"), which the copy keeps as lists.
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		return nil, nil, n.invalid("copy the body: %v", err)
	}
	narrowed, _ := ptr.Get(body)
	obj, _ := narrowed.(map[string]any)
	for name := range obj {
		if !keep[name] {
			delete(obj, name)
		}
	}
	out.jsonBody = body
	if err := out.encodeJSON(); err != nil {
		return nil, nil, n.invalid("encode the body: %v", err)
	}
	return out, nil, nil
}

// readCall is the base URL of the provider and the Call a Conflict's reads go through: r's headers, the
// step's guarded client and credential.
func (n *node) readCall(x *nodes.Exec, fields map[string]string, r *request) (*url.URL, Call, error) {
	base, err := n.c.p.BaseURL(fields)
	if err != nil {
		return nil, nil, n.credentialInvalid(err)
	}
	call := func(ctx context.Context, method, path string, query url.Values, body map[string]any) (*Answer, error) {
		q := getRequest(r, base, path, query, n.c.op.IdempotencyHeader)
		q.method = method
		if body != nil {
			q.jsonBody = body
			if err := q.encodeJSON(); err != nil {
				return nil, n.invalid("encode the read: %v", err)
			}
		}
		return n.send(ctx, x, fields, q)
	}
	return base, call, nil
}

// narrow applies policy to the fields of source a record that exists holds as target: it returns the fields
// the write keeps (the key always; under newer every field, which the caller clears when the record is the
// newer side) and, under review, the fields both sides hold different values for.
func (c *Conflict) narrow(policy ConflictPolicy, source map[string]any, target *Record, key map[string]bool) (map[string]bool, []FieldConflict) {
	keep := map[string]bool{} // fields of source the request still writes
	var conflicts []FieldConflict
	names := make([]string, 0, len(source))
	for name := range source {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sv, tv := source[name], target.Fields[name]
		if c.Plain != nil {
			sv = c.Plain(sv)
		}
		switch {
		case key[name]:
			keep[name] = true
		case policy == PolicyTarget:
		case policy == PolicyFillEmpty:
			keep[name] = empty(tv)
		case policy == PolicyReview:
			if empty(tv) || same(sv, tv) {
				keep[name] = !same(sv, tv)
			} else {
				conflicts = append(conflicts, FieldConflict{Name: name, Source: sv, Target: tv})
			}
		case policy == PolicyNewer:
			keep[name] = true
		}
	}
	return keep, conflicts
}

// decide applies a person's decision to the fields in conflict, or parks the run to ask for one. On resume the
// record is read again: when a field asked about changed at the provider meanwhile, or another field now
// differs, the decision no longer answers what the record holds and the run parks for a new review.
func (n *node) decide(x *nodes.Exec, target *Record, conflicts []FieldConflict, keyField string, keyValue any, object string) (map[string]bool, *nodes.Result, error) {
	changed := false
	if x.Resume != nil && len(x.Resume.Decision) > 0 {
		var d ConflictDecision
		var asked ConflictReview
		if err := json.Unmarshal(x.Resume.Decision, &d); err != nil {
			return nil, nil, n.invalid("the review's decision cannot be read: %v", err)
		}
		if err := json.Unmarshal(x.Resume.Request, &asked); err != nil {
			return nil, nil, n.invalid("the review cannot be read: %v", err)
		}
		shown := make(map[string]any, len(asked.Fields))
		for _, f := range asked.Fields {
			shown[f.Name] = f.Target
		}
		current := true
		for _, c := range conflicts {
			if t, ok := shown[c.Name]; !ok || !same(t, c.Target) {
				current = false
			}
		}
		if current {
			out := make(map[string]bool, len(conflicts))
			for _, c := range conflicts {
				out[c.Name] = d.Fields[c.Name] == "source"
			}
			return out, nil, nil
		}
		changed = true
	}
	review := ConflictReview{Provider: n.c.p.Name, Object: object, RecordID: target.ID, Fields: conflicts, Changed: changed}
	what := object + " " + target.ID
	if keyField != "" && !empty(keyValue) {
		review.Key = map[string]any{"name": keyField, "value": keyValue}
		what = object + " " + expression.Stringify(keyValue)
	}
	plural := "s differ"
	if len(conflicts) == 1 {
		plural = " differs"
	}
	title := fmt.Sprintf("%s %s: %d field%s", n.c.p.Title, what, len(conflicts), plural)
	return nil, &nodes.Result{Park: &nodes.Park{Kind: ReviewKind, Title: title, Request: review, Timeout: n.conflict.timeout}}, nil
}

// sourceNewer reports whether the source changed after the record did. A record without a last-changed time
// is older than any source.
func (n *node) sourceNewer(x *nodes.Exec, target *Record) (bool, error) {
	cc := n.conflict
	if cc.sourceAt == nil {
		return false, n.invalid("the newer side wins needs when the source changed")
	}
	raw, err := cc.sourceAt.Eval(envOf(x))
	if err != nil {
		return false, nodes.EvalFailed(n.c.op.Type, "sourceUpdatedAt", err)
	}
	src, ok := parseInstant(raw)
	if !ok {
		return false, n.invalid("source changed at: %q is not a time (RFC 3339, or Unix seconds or milliseconds)", expression.Stringify(raw))
	}
	tv := target.Fields[cc.updatedField]
	if empty(tv) {
		return true, nil
	}
	dst, ok := parseInstant(tv)
	if !ok {
		return false, nodes.NewPermanent(n.code("response_invalid"),
			fmt.Errorf("%s: the record's %s is %q, not a time", n.c.p.Name, cc.updatedField, expression.Stringify(tv)))
	}
	return src.After(dst), nil
}

// parseInstant reads a time as providers and shops write them: RFC 3339 (with or without a zone), a date and
// time, or Unix seconds or milliseconds as a number or digits.
func parseInstant(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case float64:
		return unixInstant(int64(t)), true
	case int64:
		return unixInstant(t), true
	case int:
		return unixInstant(int64(t)), true
	case json.Number:
		i, err := t.Int64()
		return unixInstant(i), err == nil
	case string:
		s := strings.TrimSpace(t)
		if s == "" {
			return time.Time{}, false
		}
		if digits(s) {
			var i int64
			_, err := fmt.Sscan(s, &i)
			return unixInstant(i), err == nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
			if ts, err := time.Parse(layout, s); err == nil {
				return ts, true
			}
		}
	}
	return time.Time{}, false
}

// unixInstant reads Unix seconds, or milliseconds when the number is too large to be seconds of this era.
func unixInstant(i int64) time.Time {
	if i > 1e11 || i < -1e11 {
		return time.UnixMilli(i)
	}
	return time.Unix(i, 0)
}

func digits(s string) bool {
	for i, r := range s {
		if (r < '0' || r > '9') && !(i == 0 && r == '-') {
			return false
		}
	}
	return s != "" && s != "-"
}

// empty reports whether a field holds nothing: absent, null, or blank text.
func empty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(t) == ""
	}
	return false
}

// same compares field values as CRMs keep them: text on one side and a number or boolean on the other are the
// same when they read the same ("42" and 42; HubSpot answers every property as text).
func same(a, b any) bool {
	if empty(a) && empty(b) {
		return true
	}
	return strings.TrimSpace(expression.Stringify(a)) == strings.TrimSpace(expression.Stringify(b))
}
