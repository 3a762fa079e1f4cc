package paypal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// TriggerType is the node type of the PayPal webhook trigger.
const TriggerType = "paypal.trigger"

// Stable codes of the trigger's rejections. PayPal redelivers any notification not answered with 2xx (up to 25
// times over three days), so every rejection of a genuine event is recovered once the cause is fixed.
const (
	CodeMethodNotAllowed         = "paypal_method_not_allowed"         // 405
	CodeBodyTooLarge             = "paypal_body_too_large"             // 413
	CodeHeadersMissing           = "paypal_headers_missing"            // 400: a PAYPAL-* signature header is absent
	CodeHeadersInvalid           = "paypal_headers_invalid"            // 400: PAYPAL-TRANSMISSION-TIME is not a date-time
	CodeTimestampStale           = "paypal_timestamp_stale"            // 401: transmission time outside the tolerance
	CodeBodyInvalid              = "paypal_body_invalid"               // 400: not a PayPal event (JSON object with id and event_type)
	CodeSignatureInvalid         = "paypal_signature_invalid"          // 401: PayPal answered FAILURE, or refused the request as malformed
	CodeVerificationUnavailable  = "paypal_verification_unavailable"   // 503: PayPal's verification API could not be asked
	CodeTriggerCredentialMissing = "paypal_trigger_credential_missing" // 500: the flow names no credential
	CodeTriggerCredentialInvalid = "paypal_trigger_credential_invalid" // 500: no webhook id, bad environment, or PayPal refused the app
	CodeTriggerCredentialFailed  = "paypal_trigger_credential_failed"  // 503: the vault failed
)

// Headers PayPal signs each delivery with; all five go to verify-webhook-signature.
const (
	headerAuthAlgo         = "Paypal-Auth-Algo"
	headerCertURL          = "Paypal-Cert-Url"
	headerTransmissionID   = "Paypal-Transmission-Id"
	headerTransmissionSig  = "Paypal-Transmission-Sig"
	headerTransmissionTime = "Paypal-Transmission-Time"
)

var signatureHeaders = []string{headerAuthAlgo, headerCertURL, headerTransmissionID, headerTransmissionSig, headerTransmissionTime}

const (
	defaultTolerance = 5 * time.Minute
	minTolerance     = 30 * time.Second
	maxTolerance     = time.Hour
	// verifyTimeout bounds the verification call: PayPal waits for the answer to its delivery meanwhile.
	verifyTimeout  = 10 * time.Second
	defaultMaxBody = 1 << 20
	maxMaxBody     = 8 << 20
)

// Ack is the answer PayPal gets once the run is committed: any 2xx ends its redeliveries; an empty JSON object
// is what PayPal's own samples send.
func Ack() *nodes.Response {
	return &nodes.Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"}, Body: map[string]any{}}
}

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        TriggerType,
		Version:     1,
		Name:        "PayPal event",
		Category:    nodes.CategoryPayments,
		Description: "Starts a run for each PayPal webhook event (payment captured, refunded, denied, order approved), verified with PayPal.",
		Trigger:     true,
		Webhook:     true,
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Event", Kind: nodes.PortMain}},
		Credentials: []string{CredentialApp}, CredentialRequired: true,
		Params: []nodes.Field{
			{
				Name: "tolerance", Label: "Transmission time tolerance", Type: nodes.TypeDuration, Default: defaultTolerance.String(),
				Description: "Deliveries whose PAYPAL-TRANSMISSION-TIME is further than this from the server's clock are " +
					"refused as replays (401 paypal_timestamp_stale). Between 30s and 1h.",
				Examples: []nodes.Example{{Name: "Five minutes", Value: "5m"}, {Name: "Fifteen minutes", Value: "15m"}},
			},
			{
				Name: "maxBodyBytes", Label: "Body size limit (bytes)", Type: nodes.TypeInteger, Default: defaultMaxBody, Advanced: true,
				Description: "Larger deliveries are refused with 413. At most 8 MiB.",
			},
		},
		Docs: "Receives PayPal webhook events (Notifications webhooks **v1**; resources from Orders **v2** and Payments " +
			"**v2**). Point a webhook of your PayPal app at the flow's URL, `/hooks/{flowId}`, and put that webhook's " +
			"id in the `paypal.app` credential.\n\n" +
			"**Verification:** each delivery is checked with PayPal's own API, `POST /v1/notifications/verify-webhook-signature`, " +
			"sending the five `PAYPAL-*` headers, the credential's webhook id and the event exactly as received; only " +
			"`verification_status: SUCCESS` is accepted. A transmission time outside the tolerance is refused before " +
			"PayPal is asked. When PayPal's API cannot be reached the delivery is answered 503, so PayPal delivers it " +
			"again; an unverified event is never acknowledged.\n\n" +
			"**Output:** `trigger.body` is the normalised payment event: `provider` \"paypal\", `type` (`paid` for " +
			"PAYMENT.CAPTURE.COMPLETED, `refunded` for PAYMENT.CAPTURE.REFUNDED, `failed` for PAYMENT.CAPTURE.DENIED, " +
			"`pending` for CHECKOUT.ORDER.APPROVED, `other` for anything else), `providerType` (PayPal's event type), " +
			"`eventId` (the event's `id`, which is also the dedup key), `transactionId` (the capture id; for refunds the " +
			"refunded capture; for orders the order id), `merchantOrderId` (the resource's `custom_id`, else its " +
			"`invoice_id`; for orders those of the first purchase unit), `amount` `{minor, currency, decimal}` in " +
			"integer minor units, `refundedAmount` for refunds (PayPal's total refunded on the capture), `payer`, " +
			"`time` and `raw` (the event as PayPal sent it). `trigger.headers` holds the PAYPAL-* headers.\n\n" +
			"**Keys:** a redelivered event (same `id`) starts no second run. Runs are searchable by the merchant order " +
			"id, or the transaction id when the event has none.\n\n" +
			"**Answers:** 200 with `{}` once the run is stored. Rejections: 400 `paypal_headers_missing`, 400 " +
			"`paypal_headers_invalid`, 401 `paypal_timestamp_stale`, 400 `paypal_body_invalid`, 401 " +
			"`paypal_signature_invalid`, 503 `paypal_verification_unavailable`, 405, 413; 500 when the credential is " +
			"missing or PayPal refuses its client id and secret.",
	}, newTrigger)
}

type triggerNode struct {
	tolerance time.Duration
	maxBody   int
	now       func() time.Time
	client    *http.Client
}

func newTrigger(cfg *nodes.Config) (nodes.Node, error) {
	n := &triggerNode{tolerance: cfg.Duration("tolerance"), maxBody: cfg.Int("maxBodyBytes"), now: time.Now}
	if n.tolerance < minTolerance || n.tolerance > maxTolerance {
		cfg.Fail("tolerance", nodes.CodeParamInvalid, "tolerance must be between 30s and 1h")
	}
	if n.maxBody < 1 || n.maxBody > maxMaxBody {
		cfg.Fail("maxBodyBytes", nodes.CodeParamInvalid, fmt.Sprintf("body size limit must be between 1 and %d bytes", maxMaxBody))
	}
	if cfg.Credential == "" {
		cfg.Fail("credential", core.CodeCredentialRequired, "the trigger needs a paypal.app credential holding the webhook id")
	}
	return n, cfg.Err()
}

func reject(status int, code string, err error) *nodes.WebhookError {
	return &nodes.WebhookError{Status: status, Code: code, Err: fmt.Errorf("paypal: %w", err)}
}

// Accept checks a delivery cheapest first (method, size, headers, transmission time, body shape), then asks
// PayPal whether it signed it, and only then reads the event.
func (n *triggerNode) Accept(ctx context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	if req.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Errorf("method %s not allowed, PayPal posts", req.Method))
	}
	if len(req.Body) > n.maxBody {
		return nil, reject(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Errorf("body is larger than %d bytes", n.maxBody))
	}
	sig := make(map[string]string, len(signatureHeaders))
	var missing []string
	for _, h := range signatureHeaders {
		v := strings.TrimSpace(req.Header.Get(h))
		if v == "" {
			missing = append(missing, strings.ToUpper(h))
		}
		sig[h] = v
	}
	if len(missing) > 0 {
		return nil, reject(http.StatusBadRequest, CodeHeadersMissing, fmt.Errorf("signature headers missing: %s", strings.Join(missing, ", ")))
	}
	sent, err := time.Parse(time.RFC3339, sig[headerTransmissionTime])
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodeHeadersInvalid, errors.New("PAYPAL-TRANSMISSION-TIME is not an RFC 3339 date-time"))
	}
	if skew := n.now().Sub(sent); skew > n.tolerance || skew < -n.tolerance {
		return nil, reject(http.StatusUnauthorized, CodeTimestampStale,
			fmt.Errorf("transmission time %s is %s away from now, more than the %s tolerance", sent.UTC().Format(time.RFC3339), skew.Abs().Round(time.Second), n.tolerance))
	}
	body := bytes.TrimSpace(req.Body)
	var ev webhookEvent
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &ev) != nil {
		return nil, reject(http.StatusBadRequest, CodeBodyInvalid, errors.New("body is not a JSON object"))
	}
	if ev.ID == "" || ev.EventType == "" {
		return nil, reject(http.StatusBadRequest, CodeBodyInvalid, errors.New("body is not a PayPal event: id or event_type missing"))
	}
	a, err := n.account(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := n.verify(ctx, a, sig, req.Body, req.HTTP); err != nil {
		return nil, err
	}
	decoded, err := nodes.DecodeJSON(req.Body)
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodeBodyInvalid, fmt.Errorf("parse event: %w", err))
	}
	event, err := normalise(&ev, decoded)
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodeBodyInvalid, fmt.Errorf("event %s: %w", ev.ID, err))
	}
	business := event.MerchantOrderID
	if business == "" {
		business = event.TransactionID
	}
	headers := make(map[string]any, len(signatureHeaders))
	for _, h := range signatureHeaders {
		headers[strings.ToLower(h)] = sig[h]
	}
	return &nodes.Accepted{
		Payload:     map[string]any{"body": event.Payload(), "headers": headers, "method": req.Method},
		DedupKey:    dedupKey(ev.ID),
		BusinessKey: nodes.TruncateUTF8(business, core.MaxKeyBytes),
		Ack:         Ack(),
	}, nil
}

// Execute passes the accepted event on unchanged: it is the first step of every run.
func (n *triggerNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// account reads the trigger's credential, telling a misconfigured flow (500) from a vault that failed (503);
// PayPal redelivers after either.
func (n *triggerNode) account(ctx context.Context, req *nodes.WebhookRequest) (*account, error) {
	if req.Credential == nil {
		return nil, reject(http.StatusInternalServerError, CodeTriggerCredentialMissing, errors.New("the trigger has no credential"))
	}
	fields, err := req.Credential(ctx)
	if errors.Is(err, nodes.ErrNoCredential) {
		return nil, reject(http.StatusInternalServerError, CodeTriggerCredentialMissing, errors.New("the trigger has no credential"))
	}
	if err != nil {
		return nil, reject(http.StatusServiceUnavailable, CodeTriggerCredentialFailed, fmt.Errorf("load credential: %w", err))
	}
	a, err := accountFrom(fields)
	if err != nil {
		return nil, reject(http.StatusInternalServerError, CodeTriggerCredentialInvalid, err)
	}
	if a.webhookID == "" {
		return nil, reject(http.StatusInternalServerError, CodeTriggerCredentialInvalid, errors.New("the credential has no webhook id"))
	}
	return a, nil
}

// verify asks PayPal whether it sent this delivery. The request body is assembled around the raw event bytes,
// so PayPal checks exactly what it signed, not a re-encoding of it.
func (n *triggerNode) verify(ctx context.Context, a *account, sig map[string]string, rawEvent []byte, server *http.Client) error {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range []struct{ key, value string }{
		{"auth_algo", sig[headerAuthAlgo]},
		{"cert_url", sig[headerCertURL]},
		{"transmission_id", sig[headerTransmissionID]},
		{"transmission_sig", sig[headerTransmissionSig]},
		{"transmission_time", sig[headerTransmissionTime]},
		{"webhook_id", a.webhookID},
	} {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		v, _ := json.Marshal(f.value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteString(`,"webhook_event":`)
	b.Write(rawEvent)
	b.WriteByte('}')
	body := b.Bytes()

	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	client := n.client
	if client == nil {
		client = server
	}
	if client == nil {
		client = egress.Default().Client()
	}
	endpoint := a.endpoint("/v1/notifications/verify-webhook-signature")
	unavailable := func(err error) error {
		return reject(http.StatusServiceUnavailable, CodeVerificationUnavailable, fmt.Errorf("verify signature: %w", err))
	}
	for attempt := 0; ; attempt++ {
		token, err := accessToken(ctx, client, a)
		if err != nil {
			var typed *nodes.Error
			if errors.As(err, &typed) && typed.Code == CodeAuthFailed {
				return reject(http.StatusInternalServerError, CodeTriggerCredentialInvalid, err)
			}
			return unavailable(err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return reject(http.StatusInternalServerError, CodeTriggerCredentialInvalid, withoutURL(err))
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return unavailable(fmt.Errorf("POST %s: %w", endpoint, withoutURL(err)))
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			return unavailable(fmt.Errorf("POST %s: read answer: %w", endpoint, err))
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized && attempt == 0:
			forgetToken(a, token)
			continue
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusUnauthorized:
			return unavailable(fmt.Errorf("POST %s answered %s", endpoint, resp.Status))
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			// PayPal refuses header values that cannot be its own (VALIDATION_ERROR): a forged delivery.
			var pe apiError
			_ = json.Unmarshal(raw, &pe)
			return reject(http.StatusUnauthorized, CodeSignatureInvalid,
				fmt.Errorf("PayPal refused to verify the delivery: %s %s %s", resp.Status, pe.Name, pe.Message))
		}
		var answer struct {
			VerificationStatus string `json:"verification_status"`
		}
		if err := json.Unmarshal(raw, &answer); err != nil {
			return unavailable(fmt.Errorf("POST %s: answer is not JSON", endpoint))
		}
		if answer.VerificationStatus != "SUCCESS" {
			return reject(http.StatusUnauthorized, CodeSignatureInvalid,
				fmt.Errorf("PayPal did not verify the delivery (verification_status %q)", answer.VerificationStatus))
		}
		return nil
	}
}

// dedupKey keeps event ids within the store's key size; PayPal's ("WH-…") are far shorter, and a longer one is
// replaced by its SHA-256 so distinct ids stay distinct.
func dedupKey(id string) string {
	if len(id) <= core.MaxKeyBytes {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

var _ nodes.WebhookTrigger = (*triggerNode)(nil)
