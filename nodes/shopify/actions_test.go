package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"

	"github.com/ferry-hq/ferry/nodes"
)

// TestDocumentsValidateAgainstTheSchema: every GraphQL document the connector sends parses and validates against
// the Admin API schema of the pinned version (testdata/README.md says where it comes from).
//
// FERRY_SHOPIFY_ADMIN_SCHEMA may name a whole published Admin schema (SDL) to check them against as well:
// Shopify publishes it through shopify.dev's GraphQL proxy, which tests cannot reach, so it is given from outside.
func TestDocumentsValidateAgainstTheSchema(t *testing.T) {
	schemas := []string{"testdata/admin-2026-10.graphql"}
	if path := os.Getenv("FERRY_SHOPIFY_ADMIN_SCHEMA"); path != "" {
		schemas = append(schemas, path)
	}
	for _, path := range schemas {
		schema := loadSchema(t, path)
		for name, doc := range Documents() {
			if _, errs := gqlparser.LoadQueryWithRules(schema, doc, nil); len(errs) > 0 {
				t.Errorf("%s: %s: %v", path, name, errs)
			}
		}
	}
	// The check can fail: a field the API does not have is refused.
	if _, errs := gqlparser.LoadQueryWithRules(loadSchema(t, schemas[0]), `query { order(id: "gid://shopify/Order/1") { financialStatus } }`, nil); len(errs) == 0 {
		t.Fatal("a removed field (Order.financialStatus) validated")
	}
}

func TestOrderReads(t *testing.T) {
	s := newStandIn(t)
	s.orders = []map[string]any{testOrder(1, "2026-11-20T10:00:00Z")}
	x := s.exec(map[string]any{"body": map[string]any{"orderId": "gid://shopify/Order/5001"}})
	ctx := context.Background()

	res, err := build(t, "shopify.order.get", map[string]any{"order": "5001"}).Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["name"] != "#1001" {
		t.Fatalf("get by number: %v %v", res.Output, err)
	}
	res, err = build(t, "shopify.order.get", map[string]any{"order": "{{ trigger.body.orderId }}"}).Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["legacyResourceId"] != "5001" {
		t.Fatalf("get by global id: %v %v", res.Output, err)
	}
	_, err = build(t, "shopify.order.get", map[string]any{"order": "9999"}).Execute(ctx, x)
	failure(t, err, "shopify_not_found", nodes.Permanent)
	_, err = build(t, "shopify.order.get", map[string]any{"order": "#1001"}).Execute(ctx, x)
	failure(t, err, "shopify_request_invalid", nodes.Permanent)

	res, err = build(t, "shopify.order.find", map[string]any{"name": "#1001"}).Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["id"] != "gid://shopify/Order/5001" {
		t.Fatalf("find by name: %v %v", res.Output, err)
	}
	_, err = build(t, "shopify.order.find", map[string]any{"name": "#2000"}).Execute(ctx, x)
	failure(t, err, "shopify_not_found", nodes.Permanent)
	_, vars := s.received()
	if vars[len(vars)-1]["query"] != `name:"#2000"` {
		t.Fatalf("name filter %v", vars[len(vars)-1])
	}
}

// TestOrdersChangedPagesInOrder: the changes come oldest first, ties by id, through pageInfo, and a reader that
// keeps a watermark continues where it stopped without losing or repeating an order changed in the same second.
func TestOrdersChangedPagesInOrder(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 45; i++ {
		// Three orders per second, listed out of order.
		s.orders = append(s.orders, testOrder(46-i, fmt.Sprintf("2026-11-20T10:00:%02dZ", (46-i)/3)))
	}
	x := s.exec(nil)
	res, err := build(t, "shopify.orders.changed", map[string]any{"since": "2026-11-20T10:00:05Z", "pages": "all", "pageSize": 7}).Execute(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	items := out["items"].([]any)
	// updatedAt second ≥ 5: orders 15…45.
	if len(items) != 31 || out["complete"] != true || out["pages"] != int64(5) {
		t.Fatalf("%d orders in %v pages, complete %v", len(items), out["pages"], out["complete"])
	}
	var prev Watermark
	for i, it := range items {
		w, err := WatermarkOf(it.(map[string]any))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && !(w.UpdatedAt.After(prev.UpdatedAt) || (w.UpdatedAt.Equal(prev.UpdatedAt) && w.ID > prev.ID)) {
			t.Fatalf("order %d (%v) does not come after %v", i, w, prev)
		}
		prev = w
	}
	ops, vars := s.received()
	if ops[0] != "FerryOrdersChanged" || vars[0]["query"] != "updated_at:>='2026-11-20T10:00:05Z'" || vars[0]["first"] != 7.0 || vars[1]["after"] != "7" {
		t.Fatalf("sent %v %v", ops, vars[:2])
	}

	// A poller that stopped after the second of three orders changed at 10:00:07 asks from that second again
	// and drops what it has seen by id.
	mark := Watermark{UpdatedAt: time.Date(2026, 11, 20, 10, 0, 7, 0, time.UTC), ID: 5022}
	if got := ChangedSinceVariables(mark.UpdatedAt, "", 50); got["query"] != "updated_at:>='2026-11-20T10:00:07Z'" || got["first"] != int64(50) {
		t.Fatalf("variables %v", got)
	}
	var kept []string
	for _, it := range items {
		if ok, _ := mark.After(it.(map[string]any)); ok {
			kept = append(kept, it.(map[string]any)["legacyResourceId"].(string))
		}
	}
	if len(kept) != 23 || kept[0] != "5023" {
		t.Fatalf("after the watermark: %v", kept)
	}
}

func TestOrderChanges(t *testing.T) {
	s := newStandIn(t)
	s.orders = []map[string]any{testOrder(1, "2026-11-20T10:00:00Z"), testOrder(2, "2026-11-20T10:00:00Z")}
	x := s.exec(nil)
	ctx := context.Background()

	res, err := build(t, "shopify.order.update", map[string]any{"order": "5001", "note": "Gift wrap"}).Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["note"] != "Gift wrap" {
		t.Fatalf("update: %v %v", res, err)
	}
	_, vars := s.received()
	if in := vars[0]["input"].(map[string]any); in["id"] != "gid://shopify/Order/5001" || in["note"] != "Gift wrap" || len(in) != 2 {
		t.Fatalf("orderUpdate input %v (an empty e-mail must not be sent)", in)
	}
	res, err = build(t, "shopify.order.tags.add", map[string]any{"order": "5001", "tags": "paid, crm-synced"}).Execute(ctx, x)
	if err != nil || fmt.Sprint(res.Output.(map[string]any)["tags"]) != "[crm-synced paid web]" {
		t.Fatalf("tags add: %v %v", res, err)
	}
	res, err = build(t, "shopify.order.tags.remove", map[string]any{"order": "5001", "tags": "web"}).Execute(ctx, x)
	if err != nil || fmt.Sprint(res.Output.(map[string]any)["tags"]) != "[crm-synced paid]" {
		t.Fatalf("tags remove: %v %v", res, err)
	}
	_, err = build(t, "shopify.order.tags.add", map[string]any{"order": "5009", "tags": "x"}).Execute(ctx, x)
	e := failure(t, err, CodeUserError, nodes.Permanent)
	if !strings.Contains(e.Error(), "tagsAdd: id: Order does not exist") {
		t.Fatalf("the provider's message is not quoted: %v", e)
	}

	res, err = build(t, "shopify.metafield.set", map[string]any{"owner": "5001", "namespace": "crm", "key": "deal", "type": "number_integer", "value": "{{ 42 }}"}).Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["value"] != "42" {
		t.Fatalf("metafield: %v %v", res, err)
	}
	_, err = build(t, "shopify.metafield.set", map[string]any{"owner": "5001", "namespace": "crm", "key": "deal", "type": "number_integer", "value": "many"}).Execute(ctx, x)
	e = failure(t, err, CodeUserError, nodes.Permanent)
	if !strings.Contains(e.Error(), "metafields.0.value: Value must be an integer. (INVALID_VALUE)") {
		t.Fatalf("metafield user error: %v", e)
	}

	// Fulfilment: the open fulfilment order is looked up, then fulfilled; a second time there is nothing open.
	fulfil := build(t, "shopify.fulfillment.create", map[string]any{"order": "5001", "notifyCustomer": true,
		"trackingCompany": "DHL Express", "trackingNumber": "JD0142"})
	res, err = fulfil.Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["id"] != "gid://shopify/Fulfillment/77" {
		t.Fatalf("fulfil: %v %v", res, err)
	}
	ops, vars := s.received()
	n := len(ops)
	f := vars[n-1]["fulfillment"].(map[string]any)
	if ops[n-2] != "FerryFulfillmentOrders" || ops[n-1] != "FerryFulfillmentCreate" || vars[n-1]["order"] != nil ||
		fmt.Sprint(f["lineItemsByFulfillmentOrder"]) != "[map[fulfillmentOrderId:gid://shopify/FulfillmentOrder/50011]]" ||
		f["notifyCustomer"] != true || f["trackingInfo"].(map[string]any)["number"] != "JD0142" {
		t.Fatalf("fulfilment sent %v %v", ops[n-2:], vars[n-1])
	}
	_, err = fulfil.Execute(ctx, x)
	failure(t, err, CodeNothingToFulfil, nodes.Permanent)
	_, err = build(t, "shopify.fulfillment.create", map[string]any{"order": "5009"}).Execute(ctx, x)
	failure(t, err, "shopify_not_found", nodes.Permanent)
	// A location chosen: only what ships from there is fulfilled; an order with nothing open there is refused
	// and names the location. The location is not sent to fulfillmentCreate.
	_, err = build(t, "shopify.fulfillment.create", map[string]any{"order": "5002", "location": "2"}).Execute(ctx, x)
	e = failure(t, err, CodeNothingToFulfil, nodes.Permanent)
	if !strings.Contains(e.Error(), "nothing open at location gid://shopify/Location/2") {
		t.Fatalf("another location's fulfilment: %v", e)
	}
	res, err = build(t, "shopify.fulfillment.create", map[string]any{"order": "5002", "location": "gid://shopify/Location/1"}).Execute(ctx, x)
	ops, vars = s.received()
	n = len(ops)
	if err != nil || ops[n-1] != "FerryFulfillmentCreate" || vars[n-1]["location"] != nil ||
		fmt.Sprint(vars[n-1]["fulfillment"].(map[string]any)["lineItemsByFulfillmentOrder"]) != "[map[fulfillmentOrderId:gid://shopify/FulfillmentOrder/50021]]" {
		t.Fatalf("fulfil from a location: %v %v %v", res, err, vars[n-1])
	}
	_, err = build(t, "shopify.fulfillment.create", map[string]any{"order": "5002", "location": "Berlin"}).Execute(ctx, x)
	failure(t, err, "shopify_request_invalid", nodes.Permanent)

	cancel := build(t, "shopify.order.cancel", map[string]any{"order": "5001", "reason": "CUSTOMER", "staffNote": "asked by phone"})
	if res, err = cancel.Execute(ctx, x); err != nil || res.Output.(map[string]any)["id"] != "gid://shopify/Job/1" {
		t.Fatalf("cancel: %v %v", res, err)
	}
	_, vars = s.received()
	if v := vars[len(vars)-1]; fmt.Sprint(v["refundMethod"]) != "map[originalPaymentMethodsRefund:true]" || v["restock"] != true ||
		v["notifyCustomer"] != false || v["reason"] != "CUSTOMER" {
		t.Fatalf("orderCancel variables %v", v)
	}
	_, err = cancel.Execute(ctx, x)
	e = failure(t, err, CodeUserError, nodes.Permanent)
	if !strings.Contains(e.Error(), "Order has already been cancelled (ORDER_ALREADY_CANCELLED)") {
		t.Fatalf("cancel twice: %v", e)
	}
}

func TestCustomers(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(map[string]any{"email": "ada@example.com"})
	ctx := context.Background()
	upsert := build(t, "shopify.customer.upsert", map[string]any{"email": "{{ prev.email }}", "firstName": "Ada", "tags": "vip, crm"})
	for i := 0; i < 2; i++ {
		res, err := upsert.Execute(ctx, x)
		if err != nil || res.Output.(map[string]any)["id"] != "gid://shopify/Customer/100" {
			t.Fatalf("upsert %d: %v %v", i, res, err)
		}
	}
	if len(s.customers) != 1 {
		t.Fatalf("a repeated upsert made %d customers", len(s.customers))
	}
	_, vars := s.received()
	if v := vars[0]; v["email"] != "ada@example.com" || fmt.Sprint(v["tags"]) != "[vip crm]" || v["lastName"] != nil {
		t.Fatalf("customerSet variables %v (empty fields must not be sent)", v)
	}
	for i := 0; i < 4; i++ {
		upsertOther := build(t, "shopify.customer.upsert", map[string]any{"email": fmt.Sprintf("c%d@example.com", i)})
		if _, err := upsertOther.Execute(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	res, err := build(t, "shopify.customers.search", map[string]any{"query": "updated_at:>2026-01-01", "pages": "all", "pageSize": 2}).Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["count"] != int64(5) || res.Output.(map[string]any)["pages"] != int64(3) {
		t.Fatalf("search: %v %v", res, err)
	}
}

// TestThrottling: the answer's throttleStatus holds the credential's calls until the bucket can take another like
// the last; THROTTLED is a rate limit with the wait the bucket needs, not a failure; a 429 waits its Retry-After.
func TestThrottling(t *testing.T) {
	s := newStandIn(t)
	s.orders = []map[string]any{testOrder(1, "2026-11-20T10:00:00Z")}
	var held []time.Duration
	x := s.exec(nil)
	x.ReportQuota = func(_ context.Context, d time.Duration) { held = append(held, d) }
	get := build(t, "shopify.order.get", map[string]any{"order": "5001"})
	ctx := context.Background()

	s.available, s.cost = 2000, 12
	if _, err := get.Execute(ctx, x); err != nil || len(held) != 0 {
		t.Fatalf("a full bucket held the key: %v %v", held, err)
	}
	// With 20 points a 12-point query goes and leaves 8, 4 short of the next like it: 40 ms at 100 points a second.
	s.available = 20
	if _, err := get.Execute(ctx, x); err != nil {
		t.Fatal(err)
	}
	if len(held) != 1 || held[0] != 40*time.Millisecond {
		t.Fatalf("held %v, want 40ms", held)
	}

	s.available, s.cost = 2, 302
	_, err := get.Execute(ctx, x)
	e := failure(t, err, CodeRateLimited, nodes.RetryAfter)
	if !e.RateLimited || e.After != 3*time.Second || !strings.Contains(e.Error(), "Throttled (THROTTLED)") {
		t.Fatalf("THROTTLED: limited %v after %s: %v", e.RateLimited, e.After, e)
	}
	if d, _ := json.Marshal(e.Details); !strings.Contains(string(d), `"throttleStatus"`) || strings.Contains(string(d), testToken) {
		t.Fatalf("details %s", d)
	}

	s.tooMany = true
	_, err = get.Execute(ctx, x)
	if e = failure(t, err, CodeRateLimited, nodes.RetryAfter); e.After != 2*time.Second || !e.RateLimited {
		t.Fatalf("429: %+v", e)
	}
}

func TestRefusedToken(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(nil)
	x.Credential = func(context.Context) (map[string]string, error) {
		return map[string]string{FieldShop: testShop, FieldAccessToken: "shpat_wrong"}, nil
	}
	_, err := build(t, "shopify.order.get", map[string]any{"order": "1"}).Execute(context.Background(), x)
	e := failure(t, err, "shopify_unauthorized", nodes.Permanent)
	if !strings.Contains(e.Error(), "[API] Invalid API key or access token") {
		t.Fatalf("Shopify's message is not quoted: %v", e)
	}
}

func TestCheckReadsGraphQLFailures(t *testing.T) {
	for _, c := range []struct {
		body, code string
		kind       nodes.Kind
	}{
		{`{"errors":[{"message":"Access denied for orders field.","extensions":{"code":"ACCESS_DENIED"}}]}`, CodeAccessDenied, nodes.Permanent},
		{`{"errors":[{"message":"Field 'financialStatus' doesn't exist on type 'Order'"}]}`, CodeGraphQLError, nodes.Permanent},
		{`{"errors":[{"message":"Internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`, CodeServerError, nodes.Retryable},
		{`{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}`, CodeRateLimited, nodes.RetryAfter},
		{`{"data":{"customerSet":{"customer":null,"userErrors":[{"field":["input","phone"],"message":"Phone has already been taken","code":"TAKEN"}]}}}`, CodeUserError, nodes.Permanent},
	} {
		err := checkBody(c.body)
		e := nodes.Classify(err)
		if err == nil || e.Code != c.code || e.Kind != c.kind {
			t.Errorf("%s: %v, want %s %s", c.body, err, c.code, c.kind)
		}
	}
	if err := checkBody(`{"data":{"orderUpdate":{"order":{"id":"1"},"userErrors":[]}}}`); err != nil {
		t.Errorf("a success failed: %v", err)
	}
}

func TestCredential(t *testing.T) {
	for in, want := range map[string]string{"my-shop": "my-shop.myshopify.com", " My-Shop.myshopify.com ": "my-shop.myshopify.com",
		"https://my-shop.myshopify.com/admin": "my-shop.myshopify.com", "my-shop.myshopify.com/": "my-shop.myshopify.com"} {
		if got, err := ShopDomain(in); got != want || err != nil {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "shop.example.com", "http://my-shop.myshopify.com", "my-shop.myshopify.com.evil.com", "-x.myshopify.com", "a b"} {
		if _, err := ShopDomain(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	ct, _ := nodes.LookupCredentialType(CredentialType)
	if d := ct.Destinations(map[string]string{FieldShop: "my-shop"}); fmt.Sprint(d) != "[https://my-shop.myshopify.com]" {
		t.Fatalf("destinations %v", d)
	}
	if f := ct.Field(FieldWebhookSecret); !f.Secret || !f.Inbound {
		t.Fatalf("the webhook secret must be secret and inbound: %+v", f)
	}

	s := newStandIn(t)
	client := s.exec(nil).HTTP
	msg, err := ct.Test(context.Background(), map[string]string{FieldShop: testShop, FieldAccessToken: testToken}, client)
	if err != nil || !strings.Contains(msg, `"Ferry Test Tea"`) || strings.Contains(msg, testToken) {
		t.Fatalf("test connection: %q %v", msg, err)
	}
	if _, err := ct.Test(context.Background(), map[string]string{FieldShop: testShop, FieldAccessToken: "shpat_wrong"}, client); err == nil ||
		!strings.Contains(err.Error(), "Invalid API key") {
		t.Fatalf("a wrong token: %v", err)
	}
	if _, err := ct.Test(context.Background(), map[string]string{FieldShop: "shop.example.com", FieldAccessToken: testToken}, client); err == nil {
		t.Fatal("a custom domain was accepted")
	}
}
