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
// node refuses its parameters; tests that expect a refusal call the registration's New themselves.
func Build(t testing.TB, typ string, version int, params map[string]any, credential string) nodes.Node {
	t.Helper()
	reg, ok := nodes.Lookup(typ, version)
	if !ok {
		t.Fatalf("%s is not registered", typ)
	}
	raw := map[string]json.RawMessage{}
	for k, v := range params {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("build %s: parameter %s: %v", typ, k, err)
		}
		raw[k] = b
	}
	n, err := reg.New(nodes.NewConfig(&reg.Spec, "n1", raw, credential))
	if err != nil {
		t.Fatalf("build %s: %v", typ, err)
	}
	return n
}
