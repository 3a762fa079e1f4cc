package core

import (
	"context"
	"regexp"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// DeadLetterType is the node type of the trigger that fires when a live run of another flow fails for good.
const DeadLetterType = "core.deadletter"

// codePattern is what an error code looks like: lower-case words joined by underscores or dots.
var codePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.]*$`)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        DeadLetterType,
		Version:     1,
		Name:        "Dead letter",
		Category:    nodes.CategoryTrigger,
		Description: "Starts a run when a live run of another flow fails after its retries ran out, so the team hears of it.",
		Trigger:     true,
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Failed run", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{
				Name: "flows", Label: "Flows", Type: nodes.TypeString,
				Description: "Ids of the flows to watch, separated by commas or spaces; empty: every flow. " +
					"Runs started by a dead-letter trigger never start another, so an alert that fails cannot loop.",
				Examples: []nodes.Example{{Name: "One flow", Value: "0193a4c2-7d1e-7b3a-9f00-5c2d8e1a4b6f"}},
			},
			{
				Name: "codes", Label: "Error codes", Type: nodes.TypeString,
				Description: "Only failures with one of these error codes, separated by commas or spaces; empty: every failure.",
				Examples: []nodes.Example{
					{Name: "Provider refused", Value: "http_client_error"},
					{Name: "Unreachable or timed out", Value: "http_server_error, http_timeout"},
				},
			},
		},
		Docs: "Fires once each time a live run of a watched flow fails for good: its retries ran out and no " +
			"error port took the failure, so the run is in the dead-letter list. The run that fires is committed " +
			"together with the failure, so no dead letter goes unannounced, even if the process stops right after. " +
			"Retrying the failed run and seeing it fail again fires once more. Test runs never fire it.\n\n" +
			"**Output:** `{\"runId\", \"flowId\", \"flowName\", \"flowVersion\", \"failedNode\", \"failedNodeName\", " +
			"\"errorCode\", \"errorMessage\", \"attempt\", \"businessKey\", \"createdAt\", \"failedAt\", \"runUrl\"}` " +
			"(`runUrl` opens the run in Ferry, from `FERRY_PUBLIC_URL`).\n\n" +
			"**Example:** with a Slack step after it, `Run {{ trigger.runId }} of {{ trigger.flowName }} failed at " +
			"{{ trigger.failedNodeName }}: {{ trigger.errorCode }}` posts every dead letter to the team's channel.",
	}, newDeadLetter)
}

type deadLetterNode struct {
	flows, codes map[string]bool
}

func newDeadLetter(cfg *nodes.Config) (nodes.Node, error) {
	n := &deadLetterNode{
		flows: cfg.Names("flows", nil, ""),
		codes: cfg.Names("codes", codePattern.MatchString, "an error code such as http_client_error"),
	}
	return n, cfg.Err()
}

// Watches reports whether a failure of flowID with code starts a run: an empty list of flows or codes accepts
// every one.
func (n *deadLetterNode) Watches(flowID, code string) bool {
	return (len(n.flows) == 0 || n.flows[flowID]) && (len(n.codes) == 0 || n.codes[code])
}

// Execute passes the failed run's description on unchanged. A test run from the editor without one gets the
// description of an example failure, so later steps see the shape they will see live.
func (n *deadLetterNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	if x.Input != nil {
		return nodes.Result{Output: x.Input}, nil
	}
	at := now().UTC()
	return nodes.Result{Output: map[string]any{
		"runId": "00000000-0000-7000-8000-000000000000", "flowId": "00000000-0000-7000-8000-000000000001",
		"flowName": "Example flow", "flowVersion": 1, "failedNode": "http", "failedNodeName": "Call the CRM",
		"errorCode": "http_client_error", "errorMessage": "HTTP 422 from the CRM: the e-mail is not valid",
		"attempt": 1, "businessKey": "ord_8f3a2c91d4", "createdAt": at.Add(-time.Minute).Format(time.RFC3339),
		"failedAt": at.Format(time.RFC3339), "example": true,
	}}, nil
}

var _ nodes.DeadLetterTrigger = (*deadLetterNode)(nil)
