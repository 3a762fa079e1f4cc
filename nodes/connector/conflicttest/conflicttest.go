// Package conflicttest checks a CRM step's conflict policies (nodes/connector's conflictPolicy) against the
// CRM's local stand-in, so every CRM is held to the same behaviour: what each policy writes to a record edited
// on both sides, and a review's park, decision, re-park on a changed record and timeout. A CRM's tests call Run
// with a Harness, which says how to drive its stand-in and step, and a fixture of what to expect of them. Only
// tests import it, as internal/nodetest's TestOnlyTestsImport checks.
package conflicttest

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Harness is what one CRM's tests supply to Run: how to start its stand-in, build its step and tell its writes,
// and where the fixture of what to expect of them is.
type Harness struct {
	// Start starts a fresh stand-in holding no record; every case starts its own.
	Start func(t *testing.T) *StandIn
	// Type is the step's node type.
	Type string
	// Params are the step's parameters for the record id but the conflict ones; steps that find the record by
	// another key ignore id.
	Params func(id string) map[string]any
	// Build builds a node of a type from its parameters, as the engine does (the CRM's tests have one).
	Build func(t testing.TB, typ string, params map[string]any) nodes.Node
	// Write is how a request that writes the record begins, as Sent shows it: its method and path.
	Write string
	// Fields points at the fields a write sends in its body (RFC 6901; "" for the whole body).
	Fields string
	// ID returns the id of the record out, the step's output, is of.
	ID func(out map[string]any) any
	// Created returns what out says of whether the step created the record: true, false when it updated it,
	// anything else when it says neither. Nil for a step that only updates the record it is given.
	Created func(out map[string]any) any
	// Fixture is the file that holds what the cases expect of the CRM: an Expect as JSON, in which "{id}" stands
	// for the seeded record's id.
	Fixture string
}

// Node builds the step for the record id with conflict (conflictPolicy and the policy's further parameters,
// or any other parameter to change) over its parameters. The CRM's own conflict tests build with it too.
func (h Harness) Node(t testing.TB, id string, conflict map[string]any) nodes.Node {
	params := h.Params(id)
	maps.Copy(params, conflict)
	return h.Build(t, h.Type, params)
}

// Writes returns what the requests s received that write the record sent to write, in order: the value at
// Fields in each body.
func (h Harness) Writes(s *StandIn) []any {
	at := connector.MustPointer(h.Fields)
	var out []any
	for _, r := range s.sent() {
		if strings.HasPrefix(r.Line, h.Write) {
			v, _ := at.Get(r.Body)
			out = append(out, v)
		}
	}
	return out
}

// StandIn is one fresh stand-in of the CRM as the shared cases drive it; every function works on that stand-in.
type StandIn struct {
	// Lock guards the stand-in's state: Sent, Record and Edit run holding it.
	Lock sync.Locker
	// Seed stores the record the sales team edited since the last sync, and returns its id.
	Seed func() string
	// Exec returns a step execution against the stand-in whose input is the incoming data.
	Exec func() *nodes.Exec
	// Sent returns the requests the stand-in received, in order.
	Sent func() []Request
	// Record returns the current fields of the record id (nil when the stand-in has no such record).
	Record func(id string) map[string]any
	// Edit changes fields of the record id at the CRM, as the sales team does while a review waits.
	Edit func(id string, fields map[string]any)
}

// sent is Sent, holding the stand-in's lock.
func (s *StandIn) sent() []Request {
	s.Lock.Lock()
	defer s.Lock.Unlock()
	return s.Sent()
}

// record is a copy of Record's fields, taken holding the stand-in's lock.
func (s *StandIn) record(id string) map[string]any {
	s.Lock.Lock()
	defer s.Lock.Unlock()
	return maps.Clone(s.Record(id))
}

// edit is Edit, holding the stand-in's lock.
func (s *StandIn) edit(id string, fields map[string]any) {
	s.Lock.Lock()
	defer s.Lock.Unlock()
	s.Edit(id, fields)
}

// Request is a request a stand-in received.
type Request struct {
	// Line is its method and its path with the query as sent: "GET /crm/v3/objects/contacts/1?idProperty=email".
	Line string `json:"line"`
	// Body is its JSON body; nil without one.
	Body map[string]any `json:"body,omitempty"`
}

// HTTPRequests are the requests of a stand-in that keeps each with its decoded body (nil without one).
func HTTPRequests(requests []*http.Request, bodies []map[string]any) []Request {
	out := make([]Request, len(requests))
	for i, r := range requests {
		out[i].Line = r.Method + " " + r.URL.RequestURI()
		if i < len(bodies) {
			out[i].Body = bodies[i]
		}
	}
	return out
}

// Expect is what the shared cases expect of one CRM, as its fixture holds it. Fields sent to write are compared
// as decoded JSON.
type Expect struct {
	// About says what the fixture's record, incoming data and times are, for its reader.
	About string `json:"about"`
	// Read is the request every policy but "source" and "newer" reads the record with before writing.
	Read Request `json:"read"`
	// ReadNewer is the read of "newer", which also asks when the record last changed; when absent, it is Read.
	ReadNewer *Request `json:"readNewer"`
	// Source is what the step sends to write under "source", and under "newer" when the source changed last:
	// every incoming field.
	Source map[string]any `json:"source"`
	// FillEmpty is what the step sends to write under "fillEmpty": the incoming fields the record leaves empty,
	// and the key it is upserted by where the request carries it.
	FillEmpty map[string]any `json:"fillEmpty"`
	// Newer are the sourceUpdatedAt values the "newer" cases run with.
	Newer Times `json:"newer"`
	// Review is what the review policy asks and writes.
	Review Review `json:"review"`
}

// Times are when the source changed, as "newer" is given it, around the seeded record's last change.
type Times struct {
	// Before is earlier than the record's last change: the record is kept.
	Before string `json:"before"`
	// After is later: the record is overwritten.
	After string `json:"after"`
	// AfterUnix is later too, as an expression that gives Unix seconds or milliseconds.
	AfterUnix string `json:"afterUnix"`
}

// Review is what the review policy asks about the seeded record, and what the answers to it write.
type Review struct {
	// Request is the park's request, as the API shows it. The fields it asks about, with their source and target
	// values, are what the other cases expect the record to hold: the target while nothing is written, the
	// source once it is chosen or the record is created.
	Request json.RawMessage `json:"request"`
	// Title is the park's title.
	Title string `json:"title"`
	// Decision picks a side for every field the review asks about.
	Decision map[string]string `json:"decision"`
	// Writes is what Decision writes.
	Writes map[string]any `json:"writes"`
	// Filled are incoming fields the review does not ask about, which the record left empty, with the values
	// the record holds once Decision is written. A decision naming one of them is refused.
	Filled map[string]any `json:"filled"`
	// Edit changes fields the review asks about at the CRM after the first decision, so a later decision on
	// the first review no longer answers what the record holds.
	Edit map[string]any `json:"edit"`
}

// fixture is a CRM's fixture as read from its file; expect decodes it for one record.
type fixture string

// expect is the fixture for the record id.
func (f fixture) expect(t testing.TB, id string) Expect {
	t.Helper()
	var e Expect
	d := json.NewDecoder(strings.NewReader(strings.ReplaceAll(string(f), "{id}", id)))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		t.Fatalf("the conflict fixture: %v", err)
	}
	return e
}

// Run runs the shared conflict cases of the CRM h describes, each in its own subtest.
func Run(t *testing.T, h Harness) {
	raw, err := os.ReadFile(h.Fixture)
	if err != nil {
		t.Fatal(err)
	}
	f := fixture(raw)
	e := f.expect(t, "")
	if len(e.Source) == 0 || len(e.FillEmpty) == 0 || e.Newer.Before == "" || e.Newer.After == "" || e.Newer.AfterUnix == "" ||
		e.Read.Line == "" || len(e.Review.Decision) == 0 || len(e.Review.Writes) == 0 || len(e.Review.Edit) == 0 {
		t.Fatalf("%s lacks what the cases expect: %+v", h.Fixture, e)
	}
	var asked connector.ConflictReview
	if err := json.Unmarshal(e.Review.Request, &asked); err != nil || len(asked.Fields) == 0 {
		t.Fatalf("the review request of %s asks about no field: %v", h.Fixture, err)
	}
	t.Run("policies", func(t *testing.T) { policies(t, h, f, asked.Fields) })
	if h.Created != nil {
		t.Run("missing record is created whatever the policy", func(t *testing.T) { missing(t, h, asked.Fields) })
	}
	t.Run("review", func(t *testing.T) { review(t, h, f, asked.Fields) })
}

// policy is one policy case: the step runs once under it on the seeded record.
type policy struct {
	name     string
	conflict map[string]any
	// writes is what the step sends to write; nil when it writes nothing.
	writes map[string]any
}

// policies runs each policy on a record edited on both sides.
func policies(t *testing.T, h Harness, f fixture, asked []connector.FieldConflict) {
	e := f.expect(t, "")
	newer := func(at string) map[string]any {
		return map[string]any{"conflictPolicy": string(connector.PolicyNewer), "sourceUpdatedAt": at}
	}
	for _, c := range []policy{
		{"source", map[string]any{"conflictPolicy": string(connector.PolicySource)}, e.Source},
		{"target", map[string]any{"conflictPolicy": string(connector.PolicyTarget)}, nil},
		{"fillEmpty", map[string]any{"conflictPolicy": string(connector.PolicyFillEmpty)}, e.FillEmpty},
		{"newer, the source changed first", newer(e.Newer.Before), nil},
		{"newer, the source changed last", newer(e.Newer.After), e.Source},
		{"newer, the source changed last in Unix time", newer(e.Newer.AfterUnix), e.Source},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := h.Start(t)
			id := s.Seed()
			res, err := h.Node(t, id, c.conflict).Execute(context.Background(), s.Exec())
			if err != nil {
				t.Fatal(err)
			}
			if res.Park != nil {
				t.Fatal("parked")
			}
			w := h.Writes(s)
			out, _ := res.Output.(map[string]any)
			if c.writes == nil {
				if len(w) != 0 {
					t.Fatalf("wrote %v", w)
				}
				if r := s.record(id); out["written"] != false || out["id"] != id || !holds(r, sides(asked, nil)) {
					t.Fatalf("output %v, record %v", out, r)
				}
			} else if len(w) != 1 || !reflect.DeepEqual(w[0], c.writes) {
				t.Fatalf("wrote %v, want %v", w, c.writes)
			} else if h.ID(out) != id || h.Created != nil && h.Created(out) != false {
				t.Fatalf("output %v, not an update of %s", out, id)
			}
			sent := s.sent()
			p := c.conflict["conflictPolicy"].(string)
			if p == string(connector.PolicySource) {
				if len(sent) != 1 {
					t.Fatalf("source wins read first: %v", sent)
				}
				return
			}
			// Every careful policy read the record first.
			e := f.expect(t, id)
			want := e.Read
			if p == string(connector.PolicyNewer) && e.ReadNewer != nil {
				want = *e.ReadNewer
			}
			if sent[0].Line != want.Line || !reflect.DeepEqual(sent[0].Body, want.Body) {
				t.Fatalf("read %s %v, want %s %v", sent[0].Line, sent[0].Body, want.Line, want.Body)
			}
		})
	}
}

// missing upserts a record the CRM does not have under the policy that keeps records as they are.
func missing(t *testing.T, h Harness, asked []connector.FieldConflict) {
	s := h.Start(t)
	res, err := h.Node(t, "", map[string]any{"conflictPolicy": string(connector.PolicyTarget)}).Execute(context.Background(), s.Exec())
	if err != nil || res.Park != nil {
		t.Fatalf("create under target wins: %+v %v", res, err)
	}
	out, _ := res.Output.(map[string]any)
	id, _ := h.ID(out).(string)
	if h.Created(out) != true || id == "" || len(h.Writes(s)) != 1 {
		t.Fatalf("create under target wins: %v %v", out, h.Writes(s))
	}
	if r, want := s.record(id), sides(asked, allSource(asked)); !holds(r, want) {
		t.Fatalf("created %v, want %v", r, want)
	}
}

// review parks on the fields both sides changed, and writes what the person chose.
func review(t *testing.T, h Harness, f fixture, asked []connector.FieldConflict) {
	ctx := context.Background()
	s := h.Start(t)
	id := s.Seed()
	rv := f.expect(t, id).Review
	node := h.Node(t, id, map[string]any{"conflictPolicy": string(connector.PolicyReview), "reviewTimeout": "24h"})

	res, err := node.Execute(ctx, s.Exec())
	if err != nil {
		t.Fatal(err)
	}
	p := res.Park
	if p == nil || p.Kind != connector.ReviewKind || p.Timeout.Hours() != 24 || len(h.Writes(s)) != 0 {
		t.Fatalf("no park, or a write before the decision: %+v %v", res, h.Writes(s))
	}
	request, _ := json.Marshal(p.Request)
	var want bytes.Buffer
	if err := json.Compact(&want, rv.Request); err != nil || string(request) != want.String() {
		t.Fatalf("review request %s, want %s (%v)", request, want.String(), err)
	}
	if p.Title != rv.Title {
		t.Fatalf("title %q, want %q", p.Title, rv.Title)
	}
	// Decisions are checked against the review before they are taken.
	for _, bad := range badDecisions(rv.Decision, slices.Sorted(maps.Keys(rv.Filled))) {
		if err := nodes.CheckDecision(connector.ReviewKind, request, bad); err == nil {
			t.Errorf("decision %s accepted", bad)
		}
	}
	decision := decisionJSON(rv.Decision)
	if err := nodes.CheckDecision(connector.ReviewKind, request, decision); err != nil {
		t.Fatalf("decision %s: %v", decision, err)
	}
	resume := func(waitID string, request, decision json.RawMessage) *nodes.Exec {
		x := s.Exec()
		x.Resume = &nodes.Resume{WaitID: waitID, Request: request, Decision: decision, DecidedBy: "ops@example.com"}
		return x
	}
	res, err = node.Execute(ctx, resume("w1", request, decision))
	if err != nil || res.Park != nil {
		t.Fatalf("resume: %+v %v", res, err)
	}
	if w := h.Writes(s); len(w) != 1 || !reflect.DeepEqual(w[0], rv.Writes) {
		t.Fatalf("decision %s wrote %v, want %v", decision, w, rv.Writes)
	}
	decided := sides(asked, rv.Decision)
	maps.Copy(decided, rv.Filled)
	if r := s.record(id); !holds(r, decided) {
		t.Fatalf("record after the decision: %v, want %v", r, decided)
	}

	// The record changed at the CRM while the review waited: the decision no longer answers it, so the run
	// asks again about the current values.
	s.edit(id, rv.Edit)
	sources := decisionJSON(allSource(asked))
	before := len(h.Writes(s))
	res, err = node.Execute(ctx, resume("w1", request, sources))
	if err != nil || res.Park == nil || len(h.Writes(s)) != before {
		t.Fatalf("a stale decision was applied: %+v %v", res, err)
	}
	again, _ := json.Marshal(res.Park.Request)
	var second connector.ConflictReview
	if err := json.Unmarshal(again, &second); err != nil {
		t.Fatal(err)
	}
	current := s.record(id)
	edited := false
	for i, f := range second.Fields {
		if i >= len(asked) || f.Name != asked[i].Name || !reflect.DeepEqual(f.Target, current[f.Name]) {
			t.Fatalf("second review %s, the record holds %v", again, current)
		}
		if v, ok := rv.Edit[f.Name]; ok && reflect.DeepEqual(f.Target, v) {
			edited = true
		}
	}
	if !second.Changed || !edited || len(second.Fields) != len(asked) {
		t.Fatalf("second review %s", again)
	}

	// Choosing the source writes it.
	if _, err := node.Execute(ctx, resume("w2", again, sources)); err != nil {
		t.Fatal(err)
	}
	sourced := sides(asked, allSource(asked))
	maps.Copy(sourced, rv.Filled)
	if r := s.record(id); !holds(r, sourced) {
		t.Fatalf("record after choosing the source: %v, want %v", r, sourced)
	}

	// Nobody decided in time: the step fails for good and writes nothing.
	before = len(h.Writes(s))
	x := s.Exec()
	x.Resume = &nodes.Resume{WaitID: "w3", TimedOut: true}
	_, err = node.Execute(ctx, x)
	if err == nil {
		t.Fatal("a timed-out review did not fail")
	}
	if e := nodes.Classify(err); e.Code != connector.CodeReviewTimedOut || e.Kind != nodes.Permanent {
		t.Fatalf("timed-out review: %s %s (%v)", e.Code, e.Kind, err)
	}
	if len(h.Writes(s)) != before {
		t.Fatal("a timed-out review wrote")
	}
}

// allSource is the decision that chooses the source for every field asked about.
func allSource(asked []connector.FieldConflict) map[string]string {
	out := make(map[string]string, len(asked))
	for _, f := range asked {
		out[f.Name] = "source"
	}
	return out
}

// sides are the values of the fields asked about on the side decision chooses for each: the target where it
// chooses none.
func sides(asked []connector.FieldConflict, decision map[string]string) map[string]any {
	out := make(map[string]any, len(asked))
	for _, f := range asked {
		out[f.Name] = f.Target
		if decision[f.Name] == "source" {
			out[f.Name] = f.Source
		}
	}
	return out
}

// badDecisions are decisions a review asking about the fields of decision refuses: none, an empty one, a side
// that is neither, one missing a field, and one naming a field it does not ask about.
func badDecisions(decision map[string]string, unasked []string) []json.RawMessage {
	out := []json.RawMessage{json.RawMessage(`{}`), json.RawMessage(`{"fields":{}}`)}
	for name := range decision {
		both := maps.Clone(decision)
		both[name] = "both"
		out = append(out, decisionJSON(both))
		if len(decision) > 1 {
			short := maps.Clone(decision)
			delete(short, name)
			out = append(out, decisionJSON(short))
		}
	}
	for _, name := range unasked {
		extra := maps.Clone(decision)
		extra[name] = "target"
		out = append(out, decisionJSON(extra))
	}
	return out
}

// decisionJSON is a decision choosing fields' sides, as the API passes it on.
func decisionJSON(fields map[string]string) json.RawMessage {
	b, _ := json.Marshal(connector.ConflictDecision{Fields: fields})
	return b
}

// holds reports whether the record has every field of want with its value.
func holds(record, want map[string]any) bool {
	for name, v := range want {
		if got, ok := record[name]; !ok || !reflect.DeepEqual(got, v) {
			return false
		}
	}
	return true
}
