package stripe

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// RefundType is the node type of the refund action.
const RefundType = "stripe.refund"

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: RefundType, Version: 1, Name: "Stripe: refund", Category: nodes.CategoryPayments,
		Description: "Refunds a Stripe payment in full or in part.",
		SideEffect:  true, Inputs: inputPort, Outputs: outputPort,
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "paymentIntent", Label: "Payment intent id", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "The payment to refund: a payment intent (pi_…) or, for older integrations, a charge (ch_… or py_…).",
				Examples: []nodes.Example{
					{Name: "From the Stripe trigger", Value: "{{ trigger.body.transactionId }}"},
					{Name: "From the CRM", Value: "{{ trigger.body.stripe_payment_id }}"},
				}},
			{Name: "amount", Label: "Amount (minor units)", Type: nodes.TypeString, Expression: true,
				Description: "A whole number of minor units for a partial refund; empty refunds whatever is left of the payment.",
				Examples:    []nodes.Example{{Name: "Partial, from the CRM", Value: "{{ toMinor(trigger.body.refund_amount, trigger.body.currency) }}"}}},
			{Name: "reason", Label: "Reason", Type: nodes.TypeSelect, Default: "none",
				Options: []nodes.Option{
					{Value: "none", Label: "Not given"},
					{Value: "requested_by_customer", Label: "Requested by customer"},
					{Value: "duplicate", Label: "Duplicate"},
					{Value: "fraudulent", Label: "Fraudulent", Description: "Also helps Stripe's fraud detection."},
				}},
			orderIDField, metadataField, orderIDKeyField, extraField,
		},
		Docs: "POST `/v1/refunds` (Stripe API `" + APIVersion + "`), form-encoded, with an `Idempotency-Key` that " +
			"is the same on every retry of the step: a retried refund is applied once (I4). The order id goes to " +
			"the refund's metadata, so refund.* events reach the Stripe trigger with the order number.\n\n" +
			"**Output:** the Refund as Stripe returns it (`id`, `status` succeeded/pending/failed, `amount`…).\n\n" +
			failuresDoc + " A refund larger than what is left fails with `stripe_invalid_request` " +
			"(code `amount_too_large`); refunding a fully refunded payment fails with `charge_already_refunded`.\n\n" +
			"**Example:** payment intent `{{ trigger.body.transactionId }}`, amount empty: refunds the rest of that payment.",
	}, newRefund)
}

func newRefund(cfg *nodes.Config) (nodes.Node, error) {
	payment, amount, orderID := cfg.Template("paymentIntent"), cfg.Template("amount"), cfg.Template("orderId")
	reason := cfg.String("reason")
	orderIDKey := strings.TrimSpace(cfg.String("orderIdKey"))
	meta, extra := cfg.KeyValue("metadata"), cfg.KeyValue("extra")
	checkKeyNames(cfg, "metadata", meta)
	checkKeyNames(cfg, "extra", extra)
	render := func(x *nodes.Exec) (*request, error) {
		p := params{env: envOf(x)}
		id, err := p.required("paymentIntent", "payment intent id", payment)
		if err != nil {
			return nil, err
		}
		f := url.Values{}
		switch {
		case validID(id, "pi_"):
			f.Set("payment_intent", id)
		case validID(id, "ch_", "py_"):
			f.Set("charge", id)
		default:
			return nil, invalid("%q is neither a payment intent (pi_…) nor a charge (ch_…, py_…)", id)
		}
		n, partial, err := p.minor("amount", "refund amount", amount)
		if err != nil {
			return nil, err
		}
		if partial {
			f.Set("amount", strconv.FormatInt(n, 10))
		}
		if reason != "" && reason != "none" {
			f.Set("reason", reason)
		}
		if err := metadataParams(p, f, orderIDKey, orderID, meta); err != nil {
			return nil, err
		}
		if err := extraParams(p, f, extra); err != nil {
			return nil, err
		}
		return &request{method: http.MethodPost, path: "/v1/refunds", form: f}, nil
	}
	return &action{op: "refund", render: render}, cfg.Err()
}
