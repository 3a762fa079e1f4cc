package stripe

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// Node types of the payment intent actions.
const (
	PaymentIntentCreateType   = "stripe.payment-intent.create"
	PaymentIntentRetrieveType = "stripe.payment-intent.retrieve"
)

var (
	inputPort  = []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}}
	outputPort = []nodes.Port{{ID: nodes.DefaultPort, Label: "Stripe object", Kind: nodes.PortMain}}
)

// failuresDoc is the part of every action's docs that says how failures are treated.
const failuresDoc = "**Failures:** 429 waits as long as Stripe's Retry-After asks; lock_timeout, 409 and 5xx, " +
	"timeouts and network errors are retried with the same Idempotency-Key, so Stripe applies the call once; " +
	"402 card errors (`stripe_card_error`), invalid requests (`stripe_invalid_request`), 404 " +
	"(`stripe_not_found`), 401 and 403 fail for good. The error details carry Stripe's `type`, `code`, " +
	"`declineCode`, `message`, `param` and `requestId` verbatim. A `Stripe-Should-Retry` header from Stripe " +
	"overrides the choice.\n\n**Test runs** use the credential's test variant and must have a test-mode key."

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: PaymentIntentCreateType, Version: 1, Name: "Stripe: create payment intent", Category: nodes.CategoryPayments,
		Description: "Creates a Stripe PaymentIntent for an amount in minor units, tagged with the order id.",
		SideEffect:  true, Inputs: inputPort, Outputs: outputPort,
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "amount", Label: "Amount (minor units)", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "A whole number of the currency's minor units: 1999 is 19.99 USD, 500 is 500 JPY. " +
					"Convert decimals with toMinor(amount, currency).",
				Examples: []nodes.Example{{Name: "Mapped cents", Value: "{{ prev.amount_cents }}"}, {Name: "From a decimal", Value: "{{ toMinor(trigger.body.total, trigger.body.currency) }}"}}},
			{Name: "currency", Label: "Currency", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "ISO 4217 code; sent lower-case as Stripe wants it.",
				Examples:    []nodes.Example{{Name: "US dollars", Value: "usd"}, {Name: "From the order", Value: "{{ trigger.body.currency }}"}}},
			orderIDField,
			{Name: "customer", Label: "Customer id", Type: nodes.TypeString, Expression: true,
				Description: "A Stripe customer (cus_…), such as the output of Stripe: upsert customer.",
				Examples:    []nodes.Example{{Name: "From upsert", Value: "{{ nodes.customer.customer.id }}"}}},
			{Name: "description", Label: "Description", Type: nodes.TypeString, Expression: true},
			{Name: "receiptEmail", Label: "Receipt e-mail", Type: nodes.TypeString, Expression: true,
				Description: "Stripe e-mails the receipt here once the payment succeeds (live mode)."},
			{Name: "paymentMethod", Label: "Payment method id", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "A saved payment method (pm_…) to charge, usually with Confirm on."},
			{Name: "confirm", Label: "Confirm now", Type: nodes.TypeBoolean, Default: false, Advanced: true,
				Description: "Confirm at once with the payment method (off-session charges); otherwise the client confirms with the client_secret."},
			{Name: "captureMethod", Label: "Capture", Type: nodes.TypeSelect, Default: "automatic", Advanced: true,
				Options: []nodes.Option{
					{Value: "automatic", Label: "Automatic", Description: "Funds are captured when the payment is authorised."},
					{Value: "automatic_async", Label: "Automatic (async)"},
					{Value: "manual", Label: "Manual", Description: "Authorise now, capture later."},
				}},
			metadataField, orderIDKeyField, extraField,
		},
		Docs: "POST `/v1/payment_intents` (Stripe API `" + APIVersion + "`), form-encoded, with `Authorization: " +
			"Bearer sk_…`, `Stripe-Version` and an `Idempotency-Key` that is the same on every retry of the step, " +
			"so a retried step never creates a second intent.\n\n**Output:** the PaymentIntent as Stripe returns " +
			"it (`id`, `status`, `amount` in minor units, `client_secret` for the client to confirm with, " +
			"`metadata`…).\n\n" + failuresDoc + "\n\n**Example:** amount `{{ prev.amount_cents }}`, currency `usd`, " +
			"order id `{{ trigger.body.order_id }}` creates `pi_…` with `metadata.order_id`, so the later " +
			"payment_intent.succeeded event reaches the Stripe trigger with the order number as its business key.",
	}, newPaymentIntentCreate)

	nodes.MustRegister(nodes.Spec{
		Type: PaymentIntentRetrieveType, Version: 1, Name: "Stripe: get payment intent", Category: nodes.CategoryPayments,
		Description: "Reads a Stripe PaymentIntent: its status, amounts and latest charge.",
		Inputs:      inputPort, Outputs: outputPort,
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "id", Label: "Payment intent id", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "pi_…",
				Examples:    []nodes.Example{{Name: "From the Stripe trigger", Value: "{{ trigger.body.transactionId }}"}}},
			{Name: "expand", Label: "Expand", Type: nodes.TypeString, Advanced: true,
				Description: "Related objects to include in full, separated by commas.",
				Examples:    []nodes.Example{{Name: "Latest charge", Value: "latest_charge"}, {Name: "Charge and customer", Value: "latest_charge, customer"}}},
		},
		Docs: "GET `/v1/payment_intents/{id}` (Stripe API `" + APIVersion + "`). Use it to check a payment's " +
			"status before acting on it, for instance in a reconciliation flow.\n\n**Output:** the PaymentIntent " +
			"as Stripe returns it.\n\n" + failuresDoc,
	}, newPaymentIntentRetrieve)
}

func newPaymentIntentCreate(cfg *nodes.Config) (nodes.Node, error) {
	amount, currency := cfg.Template("amount"), cfg.Template("currency")
	orderID, customer := cfg.Template("orderId"), cfg.Template("customer")
	description, receiptEmail, paymentMethod := cfg.Template("description"), cfg.Template("receiptEmail"), cfg.Template("paymentMethod")
	confirm, captureMethod := cfg.Bool("confirm"), cfg.String("captureMethod")
	orderIDKey := strings.TrimSpace(cfg.String("orderIdKey"))
	meta, extra := cfg.KeyValue("metadata"), cfg.KeyValue("extra")
	checkKeyNames(cfg, "metadata", meta)
	checkKeyNames(cfg, "extra", extra)
	if amount != nil && amount.Static() {
		s, _ := amount.EvalString(nil)
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err != nil || n <= 0 {
			cfg.Fail("amount", nodes.CodeParamInvalid, "amount must be a whole number of minor units above 0, or an expression")
		}
	}
	render := func(x *nodes.Exec) (*request, error) {
		p := params{env: envOf(x)}
		n, ok, err := p.minor("amount", "amount", amount)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, invalid("amount is empty for this run")
		}
		cur, err := p.required("currency", "currency", currency)
		if err != nil {
			return nil, err
		}
		if len(cur) != 3 {
			return nil, invalid("currency %q is not a three-letter ISO 4217 code", cur)
		}
		f := url.Values{}
		f.Set("amount", strconv.FormatInt(n, 10))
		f.Set("currency", strings.ToLower(cur))
		for _, o := range []struct {
			field, form string
			tmpl        *expression.Template
		}{{"customer", "customer", customer}, {"description", "description", description},
			{"receiptEmail", "receipt_email", receiptEmail}, {"paymentMethod", "payment_method", paymentMethod}} {
			v, err := p.text(o.field, o.tmpl)
			if err != nil {
				return nil, err
			}
			setOptional(f, o.form, v)
		}
		if captureMethod != "" && captureMethod != "automatic" {
			f.Set("capture_method", captureMethod)
		}
		if confirm {
			f.Set("confirm", "true")
		}
		if err := metadataParams(p, f, orderIDKey, orderID, meta); err != nil {
			return nil, err
		}
		if err := extraParams(p, f, extra); err != nil {
			return nil, err
		}
		return &request{method: http.MethodPost, path: "/v1/payment_intents", form: f}, nil
	}
	return &action{op: "create payment intent", render: render}, cfg.Err()
}

func newPaymentIntentRetrieve(cfg *nodes.Config) (nodes.Node, error) {
	id := cfg.Template("id")
	var expand []string
	for _, e := range strings.Split(cfg.String("expand"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			expand = append(expand, e)
		}
	}
	render := func(x *nodes.Exec) (*request, error) {
		p := params{env: envOf(x)}
		v, err := p.required("id", "payment intent id", id)
		if err != nil {
			return nil, err
		}
		if !validID(v, "pi_") {
			return nil, invalid("%q is not a payment intent id (pi_…)", v)
		}
		f := url.Values{}
		for i, e := range expand {
			f.Set(fmt.Sprintf("expand[%d]", i), e)
		}
		return &request{method: http.MethodGet, path: "/v1/payment_intents/" + v, form: f}, nil
	}
	return &readAction{a: &action{op: "get payment intent", render: render}}, cfg.Err()
}

// readAction is an action that changes nothing at Stripe: test runs execute it (with the test-mode key) instead
// of asking for a dry run, so a flow under test sees real answers.
type readAction struct{ a *action }

func (r *readAction) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	return r.a.Execute(ctx, x)
}

var _ nodes.Node = (*readAction)(nil)
