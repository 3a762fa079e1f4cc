package nodes

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// textsSpec is the node the locale-file tests translate.
func textsSpec() Spec {
	return Spec{
		Type: "textstest.refund", Version: 1, Name: "Refund", Description: "Refunds a payment.",
		Inputs:  []Port{{ID: "main", Label: "Input", Kind: PortMain}},
		Outputs: []Port{{ID: "main", Label: "Refunded", Kind: PortMain}},
		Params: []Field{
			{Name: "reason", Label: "Reason", Type: TypeSelect,
				Options:  []Option{{Value: "duplicate", Label: "Duplicate"}},
				Examples: []Example{{Name: "Twice / again", Value: "duplicate"}}},
			{Name: "lines", Label: "Lines", Type: TypeList, Fields: []Field{{Name: "amount", Label: "Amount", Type: TypeInteger}}},
		},
	}
}

func init() {
	MustRegister(textsSpec(), ctor)
	MustRegisterCredentialType(CredentialType{ID: "textstest.key", Name: "Key", Fields: []Field{
		{Name: "key", Label: "Key", Type: TypeString, Secret: true},
	}})
}

// TestLoadTextsRefusesMalformedFiles: every way a locale file can be wrong is refused with the file, the line
// and the JSON pointer of the problem, and a refused load adds nothing, not even from its sound files.
func TestLoadTextsRefusesMalformedFiles(t *testing.T) {
	const good = `{"nodes": {"textstest.refund": {"name": "退款"}}}`
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  []string
	}{
		{"malformed JSON", fstest.MapFS{"locales/x-bad.json": {Data: []byte("{\n  \"nodes\": {\n    \"textstest.refund\": {\"name\": \"退款\",}\n  }\n}")}},
			[]string{"bad/locales/x-bad.json:3:", "malformed JSON"}},
		{"truncated", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{"nodes": {"textstest.refund": {"name": "退款"}`)}},
			[]string{"bad/locales/x-bad.json:1:", "unexpected end of JSON input"}},
		{"unknown key at the top", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{"node": {}}`)}},
			[]string{"bad/locales/x-bad.json:1: /node: unknown key \"node\" (expected one of credentialTypes, errorPort, fields, nodes)"}},
		{"misspelt field key", fstest.MapFS{"locales/x-bad.json": {Data: []byte("{\"nodes\": {\"textstest.refund\": {\"params\": {\n\"reason\": {\"lable\": \"原因\"}}}}}")}},
			[]string{"bad/locales/x-bad.json:2: /nodes/textstest.refund/params/reason/lable: unknown key \"lable\" (expected one of description, examples, label, options)"}},
		{"option text with a stray key", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{"nodes": {"textstest.refund": {"params": {"reason": {"options": {"duplicate": {"label": "重复", "value": "x"}}}}}}}`)}},
			[]string{"/nodes/textstest.refund/params/reason/options/duplicate/value: unknown key \"value\""}},
		{"duplicate node entry", fstest.MapFS{"locales/x-bad.json": {Data: []byte("{\"nodes\": {\n\"textstest.refund\": {\"name\": \"退款\"},\n\"textstest.refund\": {\"name\": \"退钱\"}}}")}},
			[]string{"bad/locales/x-bad.json:3: /nodes/textstest.refund: key \"textstest.refund\" given twice"}},
		{"duplicate parameter", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{"nodes": {"textstest.refund": {"params": {"reason": {"label": "原因"}, "reason": {"label": "理由"}}}}}`)}},
			[]string{"/nodes/textstest.refund/params/reason: key \"reason\" given twice"}},
		{"duplicate label", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{"nodes": {"textstest.refund": {"name": "退款", "name": "退钱"}}}`)}},
			[]string{"/nodes/textstest.refund/name: key \"name\" given twice"}},
		{"text that is not a string", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{"nodes": {"textstest.refund": {"name": ["退款"]}}}`)}},
			[]string{"/nodes/textstest.refund/name: want a text (a JSON string), found an array"}},
		{"object that is a string", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{"nodes": {"textstest.refund": "退款"}}`)}},
			[]string{"/nodes/textstest.refund: want an object, found a string"}},
		{"empty text", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{"nodes": {"textstest.refund": {"name": " "}}}`)}},
			[]string{"/nodes/textstest.refund/name: empty text"}},
		{"empty object", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{"nodes": {"textstest.refund": {"params": {"reason": {}}}}}`)}},
			[]string{"/nodes/textstest.refund/params/reason: empty object"}},
		{"empty file object", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{}`)}},
			[]string{"bad/locales/x-bad.json:1: top level: empty object"}},
		{"a pointer escapes slashes", fstest.MapFS{"locales/x-bad.json": {Data: []byte(`{"nodes": {"textstest.refund": {"params": {"reason": {"examples": {"Twice / again": 1}}}}}}`)}},
			[]string{"/nodes/textstest.refund/params/reason/examples/Twice ~1 again: want a text"}},
		{"data after the object", fstest.MapFS{"locales/x-bad.json": {Data: []byte(good + ` {}`)}},
			[]string{"bad/locales/x-bad.json:1: top level: found an object after the top-level object"}},
		{"English", fstest.MapFS{"locales/en-GB.json": {Data: []byte(good)}},
			[]string{"bad/locales/en-GB.json: no locale file for English"}},
		{"not a language", fstest.MapFS{"locales/chinese.json": {Data: []byte(good)}},
			[]string{"bad/locales/chinese.json: \"chinese\" is not a language tag"}},
		{"not canonical", fstest.MapFS{"locales/zh_cn.json": {Data: []byte(good)}},
			[]string{"bad/locales/zh_cn.json: name the file zh-CN.json"}},
		{"not JSON", fstest.MapFS{"locales/x-bad.yaml": {Data: []byte("nodes: {}")}},
			[]string{"bad/locales/x-bad.yaml: not a locale file"}},
		{"a stray file", fstest.MapFS{"locales/.keep": {Data: nil}},
			[]string{"bad/locales/.keep: not a locale file"}},
		{"no files", fstest.MapFS{"locales": {Mode: fs.ModeDir}, "other.json": {Data: []byte(good)}},
			[]string{"bad/locales: no locale files"}},
		{"no locales directory", fstest.MapFS{"other.json": {Data: []byte(good)}},
			[]string{"read bad/locales:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A sound file beside the bad one must not be loaded either.
			files := fstest.MapFS{"locales/x-good.json": {Data: []byte(good)}}
			for name, f := range tc.files {
				files[name] = f
			}
			if _, ok := tc.files["other.json"]; ok {
				delete(files, "locales/x-good.json")
			}
			err := LoadTexts("bad", files)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if nodeText("x-good", "textstest.refund") != nil {
				t.Error("the sound file of a refused load was loaded")
			}
		})
	}
}

// TestLoadTextsRefusesAnEntryGivenByAnotherFile: two packages translating the same node type, credential type
// or error port into one language is a programming error, named with both files, and the second load adds
// nothing.
func TestLoadTextsRefusesAnEntryGivenByAnotherFile(t *testing.T) {
	loadLocale(t, "first", "x-dup", `{"errorPort": "错", "nodes": {"textstest.refund": {"name": "退款"}}, "credentialTypes": {"textstest.key": {"name": "钥"}}}`)
	err := LoadTexts("second", fstest.MapFS{
		"locales/x-dup.json":   {Data: []byte(`{"errorPort": "误", "nodes": {"textstest.refund": {"name": "退钱"}}, "credentialTypes": {"textstest.key": {"name": "匙"}}}`)},
		"locales/x-other.json": {Data: []byte(`{"nodes": {"textstest.refund": {"name": "退款"}}}`)},
	})
	if err == nil {
		t.Fatal("loaded twice")
	}
	for _, want := range []string{
		"second/locales/x-dup.json: /errorPort: the x-dup error port label is already given by first/locales/x-dup.json",
		"second/locales/x-dup.json: /nodes/textstest.refund: the x-dup text of textstest.refund is already given by first/locales/x-dup.json",
		"second/locales/x-dup.json: /credentialTypes/textstest.key: the x-dup text of textstest.key is already given by first/locales/x-dup.json",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if nodeText("x-dup", "textstest.refund").Name != "退款" || ErrorPortLabel("x-dup") != "错" {
		t.Error("the refused load replaced the first file's texts")
	}
	if nodeText("x-other", "textstest.refund") != nil {
		t.Error("the refused load added the texts of its other file")
	}
}

// TestCheckTextsNamesStrayEntries: a locale entry for a node type, port, parameter, nested parameter, option,
// example, credential type or credential field that is not registered makes CheckTexts fail, naming the file and
// JSON pointer of each, and MustCheckTexts stop the process; entries that all match pass.
func TestCheckTextsNamesStrayEntries(t *testing.T) {
	loadLocale(t, "nodes/stray", "x-stray", `{
		"nodes": {
			"textstest.refund": {
				"name": "退款",
				"inputs": {"main": "输入", "side": "旁路"},
				"outputs": {"main": "已退款", "done": "完成"},
				"params": {
					"reason": {"label": "原因", "options": {"duplicate": {"label": "重复"}, "fraud": {"label": "欺诈"}},
						"examples": {"Twice / again": "两次", "Once": "一次"}},
					"lines.amount": {"label": "金额"},
					"lines.currency": {"label": "币种"},
					"amount": {"label": "金额"}
				}
			},
			"textstest.gone": {"name": "已删除"}
		},
		"credentialTypes": {
			"textstest.key": {"name": "密钥", "fields": {"key": {"label": "密钥"}, "token": {"label": "令牌"}}},
			"textstest.gonekey": {"name": "旧密钥"}
		}
	}`)
	err := CheckTexts()
	if err == nil {
		t.Fatal("CheckTexts passed stray entries")
	}
	var got []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(line, "nodes/stray/") {
			got = append(got, line)
		}
	}
	const file = "nodes/stray/locales/x-stray.json: "
	want := []string{
		file + "/credentialTypes/textstest.gonekey: no credential type textstest.gonekey is registered",
		file + "/credentialTypes/textstest.key/fields/token: credential type textstest.key has no field token",
		file + "/nodes/textstest.gone: no node type textstest.gone is registered",
		file + "/nodes/textstest.refund/inputs/side: textstest.refund has no input port side",
		file + "/nodes/textstest.refund/outputs/done: textstest.refund has no output port done",
		file + "/nodes/textstest.refund/params/amount: textstest.refund has no parameter amount",
		file + "/nodes/textstest.refund/params/lines.currency: textstest.refund has no parameter lines.currency",
		file + "/nodes/textstest.refund/params/reason/examples/Once: parameter reason of textstest.refund has no example \"Once\"",
		file + "/nodes/textstest.refund/params/reason/options/fraud: parameter reason of textstest.refund has no option fraud",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("CheckTexts named\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	func() {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), file+"/nodes/textstest.gone") {
				t.Errorf("MustCheckTexts: panic %v, want one naming the stray entry", p)
			}
		}()
		MustCheckTexts()
	}()
}

// TestMustLoadTextsPanicsNamingThePackage: a malformed locale file stops the process at start-up, and the
// message names the file by the calling package's directory, where a developer finds it.
func TestMustLoadTextsPanicsNamingThePackage(t *testing.T) {
	defer func() {
		p := recover()
		if p == nil {
			t.Fatal("no panic")
		}
		if msg := fmt.Sprint(p); !strings.Contains(msg, "nodes: load texts: nodes/locales/x-must.json:1: /nodes/textstest.refund/nom: unknown key") {
			t.Errorf("panic %q does not name the file in the package's directory", msg)
		}
	}()
	MustLoadTexts(fstest.MapFS{"locales/x-must.json": {Data: []byte(`{"nodes": {"textstest.refund": {"nom": "退款"}}}`)}})
}

// The nodes package's own locale file was loaded at start-up, under its directory.
func TestNodesPackageLocaleLoaded(t *testing.T) {
	textMu.RLock()
	defer textMu.RUnlock()
	if errorSource[LangChinese] != "nodes/locales/zh-CN.json" {
		t.Errorf("the zh-CN error port label came from %q", errorSource[LangChinese])
	}
}

// TestSharedFieldTexts: a field that names a shared text is translated by it where its node's own text says
// nothing, the node's own text wins, the completeness check counts it, and a shared text no field names is stale.
func TestSharedFieldTexts(t *testing.T) {
	MustRegister(Spec{Type: "textstest.shared", Version: 1, Name: "Shared", Category: CategoryData,
		Inputs: []Port{{ID: DefaultPort, Label: "In", Kind: PortMain}}, Outputs: []Port{{ID: DefaultPort, Label: "Out", Kind: PortMain}},
		Params: []Field{
			{Name: "pages", Label: "Pages", Type: TypeSelect, TextKey: "textstest.paging.pages",
				Options: []Option{{Value: "one", Label: "One page"}, {Value: "all", Label: "All pages"}}},
			{Name: "size", Label: "Size", Type: TypeInteger, TextKey: "textstest.paging.size"},
		}}, func(cfg *Config) (Node, error) { return nil, cfg.Err() })
	const lang = "x-shared"
	err := LoadTexts("shared", fstest.MapFS{"locales/" + lang + ".json": {Data: []byte(`{
	  "nodes": {"textstest.shared": {"name": "共享", "inputs": {"main": "输入"}, "outputs": {"main": "输出"},
	    "params": {"size": {"label": "每页数量（本节点）"}}}},
	  "fields": {
	    "textstest.paging.pages": {"label": "页面", "options": {"one": {"label": "一页"}, "all": {"label": "全部"}}},
	    "textstest.paging.size": {"label": "每页数量"},
	    "textstest.paging.gone": {"label": "无人使用"}
	  }}`)}})
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := Lookup("textstest.shared", 1)
	s := Localize(reg.Spec, lang)
	if s.Params[0].Label != "页面" || s.Params[0].Options[1].Label != "全部" || s.Params[1].Label != "每页数量（本节点）" {
		t.Fatalf("localized %+v", s.Params)
	}
	missing, stale := TranslationGaps(lang)
	for _, m := range missing {
		if strings.Contains(m, "textstest.shared") {
			t.Errorf("counted as missing: %s", m)
		}
	}
	found := false
	for _, s := range stale {
		found = found || strings.Contains(s, "/fields/textstest.paging.gone")
	}
	if !found {
		t.Errorf("an unused shared text is not stale: %v", stale)
	}
}
