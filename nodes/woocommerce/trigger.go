package woocommerce

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// TriggerType is the node type of the WooCommerce webhook trigger.
const TriggerType = "woocommerce.trigger"

// Stable codes of the trigger's refusals, recorded with every refused delivery. WooCommerce counts any answer
// but 2xx, 301 and 302 as a failure and disables a webhook after more than five in a row.
const (
	CodeMethodNotAllowed      = "woocommerce_method_not_allowed"     // 405: WooCommerce only POSTs
	CodeBodyTooLarge          = "woocommerce_body_too_large"         // 413
	CodeSignatureMissing      = "woocommerce_signature_missing"      // 401: no X-WC-Webhook-Signature
	CodeSignatureInvalid      = "woocommerce_signature_invalid"      // 401: the signature does not match any secret
	CodeDeliveryInvalid       = "woocommerce_delivery_invalid"       // 400: no topic or delivery id, or a body that is not a JSON object
	CodeCredentialMissing     = "woocommerce_credential_missing"     // 500: no credential, or it has no webhook secret
	CodeCredentialUnavailable = "woocommerce_credential_unavailable" // 503: the vault failed
)

// maxWebhookBytes is above any WooCommerce webhook (an order with hundreds of lines and its meta data).
const maxWebhookBytes = 4 << 20

var (
	topicPattern = regexp.MustCompile(`^[a-z_]+\.[a-z_]+$`)
	// pingBody is what WooCommerce posts, unsigned and form-encoded, when a webhook is saved as active
	// (WC_Webhook::deliver_ping): "webhook_id=" and the webhook's id. It must be answered 200 exactly, or the
	// admin sees "Delivery URL returned response code".
	pingBody = regexp.MustCompile(`^webhook_id=[0-9]+$`)
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: TriggerType, Version: 1, Name: "WooCommerce webhook", Category: nodes.CategoryShops, Trigger: true, Webhook: true,
		Description: "Starts a run for each verified WooCommerce webhook: orders normalised to Ferry's shop order event, and customers.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Event", Kind: nodes.PortMain}},
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "topics", Label: "Topics", Type: nodes.TypeString, Default: "order.created, order.updated",
				Description: "WooCommerce webhook topics this flow runs for, separated by commas; empty accepts every topic. " +
					"Other verified topics are acknowledged with no run.",
				Examples: []nodes.Example{{Name: "Orders", Value: "order.created, order.updated"},
					{Name: "Orders, deletions included", Value: "order.created, order.updated, order.deleted"},
					{Name: "Customers", Value: "customer.created, customer.updated, customer.deleted"}}},
		},
		Docs: "Receives WooCommerce webhooks (WooCommerce → Settings → Advanced → Webhooks, or `POST /wp-json/wc/v3/webhooks`): " +
			"Delivery URL `/hooks/{flowId}`, API version *WP REST API Integration v3*, one webhook per topic, each with the " +
			"credential's webhook secret.\n\n" +
			"**Verification:** `X-WC-Webhook-Signature` must be the base64 HMAC-SHA256 of the raw body under the webhook's " +
			"secret, as WooCommerce computes it (`base64_encode(hash_hmac('sha256', $body, wp_specialchars_decode($secret, " +
			"ENT_QUOTES), true))`), compared in constant time; each secret listed (one a line, while one is rotated) is tried, " +
			"as written and with HTML entities decoded. WooCommerce signs no timestamp, so freshness cannot be proven: " +
			"repeated deliveries are caught by the dedup key instead.\n\n" +
			"**Ping:** when a webhook is saved as active WooCommerce posts `webhook_id=…`, unsigned and form-encoded, and " +
			"keeps the webhook pending unless it gets 200: the ping is answered 200 with no run.\n\n" +
			"**Output:** `{\"body\": event, \"headers\": {…}, \"method\": \"POST\", \"query\": {…}}`. For `order.created` and " +
			"`order.updated` the event is " + strings.TrimPrefix(shop.Docs, "**Output** ") + " WooCommerce statuses map as " +
			"pending → pending, processing → paid, on-hold → on_hold, completed → fulfilled, cancelled → cancelled, " +
			"refunded → refunded, failed → failed, a store's own → other (`providerStatus` keeps WooCommerce's). The type is " +
			"created for `order.created`, else from the status: processing → paid, completed → fulfilled, cancelled → " +
			"cancelled, refunded → refunded, anything else → updated. Amounts come exactly from WooCommerce's decimal texts " +
			"(`total`, `shipping_total`, `discount_total`, each line's `subtotal` ÷ quantity) in the order's currency; " +
			"`orderId` is the order's id, `orderNumber` its `number`, `customer.id` empty for a guest. `order.deleted` outputs " +
			"`{provider, type: \"deleted\", topic, eventId, orderId, raw}` (WooCommerce sends only the id); `customer.*` " +
			"`{provider, type: \"customer\", topic, eventId, customer {id, email, phone, name}, time, raw}`; any other topic " +
			"`{provider, type: \"other\", topic, eventId, raw}`.\n\n" +
			"**Keys:** the dedup key is `X-WC-Webhook-Delivery-ID` with the record's id and `date_modified_gmt`: WooCommerce " +
			"makes the delivery id from the webhook id and the current second only, so two orders changed in one second share " +
			"it; a delivery repeated as it was starts no second run. The business key is the order number, else the id.\n\n" +
			"**Answer:** 200 once the run is stored. **Refusals:** 401 `" + CodeSignatureMissing + "`, `" + CodeSignatureInvalid +
			"`; 400 `" + CodeDeliveryInvalid + "`; 405 `" + CodeMethodNotAllowed + "`; 413 `" + CodeBodyTooLarge + "`; 500 `" +
			CodeCredentialMissing + "`; 503 `" + CodeCredentialUnavailable + "`. WooCommerce disables a webhook after more than " +
			"five failed deliveries in a row: a refused delivery shows in the flow's refusals with its code.",
	}, newTrigger)
}

type triggerNode struct {
	topics map[string]bool // empty accepts all
}

func newTrigger(cfg *nodes.Config) (nodes.Node, error) {
	n := &triggerNode{topics: cfg.Names("topics", topicPattern.MatchString, "a WooCommerce webhook topic such as order.updated")}
	if cfg.Credential == "" {
		cfg.Fail("credential", core.CodeCredentialRequired, "the trigger needs a woocommerce.rest credential holding the webhook secret")
	}
	return n, cfg.Err()
}

func reject(status int, code string, err error) *nodes.WebhookError {
	return &nodes.WebhookError{Status: status, Code: code, Err: err}
}

// Ack is the answer WooCommerce gets once the run is stored (or for a ping): 200, which also ends a ping.
func Ack() *nodes.Response { return &nodes.Response{Status: http.StatusOK} }

// Sign is X-WC-Webhook-Signature for body under secret, as WC_Webhook::generate_signature computes it:
// base64_encode(hash_hmac('sha256', $payload, $secret, true)).
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify reports whether an X-WC-Webhook-Signature value is the HMAC-SHA256 of body under one of secrets, in
// constant time. Each secret is tried as written and with the HTML entities wp_specialchars_decode(…,
// ENT_QUOTES) decodes, as WooCommerce decodes the secret it stored (sanitize_text_field encodes "<" as "&lt;").
func Verify(body []byte, header string, secrets []string) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	ok := false
	for _, s := range secrets {
		for _, key := range keyForms(s) {
			mac := hmac.New(sha256.New, []byte(key))
			mac.Write(body)
			if hmac.Equal(mac.Sum(nil), got) {
				ok = true
			}
		}
	}
	return ok
}

// specialChars are the entities wp_specialchars_decode decodes with ENT_QUOTES; &amp; goes last, so "&amp;lt;"
// becomes "&lt;" as in WordPress.
var specialChars = strings.NewReplacer("&lt;", "<", "&#060;", "<", "&gt;", ">", "&#062;", ">", "&quot;", `"`, "&#034;", `"`,
	"&#x22;", `"`, "&#039;", "'", "&#39;", "'", "&#x27;", "'", "&amp;", "&", "&#038;", "&", "&#x26;", "&")

func keyForms(secret string) []string {
	if decoded := specialChars.Replace(secret); decoded != secret {
		return []string{secret, decoded}
	}
	return []string{secret}
}

// Accept verifies a delivery and turns it into the run's trigger payload; the body is parsed only once its
// signature holds.
func (n *triggerNode) Accept(ctx context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	if req.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Errorf("woocommerce: method %s not allowed, WooCommerce sends POST", req.Method))
	}
	if len(req.Body) > maxWebhookBytes {
		return nil, reject(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Errorf("woocommerce: body is larger than %d bytes", maxWebhookBytes))
	}
	sig := strings.TrimSpace(req.Header.Get("X-WC-Webhook-Signature"))
	if sig == "" && pingBody.Match(req.Body) {
		// The ping proves the delivery URL answers; it carries nothing to run.
		return &nodes.Accepted{Skip: true, Ack: Ack()}, nil
	}
	if sig == "" {
		return nil, reject(http.StatusUnauthorized, CodeSignatureMissing, errors.New("woocommerce: no X-WC-Webhook-Signature header"))
	}
	keys, err := triggerSecrets(ctx, req)
	if err != nil {
		return nil, err
	}
	if !Verify(req.Body, sig, keys) {
		return nil, reject(http.StatusUnauthorized, CodeSignatureInvalid, errors.New("woocommerce: X-WC-Webhook-Signature does not match the body under the webhook secret"))
	}
	topic, delivery := strings.TrimSpace(req.Header.Get("X-WC-Webhook-Topic")), strings.TrimSpace(req.Header.Get("X-WC-Webhook-Delivery-ID"))
	if topic == "" || delivery == "" {
		return nil, reject(http.StatusBadRequest, CodeDeliveryInvalid, errors.New("woocommerce: the delivery has no X-WC-Webhook-Topic or X-WC-Webhook-Delivery-ID"))
	}
	if len(n.topics) > 0 && !n.topics[topic] {
		return &nodes.Accepted{Skip: true, Ack: Ack()}, nil
	}
	raw, err := nodes.DecodeJSON(req.Body)
	obj, isObj := raw.(map[string]any)
	if err != nil || !isObj {
		return nil, reject(http.StatusBadRequest, CodeDeliveryInvalid, fmt.Errorf("woocommerce: the %s body is not a JSON object", topic))
	}
	dedup := delivery + ":" + str(obj["id"])
	if m := str(obj["date_modified_gmt"]); m != "" {
		dedup += "@" + m
	}
	body, business, err := payloadFor(topic, dedup, obj)
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodeDeliveryInvalid, err)
	}
	return &nodes.Accepted{
		Payload:     map[string]any{"body": body, "headers": nodes.PayloadHeaders(req.Header), "query": nodes.FirstValues(req.Query), "method": req.Method},
		DedupKey:    nodes.TruncateUTF8(dedup, core.MaxKeyBytes),
		BusinessKey: nodes.TruncateUTF8(business, core.MaxKeyBytes),
		Ack:         Ack(),
	}, nil
}

// payloadFor turns a verified body into the trigger's output and the run's business key.
func payloadFor(topic, eventID string, obj map[string]any) (map[string]any, string, error) {
	switch {
	case topic == "order.deleted":
		return DeletedPayload(topic, eventID, obj), str(obj["id"]), nil
	case strings.HasPrefix(topic, "order."):
		e, err := OrderEvent(topic, eventID, obj)
		if err != nil {
			return nil, "", err
		}
		return e.Payload(), firstNonEmpty(e.OrderNumber, e.OrderID), nil
	case strings.HasPrefix(topic, "customer."):
		p := CustomerPayload(topic, eventID, obj)
		c := p["customer"].(map[string]any)
		return p, firstNonEmpty(str(c["email"]), str(c["id"])), nil
	}
	return map[string]any{"provider": Provider, "type": "other", "topic": topic, "eventId": eventID, "raw": obj}, str(obj["id"]), nil
}

// Execute passes the accepted event on unchanged: it is the first step of every run.
func (n *triggerNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// triggerSecrets reads the webhook secrets, telling a misconfigured flow (500) from a vault that failed (503).
func triggerSecrets(ctx context.Context, req *nodes.WebhookRequest) ([]string, error) {
	if req.Credential == nil {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("woocommerce: the trigger has no credential: %w", nodes.ErrNoCredential))
	}
	fields, err := req.Credential(ctx)
	if errors.Is(err, nodes.ErrNoCredential) {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("woocommerce: the trigger has no credential: %w", err))
	}
	if err != nil {
		return nil, reject(http.StatusServiceUnavailable, CodeCredentialUnavailable, fmt.Errorf("woocommerce: load credential: %w", err))
	}
	keys := secrets(fields[FieldWebhookSecret])
	if len(keys) == 0 {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("woocommerce: the credential has no %q (the webhook's secret)", FieldWebhookSecret))
	}
	return keys, nil
}

var _ nodes.WebhookTrigger = (*triggerNode)(nil)
