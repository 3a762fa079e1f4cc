package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// vectors are deliveries signed by Shopify's official Node library (testdata/webhooks/vectors.json).
type vectorFile struct {
	Library string `json:"library"`
	Secret  string `json:"secret"`
	Vectors []struct {
		Name, File, Topic, WebhookID, Shop, HMAC string
	} `json:"vectors"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/webhooks/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func body(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/webhooks/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type delivery struct {
	body                         []byte
	hmac, topic, shop, webhookID string
	fields                       map[string]string
	credErr                      error
}

func (d delivery) request(secret string) *nodes.WebhookRequest {
	h := http.Header{}
	// The header names as Shopify writes them.
	for k, v := range map[string]string{"X-Shopify-Hmac-SHA256": d.hmac, "X-Shopify-Topic": d.topic, "X-Shopify-Shop-Domain": d.shop,
		"X-Shopify-Webhook-Id": d.webhookID, "X-Shopify-API-Version": APIVersion, "Content-Type": "application/json"} {
		if v != "" {
			h[k] = []string{v}
		}
	}
	fields := d.fields
	if fields == nil {
		fields = map[string]string{FieldShop: testShop, FieldWebhookSecret: secret}
	}
	return &nodes.WebhookRequest{Method: http.MethodPost, Header: http.Header(canonical(h)), Body: d.body, Mode: nodes.ModeLive,
		Credential: func(context.Context) (map[string]string, error) { return fields, d.credErr }}
}

// canonical files headers under Go's canonical names, as net/http does for a real request.
func canonical(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		for _, s := range v {
			out.Add(k, s)
		}
	}
	return out
}

func trigger(t *testing.T, topics string) nodes.WebhookTrigger {
	t.Helper()
	return build(t, TriggerType, map[string]any{"topics": topics}).(nodes.WebhookTrigger)
}

// TestOfficialVectorsAreAccepted: every delivery Shopify's library signed and accepted is accepted, with the
// webhook id as dedup key and the order name as business key.
func TestOfficialVectorsAreAccepted(t *testing.T) {
	vf := loadVectors(t)
	if vf.Library != "@shopify/shopify-api@15.0.0" || len(vf.Vectors) != 4 {
		t.Fatalf("vectors %+v", vf)
	}
	tr := trigger(t, "")
	business := map[string]string{"orders-paid": "#1001", "orders-cancelled": "#1002",
		"refunds-create": "gid://shopify/Order/5829437342011", "customers-update": "ada@example.com"}
	for _, v := range vf.Vectors {
		d := delivery{body: body(t, v.File), hmac: v.HMAC, topic: v.Topic, shop: v.Shop, webhookID: v.WebhookID}
		acc, err := tr.Accept(context.Background(), d.request(vf.Secret))
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if acc.DedupKey != v.WebhookID || acc.BusinessKey != business[v.Name] || acc.Ack.Status != http.StatusOK || acc.Skip {
			t.Errorf("%s: keys %q %q ack %+v", v.Name, acc.DedupKey, acc.BusinessKey, acc.Ack)
		}
		if acc.Payload["headers"].(map[string]any)["x-shopify-webhook-id"] != v.WebhookID {
			t.Errorf("%s: headers %v", v.Name, acc.Payload["headers"])
		}
	}
}

func TestPaidOrderIsNormalised(t *testing.T) {
	vf := loadVectors(t)
	v := vf.Vectors[0]
	acc, err := trigger(t, "orders/paid").Accept(context.Background(),
		delivery{body: body(t, v.File), hmac: v.HMAC, topic: v.Topic, shop: v.Shop, webhookID: v.WebhookID}.request(vf.Secret))
	if err != nil {
		t.Fatal(err)
	}
	got := acc.Payload["body"].(map[string]any)
	want := map[string]any{
		"provider": "shopify", "type": shop.EventPaid, "topic": "orders/paid", "eventId": v.WebhookID,
		"orderId": "gid://shopify/Order/5829437342011", "orderNumber": "#1001", "status": shop.StatusPaid, "providerStatus": "paid/unfulfilled",
		"time":     "2026-11-20T09:02:03Z",
		"customer": map[string]any{"id": "gid://shopify/Customer/7390558912571", "email": "ada@example.com", "phone": "+4930901820", "name": "Ada Lovelace"},
		"total":    map[string]any{"minor": int64(14999), "currency": "EUR", "decimal": "149.99"},
		"shipping": map[string]any{"minor": int64(1500), "currency": "EUR", "decimal": "15.00"},
		"discount": map[string]any{"minor": int64(1000), "currency": "EUR", "decimal": "10.00"},
		"items": []any{
			map[string]any{"sku": "TEA-SENCHA-100", "name": "Sencha tea - 100 g", "quantity": int64(2), "unitPrice": map[string]any{"minor": int64(2450), "currency": "EUR", "decimal": "24.50"}},
			map[string]any{"sku": "POT-CAST-1L", "name": "Cast iron teapot", "quantity": int64(1), "unitPrice": map[string]any{"minor": int64(10599), "currency": "EUR", "decimal": "105.99"}},
		},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if raw := got["raw"].(map[string]any); raw["total_price"] != "149.99" {
		t.Errorf("raw %v", raw["total_price"])
	}
}

// TestRefusals: a tampered body, a wrong secret, another store, a missing signature: each refused with 401 and
// its code, which the server records; a topic the flow does not take is acknowledged with no run.
func TestRefusals(t *testing.T) {
	vf := loadVectors(t)
	v := vf.Vectors[0]
	good := delivery{body: body(t, v.File), hmac: v.HMAC, topic: v.Topic, shop: v.Shop, webhookID: v.WebhookID}
	tr := trigger(t, "orders/paid")
	refuse := func(name string, req *nodes.WebhookRequest, status int, code string) {
		t.Helper()
		_, err := tr.Accept(context.Background(), req)
		var we *nodes.WebhookError
		if !errors.As(err, &we) || we.Status != status || we.Code != code {
			t.Errorf("%s: %v, want %d %s", name, err, status, code)
		}
	}
	tampered := good
	tampered.body = []byte(strings.Replace(string(good.body), `"total_price":"149.99"`, `"total_price":"1.99"`, 1))
	refuse("tampered body", tampered.request(vf.Secret), 401, CodeSignatureInvalid)
	refuse("wrong secret", good.request("shpss_someone_else"), 401, CodeSignatureInvalid)
	other := good
	other.shop = "other-store.myshopify.com"
	refuse("another store", other.request(vf.Secret), 401, CodeShopMismatch)
	unsigned := good
	unsigned.hmac = ""
	refuse("no signature", unsigned.request(vf.Secret), 401, CodeSignatureMissing)
	garbled := good
	garbled.hmac = "not base64!"
	refuse("garbled signature", garbled.request(vf.Secret), 401, CodeSignatureInvalid)
	noID := good
	noID.webhookID = ""
	refuse("no webhook id", noID.request(vf.Secret), 400, CodeDeliveryInvalid)
	noSecret := good
	noSecret.fields = map[string]string{FieldShop: testShop}
	refuse("no secret", noSecret.request(vf.Secret), 500, CodeCredentialMissing)
	vault := good
	vault.credErr = errors.New("vault sealed")
	refuse("vault down", vault.request(vf.Secret), 503, CodeCredentialUnavailable)

	// Rotation: the old and the new secret both verify.
	if _, err := tr.Accept(context.Background(), good.request("shpss_new, "+vf.Secret)); err != nil {
		t.Errorf("during rotation: %v", err)
	}
	// Another topic, verified: acknowledged, no run.
	c := vf.Vectors[3]
	acc, err := tr.Accept(context.Background(), delivery{body: body(t, c.File), hmac: c.HMAC, topic: c.Topic, shop: c.Shop, webhookID: c.WebhookID}.request(vf.Secret))
	if err != nil || !acc.Skip || acc.Ack.Status != 200 {
		t.Errorf("another topic: %+v %v", acc, err)
	}
}

func TestRefundAndCustomerOutputs(t *testing.T) {
	vf := loadVectors(t)
	tr := trigger(t, "")
	out := map[string]map[string]any{}
	for _, v := range vf.Vectors[2:] {
		acc, err := tr.Accept(context.Background(), delivery{body: body(t, v.File), hmac: v.HMAC, topic: v.Topic, shop: v.Shop, webhookID: v.WebhookID}.request(vf.Secret))
		if err != nil {
			t.Fatal(err)
		}
		out[v.Topic] = acc.Payload["body"].(map[string]any)
	}
	r := out["refunds/create"]
	if r["type"] != shop.EventRefunded || r["orderId"] != "gid://shopify/Order/5829437342011" || r["refundId"] != "gid://shopify/Refund/929361465" ||
		!reflect.DeepEqual(r["amount"], map[string]any{"minor": int64(10599), "currency": "EUR", "decimal": "105.99"}) {
		t.Errorf("refund %v", r)
	}
	c := out["customers/update"]
	if c["type"] != "customer" || !reflect.DeepEqual(c["customer"], map[string]any{"id": "gid://shopify/Customer/7390558912571",
		"email": "ada@example.com", "phone": "+4930901820", "name": "Ada Lovelace"}) {
		t.Errorf("customer %v", c)
	}
}

func TestStatusMapping(t *testing.T) {
	for _, c := range []struct {
		fin, ful  string
		cancelled bool
		want      string
	}{
		{"paid", "", false, shop.StatusPaid}, {"PAID", "UNFULFILLED", false, shop.StatusPaid},
		{"paid", "partial", false, shop.StatusProcessing}, {"PAID", "PARTIALLY_FULFILLED", false, shop.StatusProcessing},
		{"paid", "fulfilled", false, shop.StatusFulfilled}, {"PARTIALLY_REFUNDED", "FULFILLED", false, shop.StatusFulfilled},
		{"pending", "", false, shop.StatusPending}, {"AUTHORIZED", "UNFULFILLED", false, shop.StatusPending},
		{"refunded", "", false, shop.StatusRefunded}, {"refunded", "", true, shop.StatusCancelled},
		{"voided", "", false, shop.StatusCancelled}, {"EXPIRED", "", false, shop.StatusFailed},
		{"paid", "ON_HOLD", false, shop.StatusOnHold}, {"mystery", "", false, shop.StatusOther},
	} {
		if got := Status(c.fin, c.ful, c.cancelled); got != c.want {
			t.Errorf("%s/%s cancelled %v: %s, want %s", c.fin, c.ful, c.cancelled, got, c.want)
		}
	}
	// A cancelled JPY order: no minor-unit digits, exact.
	vf := loadVectors(t)
	v := vf.Vectors[1]
	acc, err := trigger(t, "").Accept(context.Background(), delivery{body: body(t, v.File), hmac: v.HMAC, topic: v.Topic, shop: v.Shop, webhookID: v.WebhookID}.request(vf.Secret))
	if err != nil {
		t.Fatal(err)
	}
	b := acc.Payload["body"].(map[string]any)
	if b["status"] != shop.StatusCancelled || b["type"] != shop.EventCancelled || b["providerStatus"] != "cancelled" ||
		!reflect.DeepEqual(b["total"], map[string]any{"minor": int64(3200), "currency": "JPY", "decimal": "3200"}) {
		t.Errorf("cancelled order %v %v %v", b["status"], b["type"], b["total"])
	}
}

// TestPolledOrderEvent: the GraphQL order the polling trigger reads becomes the same normalised event, keyed by
// id and update time.
func TestPolledOrderEvent(t *testing.T) {
	e, err := OrderEvent(testOrder(1, "2026-11-20T10:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if e.EventID != "gid://shopify/Order/5001@2026-11-20T10:00:00Z" || e.Type != shop.EventUpdated || e.Status != shop.StatusPaid ||
		e.ProviderStatus != "paid/unfulfilled" || e.Total.Minor != 14999 || e.Shipping.Decimal != "15.00" || e.Customer.Email != "ada@example.com" ||
		len(e.Items) != 1 || e.Items[0].UnitPrice.Minor != 6750 || e.Items[0].Quantity != 2 {
		t.Fatalf("event %+v", e)
	}
	bad := testOrder(2, "2026-11-20T10:00:00Z")
	bad["totalPriceSet"] = map[string]any{"shopMoney": map[string]any{"amount": "1.005", "currencyCode": "EUR"}}
	if _, err := OrderEvent(bad); err == nil {
		t.Fatal("an amount with more decimals than the currency has was accepted")
	}
}
