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

// TestWebhookFlag: a node's spec says Webhook exactly when the node accepts HTTP calls at /hooks/{flowId}, so the
// editor shows webhook URLs for every such trigger and for no other node.
func TestWebhookFlag(t *testing.T) {
	nodes.Walk(func(r *nodes.Registration) {
		spec := r.Spec
		n, _ := r.New(nodes.NewConfig(&spec, "n", nil, "some-credential"))
		if n == nil {
			t.Errorf("%s v%d: its constructor returns no node without parameters, so its Webhook flag cannot be checked", spec.Type, spec.Version)
			return
		}
		_, accepts := n.(nodes.WebhookTrigger)
		if accepts != spec.Webhook {
			t.Errorf("%s v%d: accepts webhooks %v, but its spec says Webhook %v", spec.Type, spec.Version, accepts, spec.Webhook)
		}
		if _, polls := n.(nodes.PollingTrigger); polls != spec.Polling {
			t.Errorf("%s v%d: polls %v, but its spec says Polling %v", spec.Type, spec.Version, polls, spec.Polling)
		}
	})
}
