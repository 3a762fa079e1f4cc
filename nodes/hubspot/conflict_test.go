package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// editedContact stores a contact the sales team has edited since the last sync: its phone corrected, no last
// name yet, changed at 10:00:xx on 2026-12-07 (the stand-in's clock).
func editedContact(s *standIn) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.save("contacts", "", map[string]any{"email": "ana@example.com", "firstname": "Ana", "phone": "+8613800000001", "lastname": ""})
	return rec["id"].(string)
}

// incoming is what the shop says of the customer: a different phone, the same first name, a last name and a city.
var incoming = map[string]any{"phone": "+8613900000002", "firstname": "Ana", "lastname": "Li", "city": "Shanghai"}

func upsertNode(t *testing.T, policy string, extra map[string]any) nodes.Node {
	params := map[string]any{"idProperty": "email", "value": "ana@example.com",
		"properties": `{{ trigger }}`, "conflictPolicy": policy}
	for k, v := range extra {
		params[k] = v
	}
	return build(t, "hubspot.contact.upsert", params)
}

// writes returns the properties the batch upserts sent, in order.
func writes(s *standIn) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for i, r := range s.requests {
		if r.Method == http.MethodPost && r.URL.Path == "/crm/v3/objects/contacts/batch/upsert" {
			out = append(out, s.bodies[i]["inputs"].([]any)[0].(map[string]any)["properties"].(map[string]any))
		}
	}
	return out
}

func (s *standIn) contact(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records["contacts"][id]["properties"].(map[string]any)
}

// TestConflictPolicies runs each policy on a record edited on both sides.
func TestConflictPolicies(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		policy string
		extra  map[string]any
		// want is what the upsert sends; nil: nothing is written.
		want string
	}{
		{"source", nil, "map[city:Shanghai email:ana@example.com firstname:Ana lastname:Li phone:+8613900000002]"},
		{"target", nil, ""},
		{"fillEmpty", nil, "map[city:Shanghai email:ana@example.com lastname:Li]"},
		{"newer", map[string]any{"sourceUpdatedAt": "2026-12-07T11:00:00+08:00"}, ""}, // 03:00 UTC, before the record's 10:00
		{"newer", map[string]any{"sourceUpdatedAt": "2026-12-07T19:30:00+08:00"}, "map[city:Shanghai email:ana@example.com firstname:Ana lastname:Li phone:+8613900000002]"},
		{"newer", map[string]any{"sourceUpdatedAt": "{{ 1796650200 }}"}, "map[city:Shanghai email:ana@example.com firstname:Ana lastname:Li phone:+8613900000002]"}, // Unix seconds: 2026-12-07 13:30 UTC
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.policy, c.extra), func(t *testing.T) {
			s := newStandIn(t)
			id := editedContact(s)
			res, err := upsertNode(t, c.policy, c.extra).Execute(ctx, s.exec(incoming, testToken, nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Park != nil {
				t.Fatalf("%s parked", c.policy)
			}
			w := writes(s)
			out := res.Output.(map[string]any)
			if c.want == "" {
				if len(w) != 0 {
					t.Fatalf("%s wrote %v", c.policy, w)
				}
				if out["written"] != false || out["id"] != id || s.contact(id)["phone"] != "+8613800000001" {
					t.Fatalf("%s: output %v, record %v", c.policy, out, s.contact(id))
				}
				return
			}
			if len(w) != 1 || fmt.Sprint(w[0]) != c.want {
				t.Fatalf("%s wrote %v, want %s", c.policy, w, c.want)
			}
			if out["id"] != id {
				t.Fatalf("%s output %v", c.policy, out)
			}
			if c.policy != "source" {
				// Every careful policy read the record first, by its unique property.
				r := s.received()[0]
				if r.Method != http.MethodGet || r.URL.Path != "/crm/v3/objects/contacts/ana@example.com" || r.URL.Query().Get("idProperty") != "email" {
					t.Fatalf("read %s %s", r.Method, r.URL)
				}
			}
		})
	}

	t.Run("missing record is created whatever the policy", func(t *testing.T) {
		s := newStandIn(t)
		res, err := upsertNode(t, "target", nil).Execute(ctx, s.exec(incoming, testToken, nil))
		if err != nil || res.Output.(map[string]any)["new"] != true || len(writes(s)) != 1 {
			t.Fatalf("create under target wins: %v %v %v", res.Output, err, writes(s))
		}
	})

	t.Run("newer without a time is refused at save", func(t *testing.T) {
		reg, _ := nodes.Lookup("hubspot.contact.upsert", 1)
		raw := map[string]json.RawMessage{"idProperty": json.RawMessage(`"email"`), "value": json.RawMessage(`"a@b.c"`),
			"conflictPolicy": json.RawMessage(`"newer"`)}
		if _, err := reg.New(nodes.NewConfig(&reg.Spec, "n1", raw, "cred-1")); err == nil {
			t.Fatal("newer wins without the source's time was accepted")
		}
	})
}

// TestConflictReview parks on the fields both sides changed, and writes what the person chose.
func TestConflictReview(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	id := editedContact(s)
	node := upsertNode(t, "review", map[string]any{"reviewTimeout": "24h"})

	res, err := node.Execute(ctx, s.exec(incoming, testToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	p := res.Park
	if p == nil || p.Kind != connector.ReviewKind || p.Timeout.Hours() != 24 || len(writes(s)) != 0 {
		t.Fatalf("no park, or a write before the decision: %+v %v", res, writes(s))
	}
	request, _ := json.Marshal(p.Request)
	if string(request) != `{"provider":"hubspot","object":"contact","recordId":"`+id+`","key":{"name":"email","value":"ana@example.com"},"fields":[{"name":"phone","source":"+8613900000002","target":"+8613800000001"}]}` {
		t.Fatalf("review request %s", request)
	}
	if p.Title != "HubSpot contact ana@example.com: 1 field differs" {
		t.Fatalf("title %q", p.Title)
	}

	// Decisions are checked against the review before they are taken.
	for _, bad := range []string{`{}`, `{"fields":{}}`, `{"fields":{"phone":"both"}}`, `{"fields":{"phone":"source","city":"target"}}`} {
		if err := nodes.CheckDecision(connector.ReviewKind, request, json.RawMessage(bad)); err == nil {
			t.Errorf("decision %s accepted", bad)
		}
	}

	resume := func(decision string) *nodes.Exec {
		x := s.exec(incoming, testToken, nil)
		x.Resume = &nodes.Resume{WaitID: "w1", Request: request, Decision: json.RawMessage(decision), DecidedBy: "ops@example.com"}
		return x
	}
	if err := nodes.CheckDecision(connector.ReviewKind, request, json.RawMessage(`{"fields":{"phone":"target"}}`)); err != nil {
		t.Fatal(err)
	}
	res, err = node.Execute(ctx, resume(`{"fields":{"phone":"target"}}`))
	if err != nil || res.Park != nil {
		t.Fatalf("resume: %+v %v", res, err)
	}
	if w := writes(s); len(w) != 1 || fmt.Sprint(w[0]) != "map[city:Shanghai email:ana@example.com lastname:Li]" {
		t.Fatalf("kept the record's phone, wrote %v", w)
	}
	if c := s.contact(id); c["phone"] != "+8613800000001" || c["lastname"] != "Li" {
		t.Fatalf("record after the decision: %v", c)
	}

	// The record changed at HubSpot while the review waited: the decision no longer answers it, so the
	// run asks again about the current values.
	s.mu.Lock()
	s.save("contacts", id, map[string]any{"phone": "+8613700000003", "lastname": ""})
	s.mu.Unlock()
	before := len(writes(s))
	res, err = node.Execute(ctx, resume(`{"fields":{"phone":"source"}}`))
	if err != nil || res.Park == nil || len(writes(s)) != before {
		t.Fatalf("a stale decision was applied: %+v %v", res, err)
	}
	again, _ := json.Marshal(res.Park.Request)
	var rv connector.ConflictReview
	_ = json.Unmarshal(again, &rv)
	if !rv.Changed || len(rv.Fields) != 1 || rv.Fields[0].Target != "+8613700000003" {
		t.Fatalf("second review %s", again)
	}

	// Choosing the source writes it.
	x := s.exec(incoming, testToken, nil)
	x.Resume = &nodes.Resume{WaitID: "w2", Request: again, Decision: json.RawMessage(`{"fields":{"phone":"source"}}`)}
	if _, err := node.Execute(ctx, x); err != nil {
		t.Fatal(err)
	}
	if c := s.contact(id); c["phone"] != "+8613900000002" || c["lastname"] != "Li" {
		t.Fatalf("record after choosing the source: %v", c)
	}

	// Nobody decided in time: the step fails for good and writes nothing.
	before = len(writes(s))
	x = s.exec(incoming, testToken, nil)
	x.Resume = &nodes.Resume{WaitID: "w3", TimedOut: true}
	_, err = node.Execute(ctx, x)
	failure(t, err, connector.CodeReviewTimedOut, nodes.Permanent)
	if len(writes(s)) != before {
		t.Fatal("a timed-out review wrote")
	}

	// A record that agrees with the source in every field it holds is written without asking.
	s2 := newStandIn(t)
	s2.mu.Lock()
	s2.save("contacts", "", map[string]any{"email": "ana@example.com", "phone": "+8613900000002"})
	s2.mu.Unlock()
	res, err = node.Execute(ctx, s2.exec(incoming, testToken, nil))
	if err != nil || res.Park != nil || len(writes(s2)) != 1 {
		t.Fatalf("no conflict still parked: %+v %v", res, err)
	}
}
