package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const (
	testShop  = "ferry-test.myshopify.com"
	testToken = "shpat_test_token_1"
)

// loadSchema parses the Admin API schema the documents are checked against (testdata/README.md says where it
// comes from).
func loadSchema(t testing.TB, path string) *ast.Schema {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Shopify's own dumps declare the built-in scalars, with descriptions, which the parser's prelude already
	// has: they are renamed out of the way.
	input := builtinScalar.ReplaceAllString(string(b), "scalar Dumped${1}")
	s, gerr := gqlparser.LoadSchema(&ast.Source{Name: path, Input: input})
	if gerr != nil {
		t.Fatalf("parse %s: %v", path, gerr)
	}
	return s
}

// standIn is a local Shopify Admin API that enforces what Shopify does: the access token, the pinned version's
// path, a GraphQL JSON body whose document and variables validate against the schema, cursor paging through
// pageInfo, and cost-based throttling (THROTTLED with extensions.cost when the bucket is short, or 429 with
// Retry-After). Every document it receives that does not validate fails the test.
type standIn struct {
	*httptest.Server
	t      *testing.T
	schema *ast.Schema

	mu        sync.Mutex
	ops       []string // operation names received, in order
	vars      []map[string]any
	available float64 // the bucket, in cost points
	cost      float64 // what each query costs
	tooMany   bool    // answer 429 with Retry-After
	orders    []map[string]any
	customers []map[string]any
	cancelled map[string]bool
	fulfilled map[string]bool
}

// standInLocations are the stand-in store's locations, as fulfilment orders name them (assignedLocation).
var standInLocations = []map[string]any{
	{"name": "Warehouse Berlin", "location": map[string]any{"id": "gid://shopify/Location/1", "name": "Warehouse Berlin"}},
	{"name": "Shop Shanghai", "location": map[string]any{"id": "gid://shopify/Location/2", "name": "Shop Shanghai"}},
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, schema: loadSchema(t, "testdata/admin-2026-10.graphql"), available: 2000, cost: 12,
		cancelled: map[string]bool{}, fulfilled: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	prev := origin
	origin = func(string) string { return s.URL }
	t.Cleanup(func() { origin = prev })
	return s
}

func (s *standIn) answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/admin/api/"+APIVersion+"/graphql.json" {
		s.t.Errorf("request to %s, not the pinned version's GraphQL path", r.URL.Path)
		s.answer(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != testToken {
		s.answer(w, http.StatusUnauthorized, map[string]any{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.t.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		s.answer(w, http.StatusBadRequest, map[string]any{"errors": "bad request"})
		return
	}
	var body struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	raw, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Query == "" {
		s.t.Errorf("the body is not a GraphQL request: %s", raw)
		s.answer(w, http.StatusBadRequest, map[string]any{"errors": map[string]any{"query": "Required parameter missing or invalid"}})
		return
	}
	doc, errs := gqlparser.LoadQueryWithRules(s.schema, body.Query, nil)
	if len(errs) > 0 {
		s.t.Errorf("a document does not validate against the %s schema: %v\n%s", APIVersion, errs, body.Query)
		s.answer(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": errs.Error(), "extensions": map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}}}})
		return
	}
	op := doc.Operations[0]
	if _, err := validator.VariableValues(s.schema, op, body.Variables); err != nil {
		s.t.Errorf("%s: variables %v do not validate: %v", op.Name, body.Variables, err)
		s.answer(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": err.Error(), "extensions": map[string]any{"code": "INVALID_VARIABLE"}}}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops = append(s.ops, op.Name)
	s.vars = append(s.vars, body.Variables)
	if s.tooMany {
		w.Header().Set("Retry-After", "2")
		s.answer(w, http.StatusTooManyRequests, map[string]any{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."})
		return
	}
	cost := map[string]any{"requestedQueryCost": s.cost, "actualQueryCost": nil,
		"throttleStatus": map[string]any{"maximumAvailable": 2000.0, "currentlyAvailable": s.available, "restoreRate": 100.0}}
	if s.available < s.cost {
		s.answer(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": "Throttled",
			"extensions": map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": map[string]any{"cost": cost}})
		return
	}
	s.available -= s.cost
	cost["actualQueryCost"] = s.cost
	cost["throttleStatus"].(map[string]any)["currentlyAvailable"] = s.available
	data, errors := s.resolve(op.Name, body.Variables)
	out := map[string]any{"data": data, "extensions": map[string]any{"cost": cost}}
	if errors != nil {
		out["errors"] = errors
	}
	s.answer(w, http.StatusOK, out)
}

func (s *standIn) order(id string) map[string]any {
	for _, o := range s.orders {
		if o["id"] == id {
			return o
		}
	}
	return nil
}

var (
	builtinScalar = regexp.MustCompile(`(?m)^scalar (ID|String|Int|Float|Boolean)\s*$`)
	updatedFilter = regexp.MustCompile(`^updated_at:>='([^']+)'$`)
	nameFilterRe  = regexp.MustCompile(`^name:"([^"]+)"$`)
	emailFilter   = regexp.MustCompile(`^email:(\S+)$`)
)

// page cuts list at the cursor after (an index) to first records, with pageInfo.
func page(list []map[string]any, vars map[string]any) map[string]any {
	start := 0
	if a, ok := vars["after"].(string); ok {
		start, _ = strconv.Atoi(a)
	}
	first := int(vars["first"].(float64))
	end := min(start+first, len(list))
	nodes := make([]any, 0, end-start)
	for _, o := range list[min(start, len(list)):end] {
		nodes = append(nodes, o)
	}
	return map[string]any{"nodes": nodes, "pageInfo": map[string]any{"hasNextPage": end < len(list), "endCursor": strconv.Itoa(end)}}
}

func userError(field, msg, code string) []any {
	e := map[string]any{"field": []any{field}, "message": msg}
	if code != "" {
		e["code"] = code
	}
	return []any{e}
}

// resolve answers an operation from the stand-in's records, the way Shopify's resolvers would.
func (s *standIn) resolve(op string, v map[string]any) (map[string]any, []any) {
	switch op {
	case "FerryShop":
		return map[string]any{"shop": map[string]any{"name": "Ferry Test Tea", "myshopifyDomain": testShop}}, nil
	case "FerryOrderGet":
		return map[string]any{"order": s.order(v["id"].(string))}, nil
	case "FerryOrderByName":
		m := nameFilterRe.FindStringSubmatch(v["query"].(string))
		var found []map[string]any
		for _, o := range s.orders {
			if m != nil && o["name"] == m[1] {
				found = append(found, o)
			}
		}
		return map[string]any{"orders": page(found, map[string]any{"first": 1.0})}, nil
	case "FerryOrdersChanged":
		m := updatedFilter.FindStringSubmatch(v["query"].(string))
		if m == nil {
			return nil, []any{map[string]any{"message": "bad query " + v["query"].(string)}}
		}
		var list []map[string]any
		for _, o := range s.orders {
			if o["updatedAt"].(string) >= m[1] {
				list = append(list, o)
			}
		}
		sort.SliceStable(list, func(i, j int) bool {
			if list[i]["updatedAt"] != list[j]["updatedAt"] {
				return list[i]["updatedAt"].(string) < list[j]["updatedAt"].(string)
			}
			a, _ := strconv.Atoi(list[i]["legacyResourceId"].(string))
			b, _ := strconv.Atoi(list[j]["legacyResourceId"].(string))
			return a < b
		})
		return map[string]any{"orders": page(list, v)}, nil
	case "FerryOrderUpdate":
		in := v["input"].(map[string]any)
		o := s.order(in["id"].(string))
		if o == nil {
			return map[string]any{"orderUpdate": map[string]any{"order": nil, "userErrors": userError("id", "Order does not exist", "")}}, nil
		}
		if n, ok := in["note"]; ok {
			o["note"] = n
		}
		return map[string]any{"orderUpdate": map[string]any{"order": o, "userErrors": []any{}}}, nil
	case "FerryTagsAdd", "FerryTagsRemove":
		o := s.order(v["id"].(string))
		if o == nil {
			return map[string]any{strings.Replace(op, "FerryT", "t", 1): map[string]any{"node": nil, "userErrors": userError("id", "Order does not exist", "")}}, nil
		}
		tags := map[string]bool{}
		for _, t := range o["tags"].([]any) {
			tags[t.(string)] = true
		}
		for _, t := range v["tags"].([]any) {
			tags[t.(string)] = op == "FerryTagsAdd"
		}
		var list []any
		for t, on := range tags {
			if on {
				list = append(list, t)
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i].(string) < list[j].(string) })
		o["tags"] = list
		key := map[string]string{"FerryTagsAdd": "tagsAdd", "FerryTagsRemove": "tagsRemove"}[op]
		return map[string]any{key: map[string]any{"node": map[string]any{"id": o["id"], "name": o["name"], "tags": list}, "userErrors": []any{}}}, nil
	case "FerryMetafieldSet":
		if v["type"] == "number_integer" {
			if _, err := strconv.Atoi(v["value"].(string)); err != nil {
				return map[string]any{"metafieldsSet": map[string]any{"metafields": nil, "userErrors": []any{map[string]any{
					"field": []any{"metafields", "0", "value"}, "message": "Value must be an integer.", "code": "INVALID_VALUE", "elementIndex": 0}}}}, nil
			}
		}
		return map[string]any{"metafieldsSet": map[string]any{"metafields": []any{map[string]any{"id": "gid://shopify/Metafield/1",
			"namespace": v["namespace"], "key": v["key"], "type": v["type"], "value": v["value"], "updatedAt": "2026-11-20T10:00:00Z"}}, "userErrors": []any{}}}, nil
	case "FerryFulfillmentOrders":
		o := s.order(v["id"].(string))
		if o == nil {
			return map[string]any{"order": nil}, nil
		}
		status := "OPEN"
		if s.fulfilled[o["id"].(string)] {
			status = "CLOSED"
		}
		n := strings.TrimPrefix(o["id"].(string), "gid://shopify/Order/")
		return map[string]any{"order": map[string]any{"id": o["id"], "name": o["name"], "fulfillmentOrders": map[string]any{"nodes": []any{
			map[string]any{"id": "gid://shopify/FulfillmentOrder/" + n + "1", "status": status, "assignedLocation": standInLocations[0]},
			map[string]any{"id": "gid://shopify/FulfillmentOrder/" + n + "2", "status": "CANCELLED", "assignedLocation": standInLocations[1]}}}}}, nil
	case "FerryLocations":
		var nodes []any
		for _, l := range standInLocations {
			nodes = append(nodes, l["location"])
		}
		return map[string]any{"locations": map[string]any{"nodes": nodes, "pageInfo": map[string]any{"hasNextPage": false}}}, nil
	case "FerryFulfillmentCreate":
		f := v["fulfillment"].(map[string]any)
		items := f["lineItemsByFulfillmentOrder"].([]any)
		foID := items[0].(map[string]any)["fulfillmentOrderId"].(string)
		orderID := "gid://shopify/Order/" + strings.TrimSuffix(strings.TrimPrefix(foID, "gid://shopify/FulfillmentOrder/"), "1")
		s.fulfilled[orderID] = true
		return map[string]any{"fulfillmentCreate": map[string]any{"fulfillment": map[string]any{"id": "gid://shopify/Fulfillment/77",
			"name": "#1001-F1", "status": "SUCCESS", "createdAt": "2026-11-20T10:00:00Z", "trackingInfo": []any{f["trackingInfo"]}}, "userErrors": []any{}}}, nil
	case "FerryOrderCancel":
		id := v["orderId"].(string)
		if s.cancelled[id] {
			return map[string]any{"orderCancel": map[string]any{"job": nil, "orderCancelUserErrors": userError("orderId", "Order has already been cancelled", "ORDER_ALREADY_CANCELLED")}}, nil
		}
		s.cancelled[id] = true
		return map[string]any{"orderCancel": map[string]any{"job": map[string]any{"id": "gid://shopify/Job/1", "done": false}, "orderCancelUserErrors": []any{}}}, nil
	case "FerryCustomers":
		var list []map[string]any
		m := emailFilter.FindStringSubmatch(v["query"].(string))
		for _, c := range s.customers {
			if m == nil || c["defaultEmailAddress"].(map[string]any)["emailAddress"] == m[1] {
				list = append(list, c)
			}
		}
		return map[string]any{"customers": page(list, v)}, nil
	case "FerryCustomerUpsert":
		email := v["email"].(string)
		var c map[string]any
		for _, x := range s.customers {
			if x["defaultEmailAddress"].(map[string]any)["emailAddress"] == email {
				c = x
			}
		}
		if c == nil {
			c = map[string]any{"id": fmt.Sprintf("gid://shopify/Customer/%d", 100+len(s.customers)), "legacyResourceId": strconv.Itoa(100 + len(s.customers)),
				"displayName": "", "firstName": nil, "lastName": nil, "note": nil, "tags": []any{}, "createdAt": "2026-11-20T10:00:00Z",
				"updatedAt": "2026-11-20T10:00:00Z", "numberOfOrders": "0", "defaultEmailAddress": map[string]any{"emailAddress": email}, "defaultPhoneNumber": nil}
			s.customers = append(s.customers, c)
		}
		for _, k := range []string{"firstName", "lastName", "note", "tags"} {
			if x, ok := v[k]; ok {
				c[k] = x
			}
		}
		if p, ok := v["phone"]; ok {
			c["defaultPhoneNumber"] = map[string]any{"phoneNumber": p}
		}
		return map[string]any{"customerSet": map[string]any{"customer": c, "userErrors": []any{}}}, nil
	}
	s.t.Errorf("the stand-in has no resolver for %s", op)
	return nil, []any{map[string]any{"message": "unknown operation " + op}}
}

func (s *standIn) received() ([]string, []map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ops...), append([]map[string]any(nil), s.vars...)
}

// testOrder is an order as the Admin API's GraphQL gives it.
func testOrder(n int, updated string) map[string]any {
	return map[string]any{
		"id": fmt.Sprintf("gid://shopify/Order/%d", 5000+n), "legacyResourceId": strconv.Itoa(5000 + n), "name": fmt.Sprintf("#%d", 1000+n),
		"createdAt": "2026-11-01T08:00:00Z", "updatedAt": updated, "processedAt": "2026-11-01T08:00:00Z",
		"cancelledAt": nil, "cancelReason": nil, "closedAt": nil, "displayFinancialStatus": "PAID", "displayFulfillmentStatus": "UNFULFILLED",
		"email": "ada@example.com", "phone": nil, "note": nil, "tags": []any{"web"}, "currencyCode": "EUR",
		"totalPriceSet":         map[string]any{"shopMoney": map[string]any{"amount": "149.99", "currencyCode": "EUR"}},
		"totalShippingPriceSet": map[string]any{"shopMoney": map[string]any{"amount": "15.0", "currencyCode": "EUR"}},
		"totalDiscountsSet":     map[string]any{"shopMoney": map[string]any{"amount": "0.0", "currencyCode": "EUR"}},
		"customer": map[string]any{"id": "gid://shopify/Customer/7", "displayName": "Ada Lovelace", "firstName": "Ada", "lastName": "Lovelace",
			"defaultEmailAddress": map[string]any{"emailAddress": "ada@example.com"}, "defaultPhoneNumber": map[string]any{"phoneNumber": "+4930901820"}},
		"lineItems": map[string]any{"nodes": []any{map[string]any{"sku": "TEA-1", "name": "Sencha", "quantity": 2.0,
			"originalUnitPriceSet": map[string]any{"shopMoney": map[string]any{"amount": "67.50", "currencyCode": "EUR"}}}}},
	}
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

// exec is a live step whose credential may go to the stand-in only.
func (s *standIn) exec(input any) *nodes.Exec {
	fields := map[string]string{FieldShop: testShop, FieldAccessToken: testToken}
	ds := egress.MustDestinations(s.URL)
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Shopify", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}
