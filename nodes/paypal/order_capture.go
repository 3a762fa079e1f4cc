package paypal

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// OrderCaptureType is the node type that captures an approved PayPal order, taking the payer's money.
const OrderCaptureType = "paypal.order.capture"

func init() {
	nodes.MustRegister(actionSpec(nodes.Spec{
		Type:        OrderCaptureType,
		Name:        "PayPal: capture order",
		Description: "Captures the payment of an order the payer approved.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Capture", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{Name: "orderId", Label: "Order id", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "The PayPal order id, from the CHECKOUT.ORDER.APPROVED event or PayPal: create order.",
				Examples: []nodes.Example{
					{Name: "Approved order event", Value: "{{ trigger.body.transactionId }}"},
					{Name: "Created order", Value: "{{ nodes.create.orderId }}"},
				}},
		},
		Docs: "Calls `POST /v2/checkout/orders/{id}/capture` (Orders **v2**).\n\n" +
			"**Output:** `{\"orderId\": …, \"status\": \"COMPLETED\", \"captureId\": \"3C679366HH908993F\", " +
			"\"captureStatus\": \"COMPLETED\", \"amount\": {\"minor\": 10000, \"currency\": \"USD\", \"decimal\": \"100.00\"}, " +
			"\"merchantOrderId\": …, \"payer\": {\"id\", \"email\", \"name\"}, \"raw\": {…}}`. A capture PayPal holds for " +
			"review has captureStatus PENDING; its PAYMENT.CAPTURE.COMPLETED event follows. A declined payment fails " +
			"with `paypal_unprocessable` and PayPal's issue (such as INSTRUMENT_DECLINED) in the details.",
	}), newOrderCapture)
}

type orderCaptureNode struct {
	orderID *expression.Template
}

func newOrderCapture(cfg *nodes.Config) (nodes.Node, error) {
	return &orderCaptureNode{orderID: cfg.Template("orderId")}, cfg.Err()
}

func (n *orderCaptureNode) request(x *nodes.Exec) (*apiRequest, error) {
	id, err := render(n.orderID, envOf(x), OrderCaptureType, "orderId")
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, invalid(OrderCaptureType, "the order id is empty")
	}
	return &apiRequest{op: "capture order " + id, method: http.MethodPost,
		path: "/v2/checkout/orders/" + url.PathEscape(id) + "/capture", requestID: requestID(x.IdempotencyKey)}, nil
}

// DryRun shows the capture that would be requested.
func (n *orderCaptureNode) DryRun(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, err := n.request(x)
	if err != nil {
		return nodes.Result{}, err
	}
	return dryRun(ctx, x, r), nil
}

// Execute captures the order and lifts the first capture out of PayPal's purchase units.
func (n *orderCaptureNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, err := n.request(x)
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
	out := map[string]any{"orderId": str(res, "id"), "status": str(res, "status"), "raw": res}
	units, _ := res["purchase_units"].([]any)
	for _, u := range units {
		unit, _ := u.(map[string]any)
		payments, _ := unit["payments"].(map[string]any)
		captures, _ := payments["captures"].([]any)
		if len(captures) == 0 {
			continue
		}
		c, _ := captures[0].(map[string]any)
		out["captureId"], out["captureStatus"] = str(c, "id"), str(c, "status")
		out["amount"] = amountFrom(c["amount"])
		out["merchantOrderId"] = firstNonEmpty(str(c, "custom_id"), str(c, "invoice_id"), str(unit, "custom_id"), str(unit, "invoice_id"))
		break
	}
	if p, ok := res["payer"].(map[string]any); ok {
		name, _ := p["name"].(map[string]any)
		out["payer"] = map[string]any{"id": str(p, "payer_id"), "email": str(p, "email_address"),
			"name": firstNonEmpty(str(name, "given_name") + " " + str(name, "surname"))}
	}
	return nodes.Result{Output: out}, nil
}

var (
	_ nodes.Node      = (*orderCaptureNode)(nil)
	_ nodes.DryRunner = (*orderCaptureNode)(nil)
)
