package all_test

import (
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/all"
)

// Every node and credential type Ferry ships is shown in Chinese when the editor runs in zh-CN: a new node,
// parameter, option, port, example or credential field fails this test, naming each string that has no
// translation, until its package's locales/zh-CN.json has one. Translations left over from renamed or removed
// things fail it too (and stop the binary at start-up, see all.go), so the files do not rot.
func TestEveryNodeHasChineseText(t *testing.T) {
	missing, stale := nodes.TranslationGaps(nodes.LangChinese)
	if len(missing) > 0 {
		t.Errorf("%d strings have no zh-CN translation (add them to the package's locales/zh-CN.json):\n%s",
			len(missing), strings.Join(missing, "\n"))
	}
	if len(stale) > 0 {
		t.Errorf("%d zh-CN translations match nothing registered:\n%s", len(stale), strings.Join(stale, "\n"))
	}
}

// The Chinese catalog keeps everything but the text: types, ids, port ids, option values, example values and
// parameter order are those of the English spec.
func TestChineseCatalogKeepsEverythingButText(t *testing.T) {
	nodes.Walk(func(r *nodes.Registration) {
		zh := nodes.Localize(r.Spec, nodes.LangChinese)
		if zh.Name == r.Spec.Name && zh.Type != "core.webhook" {
			t.Errorf("%s: name not translated", r.Spec.Type)
		}
		if zh.Type != r.Spec.Type || zh.Version != r.Spec.Version || len(zh.Params) != len(r.Spec.Params) ||
			len(zh.Inputs) != len(r.Spec.Inputs) || len(zh.Outputs) != len(r.Spec.Outputs) {
			t.Errorf("%s: shape changed", r.Spec.Type)
			return
		}
		for i := range zh.Outputs {
			if zh.Outputs[i].ID != r.Spec.Outputs[i].ID {
				t.Errorf("%s: output port id %s became %s", r.Spec.Type, r.Spec.Outputs[i].ID, zh.Outputs[i].ID)
			}
		}
		sameValues(t, r.Spec.Type, r.Spec.Params, zh.Params)
	})
}

func sameValues(t *testing.T, where string, en, zh []nodes.Field) {
	t.Helper()
	for i := range en {
		if en[i].Name != zh[i].Name || en[i].Type != zh[i].Type || len(en[i].Options) != len(zh[i].Options) ||
			len(en[i].Examples) != len(zh[i].Examples) || len(en[i].Fields) != len(zh[i].Fields) {
			t.Errorf("%s: param %s changed shape", where, en[i].Name)
			continue
		}
		for j := range en[i].Options {
			if en[i].Options[j].Value != zh[i].Options[j].Value {
				t.Errorf("%s: param %s: option value %s changed", where, en[i].Name, en[i].Options[j].Value)
			}
		}
		sameValues(t, where+": "+en[i].Name, en[i].Fields, zh[i].Fields)
	}
}
