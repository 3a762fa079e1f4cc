package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

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
}

// OptionsCacheTTL is how long choices loaded from an account are reused.
const OptionsCacheTTL = time.Minute

// maxOptions bounds the choices one field offers.
const maxOptions = 1000

type optionLoader struct {
	c      *compiled
	field  string
	source *OptionSource
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
		optionsMu.Lock()
		if loaders[c.op.Type] == nil {
			loaders[c.op.Type] = map[string]*optionLoader{}
		}
		loaders[c.op.Type][prm.Name] = l
		optionsMu.Unlock()
	}
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
	key := req.NodeType + "\x00" + req.Field + "\x00" + req.CredentialID
	now := time.Now()
	cacheMu.Lock()
	if c, ok := cache[key]; ok && !req.Fresh && now.Sub(c.at) < OptionsCacheTTL {
		cacheMu.Unlock()
		return c.options, nil
	}
	cacheMu.Unlock()
	opts, err := l.load(ctx, req)
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
func (l *optionLoader) load(ctx context.Context, req OptionsRequest) ([]nodes.Option, error) {
	if len(l.c.p.Credentials) > 0 && !contains(l.c.p.Credentials, req.Credential.Type) {
		return nil, nodes.NewPermanent("credential_type_refused", fmt.Errorf("credential %s is a %s credential; %s accepts %v",
			req.Credential.Name, req.Credential.Type, req.NodeType, l.c.p.Credentials))
	}
	src := l.source
	op := &Operation{Type: l.c.op.Type, Method: src.Method, Path: src.Path, GraphQL: src.GraphQL}
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
			q.Set(k, v)
		}
		r.url.RawQuery = q.Encode()
	}
	if src.Body != nil && src.GraphQL == "" {
		r.jsonBody = copyMap(src.Body)
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
func (p *Provider) RegisterOptions(nodeType, field string, src *OptionSource) {
	c := &compiled{p: p, op: &Operation{Type: nodeType}}
	optionsMu.Lock()
	defer optionsMu.Unlock()
	if loaders[nodeType] == nil {
		loaders[nodeType] = map[string]*optionLoader{}
	}
	loaders[nodeType][field] = &optionLoader{c: c, field: field, source: src, items: MustPointer(src.Items),
		value: MustPointer(src.Value), label: MustPointer(src.Label), when: MustPointer(src.When)}
}
