package woocommerce

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// vectorFile holds deliveries signed as WooCommerce's WC_Webhook::generate_signature signs them
// (includes/class-wc-webhook.php: base64_encode(hash_hmac('sha256', $payload, $secret, true))), computed with
// OpenSSL outside Go (testdata/README.md).
type vectorFile struct {
	Secret  string `json:"secret"`
	Vectors []struct {
		Name, File, Topic, DeliveryID, Signature string
	} `json:"vectors"`
	EntitySecret struct {
		Stored, File, Signature string
	} `json:"entitySecret"`
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
	signature, topic, deliveryID string
	secret                       string
	credErr                      error
	noCredential                 bool
}

// request is the delivery with the headers WC_Webhook::deliver sends.
func (d delivery) request() *nodes.WebhookRequest {
	h := http.Header{}
	for k, v := range map[string]string{"X-WC-Webhook-Signature": d.signature, "X-WC-Webhook-Topic": d.topic,
		"X-WC-Webhook-Delivery-ID": d.deliveryID, "X-WC-Webhook-Source": "https://shop.example.com/", "X-WC-Webhook-ID": "12",
		"X-WC-Webhook-Resource": strings.Split(d.topic, ".")[0], "Content-Type": "application/json",
		"User-Agent": "WooCommerce/10.3.0 Hookshot (WordPress/6.9)"} {
		if v != "" {
			h.Set(k, v)
		}
	}
	var cred func(context.Context) (map[string]string, error)
	if !d.noCredential {
		cred = func(context.Context) (map[string]string, error) {
			return map[string]string{FieldStoreURL: testStore, FieldWebhookSecret: d.secret}, d.credErr
		}
	}
	return &nodes.WebhookRequest{Method: http.MethodPost, Header: h, Body: d.body, Mode: nodes.ModeLive, Credential: cred}
}

func trigger(t *testing.T, topics string) nodes.WebhookTrigger {
	return build(t, TriggerType, map[string]any{"topics": topics}).(nodes.WebhookTrigger)
}

// TestVectorsVerify: every vector verifies under the secret, as computed the way WooCommerce signs; the order
// becomes the normalised shop event with exact amounts.
func TestVectorsVerify(t *testing.T) {
	vf := loadVectors(t)
	tr := trigger(t, "")
	for _, v := range vf.Vectors {
		b := body(t, v.File)
		if got := Sign(b, vf.Secret); got != v.Signature {
			t.Fatalf("%s: Sign gives %s, WooCommerce %s", v.Name, got, v.Signature)
		}
		acc, err := tr.Accept(context.Background(), delivery{body: b, signature: v.Signature, topic: v.Topic, deliveryID: v.DeliveryID, secret: vf.Secret}.request())
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if acc.Skip || acc.Ack.Status != 200 || !strings.HasPrefix(acc.DedupKey, v.DeliveryID+":") {
			t.Fatalf("%s: %+v", v.Name, acc)
		}
	}
	v := vf.Vectors[1]
	acc, err := tr.Accept(context.Background(), delivery{body: body(t, v.File), signature: v.Signature, topic: v.Topic, deliveryID: v.DeliveryID, secret: vf.Secret}.request())
	if err != nil {
		t.Fatal(err)
	}
	e := acc.Payload["body"].(map[string]any)
	if e["provider"] != "woocommerce" || e["type"] != shop.EventPaid || e["status"] != shop.StatusPaid || e["providerStatus"] != "processing" ||
		e["orderId"] != "727" || e["orderNumber"] != "727" || e["time"] != "2026-11-20T09:59:03Z" || e["topic"] != "order.updated" {
		t.Fatalf("event %v", e)
	}
	total := e["total"].(map[string]any)
	if total["minor"] != int64(3490) || total["currency"] != "EUR" || total["decimal"] != "34.90" {
		t.Fatalf("total %v", total)
	}
	if e["shipping"].(map[string]any)["minor"] != int64(490) || e["discount"].(map[string]any)["minor"] != int64(500) {
		t.Fatalf("shipping %v discount %v", e["shipping"], e["discount"])
	}
	items := e["items"].([]any)
	// 25.00 for three: 8.333… rounds to 8.33; WooCommerce's float "price" is not read.
	first := items[0].(map[string]any)
	if len(items) != 2 || first["sku"] != "TEA-SEN-100" || first["quantity"] != int64(3) || first["unitPrice"].(map[string]any)["minor"] != int64(833) ||
		items[1].(map[string]any)["name"] != `Cup "Kyūsu"` {
		t.Fatalf("items %v", items)
	}
	c := e["customer"].(map[string]any)
	if c["id"] != "7" || c["email"] != "ada@example.com" || c["name"] != "Ada Lovelace" || c["phone"] != "+49 30 901820" {
		t.Fatalf("customer %v", c)
	}
	if acc.DedupKey != v.DeliveryID+":727@2026-11-20T09:59:03" || acc.BusinessKey != "727" {
		t.Fatalf("keys %q %q", acc.DedupKey, acc.BusinessKey)
	}
	if h := acc.Payload["headers"].(map[string]any); h["x-wc-webhook-topic"] != "order.updated" {
		t.Fatalf("headers %v", h)
	}

	created, _ := tr.Accept(context.Background(), delivery{body: body(t, "order-created.json"), signature: vf.Vectors[0].Signature,
		topic: "order.created", deliveryID: "d1", secret: vf.Secret}.request())
	if b := created.Payload["body"].(map[string]any); b["type"] != shop.EventCreated || b["status"] != shop.StatusPending {
		t.Fatalf("created %v %v", b["type"], b["status"])
	}
	deleted, _ := tr.Accept(context.Background(), delivery{body: body(t, "order-deleted.json"), signature: vf.Vectors[2].Signature,
		topic: "order.deleted", deliveryID: "d2", secret: vf.Secret}.request())
	if b := deleted.Payload["body"].(map[string]any); b["type"] != "deleted" || b["orderId"] != "727" || deleted.DedupKey != "d2:727" {
		t.Fatalf("deleted %v %q", b, deleted.DedupKey)
	}
	cust, _ := tr.Accept(context.Background(), delivery{body: body(t, "customer-updated.json"), signature: vf.Vectors[3].Signature,
		topic: "customer.updated", deliveryID: "d3", secret: vf.Secret}.request())
	if b := cust.Payload["body"].(map[string]any); b["type"] != "customer" || b["customer"].(map[string]any)["email"] != "ada@example.com" || cust.BusinessKey != "ada@example.com" {
		t.Fatalf("customer %v", b)
	}
}

// TestSecretForms: a secret WooCommerce stored with HTML entities signs under its decoded form
// (wp_specialchars_decode in generate_signature); a secret being rotated is listed on a line of its own.
func TestSecretForms(t *testing.T) {
	vf := loadVectors(t)
	tr := trigger(t, "")
	es := vf.EntitySecret
	for name, secret := range map[string]string{"as stored": es.Stored, "as decoded": "t7#Kd<Vw&9p", "rotating": "old secret\n" + es.Stored + "\n"} {
		if _, err := tr.Accept(context.Background(), delivery{body: body(t, es.File), signature: es.Signature, topic: "order.updated",
			deliveryID: "d", secret: secret}.request()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestPing: the unsigned form-encoded ping WooCommerce posts when a webhook is saved gets 200 and no run.
func TestPing(t *testing.T) {
	req := delivery{body: []byte("webhook_id=12"), secret: "s"}.request()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	acc, err := trigger(t, "order.updated").Accept(context.Background(), req)
	if err != nil || !acc.Skip || acc.Ack.Status != http.StatusOK {
		t.Fatalf("ping: %+v %v", acc, err)
	}
	// Without a secret configured yet, the ping still succeeds: it proves only that the URL answers.
	req = delivery{body: []byte("webhook_id=12"), noCredential: true}.request()
	if acc, err := trigger(t, "").Accept(context.Background(), req); err != nil || !acc.Skip {
		t.Fatalf("ping without credential: %+v %v", acc, err)
	}
}

// TestRefusals: a tampered body, a wrong secret, a missing or garbled signature, each refused with 401 and its
// code, which the server records with the delivery; a topic the flow does not take is acknowledged with no run.
func TestRefusals(t *testing.T) {
	vf := loadVectors(t)
	v := vf.Vectors[1]
	tr := trigger(t, "order.updated, order.created")
	good := delivery{body: body(t, v.File), signature: v.Signature, topic: v.Topic, deliveryID: v.DeliveryID, secret: vf.Secret}
	refuse := func(name string, d delivery, status int, code string) {
		t.Helper()
		_, err := tr.Accept(context.Background(), d.request())
		var we *nodes.WebhookError
		if !errors.As(err, &we) || we.Status != status || we.Code != code {
			t.Errorf("%s: %v, want %d %s", name, err, status, code)
		}
	}
	tampered := good
	tampered.body = []byte(strings.Replace(string(good.body), `"total":"34.90"`, `"total":"0.01"`, 1))
	refuse("tampered body", tampered, 401, CodeSignatureInvalid)
	wrong := good
	wrong.secret = "someone else's secret"
	refuse("wrong secret", wrong, 401, CodeSignatureInvalid)
	hexSig := good
	hexSig.signature = "9324a6a55fe0a8fe2fb324fd9c2f74e8f02d11113e515284d9ba65957d65820f" // hex, not base64
	refuse("hex signature", hexSig, 401, CodeSignatureInvalid)
	unsigned := good
	unsigned.signature = ""
	refuse("no signature", unsigned, 401, CodeSignatureMissing)
	noID := good
	noID.deliveryID = ""
	refuse("no delivery id", noID, 400, CodeDeliveryInvalid)
	noSecret := good
	noSecret.secret = " \n "
	refuse("no secret", noSecret, 500, CodeCredentialMissing)
	vault := good
	vault.credErr = errors.New("vault sealed")
	refuse("vault down", vault, 503, CodeCredentialUnavailable)
	notJSON := delivery{body: []byte("webhook_id=12"), signature: Sign([]byte("webhook_id=12"), vf.Secret), topic: "order.updated", deliveryID: "x", secret: vf.Secret}
	refuse("signed form body", notJSON, 400, CodeDeliveryInvalid)

	get := good.request()
	get.Method = http.MethodGet
	if _, err := tr.Accept(context.Background(), get); err == nil || err.(*nodes.WebhookError).Code != CodeMethodNotAllowed {
		t.Errorf("GET: %v", err)
	}
	other := delivery{body: body(t, "customer-updated.json"), signature: vf.Vectors[3].Signature, topic: "customer.updated", deliveryID: "c", secret: vf.Secret}
	if acc, err := tr.Accept(context.Background(), other.request()); err != nil || !acc.Skip {
		t.Errorf("a topic the flow does not take: %+v %v", acc, err)
	}
	if _, err := (&triggerNode{}).Accept(context.Background(), other.request()); err != nil {
		t.Errorf("all topics: %v", err)
	}
}

// TestDedupKeys: WooCommerce makes a delivery id from the webhook id and the current second only
// (WC_Webhook::get_new_delivery_id: wp_hash($this->get_id() . strtotime('now'))), so two orders changed in one
// second share it: each still gets its run, while a delivery repeated as it was gets one.
func TestDedupKeys(t *testing.T) {
	vf := loadVectors(t)
	tr := trigger(t, "")
	one := body(t, "order-updated.json")
	two := []byte(strings.Replace(string(one), `"id":727`, `"id":728`, 1))
	keys := map[string]bool{}
	for _, b := range [][]byte{one, two, one} {
		acc, err := tr.Accept(context.Background(), delivery{body: b, signature: Sign(b, vf.Secret), topic: "order.updated", deliveryID: "same-second", secret: vf.Secret}.request())
		if err != nil {
			t.Fatal(err)
		}
		keys[acc.DedupKey] = true
	}
	if len(keys) != 2 {
		t.Fatalf("dedup keys %v, want one per order version", keys)
	}
}

func TestStatusMapping(t *testing.T) {
	for status, want := range map[string][2]string{
		"pending": {shop.StatusPending, shop.EventUpdated}, "processing": {shop.StatusPaid, shop.EventPaid},
		"on-hold": {shop.StatusOnHold, shop.EventUpdated}, "completed": {shop.StatusFulfilled, shop.EventFulfilled},
		"cancelled": {shop.StatusCancelled, shop.EventCancelled}, "refunded": {shop.StatusRefunded, shop.EventRefunded},
		"failed": {shop.StatusFailed, shop.EventUpdated}, "wc-completed": {shop.StatusFulfilled, shop.EventFulfilled},
		"awaiting-shipment": {shop.StatusOther, shop.EventUpdated},
	} {
		if got := Status(status); got != want[0] {
			t.Errorf("%s: status %s, want %s", status, got, want[0])
		}
		if got := TypeFor(status, false); got != want[1] {
			t.Errorf("%s: type %s, want %s", status, got, want[1])
		}
	}
	if TypeFor("processing", true) != shop.EventCreated {
		t.Error("order.created is created whatever the status")
	}
	// Amounts are exact, whatever decimals the store writes; a digit beyond the currency's is refused.
	o := testOrder(1, "completed", "2026-11-20T10:00:00")
	o["total"], o["currency"] = "1200.000", "JPY"
	o["shipping_total"], o["discount_total"] = "0", "0.0"
	o["line_items"] = []any{}
	e, err := OrderEvent("", "k", o)
	if err != nil || e.Total.Minor != 1200 || e.Total.Decimal != "1200" {
		t.Fatalf("JPY: %+v %v", e.Total, err)
	}
	o["total"] = "12.345"
	o["currency"] = "EUR"
	if _, err := OrderEvent("", "k", o); err == nil {
		t.Fatal("12.345 EUR was rounded")
	}
	o["total"], o["customer_id"] = "12.50", 0
	if e, _ := OrderEvent("", "k", o); e.Customer.ID != "" || e.Customer.Email != "ada@example.com" {
		t.Fatalf("guest %+v", e.Customer)
	}
}
