package alipay

import "github.com/ferry-hq/ferry/nodes"

// CloseType is the node type that closes an unpaid trade (alipay.trade.close).
const CloseType = "alipay.close"

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        CloseType,
		Version:     1,
		Name:        "Alipay: close trade",
		Category:    nodes.CategoryPayments,
		Description: "Closes a trade that has not been paid, so the buyer can no longer pay it (alipay.trade.close).",
		SideEffect:  true,
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Closed", Kind: nodes.PortMain}},
		Credentials: []string{CredentialApp}, CredentialRequired: true,
		Params: append(tradeFields(),
			nodes.Field{Name: "operatorId", Label: "Operator", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "The merchant's operator id (operator_id), kept by Alipay with the trade.",
				Examples:    []nodes.Example{{Name: "Fixed", Value: "ferry"}}},
			extraField),
		Docs: "Calls `alipay.trade.close` with the app's RSA2 signature and checks the signature of the answer. " +
			"Closing twice is harmless to retry: a closed trade stays closed.\n\n" +
			"**Output:** `{\"tradeNo\", \"outTradeNo\", \"raw\": {…}}`.\n\n" +
			"**Failures:** `ACQ.TRADE_NOT_EXIST` (the buyer never scanned the code: Alipay has no trade yet) and " +
			"`ACQ.TRADE_STATUS_ERROR` (already paid: refund instead) fail with `alipay_business_error`, sub_code " +
			"and sub_msg verbatim; 20000, `ACQ.SYSTEM_ERROR`, timeouts and 5xx are retried.\n\n" +
			"**Test runs** send nothing: the step outputs `{\"dryRun\": true, \"request\": {…}}`.\n\n" +
			"**Example:** 30 minutes after alipay.precreate, if the order is still unpaid, close `{{ nodes.qr.outTradeNo }}`.",
	}, newClose)
}

func newClose(cfg *nodes.Config) (nodes.Node, error) {
	ref := compileTradeRef(cfg)
	operator := cfg.Template("operatorId")
	extra := compileExtra(cfg)
	op := operation{method: "alipay.trade.close"}
	op.render = func(env map[string]any, _ *nodes.Exec) (request, error) {
		biz := map[string]any{}
		if err := ref.render(CloseType, env, biz); err != nil {
			return request{}, err
		}
		if o, err := evalText(CloseType, "operatorId", operator, env); err != nil {
			return request{}, err
		} else if o != "" {
			biz["operator_id"] = o
		}
		if err := evalExtra(CloseType, extra, env, biz); err != nil {
			return request{}, err
		}
		return request{method: op.method, biz: biz}, nil
	}
	op.shape = func(a answer, _ request) (map[string]any, error) {
		return map[string]any{"tradeNo": a.text("trade_no"), "outTradeNo": a.text("out_trade_no"), "raw": a.body}, nil
	}
	return &effectNode{actionNode{typ: CloseType, op: op}}, cfg.Err()
}
