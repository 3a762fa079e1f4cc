package alipay

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/payment"
)

// Provider is the payment event's provider name.
const Provider = "alipay"

// TriggerType is the node type of the asynchronous notification trigger.
const TriggerType = "alipay.trigger"

// Stable codes of notification rejections. Each is answered with the text "fail", which Alipay reads as "deliver
// again later", and recorded so admins can tell a forged notification from a misconfigured credential.
const (
	CodeMethodNotAllowed     = "alipay_method_not_allowed"     // 405
	CodeBodyTooLarge         = "alipay_body_too_large"         // 413
	CodePayloadInvalid       = "alipay_payload_invalid"        // 400: not a form, a repeated or missing field, a bad amount
	CodeSignatureMissing     = "alipay_signature_missing"      // 401: no sign
	CodeSignTypeUnsupported  = "alipay_sign_type_unsupported"  // 401: sign_type is not RSA2
	CodeSignatureInvalid     = "alipay_signature_invalid"      // 401
	CodeAppIDMismatch        = "alipay_app_id_mismatch"        // 403: authentic, but for another app
	CodeNotifyStale          = "alipay_notify_stale"           // 400: notify_time outside the allowed age
	CodeTriggerCredential    = "alipay_credential_missing"     // 500: the flow names no credential
	CodeTriggerCredentialBad = "alipay_credential_invalid"     // 500: the credential's keys cannot be used
	CodeTriggerCredentialOut = "alipay_credential_unavailable" // 503: the vault failed; Alipay delivers again
)

const (
	// maxNotifyBody bounds a notification; Alipay's are a few kilobytes even with fund and voucher lists.
	maxNotifyBody = 64 << 10
	// defaultMaxAge is how old a notification may be. Alipay redelivers an unacknowledged notification for about
	// 25 hours (4m, 10m, 10m, 1h, 2h, 6h, 15h), so two days accepts every genuine delivery and refuses a replay
	// of an old one.
	defaultMaxAge = "48h"
	// maxClockSkew is how far in the future notify_time may be.
	maxClockSkew = 15 * time.Minute
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:               TriggerType,
		Version:            1,
		Name:               "Alipay notification",
		Category:           nodes.CategoryPayments,
		Description:        "Starts a run when Alipay notifies a payment, a closed trade or a refund (异步通知).",
		Trigger:            true,
		Webhook:            true,
		Outputs:            []nodes.Port{{ID: nodes.DefaultPort, Label: "Payment event", Kind: nodes.PortMain}},
		Credentials:        []string{CredentialApp},
		CredentialRequired: true,
		Params: []nodes.Field{
			{
				Name: "maxAge", Label: "Maximum age", Type: nodes.TypeDuration, Default: defaultMaxAge, Advanced: true,
				Description: "Notifications whose notify_time is older are refused (alipay_notify_stale), so a " +
					"captured notification cannot be replayed later. Alipay stops redelivering after about 25 " +
					"hours; 0s turns the check off.",
				Examples: []nodes.Example{{Name: "Two days", Value: "48h"}, {Name: "Off", Value: "0s"}},
			},
		},
		Docs: "Receives Alipay's **asynchronous notifications** (异步通知, `notify_type` trade_status_sync), sent " +
			"as a form POST to the `notify_url` given when the order was created (alipay.precreate sets it). Use " +
			"the flow's webhook URL, `https://<ferry>/hooks/{flowId}`.\n\n" +
			"**Checks, in order:** POST only; a form body of at most 64 KiB with no repeated field; a `sign`; " +
			"`sign_type` RSA2; the SHA256withRSA signature over every other parameter, sorted by name, as " +
			"`k=v` joined by `&`, with URL-decoded values, empty ones included (what the official SDKs check); " +
			"in certificate mode an `alipay_cert_sn`, when present, must be the credential's Alipay certificate (or " +
			"one Alipay rotated to that an action already downloaded and checked against the root); " +
			"`app_id` must be the credential's app; `notify_id` must be there; `notify_time` within the maximum age.\n\n" +
			"**Answer:** once the run is stored, `success` (text/plain), which stops Alipay's redeliveries. A " +
			"refused notification is answered `fail` with a 4xx status (5xx when the credential is at fault), so " +
			"Alipay delivers it again, and is recorded with a stable code: 405 `alipay_method_not_allowed`, 413 " +
			"`alipay_body_too_large`, 400 `alipay_payload_invalid`, `alipay_notify_stale`, 401 " +
			"`alipay_signature_missing`, `alipay_sign_type_unsupported`, `alipay_signature_invalid`, " +
			"`alipay_cert_sn_mismatch`, 403 `alipay_app_id_mismatch`, 500 `alipay_credential_missing`, " +
			"`alipay_credential_invalid`, 503 `alipay_credential_unavailable`.\n\n" +
			"**Output:** `body` is the normalised payment event: `provider` \"alipay\"; `type` pending " +
			"(WAIT_BUYER_PAY), paid (TRADE_SUCCESS, TRADE_FINISHED), closed (TRADE_CLOSED), refunded (a " +
			"notification carrying `refund_fee` or `gmt_refund`: TRADE_SUCCESS after a partial refund, " +
			"TRADE_CLOSED after a full one), else other; " +
			"`providerType` the trade_status; `eventId` the notify_id (the dedup key: a redelivery starts no " +
			"second run); `transactionId` the trade_no; `merchantOrderId` the out_trade_no (the business key); " +
			"`amount` the total_amount in fen, CNY (the refunded total `refund_fee` for refunds, also in " +
			"`refundedAmount`); `payer.id` the buyer_id (or buyer_open_id), `payer.email` or `payer.name` the " +
			"masked buyer_logon_id; `time` gmt_refund, gmt_payment, gmt_close or gmt_create by type, else " +
			"notify_time, read as Beijing time and given in UTC; `raw` every field as sent (GBK notifications " +
			"converted to UTF-8). `headers`, `query` and `method` are the request's.\n\n" +
			"**Example:** `trigger.body.type == \"paid\" && trigger.body.amount.minor == 8800` for an order of " +
			"¥88.00, then mark `trigger.body.merchantOrderId` paid in the CRM.",
	}, newTrigger)
}

type triggerNode struct {
	maxAge time.Duration
	now    func() time.Time
}

func newTrigger(cfg *nodes.Config) (nodes.Node, error) {
	n := &triggerNode{maxAge: cfg.Duration("maxAge"), now: time.Now}
	if cfg.Credential == "" {
		cfg.Fail("credential", core.CodeCredentialRequired, "the trigger needs an alipay.app credential to verify notifications")
	}
	return n, cfg.Err()
}

// Ack is the answer Alipay expects once a notification is handled: the bare text "success".
func Ack() *nodes.Response {
	return &nodes.Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "success"}
}

// reject refuses a notification with Alipay's failure answer, the text "fail".
func reject(status int, code string, err error) *nodes.WebhookError {
	return &nodes.WebhookError{Status: status, Code: code, Err: fmt.Errorf("alipay: %w", err),
		Answer: &nodes.Response{Status: status, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "fail"}}
}

// Accept verifies a notification and turns it into the normalised payment event. The credential is read only
// for a well-formed, signed request.
func (n *triggerNode) Accept(ctx context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	if req.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Errorf("method %s not allowed, notifications are POST", req.Method))
	}
	if len(req.Body) > maxNotifyBody {
		return nil, reject(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Errorf("body is larger than %d bytes", maxNotifyBody))
	}
	params, err := parseForm(req.Body)
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodePayloadInvalid, err)
	}
	sign := params["sign"]
	if sign == "" {
		return nil, reject(http.StatusUnauthorized, CodeSignatureMissing, errors.New("the notification has no sign"))
	}
	if t := params["sign_type"]; t != "" && t != "RSA2" {
		return nil, reject(http.StatusUnauthorized, CodeSignTypeUnsupported, fmt.Errorf("sign_type %q is not supported, only RSA2", t))
	}
	acc, err := n.account(ctx, req)
	if err != nil {
		return nil, err
	}
	key := acc.alipayKey
	if sn := params["alipay_cert_sn"]; acc.certMode && sn != "" && sn != acc.alipayCertSN {
		// A certificate Alipay rotated to, if an action already downloaded and checked it; never fetched here.
		if key = rotatedFor(acc, sn); key == nil {
			return nil, reject(http.StatusUnauthorized, CodeCertSNMismatch, fmt.Errorf(
				"the notification is signed with Alipay certificate %s but the credential holds %s; update the Alipay public key certificate", sn, acc.alipayCertSN))
		}
	}
	if !verifyNotify(key, params, sign) {
		return nil, reject(http.StatusUnauthorized, CodeSignatureInvalid, errors.New("the signature does not verify with the credential's Alipay public key"))
	}
	if got := params["app_id"]; got != acc.appID {
		return nil, reject(http.StatusForbidden, CodeAppIDMismatch, fmt.Errorf("the notification is for app %q, the credential is app %q", got, acc.appID))
	}
	if params["notify_id"] == "" {
		return nil, reject(http.StatusBadRequest, CodePayloadInvalid, errors.New("the notification has no notify_id"))
	}
	if err := n.checkAge(params["notify_time"]); err != nil {
		return nil, err
	}
	params = toUTF8(params)
	event, err := normalise(params)
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodePayloadInvalid, err)
	}
	business := event.MerchantOrderID
	if business == "" {
		business = event.TransactionID
	}
	return &nodes.Accepted{
		Payload: map[string]any{
			"body":    event.Payload(),
			"headers": firstHeaders(req.Header),
			"query":   nodes.FirstValues(req.Query),
			"method":  req.Method,
		},
		DedupKey:    dedupKey(params["notify_id"]),
		BusinessKey: nodes.TruncateUTF8(business, core.MaxKeyBytes),
		Ack:         Ack(),
	}, nil
}

// Execute passes the accepted event on: it is the first step of every run.
func (n *triggerNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// account reads and parses the trigger's credential; verifying needs no private key.
func (n *triggerNode) account(ctx context.Context, req *nodes.WebhookRequest) (*account, error) {
	if req.Credential == nil {
		return nil, reject(http.StatusInternalServerError, CodeTriggerCredential, errors.New("the trigger has no credential"))
	}
	fields, err := req.Credential(ctx)
	switch {
	case errors.Is(err, nodes.ErrNoCredential):
		return nil, reject(http.StatusInternalServerError, CodeTriggerCredential, errors.New("the trigger has no credential"))
	case err != nil:
		return nil, reject(http.StatusServiceUnavailable, CodeTriggerCredentialOut, fmt.Errorf("load credential: %w", err))
	}
	acc, err := loadAccount(fields, false)
	if err != nil {
		return nil, reject(http.StatusInternalServerError, CodeTriggerCredentialBad, err)
	}
	return acc, nil
}

// verifyNotify checks the notification's signature the way the official SDKs do (AlipaySignature.rsaCheckV1):
// over everything but sign and sign_type. Some SDKs also leave alipay_cert_sn out, so when it is present that
// reading is tried too; the field only names the key, which was checked against the credential already.
func verifyNotify(key *rsa.PublicKey, params map[string]string, sign string) bool {
	if verifyRSA2(key, []byte(notifyContent(params)), sign) == nil {
		return true
	}
	if _, ok := params["alipay_cert_sn"]; ok {
		return verifyRSA2(key, []byte(notifyContent(params, "alipay_cert_sn")), sign) == nil
	}
	return false
}

// parseForm reads a form body into single values; a repeated field is refused, since the signature would then
// cover a value other than the one a flow reads.
func parseForm(body []byte) (map[string]string, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, errors.New("the body is empty; Alipay notifications are form posts")
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("the body is not a form: %w", err)
	}
	params := make(map[string]string, len(values))
	for k, vs := range values {
		if len(vs) != 1 {
			return nil, fmt.Errorf("field %q appears %d times", k, len(vs))
		}
		params[k] = vs[0]
	}
	return params, nil
}

// checkAge refuses a notification sent longer ago than the maximum age, or too far in the future.
func (n *triggerNode) checkAge(notifyTime string) error {
	if n.maxAge <= 0 {
		return nil
	}
	if notifyTime == "" {
		return reject(http.StatusBadRequest, CodePayloadInvalid, errors.New("the notification has no notify_time"))
	}
	t, err := parseChinaTime(notifyTime)
	if err != nil {
		return reject(http.StatusBadRequest, CodePayloadInvalid, fmt.Errorf("notify_time %q is not a time", notifyTime))
	}
	now := n.now()
	if age := now.Sub(t); age > n.maxAge {
		return reject(http.StatusBadRequest, CodeNotifyStale, fmt.Errorf("notify_time %s is %s old, more than the %s allowed",
			notifyTime, age.Truncate(time.Second), n.maxAge))
	}
	if t.Sub(now) > maxClockSkew {
		return reject(http.StatusBadRequest, CodeNotifyStale, fmt.Errorf("notify_time %s is in the future", notifyTime))
	}
	return nil
}

// parseChinaTime reads Alipay's "2006-01-02 15:04:05" (gmt_refund adds milliseconds) as Beijing time.
func parseChinaTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{timeLayout, "2006-01-02 15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, chinaTime); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time like 2006-01-02 15:04:05", s)
}

// toUTF8 converts a GBK notification's values for flows. The signature was checked over the bytes as sent.
func toUTF8(params map[string]string) map[string]string {
	charset := strings.ToLower(strings.TrimSpace(params["charset"]))
	if charset != "gbk" && charset != "gb2312" && charset != "gb18030" {
		return params
	}
	dec := simplifiedchinese.GB18030.NewDecoder()
	out := make(map[string]string, len(params))
	for k, v := range params {
		if utf8.ValidString(v) && isASCII(v) {
			out[k] = v
			continue
		}
		if s, err := dec.String(v); err == nil {
			out[k] = s
		} else {
			out[k] = v
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// tradeStatuses maps trade_status to the normalised event types.
var tradeStatuses = map[string]string{
	"WAIT_BUYER_PAY": payment.EventPending,
	"TRADE_SUCCESS":  payment.EventPaid,
	"TRADE_FINISHED": payment.EventPaid,
	"TRADE_CLOSED":   payment.EventClosed,
}

// normalise builds the payment event from a verified notification.
func normalise(p map[string]string) (payment.Event, error) {
	raw := make(map[string]any, len(p))
	for k, v := range p {
		raw[k] = v
	}
	e := payment.Event{
		Provider:        Provider,
		ProviderType:    p["trade_status"],
		EventID:         p["notify_id"],
		TransactionID:   p["trade_no"],
		MerchantOrderID: p["out_trade_no"],
		Payer:           payer(p),
		Raw:             raw,
	}
	// Notification amounts are in yuan (单位为人民币（元）).
	e.Amount = payment.FromMinor(0, "CNY")
	if s := p["total_amount"]; s != "" {
		a, err := payment.FromDecimal(s, "CNY")
		if err != nil {
			return payment.Event{}, fmt.Errorf("total_amount: %w", err)
		}
		e.Amount = a
	}
	var refunded *payment.Amount
	if s := p["refund_fee"]; s != "" {
		a, err := payment.FromDecimal(s, "CNY")
		if err != nil {
			return payment.Event{}, fmt.Errorf("refund_fee: %w", err)
		}
		if a.Minor > 0 {
			refunded = &a
		}
	}
	e.Type = tradeStatuses[p["trade_status"]]
	if (refunded != nil || p["gmt_refund"] != "") && p["trade_status"] != "TRADE_FINISHED" {
		// A refund notification keeps the trade's status (TRADE_SUCCESS after a partial refund, TRADE_CLOSED
		// after a full one) and adds refund_fee, the total refunded so far, and gmt_refund. TRADE_FINISHED, the
		// end of the refund period, is no refund even when it repeats what was refunded before.
		e.Type = payment.EventRefunded
		if refunded != nil {
			e.Amount, e.RefundedAmount = *refunded, refunded
		}
	}
	if e.Type == "" {
		e.Type = payment.EventOther
	}
	var when string
	switch e.Type {
	case payment.EventRefunded:
		when = p["gmt_refund"]
	case payment.EventPaid:
		when = p["gmt_payment"]
	case payment.EventClosed:
		when = p["gmt_close"]
	case payment.EventPending:
		when = p["gmt_create"]
	}
	if when == "" {
		when = p["notify_time"]
	}
	if when != "" {
		t, err := parseChinaTime(when)
		if err != nil {
			return payment.Event{}, err
		}
		e.Time = payment.FormatTime(t)
	}
	return e, nil
}

// payer reads the buyer: buyer_id (buyer_open_id for apps in OpenID mode) and the masked logon id, which is an
// e-mail address or a phone number.
func payer(p map[string]string) payment.Payer {
	out := payment.Payer{ID: p["buyer_id"]}
	if out.ID == "" {
		out.ID = p["buyer_open_id"]
	}
	if logon := p["buyer_logon_id"]; strings.Contains(logon, "@") {
		out.Email = logon
	} else {
		out.Name = logon
	}
	return out
}

// dedupKey keeps keys within the store's bound: a longer one is replaced by its SHA-256, keeping keys distinct.
func dedupKey(id string) string {
	if len(id) <= core.MaxKeyBytes {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func firstHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, vs := range h {
		if len(vs) > 0 {
			out[strings.ToLower(k)] = vs[0]
		}
	}
	return out
}

var _ nodes.WebhookTrigger = (*triggerNode)(nil)
