package zoho

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

// editedContact stores a contact the sales team has edited since the last sync: its phone corrected, no city
// yet, last changed at 16:00 China time on 2026-12-07 (08:00 UTC).
func editedContact(s *standIn) string {
	s.add("Contacts", map[string]any{"Email": "ada@example.com", "Last_Name": "Lovelace", "Phone": "+44 20 7946 0001",
		"Mailing_City": nil, "Modified_Time": "2026-12-07T16:00:00+08:00"})
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records["Contacts"][len(s.records["Contacts"])-1]["id"].(string)
}

// incoming is what the shop says of the customer: another phone, the same name, and a city.
var incoming = map[string]any{"Email": "ada@example.com", "Last_Name": "Lovelace", "Phone": "+44 20 7946 0002", "Mailing_City": "London"}

func upsertNode(t *testing.T, policy string, extra map[string]any) nodes.Node {
	params := map[string]any{"module": "Contacts", "record": `{{ trigger }}`, "duplicateCheckFields": "Email", "conflictPolicy": policy}
	for k, v := range extra {
		params[k] = v
	}
	return build(t, "zoho.crm.record.upsert", params)
}

// writes returns the records the upserts sent, in order.
func writes(s *standIn) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for i, r := range s.requests {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/upsert") {
			out = append(out, s.bodies[i]["data"].([]any)[0].(map[string]any))
		}
	}
	return out
}

func (s *standIn) contact(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.contactLocked(id)
}

// TestConflictPolicies runs each policy on a record edited on both sides.
func TestConflictPolicies(t *testing.T) {
	ctx := context.Background()
	all := "map[Email:ada@example.com Last_Name:Lovelace Mailing_City:London Phone:+44 20 7946 0002]"
	cases := []struct {
		policy string
		extra  map[string]any
		// want is the record the upsert sends; "": nothing is written.
		want string
	}{
		{"source", nil, all},
		{"target", nil, ""},
		{"fillEmpty", nil, "map[Email:ada@example.com Mailing_City:London]"},
		{"newer", map[string]any{"sourceUpdatedAt": "2026-12-07T07:59:59Z"}, ""},
		{"newer", map[string]any{"sourceUpdatedAt": "2026-12-07T08:00:01Z"}, all},
		{"newer", map[string]any{"sourceUpdatedAt": "{{ 1796632800 }}"}, all}, // Unix seconds: 08:40 UTC
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.policy, c.extra), func(t *testing.T) {
			s := newStandIn(t)
			id := editedContact(s)
			res, err := upsertNode(t, c.policy, c.extra).Execute(ctx, s.exec(incoming))
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
				if out["written"] != false || out["id"] != id || s.contact(id)["Phone"] != "+44 20 7946 0001" {
					t.Fatalf("%s: output %v, record %v", c.policy, out, s.contact(id))
				}
			} else if len(w) != 1 || fmt.Sprint(w[0]) != c.want {
				t.Fatalf("%s wrote %v, want %s", c.policy, w, c.want)
			} else if out["action"] != "update" || out["details"].(map[string]any)["id"] != id {
				t.Fatalf("%s output %v", c.policy, out)
			}
			got := s.received()
			if c.policy == "source" {
				if len(got) != 1 {
					t.Fatalf("source wins read first")
				}
				return
			}
			// Every careful policy searched the match field first, for the fields it writes.
			r := got[0]
			fields := "Email,Last_Name,Mailing_City,Phone"
			if c.policy == "newer" {
				fields = "Email,Last_Name,Mailing_City,Modified_Time,Phone"
			}
			q := r.URL.Query()
			if r.Method != http.MethodGet || r.URL.Path != "/crm/v8/Contacts/search" || q.Get("criteria") != "(Email:equals:ada@example.com)" ||
				q.Get("fields") != fields || q.Get("per_page") != "2" {
				t.Fatalf("read %s %s", r.Method, r.URL)
			}
		})
	}

	t.Run("missing record is created whatever the policy", func(t *testing.T) {
		s := newStandIn(t)
		res, err := upsertNode(t, "target", nil).Execute(ctx, s.exec(incoming))
		if err != nil || res.Output.(map[string]any)["action"] != "insert" || len(writes(s)) != 1 {
			t.Fatalf("create under target wins: %v %v %v", res.Output, err, writes(s))
		}
	})

	t.Run("the system duplicate-check field, its value escaped", func(t *testing.T) {
		s := newStandIn(t)
		s.add("Accounts", map[string]any{"Account_Name": `Tea, Coffee (Hangzhou) \ Co`, "Phone": "0571 8888 0000", "Modified_Time": "2026-12-07T16:00:00+08:00"})
		n := build(t, "zoho.crm.record.upsert", map[string]any{"module": "Accounts", "conflictPolicy": "target",
			"record": map[string]any{"Account_Name": `Tea, Coffee (Hangzhou) \ Co`, "Phone": "0571 8888 0001"}})
		res, err := n.Execute(ctx, s.exec(nil))
		if err != nil || res.Output.(map[string]any)["written"] != false || len(writes(s)) != 0 {
			t.Fatalf("target wins on an account: %v %v %v", res.Output, err, writes(s))
		}
		if c := s.received()[0].URL.Query().Get("criteria"); c != `(Account_Name:equals:Tea\, Coffee \(Hangzhou\) \\ Co)` {
			t.Fatalf("criteria %s", c)
		}
	})

	t.Run("several records with the value fail and write nothing", func(t *testing.T) {
		s := newStandIn(t)
		editedContact(s)
		editedContact(s)
		_, err := upsertNode(t, "fillEmpty", nil).Execute(ctx, s.exec(incoming))
		failure(t, err, CodeMatchAmbiguous, nodes.Permanent)
		if len(writes(s)) != 0 {
			t.Fatalf("wrote %v", writes(s))
		}
	})

	t.Run("a match the policy cannot read fails and writes nothing", func(t *testing.T) {
		s := newStandIn(t)
		editedContact(s)
		_, err := upsertNode(t, "target", map[string]any{"duplicateCheckFields": "Email, Phone"}).Execute(ctx, s.exec(incoming))
		failure(t, err, CodeMatchFieldUnknown, nodes.Permanent)
		_, err = build(t, "zoho.crm.record.upsert", map[string]any{"module": "Payments_X", "conflictPolicy": "review",
			"record": map[string]any{"Name": "P-1"}}).Execute(ctx, s.exec(nil))
		failure(t, err, CodeMatchFieldUnknown, nodes.Permanent)
		if len(s.received()) != 0 {
			t.Fatalf("sent %d requests", len(s.received()))
		}
	})
}

// TestConflictReview parks on the fields both sides changed, and writes what the person chose.
func TestConflictReview(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	id := editedContact(s)
	node := upsertNode(t, "review", map[string]any{"reviewTimeout": "24h"})

	res, err := node.Execute(ctx, s.exec(incoming))
	if err != nil {
		t.Fatal(err)
	}
	p := res.Park
	if p == nil || p.Kind != connector.ReviewKind || p.Timeout.Hours() != 24 || len(writes(s)) != 0 {
		t.Fatalf("no park, or a write before the decision: %+v %v", res, writes(s))
	}
	request, _ := json.Marshal(p.Request)
	if string(request) != `{"provider":"zoho","object":"Contacts","recordId":"`+id+`","key":{"name":"Email","value":"ada@example.com"},"fields":[{"name":"Phone","source":"+44 20 7946 0002","target":"+44 20 7946 0001"}]}` {
		t.Fatalf("review request %s", request)
	}
	if p.Title != "Zoho CRM Contacts ada@example.com: 1 field differs" {
		t.Fatalf("title %q", p.Title)
	}

	resume := func(request []byte, decision string) *nodes.Exec {
		x := s.exec(incoming)
		x.Resume = &nodes.Resume{WaitID: "w1", Request: request, Decision: json.RawMessage(decision), DecidedBy: "ops@example.com"}
		return x
	}
	res, err = node.Execute(ctx, resume(request, `{"fields":{"Phone":"target"}}`))
	if err != nil || res.Park != nil {
		t.Fatalf("resume: %+v %v", res, err)
	}
	if w := writes(s); len(w) != 1 || fmt.Sprint(w[0]) != "map[Email:ada@example.com Mailing_City:London]" {
		t.Fatalf("kept the record's phone, wrote %v", w)
	}
	if c := s.contact(id); c["Phone"] != "+44 20 7946 0001" || c["Mailing_City"] != "London" {
		t.Fatalf("record after the decision: %v", c)
	}

	// The phone changed in Zoho while a review waited: the decision no longer answers it, and the run asks
	// again about the current value.
	s.mu.Lock()
	s.contactLocked(id)["Phone"] = "+44 20 7946 0003"
	s.mu.Unlock()
	before := len(writes(s))
	res, err = node.Execute(ctx, resume(request, `{"fields":{"Phone":"source"}}`))
	if err != nil || res.Park == nil || len(writes(s)) != before {
		t.Fatalf("a stale decision was applied: %+v %v", res, err)
	}
	again, _ := json.Marshal(res.Park.Request)
	var rv connector.ConflictReview
	_ = json.Unmarshal(again, &rv)
	if !rv.Changed || len(rv.Fields) != 1 || rv.Fields[0].Target != "+44 20 7946 0003" {
		t.Fatalf("second review %s", again)
	}

	// Choosing the source writes it.
	if _, err := node.Execute(ctx, resume(again, `{"fields":{"Phone":"source"}}`)); err != nil {
		t.Fatal(err)
	}
	if c := s.contact(id); c["Phone"] != "+44 20 7946 0002" {
		t.Fatalf("record after choosing the source: %v", c)
	}

	// Nobody decided in time: the step fails for good and writes nothing.
	before = len(writes(s))
	x := s.exec(incoming)
	x.Resume = &nodes.Resume{WaitID: "w3", TimedOut: true}
	_, err = node.Execute(ctx, x)
	failure(t, err, connector.CodeReviewTimedOut, nodes.Permanent)
	if len(writes(s)) != before {
		t.Fatal("a timed-out review wrote")
	}
}

func (s *standIn) contactLocked(id string) map[string]any {
	for _, rec := range s.records["Contacts"] {
		if rec["id"] == id {
			return rec
		}
	}
	return nil
}
