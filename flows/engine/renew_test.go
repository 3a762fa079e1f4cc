package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
)

// renewing is a node whose provider refuses the token it is given first, as Zoho's INVALID_TOKEN does: it asks
// for a renewed one and reports what the step's credential holds afterwards.
type renewing struct{}

func (renewing) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	if x.RenewCredential == nil {
		return nodes.Result{Output: map[string]any{"renewable": false}}, nil
	}
	first, err := x.Credential(ctx)
	if err != nil {
		return nodes.Result{}, err
	}
	renewed, err := x.RenewCredential(ctx, first[nodes.CredentialAccessToken])
	if err != nil {
		return nodes.Result{}, err
	}
	after, _ := x.Credential(ctx)
	return nodes.Result{Output: map[string]any{"renewable": true, "renewed": renewed[nodes.CredentialAccessToken],
		"after": after[nodes.CredentialAccessToken]}}, nil
}

func init() {
	main := []nodes.Port{{ID: "main", Label: "Main", Kind: nodes.PortMain}}
	nodes.MustRegister(nodes.Spec{Type: "enginetest.renewing", Version: 1, Name: "Renewing", Category: nodes.CategoryAction,
		Inputs: main, Outputs: main, Credentials: []string{"enginetest.oauth"}},
		func(cfg *nodes.Config) (nodes.Node, error) { return renewing{}, cfg.Err() })
}

// TestStepsRenewARefusedToken: a step names the token its provider refused; the engine's renewer gets the
// credential, the mode and that token, and the step's credential holds the renewed token from then on. Without
// a renewer steps are told there is none.
func TestStepsRenewARefusedToken(t *testing.T) {
	flow := `{"schema":1,"name":"r","nodes":[{"id":"in","type":"test.trigger"},
	 {"id":"crm","type":"enginetest.renewing","credential":"zoho-1"}],"edges":[{"source":"in","target":"crm"}]}`
	resolve := func(_ context.Context, id string, _ nodes.Mode) (*nodes.ResolvedCredential, error) {
		return &nodes.ResolvedCredential{Name: "CRM", Type: "enginetest.oauth", Fields: map[string]string{nodes.CredentialAccessToken: "old"}}, nil
	}
	var asked []string
	e := &engine.Engine{Credentials: resolve, RenewCredential: func(_ context.Context, id string, mode nodes.Mode, refused string) (*nodes.ResolvedCredential, error) {
		asked = append(asked, fmt.Sprint(id, " ", mode, " ", refused))
		return &nodes.ResolvedCredential{Name: "CRM", Type: "enginetest.oauth", Fields: map[string]string{nodes.CredentialAccessToken: "new"}}, nil
	}}
	c := compile(t, flow)
	out := e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	got := fmt.Sprint(out.Steps[len(out.Steps)-1].Output)
	if out.Status != engine.StatusSucceeded || got != "map[after:new renewable:true renewed:new]" || fmt.Sprint(asked) != "[zoho-1 live old]" {
		t.Fatalf("%s %+v: %s, renewer asked %v", out.Status, out.Error, got, asked)
	}
	e.RenewCredential = nil
	out = e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if got := fmt.Sprint(out.Steps[len(out.Steps)-1].Output); out.Status != engine.StatusSucceeded || got != "map[renewable:false]" {
		t.Fatalf("without a renewer: %s %s", out.Status, got)
	}
}
