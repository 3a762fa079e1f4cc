package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

// The batch upserts apply the conflict policy record by record, on a batch of three contacts: Ana, edited on
// both sides (HubSpot holds a corrected phone and no last name); Bo, whom HubSpot does not have; Cy, whom
// HubSpot holds exactly as the shop sends her. The records at HubSpot last changed at 10:00:xx UTC on
// 2026-12-07 (the stand-in's clock).

var (
	anaIn = map[string]any{"phone": "+8613900000002", "firstname": "Ana", "lastname": "Li", "city": "Shanghai"}
	boIn  = map[string]any{"phone": "+8613900000005", "firstname": "Bo"}
	cyIn  = map[string]any{"phone": "+8613900000007", "firstname": "Cy"}
)

// batchRecords is the batch the shop sends, as the records parameter takes it.
func batchRecords() []any {
	return []any{
		map[string]any{"id": "ana@example.com", "properties": anaIn},
		map[string]any{"id": "bo@example.com", "properties": boIn},
		map[string]any{"id": "cy@example.com", "properties": cyIn},
	}
}

// seedBatch stores Ana as the sales team edited her and Cy as the shop has her, and returns their record ids.
func seedBatch(s *standIn) (ana, cy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ana = s.save("contacts", "", map[string]any{"email": "ana@example.com", "firstname": "Ana", "phone": "+8613800000001", "lastname": ""})["id"].(string)
	cy = s.save("contacts", "", map[string]any{"email": "cy@example.com", "firstname": "Cy", "phone": "+8613900000007"})["id"].(string)
	return ana, cy
}

// with is the record's properties with the unique e-mail added, as the upsert sends them.
func with(email string, p map[string]any) map[string]any {
	out := map[string]any{"email": email}
	for k, v := range p {
		out[k] = v
	}
	return out
}

// sentUpserts are the inputs of every batch upsert the stand-in received, by e-mail, per request.
func (s *standIn) sentUpserts() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for i, r := range s.requests {
		if r.Method != "POST" || r.URL.Path != "/crm/v3/objects/contacts/batch/upsert" {
			continue
		}
		byEmail := map[string]any{}
		for _, in := range s.bodies[i]["inputs"].([]any) {
			in := in.(map[string]any)
			byEmail[in["id"].(string)] = in["properties"]
		}
		out = append(out, byEmail)
	}
	return out
}

// sentReads are the bodies of the batch reads the stand-in received.
func (s *standIn) sentReads() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for i, r := range s.requests {
		if r.URL.Path == "/crm/v3/objects/contacts/batch/read" {
			out = append(out, s.bodies[i])
		}
	}
	return out
}

// byEmail is the step's output results by e-mail: written and new for each record.
func byEmail(t *testing.T, out any) map[string][2]any {
	t.Helper()
	m, _ := out.(map[string]any)
	results, _ := m["results"].([]any)
	got := map[string][2]any{}
	for _, r := range results {
		r := r.(map[string]any)
		email, _ := r["properties"].(map[string]any)["email"].(string)
		got[email] = [2]any{r["written"], r["new"]}
	}
	return got
}

func TestBatchConflictPolicies(t *testing.T) {
	const before, after = "2026-12-07T17:00:00+08:00", "2026-12-07T20:00:00+08:00" // 09:00 and 12:00 UTC
	anaFill := with("ana@example.com", map[string]any{"lastname": "Li", "city": "Shanghai"})
	all := map[string]any{"ana@example.com": with("ana@example.com", anaIn), "bo@example.com": with("bo@example.com", boIn),
		"cy@example.com": with("cy@example.com", cyIn)}
	onlyBo := map[string]any{"bo@example.com": with("bo@example.com", boIn)}
	written := func(ana, cy bool) map[string][2]any {
		return map[string][2]any{"ana@example.com": {ana, false}, "bo@example.com": {true, true}, "cy@example.com": {cy, false}}
	}
	for _, c := range []struct {
		name    string
		params  map[string]any
		upsert  map[string]any    // the one upsert's inputs by e-mail
		written map[string][2]any // written and new per record of the output
		ana     map[string]any    // Ana's properties at HubSpot afterwards (those compared)
	}{
		{"source", map[string]any{}, all, nil, map[string]any{"phone": "+8613900000002", "lastname": "Li"}},
		{"target", map[string]any{"conflictPolicy": "target"}, onlyBo, written(false, false),
			map[string]any{"phone": "+8613800000001", "lastname": ""}},
		{"fillEmpty", map[string]any{"conflictPolicy": "fillEmpty"},
			map[string]any{"ana@example.com": anaFill, "bo@example.com": with("bo@example.com", boIn)}, written(true, false),
			map[string]any{"phone": "+8613800000001", "lastname": "Li", "city": "Shanghai"}},
		{"newer, the record is", map[string]any{"conflictPolicy": "newer", "sourceUpdatedAt": before}, onlyBo, written(false, false),
			map[string]any{"phone": "+8613800000001", "lastname": ""}},
		{"newer, the source is", map[string]any{"conflictPolicy": "newer", "sourceUpdatedAt": after}, all, written(true, true),
			map[string]any{"phone": "+8613900000002", "lastname": "Li"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStandIn(t)
			ana, _ := seedBatch(s)
			params := map[string]any{"idProperty": "email", "records": batchRecords()}
			for k, v := range c.params {
				params[k] = v
			}
			res, err := build(t, "hubspot.contacts.upsert", params).Execute(context.Background(), s.exec(nil, testToken, nil))
			if err != nil || res.Park != nil {
				t.Fatalf("%+v %v", res, err)
			}
			reads := s.sentReads()
			if c.name == "source" {
				if len(reads) != 0 {
					t.Fatalf("source read the records: %v", reads)
				}
			} else {
				fields := []any{"city", "email", "firstname", "lastname", "phone"}
				if c.params["conflictPolicy"] == "newer" {
					fields = []any{"city", "email", "firstname", "lastmodifieddate", "lastname", "phone"}
				}
				want := map[string]any{"idProperty": "email", "properties": fields, "propertiesWithHistory": []any{},
					"inputs": []any{map[string]any{"id": "ana@example.com"}, map[string]any{"id": "bo@example.com"}, map[string]any{"id": "cy@example.com"}}}
				if len(reads) != 1 || !reflect.DeepEqual(reads[0], want) {
					t.Fatalf("reads %v, want one %v", reads, want)
				}
			}
			if ups := s.sentUpserts(); len(ups) != 1 || !reflect.DeepEqual(ups[0], c.upsert) {
				t.Fatalf("upserts %v, want one %v", ups, c.upsert)
			}
			if c.written != nil {
				if got := byEmail(t, res.Output); !reflect.DeepEqual(got, c.written) {
					t.Fatalf("output %v, want %v", got, c.written)
				}
				if p := res.Output.(map[string]any)["policy"]; p != c.params["conflictPolicy"] {
					t.Fatalf("policy %v", p)
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			held := s.records["contacts"][ana]["properties"].(map[string]any)
			for k, v := range c.ana {
				if held[k] != v {
					t.Errorf("Ana's %s is %v, want %v", k, held[k], v)
				}
			}
		})
	}
}

// TestBatchConflictNothingToWrite: when the policy leaves no record of the batch to write, no upsert is sent and
// the step outputs the records as read, each written: false.
func TestBatchConflictNothingToWrite(t *testing.T) {
	s := newStandIn(t)
	ana, cy := seedBatch(s)
	records := batchRecords()
	records = []any{records[0], records[2]}
	res, err := build(t, "hubspot.contacts.upsert", map[string]any{"idProperty": "email", "records": records, "conflictPolicy": "target"}).
		Execute(context.Background(), s.exec(nil, testToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	if ups := s.sentUpserts(); len(ups) != 0 {
		t.Fatalf("an upsert was sent: %v", ups)
	}
	out := res.Output.(map[string]any)
	if out["written"] != false || out["policy"] != "target" {
		t.Fatalf("output %v", out)
	}
	var ids []string
	for _, r := range out["results"].([]any) {
		r := r.(map[string]any)
		if r["written"] != false || r["new"] != false {
			t.Fatalf("result %v", r)
		}
		ids = append(ids, r["id"].(string))
	}
	if !slices.Equal(ids, []string{ana, cy}) {
		t.Fatalf("results %v, want %s and %s", ids, ana, cy)
	}
	if got := out["results"].([]any)[0].(map[string]any)["properties"].(map[string]any)["phone"]; got != "+8613800000001" {
		t.Fatalf("Ana as read has phone %v", got)
	}
}

// TestBatchConflictNoneExist: a batch none of whose records exist is written whole, whether HubSpot answers the
// read 207 with every value under errors or 404.
func TestBatchConflictNoneExist(t *testing.T) {
	for _, notFound := range []bool{false, true} {
		s := newStandIn(t)
		s.readAllMissing404 = notFound
		res, err := build(t, "hubspot.contacts.upsert", map[string]any{"idProperty": "email", "records": batchRecords(), "conflictPolicy": "fillEmpty"}).
			Execute(context.Background(), s.exec(nil, testToken, nil))
		if err != nil {
			t.Fatalf("404 %v: %v", notFound, err)
		}
		if s.batchReads != 1 || len(s.sentUpserts()) != 1 || len(s.sentUpserts()[0]) != 3 {
			t.Fatalf("404 %v: reads %d, upserts %v", notFound, s.batchReads, s.sentUpserts())
		}
		for email, wn := range byEmail(t, res.Output) {
			if wn != [2]any{true, true} {
				t.Fatalf("404 %v: %s %v", notFound, email, wn)
			}
		}
	}
}

// TestBatchConflictReviewRefused: a batch upsert does not offer review, and one saved with it is refused with a
// problem that points to the single-record upsert.
func TestBatchConflictReviewRefused(t *testing.T) {
	for _, o := range objects {
		typ := "hubspot." + o.plural + ".upsert"
		reg, _ := nodes.Lookup(typ, 1)
		for _, f := range reg.Spec.Params {
			if f.Name == "reviewTimeout" {
				t.Fatalf("%s has a review timeout", typ)
			}
			if f.Name == "conflictPolicy" && slices.ContainsFunc(f.Options, func(o nodes.Option) bool { return o.Value == "review" }) {
				t.Fatalf("%s offers review", typ)
			}
		}
		raw := map[string]json.RawMessage{"idProperty": json.RawMessage(`"email"`), "records": json.RawMessage(`[{"id": "a@b.c"}]`),
			"conflictPolicy": json.RawMessage(`"review"`)}
		_, err := reg.New(nodes.NewConfig(&reg.Spec, "n1", raw, "cred-1"))
		var ce *nodes.ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("%s with review was accepted: %v", typ, err)
		}
		single := "hubspot." + o.singular + ".upsert"
		if !slices.ContainsFunc(ce.Problems, func(p nodes.Problem) bool {
			return p.Field == "conflictPolicy" && p.Code == nodes.CodeParamInvalid && strings.Contains(p.Message, single)
		}) {
			t.Fatalf("%s with review: %v, want a problem naming %s", typ, ce.Problems, single)
		}
	}
}
