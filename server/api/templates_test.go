package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/server/auth"
)

// TestTemplateGallery: anyone who may read flows sees the bundled templates with what each needs; the detail
// carries the document; an unknown id is template_not_found.
func TestTemplateGallery(t *testing.T) {
	h := sqliteHarness(t)
	viewer := "Bearer " + h.userToken("viewer@example.com", auth.RoleViewer)
	list := h.expect(h.do("GET", "/api/v1/templates", nil, "Authorization", viewer), 200)["templates"].([]any)
	if len(list) < 6 {
		t.Fatalf("%d templates", len(list))
	}
	byID := map[string]map[string]any{}
	for _, x := range list {
		tpl := x.(map[string]any)
		byID[tpl["id"].(string)] = tpl
		if _, has := tpl["document"]; has {
			t.Errorf("%s: the list carries the document", tpl["id"])
		}
		name := tpl["name"].(map[string]any)
		if name["en"] == "" || name["zh"] == "" || tpl["nodeCount"].(float64) < 2 || len(tpl["steps"].([]any)) == 0 {
			t.Errorf("%s: incomplete summary %v", tpl["id"], tpl)
		}
	}
	recon := byID["stripe-daily-reconciliation"]
	if recon == nil {
		t.Fatal("the reconciliation template is missing")
	}
	needs, _ := json.Marshal(recon["credentials"])
	if !strings.Contains(string(needs), `{"hint":{"en":"A restricted Stripe key that can read payment intents","zh":"可读取 payment intents 的 Stripe 受限密钥"},"nodeId":"stripe","nodeName":"List Stripe payments","nodeType":"core.http","required":true,"types":["http.bearer"]}`) ||
		strings.Contains(string(needs), `"nodeId":"report"`) {
		t.Errorf("reconciliation needs %s", needs)
	}
	if len(recon["placeholders"].([]any)) != 2 {
		t.Errorf("placeholders %v", recon["placeholders"])
	}
	one := h.expect(h.do("GET", "/api/v1/templates/stripe-daily-reconciliation", nil, "Authorization", viewer), 200)
	doc := one["document"].(map[string]any)
	if doc["schema"].(float64) != 1 || len(doc["nodes"].([]any)) != int(recon["nodeCount"].(float64)) {
		t.Errorf("document %v", doc)
	}
	e := h.expect(h.do("GET", "/api/v1/templates/no-such-template", nil), 404)["error"].(map[string]any)
	if e["code"] != "template_not_found" {
		t.Errorf("unknown template: %v", e)
	}
	e = h.expect(h.do("POST", "/api/v1/templates/no-such-template/use", `{}`), 404)["error"].(map[string]any)
	if e["code"] != "template_not_found" {
		t.Errorf("using an unknown template: %v", e)
	}
}

// TestUseTemplate creates a flow from a template as an editor, after the refusals: a required credential left
// out, one that does not exist, one of a type the node does not take, a node that takes none, a malformed body.
// Refusals create nothing; the created flow is an audited draft with the chosen credentials.
func TestUseTemplate(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		bearer := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "Stripe read key", "type": "http.bearer", "allowedDestinations": []string{"https://api.stripe.com"},
			"live": map[string]string{"token": "rk_live_example"}}), 201)["id"].(string)
		basic := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "CRM", "type": "http.basic", "allowedDestinations": []string{"https://crm.example.com"},
			"live": map[string]string{"username": "ferry", "password": "s3cret"}}), 201)["id"].(string)
		editor := "Bearer " + h.userToken("editor@example.com", auth.RoleEditor)
		use := func(body string) response {
			return h.do("POST", "/api/v1/templates/stripe-daily-reconciliation/use", body, "Authorization", editor)
		}
		refusals := []struct{ body, code, field string }{
			{`{"name": "Recon"}`, "credential_missing", "credentials.stripe"},
			{`{"name": "Recon", "credentials": {"stripe": "no-such-credential"}}`, "credential_not_found", "credentials.stripe"},
			{`{"name": "Recon", "credentials": {"stripe": "` + basic + `"}}`, "credential_type_mismatch", "credentials.stripe"},
			{`{"name": "Recon", "credentials": {"stripe": "` + bearer + `", "report": "` + bearer + `"}}`, "credential_node_unknown", "credentials.report"},
			{`{"name": "Recon", "credentials": {"stripe": 5}}`, "invalid_json", ""},
			{`{"name": "   ", "credentials": {"stripe": "` + bearer + `"}}`, "template_name_required", "name"},
		}
		for _, r := range refusals {
			e := h.expect(use(r.body), 400)["error"].(map[string]any)
			if e["code"] != r.code {
				t.Errorf("%s: %v, want %s", r.body, e, r.code)
				continue
			}
			if r.field != "" {
				p := e["problems"].([]any)[0].(map[string]any)
				if p["field"] != r.field {
					t.Errorf("%s: problem at %v, want %s", r.body, p["field"], r.field)
				}
			}
		}
		if n := len(h.expect(h.do("GET", "/api/v1/flows", nil), 200)["flows"].([]any)); n != 0 {
			t.Fatalf("refused uses created %d flows", n)
		}

		created := h.expect(use(`{"name": "Stripe reconciliation", "credentials": {"stripe": "`+bearer+`", "crm": "`+basic+`"}}`), 201)
		if created["name"] != "Stripe reconciliation" || created["status"] != "draft" {
			t.Errorf("created %v", created)
		}
		id := created["id"].(string)
		flow := h.expect(h.do("GET", "/api/v1/flows/"+id, nil), 200)["flow"].(map[string]any)
		creds := map[string]any{}
		for _, n := range flow["nodes"].([]any) {
			node := n.(map[string]any)
			creds[node["id"].(string)] = node["credential"]
		}
		if creds["stripe"] != bearer || creds["crm"] != basic || creds["report"] != nil {
			t.Errorf("credentials of the new flow: %v", creds)
		}
		audit := h.expect(h.do("GET", "/api/v1/audit?action=flow.create&target="+id, nil), 200)
		raw, _ := json.Marshal(audit)
		if !strings.Contains(string(raw), `"template":"stripe-daily-reconciliation"`) {
			t.Errorf("audit: %s", raw)
		}

		// Without a name the flow takes the template's; an optional credential may be left out, dropping the
		// template's placeholder.
		created = h.expect(h.do("POST", "/api/v1/templates/stripe-payment-received/use", `{"credentials": {"stripe": ""}}`, "Authorization", editor), 400)
		if created["error"].(map[string]any)["code"] != "credential_missing" {
			t.Errorf("an empty id counts as none: %v", created)
		}
		stripeCred := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "Stripe", "type": "stripe.account",
			"live": map[string]string{"secretKey": "sk_test_123", "webhookSecret": "whsec_123"}}), 201)["id"].(string)
		created = h.expect(h.do("POST", "/api/v1/templates/stripe-payment-received/use", `{"credentials": {"stripe": "`+stripeCred+`"}}`, "Authorization", editor), 201)
		if created["name"] != "Stripe payment received: update the CRM and notify" {
			t.Errorf("default name %v", created["name"])
		}
		for _, n := range created["flow"].(map[string]any)["nodes"].([]any) {
			node := n.(map[string]any)
			if node["id"] == "crm" && node["credential"] != nil {
				t.Errorf("the placeholder credential was kept: %v", node["credential"])
			}
		}
	})
}

// TestTemplateLanguage: the gallery names steps, credential needs and the document's nodes in the caller's
// Accept-Language language, and a flow created in Chinese has Chinese node names and, without a name of its own,
// the template's Chinese name.
func TestTemplateLanguage(t *testing.T) {
	h := sqliteHarness(t)
	steps := func(lang string) map[string]string {
		r := h.do("GET", "/api/v1/templates", nil, "Accept-Language", lang)
		if got := r.header.Get("Content-Language"); got != map[string]string{"zh-CN": "zh-CN", "en": "en"}[lang] {
			t.Errorf("%s: Content-Language %q", lang, got)
		}
		out := map[string]string{}
		for _, x := range h.expect(r, 200)["templates"].([]any) {
			tpl := x.(map[string]any)
			for _, s := range tpl["steps"].([]any) {
				step := s.(map[string]any)
				out[tpl["id"].(string)+"/"+step["id"].(string)] = step["name"].(string)
			}
			if tpl["id"] == "stripe-daily-reconciliation" {
				needs, _ := json.Marshal(tpl["credentials"])
				want := map[string]string{"zh-CN": `"nodeName":"列出 Stripe 支付"`, "en": `"nodeName":"List Stripe payments"`}[lang]
				if !strings.Contains(string(needs), want) {
					t.Errorf("%s: credential needs %s", lang, needs)
				}
			}
		}
		return out
	}
	zh, en := steps("zh-CN"), steps("en")
	if len(zh) != len(en) || len(zh) < 20 {
		t.Fatalf("%d Chinese and %d English steps", len(zh), len(en))
	}
	for key, name := range zh {
		if name == en[key] || !hasHan(name) {
			t.Errorf("%s: Chinese %q, English %q", key, name, en[key])
		}
	}
	if zh["wechatpay-refund-notify/wechatpay"] != "微信支付通知" || en["wechatpay-refund-notify/wechatpay"] != "WeChat Pay notification" {
		t.Errorf("WeChat Pay trigger: %q / %q", zh["wechatpay-refund-notify/wechatpay"], en["wechatpay-refund-notify/wechatpay"])
	}

	names := func(doc map[string]any) map[string]any {
		out := map[string]any{}
		for _, n := range doc["nodes"].([]any) {
			out[n.(map[string]any)["id"].(string)] = n.(map[string]any)["name"]
		}
		return out
	}
	one := h.expect(h.do("GET", "/api/v1/templates/alipay-hubspot-deal-won", nil, "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8"), 200)
	if n := names(one["document"].(map[string]any)); n["alipay"] != "支付宝通知" || n["deal"] != "查找 HubSpot 商机" {
		t.Errorf("Chinese document: %v", n)
	}
	one = h.expect(h.do("GET", "/api/v1/templates/alipay-hubspot-deal-won", nil), 200)
	if n := names(one["document"].(map[string]any)); n["alipay"] != "Alipay notification" {
		t.Errorf("document without Accept-Language: %v", n)
	}

	stripeCred := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "Stripe", "type": "stripe.account",
		"live": map[string]string{"secretKey": "sk_test_123", "webhookSecret": "whsec_123"}}), 201)["id"].(string)
	body := `{"credentials": {"stripe": "` + stripeCred + `"}}`
	created := h.expect(h.do("POST", "/api/v1/templates/stripe-payment-received/use", body, "Accept-Language", "zh-CN"), 201)
	if created["name"] != "Stripe 收款：更新 CRM 并通知" {
		t.Errorf("default Chinese name %v", created["name"])
	}
	n := names(created["flow"].(map[string]any))
	if n["stripe"] != "Stripe 支付" || n["paid"] != "已支付？" || n["crm"] != "创建或更新 CRM 订单" || n["notify"] != "通知团队" {
		t.Errorf("Chinese node names %v", n)
	}
	id := created["id"].(string)
	stored := names(h.expect(h.do("GET", "/api/v1/flows/"+id, nil), 200)["flow"].(map[string]any))
	if stored["map"] != "映射为 CRM 订单" {
		t.Errorf("stored node names %v", stored)
	}
	created = h.expect(h.do("POST", "/api/v1/templates/stripe-payment-received/use", `{"name": "Mine", "credentials": {"stripe": "`+stripeCred+`"}}`, "Accept-Language", "en-US"), 201)
	if n := names(created["flow"].(map[string]any)); created["name"] != "Mine" || n["stripe"] != "Stripe payment" {
		t.Errorf("English use: %v %v", created["name"], n)
	}
}
