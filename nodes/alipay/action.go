package alipay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/payment"
)

// CodeCredentialMissing is the failure of an action whose flow names no credential.
const CodeCredentialMissing = "alipay_credential_missing"

// operation is what differs between the actions: how a step's parameters become a request, and how the verified
// answer becomes the step's output.
type operation struct {
	method string
	render func(env map[string]any, x *nodes.Exec) (request, error)
	shape  func(a answer, r request) (map[string]any, error)
}

// actionNode runs an operation. Read-only operations (query) run in test runs too, against the test variant.
type actionNode struct {
	typ string
	op  operation
	now func() time.Time
}

// effectNode is an operation with a side effect (refund, close, precreate): test runs show the request
// instead of sending it.
type effectNode struct{ actionNode }

func envOf(x *nodes.Exec) map[string]any {
	if x.Env != nil {
		return x.Env
	}
	return map[string]any{expression.VarPrev: x.Input, expression.VarTrigger: x.Input}
}

// Execute renders the request, signs it with the credential's private key, sends it and checks the answer.
func (n *actionNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, err := n.op.render(envOf(x), x)
	if err != nil {
		return nodes.Result{}, err
	}
	fields, err := credentialFields(ctx, x, n.typ)
	if err != nil {
		return nodes.Result{}, err
	}
	if withheld(fields[FieldPrivateKey]) {
		// A test run of a credential without a test variant: the vault withholds the live keys, so nothing can be
		// signed; show what would be asked instead of failing.
		out := dryRunOutput(fields, r)
		out["note"] = "the credential has no test variant, so the request was not sent; add the sandbox app as its test variant"
		return nodes.Result{Output: out}, nil
	}
	acc, err := loadAccount(fields, true)
	if err != nil {
		return nodes.Result{}, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("%s: %w", n.typ, err))
	}
	a, err := caller{http: x.HTTP, breakers: x.Breakers, now: n.now}.do(ctx, acc, r)
	if err != nil {
		return nodes.Result{}, err
	}
	out, err := n.op.shape(a, r)
	if err != nil {
		return nodes.Result{}, nodes.WithDetails(nodes.NewPermanent(CodeResponseInvalid, fmt.Errorf("%s: %w", n.typ, err)),
			map[string]any{"response": a.body})
	}
	return nodes.Result{Output: out}, nil
}

// DryRun shows the request the step would send, without its signature, and sends nothing.
func (n *effectNode) DryRun(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, err := n.op.render(envOf(x), x)
	if err != nil {
		return nodes.Result{}, err
	}
	fields, err := credentialFields(ctx, x, n.typ)
	if err != nil {
		return nodes.Result{}, err
	}
	return nodes.Result{Output: dryRunOutput(fields, r)}, nil
}

func dryRunOutput(fields map[string]string, r request) map[string]any {
	gateway, err := gatewayOf(fields)
	if err != nil {
		gateway = err.Error()
	}
	return map[string]any{"dryRun": true, "request": shownRequest(gateway, r, &account{appID: fields[FieldAppID]})}
}

func credentialFields(ctx context.Context, x *nodes.Exec, typ string) (map[string]string, error) {
	if x.Credential == nil {
		return nil, nodes.NewPermanent(CodeCredentialMissing, fmt.Errorf("%s: the step has no alipay.app credential", typ))
	}
	fields, err := x.Credential(ctx)
	switch {
	case errors.Is(err, nodes.ErrNoCredential):
		return nil, nodes.NewPermanent(CodeCredentialMissing, fmt.Errorf("%s: the step has no alipay.app credential", typ))
	case err != nil:
		var typed *nodes.Error
		if errors.As(err, &typed) {
			return nil, fmt.Errorf("%s: load credential: %w", typ, err)
		}
		return nil, nodes.NewRetryable(CodeCredentialUnavailable, fmt.Errorf("%s: load credential: %w", typ, err))
	}
	return fields, nil
}

// Parameters shared by the actions.

// tradeFields are the two ways to name a trade: the shop's order number or Alipay's trade number.
func tradeFields() []nodes.Field {
	return []nodes.Field{
		{Name: "outTradeNo", Label: "Order number (out_trade_no)", Type: nodes.TypeString, Expression: true,
			Description: "The shop's order number the trade was created with. Give this or the Alipay trade number.",
			Examples: []nodes.Example{
				{Name: "From the notification", Value: "{{ trigger.body.merchantOrderId }}"},
				{Name: "From the order", Value: "{{ trigger.body.order_id }}"},
			}},
		{Name: "tradeNo", Label: "Alipay trade number (trade_no)", Type: nodes.TypeString, Expression: true,
			Description: "Alipay's own number for the trade; used when set, else the order number.",
			Examples:    []nodes.Example{{Name: "From the notification", Value: "{{ trigger.body.transactionId }}"}}},
	}
}

// extraField is biz_content beyond what the node's parameters set.
var extraField = nodes.Field{
	Name: "extraBizContent", Label: "More biz_content", Type: nodes.TypeText, Expression: true, Advanced: true,
	Description: "Further biz_content fields as a JSON object, or a single {{ expression }} giving one, sent as " +
		"they are (see Alipay's API reference). It may not repeat a field the node sets itself.",
	Examples: []nodes.Example{
		{Name: "Store id", Value: `{"store_id": "SH001"}`},
		{Name: "From an earlier step", Value: "{{ nodes.build.extra }}"},
	},
}

type tradeRef struct {
	outTradeNo, tradeNo *expression.Template
}

func compileTradeRef(cfg *nodes.Config) tradeRef {
	ref := tradeRef{outTradeNo: cfg.Template("outTradeNo"), tradeNo: cfg.Template("tradeNo")}
	if ref.outTradeNo == nil && ref.tradeNo == nil && len(cfg.Problems()) == 0 {
		cfg.Fail("outTradeNo", nodes.CodeParamRequired, "give the order number or the Alipay trade number")
	}
	return ref
}

// render puts out_trade_no or trade_no into biz.
func (t tradeRef) render(typ string, env map[string]any, biz map[string]any) error {
	out, err := evalText(typ, "outTradeNo", t.outTradeNo, env)
	if err != nil {
		return err
	}
	no, err := evalText(typ, "tradeNo", t.tradeNo, env)
	if err != nil {
		return err
	}
	switch {
	case no != "":
		biz["trade_no"] = no
	case out != "":
		biz["out_trade_no"] = out
	default:
		return nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: both the order number and the Alipay trade number are empty", typ))
	}
	if out != "" && no != "" {
		biz["out_trade_no"] = out
	}
	return nil
}

// evalText renders an optional text parameter; nil renders empty.
func evalText(typ, field string, t *expression.Template, env map[string]any) (string, error) {
	if t == nil {
		return "", nil
	}
	s, err := t.EvalString(env)
	if err != nil {
		return "", nodes.EvalFailed(typ, field, err)
	}
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\r\n\x00") {
		return "", nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: %s contains a line break", typ, field))
	}
	return s, nil
}

// evalAmount renders a money parameter as an exact CNY amount: decimal yuan text ("88.00"), a number of yuan,
// or an amount object {minor, currency} such as a payment event's amount. Floats never take part (I7): a
// number is read through its shortest decimal text, and more than two decimals are refused.
func evalAmount(typ, field string, t *expression.Template, env map[string]any) (payment.Amount, error) {
	v, err := t.Eval(env)
	if err != nil {
		return payment.Amount{}, nodes.EvalFailed(typ, field, err)
	}
	invalid := func(err error) error {
		return nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: %s: %w", typ, field, err))
	}
	var a payment.Amount
	switch x := v.(type) {
	case map[string]any:
		minor, ok := toInt64(x["minor"])
		if !ok {
			return payment.Amount{}, invalid(errors.New("an amount object needs whole minor units in \"minor\""))
		}
		currency, _ := x["currency"].(string)
		if currency == "" {
			currency = "CNY"
		}
		a = payment.FromMinor(minor, currency)
	case string, int, int64, float64, json.Number:
		if a, err = payment.FromDecimal(strings.TrimSpace(expression.Stringify(x)), "CNY"); err != nil {
			return payment.Amount{}, invalid(err)
		}
	case nil:
		return payment.Amount{}, invalid(errors.New("the amount is empty"))
	default:
		return payment.Amount{}, invalid(fmt.Errorf("an amount must be decimal yuan or an amount object, not %T", v))
	}
	if a.Currency != "CNY" {
		return payment.Amount{}, invalid(fmt.Errorf("the amount is in %s; Alipay amounts are in CNY", a.Currency))
	}
	if a.Minor <= 0 {
		return payment.Amount{}, invalid(fmt.Errorf("the amount must be more than 0.00, not %s", a.Decimal))
	}
	if a.Minor > maxAmountFen {
		return payment.Amount{}, invalid(fmt.Errorf("the amount %s is more than Alipay's 100000000.00", a.Decimal))
	}
	return a, nil
}

// maxAmountFen is Alipay's largest amount, ¥100,000,000.00.
const maxAmountFen = 100_000_000_00

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	}
	return 0, false
}

// evalExtra renders the extra biz_content and merges it into biz, refusing fields the node sets.
func evalExtra(typ string, t *expression.Template, env map[string]any, biz map[string]any) error {
	if t == nil {
		return nil
	}
	v, err := t.Eval(env)
	if err != nil {
		return nodes.EvalFailed(typ, extraField.Name, err)
	}
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
			return nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: more biz_content is not a JSON object", typ))
		}
		v = m
	}
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil
		}
		return nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: more biz_content must be an object, not %T", typ, v))
	}
	for _, k := range sortedKeys(m) {
		if _, taken := biz[k]; taken {
			return nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: more biz_content sets %s, which the node sets itself", typ, k))
		}
		biz[k] = m[k]
	}
	return nil
}

// compileExtra compiles the extra biz_content, checking static text is a JSON object.
func compileExtra(cfg *nodes.Config) *expression.Template {
	t := cfg.Template(extraField.Name)
	if t != nil && t.Static() {
		s, _ := t.EvalString(nil)
		var m map[string]any
		if strings.TrimSpace(s) != "" && (json.Unmarshal([]byte(s), &m) != nil || m == nil) {
			cfg.Fail(extraField.Name, nodes.CodeParamInvalid, "more biz_content must be a JSON object")
		}
	}
	return t
}

// amountOut is an amount as flows read it.
func amountOut(a payment.Amount) map[string]any {
	return map[string]any{"minor": a.Minor, "currency": a.Currency, "decimal": a.Decimal}
}

// answerAmount reads a yuan amount of the answer; absent gives nil.
func answerAmount(a answer, name string) (map[string]any, error) {
	s := a.text(name)
	if s == "" {
		return nil, nil
	}
	amt, err := payment.FromDecimal(s, "CNY")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return amountOut(amt), nil
}

// requestNo makes an Alipay request number (out_request_no: at most 64 letters, digits and underscores) from
// the step's idempotency key, the same on every retry. Keys that do not fit are replaced by their SHA-256.
func requestNo(key string) string {
	if safeRequestNo.MatchString(key) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

var safeRequestNo = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
