package stripe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
)

// TriggerType is the node type of the Stripe webhook trigger.
const TriggerType = "stripe.trigger"

// Stable codes of the trigger's rejections, recorded with every refused delivery so admins can tell a forged
// call from a misconfigured endpoint without reading messages.
const (
	CodeMethodNotAllowed      = "stripe_method_not_allowed"     // 405: Stripe only POSTs
	CodeBodyTooLarge          = "stripe_body_too_large"         // 413
	CodeSignatureMissing      = "stripe_signature_missing"      // 400: no Stripe-Signature header
	CodeSignatureInvalid      = "stripe_signature_invalid"      // 400: malformed header, or no v1 matches
	CodeTimestampStale        = "stripe_timestamp_stale"        // 400: signed too long ago (or too far ahead)
	CodeEventInvalid          = "stripe_event_invalid"          // 400: the verified body is not a Stripe event
	CodeEventTypeIgnored      = "stripe_event_type_ignored"     // 200 {"received":true} (or 400): not an accepted type
	CodeCredentialMissing     = "stripe_credential_missing"     // 500: no credential, or it has no webhook secret
	CodeCredentialUnavailable = "stripe_credential_unavailable" // 503: the vault failed; Stripe delivers again
)

// Limits and defaults of the trigger.
const (
	// DefaultTolerance is how old a signed timestamp may be, as in Stripe's own libraries.
	DefaultTolerance = 5 * time.Minute
	maxTolerance     = time.Hour
	minTolerance     = 10 * time.Second
	// maxEventBytes is far above any Stripe event (Stripe caps objects well below it).
	maxEventBytes = 1 << 20
)

// How deliveries of event types the trigger does not accept are answered.
const (
	ignoredAcknowledge = "acknowledge"
	ignoredReject      = "reject"
)

// Ack is Stripe's expected success answer: any 2xx stops Stripe's retries; the body mirrors Stripe's examples.
func Ack() *nodes.Response {
	return &nodes.Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"},
		Body: map[string]any{"received": true}}
}

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:               TriggerType,
		Version:            1,
		Name:               "Stripe event",
		Category:           nodes.CategoryPayments,
		Description:        "Starts a run for each verified Stripe webhook event (payments, refunds, checkout), normalised to Ferry's payment event.",
		Trigger:            true,
		Webhook:            true,
		Outputs:            []nodes.Port{{ID: nodes.DefaultPort, Label: "Event", Kind: nodes.PortMain}},
		Credentials:        []string{CredentialType},
		CredentialRequired: true,
		Params: []nodes.Field{
			{
				Name: "eventTypes", Label: "Accepted event types", Type: nodes.TypeString,
				Description: "Stripe event types this flow runs for, separated by commas; a trailing .* accepts a " +
					"whole family. Empty accepts every type the endpoint sends. Subscribe the Stripe endpoint to " +
					"the same types, so Stripe does not send what the flow ignores.",
				Examples: []nodes.Example{
					{Name: "Payments and refunds", Value: "payment_intent.succeeded, payment_intent.payment_failed, charge.refunded"},
					{Name: "Checkout", Value: "checkout.session.completed, checkout.session.async_payment_succeeded, checkout.session.async_payment_failed"},
					{Name: "Every payment intent event", Value: "payment_intent.*"},
				},
			},
			{
				Name: "ignoredEvents", Label: "Other event types", Type: nodes.TypeSelect, Default: ignoredAcknowledge,
				Description: "What Stripe is told about a verified event of a type not accepted above.",
				Options: []nodes.Option{
					{Value: ignoredAcknowledge, Label: "Acknowledge, no run", Description: "200 {\"received\":true}: Stripe stops delivering it; no run starts."},
					{Value: ignoredReject, Label: "Reject", Description: "400 stripe_event_type_ignored: Stripe retries for up to three days and may disable an endpoint that keeps failing."},
				},
			},
			{
				Name: "orderIdKey", Label: "Order id metadata key", Type: nodes.TypeString, Default: "order_id",
				Description: "Metadata key holding the shop's order number on the payment intent, charge, refund or " +
					"checkout session; it becomes merchantOrderId and the run's business key. Checkout sessions " +
					"without it fall back to client_reference_id.",
				Examples: []nodes.Example{{Name: "order_id", Value: "order_id"}, {Name: "CRM deal", Value: "crm_order_no"}},
			},
			{
				Name: "tolerance", Label: "Signature tolerance", Type: nodes.TypeDuration, Default: "5m", Advanced: true,
				Description: "How far the signed timestamp may be from Ferry's clock; older (replayed) or future-dated " +
					"deliveries are refused with stripe_timestamp_stale. Between 10s and 1h.",
				Examples: []nodes.Example{{Name: "Stripe's default", Value: "5m"}},
			},
		},
		Docs: "Receives the events of a Stripe webhook endpoint (Developers → Webhooks → Add endpoint, URL " +
			"`/hooks/{flowId}`). Events are read as API version `" + APIVersion + "`: create the endpoint with that " +
			"version. The credential (`stripe.account`) holds the endpoint's signing secret (`whsec_…`); its test " +
			"variant holds the test-mode endpoint's secret.\n\n" +
			"**Verification:** the `Stripe-Signature` header (`t=…,v1=…`) must carry an HMAC-SHA256 of `t.body` " +
			"under the signing secret; any matching `v1` is enough, so rolling the secret in Stripe (which signs " +
			"with old and new secret for a while) loses nothing, and the credential may list several secrets " +
			"separated by commas. The timestamp must be within the tolerance (5 minutes by default).\n\n" +
			"**Output:** `{\"body\": event, \"headers\": {…}, \"method\": \"POST\", \"query\": {…}}` where `event` is " +
			"Ferry's payment event: `provider` \"stripe\", `type` (paid, refunded, failed, closed, pending, other), " +
			"`providerType` (the Stripe type), `eventId` (evt_…), `transactionId` (the payment intent id, else the " +
			"charge or session id), `merchantOrderId`, `amount` {minor, currency, decimal} in integer minor units " +
			"with an upper-case currency, `refundedAmount` for refunds, `payer` {id: customer id, email, name}, " +
			"`time` (when Stripe created the event) and `raw` (the whole event).\n\n" +
			"**Types:** payment_intent.succeeded, charge.succeeded, checkout.session.completed (when its " +
			"payment_status is paid or no_payment_required) and checkout.session.async_payment_succeeded → paid; " +
			"charge.refunded, and refund.created / refund.updated with status succeeded → refunded; " +
			"payment_intent.payment_failed, charge.failed and checkout.session.async_payment_failed → failed; " +
			"payment_intent.canceled, checkout.session.expired → closed; payment_intent.created, .processing, " +
			".requires_action, charge.pending, unpaid checkout sessions and pending refunds → pending; anything " +
			"else → other. For payment_intent.succeeded the amount is amount_received; for charge.refunded " +
			"`amount` is the charge and `refundedAmount` the total refunded so far; for a refund both are the " +
			"refund. Subscribing to both payment_intent.succeeded and charge.succeeded gives two paid runs per " +
			"payment: choose one.\n\n" +
			"**Keys:** the event id is the dedup key, so Stripe's redeliveries start no second run; the business " +
			"key is the order id, else the transaction id.\n\n" +
			"**Answer:** `200 {\"received\":true}` once the run is stored. **Rejections** (400 unless noted): " +
			"`stripe_signature_missing`, `stripe_signature_invalid`, `stripe_timestamp_stale`, `stripe_event_invalid`, " +
			"`stripe_event_type_ignored` (200 with no run by default), 405 `stripe_method_not_allowed`, 413 " +
			"`stripe_body_too_large`, 500 `stripe_credential_missing`, 503 `stripe_credential_unavailable`.",
	}, newTrigger)
}

type triggerNode struct {
	types      []string // exact names, or prefixes ending in "." for a family; empty accepts all
	rejectRest bool
	orderIDKey string
	tolerance  time.Duration
}

func newTrigger(cfg *nodes.Config) (nodes.Node, error) {
	n := &triggerNode{
		rejectRest: cfg.String("ignoredEvents") == ignoredReject,
		orderIDKey: strings.TrimSpace(cfg.String("orderIdKey")),
		tolerance:  cfg.Duration("tolerance"),
	}
	for _, t := range strings.FieldsFunc(cfg.String("eventTypes"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		if t == "*" {
			n.types = nil
			break
		}
		family, isFamily := strings.CutSuffix(t, "*")
		if !validEventType(strings.TrimSuffix(family, ".")) || (isFamily && !strings.HasSuffix(family, ".")) {
			cfg.Fail("eventTypes", nodes.CodeParamInvalid, fmt.Sprintf("%q is not a Stripe event type such as payment_intent.succeeded or payment_intent.*", t))
			continue
		}
		n.types = append(n.types, family)
	}
	if n.tolerance < minTolerance || n.tolerance > maxTolerance {
		cfg.Fail("tolerance", nodes.CodeParamInvalid, "tolerance must be between 10s and 1h")
	}
	if cfg.Credential == "" {
		cfg.Fail("credential", core.CodeCredentialRequired, "the trigger needs a stripe.account credential holding the endpoint's signing secret")
	}
	return n, cfg.Err()
}

func validEventType(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (n *triggerNode) accepts(eventType string) bool {
	if len(n.types) == 0 {
		return true
	}
	for _, t := range n.types {
		if t == eventType || (strings.HasSuffix(t, ".") && strings.HasPrefix(eventType, t)) {
			return true
		}
	}
	return false
}

func reject(status int, code string, err error) *nodes.WebhookError {
	return &nodes.WebhookError{Status: status, Code: code, Err: err}
}

// now is the trigger's clock; tests move it.
var now = time.Now

// Accept verifies a delivery and turns it into the run's trigger payload. The body is parsed only once its
// signature holds, and the timestamp is judged only after that, so stripe_timestamp_stale always means an
// authentic but old (replayed) delivery.
func (n *triggerNode) Accept(ctx context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	if req.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Errorf("stripe: method %s not allowed, Stripe sends POST", req.Method))
	}
	if len(req.Body) > maxEventBytes {
		return nil, reject(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Errorf("stripe: body is larger than %d bytes", maxEventBytes))
	}
	header, err := parseSignatureHeader(req.Header.Get("Stripe-Signature"))
	if errors.Is(err, errSignatureMissing) {
		return nil, reject(http.StatusBadRequest, CodeSignatureMissing, fmt.Errorf("stripe: %w", err))
	}
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodeSignatureInvalid, fmt.Errorf("stripe: %w", err))
	}
	secrets, err := webhookSecrets(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := verifySignature(header, req.Body, secrets); err != nil {
		return nil, reject(http.StatusBadRequest, CodeSignatureInvalid, fmt.Errorf("stripe: %w", err))
	}
	if skew := now().Sub(header.timestamp); skew > n.tolerance || -skew > n.tolerance {
		return nil, reject(http.StatusBadRequest, CodeTimestampStale,
			fmt.Errorf("stripe: the delivery was signed at %s, more than %s from now", header.timestamp.UTC().Format(time.RFC3339), n.tolerance))
	}
	ev, raw, err := decodeEvent(req.Body)
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodeEventInvalid, fmt.Errorf("stripe: %w", err))
	}
	if !n.accepts(ev.Type) {
		if n.rejectRest {
			return nil, reject(http.StatusBadRequest, CodeEventTypeIgnored, fmt.Errorf("stripe: event type %s is not accepted by this trigger", ev.Type))
		}
		return &nodes.Accepted{Skip: true, Ack: Ack()}, nil
	}
	normalised := normalise(ev, raw, n.orderIDKey)
	business := normalised.MerchantOrderID
	if business == "" {
		business = normalised.TransactionID
	}
	return &nodes.Accepted{
		Payload: map[string]any{
			"body":    normalised.Payload(),
			"headers": nodes.PayloadHeaders(req.Header),
			"query":   nodes.FirstValues(req.Query),
			"method":  req.Method,
		},
		DedupKey:    ev.ID,
		BusinessKey: nodes.TruncateUTF8(business, core.MaxKeyBytes),
		Ack:         Ack(),
	}, nil
}

// Execute passes the accepted event on unchanged: it is the first step of every run.
func (n *triggerNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// webhookSecrets reads the endpoint secrets from the trigger's credential, telling a misconfigured flow (500,
// Stripe keeps retrying while an admin fixes it) from a vault that failed (503).
func webhookSecrets(ctx context.Context, req *nodes.WebhookRequest) ([]string, error) {
	if req.Credential == nil {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("stripe: the trigger has no credential: %w", nodes.ErrNoCredential))
	}
	cred, err := req.Credential(ctx)
	if errors.Is(err, nodes.ErrNoCredential) {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("stripe: the trigger has no credential: %w", err))
	}
	if err != nil {
		return nil, reject(http.StatusServiceUnavailable, CodeCredentialUnavailable, fmt.Errorf("stripe: load credential: %w", err))
	}
	secrets := splitSecrets(cred[FieldWebhookSecret])
	if len(secrets) == 0 {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("stripe: the credential has no %q (the endpoint's whsec_ signing secret)", FieldWebhookSecret))
	}
	return secrets, nil
}

// event is the envelope of a Stripe event, with the fields the normalisation reads.
type event struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	Type       string `json:"type"`
	Created    int64  `json:"created"`
	APIVersion string `json:"api_version"`
	Livemode   bool   `json:"livemode"`
	Data       struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// decodeEvent parses the envelope, and the whole event as run data (integers kept exact).
func decodeEvent(body []byte) (*event, any, error) {
	var ev event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil {
		return nil, nil, fmt.Errorf("parse event: %w", err)
	}
	if ev.Object != "event" || ev.ID == "" || ev.Type == "" || len(ev.Data.Object) == 0 {
		return nil, nil, errors.New("the body is not a Stripe event (object \"event\" with id, type and data.object)")
	}
	raw, err := nodes.DecodeJSON(body)
	if err != nil {
		return nil, nil, fmt.Errorf("parse event: %w", err)
	}
	return &ev, raw, nil
}

var _ nodes.WebhookTrigger = (*triggerNode)(nil)
