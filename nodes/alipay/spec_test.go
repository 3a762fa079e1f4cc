package alipay

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
)

// TestSpecs holds every Alipay spec to what the editor and generated docs rely on.
func TestSpecs(t *testing.T) {
	want := map[string]bool{TriggerType: false, QueryType: false, RefundType: true, CloseType: true, PrecreateType: true}
	count := 0
	nodes.Walk(func(r *nodes.Registration) {
		s := r.Spec
		if !strings.HasPrefix(s.Type, "alipay.") {
			return
		}
		count++
		t.Run(s.Type, func(t *testing.T) {
			sideEffect, known := want[s.Type]
			if !known || s.SideEffect != sideEffect {
				t.Fatalf("unexpected type or side effect: %+v", s)
			}
			if s.Version != 1 || s.Name == "" || s.Category != nodes.CategoryPayments || s.Description == "" ||
				!strings.Contains(s.Docs, "**Output:**") || !s.CredentialRequired || len(s.Credentials) != 1 || s.Credentials[0] != CredentialApp {
				t.Fatalf("spec lacks version, name, category, description, output docs or credential: %+v", s)
			}
			params := map[string]json.RawMessage{}
			for _, f := range s.Params {
				if f.Label == "" {
					t.Errorf("%s has no label", f.Name)
				}
				if f.Required && len(f.Examples) > 0 {
					params[f.Name], _ = json.Marshal(f.Examples[0].Value)
				}
				for _, ex := range f.Examples {
					if text, ok := ex.Value.(string); ok && f.Expression {
						if _, err := expression.CompileTemplate(text); err != nil {
							t.Errorf("%s: example %q does not compile: %v", f.Name, ex.Name, err)
						}
					}
				}
				if f.Default != nil {
					raw, _ := json.Marshal(f.Default)
					probe := nodes.Spec{Type: s.Type, Params: []nodes.Field{f}}
					if ps := nodes.NewConfig(&probe, "n1", map[string]json.RawMessage{f.Name: raw}, "").Problems(); len(ps) > 0 {
						t.Errorf("%s: default %s fails its own checks: %+v", f.Name, raw, ps)
					}
				}
			}
			if s.Type == QueryType || s.Type == RefundType || s.Type == CloseType {
				params["outTradeNo"] = json.RawMessage(`"{{ trigger.body.merchantOrderId }}"`)
			}
			spec := s
			n, err := r.New(nodes.NewConfig(&spec, "n1", params, "cred1"))
			if err != nil {
				t.Fatalf("build from examples: %v", err)
			}
			if _, dry := n.(nodes.DryRunner); dry != s.SideEffect {
				t.Errorf("SideEffect = %v but DryRunner = %v", s.SideEffect, dry)
			}
		})
	})
	if count != len(want) {
		t.Fatalf("%d alipay nodes registered, want %d", count, len(want))
	}
	ct, ok := nodes.LookupCredentialType(CredentialApp)
	if !ok || !ct.Testable {
		t.Fatalf("credential type %s: registered %v, testable %v", CredentialApp, ok, ok && ct.Testable)
	}
	if f := ct.Field(FieldPrivateKey); f == nil || !f.Secret || !f.Required {
		t.Error("the private key is not a required secret field")
	}
}

func TestCredentialTest(t *testing.T) {
	var answer map[string]any
	g := newFakeGateway(t, func(c fakeCall) map[string]any {
		if c.params.Get("method") != "alipay.trade.query" || !strings.HasPrefix(c.biz["out_trade_no"].(string), "ferry_check_") {
			t.Errorf("connection test asked %s %v", c.params.Get("method"), c.biz)
		}
		return answer
	})
	ct, _ := nodes.LookupCredentialType(CredentialApp)
	fields := testFields(t, g.url())
	secret := fields[FieldPrivateKey][20:60]

	answer = businessError("ACQ.TRADE_NOT_EXIST", "交易不存在")
	msg, err := ct.Test(context.Background(), fields, testenv.LocalClient())
	if err != nil || !strings.Contains(msg, "ACQ.TRADE_NOT_EXIST") || !strings.Contains(msg, "verifies with the Alipay public key") {
		t.Fatalf("keys that work: %q, %v", msg, err)
	}

	failures := []struct {
		name  string
		setup func()
		want  string
	}{
		{"wrong private key", func() {
			g.signer = nil
			answer = map[string]any{"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}
		}, "private key does not match"},
		{"unknown app", func() {
			g.signer = nil
			answer = map[string]any{"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-app-id", "sub_msg": "无效的AppID参数"}
		}, "does not know app"},
		{"wrong Alipay public key", func() {
			g.signer = evilKey
			answer = businessError("ACQ.TRADE_NOT_EXIST", "交易不存在")
		}, "does not verify with the Alipay public key"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			defer func() { g.signer = alipayKey }()
			msg, err := ct.Test(context.Background(), fields, testenv.LocalClient())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%q, %v: want an error saying %q", msg, err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Error("the error shows the private key")
			}
		})
	}
	bad := testFields(t, g.url())
	bad[FieldAlipayPublicKey] = ""
	if _, err := ct.Test(context.Background(), bad, testenv.LocalClient()); err == nil || !strings.Contains(err.Error(), "Alipay public key is empty") {
		t.Errorf("empty Alipay key: %v", err)
	}
}
