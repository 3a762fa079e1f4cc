package slack

import (
	"context"
	"encoding/json"
	"io/fs"
	"testing"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/runnertest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// brokenFlow fails for good at its first step: the condition reads a field of an order the payload lacks.
const brokenFlow = `{"schema":1,"name":"Shop orders to CRM","nodes":[{"id":"in","type":"core.manual"},` +
	`{"id":"check","type":"core.condition","name":"Check the order","params":{"condition":"trigger.order.total > 0"}}],` +
	`"edges":[{"source":"in","target":"check"}]}`

// TestDeadLetterTemplateRuns publishes the "Dead letter: tell the team on Slack" template beside a flow that fails,
// in a runner over a real store: the failure's commit starts the template's run, which posts exactly one message
// naming the flow, the step, the error, the order and a link to the run; the template's own failure would start
// nothing more.
func TestDeadLetterTemplateRuns(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"slack-webhook": {Name: "Alerts channel", Type: WebhookCredential, Fields: hook(hookURL),
			Destinations: egress.MustDestinations(s.URL + WebhookPath)},
	})}
	r := runnertest.New(t, eng)
	r.PublicURL = "https://ferry.example.com"
	st := r.Store

	doc, err := fs.ReadFile(templates.FS(), "deadletter-slack.json")
	if err != nil {
		t.Fatal(err)
	}
	alerts := runnertest.Publish(t, r, "Dead letter: tell the team on Slack", doc)
	broken := runnertest.Publish(t, r, "Shop orders to CRM", []byte(brokenFlow))

	run, err := r.Accept(ctx, runner.Trigger{Flow: broken, Node: "in", Payload: map[string]any{"id": "A1024"},
		BusinessKey: "A1024", Mode: nodes.ModeLive})
	if err != nil {
		t.Fatal(err)
	}
	runnertest.Drain(t, r)
	if got, _ := st.GetRun(ctx, run.ID); got.Status != store.RunFailed {
		t.Fatalf("the broken flow's run: %s", got.Status)
	}
	page, err := st.ListRuns(ctx, store.RunFilter{FlowID: alerts.FlowID})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].Status != store.RunSucceeded {
		t.Fatalf("the template's runs: %+v %v", page.Runs, err)
	}
	posts := s.sent()
	if len(posts) != 1 {
		t.Fatalf("%d messages, want 1: %+v", len(posts), posts)
	}
	var errMsg struct{ Message string }
	failed, _ := st.GetRun(ctx, run.ID)
	_ = json.Unmarshal(failed.Error, &errMsg)
	want := ":rotating_light: *Shop orders to CRM* failed for good (version 1)\n" +
		"• Step: Check the order → `expression_failed`\n• " + errMsg.Message + "\n" +
		"• Order: A1024 · attempt 1\n<https://ferry.example.com/runs/" + run.ID + "|Open the run> to retry it from the dead-letter list."
	if posts[0].Body["text"] != want || posts[0].Body["unfurl_links"] != false || errMsg.Message == "" {
		t.Fatalf("message\n got %q\nwant %q", posts[0].Body["text"], want)
	}
}
