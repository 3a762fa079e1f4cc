package nodes

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Languages the node catalog is served in. English is the source: the specs are written in it, and every string
// a translation lacks falls back to it, so a half-translated node still reads sensibly.
const (
	LangEnglish = "en"
	LangChinese = "zh-CN"
)

// NodeText is the translation of one node type's user-facing text into one language. It lives beside the node
// package, apart from the spec literal, so the spec stays the single English source and a translator never edits
// the code that defines behaviour. It applies to every version of the type; text for a parameter a version does
// not have is simply unused.
type NodeText struct {
	Name        string
	Description string
	// Inputs and Outputs map port ids to labels. They are separate because a node's input and output port often
	// share the id "main" but not the label. Outputs covers the fixed ports of dynamic outputs as well.
	Inputs  map[string]string
	Outputs map[string]string
	// Params maps a parameter path to its text: "amount" for a top-level parameter, "lookups.from" for a
	// field of a row of a list parameter.
	Params map[string]FieldText
}

// FieldText is the translation of one parameter or credential field.
type FieldText struct {
	Label       string
	Description string
	// Options maps an option value to the text of that choice.
	Options map[string]OptionText
	// Examples maps an example's English name to its translated name; the value is never translated.
	Examples map[string]string
}

// OptionText is the translation of one choice of a select field.
type OptionText struct {
	Label       string
	Description string
}

// CredentialText is the translation of one credential type's form.
type CredentialText struct {
	Name        string
	Description string
	// Fields maps a field path (as for NodeText.Params) to its text.
	Fields map[string]FieldText
}

var (
	textMu     sync.RWMutex
	nodeTexts  = map[string]map[string]*NodeText{}
	credTexts  = map[string]map[string]*CredentialText{}
	errorLabel = map[string]string{LangChinese: "错误"}
)

// MustTranslate records the text of node type typ in lang, from an init function of the node's package. A second
// translation of the same type into the same language is a programming error that stops the process, as a
// duplicate registration does.
func MustTranslate(lang, typ string, t NodeText) {
	textMu.Lock()
	defer textMu.Unlock()
	if lang == LangEnglish || lang == "" {
		panic(fmt.Sprintf("nodes: translate %s: English is the source and takes no translation", typ))
	}
	m := nodeTexts[lang]
	if m == nil {
		m = map[string]*NodeText{}
		nodeTexts[lang] = m
	}
	if _, dup := m[typ]; dup {
		panic(fmt.Sprintf("nodes: %s translation of %s registered twice", lang, typ))
	}
	m[typ] = &t
}

// MustTranslateCredentialType records the text of credential type id in lang, like MustTranslate.
func MustTranslateCredentialType(lang, id string, t CredentialText) {
	textMu.Lock()
	defer textMu.Unlock()
	if lang == LangEnglish || lang == "" {
		panic(fmt.Sprintf("nodes: translate credential type %s: English is the source and takes no translation", id))
	}
	m := credTexts[lang]
	if m == nil {
		m = map[string]*CredentialText{}
		credTexts[lang] = m
	}
	if _, dup := m[id]; dup {
		panic(fmt.Sprintf("nodes: %s translation of credential type %s registered twice", lang, id))
	}
	m[id] = &t
}

func nodeText(lang, typ string) *NodeText {
	textMu.RLock()
	defer textMu.RUnlock()
	return nodeTexts[lang][typ]
}

func credentialText(lang, id string) *CredentialText {
	textMu.RLock()
	defer textMu.RUnlock()
	return credTexts[lang][id]
}

// ErrorPortLabel is the label of the error port every node has, in lang.
func ErrorPortLabel(lang string) string {
	if l := errorLabel[lang]; l != "" {
		return l
	}
	return "Error"
}

// Localize returns a copy of s with its user-facing text in lang, each string falling back to English where the
// translation lacks it. The registered spec is never changed: the copy owns every slice it rewrites.
func Localize(s Spec, lang string) Spec {
	t := nodeText(lang, s.Type)
	if t == nil {
		return s
	}
	s.Name = pick(t.Name, s.Name)
	s.Description = pick(t.Description, s.Description)
	s.Inputs = localizePorts(s.Inputs, t.Inputs)
	s.Outputs = localizePorts(s.Outputs, t.Outputs)
	if s.Dynamic != nil {
		d := *s.Dynamic
		d.Fixed = localizePorts(d.Fixed, t.Outputs)
		s.Dynamic = &d
	}
	s.Params = localizeFields(s.Params, "", t.Params)
	return s
}

// LocalizeCredentialType returns a copy of ct with its form text in lang, falling back to English per string.
func LocalizeCredentialType(ct CredentialType, lang string) CredentialType {
	t := credentialText(lang, ct.ID)
	if t == nil {
		return ct
	}
	ct.Name = pick(t.Name, ct.Name)
	ct.Description = pick(t.Description, ct.Description)
	ct.Fields = localizeFields(ct.Fields, "", t.Fields)
	return ct
}

func pick(translated, source string) string {
	if translated != "" {
		return translated
	}
	return source
}

func localizePorts(ports []Port, labels map[string]string) []Port {
	if ports == nil {
		return nil
	}
	out := make([]Port, len(ports))
	for i, p := range ports {
		p.Label = pick(labels[p.ID], p.Label)
		out[i] = p
	}
	return out
}

func localizeFields(fields []Field, prefix string, texts map[string]FieldText) []Field {
	if fields == nil {
		return nil
	}
	out := make([]Field, len(fields))
	for i, f := range fields {
		path := prefix + f.Name
		t := texts[path]
		f.Label = pick(t.Label, f.Label)
		f.Description = pick(t.Description, f.Description)
		if f.Options != nil {
			opts := make([]Option, len(f.Options))
			for j, o := range f.Options {
				ot := t.Options[o.Value]
				o.Label = pick(ot.Label, o.Label)
				o.Description = pick(ot.Description, o.Description)
				opts[j] = o
			}
			f.Options = opts
		}
		if f.Examples != nil {
			exs := make([]Example, len(f.Examples))
			for j, e := range f.Examples {
				e.Name = pick(t.Examples[e.Name], e.Name)
				exs[j] = e
			}
			f.Examples = exs
		}
		f.Fields = localizeFields(f.Fields, path+".", texts)
		out[i] = f
	}
	return out
}

// TranslationGaps walks every registered node type and credential type and lists, for lang, each piece of
// user-facing text that has no translation (missing) and each translation that matches nothing registered
// (stale: a renamed parameter, a removed option). Both are sorted and name the exact place, so a test can fail
// with a list a translator can work through.
func TranslationGaps(lang string) (missing, stale []string) {
	usedNodes := map[string]map[string]bool{}
	Walk(func(r *Registration) {
		s := r.Spec
		t := nodeText(lang, s.Type)
		used := usedNodes[s.Type]
		if used == nil {
			used = map[string]bool{}
			usedNodes[s.Type] = used
		}
		if t == nil {
			missing = append(missing, fmt.Sprintf("node %s: no %s translation", s.Type, lang))
			return
		}
		where := "node " + s.Type
		missing = checkText(missing, where+": name", s.Name, t.Name)
		missing = checkText(missing, where+": description", s.Description, t.Description)
		for _, p := range s.Inputs {
			used["in:"+p.ID] = true
			missing = checkText(missing, where+": input port "+p.ID, p.Label, t.Inputs[p.ID])
		}
		outs := append([]Port(nil), s.Outputs...)
		if s.Dynamic != nil {
			outs = append(outs, s.Dynamic.Fixed...)
		}
		for _, p := range outs {
			used["out:"+p.ID] = true
			missing = checkText(missing, where+": output port "+p.ID, p.Label, t.Outputs[p.ID])
		}
		missing = fieldGaps(missing, where+": param ", s.Params, "", t.Params, used)
	})
	for _, typ := range sortedKeys(nodeTextsIn(lang)) {
		t := nodeText(lang, typ)
		used, ok := usedNodes[typ]
		if !ok {
			stale = append(stale, fmt.Sprintf("node %s: translated but not registered", typ))
			continue
		}
		for _, id := range sortedKeys(t.Inputs) {
			if !used["in:"+id] {
				stale = append(stale, fmt.Sprintf("node %s: input port %s does not exist", typ, id))
			}
		}
		for _, id := range sortedKeys(t.Outputs) {
			if !used["out:"+id] {
				stale = append(stale, fmt.Sprintf("node %s: output port %s does not exist", typ, id))
			}
		}
		stale = staleFields(stale, "node "+typ+": param ", t.Params, used)
	}

	registered := map[string]bool{}
	for _, ct := range CredentialTypes() {
		registered[ct.ID] = true
		t := credentialText(lang, ct.ID)
		if t == nil {
			missing = append(missing, fmt.Sprintf("credential type %s: no %s translation", ct.ID, lang))
			continue
		}
		where := "credential type " + ct.ID
		missing = checkText(missing, where+": name", ct.Name, t.Name)
		missing = checkText(missing, where+": description", ct.Description, t.Description)
		used := map[string]bool{}
		missing = fieldGaps(missing, where+": field ", ct.Fields, "", t.Fields, used)
		stale = staleFields(stale, where+": field ", t.Fields, used)
	}
	for _, id := range sortedKeys(credentialTextsIn(lang)) {
		if !registered[id] {
			stale = append(stale, fmt.Sprintf("credential type %s: translated but not registered", id))
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	return missing, stale
}

func checkText(missing []string, where, source, translated string) []string {
	if strings.TrimSpace(source) != "" && strings.TrimSpace(translated) == "" {
		missing = append(missing, fmt.Sprintf("%s %q", where, source))
	}
	return missing
}

// fieldGaps records in used every field path, option ("path#value") and example ("path@name") that exists, so
// staleFields can tell translations of things that are gone.
func fieldGaps(missing []string, where string, fields []Field, prefix string, texts map[string]FieldText, used map[string]bool) []string {
	for _, f := range fields {
		path := prefix + f.Name
		used[path] = true
		t := texts[path]
		missing = checkText(missing, where+path+": label", f.Label, t.Label)
		missing = checkText(missing, where+path+": description", f.Description, t.Description)
		for _, o := range f.Options {
			used[path+"#"+o.Value] = true
			missing = checkText(missing, where+path+": option "+o.Value+" label", o.Label, t.Options[o.Value].Label)
			missing = checkText(missing, where+path+": option "+o.Value+" description", o.Description, t.Options[o.Value].Description)
		}
		for _, e := range f.Examples {
			used[path+"@"+e.Name] = true
			missing = checkText(missing, where+path+": example", e.Name, t.Examples[e.Name])
		}
		missing = fieldGaps(missing, where, f.Fields, path+".", texts, used)
	}
	return missing
}

func staleFields(stale []string, where string, texts map[string]FieldText, used map[string]bool) []string {
	for _, path := range sortedKeys(texts) {
		if !used[path] {
			stale = append(stale, where+path+" does not exist")
			continue
		}
		t := texts[path]
		for _, v := range sortedKeys(t.Options) {
			if !used[path+"#"+v] {
				stale = append(stale, fmt.Sprintf("%s%s: option %s does not exist", where, path, v))
			}
		}
		for _, name := range sortedKeys(t.Examples) {
			if !used[path+"@"+name] {
				stale = append(stale, fmt.Sprintf("%s%s: example %q does not exist", where, path, name))
			}
		}
	}
	return stale
}

func nodeTextsIn(lang string) map[string]*NodeText {
	textMu.RLock()
	defer textMu.RUnlock()
	out := make(map[string]*NodeText, len(nodeTexts[lang]))
	for k, v := range nodeTexts[lang] {
		out[k] = v
	}
	return out
}

func credentialTextsIn(lang string) map[string]*CredentialText {
	textMu.RLock()
	defer textMu.RUnlock()
	out := make(map[string]*CredentialText, len(credTexts[lang]))
	for k, v := range credTexts[lang] {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
