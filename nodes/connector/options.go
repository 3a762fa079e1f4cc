package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// OptionSource says where a field's choices come from in the provider account: a request (Path, Query, or a
// GraphQL document) and where each choice's value and label sit in its answer.
type OptionSource struct {
	Method string
	Path   string
	Query  map[string]string
	// GraphQL, when set, is sent as the query of a POST to Path.
	GraphQL string
	// Body, when set, is sent as the request's JSON body (providers that take every call as a POST of JSON,
	// even a list without parameters: Youzan).
	Body map[string]any
	// Items points at the list of choices in the answer; Value and Label point into each item (Label empty:
	// the value is the label).
	Items, Value, Label string
	// When, if set, points into each choice at a value that must be true for it to be offered (Salesforce's
	// describeGlobal lists every sObject, and only those with "createable": true can be written).
	When string
	// Within, when set, points at a list inside each item whose entries are the choices instead (the stages of
	// every pipeline); Value and Label then point into those entries, and GroupLabel, when set, into the item,
	// whose label prefixes each of its choices' ("Sales Pipeline: Closed won").
	Within, GroupLabel string
	// DependsOn names fields of the same operation whose chosen values the request needs: the pipeline whose
	// stages to list, the app whose forms to list. Path, Query values and Body strings name them as {field};
	// the caller gives their values (OptionsRequest.Params), which are checked as a run checks them (the
	// field's Transform), escaped into the path, and part of the cache key. The editor lists the choices again
	// when one of them changes, and asks for it first while it is empty.
	DependsOn []string
}

// Codes of a choices request whose dependencies are not usable.
const (
	// CodeDependencyMissing: a field the choices depend on has no value (no pipeline chosen yet).
	CodeDependencyMissing = "options_dependency_missing"
	// CodeDependencyInvalid: a value given for a field the choices depend on is unusable (an expression, whose
	// value is known only when the step runs; a malformed id), or names a field they do not depend on.
	CodeDependencyInvalid = "options_dependency_invalid"
)

// DependencyError says why the choices cannot be listed with the values given for the fields they depend on;
// the options route answers it as a bad request with its Code and Field.
type DependencyError struct {
	Code  string // CodeDependencyMissing or CodeDependencyInvalid
	Field string // the field's name
	// Reason says what is wrong with the value (empty for a missing one).
	Reason string
	label  string
}

func (e *DependencyError) Error() string {
	if e.Code == CodeDependencyMissing {
		return fmt.Sprintf("choose %s first: the choices depend on it", e.label)
	}
	return fmt.Sprintf("%s: %s", e.label, e.Reason)
}

// maxDependencyValue bounds a value given for a field the choices depend on.
const maxDependencyValue = 512

// OptionsCacheTTL is how long choices loaded from an account are reused.
const OptionsCacheTTL = time.Minute

// maxOptions bounds the choices one field offers.
const maxOptions = 1000

type optionLoader struct {
	c      *compiled
	field  string
	source *OptionSource
	deps   []compiledParam // the fields of DependsOn, in its order
	items  Pointer
	value  Pointer
	label  Pointer
	when   Pointer
	within Pointer
	group  Pointer
}

var (
	optionsMu sync.RWMutex
	loaders   = map[string]map[string]*optionLoader{}
)

func registerOptions(c *compiled) {
	for _, prm := range c.params {
		if prm.Options == nil {
			continue
		}
		l := &optionLoader{c: c, field: prm.Name, source: prm.Options,
			items: MustPointer(prm.Options.Items), value: MustPointer(prm.Options.Value), label: MustPointer(prm.Options.Label),
			when: MustPointer(prm.Options.When), within: MustPointer(prm.Options.Within), group: MustPointer(prm.Options.GroupLabel)}
		deps, err := dependencies(c, prm.Name, prm.Options)
		if err != nil {
			panic(fmt.Sprintf("connector %s: %s: the choices of %s: %v", c.p.Name, c.op.Type, prm.Name, err))
		}
		l.deps = deps
		optionsMu.Lock()
		if loaders[c.op.Type] == nil {
			loaders[c.op.Type] = map[string]*optionLoader{}
		}
		loaders[c.op.Type][prm.Name] = l
		optionsMu.Unlock()
	}
}

// dependencies checks a source's DependsOn against the operation's fields and the placeholders of its request:
// each names another field of the operation, each is used, and the request names no other field.
func dependencies(c *compiled, field string, src *OptionSource) ([]compiledParam, error) {
	used := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(src.Path, -1) {
		used[m[1]] = true
	}
	for _, v := range src.Query {
		for _, m := range placeholder.FindAllStringSubmatch(v, -1) {
			used[m[1]] = true
		}
	}
	walkStrings(src.Body, func(s string) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			used[m[1]] = true
		}
	})
	if src.GraphQL != "" && len(src.DependsOn) > 0 {
		return nil, fmt.Errorf("a GraphQL source takes no DependsOn")
	}
	out := make([]compiledParam, 0, len(src.DependsOn))
	for _, name := range src.DependsOn {
		if name == field {
			return nil, fmt.Errorf("they depend on the field itself")
		}
		i := slices.IndexFunc(c.params, func(p compiledParam) bool { return p.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("they depend on %s, which the operation has no field of", name)
		}
		if !used[name] {
			return nil, fmt.Errorf("they depend on %s, which the request does not name as {%s}", name, name)
		}
		delete(used, name)
		out = append(out, c.params[i])
	}
	for name := range used {
		return nil, fmt.Errorf("the request names {%s}, which is not in DependsOn", name)
	}
	return out, nil
}

// walkStrings calls fn with every string inside a JSON value.
func walkStrings(v any, fn func(string)) {
	switch t := v.(type) {
	case string:
		fn(t)
	case map[string]any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	case []any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	}
}

// fillStrings is a copy of a JSON value with every string passed through fn.
func fillStrings(v any, fn func(string) string) any {
	switch t := v.(type) {
	case string:
		return fn(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = fillStrings(e, fn)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = fillStrings(e, fn)
		}
		return out
	}
	return v
}

// values checks the values given for the fields the choices depend on, as a run would check them, and answers
// them by field name.
func (l *optionLoader) values(given map[string]string) (map[string]string, error) {
	for name := range given {
		if !slices.ContainsFunc(l.deps, func(p compiledParam) bool { return p.Name == name }) {
			return nil, &DependencyError{Code: CodeDependencyInvalid, Field: name, label: name,
				Reason: fmt.Sprintf("the choices of %s do not depend on it", l.field)}
		}
	}
	out := make(map[string]string, len(l.deps))
	for _, p := range l.deps {
		label := labelOf(p.Field)
		invalid := func(format string, args ...any) error {
			return &DependencyError{Code: CodeDependencyInvalid, Field: p.Name, label: label, Reason: fmt.Sprintf(format, args...)}
		}
		v := strings.TrimSpace(given[p.Name])
		switch {
		case v == "":
			return nil, &DependencyError{Code: CodeDependencyMissing, Field: p.Name, label: label}
		case strings.Contains(v, "{{"):
			return nil, invalid("an expression's value is known only when the step runs; pick a value from the list to load the choices that depend on it")
		case len(v) > maxDependencyValue:
			return nil, invalid("the value is longer than %d bytes", maxDependencyValue)
		case strings.IndexFunc(v, unicode.IsControl) >= 0:
			return nil, invalid("the value holds a control character")
		case strings.Trim(v, ".") == "":
			return nil, invalid("%q is not a value", v)
		}
		if p.Transform != nil {
			t, err := p.Transform(v)
			if err != nil {
				return nil, invalid("%v", err)
			}
			v = expression.Stringify(t)
		}
		out[p.Name] = v
	}
	return out, nil
}

// ErrNoOptions means the node type has no field of that name whose choices come from the account.
var ErrNoOptions = errors.New("the field's choices do not come from the provider")

// OptionsRequest asks for the choices of one field, loaded with one credential.
type OptionsRequest struct {
	NodeType string
	Field    string
	// CredentialID keys the cache; Credential is the credential opened for the request, and Client the
	// guarded client bound to its destinations.
	CredentialID string
	Credential   *nodes.ResolvedCredential
	Client       *http.Client
	// Params are the values of the fields the choices depend on (OptionSource.DependsOn), by field name.
	Params map[string]string
	// Fresh asks the provider again instead of reusing a cached answer: the editor's refresh button, after
	// someone added a location or a pipeline stage at the provider. The new answer is cached as usual.
	Fresh bool
}

type cachedOptions struct {
	options []nodes.Option
	at      time.Time
}

var (
	cacheMu sync.Mutex
	cache   = map[string]cachedOptions{}
)

// LoadOptions answers the choices of a field from the provider account, as the provider lists them, reusing an
// answer for OptionsCacheTTL unless the request is Fresh. A provider's refusal is returned as the step error a run would meet (its answer
// in the details).
func LoadOptions(ctx context.Context, req OptionsRequest) ([]nodes.Option, error) {
	optionsMu.RLock()
	l := loaders[req.NodeType][req.Field]
	optionsMu.RUnlock()
	if l == nil {
		return nil, ErrNoOptions
	}
	deps, err := l.values(req.Params)
	if err != nil {
		return nil, err
	}
	key := req.NodeType + "\x00" + req.Field + "\x00" + req.CredentialID
	for _, p := range l.deps {
		key += "\x00" + p.Name + "=" + deps[p.Name]
	}
	now := time.Now()
	cacheMu.Lock()
	if c, ok := cache[key]; ok && !req.Fresh && now.Sub(c.at) < OptionsCacheTTL {
		cacheMu.Unlock()
		return c.options, nil
	}
	cacheMu.Unlock()
	opts, err := l.load(ctx, req, deps)
	if err != nil {
		return nil, err
	}
	cacheMu.Lock()
	for k, c := range cache {
		if now.Sub(c.at) >= OptionsCacheTTL {
			delete(cache, k)
		}
	}
	cache[key] = cachedOptions{options: opts, at: now}
	cacheMu.Unlock()
	return opts, nil
}

// load makes the source's request through the runtime, as a one-off operation of the same provider.
// The values of the fields the choices depend on fill the request's placeholders: escaped as a path segment in
// the path, as given in query values and body strings (which are encoded as a whole).
func (l *optionLoader) load(ctx context.Context, req OptionsRequest, deps map[string]string) ([]nodes.Option, error) {
	if len(l.c.p.Credentials) > 0 && !contains(l.c.p.Credentials, req.Credential.Type) {
		return nil, nodes.NewPermanent("credential_type_refused", fmt.Errorf("credential %s is a %s credential; %s accepts %v",
			req.Credential.Name, req.Credential.Type, req.NodeType, l.c.p.Credentials))
	}
	src := l.source
	fill := func(s string, escape func(string) string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			v, ok := deps[m[1:len(m)-1]]
			if !ok {
				return m
			}
			return escape(v)
		})
	}
	keep := func(s string) string { return s }
	op := &Operation{Type: l.c.op.Type, Method: src.Method, Path: fill(src.Path, url.PathEscape), GraphQL: src.GraphQL}
	if op.Method == "" {
		op.Method = http.MethodGet
		if src.GraphQL != "" {
			op.Method = http.MethodPost
		}
	}
	oc := &compiled{p: l.c.p, op: op}
	n := &node{c: oc}
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: req.Client,
		Credential: func(context.Context) (map[string]string, error) { return req.Credential.Fields, nil }}
	r, err := n.render(x, req.Credential.Fields)
	if err != nil {
		return nil, err
	}
	if len(src.Query) > 0 {
		q := r.url.Query()
		for k, v := range src.Query {
			q.Set(k, fill(v, keep))
		}
		r.url.RawQuery = q.Encode()
	}
	if src.Body != nil && src.GraphQL == "" {
		r.jsonBody = fillStrings(src.Body, func(s string) string { return fill(s, keep) }).(map[string]any)
		if err := r.encodeJSON(); err != nil {
			return nil, n.invalid("encode the body: %v", err)
		}
	}
	a, err := n.send(ctx, x, req.Credential.Fields, r)
	if err != nil {
		return nil, err
	}
	raw, _ := l.items.Get(a.JSON)
	list, ok := raw.([]any)
	if !ok {
		return nil, nodes.WithDetails(nodes.NewPermanent(n.code("response_invalid"),
			fmt.Errorf("%s: the answer has no list of choices at %q", l.c.p.Name, src.Items)), n.details(a, r))
	}
	out := make([]nodes.Option, 0, min(len(list), maxOptions))
	seen := map[string]bool{}
	for _, c := range l.choices(list) {
		item := c.item
		if len(l.when) > 0 {
			if w, _ := l.when.Get(item); w != true {
				continue
			}
		}
		v, ok := l.value.Get(item)
		if !ok || v == nil {
			continue
		}
		value := expression.Stringify(v)
		if seen[value] {
			continue
		}
		seen[value] = true
		label := value
		if len(l.label) > 0 {
			if lv, ok := l.label.Get(item); ok && lv != nil {
				label = expression.Stringify(lv)
			}
		}
		if c.group != "" {
			label = c.group + ": " + label
		}
		out = append(out, nodes.Option{Value: value, Label: label})
		if len(out) == maxOptions {
			break
		}
	}
	return out, nil // in the provider's order: pipeline stages and statuses are listed in the order they follow
}

// choice is one entry offered as a choice, with the label of the group it came from (Within).
type choice struct {
	item  any
	group string
}

// choices are the answer's items, or the entries of the list Within each item points at.
func (l *optionLoader) choices(list []any) []choice {
	out := make([]choice, 0, len(list))
	for _, item := range list {
		if l.source.Within == "" {
			out = append(out, choice{item: item})
			continue
		}
		inner, _ := l.within.Get(item)
		entries, _ := inner.([]any)
		group := ""
		if l.source.GroupLabel != "" {
			if g, ok := l.group.Get(item); ok && g != nil {
				group = expression.Stringify(g)
			}
		}
		for _, e := range entries {
			out = append(out, choice{item: e, group: group})
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// RegisterOptions loads the choices of a field of a node that is not an operation (a polling trigger's object)
// from the provider account, as an operation's field with Options does.
// Its choices cannot depend on other fields (DependsOn), which belong to operations.
func (p *Provider) RegisterOptions(nodeType, field string, src *OptionSource) {
	if len(src.DependsOn) > 0 {
		panic(fmt.Sprintf("connector %s: %s: the choices of %s: RegisterOptions takes no DependsOn", p.Name, nodeType, field))
	}
	c := &compiled{p: p, op: &Operation{Type: nodeType}}
	optionsMu.Lock()
	defer optionsMu.Unlock()
	if loaders[nodeType] == nil {
		loaders[nodeType] = map[string]*optionLoader{}
	}
	loaders[nodeType][field] = &optionLoader{c: c, field: field, source: src, items: MustPointer(src.Items),
		value: MustPointer(src.Value), label: MustPointer(src.Label), when: MustPointer(src.When)}
}
