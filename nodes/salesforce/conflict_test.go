package salesforce

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector/conflicttest"
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

// conflict is the stand-in as the shared conflict cases drive it.
func (s *standIn) conflict() *conflicttest.StandIn {
	return &conflicttest.StandIn{
		Lock: &s.mu,
		Seed: func() string { return editedOpportunity(s) },
		Exec: func() *nodes.Exec { return s.exec(incoming, nil) },
		Sent: func() []conflicttest.Request {
			// The stand-in keeps the body of every POST and PATCH, in order.
			out := make([]conflicttest.Request, len(s.requests))
			b := 0
			for i, line := range s.requests {
				out[i].Line = line
				if method, _, _ := strings.Cut(line, " "); method == http.MethodPost || method == http.MethodPatch {
					out[i].Body = s.bodies[b]
					b++
				}
			}
			return out
		},
		Record: func(id string) map[string]any { return s.find("Opportunity", "Id", id) },
		Edit:   func(id string, fields map[string]any) { s.write(s.find("Opportunity", "Id", id), fields) },
	}
}

// harness is the opportunity upsert by external id of incoming, as the shared conflict cases drive it.
func harness() conflicttest.Harness {
	return conflicttest.Harness{
		Start: func(t *testing.T) *conflicttest.StandIn { return newStandIn(t).conflict() },
		Type:  "salesforce.record.upsert",
		Params: func(string) map[string]any {
			return map[string]any{"sObject": "Opportunity", "externalIdField": "Payment_Id__c", "externalId": extID, "fields": `{{ trigger }}`}
		},
		Build:   build,
		Write:   "PATCH /services/data/v62.0/sobjects/Opportunity/Payment_Id__c/",
		Fixture: "testdata/conflict.json",
		ID:      func(out map[string]any) any { return out["id"] },
		Created: func(out map[string]any) any { return out["created"] },
	}
}

// TestConflict runs the shared conflict cases against the Salesforce stand-in.
func TestConflict(t *testing.T) { conflicttest.Run(t, harness()) }

// TestConflictAmbiguous: an external id several records have fails and writes nothing.
func TestConflictAmbiguous(t *testing.T) {
	h, s := harness(), newStandIn(t)
	editedOpportunity(s)
	editedOpportunity(s)
	_, err := h.Node(t, "", map[string]any{"conflictPolicy": "review"}).Execute(context.Background(), s.exec(incoming, nil))
	failure(t, err, CodeExternalIDAmbiguous, nodes.Permanent)
	if len(h.Writes(s.conflict())) != 0 || len(s.sent()) != 1 {
		t.Fatalf("sent %v", s.sent())
	}
}
