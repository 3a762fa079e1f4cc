package jiandaoyun

import (
	"context"
	"maps"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector/conflicttest"
)

// editedRecord stores a record the sales team has edited since the last sync: its phone corrected, no city yet,
// last changed at 22:00 UTC on 2026-12-07.
func editedRecord(s *standIn) string {
	s.add(1, func(int) map[string]any {
		return map[string]any{"customer": "简道云", "phone": "13800000001", "city": "", "updateTime": "2026-12-07T22:00:00.000Z"}
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[len(s.records)-1]["_id"].(string)
}

// incoming is what the shop says of the customer: another phone, the same name, a city and an amount.
var incoming = map[string]any{"phone": "13900000002", "customer": "简道云", "city": "杭州", "amount": 100}

// conflict is the stand-in as the shared conflict cases drive it.
func (s *standIn) conflict() *conflicttest.StandIn {
	return &conflicttest.StandIn{
		Lock: &s.mu,
		Seed: func() string { return editedRecord(s) },
		Exec: func() *nodes.Exec { return s.exec(incoming, testKey) },
		Sent: func() []conflicttest.Request {
			// Jiandaoyun takes only POSTs of JSON bodies, which the stand-in keeps by path.
			out := make([]conflicttest.Request, len(s.paths))
			for i, p := range s.paths {
				out[i].Line = "POST " + p
				if i < len(s.bodies) {
					out[i].Body = s.bodies[i]
				}
			}
			return out
		},
		Record: func(id string) map[string]any { return s.find(id) },
		Edit:   func(id string, fields map[string]any) { maps.Copy(s.find(id), fields) },
	}
}

// harness is the update of a record with incoming, as the shared conflict cases drive it.
func harness() conflicttest.Harness {
	return conflicttest.Harness{
		Start: func(t *testing.T) *conflicttest.StandIn { return newStandIn(t).conflict() },
		Type:  "jiandaoyun.data.update",
		Params: func(id string) map[string]any {
			return map[string]any{"app": testApp, "entry": testEntry, "dataId": id, "data": `{{ trigger }}`}
		},
		Build:   build,
		Write:   "POST " + APIPath + "/app/entry/data/update",
		Fields:  "/data",
		Fixture: "testdata/conflict.json",
		ID:      func(out map[string]any) any { return out["_id"] },
	}
}

// TestConflict runs the shared conflict cases against the Jiandaoyun stand-in.
func TestConflict(t *testing.T) { conflicttest.Run(t, harness()) }

// TestConflictMissing: a record Jiandaoyun does not have fails as the update would, and writes nothing.
func TestConflictMissing(t *testing.T) {
	h, s := harness(), newStandIn(t)
	_, err := h.Node(t, "5f7a1c2b3d4e5f6a7b8c9d0e", map[string]any{"conflictPolicy": "target"}).Execute(context.Background(), s.exec(incoming, testKey))
	failure(t, err, "jiandaoyun_invalid_request", nodes.Permanent)
	if w := h.Writes(s.conflict()); len(w) != 0 {
		t.Fatalf("wrote %v", w)
	}
}
