package woocommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

func TestOrderReads(t *testing.T) {
	s := newStandIn(t)
	s.orders = []map[string]any{testOrder(727, "processing", "2026-11-20T10:00:00")}
	ctx := context.Background()
	res, err := build(t, "woocommerce.order.get", map[string]any{"order": "{{ trigger.id }}"}).Execute(ctx, s.exec(map[string]any{"id": 727}))
	if err != nil || res.Output.(map[string]any)["number"] != "727" {
		t.Fatalf("get: %v %v", res.Output, err)
	}
	r := s.received()[0]
	if r.Method != "GET" || r.URL.Path != "/wp-json/wc/v3/orders/727" || r.Header.Get("Accept") != "application/json" {
		t.Fatalf("sent %s %s", r.Method, r.URL)
	}
	_, err = build(t, "woocommerce.order.get", map[string]any{"order": "728"}).Execute(ctx, s.exec(nil))
	e := failure(t, err, "woocommerce_not_found", nodes.Permanent)
	if !strings.Contains(e.Error(), "woocommerce_rest_shop_order_invalid_id: Invalid ID.") {
		t.Fatalf("WooCommerce's code and message are not quoted: %v", e)
	}
	_, err = build(t, "woocommerce.order.get", map[string]any{"order": "{{ 'seven' }}"}).Execute(ctx, s.exec(nil))
	failure(t, err, "woocommerce_request_invalid", nodes.Permanent)
}

// TestOrdersListPagesByTotalPages: the list asks for orders modified after a time, oldest first, and follows the
// numbered pages up to X-WP-TotalPages.
func TestOrdersListPagesByTotalPages(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 7; i++ {
		s.orders = append(s.orders, testOrder(100+i, "processing", fmt.Sprintf("2026-11-20T10:00:%02d", 60-i*5)))
	}
	n := build(t, "woocommerce.orders.list", map[string]any{"modifiedAfter": "2026-11-20T11:00:35+01:00", "status": "processing",
		"pages": "all", "pageSize": 2})
	res, err := n.Execute(context.Background(), s.exec(nil))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	var ids []string
	for _, o := range out["items"].([]any) {
		ids = append(ids, fmt.Sprint(o.(map[string]any)["id"]))
	}
	// Modified after 10:00:35 GMT: orders 104 (…:40) to 101 (…:55), oldest change first.
	if strings.Join(ids, ",") != "104,103,102,101" || out["pages"] != int64(2) || out["complete"] != true {
		t.Fatalf("listed %v, %v pages, complete %v", ids, out["pages"], out["complete"])
	}
	q := s.received()[1].URL.Query()
	if q.Get("modified_after") != "2026-11-20T10:00:35" || q.Get("dates_are_gmt") != "true" || q.Get("orderby") != "modified" ||
		q.Get("order") != "asc" || q.Get("page") != "2" || q.Get("per_page") != "2" || q.Get("status") != "processing" {
		t.Fatalf("second page asked %v", q)
	}
}

func TestOrderChanges(t *testing.T) {
	s := newStandIn(t)
	s.orders = []map[string]any{testOrder(727, "processing", "2026-11-20T10:00:00")}
	ctx := context.Background()
	res, err := build(t, "woocommerce.order.status.update", map[string]any{"order": "727", "status": "completed"}).Execute(ctx, s.exec(nil))
	if err != nil || res.Output.(map[string]any)["status"] != "completed" {
		t.Fatalf("update: %v %v", res.Output, err)
	}
	if b := s.lastBody(); fmt.Sprint(b) != "map[status:completed]" {
		t.Fatalf("sent %v", b)
	}
	// A store's own status goes through (the form loads it from the account), one it does not know is WooCommerce's 400.
	if _, err := build(t, "woocommerce.order.status.update", map[string]any{"order": "727", "status": "awaiting-shipment"}).Execute(ctx, s.exec(nil)); err != nil {
		t.Fatal(err)
	}
	_, err = build(t, "woocommerce.order.status.update", map[string]any{"order": "727", "status": "{{ 'shipped' }}"}).Execute(ctx, s.exec(nil))
	failure(t, err, "woocommerce_invalid_request", nodes.Permanent)

	res, err = build(t, "woocommerce.order.note.create", map[string]any{"order": "727", "note": "Synced as deal {{ trigger.deal }}", "customerNote": true}).
		Execute(ctx, s.exec(map[string]any{"deal": 9}))
	if err != nil || res.Output.(map[string]any)["note"] != "Synced as deal 9" {
		t.Fatalf("note: %v %v", res.Output, err)
	}
	if b := s.lastBody(); b["customer_note"] != true || b["note"] != "Synced as deal 9" {
		t.Fatalf("sent %v", b)
	}
	last := s.received()[len(s.received())-1]
	if last.Method != "POST" || last.URL.Path != "/wp-json/wc/v3/orders/727/notes" {
		t.Fatalf("note sent to %s %s", last.Method, last.URL.Path)
	}

	// A test run shows the request without the key pair and sends nothing.
	x := s.exec(nil)
	x.Mode = nodes.ModeTest
	calls := len(s.received())
	dry, err := build(t, "woocommerce.order.status.update", map[string]any{"order": "727", "status": "completed"}).(nodes.DryRunner).DryRun(ctx, x)
	if err != nil || len(s.received()) != calls {
		t.Fatalf("dry run: %v, %d requests", err, len(s.received())-calls)
	}
	if b, _ := json.Marshal(dry.Output); strings.Contains(string(b), testSecret) || strings.Contains(string(b), "Authorization") {
		t.Fatalf("the dry run shows the credential: %s", b)
	}
}

func TestCustomers(t *testing.T) {
	s := newStandIn(t)
	s.customers = []map[string]any{{"id": 7, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "role": "customer",
		"billing": map[string]any{"phone": "+49 30 901820"}}, {"id": 8, "email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper",
		"role": "shop_manager", "billing": map[string]any{}}}
	ctx := context.Background()
	res, err := build(t, "woocommerce.customer.get", map[string]any{"customer": "8"}).Execute(ctx, s.exec(nil))
	if err != nil || res.Output.(map[string]any)["first_name"] != "Grace" {
		t.Fatalf("get: %v %v", res.Output, err)
	}
	res, err = build(t, "woocommerce.customers.search", map[string]any{"search": "Hopper"}).Execute(ctx, s.exec(nil))
	if err != nil || res.Output.(map[string]any)["count"] != int64(1) {
		t.Fatalf("search every role: %v %v", res.Output, err)
	}

	// The upsert updates the shop manager who ordered (found only with role=all) and creates who is missing.
	upsert := build(t, "woocommerce.customer.upsert", map[string]any{"email": "{{ trigger.email }}", "lastName": "Hopper-Murray", "phone": "+1 555 0100"})
	calls := len(s.received())
	res, err = upsert.Execute(ctx, s.exec(map[string]any{"email": "grace@example.com"}))
	if err != nil || res.Output.(map[string]any)["id"] != int64(8) || res.Output.(map[string]any)["last_name"] != "Hopper-Murray" {
		t.Fatalf("update: %v %v", res.Output, err)
	}
	sent := s.received()[calls:]
	if len(sent) != 2 || sent[0].Method != "GET" || sent[0].URL.Query().Get("email") != "grace@example.com" || sent[0].URL.Query().Get("role") != "all" ||
		sent[1].Method != "PUT" || sent[1].URL.Path != "/wp-json/wc/v3/customers/8" {
		t.Fatalf("update sent %v %v", sent[0].URL, sent[len(sent)-1].URL)
	}
	if b := s.lastBody(); fmt.Sprint(b["billing"]) != "map[phone:+1 555 0100]" || b["first_name"] != nil {
		t.Fatalf("update body %v: empty fields must not be sent", b)
	}
	res, err = upsert.Execute(ctx, s.exec(map[string]any{"email": "linus@example.com"}))
	if err != nil || res.Output.(map[string]any)["email"] != "linus@example.com" || len(s.customers) != 3 {
		t.Fatalf("create: %v %v", res.Output, err)
	}
	if last := s.received()[len(s.received())-1]; last.Method != "POST" || last.URL.Path != "/wp-json/wc/v3/customers" {
		t.Fatalf("create sent %s %s", last.Method, last.URL)
	}
}

func TestProviderFailures(t *testing.T) {
	s := newStandIn(t)
	s.orders = []map[string]any{testOrder(727, "processing", "2026-11-20T10:00:00")}
	get := build(t, "woocommerce.order.get", map[string]any{"order": "727"})
	ctx := context.Background()

	s.tooMany = true
	_, err := get.Execute(ctx, s.exec(nil))
	if e := failure(t, err, "woocommerce_rate_limited", nodes.RetryAfter); e.After != 7*time.Second || !e.RateLimited {
		t.Fatalf("429: %+v", e)
	}
	s.tooMany, s.broken = false, true
	_, err = get.Execute(ctx, s.exec(nil))
	failure(t, err, "woocommerce_server_error", nodes.Retryable)
	s.broken, s.html = false, true
	_, err = get.Execute(ctx, s.exec(nil))
	failure(t, err, CodeResponseInvalid, nodes.Permanent)
	s.html = false

	x := s.exec(nil)
	x.Credential = func(context.Context) (map[string]string, error) {
		f := fields()
		f[FieldConsumerSecret] = "cs_wrong"
		return f, nil
	}
	_, err = get.Execute(ctx, x)
	e := failure(t, err, "woocommerce_unauthorized", nodes.Permanent)
	if !strings.Contains(e.Error(), "woocommerce_rest_cannot_view") || strings.Contains(fmt.Sprint(e.Details), "cs_wrong") {
		t.Fatalf("401: %v %v", e, e.Details)
	}
	r := s.received()[len(s.received())-1]
	if u, p, ok := r.BasicAuth(); !ok || u != testKey || p != "cs_wrong" {
		t.Fatal("the key pair did not travel as HTTP Basic authentication")
	}

	// A store on plain http gets nothing: the key pair would travel in clear.
	x.Credential = func(context.Context) (map[string]string, error) {
		f := fields()
		f[FieldStoreURL] = "http://shop.example.com"
		return f, nil
	}
	calls := len(s.received())
	_, err = get.Execute(ctx, x)
	failure(t, err, CodeStoreURLInsecure, nodes.Permanent)
	if len(s.received()) != calls {
		t.Fatal("a request went out for an http store")
	}
}

// TestStatusesLoadFromTheAccount: the status fields offer the store's statuses, custom ones included.
func TestStatusesLoadFromTheAccount(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(nil)
	opts, err := connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: "woocommerce.order.status.update", Field: "status",
		CredentialID: "cred-woo-" + t.Name(), Credential: &nodes.ResolvedCredential{Name: "shop", Type: CredentialType, Fields: fields()}, Client: x.HTTP})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range opts {
		got = append(got, o.Value+"="+o.Label)
	}
	if strings.Join(got, ", ") != "pending=Pending payment, processing=Processing, completed=Completed, awaiting-shipment=Awaiting shipment" {
		t.Fatalf("options %v", opts)
	}
	if r := s.received()[0]; r.URL.Path != "/wp-json/wc/v3/reports/orders/totals" {
		t.Fatalf("loaded from %s", r.URL.Path)
	}
	reg, _ := nodes.Lookup("woocommerce.orders.list", 1)
	for _, f := range reg.Spec.Params {
		if f.Name == "status" && !f.LoadOptions {
			t.Fatal("the list's status does not load its options")
		}
	}
}

func TestCredential(t *testing.T) {
	for in, want := range map[string]string{"shop.example.com": "https://shop.example.com", " https://Shop.Example.com/ ": "https://shop.example.com",
		"https://example.com/shop/": "https://example.com/shop", "https://example.com/shop/wp-json/wc/v3": "https://example.com/shop",
		"https://shop.example.com:8443": "https://shop.example.com:8443"} {
		if got, err := StoreURL(in); err != nil || got.String() != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := StoreURL("http://shop.example.com"); nodes.Classify(err).Code != CodeStoreURLInsecure ||
		!strings.Contains(err.Error(), "HTTPS only") {
		t.Errorf("http: %v", err)
	}
	for _, bad := range []string{"", "ftp://shop.example.com", "https://user:pw@shop.example.com", "https://shop.example.com/?x=1", "https://"} {
		if _, err := StoreURL(bad); nodes.Classify(err).Code != CodeStoreURLInvalid {
			t.Errorf("%q: %v", bad, err)
		}
	}
	ct, _ := nodes.LookupCredentialType(CredentialType)
	if d := ct.Destinations(map[string]string{FieldStoreURL: "example.com/shop"}); fmt.Sprint(d) != "[https://example.com/shop/wp-json/wc/v3]" {
		t.Fatalf("destinations %v", d)
	}
	if d := ct.Destinations(map[string]string{FieldStoreURL: "http://example.com"}); len(d) != 0 {
		t.Fatalf("an http store has destinations %v", d)
	}
	if f := ct.Field(FieldWebhookSecret); !f.Secret || !f.Inbound {
		t.Fatalf("the webhook secret must be secret and inbound: %+v", f)
	}

	s := newStandIn(t)
	s.orders = []map[string]any{testOrder(1, "pending", "2026-11-20T10:00:00")}
	client := s.exec(nil).HTTP
	msg, err := ct.Test(context.Background(), fields(), client)
	if err != nil || !strings.Contains(msg, "(1 in all)") || strings.Contains(msg, testSecret) {
		t.Fatalf("test connection: %q %v", msg, err)
	}
	if q := s.received()[0].URL.Query(); s.received()[0].URL.Path != "/wp-json/wc/v3/orders" || q.Get("per_page") != "1" {
		t.Fatalf("the test asked %s", s.received()[0].URL)
	}
	bad := fields()
	bad[FieldConsumerKey] = "ck_wrong"
	if _, err := ct.Test(context.Background(), bad, client); err == nil || !strings.Contains(err.Error(), "Sorry, you cannot list resources") {
		t.Fatalf("a wrong key: %v", err)
	}
	if msg, err := ct.Test(context.Background(), map[string]string{FieldStoreURL: testStore, FieldWebhookSecret: "s"}, client); err != nil ||
		!strings.Contains(msg, "webhook secret is set") {
		t.Fatalf("a webhook-only credential: %q %v", msg, err)
	}
	if _, err := ct.Test(context.Background(), map[string]string{FieldStoreURL: "http://shop.example.com", FieldConsumerKey: testKey}, client); err == nil {
		t.Fatal("an http store was accepted")
	}
}
