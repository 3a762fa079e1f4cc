package api_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/api"
)

// The catalog routes answer in the language the editor asks for, and say so to caches.
func TestCatalogLanguageNegotiation(t *testing.T) {
	h := sqliteHarness(t)
	for _, tc := range []struct{ header, want string }{
		{"", "en"},
		{"zh", "zh-CN"},
		{"zh-CN", "zh-CN"},
		{"zh-cn", "zh-CN"},
		{"zh-Hans", "zh-CN"},
		{"zh-Hans-CN", "zh-CN"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"},
		{"en-US,en;q=0.9,zh-CN;q=0.8", "en"},
		{"en;q=0.5, zh-CN;q=0.9", "zh-CN"},
		{"fr-FR", "en"},
		{"zh-TW", "en"},
		{"zh-Hant", "en"},
		{"zh;q=0", "en"},
		{"zh;q=abc", "en"},
		{"*", "en"},
		{";;,,", "en"},
	} {
		for _, path := range []string{"/api/v1/nodes", "/api/v1/credential-types", "/api/v1/functions"} {
			r := h.do("GET", path, nil, "Accept-Language", tc.header)
			if r.status != 200 {
				t.Fatalf("%s with %q: status %d: %s", path, tc.header, r.status, r.body)
			}
			if got := r.header.Get("Content-Language"); got != tc.want {
				t.Errorf("%s with Accept-Language %q: Content-Language %q, want %q", path, tc.header, got, tc.want)
			}
			if !strings.Contains(r.header.Get("Vary"), "Accept-Language") {
				t.Errorf("%s: Vary = %q, want it to name Accept-Language", path, r.header.Get("Vary"))
			}
		}
	}
}

func TestNodeCatalogInChinese(t *testing.T) {
	h := sqliteHarness(t)
	var en, zh struct {
		Nodes []api.NodeInfo `json:"nodes"`
	}
	decode(t, h.do("GET", "/api/v1/nodes", nil, "Accept-Language", "en-US"), &en)
	decode(t, h.do("GET", "/api/v1/nodes", nil, "Accept-Language", "zh-CN"), &zh)
	if len(en.Nodes) == 0 || len(zh.Nodes) != len(en.Nodes) {
		t.Fatalf("catalog sizes: en %d, zh %d", len(en.Nodes), len(zh.Nodes))
	}
	find := func(list []api.NodeInfo, typ string) api.NodeInfo {
		for _, n := range list {
			if n.Type == typ {
				return n
			}
		}
		t.Fatalf("%s is not in the catalog", typ)
		return api.NodeInfo{}
	}

	cond := find(zh.Nodes, "core.condition")
	if cond.Name != "条件判断" {
		t.Errorf("core.condition name = %q", cond.Name)
	}
	want := map[string]string{"true": "是", "false": "否", "error": "错误"}
	for _, p := range cond.Outputs {
		if want[p.ID] != p.Label {
			t.Errorf("core.condition port %s = %q, want %q", p.ID, p.Label, want[p.ID])
		}
	}

	// Nested list fields, option labels and example names are translated; values are not.
	mapNode, mapEN := find(zh.Nodes, "core.map"), find(en.Nodes, "core.map")
	fields := mapNode.Field("fields")
	if fields == nil || fields.Label != "字段" || fields.Fields[0].Label != "目标字段" {
		t.Fatalf("core.map fields = %+v", fields)
	}
	var convert nodes.Field
	for _, f := range fields.Fields {
		if f.Name == "type" {
			convert = f
		}
	}
	if convert.Label != "转换为" || convert.Options[0].Value != mapEN.Field("fields").Fields[findIndex(mapEN.Field("fields").Fields, "type")].Options[0].Value {
		t.Errorf("core.map fields.type = %+v", convert)
	}
	if len(fields.Examples) == 0 || fields.Examples[0].Name != "订单转 CRM 商机" ||
		!reflect.DeepEqual(fields.Examples[0].Value, mapEN.Field("fields").Examples[0].Value) {
		t.Errorf("core.map fields example = %+v", fields.Examples)
	}

	refund := find(zh.Nodes, "wechatpay.refund")
	if refund.Name != "微信支付：退款" || refund.Field("outTradeNo").Label != "商户订单号（out_trade_no）" {
		t.Errorf("wechatpay.refund = %q / %q", refund.Name, refund.Field("outTradeNo").Label)
	}

	// The English catalog is the registered spec, untouched by the Chinese request before it.
	if c := find(en.Nodes, "core.condition"); c.Name != "Condition" || c.Outputs[len(c.Outputs)-1].Label != "Error" {
		t.Errorf("English core.condition = %q, error port %q", c.Name, c.Outputs[len(c.Outputs)-1].Label)
	}
	r, _ := nodes.Lookup("core.condition", 0)
	if r.Spec.Name != "Condition" || r.Spec.Outputs[0].Label != "True" {
		t.Errorf("the registered spec changed: %q, %q", r.Spec.Name, r.Spec.Outputs[0].Label)
	}
	if again := find(api.Catalog(), "core.map"); again.Field("fields").Label != "Fields" {
		t.Error("the English catalog changed after a Chinese one was served")
	}
}

func TestCredentialTypesAndFunctionsInChinese(t *testing.T) {
	h := sqliteHarness(t)
	var types struct {
		Types []nodes.CredentialType `json:"types"`
	}
	decode(t, h.do("GET", "/api/v1/credential-types", nil, "Accept-Language", "zh-Hans"), &types)
	var alipay *nodes.CredentialType
	for i := range types.Types {
		if types.Types[i].ID == "alipay.app" {
			alipay = &types.Types[i]
		}
	}
	if alipay == nil {
		t.Fatal("alipay.app is not listed")
	}
	if alipay.Name != "支付宝应用" {
		t.Errorf("alipay.app name = %q", alipay.Name)
	}
	for _, f := range alipay.Fields {
		if !hasHan(f.Label) || !hasHan(f.Description) {
			t.Errorf("alipay.app field %s is not in Chinese: %q, %q", f.Name, f.Label, f.Description)
		}
		for _, o := range f.Options {
			if !hasHan(o.Label) {
				t.Errorf("alipay.app field %s option %s label %q is not Chinese", f.Name, o.Value, o.Label)
			}
		}
	}
	if ct, _ := nodes.LookupCredentialType("alipay.app"); ct.Name != "Alipay app" {
		t.Errorf("the registered credential type changed: %q", ct.Name)
	}

	var fns struct {
		Functions []expression.FunctionDoc `json:"functions"`
	}
	decode(t, h.do("GET", "/api/v1/functions", nil, "Accept-Language", "zh"), &fns)
	en := expression.Functions()
	if len(fns.Functions) != len(en) {
		t.Fatalf("%d functions in Chinese, %d in English", len(fns.Functions), len(en))
	}
	for i, f := range fns.Functions {
		if f.Name != en[i].Name || f.Signature != en[i].Signature || f.Example != en[i].Example {
			t.Errorf("%s: code changed in translation: %+v", en[i].Name, f)
		}
		if f.Description == en[i].Description {
			t.Errorf("%s: description not translated", f.Name)
		}
	}
	decode(t, h.do("GET", "/api/v1/functions", nil), &fns)
	if fns.Functions[0].Description != en[0].Description {
		t.Errorf("without Accept-Language the functions are not English: %q", fns.Functions[0].Description)
	}
}

func decode(t *testing.T, r response, v any) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode: %v\n%s", err, r.body)
	}
}

func findIndex(fields []nodes.Field, name string) int {
	for i, f := range fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// hasHan reports whether s contains a Chinese character.
func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
