package hubspot

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector/conflicttest"
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

// conflict is the stand-in as the shared conflict cases drive it.
func (s *standIn) conflict() *conflicttest.StandIn {
	return &conflicttest.StandIn{
		Lock: &s.mu,
		Seed: func() string { return editedContact(s) },
		Exec: func() *nodes.Exec { return s.exec(incoming, testToken, nil) },
		Sent: func() []conflicttest.Request { return conflicttest.HTTPRequests(s.requests, s.bodies) },
		Record: func(id string) map[string]any {
			props, _ := s.records["contacts"][id]["properties"].(map[string]any)
			return props
		},
		Edit: func(id string, fields map[string]any) { s.save("contacts", id, fields) },
	}
}

// harness is the contact upsert by email of incoming, as the shared conflict cases drive it.
func harness() conflicttest.Harness {
	return conflicttest.Harness{
		Start: func(t *testing.T) *conflicttest.StandIn { return newStandIn(t).conflict() },
		Type:  "hubspot.contact.upsert",
		Params: func(string) map[string]any {
			return map[string]any{"idProperty": "email", "value": "ana@example.com", "properties": `{{ trigger }}`}
		},
		Build:   build,
		Write:   "POST /crm/v3/objects/contacts/batch/upsert",
		Fields:  "/inputs/0/properties",
		Fixture: "testdata/conflict.json",
		ID:      func(out map[string]any) any { return out["id"] },
		Created: func(out map[string]any) any { return out["new"] },
	}
}

// TestConflict runs the shared conflict cases against the HubSpot stand-in.
func TestConflict(t *testing.T) { conflicttest.Run(t, harness()) }

// TestConflictNewerNeedsTime: newer wins without the source's time is refused when the flow is saved.
func TestConflictNewerNeedsTime(t *testing.T) {
	reg, _ := nodes.Lookup("hubspot.contact.upsert", 1)
	raw := map[string]json.RawMessage{"idProperty": json.RawMessage(`"email"`), "value": json.RawMessage(`"a@b.c"`),
		"conflictPolicy": json.RawMessage(`"newer"`)}
	if _, err := reg.New(nodes.NewConfig(&reg.Spec, "n1", raw, "cred-1")); err == nil {
		t.Fatal("newer wins without the source's time was accepted")
	}
}

// TestConflictReviewAgrees: a record that agrees with the source in every field it holds is written without
// asking.
func TestConflictReviewAgrees(t *testing.T) {
	h, s := harness(), newStandIn(t)
	s.mu.Lock()
	s.save("contacts", "", map[string]any{"email": "ana@example.com", "phone": "+8613900000002"})
	s.mu.Unlock()
	res, err := h.Node(t, "", map[string]any{"conflictPolicy": "review"}).Execute(context.Background(), s.exec(incoming, testToken, nil))
	if err != nil || res.Park != nil || len(h.Writes(s.conflict())) != 1 {
		t.Fatalf("no conflict still parked: %+v %v", res, err)
	}
}
