package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// HTTPType is the node type of the generic HTTP request, the way to reach any system without a connector.
const HTTPType = "core.http"

// Credential types the HTTP node can authenticate with. The node recognises them by their fields, since a step
// sees only the decrypted fields: "token" (bearer), "username"/"password" (basic), "name"/"value"/"in" (API key),
// and "accessToken"/"tokenType", which an OAuth2 credential (oauth2.authcode, oauth2.client) resolves to.
const (
	CredentialHTTPAPIKey = "http.apikey"
	CredentialHTTPBearer = "http.bearer"
	CredentialHTTPBasic  = "http.basic"
)

// Stable failure codes of core.http, so alert rules and error branches can tell outcomes apart.
const (
	CodeHTTPRequestInvalid        = "http_request_invalid"        // permanent: the rendered URL, header or body is unusable
	CodeHTTPCredentialInvalid     = "http_credential_invalid"     // permanent: the credential has none of the known shapes
	CodeHTTPCredentialUnavailable = "http_credential_unavailable" // retryable: the vault failed
	CodeHTTPTimeout               = "http_timeout"                // retryable: no answer in time, or 408
	CodeHTTPNetwork               = "http_network"                // retryable: connection failed
	CodeHTTPRateLimited           = "http_rate_limited"           // retry-after (or retryable without Retry-After): 429; slows the step's rate limit
	CodeHTTPUnavailable           = "http_unavailable"            // retry-after: 503 with Retry-After
	CodeHTTPTooEarly              = "http_too_early"              // retryable: 425
	CodeHTTPServerError           = "http_server_error"           // retryable: 5xx
	CodeHTTPClientError           = "http_client_error"           // permanent: other 4xx
	CodeHTTPUnexpectedStatus      = "http_unexpected_status"      // permanent: 1xx or an unfollowed 3xx
	CodeHTTPResponseTooLarge      = "http_response_too_large"     // permanent
	CodeHTTPResponseInvalid       = "http_response_invalid"       // permanent: response type JSON, body is not
)

// Limits of core.http.
const (
	// MaxHTTPResponseBytes caps the response body read into run data.
	MaxHTTPResponseBytes = 10 << 20
	maxHTTPTimeout       = 5 * time.Minute
	// detailBodyBytes caps the text of a failed response kept in the error details; detailJSONBytes is the
	// largest JSON error body kept parsed.
	detailBodyBytes = 8 << 10
	detailJSONBytes = 64 << 10
	// maxHTTPRate bounds the rateLimit and rateBurst parameters; more is no limit worth the name.
	maxHTTPRate = 10000
)

// Body types of core.http.
const (
	bodyNone = "none"
	bodyJSON = "json"
	bodyForm = "form"
	bodyRaw  = "raw"
)

// Paging styles of core.http, as the pagination parameter names them.
const (
	pagingNone   = "none"
	pagingLink   = string(connector.PageLink)
	pagingCursor = string(connector.PageCursor)
	pagingPage   = string(connector.PageNumber)
	pagingOffset = string(connector.PageOffset)
	// maxHTTPPageSize bounds the page size the node asks for.
	maxHTTPPageSize = 1000
)

func init() {
	withBody := map[string][]any{"bodyType": {bodyJSON, bodyForm, bodyRaw}}
	paged := map[string][]any{"pagination": {pagingLink, pagingCursor, pagingPage, pagingOffset}}
	pagingFields := []nodes.Field{
		{
			Name: "pagination", Label: "Pagination", Type: nodes.TypeSelect, Default: pagingNone, Advanced: true,
			Description: "How the API pages a list, to read one page or all of them: the output is then " +
				"{items, count, pages, complete, next} instead of the answer.",
			Options: []nodes.Option{
				{Value: pagingNone, Label: "None", Description: "One request, one answer."},
				{Value: pagingLink, Label: "Link header", Description: "Follow the Link header's rel=\"next\" URL (GitHub, Shopify REST)."},
				{Value: pagingCursor, Label: "Cursor", Description: "Each answer gives the next page's cursor, sent back as a query parameter."},
				{Value: pagingPage, Label: "Page number", Description: "Pages numbered from 1 in a query parameter."},
				{Value: pagingOffset, Label: "Offset", Description: "A query parameter skips that many records."},
			},
		},
		{Name: "itemsPath", Label: "Records at", Type: nodes.TypeString, ShowIf: paged, Advanced: true,
			Description: "Where each answer's list of records is, as a JSON pointer; empty when the answer is the list.",
			Examples:    []nodes.Example{{Name: "A data array", Value: "/data"}, {Name: "Nested", Value: "/result/items"}}},
		{Name: "nextPath", Label: "Next cursor at", Type: nodes.TypeString, ShowIf: map[string][]any{"pagination": {pagingCursor}}, Required: true, Advanced: true,
			Description: "Where the next page's cursor is in an answer, as a JSON pointer; an empty cursor ends the list.",
			Examples:    []nodes.Example{{Name: "HubSpot", Value: "/paging/next/after"}, {Name: "Flat", Value: "/next_cursor"}}},
		{Name: "cursorParam", Label: "Cursor parameter", Type: nodes.TypeString, ShowIf: map[string][]any{"pagination": {pagingCursor}}, Required: true, Advanced: true,
			Description: "The query parameter the cursor is sent in.", Examples: []nodes.Example{{Name: "after", Value: "after"}}},
		{Name: "pageParam", Label: "Page parameter", Type: nodes.TypeString, Default: "page", ShowIf: map[string][]any{"pagination": {pagingPage}}, Advanced: true,
			Description: "The query parameter that numbers pages, from 1."},
		{Name: "offsetParam", Label: "Offset parameter", Type: nodes.TypeString, Default: "offset", ShowIf: map[string][]any{"pagination": {pagingOffset}}, Advanced: true,
			Description: "The query parameter that skips records."},
		{Name: "sizeParam", Label: "Page size parameter", Type: nodes.TypeString, ShowIf: map[string][]any{"pagination": {pagingCursor, pagingPage, pagingOffset}}, Advanced: true,
			Description: "The query parameter that asks for the page size; empty sends none (then a short page cannot end the list).",
			Examples:    []nodes.Example{{Name: "limit", Value: "limit"}, {Name: "per_page", Value: "per_page"}}},
		{Name: "totalPagesHeader", Label: "Total pages header", Type: nodes.TypeString, ShowIf: map[string][]any{"pagination": {pagingPage}}, Advanced: true,
			Description: "A header giving the number of pages (X-WP-TotalPages); without it a short page is the last."},
	}
	pagingFields = append(pagingFields, connector.PagingParams(paged, connector.PageCursor, 100, maxHTTPPageSize)...)
	nodes.MustRegister(nodes.Spec{
		Type:        HTTPType,
		Version:     1,
		Name:        "HTTP request",
		Category:    nodes.CategoryAction,
		Description: "Calls any HTTP API and passes on its answer.",
		SideEffect:  true,
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Response", Kind: nodes.PortMain}},
		Credentials: []string{CredentialHTTPAPIKey, CredentialHTTPBearer, CredentialHTTPBasic, CredentialOAuth2AuthCode, CredentialOAuth2Client},
		Params: append([]nodes.Field{
			{
				Name: "method", Label: "Method", Type: nodes.TypeSelect, Default: http.MethodGet,
				Options: []nodes.Option{
					{Value: http.MethodGet, Label: "GET"}, {Value: http.MethodPost, Label: "POST"},
					{Value: http.MethodPut, Label: "PUT"}, {Value: http.MethodPatch, Label: "PATCH"},
					{Value: http.MethodDelete, Label: "DELETE"}, {Value: http.MethodHead, Label: "HEAD"},
				},
			},
			{
				Name: "url", Label: "URL", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "http or https URL; may interpolate {{ }} expressions.",
				Examples: []nodes.Example{
					{Name: "Static", Value: "https://crm.example.com/api/v2/deals"},
					{Name: "With an id", Value: "https://crm.example.com/api/v2/orders/{{ trigger.body.order_id }}"},
				},
			},
			{
				Name: "query", Label: "Query parameters", Type: nodes.TypeKeyValue, Expression: true,
				Description: "Added to the URL's query, replacing parameters of the same name; values may interpolate {{ }}.",
				Examples:    []nodes.Example{{Name: "Search by email", Value: map[string]any{"email": "{{ trigger.body.customer.email }}"}}},
			},
			{
				Name: "headers", Label: "Headers", Type: nodes.TypeKeyValue, Expression: true,
				Description: "Request headers; values may interpolate {{ }}. Put secrets in the credential, not here.",
				Examples:    []nodes.Example{{Name: "Accept JSON", Value: map[string]any{"Accept": "application/json"}}},
			},
			{
				Name: "bodyType", Label: "Body", Type: nodes.TypeSelect, Default: bodyNone,
				Options: []nodes.Option{
					{Value: bodyNone, Label: "None"},
					{Value: bodyJSON, Label: "JSON", Description: "Sent as application/json."},
					{Value: bodyForm, Label: "Form", Description: "Sent as application/x-www-form-urlencoded."},
					{Value: bodyRaw, Label: "Raw text", Description: "Sent as text/plain unless a Content-Type header says otherwise."},
				},
			},
			{
				Name: "body", Label: "Body content", Type: nodes.TypeText, Required: true, Expression: true,
				Description: "JSON: a single {{ expression }} is sent as that value encoded as JSON (the safe way " +
					"to send data), other text must be valid JSON once rendered. Form: a single {{ expression }} " +
					"giving an object is form-encoded, text is sent as is. Raw: the rendered text.",
				ShowIf: withBody,
				Examples: []nodes.Example{
					{Name: "Previous step's output", Value: "{{ prev }}"},
					{Name: "Built object", Value: `{{ {"email": trigger.body.customer.email, "amount": trigger.body.amount} }}`},
					{Name: "JSON text", Value: `{"order_id": "{{ trigger.body.order_id }}"}`},
				},
			},
			{
				Name: "timeout", Label: "Timeout", Type: nodes.TypeDuration, Default: "30s",
				Description: "Time allowed for the whole exchange, at most 5m. A timeout is retried.",
				Examples:    []nodes.Example{{Name: "Thirty seconds", Value: "30s"}, {Name: "Two minutes", Value: "2m"}},
			},
			{
				Name: "idempotencyKey", Label: "Send idempotency key", Type: nodes.TypeBoolean, Default: false,
				Description: "Send a key that is the same on every retry of this step in this run, so APIs that " +
					"honour it (Stripe, most payment APIs) apply the call once.",
			},
			{
				Name: "idempotencyHeader", Label: "Idempotency header", Type: nodes.TypeString, Default: "Idempotency-Key",
				Description: "Header that carries the idempotency key.",
				ShowIf:      map[string][]any{"idempotencyKey": {true}},
				Advanced:    true,
				Examples:    []nodes.Example{{Name: "Standard", Value: "Idempotency-Key"}, {Name: "Request id", Value: "X-Request-Id"}},
			},
			{
				Name: "rateLimit", Label: "Rate limit (requests per second)", Type: nodes.TypeNumber, Advanced: true,
				Description: "Most requests per second this step sends, counted together for every run and every " +
					"worker: per credential when the node has one, else per host. Empty means no limit of its own; " +
					"a rate limit set on the credential comes first. A step over the limit waits its turn (a long " +
					"wait releases the worker), and a 429 answer slows the limit down for a while.",
				Examples: []nodes.Example{{Name: "Two per second (Shopify REST)", Value: 2}, {Name: "One every ten seconds", Value: 0.1}},
			},
			{
				Name: "rateBurst", Label: "Rate limit burst", Type: nodes.TypeInteger, Advanced: true,
				Description: "Requests that may go at once after a quiet spell; empty means one second's worth " +
					"(at least one).",
				Examples: []nodes.Example{{Name: "Shopify REST bucket", Value: 40}},
			},
			{
				Name: "responseType", Label: "Response format", Type: nodes.TypeSelect, Default: "auto", Advanced: true,
				Options: []nodes.Option{
					{Value: "auto", Label: "Automatic", Description: "JSON when the response says so and parses, else text."},
					{Value: "json", Label: "JSON", Description: "A response that is not JSON fails the step."},
					{Value: "text", Label: "Text"},
				},
			},
			{
				Name: "successCodes", Label: "Success status codes", Type: nodes.TypeString, Advanced: true,
				Description: "Statuses that count as success, as codes and ranges separated by commas; empty means " +
					"2xx. Useful when, say, 404 means \"not there yet\" and the flow should go on.",
				Examples: []nodes.Example{{Name: "2xx and 404", Value: "2xx, 404"}, {Name: "Range", Value: "200-299"}},
			},
		}, pagingFields...),
		Docs: "Sends one HTTP request and passes on the answer. The credential, if any, is applied by its " +
			"kind: bearer token, basic auth, an API key in a header or the query, or an OAuth2 access token " +
			"(sent as a bearer token; Ferry renews it before it expires).\n\n" +
			"**Output:** `{\"status\": 200, \"headers\": {\"content-type\": \"…\"}, \"body\": …}` with lower-case " +
			"header names (first value of each) and the body parsed as JSON when it is JSON, else text (null " +
			"when empty). Bodies over 10 MiB fail the step.\n\n" +
			"**Failures:** 429 (and 503 with Retry-After) wait as long as the server asks; 408, 425, 5xx, " +
			"timeouts and network errors are retried; other 4xx fail for good. The status, the response body " +
			"and the request (secrets hidden) are kept in the error details.\n\n" +
			"**Endpoint down:** after several failed calls in a row (5 by default: 5xx, timeouts, network " +
			"errors, not 4xx) to the same method and host, calls to it fail at once with code `circuit_open` " +
			"for a pause (30 seconds by default), then one trial call decides whether it is back. Connect the " +
			"error port to send the run to a backup channel straight away; without one the step is retried " +
			"after the pause.\n\n" +
			"**Pages:** with *Pagination* set (Link header, cursor, page number or offset) the node reads one page, or " +
			"every page up to *At most this many records* and *pages*, and outputs `{\"items\": […], \"count\": n, " +
			"\"pages\": n, \"complete\": true|false, \"next\": …}`; `next`, given to *Start at* of a later step, " +
			"continues where it stopped. An API key sent in the query goes with every page, the provider's next URLs " +
			"included.\n\n" +
			"**Test runs** send nothing: the step outputs `{\"dryRun\": true, \"request\": {…}}`.\n\n" +
			"**Example:** POST to `https://crm.example.com/api/deals` with JSON body `{{ prev }}` creates a deal " +
			"from the mapped order; a later step reads `prev.body.id`.",
	}, newHTTP)
}

type keyTemplate struct {
	key  string
	tmpl *expression.Template
}

type statusRange struct{ lo, hi int }

type httpNode struct {
	method            string
	url               *expression.Template
	query             []keyTemplate
	headers           []keyTemplate
	bodyType          string
	body              *expression.Template
	timeout           time.Duration
	responseType      string
	idempotency       bool
	idempotencyHeader string
	success           []statusRange // nil: 2xx
	limit             nodes.Limit   // Rate 0: no limit of its own
	hasCredential     bool
	paging            *connector.Paging // nil: one request, one answer
}

func newHTTP(cfg *nodes.Config) (nodes.Node, error) {
	n := &httpNode{
		method:        cfg.String("method"),
		url:           cfg.Template("url"),
		query:         sortedTemplates(cfg.KeyValue("query")),
		headers:       sortedTemplates(cfg.KeyValue("headers")),
		bodyType:      cfg.String("bodyType"),
		timeout:       cfg.Duration("timeout"),
		responseType:  cfg.String("responseType"),
		idempotency:   cfg.Bool("idempotencyKey"),
		hasCredential: cfg.Credential != "",
	}
	if n.url != nil && n.url.Static() {
		s, _ := n.url.EvalString(nil)
		if _, err := parseRequestURL(s); err != nil {
			cfg.Fail("url", nodes.CodeParamInvalid, err.Error())
		}
	}
	for _, h := range n.headers {
		if !validHeaderName(h.key) {
			cfg.Fail("headers."+h.key, nodes.CodeParamInvalid, fmt.Sprintf("%q is not a valid header name", h.key))
		}
	}
	for _, q := range n.query {
		if q.key == "" {
			cfg.Fail("query", nodes.CodeParamInvalid, "query parameter names must not be empty")
		}
	}
	if n.bodyType != bodyNone {
		n.body = cfg.Template("body")
		if n.body != nil && n.body.Static() && n.bodyType == bodyJSON {
			if s, _ := n.body.EvalString(nil); !json.Valid([]byte(s)) {
				cfg.Fail("body", nodes.CodeParamInvalid, "body is not valid JSON")
			}
		}
	}
	if n.timeout <= 0 || n.timeout > maxHTTPTimeout {
		cfg.Fail("timeout", nodes.CodeParamInvalid, "timeout must be more than 0 and at most 5m")
	}
	if n.idempotency {
		n.idempotencyHeader = strings.TrimSpace(cfg.String("idempotencyHeader"))
		if !validHeaderName(n.idempotencyHeader) {
			cfg.Fail("idempotencyHeader", nodes.CodeParamInvalid, fmt.Sprintf("%q is not a valid header name", n.idempotencyHeader))
		}
	}
	if cfg.Has("rateLimit") {
		n.limit.Rate = cfg.Float("rateLimit")
		if !(n.limit.Rate > 0 && n.limit.Rate <= maxHTTPRate) {
			cfg.Fail("rateLimit", nodes.CodeParamInvalid, fmt.Sprintf("rate limit must be more than 0 and at most %d requests per second", maxHTTPRate))
		}
		n.limit.Burst = max(1, int(math.Ceil(n.limit.Rate)))
	}
	if cfg.Has("rateBurst") {
		burst := cfg.Int("rateBurst")
		switch {
		case !cfg.Has("rateLimit"):
			cfg.Fail("rateBurst", nodes.CodeParamInvalid, "a burst needs a rate limit")
		case burst < 1 || burst > maxHTTPRate:
			cfg.Fail("rateBurst", nodes.CodeParamInvalid, fmt.Sprintf("burst must be between 1 and %d", maxHTTPRate))
		default:
			n.limit.Burst = burst
		}
	}
	if style := cfg.String("pagination"); style != pagingNone && style != "" {
		n.paging = connector.NewPaging(cfg, connector.Pagination{
			Style: connector.PageStyle(style), Items: strings.TrimSpace(cfg.String("itemsPath")),
			Next: strings.TrimSpace(cfg.String("nextPath")), CursorIn: connector.InQuery, CursorKey: strings.TrimSpace(cfg.String("cursorParam")),
			PageKey: strings.TrimSpace(cfg.String("pageParam")), OffsetKey: strings.TrimSpace(cfg.String("offsetParam")),
			SizeKey: strings.TrimSpace(cfg.String("sizeParam")), Size: 100, MaxSize: maxHTTPPageSize,
			TotalPages: strings.TrimSpace(cfg.String("totalPagesHeader")),
		}, "http")
	}
	if s := strings.TrimSpace(cfg.String("successCodes")); s != "" {
		ranges, err := parseStatusRanges(s)
		if err != nil {
			cfg.Fail("successCodes", nodes.CodeParamInvalid, err.Error())
		}
		n.success = ranges
	}
	return n, cfg.Err()
}

func sortedTemplates(m map[string]*expression.Template) []keyTemplate {
	out := make([]keyTemplate, 0, len(m))
	for k, t := range m {
		out = append(out, keyTemplate{key: strings.TrimSpace(k), tmpl: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func parseRequestURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q must start with http:// or https://", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", s)
	}
	return u, nil
}

// parseStatusRanges reads "2xx, 404, 300-304".
func parseStatusRanges(s string) ([]statusRange, error) {
	var out []statusRange
	for _, part := range strings.Split(s, ",") {
		p := strings.ToLower(strings.TrimSpace(part))
		var r statusRange
		var err1, err2 error
		switch {
		case len(p) == 3 && p[1:] == "xx" && p[0] >= '1' && p[0] <= '5':
			r.lo = int(p[0]-'0') * 100
			r.hi = r.lo + 99
		case strings.Contains(p, "-"):
			lo, hi, _ := strings.Cut(p, "-")
			r.lo, err1 = strconv.Atoi(strings.TrimSpace(lo))
			r.hi, err2 = strconv.Atoi(strings.TrimSpace(hi))
		default:
			r.lo, err1 = strconv.Atoi(p)
			r.hi = r.lo
		}
		if err1 != nil || err2 != nil || r.lo < 100 || r.hi > 599 || r.lo > r.hi {
			return nil, fmt.Errorf("%q is not a status code, a range like 200-299 or a class like 2xx", strings.TrimSpace(part))
		}
		out = append(out, r)
	}
	return out, nil
}

func (n *httpNode) succeeded(status int) bool {
	if n.success == nil {
		return status >= 200 && status <= 299
	}
	for _, r := range n.success {
		if status >= r.lo && status <= r.hi {
			return true
		}
	}
	return false
}

// httpRequest is a request rendered for one step: what Execute sends and what DryRun shows. redactHeaders and
// redactQuery name what carries a credential and must never be shown.
type httpRequest struct {
	method        string
	url           *url.URL
	header        http.Header
	body          []byte
	bodyView      any
	redactHeaders map[string]bool // canonical header names
	redactQuery   map[string]bool
	// keyHeader is the custom header an API key credential went into; it must not follow a redirect to another
	// host, which net/http only guarantees for Authorization and cookies.
	keyHeader string
}

func requestInvalid(err error) error { return nodes.NewPermanent(CodeHTTPRequestInvalid, err) }

// render evaluates every template and applies the credential.
func (n *httpNode) render(ctx context.Context, x *nodes.Exec) (*httpRequest, error) {
	env := envOf(x)
	raw, err := n.url.EvalString(env)
	if err != nil {
		return nil, nodes.EvalFailed("http", "url", err)
	}
	u, err := parseRequestURL(raw)
	if err != nil {
		return nil, requestInvalid(fmt.Errorf("http: %w", err))
	}
	r := &httpRequest{method: n.method, url: u, header: make(http.Header, len(n.headers)+3),
		redactHeaders: map[string]bool{"Authorization": true, "Proxy-Authorization": true}}
	var query url.Values
	if len(n.query) > 0 {
		query = u.Query()
		for _, q := range n.query {
			v, err := q.tmpl.EvalString(env)
			if err != nil {
				return nil, nodes.EvalFailed("http", "query."+q.key, err)
			}
			query.Set(q.key, v)
		}
	}
	for _, h := range n.headers {
		v, err := h.tmpl.EvalString(env)
		if err != nil {
			return nil, nodes.EvalFailed("http", "headers."+h.key, err)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, requestInvalid(fmt.Errorf("http: header %s: value contains a line break", h.key))
		}
		r.header.Set(h.key, v)
	}
	if err := n.renderBody(r, env); err != nil {
		return nil, err
	}
	if n.idempotency && x.IdempotencyKey != "" {
		r.header.Set(n.idempotencyHeader, x.IdempotencyKey)
	}
	if x.Credential != nil {
		cred, err := x.Credential(ctx)
		switch {
		case errors.Is(err, nodes.ErrNoCredential):
		case err != nil:
			var typed *nodes.Error
			if errors.As(err, &typed) {
				// The engine already said how to treat it.
				return nil, fmt.Errorf("http: load credential: %w", err)
			}
			return nil, nodes.NewRetryable(CodeHTTPCredentialUnavailable, fmt.Errorf("http: load credential: %w", err))
		default:
			// The URL is the editor's to choose; where the credential may go is the admin's. Refuse before the
			// secret is even put into the request.
			if err := egress.CheckDestination(ctx, x.Client(), u); err != nil {
				return nil, fmt.Errorf("http: %w", err)
			}
			if query == nil && strings.EqualFold(cred["in"], "query") {
				query = u.Query()
			}
			if err := applyCredential(r, query, cred); err != nil {
				return nil, err
			}
		}
	}
	if query != nil {
		u.RawQuery = query.Encode()
	}
	return r, nil
}

func (n *httpNode) renderBody(r *httpRequest, env map[string]any) error {
	if n.body == nil {
		return nil
	}
	v, err := n.body.Eval(env)
	if err != nil {
		return nodes.EvalFailed("http", "body", err)
	}
	contentType := ""
	switch n.bodyType {
	case bodyJSON:
		contentType = "application/json"
		s, isText := v.(string)
		switch {
		case isText && json.Valid([]byte(s)):
			r.body = []byte(s)
		case isText && n.body.Static(), isText && !singleExpression(n.body):
			return requestInvalid(errors.New("http: body is not valid JSON once rendered; use a single {{ expression }} to send a value"))
		default:
			if r.body, err = json.Marshal(v); err != nil {
				return requestInvalid(fmt.Errorf("http: encode JSON body: %w", err))
			}
		}
		r.bodyView, _ = nodes.DecodeJSON(r.body)
	case bodyForm:
		contentType = "application/x-www-form-urlencoded"
		switch b := v.(type) {
		case map[string]any:
			r.body = []byte(formValues(b).Encode())
		case string:
			r.body = []byte(b)
		case nil:
		default:
			return requestInvalid(fmt.Errorf("http: form body must be an object or text, not %s", describe(v)))
		}
		r.bodyView = string(r.body)
	case bodyRaw:
		contentType = "text/plain; charset=utf-8"
		r.body = []byte(expression.Stringify(v))
		r.bodyView = string(r.body)
	}
	if r.header.Get("Content-Type") == "" {
		r.header.Set("Content-Type", contentType)
	}
	return nil
}

// singleExpression reports whether a template is one {{ expression }} and nothing else, so its value keeps its
// type: the difference between sending "Ada" as a JSON string and refusing Ada as invalid JSON text.
func singleExpression(t *expression.Template) bool {
	src := t.Source()
	return strings.HasPrefix(src, "{{") && strings.HasSuffix(src, "}}") && strings.Count(src, "{{") == 1
}

func formValues(m map[string]any) url.Values {
	out := make(url.Values, len(m))
	for k, v := range m {
		if list, ok := v.([]any); ok {
			for _, item := range list {
				out.Add(k, expression.Stringify(item))
			}
			continue
		}
		out.Set(k, expression.Stringify(v))
	}
	return out
}

// applyCredential recognises the credential by its fields and puts it where its kind goes.
func applyCredential(r *httpRequest, query url.Values, cred map[string]string) error {
	switch {
	case cred[nodes.CredentialAccessToken] != "":
		r.header.Set("Authorization", tokenScheme(cred[nodes.CredentialTokenType])+" "+cred[nodes.CredentialAccessToken])
	case cred["token"] != "":
		r.header.Set("Authorization", "Bearer "+cred["token"])
	case cred["username"] != "":
		r.header.Set("Authorization", "Basic "+basicAuth(cred["username"], cred["password"]))
	case cred["name"] != "" && cred["value"] != "":
		switch strings.ToLower(cred["in"]) {
		case "query":
			query.Set(cred["name"], cred["value"])
			r.redactQuery = map[string]bool{cred["name"]: true}
		case "", "header":
			if !validHeaderName(cred["name"]) {
				return nodes.NewPermanent(CodeHTTPCredentialInvalid, fmt.Errorf("http: credential header name %q is not valid", cred["name"]))
			}
			r.keyHeader = http.CanonicalHeaderKey(cred["name"])
			r.header.Set(r.keyHeader, cred["value"])
			r.redactHeaders[r.keyHeader] = true
		default:
			return nodes.NewPermanent(CodeHTTPCredentialInvalid, fmt.Errorf("http: credential puts the key in %q; use header or query", cred["in"]))
		}
	default:
		return nodes.NewPermanent(CodeHTTPCredentialInvalid,
			errors.New("http: the credential has neither a token, an OAuth2 access token, a username, nor an API key name and value"))
	}
	return nil
}

// tokenScheme is the Authorization scheme for an OAuth2 token type, spelled as RFC 6750 and most servers expect
// ("bearer" from a token response becomes "Bearer").
func tokenScheme(tokenType string) string {
	switch strings.ToLower(tokenType) {
	case "", "bearer":
		return "Bearer"
	case "mac":
		return "MAC"
	case "basic":
		return "Basic"
	}
	return tokenType
}

func basicAuth(user, pass string) string {
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// shownURL is the URL with query values that carry a credential replaced.
func (r *httpRequest) shownURL() string {
	if len(r.redactQuery) == 0 {
		return r.url.String()
	}
	u := *r.url
	q := u.Query()
	for name := range r.redactQuery {
		if q.Has(name) {
			q.Set(name, redactedValue)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (r *httpRequest) shownHeaders() map[string]any {
	out := make(map[string]any, len(r.header))
	for name, values := range r.header {
		if len(values) == 0 {
			continue
		}
		if r.redactHeaders[name] {
			out[name] = redactedValue
			continue
		}
		out[name] = values[0]
	}
	return out
}

func (r *httpRequest) summary() map[string]any {
	return map[string]any{"method": r.method, "url": r.shownURL(), "headers": r.shownHeaders()}
}

// sent is the request as failure details record it: the summary plus the body, so a failed step shows exactly
// what reached the provider. A body larger than detailJSONBytes is kept as cut text. Credentials travel only in
// headers and the query, both redacted by summary.
func (r *httpRequest) sent() map[string]any {
	out := r.summary()
	switch {
	case r.body == nil:
	case len(r.body) <= detailJSONBytes:
		out["body"] = r.bodyView
	default:
		out["body"] = truncateUTF8(string(r.body), detailBodyBytes)
		out["bodyTruncated"] = true
	}
	return out
}

// RateLimit gives the engine the node's own limit. With a credential the engine keys it by the credential, the
// unit providers count quotas in; without one, calls to the same host share it.
func (n *httpNode) RateLimit(x *nodes.Exec) (nodes.Limit, string, bool) {
	if !n.limit.Enabled() {
		return nodes.Limit{}, "", false
	}
	if n.hasCredential {
		return n.limit, "", true
	}
	raw, err := n.url.EvalString(envOf(x))
	if err != nil {
		return n.limit, "", true // the step fails on the same error when it renders the URL
	}
	u, err := parseRequestURL(raw)
	if err != nil {
		return n.limit, "", true
	}
	return n.limit, "host:" + strings.ToLower(u.Host), true
}

// DryRun renders the request exactly as Execute would send it, credentials hidden, and sends nothing.
func (n *httpNode) DryRun(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, err := n.render(ctx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	// A test run shows the refusal the live run would meet (an internal address), not a request that would fail.
	if err := egress.Check(ctx, x.Client(), r.url); err != nil {
		return nodes.Result{}, nodes.WithDetails(fmt.Errorf("http: %w", err), map[string]any{"request": r.summary()})
	}
	req := r.summary()
	req["body"] = r.bodyView
	return nodes.Result{Output: map[string]any{"dryRun": true, "request": req}}, nil
}

// Execute sends the request and classifies the answer: success goes on, rate limits and transient failures are
// retried, everything else fails for good, each with the provider's answer in the error details. A call to an
// endpoint whose circuit is open is not sent.
func (n *httpNode) Execute(runCtx context.Context, x *nodes.Exec) (nodes.Result, error) {
	if res, ok := n.paging.Resumed(x); ok {
		return res, nil
	}
	r, err := n.render(runCtx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	if n.paging != nil {
		out, err := n.paging.Run(runCtx, envOf(x), func(ctx context.Context, pos connector.Position, size int) (*connector.Answer, map[string]any, error) {
			page := r.at(n.paging.Query(r.url, pos, size))
			a, err := n.exchange(ctx, x, page)
			if err != nil {
				return nil, nil, err
			}
			return &connector.Answer{Status: a.status, Header: a.header, Body: a.raw, JSON: a.parsed}, page.summary(), nil
		})
		return n.paging.Result(x, out, err)
	}
	a, err := n.exchange(runCtx, x, r)
	if err != nil {
		return nodes.Result{}, err
	}
	return nodes.Result{Output: map[string]any{
		"status":  int64(a.status),
		"headers": responseHeaders(a.header),
		"body":    a.parsed,
	}}, nil
}

// httpAnswer is a successful answer: its status, headers, raw body and the body as the node parsed it.
type httpAnswer struct {
	status int
	header http.Header
	raw    []byte
	parsed any
}

// at is the request sent to another URL (the next page): a URL the provider gave keeps the query parameters
// that carry the credential, which the provider's URL does not hold.
func (r *httpRequest) at(u *url.URL) *httpRequest {
	c := *r
	if len(r.redactQuery) > 0 {
		q := u.Query()
		for name := range r.redactQuery {
			if v := r.url.Query().Get(name); v != "" && q.Get(name) == "" {
				q.Set(name, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	c.url = u
	c.header = r.header.Clone()
	return &c
}

// exchange sends one request and classifies the answer: success is returned, rate limits and transient failures
// are retryable, everything else fails for good, each with the provider's answer in the error details. A call
// to an endpoint whose circuit is open is not sent.
func (n *httpNode) exchange(runCtx context.Context, x *nodes.Exec, r *httpRequest) (*httpAnswer, error) {
	endpoint := nodes.Endpoint(r.method, r.url)
	done, err := x.Breakers.Allow(endpoint)
	if err != nil {
		return nil, nodes.WithDetails(err, map[string]any{"endpoint": endpoint, "request": r.sent()})
	}
	// The endpoint's health is judged on whether it answered: a 4xx is an answer, a 5xx or silence is not.
	// A call cut short because the run is stopping says nothing about the endpoint.
	failed := func() {
		if runCtx.Err() != nil {
			done(nodes.CallAbandoned)
		} else {
			done(nodes.CallFailed)
		}
	}
	ctx, cancel := context.WithTimeout(runCtx, n.timeout)
	defer cancel()
	var body io.Reader = http.NoBody
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		done(nodes.CallAbandoned)
		return nil, requestInvalid(fmt.Errorf("http: build request: %w", unwrapURLError(err)))
	}
	req.Header = r.header.Clone()
	client := x.Client()
	if r.keyHeader != "" {
		client = withoutKeyOnRedirect(client, r.keyHeader)
	}
	resp, err := client.Do(req)
	if err != nil {
		if egress.Refused(err) != nil {
			done(nodes.CallAbandoned) // a refusal says nothing about the endpoint's health
		} else {
			failed()
		}
		return nil, n.transportFailure(ctx, r, "send request", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxHTTPResponseBytes+1))
	if err != nil {
		failed()
		return nil, n.transportFailure(ctx, r, "read response", err)
	}
	if resp.StatusCode >= 500 {
		failed()
	} else {
		done(nodes.CallHealthy)
	}
	details := map[string]any{"status": resp.StatusCode, "request": r.sent()}
	if len(raw) > MaxHTTPResponseBytes {
		details["body"] = truncateUTF8(string(raw), detailBodyBytes)
		details["bodyTruncated"] = true
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeHTTPResponseTooLarge,
			fmt.Errorf("http: %s %s: response body is larger than %d bytes", r.method, r.shownURL(), MaxHTTPResponseBytes)), details)
	}
	parsed, parseErr := n.parseBody(resp.Header.Get("Content-Type"), raw)
	if !n.succeeded(resp.StatusCode) {
		return nil, n.statusFailure(resp, r, raw, parsed, parseErr, details)
	}
	if parseErr != nil {
		details["body"] = truncateUTF8(string(raw), detailBodyBytes)
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeHTTPResponseInvalid,
			fmt.Errorf("http: %s %s: response is not JSON: %w", r.method, r.shownURL(), parseErr)), details)
	}
	return &httpAnswer{status: resp.StatusCode, header: resp.Header, raw: raw, parsed: parsed}, nil
}

// maxRedirects is net/http's own limit, kept when the redirect policy is replaced.
const maxRedirects = 10

// withoutKeyOnRedirect returns a copy of client (sharing its transport) that drops the API key header when a
// redirect leads to another host.
func withoutKeyOnRedirect(client *http.Client, header string) *http.Client {
	c := *client
	policy := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != via[0].URL.Host {
			req.Header.Del(header)
		}
		if policy != nil {
			return policy(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &c
}

func (n *httpNode) parseBody(contentType string, raw []byte) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	switch n.responseType {
	case "text":
		return string(raw), nil
	case "json":
		return nodes.DecodeJSON(raw)
	}
	if mt := mediaType(contentType); mt == "application/json" || strings.HasSuffix(mt, "+json") {
		if v, err := nodes.DecodeJSON(raw); err == nil {
			return v, nil
		}
	}
	return string(raw), nil
}

func responseHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for name, values := range h {
		if len(values) > 0 {
			out[strings.ToLower(name)] = values[0]
		}
	}
	return out
}

// transportFailure classifies an exchange that produced no complete response. The error text is rebuilt without
// the URL net/http puts in it, which may carry an API key in its query.
func (n *httpNode) transportFailure(ctx context.Context, r *httpRequest, op string, err error) error {
	cause := unwrapURLError(err)
	details := map[string]any{"request": r.sent()}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return nodes.WithDetails(nodes.NewRetryable(CodeHTTPTimeout,
			fmt.Errorf("http: %s %s: no answer within %s: %w", r.method, r.shownURL(), n.timeout, cause)), details)
	}
	return nodes.WithDetails(nodes.NewRetryable(CodeHTTPNetwork,
		fmt.Errorf("http: %s %s: %s: %w", r.method, r.shownURL(), op, cause)), details)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// statusFailure classifies a response whose status is not a success.
func (n *httpNode) statusFailure(resp *http.Response, r *httpRequest, raw []byte, parsed any, parseErr error, details map[string]any) error {
	// A JSON error body of reasonable size is kept parsed, so the run view shows the provider's fields;
	// anything else is kept as (possibly cut) text.
	if _, isText := parsed.(string); parseErr == nil && parsed != nil && !isText && len(raw) <= detailJSONBytes {
		details["body"] = parsed
	} else if len(raw) > 0 {
		details["body"] = truncateUTF8(string(raw), detailBodyBytes)
		if len(raw) > detailBodyBytes {
			details["bodyTruncated"] = true
		}
	}
	details["headers"] = responseHeaders(resp.Header)
	code := resp.StatusCode
	err := fmt.Errorf("http: %s %s: status %d %s", r.method, r.shownURL(), code, http.StatusText(code))
	after, hasAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
	var out error
	switch {
	case code == http.StatusTooManyRequests && hasAfter:
		// A Retry-After in the past still says "retry after", now.
		out = &nodes.Error{Kind: nodes.RetryAfter, Code: CodeHTTPRateLimited, Err: err, After: after, RateLimited: true}
	case code == http.StatusTooManyRequests:
		out = nodes.NewRateLimited(CodeHTTPRateLimited, err, 0)
	case code == http.StatusServiceUnavailable && hasAfter:
		out = nodes.NewRetryAfter(CodeHTTPUnavailable, err, after)
	case code == http.StatusRequestTimeout:
		out = nodes.NewRetryable(CodeHTTPTimeout, err)
	case code == http.StatusTooEarly:
		out = nodes.NewRetryable(CodeHTTPTooEarly, err)
	case code >= 500:
		out = nodes.NewRetryable(CodeHTTPServerError, err)
	case code >= 400:
		out = nodes.NewPermanent(CodeHTTPClientError, err)
	default:
		out = nodes.NewPermanent(CodeHTTPUnexpectedStatus, err)
	}
	return nodes.WithDetails(out, details)
}

// parseRetryAfter reads delay-seconds (capped at a day) or an HTTP date; a date in the past means retry now.
func parseRetryAfter(h string) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now()), 0), true
}

var (
	_ nodes.Node        = (*httpNode)(nil)
	_ nodes.DryRunner   = (*httpNode)(nil)
	_ nodes.RateLimited = (*httpNode)(nil)
)
