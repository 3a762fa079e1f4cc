package crm

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

// TestAmbiguousGoesToReview: with "ask a person", an ambiguous match parks for a choice instead of guessing; the
// choice follows found with the chosen record, none with none, and a timeout the ambiguous port.
func TestAmbiguousGoesToReview(t *testing.T) {
	m, err := configure(t, `{"keys": [{"kind": "phone", "field": "phone", "value": "{{ trigger.phone }}"}], "onAmbiguous": "review", "reviewTimeout": "4h"}`)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]any{"phone": "138 0013 8000"}
	x := &nodes.Exec{Input: in, Env: map[string]any{"trigger": in}}
	b := customerBook()
	res, err := m.Run(context.Background(), x, b)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Park
	if p == nil || p.Kind != ReviewKind || p.Timeout.Hours() != 4 || p.Title != "2 crmtest records match by phone +8613800138000" {
		t.Fatalf("no review: %+v", res)
	}
	request, _ := json.Marshal(p.Request)
	var rv MatchReview
	_ = json.Unmarshal(request, &rv)
	if len(rv.Candidates) != 2 || rv.Candidates[0].ID != "1" || len(rv.Customer) != 1 || rv.Customer["phone"] != "+8613800138000" {
		t.Fatalf("review request %s", request)
	}
	for _, bad := range []string{`{}`, `{"candidate": "3"}`, `{"candidate": 1}`} {
		if err := nodes.CheckDecision(ReviewKind, request, json.RawMessage(bad)); err == nil {
			t.Errorf("decision %s accepted", bad)
		}
	}
	resume := func(r nodes.Resume) nodes.Result {
		t.Helper()
		r.Request = request
		x := &nodes.Exec{Input: in, Env: map[string]any{"trigger": in}, Resume: &r}
		searches := len(b.searches)
		res, err := m.Run(context.Background(), x, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.searches) != searches {
			t.Fatal("a resumed review searched again")
		}
		return res
	}
	for _, c := range []struct {
		resume nodes.Resume
		port   string
		id     any
	}{
		{nodes.Resume{Decision: json.RawMessage(`{"candidate": "2"}`), DecidedBy: "ops@example.com"}, "found", "2"},
		{nodes.Resume{Decision: json.RawMessage(`{"candidate": ""}`)}, "none", nil},
		{nodes.Resume{TimedOut: true}, "ambiguous", nil},
	} {
		if err := nodes.CheckDecision(ReviewKind, request, c.resume.Decision); err != nil && !c.resume.TimedOut {
			t.Fatal(err)
		}
		res := resume(c.resume)
		out := res.Output.(map[string]any)
		if res.Port != c.port || out["id"] != c.id || res.Park != nil {
			t.Fatalf("%+v: port %s, output %v", c.resume, res.Port, out)
		}
		if c.port == "ambiguous" && len(out["candidates"].([]any)) != 2 {
			t.Fatalf("timed out without the candidates: %v", out)
		}
	}

	// The default follows the port, as before.
	m2, _ := configure(t, `{"keys": [{"kind": "phone", "field": "phone", "value": "{{ trigger.phone }}"}]}`)
	res, _ = m2.Run(context.Background(), &nodes.Exec{Input: in, Env: map[string]any{"trigger": in}}, customerBook())
	if res.Park != nil || res.Port != "ambiguous" {
		t.Fatalf("default: %+v", res)
	}
	if _, err := configure(t, `{"keys": [{"kind": "phone", "field": "phone", "value": "x"}], "onAmbiguous": "guess"}`); err == nil {
		t.Fatal("an unknown choice was saved")
	}
}
