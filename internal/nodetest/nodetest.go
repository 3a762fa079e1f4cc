// Package nodetest builds nodes for tests the way the engine does: from the spec a node type registered, with
// its parameters as JSON, so every connector's tests exercise the same path as a saved flow. Only tests import
// it.
package nodetest

import (
	"encoding/json"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

// Build constructs the node of type typ at version from its registered spec with params (each marshalled to
// JSON) and the credential id given, as node "n1". It fails the test if the type is not registered or the
// node refuses its parameters; tests that expect a refusal use New.
func Build(t testing.TB, typ string, version int, params map[string]any, credential string) nodes.Node {
	t.Helper()
	raw := map[string]json.RawMessage{}
	for k, v := range params {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("build %s: parameter %s: %v", typ, k, err)
		}
		raw[k] = b
	}
	n, err := construct(t, typ, version, raw, credential)
	if err != nil {
		t.Fatalf("build %s: %v", typ, err)
	}
	return n
}

// New constructs the node of type typ at version like Build, from params written as one JSON object, and
// returns what the registered constructor returns, so a test can check the problems a node finds in its
// parameters. It fails the test if the type is not registered or params is not a JSON object.
func New(t testing.TB, typ string, version int, params, credential string) (nodes.Node, error) {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(params), &raw); err != nil {
		t.Fatalf("params %s: %v", params, err)
	}
	return construct(t, typ, version, raw, credential)
}

// MustNew is New for parameters the node must accept: it fails the test, naming the type and params, if the
// constructor refuses them.
func MustNew(t testing.TB, typ string, version int, params, credential string) nodes.Node {
	t.Helper()
	n, err := New(t, typ, version, params, credential)
	if err != nil {
		t.Fatalf("build %s %s: %v", typ, params, err)
	}
	return n
}

// construct is the engine's path from saved parameters to a node: NewConfig over a copy of the registered
// spec, then the registered constructor.
func construct(t testing.TB, typ string, version int, raw map[string]json.RawMessage, credential string) (nodes.Node, error) {
	t.Helper()
	reg, ok := nodes.Lookup(typ, version)
	if !ok {
		t.Fatalf("%s is not registered", typ)
	}
	spec := reg.Spec
	return reg.New(nodes.NewConfig(&spec, "n1", raw, credential))
}

// Failure checks that err is a step failure that nodes.Classify reads as code and kind, the two things the
// engine acts on, failing the test otherwise, and returns the classified error for further checks.
func Failure(t testing.TB, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no failure, want %s", code)
	}
	e := nodes.Classify(err)
	if e.Code != code || e.Kind != kind {
		t.Fatalf("failure %s %s (%v), want %s %s", e.Code, e.Kind, err, code, kind)
	}
	return e
}
