package nodes

import (
	"reflect"
	"strings"
	"testing"
)

// i18nLang is a language only these tests translate into, so they do not depend on (or disturb) the shipped
// zh-CN tables.
const i18nLang = "x-i18ntest"

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
	MustTranslate(i18nLang, "i18ntest.node", NodeText{
		Name:    "退款",
		Inputs:  map[string]string{"main": "输入"},
		Outputs: map[string]string{"main": "已退款", "default": "默认"},
		Params: map[string]FieldText{
			"mode": {Label: "方式", Options: map[string]OptionText{"full": {Label: "全额"}},
				Examples: map[string]string{"Whole order": "整单"}},
			"cases.when": {Label: "条件", Examples: map[string]string{"Paid": "已支付"}},
			"cases.gone": {Label: "不存在"},
		},
	})
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
	missing, stale = only(missing, "node i18ntest.node"), only(stale, "node i18ntest.node")
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
	if want := []string{"node i18ntest.node: param cases.gone does not exist"}; !reflect.DeepEqual(stale, want) {
		t.Errorf("stale = %q, want %q", stale, want)
	}
}

func TestLocalizeCredentialType(t *testing.T) {
	MustRegisterCredentialType(CredentialType{ID: "i18ntest.key", Name: "API key", Description: "A key.", Fields: []Field{
		{Name: "key", Label: "Key", Type: TypeString, Secret: true, Description: "The key itself."},
		{Name: "in", Label: "Send in", Type: TypeSelect, Options: []Option{{Value: "header", Label: "Header"}}},
	}})
	MustTranslateCredentialType(i18nLang, "i18ntest.key", CredentialText{
		Name: "API 密钥",
		Fields: map[string]FieldText{
			"key":  {Label: "密钥"},
			"in":   {Label: "发送位置", Options: map[string]OptionText{"header": {Label: "请求头"}, "query": {Label: "查询参数"}}},
			"lost": {Label: "丢失"},
		},
	})
	MustTranslateCredentialType(i18nLang, "i18ntest.unregistered", CredentialText{Name: "无"})
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
	if s := append(only(stale, "credential type i18ntest.key"), only(stale, "credential type i18ntest.unregistered")...); !reflect.DeepEqual(s, []string{
		"credential type i18ntest.key: field in: option query does not exist",
		"credential type i18ntest.key: field lost does not exist",
		"credential type i18ntest.unregistered: translated but not registered",
	}) {
		t.Errorf("stale = %q", s)
	}
}

func TestTranslateRefusesDuplicatesAndEnglish(t *testing.T) {
	MustTranslate(i18nLang, "i18ntest.dup", NodeText{Name: "一"})
	MustTranslateCredentialType(i18nLang, "i18ntest.dupcred", CredentialText{Name: "一"})
	for name, fn := range map[string]func(){
		"duplicate":            func() { MustTranslate(i18nLang, "i18ntest.dup", NodeText{Name: "二"}) },
		"english":              func() { MustTranslate(LangEnglish, "i18ntest.other", NodeText{Name: "x"}) },
		"english credential":   func() { MustTranslateCredentialType(LangEnglish, "i18ntest.other", CredentialText{}) },
		"duplicate credential": func() { MustTranslateCredentialType(i18nLang, "i18ntest.dupcred", CredentialText{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

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
