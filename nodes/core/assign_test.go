package core

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

const threeOwners = `[{"id": "a", "name": "Ann"}, {"id": "b", "name": "Bo"}, {"id": "c", "name": "Cai"}]`

// assignStep is one execution of an assign node of flow1 with its own node id, as the engine would run it.
type assignStep struct {
	node   nodes.Node
	nodeID string
	rot    nodes.Rotations
	mode   nodes.Mode
	vars   map[string]any
}

func newAssignStep(t *testing.T, params string) *assignStep {
	t.Helper()
	return &assignStep{node: mustBuild(t, AssignType, params), nodeID: "n1", rot: nodes.NewMemoryRotations(), mode: nodes.ModeLive}
}

func (s *assignStep) exec(t *testing.T, input any) (nodes.Result, error) {
	t.Helper()
	e := env(input, input)
	if s.vars != nil {
		e["vars"] = s.vars
	}
	return s.node.Execute(t.Context(), &nodes.Exec{Input: input, Env: e, RunID: "run1", FlowID: "flow1", NodeID: s.nodeID,
		Attempt: 1, Mode: s.mode, Rotations: s.rot})
}

// assigned runs the step and returns its assignment.
func (s *assignStep) assigned(t *testing.T, input any) map[string]any {
	t.Helper()
	res, err := s.exec(t, input)
	if err != nil {
		t.Fatalf("assign: %v", err)
	}
	out, ok := res.Output.(map[string]any)
	if !ok {
		t.Fatalf("output %T is not an object", res.Output)
	}
	a, ok := out["assignment"].(map[string]any)
	if !ok {
		t.Fatalf("output has no assignment: %v", out)
	}
	return a
}

func ownerID(t *testing.T, a map[string]any) string {
	t.Helper()
	o, ok := a["owner"].(map[string]any)
	if !ok {
		t.Fatalf("assignment has no owner: %v", a)
	}
	// Ids given as numbers stay numbers in the output.
	return fmt.Sprint(o["id"])
}

// owners runs the step n times on input and returns who got each item.
func (s *assignStep) owners(t *testing.T, n int, input any) string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = ownerID(t, s.assigned(t, input))
	}
	return strings.Join(ids, " ")
}

func skippedIDs(a map[string]any) string {
	var ids []string
	for _, s := range a["skipped"].([]any) {
		m := s.(map[string]any)
		ids = append(ids, m["id"].(string)+"="+m["reason"].(string))
	}
	return strings.Join(ids, " ")
}

func TestAssignRoundRobin(t *testing.T) {
	s := newAssignStep(t, `{"owners": `+threeOwners+`}`)
	lead := map[string]any{"email": "x@example.com"}
	a := s.assigned(t, lead)
	if !reflect.DeepEqual(a["owner"], map[string]any{"id": "a", "name": "Ann"}) || a["reason"] != "roundRobin" || len(a["skipped"].([]any)) != 0 {
		t.Fatalf("first assignment = %v", a)
	}
	if got := s.owners(t, 5, lead); got != "b c a b c" {
		t.Fatalf("turns after the first = %s, want b c a b c", got)
	}
	res, err := s.exec(t, lead)
	if err != nil || res.Output.(map[string]any)["email"] != "x@example.com" || lead["assignment"] != nil {
		t.Fatalf("the output is not the input plus the assignment, or the input was changed: %v %v", res.Output, err)
	}
	// An input that is not an object is kept beside the assignment.
	res, err = s.exec(t, "lead-17")
	if err != nil || res.Output.(map[string]any)["input"] != "lead-17" {
		t.Fatalf("text input: %v %v", res.Output, err)
	}
}

func TestAssignWeights(t *testing.T) {
	s := newAssignStep(t, `{"owners": [{"id": "a", "weight": 2}, {"id": "b"}, {"id": "c", "weight": 3}]}`)
	got := s.owners(t, 12, nil)
	// Each cycle of 6 turns gives a 2, b 1, c 3, spread out rather than in a row.
	if got != "c a b c a c c a b c a c" {
		t.Fatalf("weighted turns = %s", got)
	}
	counts := map[string]int{}
	for _, id := range strings.Fields(s.owners(t, 600, nil)) {
		counts[id]++
	}
	if counts["a"] != 200 || counts["b"] != 100 || counts["c"] != 300 {
		t.Fatalf("600 weighted turns: %v", counts)
	}
}

func TestAssignSkipsOwnersOnLeave(t *testing.T) {
	setNow(t, time.Date(2026, 12, 20, 9, 0, 0, 0, time.UTC))
	s := newAssignStep(t, `{"owners": [{"id": "a", "name": "Ann"}, {"id": "b", "name": "Bo", "away": true},
		{"id": "c", "name": "Cai", "awayUntil": "2026-12-21"}, {"id": "d", "name": "Dee"}], "onLeave": "vars.onLeave"}`)
	s.vars = map[string]any{"onLeave": []any{}}
	a := s.assigned(t, nil)
	if ownerID(t, a) != "a" || skippedIDs(a) != "b=away c=awayUntil" {
		t.Fatalf("assignment = %v", a)
	}
	if until := a["skipped"].([]any)[1].(map[string]any)["awayUntil"]; until != "2026-12-21T00:00:00Z" {
		t.Fatalf("away until = %v", until)
	}
	if got := s.owners(t, 3, nil); got != "d a d" {
		t.Fatalf("turns with b and c away = %s", got)
	}

	// On leave by list and by text, ids given as numbers or text.
	s.vars["onLeave"] = []any{"d"}
	a = s.assigned(t, nil)
	if ownerID(t, a) != "a" || skippedIDs(a) != "b=away c=awayUntil d=onLeave" {
		t.Fatalf("with d on leave: %v", a)
	}
	s.vars["onLeave"] = "a, d"
	setNow(t, time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)) // c is back from the start of the day
	if got := s.owners(t, 2, nil); got != "c c" {
		t.Fatalf("with a and d on leave and c back = %s", got)
	}

	s.vars["onLeave"] = map[string]any{"a": true}
	_, err := s.exec(t, nil)
	wantFailure(t, err, nodes.Permanent, CodeAssignLeaveInvalid)
}

func TestAssignEveryoneAway(t *testing.T) {
	s := newAssignStep(t, `{"owners": [{"id": "a", "away": true}, {"id": "b"}], "onLeave": "[\"b\"]"}`)
	_, err := s.exec(t, nil)
	e := wantFailure(t, err, nodes.Permanent, CodeAssignNoOwner)
	skipped := e.Details.(map[string]any)["skipped"].([]any)
	if len(skipped) != 2 || skipped[1].(map[string]any)["reason"] != "onLeave" {
		t.Fatalf("details = %v", e.Details)
	}
	// Nobody could take the item, so no turn was used up.
	if n, _ := s.rot.Advance(t.Context(), "flow:flow1:n1"); n != 0 {
		t.Fatalf("a failed assignment took turn %d", n)
	}
}

func TestAssignRules(t *testing.T) {
	owners := `[{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}]`
	rules := `[{"when": "prev.amount >= 1000", "owner": "c"},
		{"when": "prev.region == \"east\"", "owner": "a"},
		{"when": "prev.source == \"partner\"", "owner": "{{ prev.partnerOwner }}"}]`
	s := newAssignStep(t, `{"mode": "rules", "owners": `+owners+`, "rules": `+rules+`, "onLeave": "vars.onLeave"}`)
	s.vars = map[string]any{"onLeave": nil}
	tests := []struct {
		name, onLeave string
		lead          map[string]any
		owner, reason string
		skipped       string
	}{
		{"first rule", "", map[string]any{"amount": 5000, "region": "west"}, "c", "rule:1", ""},
		{"first match wins", "", map[string]any{"amount": 5000, "region": "east"}, "c", "rule:1", ""},
		{"second rule", "", map[string]any{"amount": 10, "region": "east"}, "a", "rule:2", ""},
		{"owner from the data", "", map[string]any{"amount": 10, "source": "partner", "partnerOwner": "d"}, "d", "rule:3", ""},
		{"rule owner away: next match", "c", map[string]any{"amount": 5000, "region": "east"}, "a", "rule:2", "c=onLeave"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.vars["onLeave"] = tc.onLeave
			a := s.assigned(t, tc.lead)
			if ownerID(t, a) != tc.owner || a["reason"] != tc.reason || skippedIDs(a) != tc.skipped {
				t.Fatalf("assignment = %v; want %s by %s skipping %q", a, tc.owner, tc.reason, tc.skipped)
			}
		})
	}

	// No rule matches: round-robin over the available owners, which only these items move on.
	s.vars["onLeave"] = "b"
	var got []string
	for range 4 {
		a := s.assigned(t, map[string]any{"amount": 1})
		if a["reason"] != "roundRobin" || skippedIDs(a) != "b=onLeave" {
			t.Fatalf("fallback assignment = %v", a)
		}
		got = append(got, ownerID(t, a))
	}
	if strings.Join(got, " ") != "a c d a" {
		t.Fatalf("fallback turns = %v", got)
	}

	// A rule naming someone outside the list fails for good.
	s.vars["onLeave"] = ""
	_, err := s.exec(t, map[string]any{"amount": 1, "source": "partner", "partnerOwner": "zed"})
	e := wantFailure(t, err, nodes.Permanent, CodeAssignUnknownOwner)
	if e.Details.(map[string]any)["field"] != "rules[2].owner" {
		t.Fatalf("details = %v", e.Details)
	}
}

func TestAssignRulesDefaultOwner(t *testing.T) {
	s := newAssignStep(t, `{"mode": "rules", "owners": [{"id": "a"}, {"id": "b"}, {"id": "boss"}],
		"rules": [{"when": "prev.vip == true", "owner": "a"}], "fallback": "owner", "defaultOwner": "boss", "onLeave": "vars.onLeave"}`)
	s.vars = map[string]any{"onLeave": ""}
	a := s.assigned(t, map[string]any{})
	if ownerID(t, a) != "boss" || a["reason"] != "default" {
		t.Fatalf("no rule matched: %v", a)
	}
	// The default owner away: round-robin instead.
	s.vars["onLeave"] = "boss"
	a = s.assigned(t, map[string]any{})
	if ownerID(t, a) != "a" || a["reason"] != "roundRobin" || skippedIDs(a) != "boss=onLeave" {
		t.Fatalf("default owner away: %v", a)
	}
	// A VIP whose rule owner is away also falls to the default, then to round-robin.
	s.vars["onLeave"] = "a, boss"
	a = s.assigned(t, map[string]any{"vip": true})
	if ownerID(t, a) != "b" || skippedIDs(a) != "a=onLeave boss=onLeave" {
		t.Fatalf("rule and default owners away: %v", a)
	}
}

func TestAssignFewestOpen(t *testing.T) {
	s := newAssignStep(t, `{"mode": "fewestOpen", "owners": `+threeOwners+`, "openCounts": "prev.open", "onLeave": "vars.onLeave"}`)
	s.vars = map[string]any{"onLeave": ""}
	a := s.assigned(t, map[string]any{"open": map[string]any{"a": 4, "b": 2, "c": 3.0}})
	if ownerID(t, a) != "b" || a["reason"] != "fewestOpen" {
		t.Fatalf("counts by owner: %v", a)
	}
	// One owner id per open item (the owners of a CRM search's results); owners left out have none.
	a = s.assigned(t, map[string]any{"open": []any{"a", "b", "a", nil}})
	if ownerID(t, a) != "c" {
		t.Fatalf("ids of open items: %v", a)
	}
	// The owner with fewest is away: the next fewest.
	s.vars["onLeave"] = "c"
	a = s.assigned(t, map[string]any{"open": []any{"a", "b", "a"}})
	if ownerID(t, a) != "b" || skippedIDs(a) != "c=onLeave" {
		t.Fatalf("fewest away: %v", a)
	}
	// Ties take turns from the rotation.
	s.vars["onLeave"] = ""
	tied := map[string]any{"open": map[string]any{"a": 1, "b": 1, "c": 5}}
	if got := s.owners(t, 4, tied); got != "a b a b" {
		t.Fatalf("tied owners = %s, want a b a b", got)
	}

	for _, bad := range []any{"a,b", map[string]any{"a": "many"}, map[string]any{"a": -1}, []any{true}} {
		_, err := s.exec(t, map[string]any{"open": bad})
		wantFailure(t, err, nodes.Permanent, CodeAssignCountsInvalid)
	}
}

func TestAssignFewestOpenWeighted(t *testing.T) {
	// Weight 2 carries twice the load: 5 open items for a count as 2.5 against b's 3.
	s := newAssignStep(t, `{"mode": "fewestOpen", "owners": [{"id": "a", "weight": 2}, {"id": "b"}], "openCounts": "prev"}`)
	if got := ownerID(t, s.assigned(t, map[string]any{"a": 5, "b": 3})); got != "a" {
		t.Fatalf("weighted load: %s", got)
	}
	if got := ownerID(t, s.assigned(t, map[string]any{"a": 7, "b": 3})); got != "b" {
		t.Fatalf("weighted load: %s", got)
	}
}

func TestAssignOwnersFrom(t *testing.T) {
	s := newAssignStep(t, `{"ownersFrom": "prev.team"}`)
	team := []any{
		map[string]any{"id": 51234, "name": "Li Na", "email": "li@example.com"},
		map[string]any{"id": "51235", "away": true},
		map[string]any{"id": "51236", "awayUntil": "2000-01-01", "weight": 2},
	}
	// 51236 has weight 2: two turns in every three.
	if got := s.owners(t, 3, map[string]any{"team": team}); got != "51236 51234 51236" {
		t.Fatalf("turns = %s", got)
	}
	s.assigned(t, map[string]any{"team": team})
	a := s.assigned(t, map[string]any{"team": team})
	if a["owner"].(map[string]any)["email"] != "li@example.com" || skippedIDs(a) != "51235=away" {
		t.Fatalf("the owner's fields are passed on: %v", a)
	}
	a = s.assigned(t, map[string]any{"team": []any{"u1", "u2"}})
	if !reflect.DeepEqual(a["owner"], map[string]any{"id": "u1"}) && !reflect.DeepEqual(a["owner"], map[string]any{"id": "u2"}) {
		t.Fatalf("owners as ids: %v", a)
	}
	for _, bad := range []any{
		nil, "u1", []any{}, []any{"u1", "u1"}, []any{map[string]any{"name": "no id"}},
		[]any{map[string]any{"id": "u1", "weight": 0}}, []any{map[string]any{"id": "u1", "awayUntil": "soon"}},
		[]any{map[string]any{"id": "u1", "away": "maybe"}},
	} {
		_, err := s.exec(t, map[string]any{"team": bad})
		wantFailure(t, err, nodes.Permanent, CodeAssignOwnersInvalid)
	}
}

func TestAssignRotationKeys(t *testing.T) {
	rot := nodes.NewMemoryRotations()
	live := newAssignStep(t, `{"owners": `+threeOwners+`}`)
	live.rot = rot
	test := &assignStep{node: live.node, nodeID: "n1", rot: rot, mode: nodes.ModeTest}
	if got := test.owners(t, 2, nil); got != "a b" {
		t.Fatalf("test runs = %s", got)
	}
	// Test runs took turns of their own rotation: the live one starts at the beginning, and test runs go on.
	if got := live.owners(t, 1, nil); got != "a" {
		t.Fatalf("live run after two test runs = %s", got)
	}
	if got := test.owners(t, 1, nil); got != "c" {
		t.Fatalf("third test run = %s", got)
	}
	// Another node of the flow has a rotation of its own.
	other := &assignStep{node: live.node, nodeID: "n2", rot: rot, mode: nodes.ModeLive}
	if got := other.owners(t, 1, nil); got != "a" {
		t.Fatalf("another node = %s", got)
	}

	// A key per region keeps one rotation each; two nodes giving the same key share it.
	byRegion := newAssignStep(t, `{"owners": `+threeOwners+`, "rotationKey": "sales-{{ prev.region }}"}`)
	byRegion.rot = rot
	twin := &assignStep{node: mustBuild(t, AssignType, `{"owners": `+threeOwners+`, "rotationKey": "sales-{{ prev.region }}"}`),
		nodeID: "n9", rot: rot, mode: nodes.ModeLive}
	eu, us := map[string]any{"region": "eu"}, map[string]any{"region": "us"}
	got := []string{byRegion.owners(t, 1, eu), byRegion.owners(t, 1, eu), byRegion.owners(t, 1, us), twin.owners(t, 1, eu)}
	if strings.Join(got, " ") != "a b a c" {
		t.Fatalf("regional turns = %v, want a b a c", got)
	}
	// A key that comes out empty falls back to the node's own rotation.
	if got := byRegion.owners(t, 1, map[string]any{"region": nil}); got != "a" {
		t.Fatalf("empty key = %s", got)
	}
	_, err := byRegion.exec(t, map[string]any{"region": strings.Repeat("r", MaxAssignKey)})
	wantFailure(t, err, nodes.Permanent, CodeAssignKeyInvalid)
}

// failingRotations stands for a store that cannot be reached.
type failingRotations struct{}

func (failingRotations) Advance(context.Context, string) (int64, error) {
	return 0, errors.New("connection refused")
}

func TestAssignStateUnavailable(t *testing.T) {
	s := newAssignStep(t, `{"owners": `+threeOwners+`}`)
	s.rot = failingRotations{}
	_, err := s.exec(t, nil)
	wantFailure(t, err, nodes.Retryable, CodeAssignStateFailed)
	// Without a store the turns are kept in the process (for as long as it lives, so a repeated test starts
	// wherever the last left off).
	s.rot = nil
	s.nodeID = "no-store"
	if got := s.owners(t, 3, nil); got != "a b c" && got != "b c a" && got != "c a b" {
		t.Fatalf("in-process turns = %s, want each owner in turn", got)
	}
}

func TestAssignConfig(t *testing.T) {
	tests := []struct {
		name, params, field, code string
	}{
		{"no owners", `{}`, "owners", nodes.CodeParamRequired},
		{"both owner sources", `{"owners": [{"id": "a"}], "ownersFrom": "vars.team"}`, "ownersFrom", nodes.CodeParamInvalid},
		{"repeated id", `{"owners": [{"id": "a"}, {"id": "a"}]}`, "owners", nodes.CodeParamInvalid},
		{"owner without id", `{"owners": [{"name": "Ann"}]}`, "owners[0].id", nodes.CodeParamRequired},
		{"weight out of range", `{"owners": [{"id": "a", "weight": 101}]}`, "owners", nodes.CodeParamInvalid},
		{"bad date", `{"owners": [{"id": "a", "awayUntil": "next week"}]}`, "owners[0].awayUntil", nodes.CodeParamInvalid},
		{"rules missing", `{"mode": "rules", "owners": [{"id": "a"}]}`, "rules", nodes.CodeParamRequired},
		{"rule owner unknown", `{"mode": "rules", "owners": [{"id": "a"}], "rules": [{"when": "true", "owner": "z"}]}`,
			"rules[0].owner", nodes.CodeParamInvalid},
		{"rule condition broken", `{"mode": "rules", "owners": [{"id": "a"}], "rules": [{"when": "prev.amount >", "owner": "a"}]}`,
			"rules[0].when", "expression_invalid"},
		{"default owner missing", `{"mode": "rules", "owners": [{"id": "a"}], "rules": [{"when": "true", "owner": "a"}], "fallback": "owner"}`,
			"defaultOwner", nodes.CodeParamRequired},
		{"default owner unknown", `{"mode": "rules", "owners": [{"id": "a"}], "rules": [{"when": "true", "owner": "a"}], "fallback": "owner", "defaultOwner": "z"}`,
			"defaultOwner", nodes.CodeParamInvalid},
		{"counts missing", `{"mode": "fewestOpen", "owners": [{"id": "a"}]}`, "openCounts", nodes.CodeParamRequired},
		{"unknown mode", `{"mode": "random", "owners": [{"id": "a"}]}`, "mode", nodes.CodeParamInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, AssignType, tc.params, "")
			wantProblem(t, err, tc.field, tc.code)
		})
	}
	// Rule owners given by expressions are checked when they are known, at run time.
	mustBuild(t, AssignType, `{"mode": "rules", "owners": [{"id": "a"}], "rules": [{"when": "true", "owner": "{{ prev.owner }}"}]}`)
}
