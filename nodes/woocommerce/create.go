package woocommerce

import (
	"fmt"
	"regexp"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// addressFields are the keys of an order's billing address (WC_REST_Orders_Controller::get_item_schema); the
// shipping address has the same but email.
var addressFields = []string{"first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode", "country", "email", "phone"}

// address checks a billing or shipping object before it is sent: WooCommerce drops keys it does not know
// without a word, so a misspelt "adress_1" would make an order without its street.
func address(kind string, email bool) func(any) (any, error) {
	return func(v any) (any, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("the %s address is not an object such as {\"first_name\": \"Ada\", \"email\": \"ada@example.com\"}", kind)
		}
		for k := range m {
			if !contains(addressFields, k) || (k == "email" && !email) {
				return nil, fmt.Errorf("the %s address has no field %q (WooCommerce takes %v)", kind, k, allowed(email))
			}
		}
		return m, nil
	}
}

func allowed(email bool) []string {
	if email {
		return addressFields
	}
	var out []string
	for _, f := range addressFields {
		if f != "email" {
			out = append(out, f)
		}
	}
	return out
}

// objects checks a list of objects (line items, fee lines, meta data), each with the keys it needs.
func objects(kind string, need ...string) func(any) (any, error) {
	return func(v any) (any, error) {
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("the %s are not a list", kind)
		}
		for i, e := range l {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s %d is not an object", kind, i+1)
			}
			for _, k := range need {
				if _, ok := m[k]; !ok {
					return nil, fmt.Errorf("%s %d has no %s", kind, i+1, k)
				}
			}
		}
		return l, nil
	}
}

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

func currency(v any) (any, error) {
	s, _ := v.(string)
	if !currencyCode.MatchString(s) {
		return nil, fmt.Errorf("%q is not an ISO 4217 currency code such as EUR", fmt.Sprint(v))
	}
	return s, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func jsonParam(name, label, desc, key string, check func(any) (any, error), example string) connector.Param {
	p := connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeJSON, Expression: true, Description: desc}, In: connector.InBody, Key: key,
		Transform: check}
	if example != "" {
		p.Examples = []nodes.Example{{Name: "From a payment trigger", Value: example}}
	}
	return p
}

// createDocs says what the create operation does and why it is sent once.
const createDocs = "`POST /orders` with the fields given; fields left empty are not sent (WooCommerce's defaults: status " +
	"`pending`, the store's currency, a guest order). `set_paid` marks the order paid and moves it to processing, as a " +
	"payment would. Outputs the order WooCommerce made (`id`, `number`, `order_key`, `total`…).\n\n" +
	"**Sent once.** WooCommerce honours no idempotency key, and its order search cannot find an earlier attempt by " +
	"transaction id: the REST `search` argument matches the order id, the billing and shipping addresses, the billing " +
	"last name and e-mail and the item names (`woocommerce_shop_order_search_fields` with posts, " +
	"`OrdersTableSearchQuery` with HPOS), not `_transaction_id`, so Ferry does not pretend to look one up first. A " +
	"request whose outcome is unknown (a timeout or a lost connection after it was sent, a 5xx answer) fails with " +
	"`woocommerce_outcome_unknown` and is never sent again, whatever the step's retry policy: the order may exist. " +
	"Look it up in WooCommerce → Orders (by the customer's e-mail or the amount) before running the step again, and " +
	"connect the error output to a review step so a person does. One case is not covered: a Ferry process that dies " +
	"while the request is in flight leaves no record that it was sent, and the run resumes from its last saved step. A bad field fails with `woocommerce_invalid_request` " +
	"and WooCommerce's code (`woocommerce_rest_invalid_product_id`…)."

func createOrder() connector.Operation {
	status := statusParam(false, "The order's status; empty is pending (awaiting payment). With Paid set, WooCommerce moves it to processing.", "/status", connector.InBody)
	cur := text("currency", "Currency", "ISO 4217 code (EUR); empty is the store's currency.", connector.InBody, "/currency")
	cur.Transform = currency
	customer := connector.Param{Field: nodes.Field{Name: "customerId", Label: "Customer", Type: nodes.TypeInteger, Expression: true,
		Description: "The WooCommerce customer's id; empty or 0 is a guest order."}, In: connector.InBody, Key: "/customer_id"}
	lines := jsonParam("lineItems", "Line items", "The products, as WooCommerce takes them: [{\"product_id\": 93, \"quantity\": 2}] "+
		"(or \"variation_id\", \"sku\" is read-only). WooCommerce prices them unless subtotal and total are given.", "/line_items",
		objects("line items", "quantity"), "")
	paid := connector.Param{Field: nodes.Field{Name: "setPaid", Label: "Paid", Type: nodes.TypeBoolean, Expression: true, Default: false,
		Description: "Mark the order paid: WooCommerce sets the paid date, reduces stock and moves it to processing."}, In: connector.InBody, Key: "/set_paid"}
	txn := text("transactionId", "Transaction id", "The payment provider's id for the payment (a Stripe payment intent).", connector.InBody, "/transaction_id")
	txn.Examples = []nodes.Example{{Name: "From a payment trigger", Value: "{{ trigger.body.transactionId }}"}}
	return connector.Operation{Type: "woocommerce.order.create", Name: "WooCommerce: create order", Category: nodes.CategoryShops,
		SideEffect: true, Unrepeatable: true,
		Description: "Creates an order (from a payment taken elsewhere, a marketplace, a CRM deal); sent once, never retried blindly.",
		Method:      "POST", Path: "/orders", OutputLabel: "Order",
		Params: []connector.Param{status, cur, customer,
			jsonParam("billing", "Billing address", "An object with first_name, last_name, company, address_1, address_2, city, state, "+
				"postcode, country (ISO 3166 code), email, phone.", "/billing", address("billing", true),
				`{{ {"first_name": trigger.body.payer.name, "email": lower(trigger.body.payer.email)} }}`),
			jsonParam("shipping", "Shipping address", "An object with the billing address's fields but email.", "/shipping", address("shipping", false), ""),
			lines,
			jsonParam("feeLines", "Fee lines", "Amounts without a product: [{\"name\": \"Paid with Stripe\", \"total\": \"34.90\"}] "+
				"(total a decimal text).", "/fee_lines", objects("fee lines", "name", "total"), ""),
			paid,
			text("paymentMethod", "Payment method", "The payment method's id (stripe, bacs, cod).", connector.InBody, "/payment_method"),
			text("paymentMethodTitle", "Payment method title", "The payment method as the customer sees it.", connector.InBody, "/payment_method_title"),
			txn,
			jsonParam("metaData", "Meta data", "Custom fields: [{\"key\": \"order_ref\", \"value\": \"A-1001\"}].", "/meta_data",
				objects("meta data", "key", "value"), ""),
			{Field: nodes.Field{Name: "customerNote", Label: "Customer note", Type: nodes.TypeText, Expression: true,
				Description: "The note the customer left with the order."}, In: connector.InBody, Key: "/customer_note"}},
		Docs: createDocs}
}
