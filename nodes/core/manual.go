package core

import (
	"context"
	"encoding/json"

	"github.com/ferry-hq/ferry/nodes"
)

// ManualType is the node type of the manual trigger.
const ManualType = "core.manual"

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        ManualType,
		Version:     1,
		Name:        "Manual run",
		Category:    nodes.CategoryTrigger,
		Description: "Starts a run from the editor or the API with a JSON payload you provide.",
		Trigger:     true,
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Payload", Kind: nodes.PortMain}},
		Params: []nodes.Field{{
			Name:  "sample",
			Label: "Sample payload",
			Type:  nodes.TypeJSON,
			Description: "Example payload that pre-fills the manual-run form, so whoever starts the flow sees the " +
				"fields it expects. It is not used when the run is started with a payload of its own.",
			Examples: []nodes.Example{
				{Name: "Re-sync one order", Value: map[string]any{"order_id": "ord_8f3a2c91d4"}},
				{Name: "Refund", Value: map[string]any{"order_id": "ord_8f3a2c91d4", "amount": "25.00", "currency": "EUR"}},
			},
		}},
		Docs: "Starts a run by hand, from the editor's **Run** button or from `POST /api/flows/{id}/runs`, for " +
			"one-off fixes that must still leave a run record.\n\n" +
			"**Output:** the payload exactly as given, also readable as `trigger` in every expression.\n\n" +
			"**Example:** with the payload `{\"order_id\": \"ord_8f3a2c91d4\"}`, a later step reads " +
			"`trigger.order_id`.",
	}, newManual)
}

type manualNode struct{}

// newManual only checks the sample: the editor shows it, the run never reads it.
func newManual(cfg *nodes.Config) (nodes.Node, error) {
	var raw json.RawMessage
	if cfg.JSON("sample", &raw) {
		if _, err := nodes.DecodeJSON(raw); err != nil {
			cfg.Fail("sample", nodes.CodeParamInvalid, err.Error())
		}
	}
	return &manualNode{}, cfg.Err()
}

// Execute passes the payload the run was started with on unchanged.
func (n *manualNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

var _ nodes.Node = (*manualNode)(nil)
