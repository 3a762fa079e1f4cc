package stripe

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// TestSpecs holds every Stripe spec to what the editor and the generated docs rely on: names, docs naming the
// pinned API version, labels, defaults that pass their own checks, examples that compile, and dry runs exactly
// for the nodes with side effects.
func TestSpecs(t *testing.T) {
	want := map[string]bool{TriggerType: true, PaymentIntentCreateType: true, PaymentIntentRetrieveType: true, RefundType: true, CustomerUpsertType: true}
	nodes.Walk(func(r *nodes.Registration) {
		s := r.Spec
		if !strings.HasPrefix(s.Type, "stripe.") {
			return
		}
		delete(want, s.Type)
		t.Run(s.Type, func(t *testing.T) {
			if s.Version != 1 || s.Name == "" || s.Category != nodes.CategoryPayments || s.Description == "" ||
				!strings.Contains(s.Docs, "**Output:**") || !strings.Contains(s.Docs, APIVersion) {
				t.Fatalf("spec lacks version, name, category, description, output docs or API version: %+v", s)
			}
			if len(s.Credentials) != 1 || s.Credentials[0] != CredentialType || !s.CredentialRequired {
				t.Fatalf("credentials = %v required %v", s.Credentials, s.CredentialRequired)
			}
			params := map[string]json.RawMessage{}
			for _, f := range s.Params {
				if f.Required && len(f.Examples) > 0 {
					params[f.Name], _ = json.Marshal(f.Examples[0].Value)
				}
			}
			spec := s
			n, err := r.New(nodes.NewConfig(&spec, "n1", params, "c1"))
			if err != nil {
				t.Fatalf("build from examples: %v", err)
			}
			if _, isDry := n.(nodes.DryRunner); s.SideEffect != isDry {
				t.Fatalf("SideEffect = %v but DryRunner = %v", s.SideEffect, isDry)
			}
			for _, f := range s.Params {
				if f.Label == "" {
					t.Errorf("%s has no label", f.Name)
				}
				if f.Default != nil {
					raw, _ := json.Marshal(f.Default)
					probe := nodes.Spec{Type: s.Type, Params: []nodes.Field{f}}
					if ps := nodes.NewConfig(&probe, "n1", map[string]json.RawMessage{f.Name: raw}, "").Problems(); len(ps) > 0 {
						t.Errorf("%s: default %s fails its own checks: %+v", f.Name, raw, ps)
					}
				}
				for _, ex := range f.Examples {
					if s, ok := ex.Value.(string); ok && f.Expression {
						if _, err := expression.CompileTemplate(s); err != nil {
							t.Errorf("%s: example %q does not compile: %v", f.Name, ex.Name, err)
						}
					}
				}
			}
		})
	})
	if len(want) > 0 {
		t.Fatalf("not registered: %v", want)
	}
	ct, ok := nodes.LookupCredentialType(CredentialType)
	if !ok {
		t.Fatal("stripe.account is not registered")
	}
	for _, name := range []string{FieldSecretKey, FieldWebhookSecret} {
		if f := ct.Field(name); f == nil || !f.Secret {
			t.Errorf("credential field %s is missing or not secret", name)
		}
	}
}
