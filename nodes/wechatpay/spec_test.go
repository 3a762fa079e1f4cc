package wechatpay

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

// TestSpecs holds every WeChat Pay spec to what the editor and the generated docs rely on.
func TestSpecs(t *testing.T) {
	count := 0
	nodes.Walk(func(r *nodes.Registration) {
		s := r.Spec
		if !strings.HasPrefix(s.Type, "wechatpay.") {
			return
		}
		count++
		t.Run(s.Type, func(t *testing.T) {
			if s.Version != 1 || s.Name == "" || s.Category != nodes.CategoryPayments || s.Description == "" ||
				!strings.Contains(s.Docs, "**Output:**") || !strings.Contains(s.Docs, "API v3") {
				t.Fatalf("spec lacks version, name, category, description, output docs or the API version: %+v", s)
			}
			if !s.CredentialRequired || len(s.Credentials) != 1 || s.Credentials[0] != CredentialMerchant {
				t.Fatalf("credentials = %v", s.Credentials)
			}
			params := map[string]json.RawMessage{}
			for _, f := range s.Params {
				if f.Label == "" {
					t.Errorf("%s has no label", f.Name)
				}
				if f.Required && len(f.Examples) > 0 {
					params[f.Name], _ = json.Marshal(f.Examples[0].Value)
				}
			}
			spec := s
			n, err := r.New(nodes.NewConfig(&spec, "n1", params, "cred1"))
			if err != nil {
				t.Fatalf("build from examples: %v", err)
			}
			if _, isDry := n.(nodes.DryRunner); s.SideEffect != isDry {
				t.Fatalf("SideEffect = %v but DryRunner = %v", s.SideEffect, isDry)
			}
		})
	})
	if count != 5 {
		t.Fatalf("%d wechatpay nodes registered, want 5", count)
	}
}
