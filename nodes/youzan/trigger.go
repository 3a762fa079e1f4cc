package youzan

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// TriggerType is the node type of the trigger for Youzan's message pushes.
const TriggerType = "youzan.push"

// Stable codes of the trigger's refusals, recorded with every refused push. Youzan counts any answer whose body
// lacks "success" as a failure and pushes again (up to 16 times over some hours), so each refusal answers
// {"code":0,"msg":"failed"} as Youzan's own example does.
const (
	CodeMethodNotAllowed      = "youzan_method_not_allowed"     // 405: Youzan only POSTs
	CodeBodyTooLarge          = "youzan_body_too_large"         // 413
	CodeSignatureMissing      = "youzan_signature_missing"      // 401: no Event-Sign
	CodeSignatureInvalid      = "youzan_signature_invalid"      // 401: Event-Sign is not MD5(client_id + body + client_secret)
	CodeClientMismatch        = "youzan_client_mismatch"        // 401: signed, but Client-Id or the body's client_id is another app's
	CodeMessageInvalid        = "youzan_message_invalid"        // 400: a body that is not a JSON object, or a trade message naming no trade
	CodeCredentialMissing     = "youzan_credential_missing"     // 500: no credential, or it lacks the client id or secret
	CodeCredentialUnavailable = "youzan_credential_unavailable" // 503: the vault failed; Youzan pushes again
)

// maxPushBytes is above any Youzan message (a trade with hundreds of lines stays well under it).
const maxPushBytes = 2 << 20

var typePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{1,80}$`)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: TriggerType, Version: 1, Name: "Youzan message push", Category: nodes.CategoryShops, Trigger: true, Webhook: true,
		Description: "Starts a run for each verified Youzan message push: trade messages normalised to Ferry's shop order event.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Event", Kind: nodes.PortMain}},
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "types", Label: "Message types", Type: nodes.TypeString, Default: "trade_TradePaid",
				Description: "Youzan message types (Event-Type) this flow runs for, separated by commas; empty accepts every " +
					"type the app subscribes to. Other verified messages are acknowledged with no run.",
				Examples: []nodes.Example{{Name: "Paid trades", Value: "trade_TradePaid"},
					{Name: "Trade life cycle", Value: "trade_TradeCreate, trade_TradePaid, trade_TradeSellerShip, trade_TradeSuccess, trade_TradeClose"},
					{Name: "Trades to ship", Value: "trade_TradeBuyerPay"}}},
		},
		Docs: "Receives the pushes of a Youzan Cloud app without container (无容器应用): in the console, under the app's " +
			"message subscription (消息订阅), set the push URL to `/hooks/{flowId}` and tick the trade messages.\n\n" +
			"**Verification:** the `Event-Sign` header must be the MD5, in hexadecimal, of the app's client id, the raw body " +
			"and the client secret, joined (`MD5(client_id + body + client_secret)`), as Youzan documents it; compared in " +
			"constant time. `Client-Id` and the body's `client_id`, when given, must be the credential's; the message type is the body's `type` (signed), `Event-Type` only when the body has none. Youzan signs no " +
			"timestamp, so freshness cannot be proven: a push delivered again is caught by its dedup key instead. A verified " +
			"push for another shop of the app (`kdt_id`, and for a chain's branch `root_kdt_id` and `head_kdt_id`, not the credential's shop id) is acknowledged with no run.\n\n" +
			"**Output:** `{\"body\": event, \"headers\": {…}, \"method\": \"POST\", \"query\": {…}}`. For `trade_*` and refund " +
			"messages the event is " + strings.TrimPrefix(shop.Docs, "**Output** ") + " `msg` is URL-decoded first. " +
			"trade_TradeCreate → created; trade_TradePaid and trade_TradeBuyerPay → paid; trade_TradeSellerShip and " +
			"trade_TradeSuccess → fulfilled; trade_TradeClose → cancelled (refunded when the trade was closed by a full " +
			"refund); refund successes → refunded; other trade messages → updated. Statuses: WAIT_BUYER_PAY pending; " +
			"TRADE_PAID and WAIT_SELLER_SEND_GOODS paid; WAIT_CONFIRM processing; WAIT_BUYER_CONFIRM_GOODS and " +
			"TRADE_SUCCESS fulfilled; TRADE_CLOSED cancelled; a full refund refunded. Amounts are CNY from Youzan's yuan " +
			"texts, exactly; times are converted from Shanghai time to UTC. Messages that carry the whole trade " +
			"(trade_TradeCreate, trade_TradePaid, trade_TradeBuyerPay) fill every field; the others name the trade, its " +
			"status and time only, so read the rest with *Youzan: get trade*. `raw` holds the message and its decoded " +
			"`msg`. Any other message outputs `{provider, type: \"other\", topic, eventId, raw}`.\n\n" +
			"**Keys:** the dedup key is the message type, shop, id and `version`, so Youzan's pushes of the same message " +
			"again start no second run; the business key is the trade number.\n\n" +
			"**Answer:** `{\"code\":0,\"msg\":\"success\"}` once the run is stored. **Refusals** (each answered " +
			"`{\"code\":0,\"msg\":\"failed\"}`, so Youzan pushes again): 401 `" + CodeSignatureMissing + "`, `" + CodeSignatureInvalid +
			"`, `" + CodeClientMismatch + "`; 400 `" + CodeMessageInvalid + "`; 405 `" + CodeMethodNotAllowed + "`; 413 `" +
			CodeBodyTooLarge + "`; 500 `" + CodeCredentialMissing + "`; 503 `" + CodeCredentialUnavailable + "`.",
	}, newTrigger)
}

type triggerNode struct {
	types map[string]bool // empty accepts all
}

func newTrigger(cfg *nodes.Config) (nodes.Node, error) {
	n := &triggerNode{types: cfg.Names("types", typePattern.MatchString, "a Youzan message type such as trade_TradePaid")}
	if cfg.Credential == "" {
		cfg.Fail("credential", core.CodeCredentialRequired, "the trigger needs a youzan.app credential holding the app's client id and secret")
	}
	return n, cfg.Err()
}

// Ack is the answer Youzan takes as a push received: a body with "success".
func Ack() *nodes.Response {
	return &nodes.Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"},
		Body: map[string]any{"code": 0, "msg": "success"}}
}

// failed is the answer of a refused push: no "success", so Youzan pushes it again.
func failed() *nodes.Response {
	return &nodes.Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"},
		Body: map[string]any{"code": 0, "msg": "failed"}}
}

func reject(status int, code string, err error) *nodes.WebhookError {
	a := failed()
	a.Status = status
	return &nodes.WebhookError{Status: status, Code: code, Err: err, Answer: a}
}

// Sign is a push's Event-Sign as Youzan computes it: the hexadecimal MD5 of the client id, the raw body and the
// client secret, joined (doc.youzanyun.com 消息推送 → 接入指南; the same sum as the MD5(client_id + msg +
// client_secret) of the trade messages' sign field).
func Sign(clientID string, body []byte, clientSecret string) string {
	h := md5.New()
	h.Write([]byte(clientID))
	h.Write(body)
	h.Write([]byte(clientSecret))
	return hex.EncodeToString(h.Sum(nil))
}

// Verify reports whether an Event-Sign header is the push's signature under the app, in constant time.
func Verify(clientID string, body []byte, clientSecret, header string) bool {
	want := Sign(clientID, body, clientSecret)
	got := strings.ToLower(strings.TrimSpace(header))
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// Accept verifies a push and turns it into the run's trigger payload; the body is parsed only once its
// signature holds.
func (n *triggerNode) Accept(ctx context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	if req.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Errorf("youzan: method %s not allowed, Youzan pushes with POST", req.Method))
	}
	if len(req.Body) > maxPushBytes {
		return nil, reject(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Errorf("youzan: body is larger than %d bytes", maxPushBytes))
	}
	sig := req.Header.Get("Event-Sign")
	if strings.TrimSpace(sig) == "" {
		return nil, reject(http.StatusUnauthorized, CodeSignatureMissing, errors.New("youzan: no Event-Sign header"))
	}
	a, err := triggerCredential(ctx, req)
	if err != nil {
		return nil, err
	}
	if !Verify(a.clientID, req.Body, a.clientSecret, sig) {
		return nil, reject(http.StatusUnauthorized, CodeSignatureInvalid, errors.New("youzan: Event-Sign is not MD5(client_id + body + client_secret) under the credential's app"))
	}
	if h := strings.TrimSpace(req.Header.Get("Client-Id")); h != "" && h != a.clientID {
		return nil, reject(http.StatusUnauthorized, CodeClientMismatch, fmt.Errorf("youzan: the push is for the app %q, the credential for %q", h, a.clientID))
	}
	raw, err := nodes.DecodeJSON(req.Body)
	body, isObj := raw.(map[string]any)
	if err != nil || !isObj {
		return nil, reject(http.StatusBadRequest, CodeMessageInvalid, errors.New("youzan: the push's body is not a JSON object"))
	}
	if c := str(body["client_id"]); c != "" && c != a.clientID {
		return nil, reject(http.StatusUnauthorized, CodeClientMismatch, fmt.Errorf("youzan: the message is for the app %q, the credential for %q", c, a.clientID))
	}
	// The body's type is signed; the Event-Type header, which says the same, is not, so it only stands in for a
	// body without one.
	msgType := firstNonEmpty(str(body["type"]), strings.TrimSpace(req.Header.Get("Event-Type")))
	if !forShop(body, a.grantID) {
		// Genuine, but for another shop that authorised the app: not this flow's, and not to be pushed again.
		return &nodes.Accepted{Skip: true, Ack: Ack()}, nil
	}
	if len(n.types) > 0 && !n.types[msgType] {
		return &nodes.Accepted{Skip: true, Ack: Ack()}, nil
	}
	dedup := fmt.Sprintf("%s:%s:%s@%s", msgType, str(body["kdt_id"]), str(body["id"]), str(body["version"]))
	if str(body["id"]) == "" && str(body["version"]) == "" {
		dedup = firstNonEmpty(str(body["msg_id"]), dedup)
	}
	event, business, err := payloadFor(msgType, dedup, body)
	if err != nil {
		return nil, reject(http.StatusBadRequest, CodeMessageInvalid, err)
	}
	return &nodes.Accepted{
		Payload:     map[string]any{"body": event, "headers": nodes.PayloadHeaders(req.Header), "query": nodes.FirstValues(req.Query), "method": req.Method},
		DedupKey:    nodes.TruncateUTF8(dedup, core.MaxKeyBytes),
		BusinessKey: nodes.TruncateUTF8(business, core.MaxKeyBytes),
		Ack:         Ack(),
	}, nil
}

// forShop reports whether a message concerns the credential's shop: its kdt_id, or, for a chain's branch, the
// chain's head office (root_kdt_id, head_kdt_id) when that is the shop the app was authorised by. A message
// naming no shop is taken as the credential's.
func forShop(body map[string]any, grant string) bool {
	kdt := str(body["kdt_id"])
	return kdt == "" || kdt == grant || str(body["root_kdt_id"]) == grant || str(body["head_kdt_id"]) == grant
}

// payloadFor turns a verified message into the trigger's output and the run's business key.
func payloadFor(msgType, eventID string, body map[string]any) (map[string]any, string, error) {
	if strings.HasPrefix(msgType, "trade_") || strings.HasPrefix(msgType, "youzan_trade_") {
		msg, err := DecodeMessage(body["msg"])
		if err != nil {
			return nil, "", err
		}
		e, err := MessageEvent(msgType, eventID, body, msg)
		if err != nil {
			return nil, "", err
		}
		return e.Payload(), e.OrderNumber, nil
	}
	raw := map[string]any{"message": body}
	if msg, err := DecodeMessage(body["msg"]); err == nil {
		raw["msg"] = msg
	}
	return map[string]any{"provider": Provider, "type": "other", "topic": msgType, "eventId": eventID, "raw": raw}, str(body["id"]), nil
}

// Execute passes the accepted event on unchanged: it is the first step of every run.
func (n *triggerNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// triggerCredential reads the app, telling a misconfigured flow (500, Youzan pushes again while an admin fixes
// it) from a vault that failed (503).
func triggerCredential(ctx context.Context, req *nodes.WebhookRequest) (app, error) {
	if req.Credential == nil {
		return app{}, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("youzan: the trigger has no credential: %w", nodes.ErrNoCredential))
	}
	fields, err := req.Credential(ctx)
	if errors.Is(err, nodes.ErrNoCredential) {
		return app{}, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("youzan: the trigger has no credential: %w", err))
	}
	if err != nil {
		return app{}, reject(http.StatusServiceUnavailable, CodeCredentialUnavailable, fmt.Errorf("youzan: load credential: %w", err))
	}
	a, err := appFrom(fields)
	if err != nil {
		return app{}, reject(http.StatusInternalServerError, CodeCredentialMissing, fmt.Errorf("youzan: %w", err))
	}
	return a, nil
}

var _ nodes.WebhookTrigger = (*triggerNode)(nil)
