package alipay

import "github.com/ferry-hq/ferry/nodes"

// RefundType is the node type that refunds a trade, fully or in part (alipay.trade.refund).
const RefundType = "alipay.refund"

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        RefundType,
		Version:     1,
		Name:        "Alipay: refund",
		Category:    nodes.CategoryPayments,
		Description: "Refunds all or part of a paid trade (alipay.trade.refund), once however often it is retried.",
		SideEffect:  true,
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Refunded", Kind: nodes.PortMain}},
		Credentials: []string{CredentialApp}, CredentialRequired: true,
		Params: append(tradeFields(),
			nodes.Field{Name: "refundAmount", Label: "Refund amount (yuan)", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "How much to give back: decimal yuan such as 88.00, or an amount object {minor, currency} " +
					"such as a payment event's amount. The whole total refunds the trade in full (it closes); less " +
					"is a partial refund, and several may follow up to the total.",
				Examples: []nodes.Example{
					{Name: "The whole payment", Value: "{{ trigger.body.amount }}"},
					{Name: "Fixed", Value: "10.00"},
					{Name: "From the shop", Value: "{{ trigger.body.refund.amount }}"},
				}},
			nodes.Field{Name: "outRequestNo", Label: "Refund request number (out_request_no)", Type: nodes.TypeString, Expression: true,
				Description: "Identifies this refund within the trade: Alipay refunds a request number once. Empty " +
					"means the step's idempotency key, the same on every retry of this step in this run. Set it to " +
					"the shop's refund id to stay safe across replays of the run too.",
				Examples: []nodes.Example{{Name: "Shop refund id", Value: "{{ trigger.body.refund_id }}"}}},
			nodes.Field{Name: "refundReason", Label: "Reason", Type: nodes.TypeString, Expression: true,
				Description: "Shown to the buyer (refund_reason).",
				Examples:    []nodes.Example{{Name: "Out of stock", Value: "缺货退款"}}},
			extraField),
		Docs: "Calls `alipay.trade.refund` with the app's RSA2 signature and checks the signature of the answer. " +
			"The refund request number (`out_request_no`) is the step's idempotency key unless set, so a retried " +
			"step — after a timeout, a 20000 or an `ACQ.SYSTEM_ERROR`, which Alipay asks to retry with the same " +
			"number — refunds once (I4).\n\n" +
			"**Output:** `{\"tradeNo\", \"outTradeNo\", \"outRequestNo\", \"refundAmount\": {\"minor\": 1000, " +
			"\"currency\": \"CNY\", \"decimal\": \"10.00\"}, \"refundedTotal\": {…}, \"fundChange\": true, \"raw\": {…}}`: " +
			"`refundedTotal` is Alipay's refund_fee, everything refunded on the trade so far; `fundChange` false " +
			"means this request moved no money now (a repeated request number).\n\n" +
			"**Failures:** business refusals (`ACQ.TRADE_NOT_EXIST`, `ACQ.REFUND_AMT_NOT_EQUAL_TOTAL`, " +
			"`ACQ.TRADE_STATUS_ERROR`, `ACQ.SELLER_BALANCE_NOT_ENOUGH`…) fail with `alipay_business_error`, " +
			"Alipay's sub_code and sub_msg verbatim; 20000, `ACQ.SYSTEM_ERROR`, timeouts and 5xx are retried.\n\n" +
			"**Test runs** send nothing: the step outputs `{\"dryRun\": true, \"request\": {…}}`.\n\n" +
			"**Example:** when the shop cancels order `{{ trigger.body.order_id }}`, refund `{{ trigger.body.total }}`.",
	}, newRefund)
}

func newRefund(cfg *nodes.Config) (nodes.Node, error) {
	ref := compileTradeRef(cfg)
	amount := cfg.Template("refundAmount")
	requestNoT := cfg.Template("outRequestNo")
	reason := cfg.Template("refundReason")
	extra := compileExtra(cfg)
	op := operation{method: "alipay.trade.refund"}
	op.render = func(env map[string]any, x *nodes.Exec) (request, error) {
		biz := map[string]any{}
		if err := ref.render(RefundType, env, biz); err != nil {
			return request{}, err
		}
		a, err := evalAmount(RefundType, "refundAmount", amount, env)
		if err != nil {
			return request{}, err
		}
		biz["refund_amount"] = a.Decimal
		no, err := evalText(RefundType, "outRequestNo", requestNoT, env)
		if err != nil {
			return request{}, err
		}
		if no == "" {
			no = requestNo(x.IdempotencyKey)
		}
		biz["out_request_no"] = no
		if r, err := evalText(RefundType, "refundReason", reason, env); err != nil {
			return request{}, err
		} else if r != "" {
			biz["refund_reason"] = r
		}
		if err := evalExtra(RefundType, extra, env, biz); err != nil {
			return request{}, err
		}
		return request{method: op.method, biz: biz}, nil
	}
	op.shape = shapeRefund
	return &effectNode{actionNode{typ: RefundType, op: op}}, cfg.Err()
}

func shapeRefund(a answer, r request) (map[string]any, error) {
	total, err := answerAmount(a, "refund_fee")
	if err != nil {
		return nil, err
	}
	requested := r.biz["refund_amount"].(string)
	amt, err := answerAmountText(requested)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"tradeNo":       a.text("trade_no"),
		"outTradeNo":    a.text("out_trade_no"),
		"outRequestNo":  r.biz["out_request_no"],
		"refundAmount":  amt,
		"refundedTotal": total,
		"fundChange":    a.text("fund_change") == "Y",
		"raw":           a.body,
	}, nil
}

func answerAmountText(decimal string) (map[string]any, error) {
	return answerAmount(answer{body: map[string]any{"v": decimal}}, "v")
}

var _ nodes.DryRunner = (*effectNode)(nil)
