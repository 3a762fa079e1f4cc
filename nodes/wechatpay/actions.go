package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/payment"
)

// Node types of the WeChat Pay actions.
const (
	QueryType  = "wechatpay.query"
	RefundType = "wechatpay.refund"
	CloseType  = "wechatpay.close"
	NativeType = "wechatpay.native"
)

// PortNotFound is the query's output for an order WeChat Pay does not know (ORDER_NOT_EXIST).
const PortNotFound = "notFound"

// apiVersionDoc names the API version every action is pinned to.
const apiVersionDoc = "Pinned to WeChat Pay **API v3** (`https://api.mch.weixin.qq.com/v3/…`, JSON, " +
	"WECHATPAY2-SHA256-RSA2048 signatures); every answer's signature is verified with the credential's platform " +
	"certificate or WeChat Pay public key before it is used.\n\n" +
	"**Failures:** 429 and FREQUENCY_LIMITED wait (honouring Retry-After); 5xx, SYSTEM_ERROR and BANK_ERROR are " +
	"retried; any other refusal fails for good with WeChat Pay's code and message verbatim, as failure code " +
	"`wechatpay_<code>` (for instance `wechatpay_not_enough`, `wechatpay_order_closed`). An answer whose " +
	"signature does not verify fails with `wechatpay_response_unverified`.\n\n" +
	"**Test runs** send nothing: the step outputs `{\"dryRun\": true, \"request\": {…}}`."

func stepInput() []nodes.Port {
	return []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}}
}

var outTradeNoField = nodes.Field{
	Name: "outTradeNo", Label: "Merchant order number (out_trade_no)", Type: nodes.TypeString, Required: true, Expression: true,
	Description: "The shop's order number given to WeChat Pay when the order was created; may interpolate {{ }}.",
	Examples: []nodes.Example{
		{Name: "From a WeChat Pay trigger", Value: "{{ trigger.body.merchantOrderId }}"},
		{Name: "From the input", Value: "{{ prev.order_id }}"},
	},
}

var currencyField = nodes.Field{
	Name: "currency", Label: "Currency", Type: nodes.TypeString, Default: "CNY", Expression: true, Advanced: true,
	Description: "ISO 4217 code; domestic WeChat Pay accepts CNY only.",
}

func fenField(name, label, description string, required bool, examples ...nodes.Example) nodes.Field {
	return nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Required: required, Expression: true,
		Description: description + " In fen (分, integer minor units): 100 is ¥1.00. Use toMinor() to convert a decimal amount.",
		Examples:    examples}
}

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: QueryType, Version: 1, Name: "WeChat Pay: query order", Category: nodes.CategoryPayments,
		Description: "Looks up an order by the merchant order number (GET /v3/pay/transactions/out-trade-no/{out_trade_no}).",
		Inputs:      stepInput(),
		Outputs: []nodes.Port{
			{ID: nodes.DefaultPort, Label: "Order", Kind: nodes.PortMain},
			{ID: PortNotFound, Label: "Not found", Kind: nodes.PortMain},
		},
		Credentials: []string{CredentialMerchant}, CredentialRequired: true,
		Params: []nodes.Field{outTradeNoField},
		Docs: "Queries an order's state, for reconciliation or to confirm a payment before acting on it.\n\n" +
			"**Output:** on the Order port, `{\"found\": true, \"status\": \"paid\"|\"pending\"|\"closed\"|\"refunded\"|\"failed\", " +
			"\"tradeState\": \"SUCCESS\", \"tradeStateDesc\": …, \"transactionId\": …, \"merchantOrderId\": …, " +
			"\"amount\": {\"minor\": 100, \"currency\": \"CNY\", \"decimal\": \"1.00\"}, \"payer\": {\"id\": openid}, " +
			"\"time\": success_time, \"raw\": the answer}`.\n\n" +
			"**Not found port:** WeChat Pay answered ORDER_NOT_EXIST; the output is `{\"found\": false, \"merchantOrderId\": …}`.\n\n" +
			apiVersionDoc,
	}, newQuery)
	nodes.MustRegister(nodes.Spec{
		Type: RefundType, Version: 1, Name: "WeChat Pay: refund", Category: nodes.CategoryPayments,
		Description: "Refunds an order in full or in part (POST /v3/refund/domestic/refunds).",
		SideEffect:  true,
		Inputs:      stepInput(),
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Refund", Kind: nodes.PortMain}},
		Credentials: []string{CredentialMerchant}, CredentialRequired: true,
		Params: []nodes.Field{
			outTradeNoField,
			fenField("total", "Order total", "The order's original total, as WeChat Pay requires it with every refund.", true,
				nodes.Example{Name: "From a WeChat Pay trigger", Value: "{{ trigger.body.amount.minor }}"}),
			fenField("amount", "Refund amount", "Empty refunds the whole total; a smaller amount is a partial refund.", false,
				nodes.Example{Name: "Whole order", Value: ""}, nodes.Example{Name: "Partial", Value: "{{ toMinor(prev.refund_amount, 'CNY') }}"}),
			{Name: "reason", Label: "Reason", Type: nodes.TypeString, Expression: true,
				Description: "Shown to the payer in the refund message, up to 80 characters.",
				Examples:    []nodes.Example{{Name: "Cancelled", Value: "订单取消"}}},
			{Name: "notifyUrl", Label: "Notification URL", Type: nodes.TypeString, Expression: true,
				Description: "Where WeChat Pay posts the refund result: the webhook URL of a flow with a wechatpay.trigger. " +
					"Empty uses the URL configured on the merchant platform.",
				Examples: []nodes.Example{{Name: "Ferry flow", Value: "https://ferry.example.com/hooks/<flowId>"}}},
			currencyField,
			{Name: "outRefundNo", Label: "Refund number (out_refund_no)", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "Empty (recommended) derives it from the step's idempotency key, the same on every retry of " +
					"this step in this run, so WeChat Pay refunds once however often the step is retried. Set it only to " +
					"reuse a refund number from another system (at most 64 of 0-9 A-Z a-z _ - | * @)."},
		},
		Docs: "Refunds a paid order. The refund number sent to WeChat Pay (out_refund_no) is the step's idempotency " +
			"key unless set, so a retried step never refunds twice (I4). WeChat Pay usually answers PROCESSING; the " +
			"result arrives later as a REFUND.* notification to a wechatpay.trigger flow.\n\n" +
			"**Output:** `{\"refundId\": …, \"outRefundNo\": …, \"status\": \"PROCESSING\"|\"SUCCESS\"|…, " +
			"\"transactionId\": …, \"merchantOrderId\": …, \"amount\": {minor, currency, decimal} (the refund), " +
			"\"total\": {…}, \"raw\": the answer}`.\n\n" + apiVersionDoc,
	}, newRefund)
	nodes.MustRegister(nodes.Spec{
		Type: CloseType, Version: 1, Name: "WeChat Pay: close order", Category: nodes.CategoryPayments,
		Description: "Closes an unpaid order so it can no longer be paid (POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close).",
		SideEffect:  true,
		Inputs:      stepInput(),
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Closed", Kind: nodes.PortMain}},
		Credentials: []string{CredentialMerchant}, CredentialRequired: true,
		Params: []nodes.Field{outTradeNoField},
		Docs: "Closes an order the payer has not paid, for instance when the shop cancels it. Closing again is " +
			"harmless. A paid order cannot be closed: WeChat Pay refuses with ORDERPAID (failure `wechatpay_orderpaid`).\n\n" +
			"**Output:** `{\"closed\": true, \"merchantOrderId\": …}`.\n\n" + apiVersionDoc,
	}, newClose)
	nodes.MustRegister(nodes.Spec{
		Type: NativeType, Version: 1, Name: "WeChat Pay: Native order (QR code)", Category: nodes.CategoryPayments,
		Description: "Creates a Native payment and returns the code_url to show as a QR code (POST /v3/pay/transactions/native).",
		SideEffect:  true,
		Inputs:      stepInput(),
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Order", Kind: nodes.PortMain}},
		Credentials: []string{CredentialMerchant}, CredentialRequired: true,
		Params: []nodes.Field{
			outTradeNoField,
			{Name: "description", Label: "Description", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "What the payer sees on the payment page, up to 127 characters.",
				Examples:    []nodes.Example{{Name: "Order", Value: "Ferry shop - order {{ prev.order_id }}"}}},
			fenField("total", "Amount", "What the payer pays.", true,
				nodes.Example{Name: "From the input", Value: "{{ prev.amount_fen }}"}),
			{Name: "notifyUrl", Label: "Notification URL", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "Where WeChat Pay posts the payment result (https): the webhook URL of a flow with a wechatpay.trigger.",
				Examples:    []nodes.Example{{Name: "Ferry flow", Value: "https://ferry.example.com/hooks/<flowId>"}}},
			{Name: "timeExpire", Label: "Pay before", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "RFC 3339 time after which the order can no longer be paid.",
				Examples:    []nodes.Example{{Name: "Fixed", Value: "2026-06-08T10:34:56+08:00"}}},
			{Name: "attach", Label: "Attach", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "Up to 128 characters returned unchanged in the query and the notification (raw.resource.attach)."},
			currencyField,
		},
		Docs: "Creates a Native (scan to pay) order with the credential's appid and mchid. Creating the same " +
			"out_trade_no again with the same content returns the same order, so a retried step is safe.\n\n" +
			"**Output:** `{\"codeUrl\": \"weixin://wxpay/bizpayurl?pr=…\", \"merchantOrderId\": …}`; render codeUrl " +
			"as a QR code. The payment result arrives as a TRANSACTION.SUCCESS notification.\n\n" + apiVersionDoc,
	}, newNative)
}

// envOf is the expression environment of a step.
func envOf(x *nodes.Exec) map[string]any {
	if x.Env != nil {
		return x.Env
	}
	return map[string]any{expression.VarPrev: x.Input, expression.VarTrigger: x.Input}
}

func requestInvalid(format string, args ...any) error {
	return nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf(format, args...))
}

// text renders an optional text parameter.
func text(t *expression.Template, typ, field string, env map[string]any) (string, error) {
	if t == nil {
		return "", nil
	}
	s, err := t.EvalString(env)
	if err != nil {
		return "", nodes.EvalFailed(typ, field, err)
	}
	return strings.TrimSpace(s), nil
}

// fen renders an amount parameter to whole fen; it refuses fractions rather than round money (I7).
func fen(t *expression.Template, typ, field string, env map[string]any) (int64, bool, error) {
	if t == nil {
		return 0, false, nil
	}
	v, err := t.Eval(env)
	if err != nil {
		return 0, false, nodes.EvalFailed(typ, field, err)
	}
	s := strings.TrimSpace(expression.Stringify(v))
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, requestInvalid("%s: %s %q is not a whole number of fen; amounts are in minor units (use toMinor())", typ, field, s)
	}
	if n <= 0 {
		return 0, false, requestInvalid("%s: %s must be more than 0 fen, not %d", typ, field, n)
	}
	return n, true, nil
}

func amountMap(a payment.Amount) map[string]any {
	return map[string]any{"minor": a.Minor, "currency": a.Currency, "decimal": a.Decimal}
}

// action is what every WeChat Pay action shares: how it renders its request, and how it reads the answer.
type action struct {
	typ    string
	render func(x *nodes.Exec, m *merchant) (apiCall, error)
	output func(c apiCall, a *apiAnswer) (nodes.Result, error)
	// notFound, when set, turns ORDER_NOT_EXIST into an output instead of a failure.
	notFound func(c apiCall) nodes.Result
}

// DryRun renders the request exactly as Execute would send it, without the signature, and sends nothing.
func (a *action) DryRun(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	m, err := loadMerchant(ctx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	c, err := a.render(x, m)
	if err != nil {
		return nodes.Result{}, err
	}
	return nodes.Result{Output: map[string]any{"dryRun": true, "request": m.summary(c)}}, nil
}

// Execute signs and sends the request, verifies the answer and passes on what it says.
func (a *action) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	m, err := loadMerchant(ctx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	c, err := a.render(x, m)
	if err != nil {
		return nodes.Result{}, err
	}
	ans, err := m.do(ctx, x, c)
	if err != nil {
		if a.notFound != nil && nodes.Classify(err).Code == "wechatpay_order_not_exist" {
			return a.notFound(c), nil
		}
		return nodes.Result{}, err
	}
	return a.output(c, ans)
}

func orderPath(outTradeNo string) string {
	return "/v3/pay/transactions/out-trade-no/" + url.PathEscape(outTradeNo)
}

func newQuery(cfg *nodes.Config) (nodes.Node, error) {
	outTradeNo := cfg.Template("outTradeNo")
	a := &action{typ: QueryType}
	a.render = func(x *nodes.Exec, m *merchant) (apiCall, error) {
		no, err := text(outTradeNo, QueryType, "outTradeNo", envOf(x))
		if err != nil {
			return apiCall{}, err
		}
		if no == "" {
			return apiCall{}, requestInvalid("%s: the merchant order number is empty", QueryType)
		}
		return apiCall{method: http.MethodGet, path: orderPath(no) + "?mchid=" + url.QueryEscape(m.mchID)}, nil
	}
	a.output = func(_ apiCall, ans *apiAnswer) (nodes.Result, error) {
		return nodes.Result{Output: transactionOutput(ans.body)}, nil
	}
	a.notFound = func(c apiCall) nodes.Result {
		no, _ := url.PathUnescape(strings.TrimPrefix(strings.SplitN(c.path, "?", 2)[0], "/v3/pay/transactions/out-trade-no/"))
		return nodes.Result{Port: PortNotFound, Output: map[string]any{"found": false, "merchantOrderId": no}}
	}
	return readOnly{a}, cfg.Err()
}

// transactionOutput normalises a transaction (query answer) like the trigger's payment event.
func transactionOutput(body map[string]any) map[string]any {
	amount := mapOf(body["amount"])
	currency := str(amount["currency"])
	if currency == "" {
		currency = "CNY"
	}
	total, _ := amount["total"].(int64)
	state := str(body["trade_state"])
	status := tradeStates[state]
	if status == "" {
		status = payment.EventOther
	}
	out := map[string]any{
		"found": true, "status": status, "tradeState": state, "tradeStateDesc": str(body["trade_state_desc"]),
		"transactionId": str(body["transaction_id"]), "merchantOrderId": str(body["out_trade_no"]),
		"amount": amountMap(payment.FromMinor(total, currency)),
		"payer":  map[string]any{"id": str(mapOf(body["payer"])["openid"])},
		"time":   str(body["success_time"]), "raw": body,
	}
	return out
}

func newRefund(cfg *nodes.Config) (nodes.Node, error) {
	outTradeNo, total, amount := cfg.Template("outTradeNo"), cfg.Template("total"), cfg.Template("amount")
	reason, notifyURL, currency, refundNo := cfg.Template("reason"), cfg.Template("notifyUrl"), cfg.Template("currency"), cfg.Template("outRefundNo")
	a := &action{typ: RefundType}
	a.render = func(x *nodes.Exec, _ *merchant) (apiCall, error) {
		env := envOf(x)
		no, err := text(outTradeNo, RefundType, "outTradeNo", env)
		if err != nil {
			return apiCall{}, err
		}
		if no == "" {
			return apiCall{}, requestInvalid("%s: the merchant order number is empty", RefundType)
		}
		totalFen, ok, err := fen(total, RefundType, "total", env)
		if err != nil {
			return apiCall{}, err
		}
		if !ok {
			return apiCall{}, requestInvalid("%s: the order total is empty", RefundType)
		}
		refundFen, partial, err := fen(amount, RefundType, "amount", env)
		if err != nil {
			return apiCall{}, err
		}
		if !partial {
			refundFen = totalFen
		}
		if refundFen > totalFen {
			return apiCall{}, requestInvalid("%s: refund of %d fen is more than the order total of %d fen", RefundType, refundFen, totalFen)
		}
		cur, err := text(currency, RefundType, "currency", env)
		if err != nil {
			return apiCall{}, err
		}
		if cur == "" {
			cur = "CNY"
		}
		outRefund, err := text(refundNo, RefundType, "outRefundNo", env)
		if err != nil {
			return apiCall{}, err
		}
		if outRefund == "" {
			if x.IdempotencyKey == "" {
				return apiCall{}, requestInvalid("%s: no refund number: set outRefundNo or run the step in a flow", RefundType)
			}
			outRefund = outRefundNo(x.IdempotencyKey)
		} else if !validOutNo(outRefund) {
			return apiCall{}, requestInvalid("%s: refund number %q must be at most 64 of 0-9 A-Z a-z _ - | * @", RefundType, outRefund)
		}
		body := map[string]any{"out_trade_no": no, "out_refund_no": outRefund,
			"amount": map[string]any{"refund": refundFen, "total": totalFen, "currency": strings.ToUpper(cur)}}
		if r, err := text(reason, RefundType, "reason", env); err != nil {
			return apiCall{}, err
		} else if r != "" {
			body["reason"] = r
		}
		if u, err := text(notifyURL, RefundType, "notifyUrl", env); err != nil {
			return apiCall{}, err
		} else if u != "" {
			body["notify_url"] = u
		}
		return apiCall{method: http.MethodPost, path: "/v3/refund/domestic/refunds", body: body}, nil
	}
	a.output = func(_ apiCall, ans *apiAnswer) (nodes.Result, error) {
		b := ans.body
		amt := mapOf(b["amount"])
		cur := str(amt["currency"])
		if cur == "" {
			cur = "CNY"
		}
		refund, _ := amt["refund"].(int64)
		totalFen, _ := amt["total"].(int64)
		if str(b["refund_id"]) == "" {
			return nodes.Result{}, nodes.WithDetails(nodes.NewPermanent(CodeResponseInvalid,
				errors.New("wechatpay: refund answer has no refund_id")), map[string]any{"body": b})
		}
		return nodes.Result{Output: map[string]any{
			"refundId": str(b["refund_id"]), "outRefundNo": str(b["out_refund_no"]), "status": str(b["status"]),
			"transactionId": str(b["transaction_id"]), "merchantOrderId": str(b["out_trade_no"]),
			"amount": amountMap(payment.FromMinor(refund, cur)), "total": amountMap(payment.FromMinor(totalFen, cur)),
			"raw": b,
		}}, nil
	}
	return a, cfg.Err()
}

func newClose(cfg *nodes.Config) (nodes.Node, error) {
	outTradeNo := cfg.Template("outTradeNo")
	a := &action{typ: CloseType}
	a.render = func(x *nodes.Exec, m *merchant) (apiCall, error) {
		no, err := text(outTradeNo, CloseType, "outTradeNo", envOf(x))
		if err != nil {
			return apiCall{}, err
		}
		if no == "" {
			return apiCall{}, requestInvalid("%s: the merchant order number is empty", CloseType)
		}
		return apiCall{method: http.MethodPost, path: orderPath(no) + "/close", body: map[string]any{"mchid": m.mchID}}, nil
	}
	a.output = func(c apiCall, _ *apiAnswer) (nodes.Result, error) {
		no, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(c.path, "/v3/pay/transactions/out-trade-no/"), "/close"))
		return nodes.Result{Output: map[string]any{"closed": true, "merchantOrderId": no}}, nil
	}
	return a, cfg.Err()
}

func newNative(cfg *nodes.Config) (nodes.Node, error) {
	outTradeNo, description, total := cfg.Template("outTradeNo"), cfg.Template("description"), cfg.Template("total")
	notifyURL, timeExpire, attach, currency := cfg.Template("notifyUrl"), cfg.Template("timeExpire"), cfg.Template("attach"), cfg.Template("currency")
	a := &action{typ: NativeType}
	a.render = func(x *nodes.Exec, m *merchant) (apiCall, error) {
		env := envOf(x)
		if m.appID == "" {
			return apiCall{}, nodes.NewPermanent(CodeCredentialInvalid, errors.New("wechatpay: credential: Native orders need the app id (appid)"))
		}
		values := map[string]string{}
		for _, f := range []struct {
			name string
			t    *expression.Template
		}{{"outTradeNo", outTradeNo}, {"description", description}, {"notifyUrl", notifyURL}, {"timeExpire", timeExpire}, {"attach", attach}, {"currency", currency}} {
			v, err := text(f.t, NativeType, f.name, env)
			if err != nil {
				return apiCall{}, err
			}
			values[f.name] = v
		}
		for _, required := range []string{"outTradeNo", "description", "notifyUrl"} {
			if values[required] == "" {
				return apiCall{}, requestInvalid("%s: %s is empty", NativeType, required)
			}
		}
		totalFen, ok, err := fen(total, NativeType, "total", env)
		if err != nil {
			return apiCall{}, err
		}
		if !ok {
			return apiCall{}, requestInvalid("%s: the amount is empty", NativeType)
		}
		cur := strings.ToUpper(values["currency"])
		if cur == "" {
			cur = "CNY"
		}
		body := map[string]any{"appid": m.appID, "mchid": m.mchID, "description": values["description"],
			"out_trade_no": values["outTradeNo"], "notify_url": values["notifyUrl"],
			"amount": map[string]any{"total": totalFen, "currency": cur}}
		if values["timeExpire"] != "" {
			body["time_expire"] = values["timeExpire"]
		}
		if values["attach"] != "" {
			body["attach"] = values["attach"]
		}
		return apiCall{method: http.MethodPost, path: "/v3/pay/transactions/native", body: body}, nil
	}
	a.output = func(c apiCall, ans *apiAnswer) (nodes.Result, error) {
		codeURL := str(ans.body["code_url"])
		if codeURL == "" {
			return nodes.Result{}, nodes.WithDetails(nodes.NewPermanent(CodeResponseInvalid,
				errors.New("wechatpay: Native order answer has no code_url")), map[string]any{"body": ans.body})
		}
		body, _ := c.body.(map[string]any)
		return nodes.Result{Output: map[string]any{"codeUrl": codeURL, "merchantOrderId": body["out_trade_no"]}}, nil
	}
	return a, cfg.Err()
}

// readOnly is an action that changes nothing at WeChat Pay (a query): test runs send it like live runs, with
// the credential's test variant, so it offers no dry run.
type readOnly struct{ a *action }

// Execute sends the query.
func (r readOnly) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	return r.a.Execute(ctx, x)
}

var (
	_ nodes.Node      = readOnly{}
	_ nodes.Node      = (*action)(nil)
	_ nodes.DryRunner = (*action)(nil)
)
