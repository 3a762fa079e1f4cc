package alipay

import (
	"fmt"
	"net/url"
	"regexp"

	"github.com/ferry-hq/ferry/nodes"
)

// PrecreateType is the node type that creates a trade paid by scanning a QR code (alipay.trade.precreate).
const PrecreateType = "alipay.precreate"

// timeoutExpress is Alipay's relative expiry: 1m to 15d, in m, h, d or 1c (today).
var timeoutExpress = regexp.MustCompile(`^([1-9][0-9]*[mhd]|1c)$`)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        PrecreateType,
		Version:     1,
		Name:        "Alipay: QR code order",
		Category:    nodes.CategoryPayments,
		Description: "Creates a trade the buyer pays by scanning a QR code (alipay.trade.precreate, 当面付).",
		SideEffect:  true,
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "QR code", Kind: nodes.PortMain}},
		Credentials: []string{CredentialApp}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "outTradeNo", Label: "Order number (out_trade_no)", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "The shop's order number: at most 64 letters, digits and underscores, unique per trade. " +
					"Sending the same number again returns the same trade, so retries create one.",
				Examples: []nodes.Example{{Name: "From the order", Value: "{{ trigger.body.order_id }}"}}},
			{Name: "totalAmount", Label: "Amount (yuan)", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "Decimal yuan such as 88.00, or an amount object {minor, currency}.",
				Examples: []nodes.Example{
					{Name: "From the order", Value: "{{ trigger.body.total }}"},
					{Name: "Fixed", Value: "88.00"},
				}},
			{Name: "subject", Label: "Subject", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "What the buyer sees they are paying for.",
				Examples:    []nodes.Example{{Name: "Order", Value: "Order {{ trigger.body.order_id }}"}}},
			{Name: "body", Label: "Description", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "A longer description of the goods (body).",
				Examples:    []nodes.Example{{Name: "Items", Value: "{{ trigger.body.items_summary }}"}}},
			{Name: "timeoutExpress", Label: "Pay within", Type: nodes.TypeString, Expression: true,
				Description: "How long the buyer has to pay before the trade closes: 1m to 15d in m, h or d (timeout_express).",
				Examples:    []nodes.Example{{Name: "Half an hour", Value: "30m"}, {Name: "Two hours", Value: "2h"}}},
			{Name: "notifyUrl", Label: "Notification URL", Type: nodes.TypeString, Expression: true,
				Description: "Where Alipay sends the payment notification (notify_url): the webhook URL of a flow " +
					"starting with alipay.trigger.",
				Examples: []nodes.Example{{Name: "Ferry flow", Value: "https://ferry.example.com/hooks/0190c5d2-payments"}}},
			extraField,
		},
		Docs: "Calls `alipay.trade.precreate` with the app's RSA2 signature and checks the signature of the answer, " +
			"then passes on the QR code for the shop to show. Alipay answers the same order number with the same " +
			"trade, so a retried step creates one trade.\n\n" +
			"**Output:** `{\"outTradeNo\": \"ord_8f3a\", \"qrCode\": \"https://qr.alipay.com/bax0…\", \"amount\": " +
			"{\"minor\": 8800, \"currency\": \"CNY\", \"decimal\": \"88.00\"}, \"raw\": {…}}`: render `qrCode` as a QR " +
			"image.\n\n" +
			"**Failures:** business refusals (`ACQ.TOTAL_FEE_EXCEED`, `ACQ.TRADE_HAS_SUCCESS`, " +
			"`ACQ.ACCESS_FORBIDDEN`…) fail with `alipay_business_error`, sub_code and sub_msg verbatim; 20000, " +
			"`ACQ.SYSTEM_ERROR`, timeouts and 5xx are retried.\n\n" +
			"**Test runs** send nothing: the step outputs `{\"dryRun\": true, \"request\": {…}}`.\n\n" +
			"**Example:** a shop's checkout posts `{order_id, total}`; precreate, then core.respond with " +
			"`{{ prev.qrCode }}`.",
	}, newPrecreate)
}

func newPrecreate(cfg *nodes.Config) (nodes.Node, error) {
	outTradeNo := cfg.Template("outTradeNo")
	amount := cfg.Template("totalAmount")
	subject := cfg.Template("subject")
	body := cfg.Template("body")
	timeout := cfg.Template("timeoutExpress")
	notify := cfg.Template("notifyUrl")
	extra := compileExtra(cfg)
	if timeout != nil && timeout.Static() {
		if s, _ := timeout.EvalString(nil); s != "" && !timeoutExpress.MatchString(s) {
			cfg.Fail("timeoutExpress", nodes.CodeParamInvalid, fmt.Sprintf("%q is not a time like 30m, 2h or 1d", s))
		}
	}
	if notify != nil && notify.Static() {
		if s, _ := notify.EvalString(nil); s != "" && !httpURL(s) {
			cfg.Fail("notifyUrl", nodes.CodeParamInvalid, fmt.Sprintf("%q is not an http or https URL", s))
		}
	}
	op := operation{method: "alipay.trade.precreate"}
	op.render = func(env map[string]any, _ *nodes.Exec) (request, error) {
		no, err := evalText(PrecreateType, "outTradeNo", outTradeNo, env)
		if err != nil {
			return request{}, err
		}
		if no == "" {
			return request{}, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: the order number is empty", PrecreateType))
		}
		a, err := evalAmount(PrecreateType, "totalAmount", amount, env)
		if err != nil {
			return request{}, err
		}
		subj, err := evalText(PrecreateType, "subject", subject, env)
		if err != nil {
			return request{}, err
		}
		if subj == "" {
			return request{}, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: the subject is empty", PrecreateType))
		}
		biz := map[string]any{"out_trade_no": no, "total_amount": a.Decimal, "subject": subj}
		if b, err := evalText(PrecreateType, "body", body, env); err != nil {
			return request{}, err
		} else if b != "" {
			biz["body"] = b
		}
		if t, err := evalText(PrecreateType, "timeoutExpress", timeout, env); err != nil {
			return request{}, err
		} else if t != "" {
			if !timeoutExpress.MatchString(t) {
				return request{}, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: pay within %q is not a time like 30m, 2h or 1d", PrecreateType, t))
			}
			biz["timeout_express"] = t
		}
		if err := evalExtra(PrecreateType, extra, env, biz); err != nil {
			return request{}, err
		}
		r := request{method: op.method, biz: biz}
		if u, err := evalText(PrecreateType, "notifyUrl", notify, env); err != nil {
			return request{}, err
		} else if u != "" {
			if !httpURL(u) {
				return request{}, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: notification URL %q is not an http or https URL", PrecreateType, u))
			}
			r.extra = map[string]string{"notify_url": u}
		}
		return r, nil
	}
	op.shape = func(a answer, r request) (map[string]any, error) {
		if a.text("qr_code") == "" {
			return nil, fmt.Errorf("the answer has no qr_code")
		}
		amt, err := answerAmountText(r.biz["total_amount"].(string))
		if err != nil {
			return nil, err
		}
		return map[string]any{"outTradeNo": a.text("out_trade_no"), "qrCode": a.text("qr_code"), "amount": amt, "raw": a.body}, nil
	}
	return &effectNode{actionNode{typ: PrecreateType, op: op}}, cfg.Err()
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
