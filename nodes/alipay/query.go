package alipay

import (
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/payment"
)

// QueryType is the node type that looks a trade up (alipay.trade.query).
const QueryType = "alipay.query"

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        QueryType,
		Version:     1,
		Name:        "Alipay: query trade",
		Category:    nodes.CategoryPayments,
		Description: "Looks a trade up by order number or Alipay trade number (alipay.trade.query).",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Trade", Kind: nodes.PortMain}},
		Credentials: []string{CredentialApp}, CredentialRequired: true,
		Params: append(tradeFields(), extraField),
		Docs: "Calls `alipay.trade.query` with the app's RSA2 signature and checks the signature of the answer. " +
			"It changes nothing, so test runs send it too, with the credential's test variant (the sandbox).\n\n" +
			"**Output:** `{\"tradeNo\", \"outTradeNo\", \"tradeStatus\": \"TRADE_SUCCESS\", \"status\": \"paid\", " +
			"\"amount\": {\"minor\": 8800, \"currency\": \"CNY\", \"decimal\": \"88.00\"}, \"buyer\": {\"id\", " +
			"\"logonId\"}, \"payTime\", \"raw\": {…}}`: `status` is the normalised type (pending, paid, closed, " +
			"other), `payTime` the send_pay_date in UTC, `raw` Alipay's answer as sent.\n\n" +
			"**Failures:** an unknown trade fails with `alipay_business_error` and sub_code " +
			"`ACQ.TRADE_NOT_EXIST` in `error.details.response`; Alipay's code, msg, sub_code and sub_msg are " +
			"shown verbatim. 20000 and `ACQ.SYSTEM_ERROR` are retried; network failures, timeouts and 5xx too; " +
			"other answers fail for good. An answer whose signature does not verify fails with " +
			"`alipay_response_signature_invalid`.\n\n" +
			"**Example:** after an order's payment window, query `{{ trigger.body.order_id }}` and branch on " +
			"`prev.status == \"paid\"`.",
	}, newQuery)
}

func newQuery(cfg *nodes.Config) (nodes.Node, error) {
	ref := compileTradeRef(cfg)
	extra := compileExtra(cfg)
	op := operation{method: "alipay.trade.query"}
	op.render = func(env map[string]any, _ *nodes.Exec) (request, error) {
		biz := map[string]any{}
		if err := ref.render(QueryType, env, biz); err != nil {
			return request{}, err
		}
		if err := evalExtra(QueryType, extra, env, biz); err != nil {
			return request{}, err
		}
		return request{method: op.method, biz: biz}, nil
	}
	op.shape = shapeQuery
	return &actionNode{typ: QueryType, op: op}, cfg.Err()
}

func shapeQuery(a answer, _ request) (map[string]any, error) {
	amount, err := answerAmount(a, "total_amount")
	if err != nil {
		return nil, err
	}
	status := tradeStatuses[a.text("trade_status")]
	if status == "" {
		status = payment.EventOther
	}
	buyer := a.text("buyer_user_id")
	if buyer == "" {
		buyer = a.text("buyer_open_id")
	}
	out := map[string]any{
		"tradeNo":     a.text("trade_no"),
		"outTradeNo":  a.text("out_trade_no"),
		"tradeStatus": a.text("trade_status"),
		"status":      status,
		"amount":      amount,
		"buyer":       map[string]any{"id": buyer, "logonId": a.text("buyer_logon_id")},
		"payTime":     "",
		"raw":         a.body,
	}
	if s := a.text("send_pay_date"); s != "" {
		if t, err := parseChinaTime(s); err == nil {
			out["payTime"] = t.UTC().Format(time.RFC3339)
		}
	}
	return out, nil
}

var _ nodes.Node = (*actionNode)(nil)
