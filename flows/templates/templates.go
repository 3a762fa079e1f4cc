// Package templates embeds the bundled flow templates: ready-made flow documents that IT imports and the
// editor offers as starting points.
//
// Each template is two files. <id>.json is a plain flow document (the English name and description, nodes,
// edges), importable as is through /api/v1/flows/import. meta/<id>.json adds what the gallery needs: the
// Chinese name and description, the Chinese name of every node, a category, tags, the parameters a user must
// fill in (example URLs), and, where the node spec is not specific enough, which credentials a node needs.
//
// A template is served in the caller's language through In: step names, the credential needs' node names and the
// document's node names are Chinese for a Chinese caller, so the gallery and the flows created from it read in
// that language.
package templates

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/nodes"
)

//go:embed *.json meta/*.json
var files embed.FS

// FS returns the bundled template documents, one JSON file each at the root; meta/ holds their gallery data.
func FS() fs.FS { return files }

// Categories a template can belong to; the gallery filters by them and translates them.
var Categories = []string{"payments", "refunds", "orders", "reconciliation", "notifications"}

// Stable codes of the errors Instantiate returns, shared with the API.
const (
	CodeCredentialMissing      = "credential_missing"
	CodeCredentialTypeMismatch = "credential_type_mismatch"
	CodeCredentialNodeUnknown  = "credential_node_unknown"
	CodeNameRequired           = "template_name_required"
)

// Text is a string in the two languages of the UI.
type Text struct {
	En string `json:"en"`
	Zh string `json:"zh"`
}

// In returns the text in lang (nodes.LangChinese or nodes.LangEnglish), the English one when it has no
// translation, for answers that carry one language rather than both.
func (x Text) In(lang string) string {
	if lang == nodes.LangChinese && x.Zh != "" {
		return x.Zh
	}
	return x.En
}

// Placeholder is a parameter holding an example value (a URL at example.com, a robot token) that the user must
// replace before the flow can work.
type Placeholder struct {
	NodeID string `json:"nodeId"`
	Param  string `json:"param"`
	Hint   Text   `json:"hint"`
}

// CredentialNeed is a node of the template that takes a credential: the gallery asks for one of Types for it
// before it creates the flow.
type CredentialNeed struct {
	NodeID   string   `json:"nodeId"`
	NodeName string   `json:"nodeName"`
	NodeType string   `json:"nodeType"`
	Types    []string `json:"types"`
	Required bool     `json:"required"`
	// Hint says what the credential is for, when the node's name does not make it obvious.
	Hint *Text `json:"hint,omitempty"`
}

// Step is one node of the template in run order, for the gallery's chain of chips.
type Step struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// Template is one bundled template with everything the gallery shows and the document it creates flows from.
type Template struct {
	ID           string           `json:"id"`
	Name         Text             `json:"name"`
	Description  Text             `json:"description"`
	Category     string           `json:"category"`
	Tags         []string         `json:"tags"`
	NodeCount    int              `json:"nodeCount"`
	NodeTypes    []string         `json:"nodeTypes"`
	Steps        []Step           `json:"steps"`
	Credentials  []CredentialNeed `json:"credentials"`
	Placeholders []Placeholder    `json:"placeholders"`
	// Document is the flow document in its canonical form.
	Document json.RawMessage `json:"document,omitempty"`

	// zh is the same template with its node names in Chinese, built when it is loaded; see In.
	zh *Template
}

// In returns the template as a caller speaking lang sees it: for nodes.LangChinese, a copy whose steps, credential
// needs and document carry the Chinese node names (a node without one keeps its English name); for any other
// language, t itself. Instantiating the copy gives a flow whose nodes are named in that language.
func (t *Template) In(lang string) *Template {
	if lang == nodes.LangChinese && t.zh != nil {
		return t.zh
	}
	return t
}

// meta is the shape of meta/<id>.json.
type meta struct {
	Category string   `json:"category"`
	Tags     []string `json:"tags"`
	Zh       struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		// Nodes names every node of the document in Chinese, keyed by node id.
		Nodes map[string]string `json:"nodes"`
	} `json:"zh"`
	Placeholders []struct {
		Node  string `json:"node"`
		Param string `json:"param"`
		En    string `json:"en"`
		Zh    string `json:"zh"`
	} `json:"placeholders"`
	// Credentials narrows, per node id, what the node spec allows: the types this use of the node makes sense
	// with, whether the template cannot work without one, or that the node needs none here.
	Credentials map[string]struct {
		Types    []string `json:"types"`
		Required bool     `json:"required"`
		None     bool     `json:"none"`
		En       string   `json:"en"`
		Zh       string   `json:"zh"`
	} `json:"credentials"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

var (
	loadOnce sync.Once
	loaded   []*Template
	loadErr  error
)

// All returns every bundled template, sorted by category and id. It needs the node registry filled (the
// binary's blank import of nodes/all), because what a template needs is derived from its nodes' specs; an
// error means a broken template shipped, which the package's tests prevent.
func All() ([]*Template, error) {
	loadOnce.Do(func() { loaded, loadErr = Load(files) })
	return loaded, loadErr
}

// Get returns the bundled template with id.
func Get(id string) (*Template, bool, error) {
	all, err := All()
	if err != nil {
		return nil, false, err
	}
	for _, t := range all {
		if t.ID == id {
			return t, true, nil
		}
	}
	return nil, false, nil
}

// Load reads and checks every template of fsys: each document must parse and validate exactly as the import
// endpoint requires, and its metadata must match the document.
func Load(fsys fs.FS) ([]*Template, error) {
	docs, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	metas, err := fs.Glob(fsys, "meta/*.json")
	if err != nil {
		return nil, err
	}
	var errs []error
	have := map[string]bool{}
	var out []*Template
	for _, name := range docs {
		id := strings.TrimSuffix(name, ".json")
		have[id] = true
		t, err := load(fsys, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("template %s: %w", id, err))
			continue
		}
		out = append(out, t)
	}
	for _, name := range metas {
		if id := strings.TrimSuffix(path.Base(name), ".json"); !have[id] {
			errs = append(errs, fmt.Errorf("template %s: %s has no flow document %s.json", id, name, id))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		ci, cj := slices.Index(Categories, out[i].Category), slices.Index(Categories, out[j].Category)
		if ci != cj {
			return ci < cj
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func load(fsys fs.FS, id string) (*Template, error) {
	if !idPattern.MatchString(id) {
		return nil, fmt.Errorf("the id must be lowercase words joined by '-'")
	}
	data, err := fs.ReadFile(fsys, id+".json")
	if err != nil {
		return nil, err
	}
	f, err := flows.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", problemsError(err))
	}
	if problems := flows.Validate(f); problems != nil {
		return nil, fmt.Errorf("validate: %w", problemsError(&flows.ValidationError{Problems: problems}))
	}
	if strings.TrimSpace(f.Description) == "" {
		return nil, errors.New("the document needs a description")
	}
	raw, err := fs.ReadFile(fsys, "meta/"+id+".json")
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	var m meta
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if !slices.Contains(Categories, m.Category) {
		return nil, fmt.Errorf("metadata: category %q is not one of %v", m.Category, Categories)
	}
	if strings.TrimSpace(m.Zh.Name) == "" || strings.TrimSpace(m.Zh.Description) == "" {
		return nil, errors.New("metadata: the Chinese name and description are required")
	}
	for _, nodeID := range slices.Sorted(maps.Keys(m.Zh.Nodes)) {
		if f.Node(nodeID) == nil {
			return nil, fmt.Errorf("metadata: zh.nodes names node %q, which the flow does not have", nodeID)
		}
	}
	var unnamed []string
	for _, n := range f.Nodes {
		if strings.TrimSpace(m.Zh.Nodes[n.ID]) == "" {
			unnamed = append(unnamed, n.ID)
		}
	}
	if len(unnamed) > 0 {
		return nil, fmt.Errorf("metadata: zh.nodes lacks the Chinese name of node %s", strings.Join(unnamed, ", "))
	}
	canonical, err := f.Marshal()
	if err != nil {
		return nil, err
	}
	t := &Template{ID: id, Name: Text{En: f.Name, Zh: m.Zh.Name}, Description: Text{En: f.Description, Zh: m.Zh.Description},
		Category: m.Category, Tags: m.Tags, NodeCount: len(f.Nodes), Document: canonical,
		Credentials: []CredentialNeed{}, Placeholders: []Placeholder{}, NodeTypes: []string{}}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	for _, n := range f.Nodes {
		if !slices.Contains(t.NodeTypes, n.Type) {
			t.NodeTypes = append(t.NodeTypes, n.Type)
		}
	}
	t.Steps = runOrder(f)

	for _, p := range m.Placeholders {
		n := f.Node(p.Node)
		if n == nil {
			return nil, fmt.Errorf("metadata: placeholder names node %q, which the flow does not have", p.Node)
		}
		if _, ok := n.Params[p.Param]; !ok {
			return nil, fmt.Errorf("metadata: placeholder names parameter %q, which node %q does not set", p.Param, p.Node)
		}
		if p.En == "" || p.Zh == "" {
			return nil, fmt.Errorf("metadata: placeholder %s.%s needs a hint in English and Chinese", p.Node, p.Param)
		}
		t.Placeholders = append(t.Placeholders, Placeholder{NodeID: p.Node, Param: p.Param, Hint: Text{En: p.En, Zh: p.Zh}})
	}

	for nodeID := range m.Credentials {
		if f.Node(nodeID) == nil {
			return nil, fmt.Errorf("metadata: credentials name node %q, which the flow does not have", nodeID)
		}
	}
	for _, n := range f.Nodes {
		reg, _ := nodes.Lookup(n.Type, n.Version) // Validate has checked it exists
		spec := &reg.Spec
		if len(spec.Credentials) == 0 {
			continue
		}
		need := CredentialNeed{NodeID: n.ID, NodeName: n.Name, NodeType: n.Type, Types: spec.Credentials, Required: spec.CredentialRequired}
		if need.NodeName == "" {
			need.NodeName = spec.Name
		}
		if o, ok := m.Credentials[n.ID]; ok {
			if o.None {
				if spec.CredentialRequired || n.Credential != "" {
					return nil, fmt.Errorf("metadata: node %q cannot go without a credential", n.ID)
				}
				continue
			}
			if len(o.Types) > 0 {
				for _, typ := range o.Types {
					if !slices.Contains(spec.Credentials, typ) {
						return nil, fmt.Errorf("metadata: node %q (%s) does not accept credential type %q", n.ID, n.Type, typ)
					}
				}
				need.Types = o.Types
			}
			need.Required = need.Required || o.Required
			if o.En != "" || o.Zh != "" {
				if o.En == "" || o.Zh == "" {
					return nil, fmt.Errorf("metadata: the credential hint of node %q needs English and Chinese", n.ID)
				}
				need.Hint = &Text{En: o.En, Zh: o.Zh}
			}
		}
		t.Credentials = append(t.Credentials, need)
	}
	if t.zh, err = t.translated(m.Zh.Nodes); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return t, nil
}

// translated returns a copy of t with its nodes renamed by names (node id to name) in the steps, the credential
// needs and the document, a node missing from names keeping its own.
func (t *Template) translated(names map[string]string) (*Template, error) {
	rename := func(id, name string) string {
		if n := strings.TrimSpace(names[id]); n != "" {
			return n
		}
		return name
	}
	doc, err := flows.Parse(t.Document)
	if err != nil {
		return nil, err
	}
	for i := range doc.Nodes {
		doc.Nodes[i].Name = rename(doc.Nodes[i].ID, doc.Nodes[i].Name)
	}
	canonical, err := doc.Marshal()
	if err != nil {
		return nil, err
	}
	out := *t
	out.Document = canonical
	out.Steps = make([]Step, len(t.Steps))
	for i, s := range t.Steps {
		s.Name = rename(s.ID, s.Name)
		out.Steps[i] = s
	}
	out.Credentials = make([]CredentialNeed, len(t.Credentials))
	for i, c := range t.Credentials {
		c.NodeName = rename(c.NodeID, c.NodeName)
		out.Credentials[i] = c
	}
	return &out, nil
}

// runOrder lists the nodes from the triggers along the edges (breadth first, a node after all its parents
// where possible), then any node no edge reaches, so the gallery draws the chain the way a run goes.
func runOrder(f *flows.Flow) []Step {
	indegree := map[string]int{}
	next := map[string][]string{}
	for _, e := range f.Edges {
		indegree[e.Target]++
		next[e.Source] = append(next[e.Source], e.Target)
	}
	var queue []string
	for _, n := range f.Nodes {
		if indegree[n.ID] == 0 {
			queue = append(queue, n.ID)
		}
	}
	var steps []Step
	seen := map[string]bool{}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		n := f.Node(id)
		steps = append(steps, Step{ID: n.ID, Name: n.Name, Type: n.Type})
		for _, t := range next[id] {
			indegree[t]--
			if indegree[t] == 0 {
				queue = append(queue, t)
			}
		}
	}
	for _, n := range f.Nodes {
		if !seen[n.ID] {
			steps = append(steps, Step{ID: n.ID, Name: n.Name, Type: n.Type})
		}
	}
	return steps
}

// problemsError turns flow problems into one readable error.
func problemsError(err error) error {
	var parts []string
	for _, p := range flows.Problems(err) {
		where := p.NodeID
		if p.Field != "" {
			where = strings.TrimPrefix(where+"."+p.Field, ".")
		}
		parts = append(parts, fmt.Sprintf("%s [%s] %s", where, p.Code, p.Message))
	}
	if len(parts) == 0 {
		return err
	}
	return errors.New(strings.Join(parts, "; "))
}

// Credential is a credential chosen for a node: its id and its type, as stored.
type Credential struct {
	ID   string
	Type string
}

// Error is a choice Instantiate refuses, with a stable code and the node it concerns.
type Error struct {
	Code    string
	NodeID  string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Instantiate builds a new flow document from the template named name, with the chosen credential set on each
// node (keyed by node id). A node the template needs a credential for must get one; a chosen credential must be
// of a type the node accepts; a node left without one loses the template's placeholder credential. Every
// problem is reported at once, the first as the error.
func (t *Template) Instantiate(name string, chosen map[string]Credential) (*flows.Flow, []*Error) {
	var errs []*Error
	name = strings.TrimSpace(name)
	if name == "" {
		errs = append(errs, &Error{Code: CodeNameRequired, Message: "the flow needs a name"})
	}
	f, err := flows.Parse(t.Document)
	if err != nil { // the document was checked when the template was loaded
		return nil, []*Error{{Code: flows.CodeJSONInvalid, Message: err.Error()}}
	}
	f.Name = name
	needs := map[string]CredentialNeed{}
	for _, n := range t.Credentials {
		needs[n.NodeID] = n
	}
	ids := make([]string, 0, len(chosen))
	for id := range chosen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, ok := needs[id]; !ok {
			errs = append(errs, &Error{Code: CodeCredentialNodeUnknown, NodeID: id,
				Message: fmt.Sprintf("the template has no node %q that takes a credential", id)})
		}
	}
	for _, need := range t.Credentials {
		n := f.Node(need.NodeID)
		c, ok := chosen[need.NodeID]
		switch {
		case !ok || c.ID == "":
			if need.Required {
				errs = append(errs, &Error{Code: CodeCredentialMissing, NodeID: need.NodeID,
					Message: fmt.Sprintf("%s needs a credential of type %s", need.NodeName, strings.Join(need.Types, " or "))})
			}
			n.Credential = ""
		case !slices.Contains(need.Types, c.Type):
			errs = append(errs, &Error{Code: CodeCredentialTypeMismatch, NodeID: need.NodeID,
				Message: fmt.Sprintf("%s takes a credential of type %s, not %s", need.NodeName, strings.Join(need.Types, " or "), c.Type)})
		default:
			n.Credential = c.ID
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}
