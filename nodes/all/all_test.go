package all_test

import (
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/all"
)

// Importing the package is enough to make every shipped node available.
func TestCoreNodesRegistered(t *testing.T) {
	for _, typ := range []string{"core.manual", "core.webhook", "core.schedule", "core.map", "core.condition",
		"core.switch", "core.http", "core.respond", "core.delay", "core.set-vars"} {
		if _, ok := nodes.Lookup(typ, 1); !ok {
			t.Errorf("%s is not registered", typ)
		}
	}
}
