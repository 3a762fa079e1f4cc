package nodes

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"runtime"
	"strings"

	"golang.org/x/text/language"
)

// A node package keeps the translations of its nodes and credential types in locale files beside its code, one
// per language: locales/<language tag>.json (locales/zh-CN.json), embedded and loaded by one call from the
// package's init:
//
//	//go:embed locales
//	var locales embed.FS
//
//	func init() { nodes.MustLoadTexts(locales) }
//
// A file holds one object per node type under "nodes" and one per credential type under "credentialTypes",
// keyed like NodeText and CredentialText:
//
//	{
//	  "nodes": {
//	    "stripe.refund": {
//	      "name": "Stripe：退款",
//	      "inputs": {"main": "输入"},
//	      "outputs": {"main": "退款"},
//	      "params": {
//	        "reason": {"label": "原因", "options": {"duplicate": {"label": "重复付款"}}},
//	        "lines.amount": {"label": "金额", "examples": {"Full amount": "全额"}}
//	      }
//	    }
//	  },
//	  "credentialTypes": {
//	    "stripe.account": {"name": "Stripe 账户", "fields": {"secretKey": {"label": "密钥"}}}
//	  }
//	}
//
// Every key is optional, and a text left out falls back to English, but what is there is checked strictly: a
// file that is not valid JSON, an unknown or duplicated key, an empty text or object, a file for English, or an
// entry another file already gave stops the process at start-up with the file, line and JSON pointer, like a
// duplicate registration. Entries naming things that are not registered are found by CheckTexts once every node
// package has registered.

// localeDir is the directory of a node package's embedded files that holds its locale files.
const localeDir = "locales"

// localeFile is the content of one locale file.
type localeFile struct {
	// ErrorPort labels the error port every node has; the nodes package's own locale files give it.
	ErrorPort       string                     `json:"errorPort"`
	Nodes           map[string]*NodeText       `json:"nodes"`
	CredentialTypes map[string]*CredentialText `json:"credentialTypes"`
	// Fields are shared field texts, by the key fields name in TextKey (the paging fields the connector
	// runtime gives every paginated node).
	Fields map[string]*FieldText `json:"fields"`
}

// shape is what a locale file may hold at one place: an object with a fixed set of keys (members), an object
// whose keys are ids chosen by the registry (each: node types, parameter paths, option values), or a text.
type shape struct {
	members map[string]*shape
	each    *shape
	text    bool
}

var localeShape = func() *shape {
	text := &shape{text: true}
	texts := &shape{each: text}
	option := &shape{members: map[string]*shape{"label": text, "description": text}}
	field := &shape{members: map[string]*shape{
		"label": text, "description": text, "options": {each: option}, "examples": texts,
	}}
	node := &shape{members: map[string]*shape{
		"name": text, "description": text, "inputs": texts, "outputs": texts, "params": {each: field},
	}}
	credential := &shape{members: map[string]*shape{"name": text, "description": text, "fields": {each: field}}}
	return &shape{members: map[string]*shape{
		"errorPort": text, "nodes": {each: node}, "credentialTypes": {each: credential}, "fields": {each: field},
	}}
}()

// MustLoadTexts loads the locale files of the calling node package from fsys (its embedded locales directory)
// and panics when one is malformed, so a broken translation stops the binary at start-up as a broken spec does.
// Messages name each file by the package's directory in the module ("nodes/stripe/locales/zh-CN.json").
func MustLoadTexts(fsys fs.FS) {
	if err := LoadTexts(callerPackageDir(), fsys); err != nil {
		panic(fmt.Errorf("nodes: load texts: %w", err))
	}
}

// LoadTexts reads every locales/<language>.json of fsys, checks each strictly and, only when all of them are
// sound and none repeats an entry loaded before, adds their texts to the catalog; dir names the files in
// errors. English is the source, written in the specs, and takes no locale file.
func LoadTexts(dir string, fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, localeDir)
	if err != nil {
		return fmt.Errorf("read %s: %w", path.Join(dir, localeDir), err)
	}
	if len(entries) == 0 {
		return fmt.Errorf("%s: no locale files", path.Join(dir, localeDir))
	}
	type loaded struct {
		name, lang string
		file       *localeFile
	}
	var files []loaded
	var problems []error
	for _, e := range entries {
		name := path.Join(dir, localeDir, e.Name())
		lang, err := localeLanguage(e)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", name, err))
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(localeDir, e.Name()))
		if err != nil {
			problems = append(problems, fmt.Errorf("read %s: %w", name, err))
			continue
		}
		f, err := parseLocale(name, data)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		files = append(files, loaded{name, lang, f})
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}

	textMu.Lock()
	defer textMu.Unlock()
	for _, f := range files {
		if other := errorSource[f.lang]; f.file.ErrorPort != "" && other != "" {
			problems = append(problems, fmt.Errorf("%s: /errorPort: the %s error port label is already given by %s", f.name, f.lang, other))
		}
		for _, typ := range sortedKeys(f.file.Nodes) {
			if other := nodeSource[f.lang][typ]; other != "" {
				problems = append(problems, fmt.Errorf("%s: /nodes/%s: the %s text of %s is already given by %s",
					f.name, pointerToken(typ), f.lang, typ, other))
			}
		}
		for _, key := range sortedKeys(f.file.Fields) {
			if other := sharedSource[f.lang][key]; other != "" {
				problems = append(problems, fmt.Errorf("%s: /fields/%s: the %s shared text %s is already given by %s",
					f.name, pointerToken(key), f.lang, key, other))
			}
		}
		for _, id := range sortedKeys(f.file.CredentialTypes) {
			if other := credSource[f.lang][id]; other != "" {
				problems = append(problems, fmt.Errorf("%s: /credentialTypes/%s: the %s text of %s is already given by %s",
					f.name, pointerToken(id), f.lang, id, other))
			}
		}
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	for _, f := range files {
		if f.file.ErrorPort != "" {
			errorLabel[f.lang], errorSource[f.lang] = f.file.ErrorPort, f.name
		}
		for typ, t := range f.file.Nodes {
			putText(nodeTexts, nodeSource, f.lang, typ, t, f.name)
		}
		for id, t := range f.file.CredentialTypes {
			putText(credTexts, credSource, f.lang, id, t, f.name)
		}
		for key, t := range f.file.Fields {
			putText(sharedTexts, sharedSource, f.lang, key, t, f.name)
		}
	}
	return nil
}

func putText[T any](texts map[string]map[string]*T, sources map[string]map[string]string, lang, key string, t *T, file string) {
	if texts[lang] == nil {
		texts[lang], sources[lang] = map[string]*T{}, map[string]string{}
	}
	texts[lang][key], sources[lang][key] = t, file
}

// CheckTexts reports every loaded text, in every language, that names something not registered: a node type,
// port, parameter, option, example, credential type or field that was renamed or removed. It is called once
// every node package has registered (nodes/all does so from its init), because a package's locale file may load
// before the package's last node registers.
func CheckTexts() error {
	textMu.RLock()
	langs := map[string]bool{}
	for lang := range nodeTexts {
		langs[lang] = true
	}
	for lang := range credTexts {
		langs[lang] = true
	}
	textMu.RUnlock()
	var stale []string
	for _, lang := range sortedKeys(langs) {
		stale = append(stale, staleTexts(lang)...)
	}
	if len(stale) == 0 {
		return nil
	}
	return fmt.Errorf("locale entries naming nothing registered (remove them, or rename them after what they translate):\n%s",
		strings.Join(stale, "\n"))
}

// MustCheckTexts is CheckTexts for an init function: a stale translation stops the binary at start-up.
func MustCheckTexts() {
	if err := CheckTexts(); err != nil {
		panic(fmt.Errorf("nodes: check texts: %w", err))
	}
}

// localeLanguage returns the language a locale file is for, from its name: a language tag in its canonical
// form, then ".json".
func localeLanguage(e fs.DirEntry) (string, error) {
	stem, ok := strings.CutSuffix(e.Name(), ".json")
	if e.IsDir() || !ok {
		return "", fmt.Errorf("not a locale file: %s holds only <language tag>.json files, such as zh-CN.json", localeDir)
	}
	tag, err := language.Parse(stem)
	if err != nil || tag == language.Und {
		return "", fmt.Errorf("%q is not a language tag (name the file like zh-CN.json)", stem)
	}
	if tag.String() != stem {
		return "", fmt.Errorf("name the file %s.json, the canonical form of its language tag", tag)
	}
	if base, conf := tag.Base(); conf == language.Exact && base.String() == LangEnglish {
		return "", errors.New("no locale file for English: it is the source, written in the specs themselves")
	}
	return stem, nil
}

// parseLocale checks data against the locale shape, naming the line and JSON pointer of the first problem, and
// decodes it.
func parseLocale(name string, data []byte) (*localeFile, error) {
	r := &localeReader{name: name, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	if err := r.value(localeShape, ""); err != nil {
		return nil, err
	}
	if tok, err := r.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, r.syntax(err)
		}
		return nil, r.errorf("", "found %s after the top-level object", describeToken(tok))
	}
	var f localeFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return &f, nil
}

// localeReader walks a locale file token by token, which lets it find what encoding/json lets through: a key
// given twice (the decoder keeps the last silently) and the exact place of every problem.
type localeReader struct {
	name string
	data []byte
	dec  *json.Decoder
}

func (r *localeReader) value(sh *shape, ptr string) error {
	tok, err := r.dec.Token()
	if err != nil {
		return r.syntax(err)
	}
	if sh.text {
		s, ok := tok.(string)
		if !ok {
			return r.errorf(ptr, "want a text (a JSON string), found %s", describeToken(tok))
		}
		if strings.TrimSpace(s) == "" {
			return r.errorf(ptr, "empty text: leave the key out, and English is shown")
		}
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return r.errorf(ptr, "want an object, found %s", describeToken(tok))
	}
	seen := map[string]bool{}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return r.syntax(err)
		}
		key, _ := tok.(string)
		at := ptr + "/" + pointerToken(key)
		if seen[key] {
			return r.errorf(at, "key %q given twice", key)
		}
		seen[key] = true
		next := sh.members[key]
		if sh.each != nil {
			next = sh.each
			if strings.TrimSpace(key) == "" {
				return r.errorf(at, "empty key")
			}
		}
		if next == nil {
			return r.errorf(at, "unknown key %q (expected one of %s)", key, strings.Join(sortedKeys(sh.members), ", "))
		}
		if err := r.value(next, at); err != nil {
			return err
		}
	}
	if _, err := r.dec.Token(); err != nil {
		return r.syntax(err)
	}
	if len(seen) == 0 {
		return r.errorf(ptr, "empty object: leave it out")
	}
	return nil
}

// errorf reports a problem at JSON pointer ptr, on the line the decoder has reached.
func (r *localeReader) errorf(ptr, format string, args ...any) error {
	line, _ := position(r.data, r.dec.InputOffset())
	if ptr == "" {
		ptr = "top level"
	}
	return fmt.Errorf("%s:%d: %s: %s", r.name, line, ptr, fmt.Sprintf(format, args...))
}

// syntax reports malformed JSON with its line and column.
func (r *localeReader) syntax(err error) error {
	offset := r.dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		offset = se.Offset
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		offset = int64(len(r.data))
		err = errors.New("unexpected end of JSON input")
	}
	line, col := position(r.data, offset)
	return fmt.Errorf("%s:%d:%d: malformed JSON: %w", r.name, line, col, err)
}

func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = 1 + len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// pointerToken escapes s as one token of a JSON pointer (RFC 6901), so a node type or parameter path with dots
// stays one token and "/" or "~" in an example name cannot be mistaken for structure.
func pointerToken(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// callerPackageDir returns the directory, within the module, of the package whose init called MustLoadTexts
// ("nodes/stripe"), or the package's import path when it is outside this module.
func callerPackageDir() string {
	pcs := make([]uintptr, 1)
	if runtime.Callers(3, pcs) == 0 {
		return "."
	}
	frame, _ := runtime.CallersFrames(pcs).Next()
	fn := frame.Function // "github.com/ferry-hq/ferry/nodes/stripe.init.0"
	slash := strings.LastIndex(fn, "/")
	pkg := fn
	if dot := strings.Index(fn[slash+1:], "."); dot >= 0 {
		pkg = fn[:slash+1+dot]
	}
	module := strings.TrimSuffix(reflect.TypeFor[Spec]().PkgPath(), "nodes")
	if rest, ok := strings.CutPrefix(pkg, module); ok && rest != "" {
		return rest
	}
	return pkg
}

// locales holds the nodes package's own texts: the label of the error port every node has.
//
//go:embed locales
var locales embed.FS

func init() { MustLoadTexts(locales) }
