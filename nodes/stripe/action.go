package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// request is one Stripe call an action renders from its parameters: what Execute sends and DryRun shows.
type request struct {
	method string
	path   string
	form   url.Values
}

// renderer turns a step's data into the request to send.
type renderer func(x *nodes.Exec) (*request, error)

// action is a Stripe node that makes one call and outputs Stripe's object unchanged, at the pinned version.
type action struct {
	op     string // what the call does, for error messages: "create payment intent"
	render renderer
}

func (a *action) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, err := a.render(x)
	if err != nil {
		return nodes.Result{}, err
	}
	c, err := clientFor(ctx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	res, err := c.do(ctx, r.method, r.path, r.form, idempotencyKeyFor(r.method, x.IdempotencyKey))
	if err != nil {
		return nodes.Result{}, wrapOp(a.op, err)
	}
	obj, err := decodeObject(r.method, r.path, res)
	if err != nil {
		return nodes.Result{}, err
	}
	return nodes.Result{Output: obj}, nil
}

// DryRun shows the request a test run would send, the secret key hidden, and sends nothing.
func (a *action) DryRun(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	r, err := a.render(x)
	if err != nil {
		return nodes.Result{}, err
	}
	return nodes.Result{Output: map[string]any{"dryRun": true, "request": dryRunView(ctx, x, r, idempotencyKeyFor(r.method, x.IdempotencyKey))}}, nil
}

func idempotencyKeyFor(method, key string) string {
	if method != http.MethodPost {
		return ""
	}
	return key
}

// dryRunView describes a request as it would go out; the base URL comes from the credential when it opens.
func dryRunView(ctx context.Context, x *nodes.Exec, r *request, key string) map[string]any {
	base, _ := url.Parse(DefaultAPIBase)
	if x.Credential != nil {
		if fields, err := x.Credential(ctx); err == nil {
			if b, err := apiBase(fields); err == nil {
				base = b
			}
		}
	}
	c := &client{base: base}
	u := base.JoinPath(r.path)
	view := map[string]any{"method": r.method, "headers": shownHeaders(c.headers(r.method, key, false))}
	if r.method == http.MethodPost {
		view["body"] = r.form.Encode()
		view["form"] = formView(r.form)
	} else if len(r.form) > 0 {
		u.RawQuery = r.form.Encode()
	}
	view["url"] = u.String()
	return view
}

func formView(f url.Values) map[string]any {
	out := make(map[string]any, len(f))
	for k, v := range f {
		if len(v) == 1 {
			out[k] = v[0]
		} else {
			out[k] = append([]string(nil), v...)
		}
	}
	return out
}

// wrapOp names the operation in a typed failure's message, keeping its kind, code and details.
func wrapOp(op string, err error) error {
	var typed *nodes.Error
	if !errors.As(err, &typed) {
		return fmt.Errorf("stripe: %s: %w", op, err)
	}
	c := *typed
	c.Err = fmt.Errorf("%s: %w", op, typed.Err)
	return &c
}

// envOf is the expression environment of a step.
func envOf(x *nodes.Exec) map[string]any {
	if x.Env != nil {
		return x.Env
	}
	return map[string]any{expression.VarPrev: x.Input, expression.VarTrigger: x.Input}
}

func invalid(format string, args ...any) error {
	return nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("stripe: "+format, args...))
}

// params renders a node's templated parameters for one step.
type params struct {
	env map[string]any
}

// text renders an optional template; nil gives "".
func (p params) text(field string, t *expression.Template) (string, error) {
	if t == nil {
		return "", nil
	}
	s, err := t.EvalString(p.env)
	if err != nil {
		return "", nodes.EvalFailed("stripe", field, err)
	}
	return strings.TrimSpace(s), nil
}

// required renders a template that must give text.
func (p params) required(field, label string, t *expression.Template) (string, error) {
	s, err := p.text(field, t)
	if err == nil && s == "" {
		err = invalid("%s is empty for this run", label)
	}
	return s, err
}

// minor renders an amount in minor units: a whole number, never a decimal (I7). Empty gives ok false.
func (p params) minor(field, label string, t *expression.Template) (int64, bool, error) {
	s, err := p.text(field, t)
	if err != nil || s == "" {
		return 0, false, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, invalid("%s %q is not a whole number of minor units (cents, fen); convert with toMinor(amount, currency)", label, s)
	}
	if n <= 0 {
		return 0, false, invalid("%s must be more than 0, not %d", label, n)
	}
	return n, true, nil
}

// keyValues renders a key-value parameter, in key order.
func (p params) keyValues(field string, m map[string]*expression.Template) ([][2]string, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][2]string, 0, len(keys))
	for _, k := range keys {
		v, err := m[k].EvalString(p.env)
		if err != nil {
			return nil, nodes.EvalFailed("stripe", field+"."+k, err)
		}
		out = append(out, [2]string{strings.TrimSpace(k), v})
	}
	return out, nil
}

// setOptional adds a form field when the value is not empty.
func setOptional(f url.Values, name, value string) {
	if value != "" {
		f.Set(name, value)
	}
}

// validID reports whether s looks like a Stripe object id with the given prefixes, so a path never carries
// anything but an id.
func validID(s string, prefixes ...string) bool {
	ok := false
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			ok = true
		}
	}
	if !ok {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Fields several actions share.
var (
	metadataField = nodes.Field{
		Name: "metadata", Label: "Metadata", Type: nodes.TypeKeyValue, Expression: true,
		Description: "Key-value pairs stored on the Stripe object (up to 50 keys); values may interpolate {{ }}.",
		Examples:    []nodes.Example{{Name: "CRM id", Value: map[string]any{"crm_deal_id": "{{ nodes.crm.body.id }}"}}},
	}
	extraField = nodes.Field{
		Name: "extra", Label: "Additional parameters", Type: nodes.TypeKeyValue, Expression: true, Advanced: true,
		Description: "Any other parameter of the Stripe API call, named in Stripe's bracket notation; values may " +
			"interpolate {{ }}. Applied last, so they override the fields above.",
		Examples: []nodes.Example{{Name: "Card only", Value: map[string]any{"payment_method_types[0]": "card"}}},
	}
	orderIDField = nodes.Field{
		Name: "orderId", Label: "Order id", Type: nodes.TypeString, Expression: true,
		Description: "The shop's order number, stored in the metadata under the order id key so the Stripe " +
			"trigger finds it again as merchantOrderId.",
		Examples: []nodes.Example{{Name: "From the trigger", Value: "{{ trigger.body.order_id }}"}},
	}
	orderIDKeyField = nodes.Field{
		Name: "orderIdKey", Label: "Order id metadata key", Type: nodes.TypeString, Default: "order_id", Advanced: true,
		Description: "Metadata key the order id goes under; match the Stripe trigger's setting.",
	}
)

// metadataParams renders orderId and metadata into metadata[…] form fields.
func metadataParams(p params, f url.Values, orderIDKey string, orderID *expression.Template, meta map[string]*expression.Template) error {
	kvs, err := p.keyValues("metadata", meta)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		f.Set("metadata["+kv[0]+"]", kv[1])
	}
	id, err := p.text("orderId", orderID)
	if err != nil {
		return err
	}
	if id != "" && orderIDKey != "" {
		f.Set("metadata["+orderIDKey+"]", id)
	}
	return nil
}

// extraParams applies the additional parameters last.
func extraParams(p params, f url.Values, extra map[string]*expression.Template) error {
	kvs, err := p.keyValues("extra", extra)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		f.Set(kv[0], kv[1])
	}
	return nil
}

func checkKeyNames(cfg *nodes.Config, field string, m map[string]*expression.Template) {
	for k := range m {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, "&=\r\n") {
			cfg.Fail(field, nodes.CodeParamInvalid, fmt.Sprintf("%q is not a usable parameter name", k))
		}
	}
}

var (
	_ nodes.Node      = (*action)(nil)
	_ nodes.DryRunner = (*action)(nil)
)
