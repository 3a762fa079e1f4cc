package paypal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/payment"
)

// maxRequestID is the longest PayPal-Request-Id PayPal accepts.
const maxRequestID = 108

// wholeUnitCurrencies are the currencies PayPal takes without decimals although ISO 4217 gives them two.
// JPY has none in ISO 4217 either.
var wholeUnitCurrencies = map[string]bool{"HUF": true, "TWD": true}

// requestID is the PayPal-Request-Id of a step: its idempotency key, hashed when longer than PayPal allows, so
// every retry of the step sends the same id and PayPal applies the call once (I4).
func requestID(key string) string {
	if len(key) <= maxRequestID {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// envOf is the step's expression environment; on its own (in tests) the input is visible as prev and trigger.
func envOf(x *nodes.Exec) map[string]any {
	if x.Env != nil {
		return x.Env
	}
	return map[string]any{expression.VarPrev: x.Input, expression.VarTrigger: x.Input}
}

// render evaluates an optional template parameter; nil renders to "".
func render(t *expression.Template, env map[string]any, node, field string) (string, error) {
	if t == nil {
		return "", nil
	}
	s, err := t.EvalString(env)
	if err != nil {
		return "", nodes.EvalFailed(node, field, err)
	}
	return strings.TrimSpace(s), nil
}

func invalid(node, format string, args ...any) error {
	return nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("%s: "+format, append([]any{node}, args...)...))
}

// money renders minor units and a currency into PayPal's amount object, exactly: integer minor units in, a
// decimal string out, never a float (I7).
func moneyOf(node, minorText, currency string) (map[string]any, payment.Amount, error) {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	if len(currency) != 3 || strings.Trim(currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return nil, payment.Amount{}, invalid(node, "currency %q is not an ISO 4217 code", currency)
	}
	minor, err := strconv.ParseInt(minorText, 10, 64)
	if err != nil {
		return nil, payment.Amount{}, invalid(node, "amount %q is not a whole number of minor units (cents, fen)", minorText)
	}
	if minor <= 0 {
		return nil, payment.Amount{}, invalid(node, "amount must be more than 0, not %d", minor)
	}
	a := payment.FromMinor(minor, currency)
	value := a.Decimal
	if wholeUnitCurrencies[currency] {
		if minor%100 != 0 {
			return nil, payment.Amount{}, invalid(node, "PayPal takes %s in whole units; %d minor units is not a whole amount", currency, minor)
		}
		value = strconv.FormatInt(minor/100, 10)
	}
	return map[string]any{"currency_code": currency, "value": value}, a, nil
}

// amountFrom reads a PayPal amount object from an answer into minor units; nil when absent or unreadable.
func amountFrom(v any) map[string]any {
	m, _ := v.(map[string]any)
	cur, _ := m["currency_code"].(string)
	val, _ := m["value"].(string)
	if cur == "" || val == "" {
		return nil
	}
	a, err := payment.FromDecimal(val, cur)
	if err != nil {
		return nil
	}
	return map[string]any{"minor": a.Minor, "currency": a.Currency, "decimal": a.Decimal}
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// dryRun shows the request a step would send, credential resolved only to name the host.
func dryRun(ctx context.Context, x *nodes.Exec, r *apiRequest) nodes.Result {
	var a *account
	if x.Credential != nil {
		if fields, err := x.Credential(ctx); err == nil {
			a, _ = accountFrom(fields)
		}
	}
	return nodes.Result{Output: map[string]any{"dryRun": true, "request": r.summary(a)}}
}

// actionSpec fills what the three actions share.
func actionSpec(s nodes.Spec) nodes.Spec {
	s.Version = 1
	s.Category = nodes.CategoryPayments
	s.SideEffect = true
	s.Inputs = []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}}
	s.Credentials = []string{CredentialApp}
	s.CredentialRequired = true
	s.Docs += "\n\n**Idempotency:** every call carries `PayPal-Request-Id`, the same on every retry of the step in a " +
		"run, so PayPal applies it once and answers a retry with the first result.\n\n" +
		"**Failures:** 429 waits as long as PayPal's Retry-After asks (`paypal_rate_limited`); 5xx, timeouts and " +
		"network errors are retried (`paypal_server_error`, `paypal_timeout`, `paypal_network`); 422 " +
		"(`paypal_unprocessable`) and other 4xx (`paypal_client_error`, `paypal_not_found`, `paypal_unauthorized`) " +
		"fail for good. PayPal's `name`, `message`, `debug_id` and `details` are kept verbatim in the error " +
		"details.\n\n**Test runs** send nothing: the step outputs `{\"dryRun\": true, \"request\": {…}}`."
	return s
}
