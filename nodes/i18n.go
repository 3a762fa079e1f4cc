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

// NodeText is the translation of one node type's user-facing text into one language, as read from an entry of
// "nodes" in a locale file (LoadTexts). It lives beside the node package, apart from the spec literal, so the
// spec stays the single English source and a translator never edits the code that defines behaviour. It applies
// to every version of the type; text for a parameter a version does not have is simply unused.
type NodeText struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Inputs and Outputs map port ids to labels. They are separate because a node's input and output port often
	// share the id "main" but not the label. Outputs covers the fixed ports of dynamic outputs as well.
	Inputs  map[string]string `json:"inputs,omitempty"`
	Outputs map[string]string `json:"outputs,omitempty"`
	// Params maps a parameter path to its text: "amount" for a top-level parameter, "lookups.from" for a
	// field of a row of a list parameter.
	Params map[string]FieldText `json:"params,omitempty"`
}

// FieldText is the translation of one parameter or credential field.
type FieldText struct {
	Label       string `json:"label,omitempty"`
	Description string `json:"description,omitempty"`
	// Options maps an option value to the text of that choice.
	Options map[string]OptionText `json:"options,omitempty"`
	// Examples maps an example's English name to its translated name; the value is never translated.
	Examples map[string]string `json:"examples,omitempty"`
}

// OptionText is the translation of one choice of a select field.
type OptionText struct {
	Label       string `json:"label,omitempty"`
	Description string `json:"description,omitempty"`
}

// CredentialText is the translation of one credential type's form, as read from an entry of "credentialTypes"
// in a locale file.
type CredentialText struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Fields maps a field path (as for NodeText.Params) to its text.
	Fields map[string]FieldText `json:"fields,omitempty"`
}

// The loaded texts, by language and then by node type or credential type id, with the locale file each entry
// came from so a stale entry can be reported where a translator can fix it.
var (
	textMu      sync.RWMutex
	nodeTexts   = map[string]map[string]*NodeText{}
	credTexts   = map[string]map[string]*CredentialText{}
	errorLabel  = map[string]string{}
	nodeSource  = map[string]map[string]string{}
	credSource  = map[string]map[string]string{}
	errorSource = map[string]string{}
	// sharedTexts are the shared field translations by language and key (Field.TextKey).
	sharedTexts  = map[string]map[string]*FieldText{}
	sharedSource = map[string]map[string]string{}
)

// withShared is t completed, string by string, from the shared text f names: a field's own translation wins.
func withShared(lang string, f Field, t FieldText) FieldText {
	if f.TextKey == "" {
		return t
	}
	textMu.RLock()
	sh := sharedTexts[lang][f.TextKey]
	textMu.RUnlock()
	if sh == nil {
		return t
	}
	t.Label = pick(t.Label, sh.Label)
	t.Description = pick(t.Description, sh.Description)
	if len(sh.Options) > 0 {
		opts := make(map[string]OptionText, len(sh.Options)+len(t.Options))
		for k, v := range sh.Options {
			opts[k] = v
		}
		for k, v := range t.Options {
			opts[k] = OptionText{Label: pick(v.Label, opts[k].Label), Description: pick(v.Description, opts[k].Description)}
		}
		t.Options = opts
	}
	if len(sh.Examples) > 0 {
		exs := make(map[string]string, len(sh.Examples)+len(t.Examples))
		for k, v := range sh.Examples {
			exs[k] = v
		}
		for k, v := range t.Examples {
			exs[k] = v
		}
		t.Examples = exs
	}
	return t
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

// ErrorPortLabel is the label of the error port every node has, in lang (from the "errorPort" entry of the
// nodes package's own locale file), English when lang has none.
func ErrorPortLabel(lang string) string {
	textMu.RLock()
	defer textMu.RUnlock()
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
	s.Params = localizeFields(s.Params, "", t.Params, lang)
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
	ct.Fields = localizeFields(ct.Fields, "", t.Fields, lang)
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

func localizeFields(fields []Field, prefix string, texts map[string]FieldText, lang string) []Field {
	if fields == nil {
		return nil
	}
	out := make([]Field, len(fields))
	for i, f := range fields {
		path := prefix + f.Name
		t := withShared(lang, f, texts[path])
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
		f.Fields = localizeFields(f.Fields, path+".", texts, lang)
		out[i] = f
	}
	return out
}

// TranslationGaps walks every registered node type and credential type and lists, for lang, each piece of
// user-facing text that has no translation (missing) and each loaded translation that matches nothing registered
// (stale: a renamed parameter, a removed option, named by its locale file and JSON pointer). Both are sorted and
// name the exact place, so a test can fail with a list a translator can work through.
func TranslationGaps(lang string) (missing, stale []string) {
	textMu.RLock()
	_, hasErrorLabel := errorLabel[lang]
	textMu.RUnlock()
	if !hasErrorLabel {
		missing = append(missing, fmt.Sprintf("error port: no %s label (errorPort in nodes/locales/%s.json)", lang, lang))
	}
	Walk(func(r *Registration) {
		s := r.Spec
		t := nodeText(lang, s.Type)
		if t == nil {
			missing = append(missing, fmt.Sprintf("node %s: no %s translation", s.Type, lang))
			return
		}
		where := "node " + s.Type
		missing = checkText(missing, where+": name", s.Name, t.Name)
		missing = checkText(missing, where+": description", s.Description, t.Description)
		for _, p := range s.Inputs {
			missing = checkText(missing, where+": input port "+p.ID, p.Label, t.Inputs[p.ID])
		}
		for _, p := range outputPorts(&s) {
			missing = checkText(missing, where+": output port "+p.ID, p.Label, t.Outputs[p.ID])
		}
		missing = fieldGaps(missing, where+": param ", s.Params, "", t.Params, lang)
	})
	for _, ct := range CredentialTypes() {
		t := credentialText(lang, ct.ID)
		if t == nil {
			missing = append(missing, fmt.Sprintf("credential type %s: no %s translation", ct.ID, lang))
			continue
		}
		where := "credential type " + ct.ID
		missing = checkText(missing, where+": name", ct.Name, t.Name)
		missing = checkText(missing, where+": description", ct.Description, t.Description)
		missing = fieldGaps(missing, where+": field ", ct.Fields, "", t.Fields, lang)
	}
	sort.Strings(missing)
	return missing, staleTexts(lang)
}

// outputPorts lists the static output ports of s and the fixed ports of its dynamic outputs: every output port
// a translation may label.
func outputPorts(s *Spec) []Port {
	outs := append([]Port(nil), s.Outputs...)
	if s.Dynamic != nil {
		outs = append(outs, s.Dynamic.Fixed...)
	}
	return outs
}

func checkText(missing []string, where, source, translated string) []string {
	if strings.TrimSpace(source) != "" && strings.TrimSpace(translated) == "" {
		missing = append(missing, fmt.Sprintf("%s %q", where, source))
	}
	return missing
}

func fieldGaps(missing []string, where string, fields []Field, prefix string, texts map[string]FieldText, lang string) []string {
	for _, f := range fields {
		path := prefix + f.Name
		t := withShared(lang, f, texts[path])
		missing = checkText(missing, where+path+": label", f.Label, t.Label)
		missing = checkText(missing, where+path+": description", f.Description, t.Description)
		for _, o := range f.Options {
			missing = checkText(missing, where+path+": option "+o.Value+" label", o.Label, t.Options[o.Value].Label)
			missing = checkText(missing, where+path+": option "+o.Value+" description", o.Description, t.Options[o.Value].Description)
		}
		for _, e := range f.Examples {
			missing = checkText(missing, where+path+": example", e.Name, t.Examples[e.Name])
		}
		missing = fieldGaps(missing, where, f.Fields, path+".", texts, lang)
	}
	return missing
}

// staleTexts lists, sorted, every loaded lang entry that matches nothing registered, as "file: /json/pointer:
// what is not there". A text applies to every version of its node type, so it is stale only when no version has
// the thing it names.
func staleTexts(lang string) []string {
	exists := map[string]map[string]bool{}
	Walk(func(r *Registration) {
		have := exists[r.Spec.Type]
		if have == nil {
			have = map[string]bool{}
			exists[r.Spec.Type] = have
		}
		for _, p := range r.Spec.Inputs {
			have["in:"+p.ID] = true
		}
		for _, p := range outputPorts(&r.Spec) {
			have["out:"+p.ID] = true
		}
		markFields(have, r.Spec.Params, "")
	})

	textMu.RLock()
	texts, sources := copyMap(nodeTexts[lang]), copyMap(nodeSource[lang])
	creds, credSources := copyMap(credTexts[lang]), copyMap(credSource[lang])
	textMu.RUnlock()

	var stale []string
	for _, typ := range sortedKeys(texts) {
		t, file, ptr := texts[typ], sources[typ], "/nodes/"+pointerToken(typ)
		have, ok := exists[typ]
		if !ok {
			stale = append(stale, fmt.Sprintf("%s: %s: no node type %s is registered", file, ptr, typ))
			continue
		}
		for _, id := range sortedKeys(t.Inputs) {
			if !have["in:"+id] {
				stale = append(stale, fmt.Sprintf("%s: %s/inputs/%s: %s has no input port %s", file, ptr, pointerToken(id), typ, id))
			}
		}
		for _, id := range sortedKeys(t.Outputs) {
			if !have["out:"+id] {
				stale = append(stale, fmt.Sprintf("%s: %s/outputs/%s: %s has no output port %s", file, ptr, pointerToken(id), typ, id))
			}
		}
		stale = staleFields(stale, file+": "+ptr+"/params/", typ, "parameter", t.Params, have)
	}
	for _, id := range sortedKeys(creds) {
		file, ptr := credSources[id], "/credentialTypes/"+pointerToken(id)
		ct, ok := LookupCredentialType(id)
		if !ok {
			stale = append(stale, fmt.Sprintf("%s: %s: no credential type %s is registered", file, ptr, id))
			continue
		}
		have := map[string]bool{}
		markFields(have, ct.Fields, "")
		stale = staleFields(stale, file+": "+ptr+"/fields/", "credential type "+id, "field", creds[id].Fields, have)
	}
	used := map[string]bool{}
	Walk(func(r *Registration) { markTextKeys(used, r.Spec.Params) })
	textMu.RLock()
	shared, sharedFiles := copyMap(sharedTexts[lang]), copyMap(sharedSource[lang])
	textMu.RUnlock()
	for _, key := range sortedKeys(shared) {
		if !used[key] {
			stale = append(stale, fmt.Sprintf("%s: /fields/%s: no field of a registered node names the shared text %s",
				sharedFiles[key], pointerToken(key), key))
		}
	}
	sort.Strings(stale)
	return stale
}

func markTextKeys(used map[string]bool, fields []Field) {
	for _, f := range fields {
		if f.TextKey != "" {
			used[f.TextKey] = true
		}
		markTextKeys(used, f.Fields)
	}
}

// markFields records in have every field path, option ("path#value") and example ("path@name") of fields, so
// staleFields can tell translations of things that are gone.
func markFields(have map[string]bool, fields []Field, prefix string) {
	for _, f := range fields {
		path := prefix + f.Name
		have[path] = true
		for _, o := range f.Options {
			have[path+"#"+o.Value] = true
		}
		for _, e := range f.Examples {
			have[path+"@"+e.Name] = true
		}
		markFields(have, f.Fields, path+".")
	}
}

func staleFields(stale []string, at, owner, kind string, texts map[string]FieldText, have map[string]bool) []string {
	for _, path := range sortedKeys(texts) {
		if !have[path] {
			stale = append(stale, fmt.Sprintf("%s%s: %s has no %s %s", at, pointerToken(path), owner, kind, path))
			continue
		}
		t := texts[path]
		for _, v := range sortedKeys(t.Options) {
			if !have[path+"#"+v] {
				stale = append(stale, fmt.Sprintf("%s%s/options/%s: %s %s of %s has no option %s",
					at, pointerToken(path), pointerToken(v), kind, path, owner, v))
			}
		}
		for _, name := range sortedKeys(t.Examples) {
			if !have[path+"@"+name] {
				stale = append(stale, fmt.Sprintf("%s%s/examples/%s: %s %s of %s has no example %q",
					at, pointerToken(path), pointerToken(name), kind, path, owner, name))
			}
		}
	}
	return stale
}

func copyMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
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
