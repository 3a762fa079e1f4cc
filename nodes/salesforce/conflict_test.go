package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// extID is the external id of the opportunity the tests upsert: it holds a slash, which the upsert and its read
// send escaped.
const extID = "pi/3Q7"

// editedOpportunity stores an opportunity the sales team has edited since the last sync: its stage and amount
// changed, no description yet, last changed at 08:00:01 UTC on 2026-12-07 (the stand-in's clock).
func editedOpportunity(s *standIn) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.insert("Opportunity", map[string]any{"Payment_Id__c": extID, "Name": "Tea order", "StageName": "Negotiation/Review", "Amount": 120.0})
	return rec["Id"].(string)
}

// incoming is what the payment says: another stage and amount, the same name, and a description.
var incoming = map[string]any{"StageName": "Closed Won", "Name": "Tea order", "Amount": 129.5, "Description": "Paid by card"}

func upsertNode(t *testing.T, policy string, extra map[string]any) nodes.Node {
	params := map[string]any{"sObject": "Opportunity", "externalIdField": "Payment_Id__c", "externalId": extID,
		"fields": `{{ trigger }}`, "conflictPolicy": policy}
	for k, v := range extra {
		params[k] = v
	}
	return build(t, "salesforce.record.upsert", params)
}

// writes returns the bodies of the upserts sent, in order.
func writes(s *standIn) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	b := 0
	for _, r := range s.requests {
		method, _, _ := strings.Cut(r, " ")
		if method != http.MethodPost && method != http.MethodPatch {
			continue
		}
		if strings.HasPrefix(r, "PATCH /services/data/v62.0/sobjects/Opportunity/Payment_Id__c/") {
			out = append(out, s.bodies[b])
		}
		b++
	}
	return out
}

func (s *standIn) opportunity(id string) record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.find("Opportunity", "Id", id)
}

// TestConflictPolicies runs each policy on a record edited on both sides.
func TestConflictPolicies(t *testing.T) {
	ctx := context.Background()
	all := "map[Amount:129.5 Description:Paid by card Name:Tea order StageName:Closed Won]"
	cases := []struct {
		policy string
		extra  map[string]any
		// want is what the upsert sends; "": nothing is written.
		want string
	}{
		{"source", nil, all},
		{"target", nil, ""},
		{"fillEmpty", nil, "map[Description:Paid by card]"},
		{"newer", map[string]any{"sourceUpdatedAt": "2026-12-07T15:00:00+08:00"}, ""}, // 07:00 UTC, before the record's 08:00:01
		{"newer", map[string]any{"sourceUpdatedAt": "2026-12-07T17:30:00+08:00"}, all},
		{"newer", map[string]any{"sourceUpdatedAt": "{{ 1796632800000 }}"}, all}, // Unix milliseconds: 2026-12-07 08:40 UTC
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.policy, c.extra), func(t *testing.T) {
			s := newStandIn(t)
			id := editedOpportunity(s)
			res, err := upsertNode(t, c.policy, c.extra).Execute(ctx, s.exec(incoming, nil))
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
				if out["written"] != false || out["id"] != id || s.opportunity(id)["StageName"] != "Negotiation/Review" {
					t.Fatalf("%s: output %v, record %v", c.policy, out, s.opportunity(id))
				}
			} else if len(w) != 1 || fmt.Sprint(w[0]) != c.want {
				t.Fatalf("%s wrote %v, want %s", c.policy, w, c.want)
			} else if out["id"] != id || out["created"] != false {
				t.Fatalf("%s output %v", c.policy, out)
			}
			sent := s.sent()
			if c.policy == "source" {
				if len(sent) != 1 {
					t.Fatalf("source wins read first: %v", sent)
				}
				return
			}
			// Every careful policy read the record first, at the upsert's own path, for the fields it writes.
			fields := "Amount%2CDescription%2CName%2CStageName"
			if c.policy == "newer" {
				fields = "Amount%2CDescription%2CLastModifiedDate%2CName%2CStageName"
			}
			if want := "GET /services/data/v62.0/sobjects/Opportunity/Payment_Id__c/pi%2F3Q7?fields=" + fields; sent[0] != want {
				t.Fatalf("read %s, want %s", sent[0], want)
			}
		})
	}

	t.Run("missing record is created whatever the policy", func(t *testing.T) {
		s := newStandIn(t)
		res, err := upsertNode(t, "target", nil).Execute(ctx, s.exec(incoming, nil))
		if err != nil || res.Output.(map[string]any)["created"] != true || len(writes(s)) != 1 {
			t.Fatalf("create under target wins: %v %v %v", res.Output, err, writes(s))
		}
		if rec := s.find("Opportunity", "Payment_Id__c", extID); rec == nil || rec["StageName"] != "Closed Won" {
			t.Fatalf("created %v", rec)
		}
	})

	t.Run("a value several records have fails and writes nothing", func(t *testing.T) {
		s := newStandIn(t)
		editedOpportunity(s)
		editedOpportunity(s)
		_, err := upsertNode(t, "review", nil).Execute(ctx, s.exec(incoming, nil))
		failure(t, err, CodeExternalIDAmbiguous, nodes.Permanent)
		if len(writes(s)) != 0 || len(s.sent()) != 1 {
			t.Fatalf("sent %v", s.sent())
		}
	})
}

// TestConflictReview parks on the fields both sides changed, and writes what the person chose.
func TestConflictReview(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	id := editedOpportunity(s)
	node := upsertNode(t, "review", map[string]any{"reviewTimeout": "24h"})

	res, err := node.Execute(ctx, s.exec(incoming, nil))
	if err != nil {
		t.Fatal(err)
	}
	p := res.Park
	if p == nil || p.Kind != connector.ReviewKind || p.Timeout.Hours() != 24 || len(writes(s)) != 0 {
		t.Fatalf("no park, or a write before the decision: %+v %v", res, writes(s))
	}
	request, _ := json.Marshal(p.Request)
	if string(request) != `{"provider":"salesforce","object":"Opportunity","recordId":"`+id+`","key":{"name":"Payment_Id__c","value":"pi/3Q7"},"fields":[`+
		`{"name":"Amount","source":129.5,"target":120},{"name":"StageName","source":"Closed Won","target":"Negotiation/Review"}]}` {
		t.Fatalf("review request %s", request)
	}
	if p.Title != "Salesforce Opportunity pi/3Q7: 2 fields differ" {
		t.Fatalf("title %q", p.Title)
	}
	for _, bad := range []string{`{"fields":{"Amount":"source"}}`, `{"fields":{"Amount":"source","StageName":"target","Name":"source"}}`} {
		if err := nodes.CheckDecision(connector.ReviewKind, request, json.RawMessage(bad)); err == nil {
			t.Errorf("decision %s accepted", bad)
		}
	}

	resume := func(request []byte, decision string) *nodes.Exec {
		x := s.exec(incoming, nil)
		x.Resume = &nodes.Resume{WaitID: "w1", Request: request, Decision: json.RawMessage(decision), DecidedBy: "ops@example.com"}
		return x
	}
	decision := `{"fields":{"Amount":"target","StageName":"source"}}`
	if err := nodes.CheckDecision(connector.ReviewKind, request, json.RawMessage(decision)); err != nil {
		t.Fatal(err)
	}
	res, err = node.Execute(ctx, resume(request, decision))
	if err != nil || res.Park != nil {
		t.Fatalf("resume: %+v %v", res, err)
	}
	if w := writes(s); len(w) != 1 || fmt.Sprint(w[0]) != "map[Description:Paid by card StageName:Closed Won]" {
		t.Fatalf("kept the record's amount, wrote %v", w)
	}
	if rec := s.opportunity(id); rec["Amount"] != 120.0 || rec["StageName"] != "Closed Won" || rec["Description"] != "Paid by card" {
		t.Fatalf("record after the decision: %v", rec)
	}

	// The amount changed at Salesforce while a review waited: the decision no longer answers it, and the run
	// asks again about the current values.
	s.mu.Lock()
	s.write(s.find("Opportunity", "Id", id), map[string]any{"Amount": 135.0, "StageName": "Negotiation/Review"})
	s.mu.Unlock()
	before := len(writes(s))
	res, err = node.Execute(ctx, resume(request, decision))
	if err != nil || res.Park == nil || len(writes(s)) != before {
		t.Fatalf("a stale decision was applied: %+v %v", res, err)
	}
	again, _ := json.Marshal(res.Park.Request)
	var rv connector.ConflictReview
	_ = json.Unmarshal(again, &rv)
	if !rv.Changed || len(rv.Fields) != 2 || rv.Fields[0].Target != 135.0 {
		t.Fatalf("second review %s", again)
	}

	// Choosing the source writes it.
	if _, err := node.Execute(ctx, resume(again, `{"fields":{"Amount":"source","StageName":"source"}}`)); err != nil {
		t.Fatal(err)
	}
	if rec := s.opportunity(id); rec["Amount"] != 129.5 || rec["StageName"] != "Closed Won" {
		t.Fatalf("record after choosing the source: %v", rec)
	}

	// Nobody decided in time: the step fails for good and writes nothing.
	before = len(writes(s))
	x := s.exec(incoming, nil)
	x.Resume = &nodes.Resume{WaitID: "w3", TimedOut: true}
	_, err = node.Execute(ctx, x)
	failure(t, err, connector.CodeReviewTimedOut, nodes.Permanent)
	if len(writes(s)) != before {
		t.Fatal("a timed-out review wrote")
	}
}
