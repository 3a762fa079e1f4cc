package nodes

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// i18nLang is a language only these tests translate into (a private-use tag), so they do not depend on (or
// disturb) the shipped zh-CN files.
const i18nLang = "x-i18ntest"

// loadLocale loads one locale file, as a node package's init would, from directory dir (which names it in
// messages).
func loadLocale(t *testing.T, dir, lang, content string) {
	t.Helper()
	if err := LoadTexts(dir, fstest.MapFS{"locales/" + lang + ".json": {Data: []byte(content)}}); err != nil {
		t.Fatalf("load %s: %v", lang, err)
	}
}

func i18nSpec() Spec {
	return Spec{
		Type: "i18ntest.node", Version: 1, Name: "Refund", Description: "Refunds a payment.",
		Inputs:  []Port{{ID: "main", Label: "Input", Kind: PortMain}},
		Outputs: []Port{{ID: "main", Label: "Refunded", Kind: PortMain}},
		Dynamic: &DynamicPorts{Param: "cases", PortField: "port", Fixed: []Port{{ID: "default", Label: "Default", Kind: PortMain}}},
		Params: []Field{
			{Name: "mode", Label: "Mode", Type: TypeSelect, Description: "How much to refund.",
				Options:  []Option{{Value: "full", Label: "Full", Description: "Everything."}, {Value: "part", Label: "Part"}},
				Examples: []Example{{Name: "Whole order", Value: "full"}}},
			{Name: "cases", Label: "Cases", Type: TypeList, Fields: []Field{
				{Name: "port", Label: "Port id", Type: TypeString},
				{Name: "when", Label: "When", Type: TypeExpr, Description: "Matches when true.",
					Examples: []Example{{Name: "Paid", Value: "x"}}},
			}},
			{Name: "note", Label: "Note", Type: TypeString},
		},
	}
}

func TestLocalizeTranslatesAndFallsBackPerString(t *testing.T) {
	MustRegister(i18nSpec(), ctor)
	loadLocale(t, "i18ntest/node", i18nLang, `{"nodes": {"i18ntest.node": {
		"name": "退款",
		"inputs": {"main": "输入"},
		"outputs": {"main": "已退款", "default": "默认"},
		"params": {
			"mode": {"label": "方式", "options": {"full": {"label": "全额"}}, "examples": {"Whole order": "整单"}},
			"cases.when": {"label": "条件", "examples": {"Paid": "已支付"}},
			"cases.gone": {"label": "不存在"}
		}
	}}}`)
	reg, _ := Lookup("i18ntest.node", 1)
	before := i18nSpec()

	got := Localize(reg.Spec, i18nLang)

	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("name", got.Name, "退款")
	check("description (untranslated)", got.Description, "Refunds a payment.")
	check("input port", got.Inputs[0].Label, "输入")
	check("output port", got.Outputs[0].Label, "已退款")
	check("fixed dynamic port", got.Dynamic.Fixed[0].Label, "默认")
	check("param label", got.Params[0].Label, "方式")
	check("param description (untranslated)", got.Params[0].Description, "How much to refund.")
	check("option label", got.Params[0].Options[0].Label, "全额")
	check("option description (untranslated)", got.Params[0].Options[0].Description, "Everything.")
	check("second option (untranslated)", got.Params[0].Options[1].Label, "Part")
	check("example name", got.Params[0].Examples[0].Name, "整单")
	check("list row field", got.Params[1].Fields[1].Label, "条件")
	check("list row field example", got.Params[1].Fields[1].Examples[0].Name, "已支付")
	check("list row field description (untranslated)", got.Params[1].Fields[1].Description, "Matches when true.")
	check("untranslated param", got.Params[2].Label, "Note")
	if got.Params[0].Options[0].Value != "full" || got.Params[0].Examples[0].Value != "full" {
		t.Error("values changed: only text may be translated")
	}

	// The registered spec is shared by every request: translating must leave it exactly as registered.
	if !reflect.DeepEqual(reg.Spec, before) {
		t.Errorf("Localize changed the registered spec:\n%+v", reg.Spec)
	}
	if english := Localize(reg.Spec, LangEnglish); !reflect.DeepEqual(english, before) {
		t.Errorf("English is not the spec as registered: %+v", english)
	}
	if other := Localize(reg.Spec, "fr"); !reflect.DeepEqual(other, before) {
		t.Errorf("a language without tables is not English: %+v", other)
	}

	missing, stale := TranslationGaps(i18nLang)
	missing = only(missing, "node i18ntest.node")
	for _, want := range []string{
		`node i18ntest.node: description "Refunds a payment."`,
		`node i18ntest.node: param mode: option part label "Part"`,
		`node i18ntest.node: param mode: option full description "Everything."`,
		`node i18ntest.node: param cases: label "Cases"`,
		`node i18ntest.node: param cases.port: label "Port id"`,
		`node i18ntest.node: param cases.when: description "Matches when true."`,
		`node i18ntest.node: param note: label "Note"`,
	} {
		if !contains(missing, want) {
			t.Errorf("missing does not list %s; got\n%s", want, strings.Join(missing, "\n"))
		}
	}
	for _, translated := range []string{`param mode: label`, `param cases.when: label`, `output port default`, `: name "Refund"`} {
		for _, m := range missing {
			if strings.Contains(m, translated) {
				t.Errorf("translated text reported missing: %s", m)
			}
		}
	}
	stale = only(stale, "i18ntest/node/")
	if want := []string{"i18ntest/node/locales/x-i18ntest.json: /nodes/i18ntest.node/params/cases.gone: i18ntest.node has no parameter cases.gone"}; !reflect.DeepEqual(stale, want) {
		t.Errorf("stale = %q, want %q", stale, want)
	}
}

func TestLocalizeCredentialType(t *testing.T) {
	MustRegisterCredentialType(CredentialType{ID: "i18ntest.key", Name: "API key", Description: "A key.", Fields: []Field{
		{Name: "key", Label: "Key", Type: TypeString, Secret: true, Description: "The key itself."},
		{Name: "in", Label: "Send in", Type: TypeSelect, Options: []Option{{Value: "header", Label: "Header"}}},
	}})
	loadLocale(t, "i18ntest/key", i18nLang, `{"credentialTypes": {
		"i18ntest.key": {
			"name": "API 密钥",
			"fields": {
				"key": {"label": "密钥"},
				"in": {"label": "发送位置", "options": {"header": {"label": "请求头"}, "query": {"label": "查询参数"}}},
				"lost": {"label": "丢失"}
			}
		},
		"i18ntest.unregistered": {"name": "无"}
	}}`)
	ct, _ := LookupCredentialType("i18ntest.key")
	got := LocalizeCredentialType(*ct, i18nLang)
	if got.Name != "API 密钥" || got.Description != "A key." || got.Fields[0].Label != "密钥" ||
		got.Fields[0].Description != "The key itself." || got.Fields[1].Options[0].Label != "请求头" || !got.Fields[0].Secret {
		t.Errorf("localized credential type = %+v", got)
	}
	if ct.Name != "API key" || ct.Fields[0].Label != "Key" || ct.Fields[1].Options[0].Label != "Header" {
		t.Errorf("the registered credential type changed: %+v", ct)
	}

	missing, stale := TranslationGaps(i18nLang)
	if m := only(missing, "credential type i18ntest.key"); !reflect.DeepEqual(m, []string{
		`credential type i18ntest.key: description "A key."`,
		`credential type i18ntest.key: field key: description "The key itself."`,
	}) {
		t.Errorf("missing = %q", m)
	}
	if s := only(stale, "i18ntest/key/"); !reflect.DeepEqual(s, []string{
		"i18ntest/key/locales/x-i18ntest.json: /credentialTypes/i18ntest.key/fields/in/options/query: field in of credential type i18ntest.key has no option query",
		"i18ntest/key/locales/x-i18ntest.json: /credentialTypes/i18ntest.key/fields/lost: credential type i18ntest.key has no field lost",
		"i18ntest/key/locales/x-i18ntest.json: /credentialTypes/i18ntest.unregistered: no credential type i18ntest.unregistered is registered",
	}) {
		t.Errorf("stale = %q", s)
	}
}

// The error port's Chinese label comes from the nodes package's own locale file.
func TestErrorPortLabel(t *testing.T) {
	if ErrorPortLabel(LangChinese) != "错误" || ErrorPortLabel(LangEnglish) != "Error" || ErrorPortLabel("fr") != "Error" {
		t.Error("error port label")
	}
}

func only(list []string, prefix string) []string {
	var out []string
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
