package zoho

import (
	"context"
	"maps"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector/conflicttest"
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

// contactLocked is the contact id; the caller holds s.mu.
func (s *standIn) contactLocked(id string) map[string]any {
	for _, rec := range s.records["Contacts"] {
		if rec["id"] == id {
			return rec
		}
	}
	return nil
}

// conflict is the stand-in as the shared conflict cases drive it.
func (s *standIn) conflict() *conflicttest.StandIn {
	return &conflicttest.StandIn{
		Lock:   &s.mu,
		Seed:   func() string { return editedContact(s) },
		Exec:   func() *nodes.Exec { return s.exec(incoming) },
		Sent:   func() []conflicttest.Request { return conflicttest.HTTPRequests(s.requests, s.bodies) },
		Record: s.contactLocked,
		Edit:   func(id string, fields map[string]any) { maps.Copy(s.contactLocked(id), fields) },
	}
}

// harness is the contact upsert of incoming, duplicates checked by email, as the shared conflict cases drive it.
func harness() conflicttest.Harness {
	return conflicttest.Harness{
		Start: func(t *testing.T) *conflicttest.StandIn { return newStandIn(t).conflict() },
		Type:  "zoho.crm.record.upsert",
		Params: func(string) map[string]any {
			return map[string]any{"module": "Contacts", "record": `{{ trigger }}`, "duplicateCheckFields": "Email"}
		},
		Build:   build,
		Write:   "POST /crm/v8/Contacts/upsert",
		Fields:  "/data/0",
		Fixture: "testdata/conflict.json",
		ID: func(out map[string]any) any {
			details, _ := out["details"].(map[string]any)
			return details["id"]
		},
		Created: func(out map[string]any) any {
			switch out["action"] {
			case "insert":
				return true
			case "update":
				return false
			}
			return nil
		},
	}
}

// TestConflict runs the shared conflict cases against the Zoho CRM stand-in.
func TestConflict(t *testing.T) { conflicttest.Run(t, harness()) }

// TestConflictMatch: the match field a careful policy reads by, and the matches it cannot use.
func TestConflictMatch(t *testing.T) {
	ctx := context.Background()
	h := harness()

	t.Run("the system duplicate-check field, its value escaped", func(t *testing.T) {
		s := newStandIn(t)
		s.add("Accounts", map[string]any{"Account_Name": `Tea, Coffee (Hangzhou) \ Co`, "Phone": "0571 8888 0000", "Modified_Time": "2026-12-07T16:00:00+08:00"})
		n := build(t, "zoho.crm.record.upsert", map[string]any{"module": "Accounts", "conflictPolicy": "target",
			"record": map[string]any{"Account_Name": `Tea, Coffee (Hangzhou) \ Co`, "Phone": "0571 8888 0001"}})
		res, err := n.Execute(ctx, s.exec(nil))
		// Only the search was sent.
		if err != nil || res.Output.(map[string]any)["written"] != false || len(s.received()) != 1 {
			t.Fatalf("target wins on an account: %v %v %v", res.Output, err, s.received())
		}
		if c := s.received()[0].URL.Query().Get("criteria"); c != `(Account_Name:equals:Tea\, Coffee \(Hangzhou\) \\ Co)` {
			t.Fatalf("criteria %s", c)
		}
	})

	t.Run("several records with the value fail and write nothing", func(t *testing.T) {
		s := newStandIn(t)
		editedContact(s)
		editedContact(s)
		_, err := h.Node(t, "", map[string]any{"conflictPolicy": "fillEmpty"}).Execute(ctx, s.exec(incoming))
		failure(t, err, CodeMatchAmbiguous, nodes.Permanent)
		if w := h.Writes(s.conflict()); len(w) != 0 {
			t.Fatalf("wrote %v", w)
		}
	})

	t.Run("a match the policy cannot read fails and writes nothing", func(t *testing.T) {
		s := newStandIn(t)
		editedContact(s)
		_, err := h.Node(t, "", map[string]any{"conflictPolicy": "target", "duplicateCheckFields": "Email, Phone"}).Execute(ctx, s.exec(incoming))
		failure(t, err, CodeMatchFieldUnknown, nodes.Permanent)
		_, err = build(t, "zoho.crm.record.upsert", map[string]any{"module": "Payments_X", "conflictPolicy": "review",
			"record": map[string]any{"Name": "P-1"}}).Execute(ctx, s.exec(nil))
		failure(t, err, CodeMatchFieldUnknown, nodes.Permanent)
		if len(s.received()) != 0 {
			t.Fatalf("sent %d requests", len(s.received()))
		}
	})
}
