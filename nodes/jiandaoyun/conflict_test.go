package jiandaoyun

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
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

func updateNode(t *testing.T, id, policy string, extra map[string]any) nodes.Node {
	params := map[string]any{"app": testApp, "entry": testEntry, "dataId": id, "data": `{{ trigger }}`, "conflictPolicy": policy}
	for k, v := range extra {
		params[k] = v
	}
	return build(t, "jiandaoyun.data.update", params)
}

// writes returns the data the updates sent, in order.
func writes(s *standIn) []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	for i, p := range s.paths {
		if p == APIPath+"/app/entry/data/update" {
			out = append(out, s.bodies[i]["data"])
		}
	}
	return out
}

func (s *standIn) record(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.find(id)
}

// TestConflictPolicies runs each policy on a record edited on both sides.
func TestConflictPolicies(t *testing.T) {
	ctx := context.Background()
	all := "map[amount:map[value:100] city:map[value:杭州] customer:map[value:简道云] phone:map[value:13900000002]]"
	cases := []struct {
		policy string
		extra  map[string]any
		// want is the data the update sends; "": nothing is written.
		want string
	}{
		{"source", nil, all},
		{"target", nil, ""},
		{"fillEmpty", nil, "map[amount:map[value:100] city:map[value:杭州]]"},
		{"newer", map[string]any{"sourceUpdatedAt": "2026-12-08T05:59:59+08:00"}, ""}, // 21:59:59 UTC
		{"newer", map[string]any{"sourceUpdatedAt": "2026-12-08T06:00:01+08:00"}, all},
		{"newer", map[string]any{"sourceUpdatedAt": "{{ 1796683200000 }}"}, all}, // Unix milliseconds: 2026-12-07 22:40 UTC
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.policy, c.extra), func(t *testing.T) {
			s := newStandIn(t)
			id := editedRecord(s)
			res, err := updateNode(t, id, c.policy, c.extra).Execute(ctx, s.exec(incoming, testKey))
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
				if out["written"] != false || out["id"] != id || s.record(id)["phone"] != "13800000001" {
					t.Fatalf("%s: output %v, record %v", c.policy, out, s.record(id))
				}
			} else if len(w) != 1 || fmt.Sprint(w[0]) != c.want {
				t.Fatalf("%s wrote %v, want %s", c.policy, w, c.want)
			} else if out["_id"] != id {
				t.Fatalf("%s output %v", c.policy, out)
			}
			paths := s.requests()
			if c.policy == "source" {
				if len(paths) != 1 {
					t.Fatalf("source wins read first: %v", paths)
				}
				return
			}
			// Every careful policy read the record first, by its data_id.
			s.mu.Lock()
			read := s.bodies[0]
			s.mu.Unlock()
			if paths[0] != APIPath+"/app/entry/data/get" || fmt.Sprint(read) != fmt.Sprintf("map[app_id:%s data_id:%s entry_id:%s]", testApp, id, testEntry) {
				t.Fatalf("read %s %v", paths[0], read)
			}
		})
	}

	t.Run("a record Jiandaoyun does not have fails as the update would, and writes nothing", func(t *testing.T) {
		s := newStandIn(t)
		_, err := updateNode(t, "5f7a1c2b3d4e5f6a7b8c9d0e", "target", nil).Execute(ctx, s.exec(incoming, testKey))
		failure(t, err, "jiandaoyun_invalid_request", nodes.Permanent)
		if len(writes(s)) != 0 {
			t.Fatalf("wrote %v", writes(s))
		}
	})
}

// TestConflictReview parks on the fields both sides changed, and writes what the person chose.
func TestConflictReview(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	id := editedRecord(s)
	node := updateNode(t, id, "review", map[string]any{"reviewTimeout": "24h"})

	res, err := node.Execute(ctx, s.exec(incoming, testKey))
	if err != nil {
		t.Fatal(err)
	}
	p := res.Park
	if p == nil || p.Kind != connector.ReviewKind || p.Timeout.Hours() != 24 || len(writes(s)) != 0 {
		t.Fatalf("no park, or a write before the decision: %+v %v", res, writes(s))
	}
	request, _ := json.Marshal(p.Request)
	if string(request) != `{"provider":"jiandaoyun","object":"record","recordId":"`+id+`","fields":[{"name":"phone","source":"13900000002","target":"13800000001"}]}` {
		t.Fatalf("review request %s", request)
	}
	if p.Title != "Jiandaoyun record "+id+": 1 field differs" {
		t.Fatalf("title %q", p.Title)
	}

	resume := func(request []byte, decision string) *nodes.Exec {
		x := s.exec(incoming, testKey)
		x.Resume = &nodes.Resume{WaitID: "w1", Request: request, Decision: json.RawMessage(decision), DecidedBy: "ops@example.com"}
		return x
	}
	res, err = node.Execute(ctx, resume(request, `{"fields":{"phone":"target"}}`))
	if err != nil || res.Park != nil {
		t.Fatalf("resume: %+v %v", res, err)
	}
	if w := writes(s); len(w) != 1 || fmt.Sprint(w[0]) != "map[amount:map[value:100] city:map[value:杭州]]" {
		t.Fatalf("kept the record's phone, wrote %v", w)
	}
	if r := s.record(id); r["phone"] != "13800000001" || r["city"] != "杭州" {
		t.Fatalf("record after the decision: %v", r)
	}

	// The phone changed in Jiandaoyun while a review waited: the decision no longer answers it, and the run asks
	// again about the current value.
	s.mu.Lock()
	s.find(id)["phone"] = "13700000003"
	s.mu.Unlock()
	before := len(writes(s))
	res, err = node.Execute(ctx, resume(request, `{"fields":{"phone":"source"}}`))
	if err != nil || res.Park == nil || len(writes(s)) != before {
		t.Fatalf("a stale decision was applied: %+v %v", res, err)
	}
	again, _ := json.Marshal(res.Park.Request)
	var rv connector.ConflictReview
	_ = json.Unmarshal(again, &rv)
	if !rv.Changed || len(rv.Fields) != 1 || fmt.Sprint(rv.Fields[0].Target) != "13700000003" {
		t.Fatalf("second review %s", again)
	}

	// Choosing the source writes it.
	if _, err := node.Execute(ctx, resume(again, `{"fields":{"phone":"source"}}`)); err != nil {
		t.Fatal(err)
	}
	if r := s.record(id); r["phone"] != "13900000002" {
		t.Fatalf("record after choosing the source: %v", r)
	}

	// Nobody decided in time: the step fails for good and writes nothing.
	before = len(writes(s))
	x := s.exec(incoming, testKey)
	x.Resume = &nodes.Resume{WaitID: "w3", TimedOut: true}
	_, err = node.Execute(ctx, x)
	failure(t, err, connector.CodeReviewTimedOut, nodes.Permanent)
	if len(writes(s)) != before {
		t.Fatal("a timed-out review wrote")
	}
}
