package shopify

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

// TriggerType is the node type of the Shopify webhook trigger.
const TriggerType = "shopify.trigger"

// Stable codes of the trigger's refusals, recorded with every refused delivery. Shopify's documentation asks for
// 401 when a webhook's HMAC does not verify; Shopify retries anything but 2xx.
const (
	CodeMethodNotAllowed      = "shopify_method_not_allowed"     // 405: Shopify only POSTs
	CodeBodyTooLarge          = "shopify_body_too_large"         // 413
	CodeSignatureMissing      = "shopify_signature_missing"      // 401: no X-Shopify-Hmac-Sha256
	CodeSignatureInvalid      = "shopify_signature_invalid"      // 401: the HMAC does not match any secret
	CodeShopMismatch          = "shopify_shop_mismatch"          // 401: signed, but for another store than the credential's
	CodeDeliveryInvalid       = "shopify_delivery_invalid"       // 400: no topic or webhook id, or a body that is not a JSON object
	CodeCredentialMissing     = "shopify_credential_missing"     // 500: no credential, or it has no shop or secret
	CodeCredentialUnavailable = "shopify_credential_unavailable" // 503: the vault failed; Shopify delivers again
)

// maxWebhookBytes is above any Shopify webhook (orders with hundreds of lines stay well under it).
const maxWebhookBytes = 2 << 20

var topicPattern = regexp.MustCompile(`^[a-z_]+/[a-z_]+$`)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: TriggerType, Version: 1, Name: "Shopify webhook", Category: nodes.CategoryShops, Trigger: true, Webhook: true,
		Description: "Starts a run for each verified Shopify webhook: orders normalised to Ferry's shop order event, refunds and customers.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Event", Kind: nodes.PortMain}},
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "topics", Label: "Topics", Type: nodes.TypeString, Default: "orders/paid",
				Description: "Shopify webhook topics this flow runs for, separated by commas; empty accepts every topic the " +
					"subscription sends. Other verified topics are acknowledged with no run.",
				Examples: []nodes.Example{{Name: "Paid orders", Value: "orders/paid"},
					{Name: "Order life cycle", Value: "orders/create, orders/paid, orders/updated, orders/cancelled, orders/fulfilled"},
					{Name: "Refunds and customers", Value: "refunds/create, customers/create, customers/update"}}},
		},
		Docs: "Receives a Shopify webhook subscription (the app's `webhookSubscriptionCreate` or the admin's Settings → " +
			"Notifications → Webhooks) pointed at `/hooks/{flowId}`, format JSON, API version `" + APIVersion + "`.\n\n" +
			"**Verification:** `X-Shopify-Hmac-Sha256` must be the base64 HMAC-SHA256 of the raw body under the " +
			"credential's webhook signing secret (the app's client secret), compared in constant time; several secrets " +
			"separated by commas are each tried while one is rotated. `X-Shopify-Shop-Domain` must be the credential's " +
			"shop, so a delivery for another store signed by the same app is refused. Shopify signs no timestamp (its " +
			"`X-Shopify-Triggered-At` is outside the HMAC), so freshness cannot be proven: redeliveries are caught by the " +
			"webhook id instead.\n\n" +
			"**Output:** `{\"body\": event, \"headers\": {…}, \"method\": \"POST\", \"query\": {…}}`. For `orders/*` topics the " +
			"event is " + strings.TrimPrefix(shop.Docs, "**Output** ") + " Shopify sends webhooks in the REST resource shape " +
			"even to GraphQL apps: `financial_status`, `fulfillment_status` and `cancelled_at` give the status (cancelled, " +
			"then refunded, then fulfilled or on hold, then paid or pending; partially fulfilled paid orders are processing); " +
			"`providerStatus` reads `financial/fulfillment` (`paid/unfulfilled`); amounts come exactly from Shopify's decimal " +
			"texts in the shop currency; `orderId` and `customer.id` are GraphQL global ids, as the actions take them. " +
			"orders/create → created, orders/paid → paid, orders/cancelled → cancelled, orders/fulfilled → fulfilled, other " +
			"order topics → updated. `refunds/create` outputs `{provider, type: \"refunded\", topic, eventId, refundId, orderId, " +
			"amount {minor, currency, decimal} (the successful refund transactions), note, time, raw}`; `customers/*` " +
			"`{provider, type: \"customer\", topic, eventId, customer {id, email, phone, name}, tags, time, raw}`; any other " +
			"topic `{provider, type: \"other\", topic, eventId, raw}`.\n\n" +
			"**Keys:** `X-Shopify-Webhook-Id` is the dedup key, so Shopify's retries start no second run; the business key " +
			"is the order name (#1001), else the order or customer id.\n\n" +
			"**Answer:** 200 once the run is stored. **Refusals:** 401 `" + CodeSignatureMissing + "`, `" + CodeSignatureInvalid +
			"`, `" + CodeShopMismatch + "`; 400 `" + CodeDeliveryInvalid + "`; 405 `" + CodeMethodNotAllowed + "`; 413 `" +
			CodeBodyTooLarge + "`; 500 `" + CodeCredentialMissing + "`; 503 `" + CodeCredentialUnavailable + "`.",
	}, newTrigger)
}

type triggerNode struct {
	topics map[string]bool // empty accepts all
}

func newTrigger(cfg *nodes.Config) (nodes.Node, error) {
	n := &triggerNode{topics: cfg.Names("topics", topicPattern.MatchString, "a Shopify webhook topic such as orders/paid")}
	if cfg.Credential == "" {
		cfg.Fail("credential", core.CodeCredentialRequired, "the trigger needs a shopify.store credential holding the webhook signing secret")
	}
	return n, cfg.Err()
}

func reject(status int, code string, err error) *nodes.WebhookError {
	return &nodes.WebhookError{Status: status, Code: code, Err: err}
}

// Ack is the answer Shopify gets once the run is stored: any 2xx stops its retries.
func Ack() *nodes.Response { return &nodes.Response{Status: http.StatusOK} }

// Verify reports whether a base64 X-Shopify-Hmac-Sha256 value is the HMAC-SHA256 of body under one of secrets,
// as Shopify's own libraries check it, in constant time.
func Verify(body []byte, header string, secrets []string) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	ok := false
	for _, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), got) {
			ok = true
		}
	}
	return ok
}

// Accept verifies a delivery and turns it into the run's trigger payload; the body is parsed only once its
// signature and shop hold.
func (n *triggerNode) Accept(ctx context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	if req.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Errorf("shopify: method %s not allowed, Shopify sends POST", req.Method))
	}
	if len(req.Body) > maxWebhookBytes {
		return nil, reject(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Errorf("shopify: body is larger than %d bytes", maxWebhookBytes))
	}
	sig := req.Header.Get("X-Shopify-Hmac-Sha256")
	if strings.TrimSpace(sig) == "" {
		return nil, reject(http.StatusUnauthorized, CodeSignatureMissing, errors.New("shopify: no X-Shopify-Hmac-Sha256 header"))
	}
	shopDomain, keys, err := triggerCredential(ctx, req)
	if err != nil {
		return nil, err
	}
	if !Verify(req.Body, sig, keys) {
		return nil, reject(http.StatusUnauthorized, CodeSignatureInvalid, errors.New("shopify: X-Shopify-Hmac-Sha256 does not match the body under the webhook signing secret"))
	}
	if from := strings.ToLower(strings.TrimSpace(req.Header.Get("X-Shopify-Shop-Domain"))); from != shopDomain {
		return nil, reject(http.StatusUnauthorized, CodeShopMismatch, fmt.Errorf("shopify: the delivery is for the store %q, the credential for %q", from, shopDomain))
	}
	topic, id := strings.TrimSpace(req.Header.Get("X-Shopify-Topic")), strings.TrimSpace(req.Header.Get("X-Shopify-Webhook-Id"))
	if topic == "" || id == "" {
		return nil, reject(http.StatusBadRequest, CodeDeliveryInvalid, errors.New("shopify: the delivery has no X-Shopify-Topic or X-Shopify-Webhook-Id"))
	}
	if len(n.topics) > 0 && !n.topics[topic] {
		return &nodes.Accepted{Skip: true, Ack: Ack()}, nil
	}
	raw, err := nodes.DecodeJSON(req.Body)
	obj, isObj := raw.(map[string]any)
	if err != nil || !isObj {
		return nil, reject(http.StatusBadRequest, CodeDeliveryInvalid, fmt.Errorf("shopify: the %s body is not a JSON object", topic))
	}
	body, business, err := payloadFor(topic, id, obj)
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodeDeliveryInvalid, err)
	}
	return &nodes.Accepted{
		Payload:     map[string]any{"body": body, "headers": nodes.PayloadHeaders(req.Header), "query": nodes.FirstValues(req.Query), "method": req.Method},
		DedupKey:    id,
		BusinessKey: nodes.TruncateUTF8(business, core.MaxKeyBytes),
		Ack:         Ack(),
	}, nil
}

// payloadFor turns a verified body into the trigger's output and the run's business key.
func payloadFor(topic, id string, obj map[string]any) (map[string]any, string, error) {
	switch {
	case strings.HasPrefix(topic, "orders/"):
		e, err := WebhookOrderEvent(topic, id, obj)
		if err != nil {
			return nil, "", err
		}
		return e.Payload(), firstNonEmpty(e.OrderNumber, e.OrderID), nil
	case topic == "refunds/create":
		p, err := RefundPayload(id, obj)
		if err != nil {
			return nil, "", err
		}
		return p, str(p["orderId"]), nil
	case strings.HasPrefix(topic, "customers/"):
		p := CustomerPayload(topic, id, obj)
		c := p["customer"].(map[string]any)
		return p, firstNonEmpty(str(c["email"]), str(c["id"])), nil
	}
	return map[string]any{"provider": Provider, "type": "other", "topic": topic, "eventId": id, "raw": obj},
		firstNonEmpty(str(obj["admin_graphql_api_id"]), str(obj["id"])), nil
}

// Execute passes the accepted event on unchanged: it is the first step of every run.
func (n *triggerNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// triggerCredential reads the shop and the signing secrets, telling a misconfigured flow (500, Shopify keeps
// retrying while an admin fixes it) from a vault that failed (503).
func triggerCredential(ctx context.Context, req *nodes.WebhookRequest) (string, []string, error) {
	if req.Credential == nil {
		return "", nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("shopify: the trigger has no credential: %w", nodes.ErrNoCredential))
	}
	fields, err := req.Credential(ctx)
	if errors.Is(err, nodes.ErrNoCredential) {
		return "", nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("shopify: the trigger has no credential: %w", err))
	}
	if err != nil {
		return "", nil, reject(http.StatusServiceUnavailable, CodeCredentialUnavailable, fmt.Errorf("shopify: load credential: %w", err))
	}
	shopDomain, err := ShopDomain(fields[FieldShop])
	if err != nil {
		return "", nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("shopify: %w", err))
	}
	keys := secrets(fields[FieldWebhookSecret])
	if len(keys) == 0 {
		return "", nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("shopify: the credential has no %q (the app's client secret)", FieldWebhookSecret))
	}
	return shopDomain, keys, nil
}

var _ nodes.WebhookTrigger = (*triggerNode)(nil)
