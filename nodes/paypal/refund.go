package paypal

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// RefundType is the node type that refunds a PayPal capture, in full or in part (D12).
const RefundType = "paypal.refund"

// maxNoteToPayer is PayPal's limit on a refund's note_to_payer.
const maxNoteToPayer = 255

func init() {
	nodes.MustRegister(actionSpec(nodes.Spec{
		Type:        RefundType,
		Name:        "PayPal: refund",
		Description: "Refunds a captured PayPal payment, in full or in part.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Refund", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{Name: "captureId", Label: "Capture id", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "The capture to refund: the transactionId of a paid PayPal event, or captureId of PayPal: capture order.",
				Examples:    []nodes.Example{{Name: "Paid event", Value: "{{ trigger.body.transactionId }}"}}},
			{Name: "amount", Label: "Amount (minor units)", Type: nodes.TypeString, Expression: true,
				Description: "Whole minor units to refund. Empty refunds whatever is left of the capture.",
				Examples:    []nodes.Example{{Name: "Part of it", Value: "500"}, {Name: "From the request", Value: "{{ trigger.body.refund_cents }}"}}},
			{Name: "currency", Label: "Currency", Type: nodes.TypeString, Expression: true,
				Description: "ISO 4217 code of the amount, the capture's currency; needed when an amount is given.",
				Examples:    []nodes.Example{{Name: "From the event", Value: "{{ trigger.body.amount.currency }}"}}},
			{Name: "invoiceId", Label: "Invoice id", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "The merchant's invoice number for this refund."},
			{Name: "noteToPayer", Label: "Note to payer", Type: nodes.TypeString, Expression: true,
				Description: "Why the payer is refunded, shown to them; at most 255 characters."},
		},
		Docs: "Calls `POST /v2/payments/captures/{id}/refund` (Payments **v2**). Without an amount PayPal refunds the " +
			"rest of the capture.\n\n" +
			"**Output:** `{\"refundId\": \"1JU08902781691411\", \"status\": \"COMPLETED\", \"captureId\": …, " +
			"\"amount\": {\"minor\": 500, \"currency\": \"USD\", \"decimal\": \"5.00\"}, \"raw\": {…}}`. A refund PayPal " +
			"cannot make (already refunded, over the captured amount) fails with `paypal_unprocessable` and PayPal's " +
			"issue, such as CAPTURE_FULLY_REFUNDED or REFUND_AMOUNT_EXCEEDED, in the details.",
	}), newRefund)
}

type refundNode struct {
	captureID, amount, currency, invoiceID, note *expression.Template
}

func newRefund(cfg *nodes.Config) (nodes.Node, error) {
	return &refundNode{captureID: cfg.Template("captureId"), amount: cfg.Template("amount"), currency: cfg.Template("currency"),
		invoiceID: cfg.Template("invoiceId"), note: cfg.Template("noteToPayer")}, cfg.Err()
}

func (n *refundNode) request(x *nodes.Exec) (*apiRequest, string, error) {
	env := envOf(x)
	vals := map[string]string{}
	for name, t := range map[string]*expression.Template{"captureId": n.captureID, "amount": n.amount,
		"currency": n.currency, "invoiceId": n.invoiceID, "noteToPayer": n.note} {
		v, err := render(t, env, RefundType, name)
		if err != nil {
			return nil, "", err
		}
		vals[name] = v
	}
	id := vals["captureId"]
	if id == "" {
		return nil, "", invalid(RefundType, "the capture id is empty")
	}
	body := map[string]any{}
	if vals["amount"] != "" {
		if vals["currency"] == "" {
			return nil, "", invalid(RefundType, "a partial refund needs the currency of its amount")
		}
		amount, _, err := moneyOf(RefundType, vals["amount"], vals["currency"])
		if err != nil {
			return nil, "", err
		}
		body["amount"] = amount
	}
	if v := vals["invoiceId"]; v != "" {
		body["invoice_id"] = v
	}
	if v := vals["noteToPayer"]; v != "" {
		if len([]rune(v)) > maxNoteToPayer {
			return nil, "", invalid(RefundType, "the note to the payer is longer than %d characters", maxNoteToPayer)
		}
		body["note_to_payer"] = v
	}
	return &apiRequest{op: "refund capture " + id, method: http.MethodPost,
		path: "/v2/payments/captures/" + url.PathEscape(id) + "/refund", body: body, requestID: requestID(x.IdempotencyKey)}, id, nil
}

// DryRun shows the refund that would be requested.
func (n *refundNode) DryRun(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, _, err := n.request(x)
	if err != nil {
		return nodes.Result{}, err
	}
	return dryRun(ctx, x, r), nil
}

// Execute asks PayPal for the refund.
func (n *refundNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, captureID, err := n.request(x)
	if err != nil {
		return nodes.Result{}, err
	}
	a, err := stepAccount(ctx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	res, err := call(ctx, x, a, r)
	if err != nil {
		return nodes.Result{}, err
	}
	return nodes.Result{Output: map[string]any{
		"refundId": str(res, "id"), "status": str(res, "status"), "captureId": captureID,
		"amount": amountFrom(res["amount"]), "raw": res,
	}}, nil
}

var (
	_ nodes.Node      = (*refundNode)(nil)
	_ nodes.DryRunner = (*refundNode)(nil)
)
