package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// acme is a provider made up for these tests: its API lives under /api/v2 of the credential's base URL and
// takes an X-Acme-Key header.
var acme = &connector.Provider{
	Name: "acme", Title: "Acme", Credentials: []string{"test.acme.key"},
	BaseURL: func(fields map[string]string) (*url.URL, error) {
		u, err := url.Parse(fields["base"])
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("the credential's base URL %q is not a URL", fields["base"])
		}
		return u.JoinPath("/api/v2"), nil
	},
	Authorize:    connector.Header("X-Acme-Key", "key"),
	Headers:      map[string]string{"Accept": "application/json", "Acme-Version": "2026-10"},
	ErrorMessage: "/error/message", ErrorCode: "/error/code",
	Check: func(a *connector.Answer) error {
		if a.Status == 200 && a.Get("/errors/0/message") != nil {
			return nodes.NewPermanent("acme_graphql_error", fmt.Errorf("acme: %v", a.Get("/errors/0/message")))
		}
		return nil
	},
	// Acme says in each answer how many seconds its bucket needs before another call.
	Quota: func(a *connector.Answer) (time.Duration, bool) {
		switch secs := a.Get("/extensions/wait").(type) {
		case int64:
			return time.Duration(secs) * time.Second, true
		case float64:
			return time.Duration(secs * float64(time.Second)), true
		}
		return 0, false
	},
}

func str(name string, in connector.In) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: name, Type: nodes.TypeString, Expression: true}, In: in}
}

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{ID: "test.acme.key", Name: "Acme key",
		Fields: []nodes.Field{{Name: "base", Type: nodes.TypeString}, {Name: "key", Type: nodes.TypeString, Secret: true}}})
	id := str("id", connector.InPath)
	id.Required = true
	acme.MustRegister(
		connector.Operation{Type: "test.acme.order.get", Name: "Get order", Category: nodes.CategoryShops,
			Method: http.MethodGet, Path: "/orders/{id}", Result: "/order",
			Params: []connector.Param{id,
				{Field: nodes.Field{Name: "expand", Label: "Expand", Type: nodes.TypeString, Expression: true}, In: connector.InQuery, As: connector.AsList},
				{Field: nodes.Field{Name: "trace", Label: "Trace", Type: nodes.TypeString, Expression: true}, In: connector.InHeader, Key: "X-Trace"},
			}},
		connector.Operation{Type: "test.acme.order.update", Name: "Update order", Category: nodes.CategoryShops,
			Method: http.MethodPut, Path: "/orders/{id}", SideEffect: true, IdempotencyHeader: "Idempotency-Key",
			Params: []connector.Param{id,
				{Field: nodes.Field{Name: "status", Label: "Status", Type: nodes.TypeSelect, Expression: true,
					Options: []nodes.Option{{Value: "paid", Label: "Paid"}, {Value: "shipped", Label: "Shipped"}}}, In: connector.InBody},
				{Field: nodes.Field{Name: "note", Label: "Note", Type: nodes.TypeString, Expression: true}, In: connector.InBody, Key: "/meta/note"},
				{Field: nodes.Field{Name: "total", Label: "Total", Type: nodes.TypeNumber, Expression: true}, In: connector.InBody},
				{Field: nodes.Field{Name: "items", Label: "Items", Type: nodes.TypeInteger, Expression: true}, In: connector.InBody, Key: "/counts/items"},
				{Field: nodes.Field{Name: "paid", Label: "Paid", Type: nodes.TypeBoolean, Expression: true}, In: connector.InBody},
				{Field: nodes.Field{Name: "tags", Label: "Tags", Type: nodes.TypeString, Expression: true}, In: connector.InBody, As: connector.AsList},
				{Field: nodes.Field{Name: "extra", Label: "Extra", Type: nodes.TypeJSON, Expression: true}, In: connector.InBody, Key: "/extra"},
			}},
		connector.Operation{Type: "test.acme.note.create", Name: "Add note", Category: nodes.CategoryShops,
			Method: http.MethodPost, Path: "/orders/{id}/notes", SideEffect: true,
			Params: []connector.Param{id, str("text", connector.InForm)}},
		connector.Operation{Type: "test.acme.order.list", Name: "List orders", Category: nodes.CategoryShops,
			Method: http.MethodGet, Path: "/orders", Params: []connector.Param{str("status", connector.InQuery)},
			Pagination: &connector.Pagination{Style: connector.PageCursor, Items: "/orders", Next: "/next_cursor",
				CursorIn: connector.InQuery, CursorKey: "after", SizeKey: "limit", Size: 50, MaxSize: 100}},
		connector.Operation{Type: "test.acme.product.list", Name: "List products", Category: nodes.CategoryShops,
			Method: http.MethodGet, Path: "/products",
			Pagination: &connector.Pagination{Style: connector.PageNumber, Items: "", PageKey: "page", SizeKey: "per_page",
				Size: 20, MaxSize: 100, TotalPages: "X-Total-Pages"}},
		connector.Operation{Type: "test.acme.customer.list", Name: "List customers", Category: nodes.CategoryShops,
			Method: http.MethodGet, Path: "/customers",
			Pagination: &connector.Pagination{Style: connector.PageOffset, Items: "/data", OffsetKey: "offset", SizeKey: "limit", Size: 25, MaxSize: 100}},
		connector.Operation{Type: "test.acme.record.query", Name: "Query records", Category: nodes.CategoryShops,
			Method: http.MethodGet, Path: "/query", Params: []connector.Param{str("q", connector.InQuery)},
			Pagination: &connector.Pagination{Style: connector.PageNextURL, Items: "/records", Next: "/nextRecordsUrl", Size: 2000}},
		connector.Operation{Type: "test.acme.event.list", Name: "List events", Category: nodes.CategoryShops,
			Method: http.MethodGet, Path: "/events",
			Pagination: &connector.Pagination{Style: connector.PageLink, Items: "/events", Size: 10}},
		connector.Operation{Type: "test.acme.graph.orders", Name: "Orders (GraphQL)", Category: nodes.CategoryShops,
			Method: http.MethodPost, Path: "/graphql", GraphQL: "query($first: Int!, $after: String, $q: String) { orders(first: $first, after: $after, query: $q) { nodes { id } pageInfo { hasNextPage endCursor } } }",
			Params: []connector.Param{{Field: nodes.Field{Name: "q", Label: "Query", Type: nodes.TypeString, Expression: true}, In: connector.InVariable}},
			Pagination: &connector.Pagination{Style: connector.PageGraphQL, Items: "/data/orders/nodes",
				HasNext: "/data/orders/pageInfo/hasNextPage", EndCursor: "/data/orders/pageInfo/endCursor", CursorKey: "after", SizeKey: "first", Size: 50, MaxSize: 250}},
		connector.Operation{Type: "test.acme.graph.order", Name: "Order (GraphQL)", Category: nodes.CategoryShops,
			Method: http.MethodPost, Path: "/graphql", GraphQL: "query($id: ID!) { order(id: $id) { id } }", Result: "/data/order", RequireResult: true,
			Params: []connector.Param{{Field: nodes.Field{Name: "id", Label: "Order", Type: nodes.TypeString, Expression: true, Required: true},
				In: connector.InVariable, Transform: func(v any) (any, error) {
					s := v.(string)
					if strings.HasPrefix(s, "gid://") {
						return s, nil
					}
					if _, err := strconv.Atoi(s); err != nil {
						return nil, fmt.Errorf("%q is neither a number nor a global id", s)
					}
					return "gid://acme/Order/" + s, nil
				}}}},
		connector.Operation{Type: "test.acme.graph.ship", Name: "Ship (GraphQL)", Category: nodes.CategoryShops, SideEffect: true,
			Method: http.MethodPost, Path: "/graphql", GraphQL: "mutation($order: ID!, $parts: [ID!]!) { ship(order: $order, parts: $parts) { ok } }",
			Result: "/data/ship",
			Params: []connector.Param{{Field: nodes.Field{Name: "order", Label: "Order", Type: nodes.TypeString, Expression: true, Required: true}, In: connector.InVariable}},
			Prepare: func(ctx context.Context, lookup connector.Lookup, vars map[string]any) (map[string]any, error) {
				a, err := lookup(ctx, "query($id: ID!) { order(id: $id) { parts } }", map[string]any{"id": vars["order"]})
				if err != nil {
					return nil, err
				}
				parts, _ := a.Get("/data/order/parts").([]any)
				if len(parts) == 0 {
					return nil, fmt.Errorf("order %v has nothing left to ship", vars["order"])
				}
				vars["parts"] = parts
				return vars, nil
			}},
		connector.Operation{Type: "test.acme.contact.upsert", Name: "Upsert contact", Category: nodes.CategoryCRM,
			Method: http.MethodPost, Path: "/contacts", SideEffect: true, IdempotencyHeader: "Idempotency-Key",
			Params: []connector.Param{str("email", connector.InBody), str("name", connector.InBody)},
			Route: func(ctx context.Context, get connector.Get, body map[string]any) (string, string, error) {
				a, err := get(ctx, "/contacts", url.Values{"email": {fmt.Sprint(body["email"])}})
				if err != nil {
					return "", "", err
				}
				if id := a.Get("/0/id"); id != nil {
					return http.MethodPut, fmt.Sprintf("/contacts/%v", id), nil
				}
				return http.MethodPost, "/contacts", nil
			}},
		connector.Operation{Type: "test.acme.payment.create", Name: "Create payment", Category: nodes.CategoryPayments,
			Method: http.MethodPost, Path: "/payments", SideEffect: true, Unrepeatable: true, Timeout: 300 * time.Millisecond,
			Params: []connector.Param{str("ref", connector.InBody), str("amount", connector.InBody)},
			Route: func(ctx context.Context, get connector.Get, body map[string]any) (string, string, error) {
				if _, err := get(ctx, "/payments", url.Values{"ref": {fmt.Sprint(body["ref"])}}); err != nil {
					return "", "", err
				}
				return http.MethodPost, "/payments", nil
			}},
		connector.Operation{Type: "test.acme.deal.move", Name: "Move deal", Category: nodes.CategoryCRM,
			Method: http.MethodPost, Path: "/deals/{id}/move", SideEffect: true,
			Params: []connector.Param{id,
				{Field: nodes.Field{Name: "stage", Label: "Stage", Type: nodes.TypeSelect, Expression: true, Required: true}, In: connector.InBody,
					Options: &connector.OptionSource{Path: "/stages", Items: "/stages", Value: "/id", Label: "/label"}},
			}},
	)
}

// call is one request the stand-in provider received.
type call struct {
	method, path, query string
	header              http.Header
	body                string
}

// acmeServer is the stand-in Acme API: it refuses calls without the key, and records every call.
type acmeServer struct {
	*httptest.Server
	mu      sync.Mutex
	calls   []call
	handler func(w http.ResponseWriter, r *http.Request)
}

func newAcme(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *acmeServer {
	s := &acmeServer{handler: handler}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, call{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: string(b)})
		s.mu.Unlock()
		if r.Header.Get("X-Acme-Key") != "k1" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"no_key","message":"the key is missing or wrong"}}`)
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/api/v2/") {
			http.NotFound(w, r)
			return
		}
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/api/v2")
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		w.Header().Set("Content-Type", "application/json")
		s.handler(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *acmeServer) recorded() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]call(nil), s.calls...)
}

// build constructs a node of type typ from params, failing the test on problems.
func build(t *testing.T, typ string, params map[string]any) nodes.Node {
	t.Helper()
	n, err := tryBuild(typ, params)
	if err != nil {
		t.Fatalf("build %s: %v", typ, err)
	}
	return n
}

func tryBuild(typ string, params map[string]any) (nodes.Node, error) {
	reg, ok := nodes.Lookup(typ, 0)
	if !ok {
		return nil, fmt.Errorf("no node type %s", typ)
	}
	raw := map[string]json.RawMessage{}
	for k, v := range params {
		b, _ := json.Marshal(v)
		raw[k] = b
	}
	return reg.New(nodes.NewConfig(&reg.Spec, "n1", raw, "cred-1"))
}

// exec is a step of a live run whose credential may go to dest only.
func exec(s *acmeServer, input any, dest string) *nodes.Exec {
	fields := map[string]string{"base": s.URL, "key": "k1"}
	ds := egress.MustDestinations(dest)
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Acme", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

func typed(t *testing.T, err error) *nodes.Error {
	t.Helper()
	if err == nil {
		t.Fatal("want a failure, got none")
	}
	return nodes.Classify(err)
}

func TestSpecDrivesTheCatalog(t *testing.T) {
	reg, _ := nodes.Lookup("test.acme.order.list", 0)
	for _, name := range []string{"status", "pages", "maxItems", "maxPages", "pageSize", "start"} {
		if reg.Spec.Field(name) == nil {
			t.Errorf("the list node has no %s parameter", name)
		}
	}
	if !reg.Spec.CredentialRequired || reg.Spec.Credentials[0] != "test.acme.key" || reg.Spec.SideEffect {
		t.Errorf("spec %+v", reg.Spec)
	}
	if !strings.Contains(reg.Spec.Docs, "`GET /orders`") || !strings.Contains(reg.Spec.Docs, "acme_rate_limited") {
		t.Errorf("docs: %s", reg.Spec.Docs)
	}
	move, _ := nodes.Lookup("test.acme.deal.move", 0)
	if f := move.Spec.Field("stage"); f == nil || !f.LoadOptions {
		t.Errorf("stage should load its options: %+v", f)
	}
	if upd, _ := nodes.Lookup("test.acme.order.update", 0); !upd.Spec.SideEffect {
		t.Errorf("update is a side effect")
	}
}

// readNothing and readNone are conflict reads that find no record.
func readNothing(context.Context, connector.Call, connector.Write) (*connector.Record, error) {
	return nil, nil
}

func readNone(context.Context, connector.Call, connector.Write) ([]*connector.Record, error) {
	return nil, nil
}

func TestBadOperationsStopTheProcess(t *testing.T) {
	for name, op := range map[string]connector.Operation{
		"path without parameter": {Type: "test.acme.bad.one", Name: "x", Path: "/orders/{id}"},
		"parameter not in path":  {Type: "test.acme.bad.two", Name: "x", Path: "/orders", Params: []connector.Param{str("id", connector.InPath)}},
		"body on a GET":          {Type: "test.acme.bad.three", Name: "x", Path: "/orders", Params: []connector.Param{str("a", connector.InBody)}},
		"variable without doc":   {Type: "test.acme.bad.four", Name: "x", Method: "POST", Path: "/g", Params: []connector.Param{str("a", connector.InVariable)}},
		"routed GraphQL": {Type: "test.acme.bad.six", Name: "x", Method: "POST", Path: "/g", GraphQL: "{ a }",
			Route: func(context.Context, connector.Get, map[string]any) (string, string, error) { return "", "", nil }},
		"unrepeatable read":                {Type: "test.acme.bad.seven", Name: "x", Path: "/o", Unrepeatable: true},
		"unrepeatable without side effect": {Type: "test.acme.bad.eight", Name: "x", Method: "POST", Path: "/o", Unrepeatable: true},
		"unrepeatable with an idempotency key": {Type: "test.acme.bad.nine", Name: "x", Method: "POST", Path: "/o", SideEffect: true,
			Unrepeatable: true, IdempotencyHeader: "Idempotency-Key"},
		"cursor without next": {Type: "test.acme.bad.five", Name: "x", Path: "/o", Pagination: &connector.Pagination{Style: connector.PageCursor, CursorKey: "a", CursorIn: connector.InQuery}},
		"a more flag on cursor pages": {Type: "test.acme.bad.ten", Name: "x", Path: "/o", Pagination: &connector.Pagination{Style: connector.PageCursor,
			Next: "/next", CursorKey: "a", CursorIn: connector.InQuery, More: "/more"}},
		"pages placed in a query": {Type: "test.acme.bad.eleven", Name: "x", Path: "/o", Pagination: &connector.Pagination{Style: connector.PageOffset,
			Place: func(b map[string]any, _ connector.Position, _ int) (map[string]any, error) { return b, nil }}},
		"a batch conflict without ReadMany": {Type: "test.acme.bad.twelve", Name: "x", Method: "POST", Path: "/b", SideEffect: true,
			Params:   []connector.Param{str("a", connector.InBody)},
			Conflict: &connector.Conflict{Object: "row", Records: "/rows", Results: "/rows", Read: readNothing}},
		"a batch conflict without Results": {Type: "test.acme.bad.thirteen", Name: "x", Method: "POST", Path: "/b", SideEffect: true,
			Params: []connector.Param{str("a", connector.InBody)}, Conflict: &connector.Conflict{Object: "row", Records: "/rows", ReadMany: readNone}},
		"a single conflict with ReadMany": {Type: "test.acme.bad.fourteen", Name: "x", Method: "POST", Path: "/b", SideEffect: true,
			Params: []connector.Param{str("a", connector.InBody)}, Conflict: &connector.Conflict{Object: "row", Read: readNothing, ReadMany: readNone}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: registered", name)
				}
			}()
			acme.MustRegister(op)
		}()
	}
}

func TestParametersAreCheckedWhenSaved(t *testing.T) {
	for name, params := range map[string]map[string]any{
		"a total that is not a number":   {"id": "1", "total": "lots"},
		"an expression that is invalid":  {"id": "1", "note": "{{ trigger. }}"},
		"a status not among the choices": {"id": "1", "status": "lost"},
	} {
		if _, err := tryBuild("test.acme.order.update", params); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := tryBuild("test.acme.order.list", map[string]any{"pages": "all", "maxItems": 0}); err == nil {
		t.Errorf("a zero bound was accepted")
	}
	if _, err := tryBuild("test.acme.order.update", map[string]any{"id": "1", "status": "{{ trigger.status }}", "total": "{{ trigger.total }}"}); err != nil {
		t.Errorf("typed parameters accept expressions: %v", err)
	}
}

func TestRequestShapes(t *testing.T) {
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/orders/"):
			io.WriteString(w, `{"order":{"id":"A/1","total":"149.99"}}`)
		default:
			io.WriteString(w, `{"ok":true}`)
		}
	})
	trigger := map[string]any{"order": "A/1", "status": "paid", "total": "149.99", "count": int64(3), "paid": "true",
		"tags": "vip, repeat", "meta": map[string]any{"source": "shop"}}
	x := exec(s, trigger, s.URL)

	get := build(t, "test.acme.order.get", map[string]any{"id": "{{ trigger.order }}", "expand": "lines,customer", "trace": "t-{{ run?.id ?? 'x' }}"})
	res, err := get.Execute(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Output.(map[string]any); m["id"] != "A/1" {
		t.Fatalf("output %v", res.Output)
	}
	c := s.recorded()[0]
	if c.path != "/api/v2/orders/A%2F1" || c.query != "expand=lines&expand=customer" || c.header.Get("X-Trace") != "t-x" ||
		c.header.Get("Acme-Version") != "2026-10" || c.header.Get("X-Acme-Key") != "k1" {
		t.Fatalf("GET sent %+v", c)
	}

	upd := build(t, "test.acme.order.update", map[string]any{"id": "{{ trigger.order }}", "status": "{{ trigger.status }}",
		"note": "from {{ trigger.meta.source }}", "total": "{{ trigger.total }}", "items": "{{ trigger.count }}", "paid": "{{ trigger.paid }}",
		"tags": "{{ trigger.tags }}", "extra": "{{ trigger.meta }}"})
	if _, err := upd.Execute(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	c = s.recorded()[1]
	want := `{"counts":{"items":3},"extra":{"source":"shop"},"meta":{"note":"from shop"},"paid":true,"status":"paid","tags":["vip","repeat"],"total":149.99}`
	if c.method != http.MethodPut || c.body != want || c.header.Get("Content-Type") != "application/json" || c.header.Get("Idempotency-Key") != "run1:n1" {
		t.Fatalf("PUT sent %s %s\n%s\nwant %s", c.method, c.header, c.body, want)
	}

	note := build(t, "test.acme.note.create", map[string]any{"id": "7", "text": "paid & packed"})
	if _, err := note.Execute(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if c = s.recorded()[2]; c.body != "text=paid+%26+packed" || c.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("form sent %+v", c)
	}

	// An optional parameter that renders empty is not sent; a required one fails the step.
	if _, err := build(t, "test.acme.order.update", map[string]any{"id": "9", "note": "{{ trigger.missing ?? '' }}"}).Execute(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if c = s.recorded()[3]; c.body != "{}" {
		t.Fatalf("empty note was sent: %s", c.body)
	}
	_, err = build(t, "test.acme.order.get", map[string]any{"id": "{{ trigger.missing }}"}).Execute(context.Background(), x)
	if e := typed(t, err); e.Code != "acme_request_invalid" || e.Kind != nodes.Permanent {
		t.Fatalf("missing id: %+v", e)
	}
}

func TestDryRunShowsTheRequestWithoutTheCredential(t *testing.T) {
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{}`) })
	x := exec(s, map[string]any{"total": "12.50"}, s.URL)
	x.Mode = nodes.ModeTest
	n := build(t, "test.acme.order.update", map[string]any{"id": "5", "total": "{{ trigger.total }}"})
	res, err := n.(nodes.DryRunner).DryRun(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	req := res.Output.(map[string]any)["request"].(map[string]any)
	raw, _ := json.Marshal(req)
	if req["method"] != "PUT" || req["url"] != s.URL+"/api/v2/orders/5" || strings.Contains(string(raw), "k1") ||
		!strings.Contains(string(raw), `"total":12.50`) {
		t.Fatalf("dry run %s", raw)
	}
	if len(s.recorded()) != 0 {
		t.Fatalf("a dry run sent %v", s.recorded())
	}
}

// TestCredentialGoesOnlyToItsDestinations: a step whose credential may not go to the provider's address is
// refused before the key is applied; the server sees nothing.
func TestCredentialGoesOnlyToItsDestinations(t *testing.T) {
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{}`) })
	x := exec(s, nil, "https://api.acme.example")
	_, err := build(t, "test.acme.order.get", map[string]any{"id": "1"}).Execute(context.Background(), x)
	if e := typed(t, err); e.Code != egress.CodeDestinationRefused || e.Kind != nodes.Permanent {
		t.Fatalf("%+v", e)
	}
	if len(s.recorded()) != 0 {
		t.Fatalf("the server got %v", s.recorded())
	}
}

func TestProviderFailuresMapToOutcomes(t *testing.T) {
	var status atomic.Int32
	var retryAfter atomic.Value
	retryAfter.Store("")
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		if ra := retryAfter.Load().(string); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(int(status.Load()))
		if status.Load() == 200 {
			io.WriteString(w, `{"errors":[{"message":"Throttled"}]}`)
			return
		}
		fmt.Fprintf(w, `{"error":{"code":"E%d","message":"the provider says %d"}}`, status.Load(), status.Load())
	})
	x := exec(s, nil, s.URL)
	get := build(t, "test.acme.order.get", map[string]any{"id": "1"})
	for _, c := range []struct {
		status     int
		retryAfter string
		code       string
		kind       nodes.Kind
		after      time.Duration
		rateLimit  bool
	}{
		{404, "", "acme_not_found", nodes.Permanent, 0, false},
		{422, "", "acme_invalid_request", nodes.Permanent, 0, false},
		{401, "", "acme_unauthorized", nodes.Permanent, 0, false},
		{409, "", "acme_conflict", nodes.Permanent, 0, false},
		{418, "", "acme_client_error", nodes.Permanent, 0, false},
		{429, "7", "acme_rate_limited", nodes.RetryAfter, 7 * time.Second, true},
		{429, "", "acme_rate_limited", nodes.Retryable, 0, true},
		{503, "30", "acme_unavailable", nodes.RetryAfter, 30 * time.Second, false},
		{503, "", "acme_server_error", nodes.Retryable, 0, false},
		{500, "", "acme_server_error", nodes.Retryable, 0, false},
		{200, "", "acme_graphql_error", nodes.Permanent, 0, false},
	} {
		status.Store(int32(c.status))
		retryAfter.Store(c.retryAfter)
		_, err := get.Execute(context.Background(), x)
		e := typed(t, err)
		if e.Code != c.code || e.Kind != c.kind || e.After != c.after || e.RateLimited != c.rateLimit {
			t.Errorf("%d: %s %s after %s limited %v, want %s %s %s %v", c.status, e.Code, e.Kind, e.After, e.RateLimited, c.code, c.kind, c.after, c.rateLimit)
			continue
		}
		d, _ := e.Details.(map[string]any)
		if c.status != 200 {
			if !strings.Contains(e.Error(), fmt.Sprintf("E%d: the provider says %d", c.status, c.status)) {
				t.Errorf("%d: the provider's message is not quoted: %s", c.status, e.Error())
			}
			if d["status"] != c.status || d["body"] == nil {
				t.Errorf("%d: details %v", c.status, d)
			}
		}
		if raw, _ := json.Marshal(d); strings.Contains(string(raw), "k1") {
			t.Errorf("%d: the details carry the key: %s", c.status, raw)
		}
	}

	s.Close()
	_, err := get.Execute(context.Background(), x)
	if e := typed(t, err); e.Code != "acme_network" || e.Kind != nodes.Retryable {
		t.Fatalf("closed server: %+v", e)
	}
}

// records serves n records, under the paging style of each list operation.
func records(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"id": fmt.Sprintf("r%03d", i)}
	}
	return out
}

func ids(t *testing.T, out any) []string {
	t.Helper()
	m := out.(map[string]any)
	items := m["items"].([]any)
	if int64(len(items)) != m["count"].(int64) {
		t.Fatalf("count %v for %d items", m["count"], len(items))
	}
	var s []string
	for _, it := range items {
		s = append(s, it.(map[string]any)["id"].(string))
	}
	return s
}

func TestCursorPages(t *testing.T) {
	all := records(230)
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		start := 0
		if a := r.URL.Query().Get("after"); a != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(a, "c"))
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if r.URL.Query().Get("status") != "paid" || limit < 1 || limit > 100 {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":{"message":"bad query"}}`)
			return
		}
		end := min(start+limit, len(all))
		next := ""
		if end < len(all) {
			next = fmt.Sprintf("c%d", end)
		}
		json.NewEncoder(w).Encode(map[string]any{"orders": all[start:end], "next_cursor": next})
	})
	x := exec(s, nil, s.URL)
	ctx := context.Background()

	res, err := build(t, "test.acme.order.list", map[string]any{"status": "paid", "pages": "all", "maxItems": 1000}).Execute(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	got := ids(t, res.Output)
	out := res.Output.(map[string]any)
	if len(got) != 230 || got[229] != "r229" || out["complete"] != true || out["next"] != nil || out["pages"] != int64(5) {
		t.Fatalf("all pages: %d items, %v", len(got), out["complete"])
	}

	// A bound of 120 records asks for exactly what is left on the last page and says where to go on.
	res, err = build(t, "test.acme.order.list", map[string]any{"status": "paid", "pages": "all", "maxItems": 120}).Execute(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	out = res.Output.(map[string]any)
	if got = ids(t, out); len(got) != 120 || out["complete"] != false || out["next"] != "c120" {
		t.Fatalf("bounded: %d items, next %v", len(got), out["next"])
	}
	calls := s.recorded()
	if last := calls[len(calls)-1]; !strings.Contains(last.query, "limit=20") {
		t.Fatalf("the last page asked %s", last.query)
	}

	// One page at a time, continued from the previous step's next.
	res, err = build(t, "test.acme.order.list", map[string]any{"status": "paid", "start": "{{ prev.next }}"}).Execute(ctx, exec(s, out, s.URL))
	if err != nil {
		t.Fatal(err)
	}
	if got = ids(t, res.Output); len(got) != 50 || got[0] != "r120" || res.Output.(map[string]any)["next"] != "c170" {
		t.Fatalf("continued: %v", res.Output.(map[string]any)["next"])
	}

	// The page bound stops too.
	res, _ = build(t, "test.acme.order.list", map[string]any{"status": "paid", "pages": "all", "maxPages": 2, "pageSize": 30}).Execute(ctx, x)
	if got = ids(t, res.Output); len(got) != 60 || res.Output.(map[string]any)["pages"] != int64(2) {
		t.Fatalf("two pages: %d", len(got))
	}
}

func TestNumberedOffsetLinkAndGraphQLPages(t *testing.T) {
	all := records(45)
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch r.URL.Path {
		case "/products":
			page, _ := strconv.Atoi(q.Get("page"))
			per, _ := strconv.Atoi(q.Get("per_page"))
			start := (page - 1) * per
			end := min(start+per, len(all))
			w.Header().Set("X-Total-Pages", strconv.Itoa((len(all)+per-1)/per))
			json.NewEncoder(w).Encode(all[min(start, len(all)):end])
		case "/customers":
			off, _ := strconv.Atoi(q.Get("offset"))
			lim, _ := strconv.Atoi(q.Get("limit"))
			json.NewEncoder(w).Encode(map[string]any{"data": all[min(off, len(all)):min(off+lim, len(all))]})
		case "/events":
			page, _ := strconv.Atoi(q.Get("p"))
			end := min(page*10+10, len(all))
			if end < len(all) {
				// An absolute next URL on the same host, as GitHub and Shopify's REST API give.
				w.Header().Set("Link", fmt.Sprintf(`<http://%s/api/v2/events?p=%d>; rel="next", <http://%s/api/v2/events?p=0>; rel="first"`, r.Host, page+1, r.Host))
			}
			json.NewEncoder(w).Encode(map[string]any{"events": all[page*10 : end]})
		case "/query":
			// Salesforce's shape: the first page answers the query, the next ones a relative locator.
			start := 0
			if q.Get("q") != "SELECT Id FROM Account" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			if l := q.Get("locator"); l != "" {
				start, _ = strconv.Atoi(l)
			}
			end := min(start+20, len(all))
			out := map[string]any{"records": all[start:end], "done": end == len(all), "totalSize": len(all)}
			if end < len(all) {
				out["nextRecordsUrl"] = fmt.Sprintf("/api/v2/query?q=%s&locator=%d", url.QueryEscape(q.Get("q")), end)
			}
			json.NewEncoder(w).Encode(out)
		case "/graphql":
			var body struct {
				Query     string         `json:"query"`
				Variables map[string]any `json:"variables"`
			}
			json.NewDecoder(r.Body).Decode(&body)
			first := int(body.Variables["first"].(float64))
			start := 0
			if a, ok := body.Variables["after"].(string); ok {
				start, _ = strconv.Atoi(a)
			}
			end := min(start+first, len(all))
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"orders": map[string]any{
				"nodes": all[start:end], "pageInfo": map[string]any{"hasNextPage": end < len(all), "endCursor": strconv.Itoa(end)}}}})
		}
	})
	x := exec(s, nil, s.URL)
	for typ, params := range map[string]map[string]any{
		"test.acme.product.list":  {"pages": "all", "pageSize": 20},
		"test.acme.customer.list": {"pages": "all", "pageSize": 20},
		"test.acme.event.list":    {"pages": "all"},
		"test.acme.record.query":  {"pages": "all", "q": "SELECT Id FROM Account"},
		"test.acme.graph.orders":  {"pages": "all", "pageSize": 20, "q": "status:paid"},
	} {
		res, err := build(t, typ, params).Execute(context.Background(), x)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		got := ids(t, res.Output)
		if len(got) != 45 || got[44] != "r044" || res.Output.(map[string]any)["complete"] != true {
			t.Errorf("%s: %d records, last %v", typ, len(got), got[len(got)-1])
		}
	}
	var gql call
	for _, c := range s.recorded() {
		if c.path == "/api/v2/graphql" {
			gql = c
			break
		}
	}
	if !strings.Contains(gql.body, `"q":"status:paid"`) || !strings.Contains(gql.body, `"first":20`) || !strings.HasPrefix(gql.body, `{"query":"query($first`) {
		t.Errorf("GraphQL body %s", gql.body)
	}
	// A next URL relative to the request's continues from the output's next, on the request's host.
	res, err := build(t, "test.acme.record.query", map[string]any{"q": "SELECT Id FROM Account"}).Execute(context.Background(), x)
	next, _ := res.Output.(map[string]any)["next"].(string)
	if err != nil || !strings.HasPrefix(next, "/api/v2/query?") {
		t.Fatalf("next-URL next %v %v", next, err)
	}
	res, err = build(t, "test.acme.record.query", map[string]any{"q": "SELECT Id FROM Account", "start": next, "pages": "all"}).Execute(context.Background(), x)
	if got := ids(t, res.Output); err != nil || len(got) != 25 || got[0] != "r020" {
		t.Errorf("continued from %s: %v %v", next, got, err)
	}
	// Offset pages continue from the output's next.
	res, _ = build(t, "test.acme.customer.list", map[string]any{"pageSize": 20}).Execute(context.Background(), x)
	if res.Output.(map[string]any)["next"] != int64(20) {
		t.Errorf("offset next %v", res.Output.(map[string]any)["next"])
	}
}

func TestOptionsLoadedFromTheAccount(t *testing.T) {
	var hits atomic.Int32
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, `{"stages":[{"id":"s3","label":"Won"},{"id":"s1","label":"New"},{"id":"s2"}]}`)
	})
	fields := map[string]string{"base": s.URL, "key": "k1"}
	ds := egress.MustDestinations(s.URL)
	req := connector.OptionsRequest{NodeType: "test.acme.deal.move", Field: "stage", CredentialID: "cred-1",
		Credential: &nodes.ResolvedCredential{Name: "Acme", Type: "test.acme.key", Fields: fields, Destinations: ds},
		Client:     egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Acme", ds, nil })}
	opts, err := connector.LoadOptions(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []nodes.Option{{Value: "s3", Label: "Won"}, {Value: "s1", Label: "New"}, {Value: "s2", Label: "s2"}}
	if fmt.Sprint(opts) != fmt.Sprint(want) {
		t.Fatalf("options %v", opts)
	}
	if _, err := connector.LoadOptions(context.Background(), req); err != nil || hits.Load() != 1 {
		t.Fatalf("the second load within a minute asked again: %d (%v)", hits.Load(), err)
	}
	if _, err := connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: "test.acme.deal.move", Field: "id"}); err != connector.ErrNoOptions {
		t.Fatalf("a field without loaded options: %v", err)
	}
	other := req
	other.CredentialID = "cred-2"
	other.Credential = &nodes.ResolvedCredential{Name: "Other", Type: "http.bearer", Fields: fields}
	if _, err := connector.LoadOptions(context.Background(), other); nodes.Classify(err).Code != "credential_type_refused" {
		t.Fatalf("a credential of another type: %v", err)
	}
}

// TestGraphQLOperationsLookUpTransformAndReportQuota: a parameter is transformed into what the API takes, a null
// record is "not found", a side effect that needs a lookup first makes it through the same guarded path, and
// what each answer says of the provider's quota reaches the engine.
func TestGraphQLOperationsLookUpTransformAndReportQuota(t *testing.T) {
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Query     string         `json:"query"`
			Variables map[string]any `json:"variables"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		switch {
		case strings.HasPrefix(body.Query, "query($id: ID!) { order(id: $id) { parts"):
			io.WriteString(w, `{"data":{"order":{"parts":["p1","p2"]}},"extensions":{"wait":1.5}}`)
		case strings.HasPrefix(body.Query, "mutation"):
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"ship": map[string]any{"ok": body.Variables["parts"]}}})
		case body.Variables["id"] == "gid://acme/Order/7":
			io.WriteString(w, `{"data":{"order":{"id":"gid://acme/Order/7"}},"extensions":{"wait":0}}`)
		default:
			io.WriteString(w, `{"data":{"order":null}}`)
		}
	})
	var waits []time.Duration
	x := exec(s, nil, s.URL)
	x.ReportQuota = func(_ context.Context, d time.Duration) { waits = append(waits, d) }
	ctx := context.Background()

	res, err := build(t, "test.acme.graph.order", map[string]any{"id": "7"}).Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["id"] != "gid://acme/Order/7" {
		t.Fatalf("get by number: %v %v", res.Output, err)
	}
	_, err = build(t, "test.acme.graph.order", map[string]any{"id": "8"}).Execute(ctx, x)
	if e := typed(t, err); e.Code != "acme_not_found" || e.Kind != nodes.Permanent {
		t.Fatalf("a null order: %+v", e)
	}
	_, err = build(t, "test.acme.graph.order", map[string]any{"id": "seven"}).Execute(ctx, x)
	if e := typed(t, err); e.Code != "acme_request_invalid" || !strings.Contains(e.Error(), "neither a number") {
		t.Fatalf("a bad id: %+v", e)
	}
	calls := len(s.recorded())

	res, err = build(t, "test.acme.graph.ship", map[string]any{"order": "gid://acme/Order/7"}).Execute(ctx, x)
	if err != nil || fmt.Sprint(res.Output.(map[string]any)["ok"]) != "[p1 p2]" {
		t.Fatalf("ship: %v %v", res.Output, err)
	}
	sent := s.recorded()[calls:]
	if len(sent) != 2 || !strings.Contains(sent[1].body, `"parts":["p1","p2"]`) || sent[0].header.Get("X-Acme-Key") != "k1" {
		t.Fatalf("ship sent %+v", sent)
	}
	if len(waits) != 1 || waits[0] != 1500*time.Millisecond {
		t.Fatalf("reported waits %v, want the lookup's 1.5s only (no wait is not reported)", waits)
	}

	// A test run shows the mutation as rendered and looks nothing up.
	x.Mode = nodes.ModeTest
	if _, err := build(t, "test.acme.graph.ship", map[string]any{"order": "gid://acme/Order/7"}).(nodes.DryRunner).DryRun(ctx, x); err != nil {
		t.Fatal(err)
	}
	if len(s.recorded()) != calls+2 {
		t.Fatalf("a dry run sent requests")
	}
}

// An operation whose target depends on what exists reads first with its Route's get (credential applied, no
// idempotency key, no body), then sends its body where the Route says; a test run shows the request as rendered
// and reads nothing.
func TestRoutedOperationReadsThenWritesWhereItFound(t *testing.T) {
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Query().Get("email") == "ada@example.com":
			io.WriteString(w, `[{"id":42}]`)
		case r.Method == http.MethodGet:
			io.WriteString(w, `[]`)
		default:
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, `{"method":%q,"path":%q,"body":%s}`, r.Method, r.URL.Path, b)
		}
	})
	ctx := context.Background()
	x := exec(s, nil, s.URL)
	res, err := build(t, "test.acme.contact.upsert", map[string]any{"email": "ada@example.com", "name": "Ada"}).Execute(ctx, x)
	out, _ := res.Output.(map[string]any)
	if err != nil || out["method"] != "PUT" || out["path"] != "/contacts/42" {
		t.Fatalf("existing contact: %v %v", out, err)
	}
	sent := s.recorded()
	if len(sent) != 2 || sent[0].method != "GET" || sent[0].body != "" || sent[0].header.Get("X-Acme-Key") != "k1" ||
		sent[0].header.Get("Idempotency-Key") != "" || sent[0].header.Get("Content-Type") != "" {
		t.Fatalf("the look-up was %+v", sent[0])
	}
	if sent[1].header.Get("Idempotency-Key") != "run1:n1" || !strings.Contains(sent[1].body, `"name":"Ada"`) {
		t.Fatalf("the write was %+v", sent[1])
	}
	res, err = build(t, "test.acme.contact.upsert", map[string]any{"email": "grace@example.com"}).Execute(ctx, x)
	if out, _ := res.Output.(map[string]any); err != nil || out["method"] != "POST" || out["path"] != "/contacts" {
		t.Fatalf("new contact: %v %v", res.Output, err)
	}

	x.Mode = nodes.ModeTest
	calls := len(s.recorded())
	if _, err := build(t, "test.acme.contact.upsert", map[string]any{"email": "ada@example.com"}).(nodes.DryRunner).DryRun(ctx, x); err != nil {
		t.Fatal(err)
	}
	if len(s.recorded()) != calls {
		t.Fatal("a dry run looked something up")
	}
}

// Go code that is not an operation (a polling trigger) makes a REST request through the same path: credential
// applied last, failures classified, destinations checked.
func TestProviderCallIsClassifiedLikeAnOperation(t *testing.T) {
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "9" {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":"slow_down","message":"too many"}}`)
			return
		}
		io.WriteString(w, `{"orders":[1,2]}`)
	})
	ctx := context.Background()
	a, err := acme.Call(ctx, exec(s, nil, s.URL), http.MethodGet, "/orders", url.Values{"page": {"1"}}, nil)
	if err != nil || fmt.Sprint(a.Get("/orders")) != "[1 2]" {
		t.Fatalf("request: %v %v", a, err)
	}
	got := s.recorded()[0]
	if got.path != "/api/v2/orders" || got.query != "page=1" || got.header.Get("Acme-Version") != "2026-10" || got.header.Get("X-Acme-Key") != "k1" {
		t.Fatalf("sent %+v", got)
	}
	_, err = acme.Call(ctx, exec(s, nil, s.URL), http.MethodGet, "/orders", url.Values{"page": {"9"}}, nil)
	if e := typed(t, err); e.Code != "acme_rate_limited" || e.Kind != nodes.RetryAfter || e.After != 3*time.Second {
		t.Fatalf("429: %+v", e)
	}
	_, err = acme.Call(ctx, exec(s, nil, "https://elsewhere.example"), http.MethodGet, "/orders", nil, nil)
	if err == nil || len(s.recorded()) != 2 {
		t.Fatalf("sent to a place the credential may not go: %v", err)
	}
}

// A base URL the provider refuses with its own typed failure keeps that failure's code.
func TestBaseURLFailuresKeepTheProvidersCode(t *testing.T) {
	p := &connector.Provider{Name: "acme", Credentials: []string{"test.acme.key"},
		BaseURL: func(map[string]string) (*url.URL, error) {
			return nil, nodes.NewPermanent("acme_base_insecure", fmt.Errorf("acme: plain http"))
		}}
	x := &nodes.Exec{Mode: nodes.ModeLive, Credential: func(context.Context) (map[string]string, error) { return map[string]string{}, nil }}
	_, err := p.Call(context.Background(), x, http.MethodGet, "/orders", nil, nil)
	if e := typed(t, err); e.Code != "acme_base_insecure" {
		t.Fatalf("code %s, want the provider's", e.Code)
	}
}

// An unrepeatable write (the provider honours no idempotency key) is sent once: when it may have arrived but
// nothing says what became of it (a 5xx, no answer in time, the connection lost after the request was written,
// the step stopped while waiting), the step fails for good with acme_outcome_unknown and the request in the
// details; answers that say nothing was done, and failures before anything was sent, keep their outcome.
func TestUnrepeatableWriteIsNeverSentTwice(t *testing.T) {
	var mode atomic.Value
	mode.Store("")
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		m := mode.Load().(string)
		if r.Method == http.MethodGet {
			if m == "lookup 500" {
				w.WriteHeader(500)
				io.WriteString(w, `{"error":{"code":"E500","message":"down"}}`)
				return
			}
			io.WriteString(w, `[]`)
			return
		}
		switch m {
		case "created":
			w.WriteHeader(201)
			io.WriteString(w, `{"id":"pay_1"}`)
		case "slow":
			<-r.Context().Done() // no answer until the client gives up
		case "hang":
			arrived <- struct{}{}
			<-release
		case "reset":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case "429":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"code":"E429","message":"slow down"}}`)
		default:
			code, _ := strconv.Atoi(m)
			if code == 503 {
				w.Header().Set("Retry-After", "30")
			}
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":{"code":"E%d","message":"the provider says %d"}}`, code, code)
		}
	})
	x := exec(s, nil, s.URL)
	create := build(t, "test.acme.payment.create", map[string]any{"ref": "ord-1", "amount": "12.50"})
	posts := func() int {
		n := 0
		for _, c := range s.recorded() {
			if c.method == http.MethodPost {
				n++
			}
		}
		return n
	}

	mode.Store("created")
	if res, err := create.Execute(context.Background(), x); err != nil || res.Output.(map[string]any)["id"] != "pay_1" {
		t.Fatalf("created: %v %v", res.Output, err)
	}

	for _, m := range []string{"500", "502", "503", "504", "slow", "reset"} {
		mode.Store(m)
		before := posts()
		_, err := create.Execute(context.Background(), x)
		e := typed(t, err)
		if e.Code != "acme_outcome_unknown" || e.Kind != nodes.Permanent {
			t.Errorf("%s: %s %s (%v), want acme_outcome_unknown permanent", m, e.Code, e.Kind, err)
			continue
		}
		if got := posts() - before; got != 1 {
			t.Errorf("%s: %d requests sent", m, got)
		}
		d, _ := e.Details.(map[string]any)
		req, _ := d["request"].(map[string]any)
		if d["outcomeUnknown"] != true || !strings.Contains(fmt.Sprint(d["check"]), "before running this step again") || req == nil ||
			!strings.Contains(e.Error(), "may have applied this request") {
			t.Errorf("%s: details %v, message %s", m, d, e.Error())
		}
		if code, _ := strconv.Atoi(m); code > 0 && (d["status"] != code || d["body"] == nil || !strings.Contains(e.Error(), fmt.Sprintf("E%d", code))) {
			t.Errorf("%s: the answer is not kept: %v", m, d)
		}
		if raw, _ := json.Marshal(d); strings.Contains(string(raw), "k1") {
			t.Errorf("%s: the details carry the key: %s", m, raw)
		}
	}

	// A step stopped while waiting for the answer: the failure must not read as the worker stopping, which
	// would hand the step back to run again.
	mode.Store("hang")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }() // stopped once the request is at the provider
	_, err := create.Execute(ctx, x)
	if e := typed(t, err); e.Code != "acme_outcome_unknown" || e.Kind != nodes.Permanent || errors.Is(err, context.Canceled) {
		t.Errorf("stopped while waiting: %s %s %v", e.Code, e.Kind, err)
	}
	close(release)
	// Stopped before it was sent: handed back, nothing sent.
	before := posts()
	if _, err := create.Execute(ctx, x); !errors.Is(err, context.Canceled) || posts() != before {
		t.Errorf("stopped before sending: %v, %d sent", err, posts()-before)
	}

	for _, c := range []struct {
		mode string
		code string
		kind nodes.Kind
	}{
		{"429", "acme_rate_limited", nodes.RetryAfter},
		{"408", "acme_timeout", nodes.Retryable},
		{"422", "acme_invalid_request", nodes.Permanent},
		{"404", "acme_not_found", nodes.Permanent},
		{"lookup 500", "acme_server_error", nodes.Retryable},
	} {
		mode.Store(c.mode)
		before := posts()
		_, err := create.Execute(context.Background(), x)
		if e := typed(t, err); e.Code != c.code || e.Kind != c.kind {
			t.Errorf("%s: %s %s, want %s %s", c.mode, e.Code, e.Kind, c.code, c.kind)
		}
		if c.mode == "lookup 500" && posts() != before {
			t.Errorf("the write went out after its look-up failed")
		}
	}

	// Nothing was sent: no connection could be made.
	s.Close()
	if e := typed(t, func() error { _, err := create.Execute(context.Background(), x); return err }()); e.Code != "acme_network" || e.Kind != nodes.Retryable {
		t.Errorf("closed server: %s %s", e.Code, e.Kind)
	}
	reg, _ := nodes.Lookup("test.acme.payment.create", 0)
	if !strings.Contains(reg.Spec.Docs, "acme_outcome_unknown") || strings.Contains(reg.Spec.Docs, "5xx are retried") {
		t.Errorf("docs: %s", reg.Spec.Docs)
	}
}
