// Package connector turns a connector's operations, written as data, into nodes. An operation says which
// request it makes (method, path template, where each parameter goes, how the body is shaped, how pages follow
// one another) and what its answer means (where the result sits, how the provider's failures map to the
// engine's outcomes). The runtime renders the request, sends it through the step's guarded client with the
// credential applied last, pages, extracts and classifies; the same operation drives the node catalog, the
// editor's form, validation at save time, the request a test run shows and the generated node docs.
//
// Go code is written only for what data cannot say: how a provider signs its requests (Provider.Authorize), an
// answer that is a failure despite its status (Provider.Check: GraphQL errors, throttling), how a credential
// becomes a base URL, where a REST write goes once a read has said so (Operation.Route: an upsert), and a JSON
// body that pointers cannot build (Operation.Shape: one record wrapped in a batch endpoint's list).
package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// In says where a parameter goes in the request.
type In string

// Parameter locations.
const (
	// InPath fills the {name} placeholder of the path, escaped.
	InPath In = "path"
	// InQuery adds a query parameter named Key.
	InQuery In = "query"
	// InBody sets the JSON body at the pointer Key ("/billing/email").
	InBody In = "body"
	// InForm adds a form field named Key to an application/x-www-form-urlencoded body.
	InForm In = "form"
	// InHeader sets the header named Key.
	InHeader In = "header"
	// InVariable sets the GraphQL variable at the pointer Key ("/first", "/input/tags").
	InVariable In = "variable"
)

// As is the kind of value a parameter sends: how the rendered value is converted before it is written.
type As string

// Value kinds. The default follows the field's type: integer, number and boolean fields send that kind, a
// list or JSON field sends its value as it is, everything else text.
const (
	AsString  As = "string"
	AsInteger As = "integer"
	AsNumber  As = "number"
	AsBoolean As = "boolean"
	// AsJSON sends the value as it is (an object, a list): bodies and GraphQL variables only.
	AsJSON As = "json"
	// AsList sends a list: repeated query parameters, a JSON array in a body, comma-separated in a header. A
	// rendered text is split at commas.
	AsList As = "list"
)

// Param is one parameter of an operation: a field of the node's form (name, label, type, default, whether it
// may interpolate {{ }}) and where its value goes.
type Param struct {
	nodes.Field
	In In
	// Key is the name on the wire (query, form, header) or the JSON pointer (body, variable); empty means the
	// field's name (as "/name" for pointers). A body parameter keyed "/" is the whole body: its value, an
	// object, gives the body's fields (a record of any shape, as Salesforce's sObjects are), and parameters
	// keyed deeper are set on it.
	Key string
	// As converts the rendered value; empty follows the field's type.
	As As
	// Options, when set, loads the field's choices from the provider account (order statuses, pipelines);
	// the editor shows them as a dropdown that still accepts an expression.
	Options *OptionSource
	// Transform, when set, turns the converted value into what the provider takes (a numeric id into a GraphQL
	// global id, a date into a search filter): what the form asks for people and what the API wants differ. An
	// error fails the step with <provider>_request_invalid and the error's text.
	Transform func(v any) (any, error)
}

// BodyKind is the encoding of a request body.
type BodyKind string

// Body encodings.
const (
	BodyNone BodyKind = ""
	BodyJSON BodyKind = "json"
	BodyForm BodyKind = "form"
)

// Operation is one node of a connector, described as data.
type Operation struct {
	// Type is the node type id ("shop.woocommerce.order.get"); Version defaults to 1.
	Type    string
	Version int
	Name    string
	// Description is one line for the palette; Docs is longer Markdown for the node reference.
	Description string
	Docs        string
	Category    nodes.Category
	// Method and Path are the request; Path is relative to the provider's base URL and may hold {name}
	// placeholders for InPath parameters ("/orders/{id}").
	Method string
	Path   string
	Params []Param
	// GraphQL is the document of a GraphQL operation: the body is {"query": GraphQL, "variables": {...}}, built
	// from the InVariable parameters.
	GraphQL string
	// Result is where the node's output sits in a successful answer ("/data/order"); empty is the whole answer.
	// A paginated operation outputs its items instead (see Pagination).
	Result string
	// RequireResult makes an answer with nothing or null at Result the provider saying the record does not
	// exist (<provider>_not_found): GraphQL answers an unknown id with a null object and status 200.
	RequireResult bool
	// Prepare, when set, runs just before the request is sent (never in test runs, which show the request as
	// rendered): it may make read requests of the provider with lookup, through the same guarded path, and
	// returns the GraphQL variables to send. It is for the operations that need a record's parts before acting
	// on it (a fulfilment names the order's fulfilment orders).
	Prepare func(ctx context.Context, lookup Lookup, vars map[string]any) (map[string]any, error)
	// Route, when set, runs just before a REST operation's request is sent (never in test runs, which show the
	// request as rendered): it may read from the provider with get, through the same guarded path, and returns
	// the method and path (relative to the base URL) the request goes to instead of the operation's own. It is
	// for the operations whose target depends on what exists: an upsert that updates the record a search found,
	// or creates one.
	Route func(ctx context.Context, get Get, body map[string]any) (method, path string, err error)
	// Shape, when set, turns the JSON body the parameters rendered into the body the provider takes, in test runs
	// too: what pointers cannot build (a record wrapped in a list, as a batch endpoint wants it; the parts a
	// provider requires even when empty; property values written as text). An error fails the step with
	// <provider>_request_invalid and the error's text.
	Shape func(body map[string]any) (map[string]any, error)
	// Pagination, when set, makes the operation list records page by page.
	Pagination *Pagination
	// SideEffect marks operations that change something at the provider: test runs show the request instead of
	// sending it.
	SideEffect bool
	// IdempotencyHeader names the header that carries the step's idempotency key, for providers that honour one.
	IdempotencyHeader string
	// Unrepeatable marks a write the provider cannot deduplicate: it honours no idempotency key, so the same
	// request sent twice may act twice (a second order for one payment). Such a request is never sent again by
	// Ferry when its outcome is unknown, that is when it may have reached the provider but no answer says what
	// became of it: a timeout or a connection lost after the request was written, or a 5xx answer (a gateway
	// may have passed it on, a server may have failed after saving). The step then fails permanently with
	// <provider>_outcome_unknown, which neither the step's retry policy nor the engine retries, and the
	// details show the request (without the credential) and say to check at the provider before running the
	// step again. Failures that show nothing was sent (the destination refused before sending, a connection
	// that could not be made, an open circuit) and answers that say nothing was done (429 with Retry-After,
	// 408, other 4xx) keep their usual outcome. The look-ups of Route are reads and are retried as usual.
	Unrepeatable bool
	// Conflict, set on an upsert, gives the node a conflict policy (conflict.go): what to do with a record that
	// exists and may hold edits made at the provider. It is applied just before the request is sent (never in
	// test runs, which show the request as rendered).
	Conflict *Conflict
	// OutputLabel labels the node's output port; empty means "Result".
	OutputLabel string
	// Timeout bounds each request; zero means 30 seconds.
	Timeout time.Duration
}

// Provider is what every operation of a connector shares: its credential, where its API lives, how the
// credential is applied and how its answers read.
type Provider struct {
	// Name prefixes messages and failure codes ("woocommerce" gives woocommerce_not_found).
	Name string
	// Title is the provider's name for people ("WooCommerce").
	Title string
	// Credentials are the credential types the operations accept; the first is the usual one.
	Credentials []string
	// BaseURL gives the root every path is relative to, from the credential's fields (a shop's address, a
	// region, a sandbox).
	BaseURL func(fields map[string]string) (*url.URL, error)
	// Authorize applies the credential to a request that is otherwise complete, just before it is sent (and
	// after its destination was checked): a header, a query parameter, a signature of the body.
	Authorize func(req *http.Request, fields map[string]string) error
	// Token, when set, exchanges the credential for a short-lived access token before each request (Youzan's
	// /auth/token), handed to Authorize as nodes.CredentialAccessToken and renewed once when an answer refuses it.
	Token *TokenSource
	// Headers are sent with every request (Accept, a pinned API version).
	Headers map[string]string
	// ErrorMessage and ErrorCode point at the provider's own message and code in a failure's JSON body, quoted
	// verbatim in the step's error.
	ErrorMessage string
	ErrorCode    string
	// Check looks at every answer and returns a failure for one that is not a success whatever its status
	// (GraphQL errors in a 200, a quota exhausted): a *nodes.Error, or nil to let the status decide.
	Check func(a *Answer) error
	// Quota reads what an answer says of the provider's own quota for the credential (Shopify's
	// extensions.cost.throttleStatus): how long until its bucket can take another call like this one. The
	// runtime reports it to the engine (nodes.Exec.ReportQuota), which holds the credential's calls that long.
	Quota func(a *Answer) (wait time.Duration, ok bool)
	// Usage reads what an answer says of the account's use of its API allowance (Salesforce's Sforce-Limit-Info):
	// requests used and the allowance. The runtime reports it (nodes.Exec.ReportUsage) for every answer.
	Usage func(a *Answer) (used, limit int64, ok bool)
	// SessionRefused, when set, reports an answer that refuses the credential's OAuth2 access token although the
	// vault thought it current (Salesforce's INVALID_SESSION_ID): the runtime asks the engine to renew the
	// credential (nodes.Exec.RenewCredential) and sends the request once more with the new token.
	SessionRefused func(a *Answer) bool
	// Docs is Markdown shared by every operation's reference page (the pinned API version, where keys come from).
	Docs string
}

var placeholder = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)

// MustRegister registers every operation as a node type of the provider; a malformed operation stops the
// process at start-up, as a malformed node spec does.
func (p *Provider) MustRegister(ops ...Operation) {
	for i := range ops {
		op := ops[i]
		c, err := p.compile(&op)
		if err != nil {
			panic(fmt.Sprintf("connector %s: %s: %v", p.Name, op.Type, err))
		}
		registerOptions(c) // first: it refuses choices that depend on fields the operation lacks
		nodes.MustRegister(c.spec(), c.construct)
	}
}

// compiled is an operation checked and prepared for rendering.
type compiled struct {
	p      *Provider
	op     *Operation
	params []compiledParam
	result Pointer
	page   *compiledPagination
}

type compiledParam struct {
	Param
	pointer Pointer // for InBody and InVariable
}

func (p *Provider) compile(op *Operation) (*compiled, error) {
	if p.Name == "" || p.BaseURL == nil {
		return nil, fmt.Errorf("the provider needs a name and a base URL")
	}
	if op.Version == 0 {
		op.Version = 1
	}
	if op.Method == "" {
		op.Method = http.MethodGet
	}
	if op.GraphQL != "" && op.Method != http.MethodPost {
		return nil, fmt.Errorf("a GraphQL operation is a POST")
	}
	if op.Prepare != nil && op.GraphQL == "" {
		return nil, fmt.Errorf("only a GraphQL operation prepares its variables")
	}
	if op.Route != nil && (op.GraphQL != "" || op.Pagination != nil) {
		return nil, fmt.Errorf("only a REST operation of one request is routed")
	}
	if op.Unrepeatable {
		switch {
		case !op.SideEffect:
			return nil, fmt.Errorf("an unrepeatable operation changes something: it is a side effect")
		case op.Pagination != nil:
			return nil, fmt.Errorf("an unrepeatable operation makes one request, it does not page")
		case op.IdempotencyHeader != "":
			return nil, fmt.Errorf("an operation sending an idempotency key is repeatable")
		case op.Method == http.MethodGet || op.Method == http.MethodHead:
			return nil, fmt.Errorf("a %s is repeatable", op.Method)
		}
	}
	c := &compiled{p: p, op: op}
	var err error
	if c.result, err = ParsePointer(op.Result); err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	inPath := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(op.Path, -1) {
		inPath[m[1]] = true
	}
	body, form := false, false
	for _, prm := range op.Params {
		cp := compiledParam{Param: prm}
		if cp.Key == "" {
			cp.Key = cp.Name
		}
		switch cp.In {
		case InPath:
			if !inPath[cp.Key] {
				return nil, fmt.Errorf("parameter %s goes in the path, which has no {%s}", cp.Name, cp.Key)
			}
			delete(inPath, cp.Key)
		case InQuery, InHeader:
		case InForm:
			form = true
		case InBody, InVariable:
			if cp.In == InVariable && op.GraphQL == "" {
				return nil, fmt.Errorf("parameter %s is a GraphQL variable of an operation without a document", cp.Name)
			}
			body = body || cp.In == InBody
			key := cp.Key
			if !strings.HasPrefix(key, "/") {
				key = "/" + key
			}
			if cp.In == InBody && key == "/" {
				cp.pointer = Pointer{}
			} else if cp.pointer, err = ParsePointer(key); err != nil {
				return nil, fmt.Errorf("parameter %s: %w", cp.Name, err)
			}
		default:
			return nil, fmt.Errorf("parameter %s: unknown location %q", cp.Name, cp.In)
		}
		if cp.As == AsJSON && cp.In != InBody && cp.In != InVariable {
			return nil, fmt.Errorf("parameter %s: only body and variable parameters may send JSON", cp.Name)
		}
		c.params = append(c.params, cp)
	}
	for name := range inPath {
		return nil, fmt.Errorf("the path's {%s} has no parameter", name)
	}
	if op.Shape != nil && (form || op.GraphQL != "") {
		return nil, fmt.Errorf("only a JSON body is shaped")
	}
	body = body || op.Shape != nil
	if body && form {
		return nil, fmt.Errorf("a body is JSON or a form, not both")
	}
	if (body || form || op.GraphQL != "") && (op.Method == http.MethodGet || op.Method == http.MethodHead) {
		return nil, fmt.Errorf("a %s has no body", op.Method)
	}
	if cf := op.Conflict; cf != nil {
		switch {
		case !op.SideEffect || op.Pagination != nil || op.GraphQL != "" || form:
			return nil, fmt.Errorf("a conflict policy belongs to a write of records with a JSON body")
		case cf.Object == "":
			return nil, fmt.Errorf("a conflict policy needs an Object")
		case !cf.batch() && (cf.Read == nil || cf.ReadMany != nil || cf.Results != ""):
			return nil, fmt.Errorf("a conflict policy of one record needs a Read, and no ReadMany or Results")
		case cf.batch() && (cf.ReadMany == nil || cf.Read != nil || cf.Results == ""):
			return nil, fmt.Errorf("a conflict policy of a batch needs a ReadMany and Results, and no Read")
		}
		for what, p := range map[string]string{"fields": cf.Fields, "records": cf.Records, "results": cf.Results} {
			if _, err := ParsePointer(p); err != nil {
				return nil, fmt.Errorf("conflict %s: %w", what, err)
			}
		}
	}
	if op.Pagination != nil {
		if c.page, err = compilePagination(op); err != nil {
			return nil, fmt.Errorf("pagination: %w", err)
		}
	}
	return c, nil
}

// bodyKind is how the operation's body is encoded.
func (c *compiled) bodyKind() BodyKind {
	if c.op.GraphQL != "" {
		return BodyJSON
	}
	if c.op.Shape != nil {
		return BodyJSON
	}
	for _, prm := range c.params {
		switch prm.In {
		case InBody:
			return BodyJSON
		case InForm:
			return BodyForm
		}
	}
	return BodyNone
}

// spec is the node spec the operation is served as.
func (c *compiled) spec() nodes.Spec {
	op := c.op
	main := []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}}
	label := op.OutputLabel
	if label == "" {
		label = "Result"
	}
	params := make([]nodes.Field, 0, len(c.params)+4)
	for _, prm := range c.params {
		f := prm.Field
		if prm.Options != nil {
			f.LoadOptions = true
			f.OptionsDependOn = prm.Options.DependsOn
		}
		params = append(params, f)
	}
	if c.page != nil {
		params = append(params, c.page.fields()...)
	}
	if c.op.Conflict != nil {
		params = append(params, c.op.Conflict.fields()...)
	}
	return nodes.Spec{
		Type: op.Type, Version: op.Version, Name: op.Name, Category: op.Category, Description: op.Description,
		SideEffect: op.SideEffect, Inputs: main, Outputs: []nodes.Port{{ID: nodes.DefaultPort, Label: label, Kind: nodes.PortMain}},
		Params: params, Credentials: c.p.Credentials, CredentialRequired: true, Docs: c.docs(),
	}
}

// docs is the operation's reference text: its own, the request it makes, paging, and the provider's.
func (c *compiled) docs() string {
	var b strings.Builder
	if c.op.Docs != "" {
		b.WriteString(c.op.Docs)
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "**Request:** `%s %s`", c.op.Method, c.op.Path)
	if c.op.GraphQL != "" {
		b.WriteString(" (GraphQL)")
	}
	b.WriteString(".")
	if c.op.SideEffect {
		b.WriteString(" Test runs show the request and do not send it.")
	}
	if c.page != nil {
		b.WriteString("\n\n" + c.page.docs())
	}
	if c.op.Unrepeatable {
		name := c.p.Name
		fmt.Fprintf(&b, "\n\n**Failures:** the provider's answer is kept verbatim in the error details. %[1]s honours no "+
			"idempotency key for this request, so a request whose outcome is unknown is never sent again: no answer after it "+
			"was sent (a timeout, a connection lost) or a 5xx answer fails the step with `%[2]s_outcome_unknown`, which is not "+
			"retried whatever the step's retry policy says. %[1]s may have done what was asked: check there before running the "+
			"step again. A connection that could not be made is retried (`%[2]s_network`), 429 waits as long as %[1]s asks "+
			"(`%[2]s_rate_limited`); 401 and 403 fail with `%[2]s_unauthorized`, 404 with `%[2]s_not_found`, 400 and 422 with "+
			"`%[2]s_invalid_request`, other 4xx with `%[2]s_client_error`.", c.title(), name)
		if c.p.Docs != "" {
			b.WriteString("\n\n" + c.p.Docs)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "\n\n**Failures:** the provider's answer is kept verbatim in the error details. 429 and 503 with "+
		"Retry-After wait as long as %s asks (`%s_rate_limited`, `%s_unavailable`); timeouts, network errors and 5xx "+
		"are retried (`%s_timeout`, `%s_network`, `%s_server_error`); 401 and 403 fail with `%s_unauthorized`, 404 "+
		"with `%s_not_found`, 400 and 422 with `%s_invalid_request`, other 4xx with `%s_client_error`.",
		c.title(), c.p.Name, c.p.Name, c.p.Name, c.p.Name, c.p.Name, c.p.Name, c.p.Name, c.p.Name, c.p.Name)
	if c.p.Docs != "" {
		b.WriteString("\n\n" + c.p.Docs)
	}
	return b.String()
}

func (c *compiled) title() string {
	if c.p.Title != "" {
		return c.p.Title
	}
	return c.p.Name
}

// construct is the node constructor: it compiles every parameter once per flow version.
func (c *compiled) construct(cfg *nodes.Config) (nodes.Node, error) {
	n := &node{c: c, values: make([]value, len(c.params))}
	for i, prm := range c.params {
		n.values[i] = compileValue(cfg, prm)
	}
	if c.page != nil {
		n.paging = c.page.configure(cfg)
	}
	if c.op.Conflict != nil {
		n.conflict = c.op.Conflict.configure(cfg)
	}
	return n, cfg.Err()
}

// node is a configured operation.
type node struct {
	c        *compiled
	values   []value
	paging   pagingConfig
	conflict conflictConfig
}

var (
	_ nodes.Node      = (*node)(nil)
	_ nodes.DryRunner = (*node)(nil)
)

// Execute makes the operation's request (every page of it, when asked) and outputs the result.
func (n *node) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	if n.c.page != nil {
		if res, ok := (&Paging{cfg: n.paging}).Resumed(x); ok {
			return res, nil
		}
	}
	fields, err := n.credential(ctx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	r, err := n.render(x, fields)
	if err != nil {
		return nodes.Result{}, err
	}
	if n.c.page != nil {
		return n.paginate(ctx, x, fields, r)
	}
	if n.c.op.Prepare != nil {
		if r, err = n.prepare(ctx, x, fields, r); err != nil {
			return nodes.Result{}, err
		}
	}
	if n.c.op.Route != nil {
		if r, err = n.route(ctx, x, fields, r); err != nil {
			return nodes.Result{}, err
		}
	}
	if cf := n.c.op.Conflict; cf != nil && cf.batch() {
		sent, left, instead, err := n.resolveBatchConflict(ctx, x, fields, r)
		if err != nil || sent == nil {
			return nodes.Result{Output: instead}, err
		}
		a, err := n.exchange(ctx, x, fields, sent, n.c.op.Unrepeatable)
		if err != nil {
			return nodes.Result{}, err
		}
		out, err := n.extract(a, sent)
		if err != nil {
			return nodes.Result{}, err
		}
		return nodes.Result{Output: n.withLeft(out, left)}, nil
	}
	if n.c.op.Conflict != nil {
		var instead *nodes.Result
		if r, instead, err = n.resolveConflict(ctx, x, fields, r); err != nil || instead != nil {
			if instead == nil {
				return nodes.Result{}, err
			}
			return *instead, err
		}
	}
	a, err := n.exchange(ctx, x, fields, r, n.c.op.Unrepeatable)
	if err != nil {
		return nodes.Result{}, err
	}
	out, err := n.extract(a, r)
	return nodes.Result{Output: out}, err
}

// Lookup makes one read request of an operation's provider for its Prepare: a GraphQL document and its
// variables, posted to the operation's path and answered as any request of the runtime is (its failures
// classified, the provider's quota reported).
type Lookup func(ctx context.Context, document string, vars map[string]any) (*Answer, error)

// prepare runs the operation's Prepare and re-encodes the request with the variables it returns.
func (n *node) prepare(ctx context.Context, x *nodes.Exec, fields map[string]string, r *request) (*request, error) {
	lookup := func(ctx context.Context, document string, vars map[string]any) (*Answer, error) {
		q := r.clone()
		q.vars = vars
		q.header.Del(n.c.op.IdempotencyHeader)
		body, err := encodeGraphQL(document, vars)
		if err != nil {
			return nil, n.invalid("encode the lookup: %v", err)
		}
		q.body, q.bodyView = body, map[string]any{"query": document, "variables": vars}
		return n.send(ctx, x, fields, q)
	}
	vars, err := n.c.op.Prepare(ctx, lookup, copyMap(r.vars))
	if err != nil {
		var typed *nodes.Error
		if errors.As(err, &typed) {
			return nil, err
		}
		return nil, n.invalid("%v", err)
	}
	out := r.clone()
	out.vars = vars
	if err := out.encode(n.c); err != nil {
		return nil, n.invalid("encode the body: %v", err)
	}
	return out, nil
}

// Get makes one GET request of an operation's provider for its Route: a path relative to the base URL and its
// query, answered as any request of the runtime is (its failures classified, the provider's quota reported).
type Get func(ctx context.Context, path string, query url.Values) (*Answer, error)

// route runs the operation's Route and moves the request to the method and path it returns.
func (n *node) route(ctx context.Context, x *nodes.Exec, fields map[string]string, r *request) (*request, error) {
	base, err := n.c.p.BaseURL(fields)
	if err != nil {
		return nil, n.credentialInvalid(err)
	}
	get := func(ctx context.Context, path string, query url.Values) (*Answer, error) {
		return n.send(ctx, x, fields, getRequest(r, base, path, query, n.c.op.IdempotencyHeader))
	}
	method, path, err := n.c.op.Route(ctx, get, copyMap(r.jsonBody))
	if err != nil {
		var typed *nodes.Error
		if errors.As(err, &typed) {
			return nil, err
		}
		return nil, n.invalid("%v", err)
	}
	out := r.clone()
	out.method = method
	u := base.JoinPath(path)
	u.RawQuery = r.url.RawQuery
	out.url = u
	return out, nil
}

// getRequest is a bodiless GET of path under base with query, carrying the headers of r but its idempotency key.
func getRequest(r *request, base *url.URL, path string, query url.Values, idempotencyHeader string) *request {
	q := &request{method: http.MethodGet, url: base.JoinPath(path), header: r.header.Clone()}
	q.header.Del("Content-Type")
	if idempotencyHeader != "" {
		q.header.Del(idempotencyHeader)
	}
	if len(query) > 0 {
		q.url.RawQuery = query.Encode()
	}
	return q
}

// DryRun shows the request a test run would send, without the credential, and sends nothing.
func (n *node) DryRun(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	fields, err := n.credential(ctx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	r, err := n.render(x, fields)
	if err != nil {
		return nodes.Result{}, err
	}
	if err := checkDestination(ctx, x, r); err != nil {
		return nodes.Result{}, nodes.WithDetails(err, map[string]any{"request": r.shown()})
	}
	return nodes.Result{Output: map[string]any{"dryRun": true, "request": r.shown()}}, nil
}

// Query makes one GraphQL request of the provider from Go code that is not an operation (a connection test, a
// polling trigger): the document and its variables posted to path, through the step's guarded client with the
// credential applied last, answered and classified as an operation's request is, the provider's quota reported.
func (p *Provider) Query(ctx context.Context, x *nodes.Exec, path, document string, vars map[string]any) (*Answer, error) {
	op := &Operation{Type: p.Name + ".query", Method: http.MethodPost, Path: path, GraphQL: document}
	n := &node{c: &compiled{p: p, op: op}}
	fields, err := n.credential(ctx, x)
	if err != nil {
		return nil, err
	}
	r, err := n.render(x, fields)
	if err != nil {
		return nil, err
	}
	r.vars = vars
	if err := r.encode(n.c); err != nil {
		return nil, n.invalid("encode the body: %v", err)
	}
	return n.send(ctx, x, fields, r)
}

// Call makes one request of the provider from Go code that is not an operation (a connection test, a polling
// trigger reading a list): method to path under the base URL with query (nil: none) and body as its JSON body
// (nil: no body), through the step's guarded client with the credential applied last, answered and classified
// as an operation's request is.
func (p *Provider) Call(ctx context.Context, x *nodes.Exec, method, path string, query url.Values, body map[string]any) (*Answer, error) {
	op := &Operation{Type: p.Name + ".call", Method: method, Path: path}
	n := &node{c: &compiled{p: p, op: op}}
	fields, err := n.credential(ctx, x)
	if err != nil {
		return nil, err
	}
	r, err := n.render(x, fields)
	if err != nil {
		return nil, err
	}
	if len(query) > 0 {
		r.url.RawQuery = query.Encode()
	}
	if body != nil {
		r.jsonBody = body
		if err := r.encodeJSON(); err != nil {
			return nil, n.invalid("encode the body: %v", err)
		}
	}
	return n.send(ctx, x, fields, r)
}
