package expression

import "sort"

// langChinese is the language tag of functionDescriptionsZh, the same tag the node catalog uses (nodes.LangChinese);
// this package sits below nodes and cannot import it.
const langChinese = "zh-CN"

// descriptionsByLang holds the translated descriptions of each language the editor can be shown in. English is the
// source in the FunctionDoc literals and has no table.
var descriptionsByLang = map[string]map[string]string{langChinese: functionDescriptionsZh}

// FunctionsIn is Functions with each description in lang, falling back to English for a function the language's
// table lacks and for languages without a table. Names, signatures, examples and outputs are code and stay as
// they are. The returned slice is a copy; the registered docs are never changed.
func FunctionsIn(lang string) []FunctionDoc {
	docs := Functions()
	table := descriptionsByLang[lang]
	for i := range docs {
		if d := table[docs[i].Name]; d != "" {
			docs[i].Description = d
		}
	}
	return docs
}

// FunctionTranslationGaps lists, for lang, the functions whose description has no translation (missing) and the
// translations of functions that no longer exist (stale), sorted, so a test can name each one.
func FunctionTranslationGaps(lang string) (missing, stale []string) {
	table := descriptionsByLang[lang]
	known := map[string]bool{}
	for _, d := range Functions() {
		known[d.Name] = true
		if d.Description != "" && table[d.Name] == "" {
			missing = append(missing, d.Name)
		}
	}
	for name := range table {
		if !known[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	return missing, stale
}
