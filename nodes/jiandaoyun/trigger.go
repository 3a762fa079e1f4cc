package jiandaoyun

import (
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
)

// TriggerType is the node type of the Jiandaoyun data push trigger.
const TriggerType = "jiandaoyun.trigger"

// Stable codes of the trigger's refusals, recorded with every refused delivery.
const (
	CodeMethodNotAllowed      = "jiandaoyun_method_not_allowed"     // 405: Jiandaoyun only POSTs
	CodeBodyTooLarge          = "jiandaoyun_body_too_large"         // 413
	CodeSignatureMissing      = "jiandaoyun_signature_missing"      // 401: no X-JDY-Signature, nonce or timestamp
	CodeSignatureInvalid      = "jiandaoyun_signature_invalid"      // 401: the signature matches no secret
	CodeTimestampStale        = "jiandaoyun_timestamp_stale"        // 401: the signed timestamp is too far from now
	CodeDeliveryInvalid       = "jiandaoyun_delivery_invalid"       // 400: the body is not a push (op and data)
	CodeCredentialMissing     = "jiandaoyun_credential_missing"     // 500: no credential, or it has no push secret
	CodeCredentialUnavailable = "jiandaoyun_credential_unavailable" // 503: the vault failed
)

// Ops are the data push events a form sends.
var Ops = []string{"data_create", "data_update", "data_remove", "data_recover"}

// MaxSkew is how far the signed timestamp may be from Ferry's clock: a captured delivery replayed later is
// refused, whatever its signature.
const MaxSkew = 5 * time.Minute

// maxPushBytes is above any record Jiandaoyun pushes (a record with subform rows and file links).
const maxPushBytes = 4 << 20

// now is the trigger's clock; tests set it.
var now = time.Now

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: TriggerType, Version: 1, Name: "Jiandaoyun data push", Category: nodes.CategoryCRM, Trigger: true, Webhook: true,
		Description: "Starts a run for each verified data push of a Jiandaoyun form: a record submitted, changed, deleted or recovered.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Event", Kind: nodes.PortMain}},
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "ops", Label: "Events", Type: nodes.TypeString, Default: "data_create, data_update",
				Description: "The push events this flow runs for, separated by commas: data_create, data_update, data_remove, " +
					"data_recover; empty accepts all. Other verified events are acknowledged with no run.",
				Examples: []nodes.Example{{Name: "New and changed records", Value: "data_create, data_update"},
					{Name: "Every event", Value: "data_create, data_update, data_remove, data_recover"}}},
		},
		Docs: "Receives a form's data push (表单设置 → 扩展功能 → 数据推送): server address `/hooks/{flowId}`, the Secret " +
			"generated there kept in the credential's data push secret, and the events to push.\n\n" +
			"**Verification:** Jiandaoyun posts `…?timestamp=…&nonce=…` and `X-JDY-Signature`, the hexadecimal SHA-1 of " +
			"`{nonce}:{body}:{secret}:{timestamp}` in UTF-8, as its data push guide computes it; the signature is compared in " +
			"constant time against each secret listed (one a line, while one is replaced). The signed timestamp must be " +
			"within 5 minutes of Ferry's clock, so a delivery captured and replayed later is refused.\n\n" +
			"**Output:** `{\"body\": {\"op\": \"data_create\"|\"data_update\"|\"data_remove\"|\"data_recover\", \"data\": record, " +
			"\"opTime\": …}, \"headers\": {…}, \"method\": \"POST\", \"query\": {…}}`; the record has its `_id`, fields by id or " +
			"alias, `creator`, `createTime`, `updateTime`.\n\n" +
			"**Keys:** the dedup key is `X-JDY-DeliverId`, unique for each pushed event, else the op with the record's `_id` " +
			"and `updateTime`: a push Jiandaoyun sends again starts no second run. The business key is the record's `_id`.\n\n" +
			"**Answer:** 200 once the run is stored. **Refusals:** 401 `" + CodeSignatureMissing + "`, `" + CodeSignatureInvalid +
			"`, `" + CodeTimestampStale + "`; 400 `" + CodeDeliveryInvalid + "`; 405 `" + CodeMethodNotAllowed + "`; 413 `" +
			CodeBodyTooLarge + "`; 500 `" + CodeCredentialMissing + "`; 503 `" + CodeCredentialUnavailable + "`.",
	}, newTrigger)
}

type triggerNode struct {
	ops map[string]bool // empty accepts all
}

func newTrigger(cfg *nodes.Config) (nodes.Node, error) {
	n := &triggerNode{ops: cfg.Names("ops", func(op string) bool { return slices.Contains(Ops, op) },
		"a data push event (data_create, data_update, data_remove, data_recover)")}
	if cfg.Credential == "" {
		cfg.Fail("credential", core.CodeCredentialRequired, "the trigger needs a jiandaoyun.api credential holding the data push secret")
	}
	return n, cfg.Err()
}

func reject(status int, code string, err error) *nodes.WebhookError {
	return &nodes.WebhookError{Status: status, Code: code, Err: err}
}

// Sign is X-JDY-Signature for a push: the hexadecimal SHA-1 of "{nonce}:{payload}:{secret}:{timestamp}".
func Sign(nonce string, payload []byte, secret, timestamp string) string {
	h := sha1.New()
	h.Write([]byte(nonce + ":"))
	h.Write(payload)
	h.Write([]byte(":" + secret + ":" + timestamp))
	return hex.EncodeToString(h.Sum(nil))
}

// Verify reports whether signature is the push's signature under one of secrets, in constant time.
func Verify(nonce string, payload []byte, timestamp, signature string, secrets []string) bool {
	got := strings.ToLower(strings.TrimSpace(signature))
	ok := false
	for _, s := range secrets {
		if subtle.ConstantTimeCompare([]byte(Sign(nonce, payload, s, timestamp)), []byte(got)) == 1 {
			ok = true
		}
	}
	return ok
}

// Accept verifies a delivery and turns it into the run's trigger payload; the body is parsed only once its
// signature and timestamp hold.
func (n *triggerNode) Accept(ctx context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	if req.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Errorf("jiandaoyun: method %s not allowed, Jiandaoyun sends POST", req.Method))
	}
	if len(req.Body) > maxPushBytes {
		return nil, reject(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Errorf("jiandaoyun: body is larger than %d bytes", maxPushBytes))
	}
	sig, nonce, ts := strings.TrimSpace(req.Header.Get("X-JDY-Signature")), req.Query.Get("nonce"), req.Query.Get("timestamp")
	if sig == "" || nonce == "" || ts == "" {
		return nil, reject(http.StatusUnauthorized, CodeSignatureMissing, errors.New("jiandaoyun: the push has no X-JDY-Signature header, or no nonce or timestamp in its query"))
	}
	keys, err := triggerSecrets(ctx, req)
	if err != nil {
		return nil, err
	}
	if !Verify(nonce, req.Body, ts, sig, keys) {
		return nil, reject(http.StatusUnauthorized, CodeSignatureInvalid, errors.New("jiandaoyun: X-JDY-Signature does not match the push under the data push secret"))
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, reject(http.StatusUnauthorized, CodeTimestampStale, fmt.Errorf("jiandaoyun: the timestamp %q is not a Unix time in seconds", ts))
	}
	if skew := now().Sub(time.Unix(sec, 0)); skew > MaxSkew || skew < -MaxSkew {
		return nil, reject(http.StatusUnauthorized, CodeTimestampStale, fmt.Errorf("jiandaoyun: the push was signed at %s, more than %s from now", time.Unix(sec, 0).UTC().Format(time.RFC3339), MaxSkew))
	}
	raw, err := nodes.DecodeJSON(req.Body)
	obj, isObj := raw.(map[string]any)
	if err != nil || !isObj {
		return nil, reject(http.StatusBadRequest, CodeDeliveryInvalid, errors.New("jiandaoyun: the push body is not a JSON object"))
	}
	op, _ := obj["op"].(string)
	data, _ := obj["data"].(map[string]any)
	if op == "" || data == nil {
		return nil, reject(http.StatusBadRequest, CodeDeliveryInvalid, errors.New("jiandaoyun: the push has no op or no data object"))
	}
	if len(n.ops) > 0 && !n.ops[op] {
		return &nodes.Accepted{Skip: true, Ack: Ack()}, nil
	}
	id := str(data["_id"])
	dedup := strings.TrimSpace(req.Header.Get("X-JDY-DeliverId"))
	if dedup == "" {
		dedup = op + ":" + id + "@" + str(data["updateTime"])
	}
	return &nodes.Accepted{
		Payload:     map[string]any{"body": obj, "headers": nodes.PayloadHeaders(req.Header), "query": nodes.FirstValues(req.Query), "method": req.Method},
		DedupKey:    nodes.TruncateUTF8(dedup, core.MaxKeyBytes),
		BusinessKey: nodes.TruncateUTF8(id, core.MaxKeyBytes),
		Ack:         Ack(),
	}, nil
}

// Ack is the answer Jiandaoyun gets once the run is stored: 200.
func Ack() *nodes.Response { return &nodes.Response{Status: http.StatusOK} }

// Execute passes the accepted push on unchanged: it is the first step of every run.
func (n *triggerNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// triggerSecrets reads the push secrets, telling a misconfigured flow (500) from a vault that failed (503).
func triggerSecrets(ctx context.Context, req *nodes.WebhookRequest) ([]string, error) {
	if req.Credential == nil {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("jiandaoyun: the trigger has no credential: %w", nodes.ErrNoCredential))
	}
	fields, err := req.Credential(ctx)
	if errors.Is(err, nodes.ErrNoCredential) {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("jiandaoyun: the trigger has no credential: %w", err))
	}
	if err != nil {
		return nil, reject(http.StatusServiceUnavailable, CodeCredentialUnavailable, fmt.Errorf("jiandaoyun: load credential: %w", err))
	}
	keys := secrets(fields[FieldPushSecret])
	if len(keys) == 0 {
		return nil, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("jiandaoyun: the credential has no %q (the data push Secret)", FieldPushSecret))
	}
	return keys, nil
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

var _ nodes.WebhookTrigger = (*triggerNode)(nil)
