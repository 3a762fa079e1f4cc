package expression

import (
	"strings"
	"testing"
)

// Every function the editor offers is documented in Chinese too: a new function fails this test, naming itself,
// until functions_zh.go describes it; a translation of a removed function fails it as well.
func TestEveryFunctionHasChineseDescription(t *testing.T) {
	missing, stale := FunctionTranslationGaps(langChinese)
	if len(missing) > 0 {
		t.Errorf("functions without a zh-CN description in functions_zh.go: %s", strings.Join(missing, ", "))
	}
	if len(stale) > 0 {
		t.Errorf("zh-CN descriptions of functions that do not exist: %s", strings.Join(stale, ", "))
	}
}

func TestFunctionsInTranslatesOnlyDescriptions(t *testing.T) {
	en := Functions()
	zh := FunctionsIn(langChinese)
	if len(zh) != len(en) {
		t.Fatalf("zh-CN lists %d functions, English %d", len(zh), len(en))
	}
	for i := range en {
		e, z := en[i], zh[i]
		if z.Name != e.Name || z.Signature != e.Signature || z.Example != e.Example || z.Output != e.Output ||
			z.Category != e.Category || z.Builtin != e.Builtin {
			t.Errorf("%s: more than the description changed: %+v", e.Name, z)
		}
		if z.Description == e.Description {
			t.Errorf("%s: description not translated", e.Name)
		}
	}
	if got := FunctionsIn("fr"); got[0].Description != en[0].Description {
		t.Errorf("an unknown language is not English: %q", got[0].Description)
	}
	// FunctionsIn must hand out a copy: the English docs stay English afterwards.
	if again := Functions(); again[0].Description != en[0].Description {
		t.Errorf("FunctionsIn changed the registered docs: %q", again[0].Description)
	}
	var upper FunctionDoc
	for _, d := range zh {
		if d.Name == "upper" {
			upper = d
		}
	}
	if !strings.Contains(upper.Description, "微信支付") {
		t.Errorf("upper = %q", upper.Description)
	}
}
