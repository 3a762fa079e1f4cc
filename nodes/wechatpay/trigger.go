package wechatpay

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/payment"
)

// TriggerType is the node type of the WeChat Pay notification trigger.
const TriggerType = "wechatpay.trigger"

// Stable codes of notification rejections, recorded with every refused delivery so admins can tell a forged
// callback from a misconfigured credential.
const (
	CodeMethodNotAllowed      = "wechatpay_method_not_allowed"      // 405
	CodeBodyTooLarge          = "wechatpay_body_too_large"          // 413
	CodeSignatureMissing      = "wechatpay_signature_missing"       // 401: a Wechatpay-* header is absent
	CodeSignatureTypeUnknown  = "wechatpay_signature_type_unknown"  // 401: not WECHATPAY2-SHA256-RSA2048
	CodeTimestampStale        = "wechatpay_timestamp_stale"         // 401: outside ±5 minutes, or not a time
	CodeSerialUnknown         = "wechatpay_serial_unknown"          // 401: no certificate or public key with that serial
	CodeSignatureInvalid      = "wechatpay_signature_invalid"       // 401
	CodeBodyInvalid           = "wechatpay_body_invalid"            // 400: the signed body is not a notification
	CodeDecryptFailed         = "wechatpay_decrypt_failed"          // 500: authentic, but the APIv3 key does not open it
	CodeResourceInvalid       = "wechatpay_resource_invalid"        // 400: the decrypted resource is not the documented JSON
	CodeTriggerCredential     = "wechatpay_credential_missing"      // 500: the flow names no usable credential
	CodeTriggerCredentialDown = "wechatpay_credential_unavailable"  // 503: the vault failed; WeChat Pay delivers again
	CodeTriggerCredentialBad  = "wechatpay_credential_invalid_keys" // 500: the credential's keys cannot be parsed
)

// Acknowledgement styles.
const (
	ackEmpty = "empty"
	ackJSON  = "json"
)

// maxNotifyBody bounds a notification: WeChat Pay's are a few kilobytes.
const maxNotifyBody = 64 << 10

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:               TriggerType,
		Version:            1,
		Name:               "WeChat Pay notification",
		Category:           nodes.CategoryPayments,
		Description:        "Starts a run when WeChat Pay (API v3) notifies a payment or a refund.",
		Trigger:            true,
		Webhook:            true,
		Outputs:            []nodes.Port{{ID: nodes.DefaultPort, Label: "Payment event", Kind: nodes.PortMain}},
		Credentials:        []string{CredentialMerchant},
		CredentialRequired: true,
		Params: []nodes.Field{
			{
				Name: "acknowledgement", Label: "Acknowledgement", Type: nodes.TypeSelect, Default: ackEmpty,
				Description: "How a notification is acknowledged once its run is stored. WeChat Pay reads only the " +
					"status code in API v3; the JSON body is for older integrations that still expect it.",
				Options: []nodes.Option{
					{Value: ackEmpty, Label: "200, no body", Description: "As the API v3 notification docs (支付成功回调通知, 退款结果通知) ask."},
					{Value: ackJSON, Label: "200 with {\"code\":\"SUCCESS\",\"message\":\"成功\"}", Description: "The answer of the earlier API v3 guide."},
				},
			},
		},
		Docs: "Receives WeChat Pay **API v3** notifications (支付成功回调通知 TRANSACTION.SUCCESS and 退款结果通知 " +
			"REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED). Set the flow's webhook URL, `https://<ferry>/hooks/{flowId}`, " +
			"as `notify_url` when creating orders and refunds (wechatpay.native, wechatpay.refund do it for you).\n\n" +
			"**Checks, in order:** POST only; the `Wechatpay-Signature`, `-Timestamp`, `-Nonce` and `-Serial` headers; " +
			"the timestamp within ±5 minutes; the serial names one of the credential's platform certificates or its " +
			"WeChat Pay public key; the SHA256withRSA signature over `timestamp\\nnonce\\nbody\\n`; then the resource " +
			"is decrypted (AEAD_AES_256_GCM, APIv3 key, its nonce and associated_data). WeChat Pay's signature probes " +
			"(`WECHATPAY/SIGNTEST/…`) fail the signature check, as they must.\n\n" +
			"**Answer:** once the run is stored, 200 with no body (or the legacy JSON, see Acknowledgement). A refused " +
			"notification is answered with WeChat Pay's failure format, `{\"code\":\"FAIL\",\"message\":\"<reason>\"}`, " +
			"so WeChat Pay delivers it again later, and is recorded with a stable code: 405 `wechatpay_method_not_allowed`, " +
			"413 `wechatpay_body_too_large`, 401 `wechatpay_signature_missing`, `wechatpay_signature_type_unknown`, " +
			"`wechatpay_timestamp_stale`, `wechatpay_serial_unknown`, `wechatpay_signature_invalid`; 400 " +
			"`wechatpay_body_invalid`, `wechatpay_resource_invalid`; 500 `wechatpay_decrypt_failed` (check the APIv3 " +
			"key), `wechatpay_credential_missing`, `wechatpay_credential_invalid_keys`; 503 `wechatpay_credential_unavailable`.\n\n" +
			"**Output:** the normalised payment event: `provider` \"wechatpay\", `type` paid (TRANSACTION.SUCCESS), " +
			"refunded (REFUND.SUCCESS), failed (REFUND.ABNORMAL), closed (REFUND.CLOSED), else from `trade_state` or " +
			"other; `providerType` the event_type; `eventId` the notification id (the dedup key: a redelivery starts " +
			"no second run); `transactionId`; `merchantOrderId` the out_trade_no (the business key); `amount` from " +
			"amount.total in fen with its currency (CNY when absent), `refundedAmount` from amount.refund for refunds; " +
			"`payer.id` the payer's openid; `time` the success_time; `raw` the notification with its decrypted " +
			"`resource` (out_refund_no, refund_status, attach… are there).\n\n" +
			"**Example:** `trigger.body.type == \"paid\"` then upsert `trigger.body.merchantOrderId` with " +
			"`trigger.body.amount.minor` fen.",
	}, newTrigger)
}

type triggerNode struct {
	ack *nodes.Response
}

func newTrigger(cfg *nodes.Config) (nodes.Node, error) {
	n := &triggerNode{ack: &nodes.Response{Status: http.StatusOK}}
	if cfg.String("acknowledgement") == ackJSON {
		n.ack = &nodes.Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"},
			Body: map[string]any{"code": "SUCCESS", "message": "成功"}}
	}
	if cfg.Credential == "" {
		cfg.Fail("credential", core.CodeCredentialRequired, "the trigger needs a wechatpay.merchant credential to verify and decrypt notifications")
	}
	return n, cfg.Err()
}

// reject answers a refused notification the way WeChat Pay documents failures, so it delivers again later. A
// failure on Ferry's side (5xx: the credential, the vault) is answered with a generic reason, since anyone may
// post to the URL; the cause stays in Err, which Ferry logs.
func reject(status int, code string, err error) *nodes.WebhookError {
	reason := err.Error()
	if status >= http.StatusInternalServerError {
		reason = "the notification could not be processed; deliver it again later"
	}
	return &nodes.WebhookError{Status: status, Code: code, Err: fmt.Errorf("wechatpay: %w", err),
		Answer: &nodes.Response{Status: status, Headers: map[string]string{"Content-Type": "application/json"},
			Body: map[string]any{"code": "FAIL", "message": reason}}}
}

// notification is the documented envelope of an API v3 notification.
type notification struct {
	ID           string `json:"id"`
	CreateTime   string `json:"create_time"`
	EventType    string `json:"event_type"`
	ResourceType string `json:"resource_type"`
	Summary      string `json:"summary"`
	Resource     *struct {
		Algorithm      string `json:"algorithm"`
		Ciphertext     string `json:"ciphertext"`
		AssociatedData string `json:"associated_data"`
		Nonce          string `json:"nonce"`
		OriginalType   string `json:"original_type"`
	} `json:"resource"`
}

// Accept verifies a notification, decrypts it and turns it into the normalised payment event. Cheap checks come
// first; the credential is read only for a well-formed, timely request.
func (n *triggerNode) Accept(ctx context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	if req.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Errorf("method %s not allowed, notifications are POST", req.Method))
	}
	if len(req.Body) > maxNotifyBody {
		return nil, reject(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Errorf("body is larger than %d bytes", maxNotifyBody))
	}
	signed, missing := readSignedHeaders(req.Header)
	if len(missing) > 0 {
		return nil, reject(http.StatusUnauthorized, CodeSignatureMissing, fmt.Errorf("missing header %s", strings.Join(sortedNames(missing), ", ")))
	}
	if t := strings.TrimSpace(req.Header.Get(headerSignatureType)); t != "" && t != authScheme {
		return nil, reject(http.StatusUnauthorized, CodeSignatureTypeUnknown, fmt.Errorf("%s %q is not supported, only %s", headerSignatureType, t, authScheme))
	}
	if err := checkTimestamp(signed.timestamp); err != nil {
		return nil, reject(http.StatusUnauthorized, CodeTimestampStale, err)
	}
	keys, err := n.keys(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := keys.keys.verify(signed, req.Body); err != nil {
		code := CodeSignatureInvalid
		if errors.Is(err, errSerialUnknown) {
			code = CodeSerialUnknown
		}
		return nil, reject(http.StatusUnauthorized, code, err)
	}
	var env notification
	if v, err := nodes.DecodeJSON(req.Body); err != nil {
		return nil, reject(http.StatusBadRequest, CodeBodyInvalid, fmt.Errorf("body is not JSON: %w", err))
	} else if _, ok := v.(map[string]any); !ok {
		return nil, reject(http.StatusBadRequest, CodeBodyInvalid, errors.New("body is not a JSON object"))
	}
	if err := jsonUnmarshal(req.Body, &env); err != nil {
		return nil, reject(http.StatusBadRequest, CodeBodyInvalid, fmt.Errorf("body is not a notification: %w", err))
	}
	if env.ID == "" || env.Resource == nil {
		return nil, reject(http.StatusBadRequest, CodeBodyInvalid, errors.New("notification has no id or no resource"))
	}
	if env.Resource.Algorithm != "AEAD_AES_256_GCM" {
		return nil, reject(http.StatusBadRequest, CodeBodyInvalid, fmt.Errorf("resource algorithm %q is not AEAD_AES_256_GCM", env.Resource.Algorithm))
	}
	plain, err := decrypt(keys.apiV3Key, env.Resource.Nonce, env.Resource.Ciphertext, env.Resource.AssociatedData)
	if err != nil {
		return nil, reject(http.StatusInternalServerError, CodeDecryptFailed,
			fmt.Errorf("the resource cannot be decrypted with the credential's APIv3 key: %w", err))
	}
	v, err := nodes.DecodeJSON(plain)
	resource, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil, reject(http.StatusBadRequest, CodeResourceInvalid, errors.New("the decrypted resource is not a JSON object"))
	}
	event, err := normalise(&env, resource)
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodeResourceInvalid, err)
	}
	return &nodes.Accepted{
		// The same shape as every webhook trigger: flows read trigger.body.amount.minor and so on.
		Payload: map[string]any{"body": event.Payload(), "method": req.Method,
			"headers": map[string]any{"request-id": req.Header.Get("Request-Id"), "wechatpay-serial": req.Header.Get("Wechatpay-Serial")}},
		DedupKey:    dedupKey(env.ID),
		BusinessKey: truncate(event.MerchantOrderID, core.MaxKeyBytes),
		Ack:         n.ack,
	}, nil
}

// keys reads the trigger's credential.
func (n *triggerNode) keys(ctx context.Context, req *nodes.WebhookRequest) (*notifyKeys, error) {
	if req.Credential == nil {
		return nil, reject(http.StatusInternalServerError, CodeTriggerCredential, errors.New("the trigger has no credential"))
	}
	fields, err := req.Credential(ctx)
	switch {
	case errors.Is(err, nodes.ErrNoCredential):
		return nil, reject(http.StatusInternalServerError, CodeTriggerCredential, errors.New("the trigger has no credential"))
	case err != nil:
		return nil, reject(http.StatusServiceUnavailable, CodeTriggerCredentialDown, fmt.Errorf("load credential: %w", err))
	}
	keys, err := cachedNotifyKeys(fields)
	if err != nil {
		return nil, reject(http.StatusInternalServerError, CodeTriggerCredentialBad, err)
	}
	return keys, nil
}

// Execute passes the accepted event on: it is the first step of every run.
func (n *triggerNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// decrypt opens an AEAD_AES_256_GCM resource: ciphertext is base64 and ends with the 16-byte tag.
func decrypt(key []byte, nonce, ciphertext, associatedData string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, errors.New("ciphertext is not base64")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(nonce) != gcm.NonceSize() {
		return nil, fmt.Errorf("the nonce has %d characters, AEAD_AES_256_GCM uses %d", len(nonce), gcm.NonceSize())
	}
	plain, err := gcm.Open(nil, []byte(nonce), data, []byte(associatedData))
	if err != nil {
		return nil, errors.New("authentication failed")
	}
	return plain, nil
}

// eventTypes maps documented notification types to the normalised event types.
var eventTypes = map[string]string{
	"TRANSACTION.SUCCESS": payment.EventPaid,
	"REFUND.SUCCESS":      payment.EventRefunded,
	"REFUND.ABNORMAL":     payment.EventFailed,
	"REFUND.CLOSED":       payment.EventClosed,
}

// tradeStates maps trade_state for notification types not listed above.
var tradeStates = map[string]string{
	"SUCCESS":    payment.EventPaid,
	"REFUND":     payment.EventRefunded,
	"NOTPAY":     payment.EventPending,
	"USERPAYING": payment.EventPending,
	"CLOSED":     payment.EventClosed,
	"REVOKED":    payment.EventClosed,
	"PAYERROR":   payment.EventFailed,
}

// normalise builds the payment event from the envelope and the decrypted resource (a transaction or a refund).
func normalise(env *notification, resource map[string]any) (payment.Event, error) {
	e := payment.Event{
		Provider:        Provider,
		ProviderType:    env.EventType,
		EventID:         env.ID,
		TransactionID:   str(resource["transaction_id"]),
		MerchantOrderID: str(resource["out_trade_no"]),
		Payer:           payment.Payer{ID: str(mapOf(resource["payer"])["openid"])},
		Raw: map[string]any{
			"id": env.ID, "create_time": env.CreateTime, "event_type": env.EventType,
			"resource_type": env.ResourceType, "summary": env.Summary, "original_type": env.Resource.OriginalType,
			"resource": resource,
		},
	}
	e.Type = eventTypes[env.EventType]
	if e.Type == "" {
		e.Type = tradeStates[str(resource["trade_state"])]
	}
	if e.Type == "" {
		e.Type = payment.EventOther
	}
	amount := mapOf(resource["amount"])
	currency := str(amount["currency"])
	if currency == "" {
		currency = "CNY" // refund notifications carry no currency; API v3 domestic payments are in CNY
	}
	if v, ok := amount["total"]; ok {
		total, ok := v.(int64)
		if !ok {
			return e, fmt.Errorf("amount.total %v is not a whole number of fen", v)
		}
		e.Amount = payment.FromMinor(total, currency)
	} else {
		e.Amount = payment.FromMinor(0, currency)
	}
	if v, ok := amount["refund"]; ok {
		refund, ok := v.(int64)
		if !ok {
			return e, fmt.Errorf("amount.refund %v is not a whole number of fen", v)
		}
		r := payment.FromMinor(refund, currency)
		e.RefundedAmount = &r
	}
	when := str(resource["success_time"])
	if when == "" {
		when = env.CreateTime
	}
	if t, err := time.Parse(time.RFC3339, when); err == nil {
		e.Time = payment.FormatTime(t)
	}
	return e, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func sortedNames(names []string) []string {
	out := append([]string(nil), names...)
	sort.Strings(out)
	return out
}

func jsonUnmarshal(b []byte, dst any) error { return json.Unmarshal(b, dst) }

// dedupKey keeps keys within what the store indexes; longer ones are replaced by their digest.
func dedupKey(k string) string {
	if len(k) <= core.MaxKeyBytes {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

var _ nodes.WebhookTrigger = (*triggerNode)(nil)
