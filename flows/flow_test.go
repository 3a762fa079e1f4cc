package flows_test

import (
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/flows"
	_ "github.com/ferry-hq/ferry/internal/testnodes"
)

const good = `{
  "schema": 1,
  "name": "order paid",
  "nodes": [
    {"id": "in", "type": "test.trigger"},
    {"id": "check", "type": "test.branch", "params": {"cond": "trigger.amount > 100"}},
    {"id": "big", "type": "test.pass"},
    {"id": "small", "type": "test.pass"}
  ],
  "edges": [
    {"source": "in", "target": "check"},
    {"source": "check", "sourcePort": "yes", "target": "big"},
    {"source": "check", "sourcePort": "no", "target": "small"}
  ]
}`

func TestParseAndCompile(t *testing.T) {
	f, err := flows.Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if f.Nodes[0].Version != 1 {
		t.Errorf("version not defaulted to latest: %d", f.Nodes[0].Version)
	}
	if f.Edges[0].SourcePort != "main" || f.Edges[0].TargetPort != "main" {
		t.Errorf("ports not defaulted: %+v", f.Edges[0])
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Triggers) != 1 || c.Triggers[0].Def.ID != "in" {
		t.Errorf("triggers: %+v", c.Triggers)
	}
	if next := c.Nodes["check"].Next["yes"]; len(next) != 1 || next[0].Def.ID != "big" {
		t.Errorf("yes port wiring: %+v", next)
	}
}

// TestProblems checks I9: every kind of bad document gets its stable code and says where.
func TestProblems(t *testing.T) {
	cases := []struct {
		name, doc, code, node, field string
		line, column                 int
	}{
		{name: "malformed JSON", doc: "{\n  \"schema\": 1,\n  \"name\": \"x\",,\n}", code: flows.CodeJSONInvalid, line: 3, column: 15},
		{name: "newer schema", doc: `{"schema": 99, "name": "x", "nodes": [], "edges": []}`, code: flows.CodeSchemaUnsupported, field: "schema"},
		{name: "missing schema", doc: `{"name": "x", "nodes": [], "edges": []}`, code: flows.CodeSchemaUnsupported, field: "schema"},
		{name: "unknown field", doc: `{"schema": 1, "name": "x", "nodez": []}`, code: flows.CodeJSONInvalid, field: "nodez"},
		{name: "wrong type", doc: `{"schema": 1, "name": "x", "nodes": {}}`, code: flows.CodeJSONInvalid, field: "nodes"},
		{name: "unknown node type", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"nope.node"}],"edges":[]}`, code: flows.CodeNodeTypeUnknown, node: "a", field: "type"},
		{name: "unknown version", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger","version":7}],"edges":[]}`, code: flows.CodeNodeVersion, node: "a", field: "version"},
		{name: "no name", doc: `{"schema":1,"name":" ","nodes":[{"id":"a","type":"test.trigger"}],"edges":[]}`, code: flows.CodeNameRequired, field: "name"},
		{name: "NUL in the name", doc: `{"schema":1,"name":"a\u0000b","nodes":[{"id":"a","type":"test.trigger"}],"edges":[]}`, code: "name_invalid", field: "name"},
		{name: "bidi override in a node name", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger","name":"pay\u202Eyap"}],"edges":[]}`, code: "name_invalid", node: "a", field: "nodes[0].name"},
		{name: "negative concurrency", doc: `{"schema":1,"name":"x","settings":{"concurrency":-1},"nodes":[{"id":"a","type":"test.trigger"}],"edges":[]}`, code: flows.CodeSettingInvalid, field: "settings.concurrency"},
		{name: "ordering key does not compile", doc: `{"schema":1,"name":"x","settings":{"orderingKey":"trigger.body.\n (order"},"nodes":[{"id":"a","type":"test.trigger"}],"edges":[]}`, code: "expression_invalid", field: "settings.orderingKey", line: 2, column: 3},
		{name: "no trigger", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.pass"}],"edges":[]}`, code: flows.CodeNoTrigger},
		{name: "bad id", doc: `{"schema":1,"name":"x","nodes":[{"id":"a b","type":"test.trigger"}],"edges":[]}`, code: flows.CodeNodeIDInvalid, node: "a b"},
		{name: "duplicate id", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"a","type":"test.pass"}],"edges":[]}`, code: flows.CodeNodeIDDuplicate, node: "a"},
		{name: "dangling edge", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"}],"edges":[{"source":"a","target":"ghost"}]}`, code: flows.CodeEdgeDangling, field: "edges[0]"},
		{name: "unknown output port", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.pass"}],"edges":[{"source":"a","sourcePort":"maybe","target":"b"}]}`, code: flows.CodePortUnknown, node: "a", field: "edges[0].sourcePort"},
		{name: "unknown input port", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.pass"}],"edges":[{"source":"a","target":"b","targetPort":"side"}]}`, code: flows.CodePortUnknown, node: "b", field: "edges[0].targetPort"},
		{name: "edge into trigger", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.pass"}],"edges":[{"source":"a","target":"b"},{"source":"b","target":"a"}]}`, code: flows.CodeEdgeIntoTrigger, node: "a"},
		{name: "cycle", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.pass"},{"id":"c","type":"test.pass"}],"edges":[{"source":"a","target":"b"},{"source":"b","target":"c"},{"source":"c","target":"b"}]}`, code: flows.CodeCycle, node: "b"},
		{name: "self loop", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.pass"}],"edges":[{"source":"a","target":"b"},{"source":"b","target":"b"}]}`, code: flows.CodeCycle, node: "b"},
		{name: "missing required param", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.value"}],"edges":[{"source":"a","target":"b"}]}`, code: "param_required", node: "b", field: "expr"},
		{name: "unknown param", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger","params":{"colour":"red"}}],"edges":[]}`, code: "param_unknown", node: "a", field: "colour"},
		{name: "param of wrong type", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.flaky","params":{"failTimes":"two"}}],"edges":[{"source":"a","target":"b"}]}`, code: "param_invalid", node: "b", field: "failTimes"},
		{name: "option not listed", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.flaky","params":{"kind":"sometimes"}}],"edges":[{"source":"a","target":"b"}]}`, code: "param_invalid", node: "b", field: "kind"},
		{name: "expression does not compile", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.value","params":{"expr":"trigger.amount +\n  * 2"}}],"edges":[{"source":"a","target":"b"}]}`, code: "expression_invalid", node: "b", field: "expr", line: 2, column: 3},
		{name: "misspelt variable", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.value","params":{"expr":"triger.amount"}}],"edges":[{"source":"a","target":"b"}]}`, code: "expression_invalid", node: "b", field: "expr", line: 1, column: 1},
		{name: "condition not boolean", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.branch","params":{"cond":"'yes'"}}],"edges":[{"source":"a","target":"b"}]}`, code: "expression_invalid", node: "b", field: "cond"},
		{name: "bad retry", doc: `{"schema":1,"name":"x","nodes":[{"id":"a","type":"test.trigger","retry":{"maxAttempts":3,"backoff":"soon"}}],"edges":[]}`, code: flows.CodeRetryInvalid, node: "a", field: "retry.backoff"},
		{name: "bad saveData", doc: `{"schema":1,"name":"x","settings":{"saveData":"some"},"nodes":[{"id":"a","type":"test.trigger"}],"edges":[]}`, code: flows.CodeSettingInvalid, field: "settings.saveData"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var problems []flows.Problem
			f, err := flows.Parse([]byte(tc.doc))
			if err != nil {
				problems = flows.Problems(err)
			} else {
				problems = flows.Validate(f)
			}
			if len(problems) == 0 {
				t.Fatalf("no problem reported")
			}
			var found *flows.Problem
			for i := range problems {
				if problems[i].Code == tc.code {
					found = &problems[i]
					break
				}
			}
			if found == nil {
				t.Fatalf("want code %s, got %+v", tc.code, problems)
			}
			if found.NodeID != tc.node {
				t.Errorf("node: want %q, got %q", tc.node, found.NodeID)
			}
			if tc.field != "" && found.Field != tc.field {
				t.Errorf("field: want %q, got %q", tc.field, found.Field)
			}
			if tc.line != 0 && (found.Line != tc.line || found.Column != tc.column) {
				t.Errorf("position: want %d:%d, got %d:%d (%s)", tc.line, tc.column, found.Line, found.Column, found.Message)
			}
			if found.Message == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	doc := `{"schema":1,"name":"","nodes":[{"id":"a","type":"test.trigger"},{"id":"b","type":"test.value","params":{"expr":"1 +"}},{"id":"c","type":"nope"}],"edges":[{"source":"a","target":"zz"}]}`
	f, err := flows.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	problems := flows.Validate(f)
	codes := map[string]bool{}
	for _, p := range problems {
		codes[p.Code] = true
	}
	for _, want := range []string{flows.CodeNameRequired, "expression_invalid", flows.CodeNodeTypeUnknown, flows.CodeEdgeDangling} {
		if !codes[want] {
			t.Errorf("missing %s in %+v", want, problems)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	f, err := flows.Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := flows.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := again.Marshal()
	if string(b) != string(b2) {
		t.Errorf("canonical form is not stable:\n%s\n%s", b, b2)
	}
	if strings.Contains(string(b), `"ui"`) {
		t.Error("empty ui field should be omitted")
	}
}

func TestTooLarge(t *testing.T) {
	big := `{"schema":1,"name":"` + strings.Repeat("x", flows.MaxDocumentBytes) + `"}`
	_, err := flows.Parse([]byte(big))
	if p := flows.Problems(err); len(p) != 1 || p[0].Code != flows.CodeTooLarge {
		t.Fatalf("want too-large problem, got %v", err)
	}
}

func TestRetryDelay(t *testing.T) {
	p := flows.RetryPolicy{MaxAttempts: 5, Backoff: 1_000_000_000, MaxBackoff: 4_000_000_000}
	for attempt, base := range map[int]int64{2: 1e9, 3: 2e9, 4: 4e9, 5: 4e9} {
		d := int64(p.Delay(attempt))
		if d < base*8/10 || d > base*12/10 {
			t.Errorf("attempt %d: delay %d outside 80%%..120%% of %d", attempt, d, base)
		}
	}
}
