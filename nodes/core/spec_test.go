package core

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// TestSpecs holds every core spec to what the editor and the generated docs rely on: names, docs, labels,
// defaults that pass their own validation, and examples that compile.
func TestSpecs(t *testing.T) {
	count := 0
	nodes.Walk(func(r *nodes.Registration) {
		s := r.Spec
		if !strings.HasPrefix(s.Type, "core.") {
			return
		}
		count++
		t.Run(s.Type, func(t *testing.T) {
			if s.Version != 1 || s.Name == "" || s.Category == "" || s.Description == "" || !strings.Contains(s.Docs, "**Output:**") {
				t.Fatalf("spec lacks version, name, category, description or output docs: %+v", s)
			}
			if !s.Trigger && (len(s.Inputs) == 0 || s.Inputs[0].ID != nodes.DefaultPort || (len(s.Inputs) > 1 && s.Type != MergeType && s.Type != LoopType)) {
				t.Fatalf("inputs = %v", s.Inputs)
			}
			if len(s.Outputs) == 0 && s.Dynamic == nil {
				t.Fatal("no output ports")
			}
			if _, isDry := mustConstructible(t, r).(nodes.DryRunner); s.SideEffect != isDry {
				t.Fatalf("SideEffect = %v but DryRunner = %v", s.SideEffect, isDry)
			}
			checkFields(t, &s, s.Params, "")
		})
	})
	if count != 21 {
		t.Fatalf("%d core nodes registered, want 21", count)
	}
}

// mustConstructible builds the node from the smallest valid parameters found in its params' examples.
func mustConstructible(t *testing.T, r *nodes.Registration) nodes.Node {
	t.Helper()
	params := map[string]json.RawMessage{}
	for _, f := range r.Spec.Params {
		if f.Required && len(f.Examples) > 0 {
			params[f.Name], _ = json.Marshal(f.Examples[0].Value)
		}
	}
	if r.Spec.Type == SwitchType {
		params["value"] = json.RawMessage(`"trigger.body.status"`)
	}
	if r.Spec.Type == AssignType {
		params["owners"] = json.RawMessage(`[{"id":"51234"}]`)
	}
	spec := r.Spec
	n, err := r.New(nodes.NewConfig(&spec, "n1", params, ""))
	if err != nil {
		t.Fatalf("build from examples: %v", err)
	}
	return n
}

func checkFields(t *testing.T, spec *nodes.Spec, fields []nodes.Field, prefix string) {
	t.Helper()
	for _, f := range fields {
		name := prefix + f.Name
		if f.Label == "" {
			t.Errorf("%s has no label", name)
		}
		if f.Type == nodes.TypeSelect && f.Default != nil {
			found := false
			for _, o := range f.Options {
				found = found || o.Value == f.Default
			}
			if !found {
				t.Errorf("%s: default %v is not an option", name, f.Default)
			}
		}
		if f.Default != nil {
			raw, _ := json.Marshal(f.Default)
			probe := nodes.Spec{Type: spec.Type, Params: []nodes.Field{f}}
			if ps := nodes.NewConfig(&probe, "n1", map[string]json.RawMessage{f.Name: raw}, "").Problems(); len(ps) > 0 {
				t.Errorf("%s: default %s fails its own checks: %+v", name, raw, ps)
			}
		}
		for _, ex := range f.Examples {
			s, isText := ex.Value.(string)
			switch {
			case f.Type == nodes.TypeExpr:
				if _, err := expression.Compile(s, expression.Result(orAny(f.ExprResult))); !isText || err != nil {
					t.Errorf("%s: example %q does not compile: %v", name, ex.Name, err)
				}
			case f.Expression && isText:
				if _, err := expression.CompileTemplate(s); err != nil {
					t.Errorf("%s: example %q does not compile: %v", name, ex.Name, err)
				}
			case f.Type == nodes.TypeList:
				raw, _ := json.Marshal(ex.Value)
				reg, _ := nodes.Lookup(spec.Type, spec.Version)
				cfg := nodes.NewConfig(spec, "n1", map[string]json.RawMessage{f.Name: raw}, "")
				_, _ = reg.New(cfg)
				for _, p := range cfg.Problems() {
					if strings.HasPrefix(p.Field, f.Name+"[") {
						t.Errorf("%s: example %q: %+v", name, ex.Name, p)
					}
				}
			}
		}
		checkFields(t, spec, f.Fields, name+".")
	}
}

func orAny(r string) string {
	if r == "" {
		return string(expression.ResultAny)
	}
	return r
}

func TestCredentialTypes(t *testing.T) {
	for _, id := range []string{CredentialWebhookToken, CredentialWebhookBasic, CredentialWebhookHMAC, CredentialHTTPAPIKey, CredentialHTTPBearer, CredentialHTTPBasic} {
		ct, ok := nodes.LookupCredentialType(id)
		if !ok || len(ct.Fields) == 0 {
			t.Fatalf("credential type %s is not registered", id)
		}
		secret := false
		for _, f := range ct.Fields {
			secret = secret || f.Secret
		}
		if !secret {
			t.Errorf("%s has no secret field", id)
		}
	}
}
