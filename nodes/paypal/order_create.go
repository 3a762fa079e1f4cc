package paypal

import (
	"context"
	"net/http"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// OrderCreateType is the node type that creates a PayPal Checkout order for the payer to approve.
const OrderCreateType = "paypal.order.create"

// maxOrderText is PayPal's limit on custom_id, invoice_id and description of a purchase unit.
const maxOrderText = 127

func init() {
	nodes.MustRegister(actionSpec(nodes.Spec{
		Type:        OrderCreateType,
		Name:        "PayPal: create order",
		Description: "Creates a PayPal Checkout order (intent CAPTURE) and returns the link the payer approves it at.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Order", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{Name: "amount", Label: "Amount (minor units)", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "Whole minor units (cents, fen; yen for JPY). Sent to PayPal as the exact decimal string.",
				Examples:    []nodes.Example{{Name: "Mapped order", Value: "{{ prev.amount_cents }}"}, {Name: "Fixed 19.99", Value: "1999"}}},
			{Name: "currency", Label: "Currency", Type: nodes.TypeString, Required: true, Expression: true, Default: "USD",
				Description: "ISO 4217 code.", Examples: []nodes.Example{{Name: "Euro", Value: "EUR"}, {Name: "From the order", Value: "{{ prev.currency }}"}}},
			{Name: "merchantOrderId", Label: "Merchant order id", Type: nodes.TypeString, Expression: true,
				Description: "The shop's order number, sent as the purchase unit's custom_id (at most 127 characters). " +
					"PayPal repeats it in capture and refund events, where the PayPal event trigger reads it as merchantOrderId.",
				Examples: []nodes.Example{{Name: "Order number", Value: "{{ trigger.body.order_id }}"}}},
			{Name: "invoiceId", Label: "Invoice id", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "Sent as invoice_id; PayPal refuses a second order with the same invoice id."},
			{Name: "description", Label: "Description", Type: nodes.TypeString, Expression: true,
				Description: "Shown to the payer, at most 127 characters."},
			{Name: "returnUrl", Label: "Return URL", Type: nodes.TypeString, Expression: true,
				Description: "Where PayPal sends the payer after approving. With it, the order is created with a PayPal " +
					"payment source and PayPal's approve link has rel payer-action.",
				Examples: []nodes.Example{{Name: "Shop page", Value: "https://shop.example.com/paypal/return"}}},
			{Name: "cancelUrl", Label: "Cancel URL", Type: nodes.TypeString, Expression: true,
				Description: "Where PayPal sends the payer who cancels."},
			{Name: "brandName", Label: "Brand name", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "The shop name PayPal shows on its pages (needs a return URL)."},
		},
		Docs: "Calls `POST /v2/checkout/orders` (Orders **v2**) with intent `CAPTURE` and one purchase unit. The amount " +
			"is given in integer minor units and sent as PayPal's decimal string, exactly (HUF and TWD in whole units, " +
			"as PayPal requires).\n\n" +
			"**Output:** `{\"orderId\": \"5O190127TN364715T\", \"status\": \"CREATED\", \"approveUrl\": \"https://www.paypal.com/checkoutnow?token=…\", " +
			"\"amount\": {\"minor\": 1999, \"currency\": \"USD\", \"decimal\": \"19.99\"}, \"raw\": {…}}`. Send the payer to " +
			"`approveUrl`; once approved (CHECKOUT.ORDER.APPROVED), capture it with PayPal: capture order.",
	}), newOrderCreate)
}

type orderCreateNode struct {
	amount, currency, merchantOrderID, invoiceID, description, returnURL, cancelURL, brandName *expression.Template
}

func newOrderCreate(cfg *nodes.Config) (nodes.Node, error) {
	n := &orderCreateNode{
		amount: cfg.Template("amount"), currency: cfg.Template("currency"), merchantOrderID: cfg.Template("merchantOrderId"),
		invoiceID: cfg.Template("invoiceId"), description: cfg.Template("description"), returnURL: cfg.Template("returnUrl"),
		cancelURL: cfg.Template("cancelUrl"), brandName: cfg.Template("brandName"),
	}
	return n, cfg.Err()
}

func (n *orderCreateNode) request(x *nodes.Exec) (*apiRequest, map[string]any, error) {
	env := envOf(x)
	vals := map[string]string{}
	for name, t := range map[string]*expression.Template{"amount": n.amount, "currency": n.currency,
		"merchantOrderId": n.merchantOrderID, "invoiceId": n.invoiceID, "description": n.description,
		"returnUrl": n.returnURL, "cancelUrl": n.cancelURL, "brandName": n.brandName} {
		v, err := render(t, env, OrderCreateType, name)
		if err != nil {
			return nil, nil, err
		}
		vals[name] = v
	}
	amount, normalised, err := moneyOf(OrderCreateType, vals["amount"], vals["currency"])
	if err != nil {
		return nil, nil, err
	}
	unit := map[string]any{"amount": amount}
	for param, key := range map[string]string{"merchantOrderId": "custom_id", "invoiceId": "invoice_id", "description": "description"} {
		v := vals[param]
		if v == "" {
			continue
		}
		if len([]rune(v)) > maxOrderText {
			return nil, nil, invalid(OrderCreateType, "%s is longer than %d characters", param, maxOrderText)
		}
		unit[key] = v
	}
	body := map[string]any{"intent": "CAPTURE", "purchase_units": []any{unit}}
	if vals["returnUrl"] != "" || vals["cancelUrl"] != "" {
		exp := map[string]any{"user_action": "PAY_NOW"}
		for param, key := range map[string]string{"returnUrl": "return_url", "cancelUrl": "cancel_url", "brandName": "brand_name"} {
			if v := vals[param]; v != "" {
				exp[key] = v
			}
		}
		body["payment_source"] = map[string]any{"paypal": map[string]any{"experience_context": exp}}
	}
	r := &apiRequest{op: "create order", method: http.MethodPost, path: "/v2/checkout/orders", body: body, requestID: requestID(x.IdempotencyKey)}
	return r, map[string]any{"minor": normalised.Minor, "currency": normalised.Currency, "decimal": normalised.Decimal}, nil
}

// DryRun shows the order that would be created.
func (n *orderCreateNode) DryRun(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, _, err := n.request(x)
	if err != nil {
		return nodes.Result{}, err
	}
	return dryRun(ctx, x, r), nil
}

// Execute creates the order and picks the payer's approval link out of PayPal's links.
func (n *orderCreateNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, amount, err := n.request(x)
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
	approve := ""
	links, _ := res["links"].([]any)
	for _, l := range links {
		m, _ := l.(map[string]any)
		if rel := str(m, "rel"); rel == "approve" || rel == "payer-action" {
			approve = str(m, "href")
		}
	}
	return nodes.Result{Output: map[string]any{
		"orderId": str(res, "id"), "status": str(res, "status"), "approveUrl": approve, "amount": amount, "raw": res,
	}}, nil
}

var (
	_ nodes.Node      = (*orderCreateNode)(nil)
	_ nodes.DryRunner = (*orderCreateNode)(nil)
)
