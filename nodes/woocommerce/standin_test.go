package woocommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const (
	testStore  = "https://shop.example.com"
	testKey    = "ck_test_0123456789"
	testSecret = "cs_test_abcdefghij"
)

// standIn is a local WooCommerce REST API v3. WooCommerce publishes no machine-readable description of that API
// (no OpenAPI file in the woocommerce/woocommerce repository, only the prose reference at
// woocommerce.github.io/woocommerce-rest-api-docs and the argument schemas in the controllers under
// plugins/woocommerce/includes/rest-api/Controllers/Version3), so the stand-in enforces what those document:
// the /wp-json/wc/v3 routes, HTTP Basic authentication with the key pair, the query arguments each list takes
// with their enums and formats (an argument it does not know fails the test), JSON bodies of known fields,
// numbered pages with X-WP-Total, X-WP-TotalPages and a Link header, WooCommerce's error shape
// {code, message, data: {status}}, and a host's 429 with Retry-After.
type standIn struct {
	*httptest.Server
	t *testing.T

	mu        sync.Mutex
	requests  []*http.Request
	bodies    []map[string]any
	tooMany   bool          // answer 429 with Retry-After
	broken    bool          // answer 500
	html      bool          // answer the site's home page, as WordPress does without the REST API
	lose      bool          // create the order, then close the connection without an answer
	slow      time.Duration // create the order, then answer this late
	orders    []map[string]any
	customers []map[string]any
	notes     map[string][]any
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, notes: map[string][]any{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	prev := origin
	origin = func(*url.URL) *url.URL { u, _ := url.Parse(s.URL); return u }
	t.Cleanup(func() { origin = prev })
	return s
}

func wcError(w http.ResponseWriter, status int, code, msg string) {
	answer(w, status, map[string]any{"code": code, "message": msg, "data": map[string]any{"status": status}})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// args are the query arguments a route documents, each with a check of its value.
type args map[string]func(string) bool

var (
	isoDate = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)
	number  = func(lo, hi int) func(string) bool {
		return func(s string) bool { n, err := strconv.Atoi(s); return err == nil && n >= lo && n <= hi }
	}
	oneOf    = func(vs ...string) func(string) bool { return func(s string) bool { return contains(vs, s) } }
	anything = func(string) bool { return true }
	boolean  = oneOf("true", "false", "1", "0")
	statuses = []string{"any", "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "checkout-draft", "trash", "awaiting-shipment"}
)

// routeArgs are the documented arguments of the GET routes Ferry uses (WC_REST_Orders_Controller and
// WC_REST_Customers_Controller get_collection_params).
var routeArgs = map[string]args{
	"orders": {"page": number(1, 1<<20), "per_page": number(1, 100), "modified_after": isoDate.MatchString, "modified_before": isoDate.MatchString,
		"dates_are_gmt": boolean, "orderby": oneOf("date", "id", "include", "title", "slug", "modified"), "order": oneOf("asc", "desc"),
		"status": func(s string) bool { return contains(statuses, s) }, "search": anything},
	"customers": {"page": number(1, 1<<20), "per_page": number(1, 100), "search": anything, "email": anything,
		"role": oneOf("all", "administrator", "customer", "shop_manager"), "orderby": oneOf("id", "include", "name", "registered_date"), "order": oneOf("asc", "desc")},
	"single":  {"context": oneOf("view", "edit")},
	"reports": {"context": oneOf("view")},
}

// bodyFields are the writable fields Ferry may send, per route.
var bodyFields = map[string][]string{
	"PUT orders": {"status"},
	"POST orders": {"status", "currency", "customer_id", "billing", "shipping", "line_items", "fee_lines", "set_paid", "payment_method",
		"payment_method_title", "transaction_id", "meta_data", "customer_note"},
	"POST notes":     {"note", "customer_note"},
	"POST customers": {"email", "first_name", "last_name", "billing"},
	"PUT customers":  {"email", "first_name", "last_name", "billing"},
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	if s.html {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		io.WriteString(w, "<!doctype html><title>Ferry Tea</title>")
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/wp-json/wc/v3/")
	if !ok {
		s.t.Errorf("request to %s, outside the REST API v3", r.URL.Path)
		wcError(w, 404, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != testKey || pass != testSecret {
		// WooCommerce's answer to a key it does not know.
		wcError(w, 401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
		return
	}
	if r.URL.Query().Has("consumer_secret") {
		s.t.Errorf("the secret travelled in the query")
	}
	if s.tooMany {
		w.Header().Set("Retry-After", "7")
		wcError(w, 429, "too_many_requests", "Too many requests.")
		return
	}
	if s.broken {
		wcError(w, 500, "internal_server_error", "There has been a critical error on this website.")
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			s.t.Errorf("%s %s with Content-Type %q", r.Method, path, r.Header.Get("Content-Type"))
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			wcError(w, 400, "rest_invalid_json", "Invalid JSON body passed.")
			return
		}
	} else if len(raw) > 0 {
		s.t.Errorf("a %s with a body", r.Method)
	}
	s.bodies = append(s.bodies, body)
	parts := strings.Split(path, "/")
	route := "single"
	switch {
	case len(parts) == 1:
		route = parts[0]
	case parts[0] == "reports":
		route = "reports"
	}
	if r.Method == http.MethodGet {
		for k, vs := range r.URL.Query() {
			check, ok := routeArgs[route][k]
			if !ok {
				s.t.Errorf("GET %s: argument %s is not one the route documents", path, k)
				continue
			}
			if !check(vs[0]) {
				wcError(w, 400, "rest_invalid_param", "Invalid parameter(s): "+k)
				return
			}
		}
	}
	if body != nil {
		key := r.Method + " " + parts[len(parts)-1]
		if len(parts) == 2 {
			key = r.Method + " " + parts[0]
		}
		allowed, ok := bodyFields[key]
		if !ok {
			s.t.Errorf("%s %s: Ferry sends no body there", r.Method, path)
		}
		for k := range body {
			if !contains(allowed, k) {
				s.t.Errorf("%s %s: field %s is not one Ferry writes", r.Method, path, k)
			}
		}
	}
	s.route(w, r, parts, body)
}

func (s *standIn) route(w http.ResponseWriter, r *http.Request, parts []string, body map[string]any) {
	q := r.URL.Query()
	switch {
	case r.Method == "GET" && len(parts) == 1 && parts[0] == "orders":
		list := s.orders
		if m := q.Get("modified_after"); m != "" {
			if q.Get("dates_are_gmt") != "true" {
				s.t.Errorf("modified_after without dates_are_gmt=true is the store's local time")
			}
			list = nil
			for _, o := range s.orders {
				if o["date_modified_gmt"].(string) > m { // WP's date_query "after" is exclusive
					list = append(list, o)
				}
			}
		}
		if st := q.Get("status"); st != "" && st != "any" {
			var kept []map[string]any
			for _, o := range list {
				if o["status"] == st {
					kept = append(kept, o)
				}
			}
			list = kept
		}
		if q.Get("orderby") == "modified" {
			list = append([]map[string]any(nil), list...)
			sort.SliceStable(list, func(i, j int) bool {
				return list[i]["date_modified_gmt"].(string) < list[j]["date_modified_gmt"].(string)
			})
		}
		s.page(w, r, list)
	case r.Method == "POST" && len(parts) == 1 && parts[0] == "orders":
		s.createOrder(w, r, body)
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "orders":
		if o := s.order(parts[1]); o != nil {
			answer(w, 200, o)
			return
		}
		wcError(w, 404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
	case r.Method == "PUT" && len(parts) == 2 && parts[0] == "orders":
		o := s.order(parts[1])
		if o == nil {
			wcError(w, 400, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
			return
		}
		st, _ := body["status"].(string)
		if !contains(statuses[1:], st) {
			wcError(w, 400, "rest_invalid_param", "Invalid parameter(s): status")
			return
		}
		o["status"] = st
		answer(w, 200, o)
	case r.Method == "POST" && len(parts) == 3 && parts[2] == "notes":
		if s.order(parts[1]) == nil {
			wcError(w, 404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
			return
		}
		note := map[string]any{"id": 281 + len(s.notes[parts[1]]), "author": "WooCommerce", "date_created_gmt": "2026-11-20T10:00:00",
			"note": body["note"], "customer_note": body["customer_note"] == true}
		s.notes[parts[1]] = append(s.notes[parts[1]], note)
		answer(w, 201, note)
	case r.Method == "GET" && len(parts) == 1 && parts[0] == "customers":
		var list []map[string]any
		for _, c := range s.customers {
			if e := q.Get("email"); e != "" && c["email"] != e {
				continue
			}
			if q.Get("role") != "all" && c["role"] != "customer" {
				continue
			}
			if sr := q.Get("search"); sr != "" && !strings.Contains(fmt.Sprint(c["email"], c["first_name"], c["last_name"]), sr) {
				continue
			}
			list = append(list, c)
		}
		s.page(w, r, list)
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "customers":
		for _, c := range s.customers {
			if fmt.Sprint(c["id"]) == parts[1] {
				answer(w, 200, c)
				return
			}
		}
		wcError(w, 404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
	case r.Method == "POST" && len(parts) == 1 && parts[0] == "customers":
		for _, c := range s.customers {
			if c["email"] == body["email"] {
				wcError(w, 400, "registration-error-email-exists", "An account is already registered with your email address.")
				return
			}
		}
		c := map[string]any{"id": 50 + len(s.customers), "role": "customer", "first_name": "", "last_name": "", "billing": map[string]any{}}
		s.customers = append(s.customers, c)
		merge(c, body)
		answer(w, 201, c)
	case r.Method == "PUT" && len(parts) == 2 && parts[0] == "customers":
		for _, c := range s.customers {
			if fmt.Sprint(c["id"]) == parts[1] {
				merge(c, body)
				answer(w, 200, c)
				return
			}
		}
		wcError(w, 400, "woocommerce_rest_invalid_id", "Invalid resource ID.")
	case r.Method == "GET" && strings.Join(parts, "/") == "reports/orders/totals":
		answer(w, 200, []any{
			map[string]any{"slug": "pending", "name": "Pending payment", "total": 1},
			map[string]any{"slug": "processing", "name": "Processing", "total": 4},
			map[string]any{"slug": "completed", "name": "Completed", "total": 9},
			map[string]any{"slug": "awaiting-shipment", "name": "Awaiting shipment", "total": 2}})
	default:
		s.t.Errorf("the stand-in has no route %s %s", r.Method, strings.Join(parts, "/"))
		wcError(w, 404, "rest_no_route", "No route was found matching the URL and request method.")
	}
}

// products are the store's products, by id: what line items may name.
var products = map[float64]map[string]any{
	11: {"name": "Sencha", "sku": "TEA-1", "price": "8.00"},
	12: {"name": "Cup", "sku": "CUP-1", "price": "10.00"},
}

// createOrder checks a create body as WC_REST_Orders_Controller's schema does (types, enums, the keys of the
// addresses, line items, fee lines and meta data) and answers the order made, as POST /orders does: 201 with the
// order. A field of the wrong type is WordPress's rest_invalid_param; an unknown product is
// woocommerce_rest_invalid_product_id.
func (s *standIn) createOrder(w http.ResponseWriter, r *http.Request, body map[string]any) {
	invalid := func(field string) { wcError(w, 400, "rest_invalid_param", "Invalid parameter(s): "+field) }
	for k, v := range body {
		ok := true
		switch k {
		case "status":
			st, _ := v.(string)
			ok = contains(statuses[1:len(statuses)-2], st)
		case "currency":
			c, _ := v.(string)
			ok = len(c) == 3 && strings.ToUpper(c) == c
		case "customer_id":
			n, isNum := v.(float64)
			ok = isNum && n >= 0 && n == float64(int64(n))
		case "set_paid":
			_, ok = v.(bool)
		case "payment_method", "payment_method_title", "transaction_id", "customer_note":
			_, ok = v.(string)
		case "billing", "shipping":
			m, isMap := v.(map[string]any)
			ok = isMap
			for f, fv := range m {
				_, isText := fv.(string)
				if !isText || !contains([]string{"first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode", "country", "phone"}, f) &&
					!(f == "email" && k == "billing") {
					ok = false
				}
			}
		case "line_items", "fee_lines", "meta_data":
			l, isList := v.([]any)
			ok = isList
			keys := map[string][]string{"line_items": {"product_id", "variation_id", "quantity", "name", "subtotal", "total", "tax_class", "meta_data"},
				"fee_lines": {"name", "total", "tax_class", "tax_status", "meta_data"}, "meta_data": {"key", "value"}}[k]
			for _, e := range l {
				m, isMap := e.(map[string]any)
				if !isMap {
					ok = false
					continue
				}
				for f, fv := range m {
					if !contains(keys, f) {
						s.t.Errorf("POST orders: %s has no field %s", k, f)
					}
					if (f == "total" || f == "subtotal") && fmt.Sprintf("%T", fv) != "string" {
						ok = false // amounts are decimal texts
					}
					if (f == "quantity" || f == "product_id") && fmt.Sprintf("%T", fv) != "float64" {
						ok = false
					}
				}
			}
		}
		if !ok {
			invalid(k)
			return
		}
	}
	id := 800 + len(s.orders)
	o := testOrder(id, "pending", "2026-11-20T10:00:00")
	o["line_items"], o["fee_lines"], o["meta_data"], o["created_via"], o["transaction_id"] = []any{}, []any{}, []any{}, "rest-api", ""
	o["billing"], o["shipping"] = map[string]any{}, map[string]any{}
	total := 0.0
	if items, _ := body["line_items"].([]any); len(items) > 0 {
		var lines []any
		for i, e := range items {
			it := e.(map[string]any)
			p, ok := products[toFloat(it["product_id"])]
			if !ok {
				wcError(w, 400, "woocommerce_rest_invalid_product_id", "Product ID provided is invalid.")
				return
			}
			price, _ := strconv.ParseFloat(p["price"].(string), 64)
			line := price * toFloat(it["quantity"])
			total += line
			lines = append(lines, map[string]any{"id": i + 1, "name": p["name"], "sku": p["sku"], "product_id": it["product_id"],
				"quantity": it["quantity"], "total": fmt.Sprintf("%.2f", line)})
		}
		o["line_items"] = lines
	}
	if fees, _ := body["fee_lines"].([]any); len(fees) > 0 {
		var lines []any
		for i, e := range fees {
			f := e.(map[string]any)
			v, _ := strconv.ParseFloat(f["total"].(string), 64)
			total += v
			lines = append(lines, map[string]any{"id": 100 + i, "name": f["name"], "total": f["total"]})
		}
		o["fee_lines"] = lines
	}
	for k, v := range body {
		switch k {
		case "line_items", "fee_lines", "set_paid":
		case "meta_data":
			var meta []any
			for i, e := range v.([]any) {
				m := e.(map[string]any)
				meta = append(meta, map[string]any{"id": 900 + i, "key": m["key"], "value": m["value"]})
			}
			o["meta_data"] = meta
		default:
			o[k] = v
		}
	}
	if body["set_paid"] == true {
		o["status"], o["date_paid_gmt"] = "processing", "2026-11-20T10:00:00"
	}
	o["total"] = fmt.Sprintf("%.2f", total)
	s.orders = append(s.orders, o)
	switch {
	case s.lose:
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	case s.slow > 0:
		select { // the order is made; the answer comes late, or never if the client gives up first
		case <-time.After(s.slow):
		case <-r.Context().Done():
			return
		}
	}
	answer(w, 201, o)
}

func toFloat(v any) float64 {
	f, _ := v.(float64)
	return f
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if m, ok := v.(map[string]any); ok {
			d, _ := dst[k].(map[string]any)
			if d == nil {
				d = map[string]any{}
			}
			merge(d, m)
			dst[k] = d
			continue
		}
		dst[k] = v
	}
}

// page answers one numbered page of list as WordPress does: X-WP-Total, X-WP-TotalPages and a Link header with
// rel="prev" and rel="next" URLs; a page past the end is 400 rest_post_invalid_page_number.
func (s *standIn) page(w http.ResponseWriter, r *http.Request, list []map[string]any) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per == 0 {
		per = 10
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page == 0 {
		page = 1
	}
	pages := (len(list) + per - 1) / per
	if page > max(pages, 1) {
		wcError(w, 400, "rest_post_invalid_page_number", "The page number requested is larger than the number of pages available.")
		return
	}
	start, end := min((page-1)*per, len(list)), min(page*per, len(list))
	out := make([]any, 0, end-start)
	for _, o := range list[start:end] {
		out = append(out, o)
	}
	link := func(p int, rel string) string {
		u := *r.URL
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf(`<%s%s>; rel="%s"`, s.URL, u.RequestURI(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < pages {
		links = append(links, link(page+1, "next"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	w.Header().Set("X-WP-Total", strconv.Itoa(len(list)))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	answer(w, 200, out)
}

func (s *standIn) order(id string) map[string]any {
	for _, o := range s.orders {
		if fmt.Sprint(o["id"]) == id {
			return o
		}
	}
	return nil
}

func (s *standIn) received() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

func (s *standIn) lastBody() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[len(s.bodies)-1]
}

// testOrder is an order as the REST API v3 gives it.
func testOrder(id int, status, modified string) map[string]any {
	return map[string]any{
		"id": id, "parent_id": 0, "number": strconv.Itoa(id), "order_key": "wc_order_x", "created_via": "checkout", "status": status,
		"currency": "EUR", "date_created": "2026-11-01T09:00:00", "date_created_gmt": "2026-11-01T08:00:00",
		"date_modified": modified, "date_modified_gmt": modified, "discount_total": "5.00", "discount_tax": "0.00",
		"shipping_total": "4.90", "shipping_tax": "0.00", "cart_tax": "0.00", "total": "34.90", "total_tax": "0.00",
		"prices_include_tax": true, "customer_id": 7, "customer_note": "",
		"billing":        map[string]any{"first_name": "Ada", "last_name": "Lovelace", "company": "", "email": "ada@example.com", "phone": "+49 30 901820"},
		"payment_method": "stripe", "payment_method_title": "Card", "transaction_id": "pi_1",
		"line_items": []any{
			map[string]any{"id": 1, "name": "Sencha", "product_id": 11, "quantity": 3, "subtotal": "25.00", "total": "20.00", "sku": "TEA-1", "price": 8.333333},
			map[string]any{"id": 2, "name": "Cup", "product_id": 12, "quantity": 1, "subtotal": "10.00", "total": "10.00", "sku": "CUP-1", "price": 10},
		},
	}
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

func fields() map[string]string {
	return map[string]string{FieldStoreURL: testStore, FieldConsumerKey: testKey, FieldConsumerSecret: testSecret}
}

// exec is a live step whose credential may go to the stand-in only.
func (s *standIn) exec(input any) *nodes.Exec {
	f := fields()
	ds := egress.MustDestinations(s.URL + APIPath)
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "WooCommerce", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return f, nil }}
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}

func raw(params map[string]any) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range params {
		b, _ := json.Marshal(v)
		out[k] = b
	}
	return out
}
