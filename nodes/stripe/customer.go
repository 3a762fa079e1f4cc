package stripe

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// CustomerUpsertType is the node type of the customer upsert action.
const CustomerUpsertType = "stripe.customer.upsert"

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: CustomerUpsertType, Version: 1, Name: "Stripe: upsert customer", Category: nodes.CategoryPayments,
		Description: "Finds the Stripe customer with an e-mail address and updates it, or creates it.",
		SideEffect:  true, Inputs: inputPort,
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Customer", Kind: nodes.PortMain}},
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "email", Label: "E-mail", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "Identifies the customer. Stripe matches it exactly, case included: lower-case it in the mapping if the CRM does not.",
				Examples:    []nodes.Example{{Name: "From the CRM", Value: "{{ lower(trigger.body.customer.email) }}"}}},
			{Name: "name", Label: "Name", Type: nodes.TypeString, Expression: true},
			{Name: "phone", Label: "Phone", Type: nodes.TypeString, Expression: true},
			{Name: "description", Label: "Description", Type: nodes.TypeString, Expression: true},
			metadataField, extraField,
		},
		Docs: "Looks the customer up with GET `/v1/customers?email=…` (Stripe API `" + APIVersion + "`), which, " +
			"unlike the search API, sees a customer created a moment ago, so two runs close together do not " +
			"create two customers. When found (the most recently created, if several share the address), " +
			"POST `/v1/customers/{id}` updates the fields that are set; else POST `/v1/customers` creates it. " +
			"Both POSTs carry an idempotency key fixed for the step (the update's with `:update` appended), so " +
			"a retried step creates nothing twice. Empty fields are left as they are.\n\n" +
			"**Output:** `{\"created\": true|false, \"matches\": n, \"customer\": {…}}` with the Customer as Stripe " +
			"returns it; later steps read `nodes.<id>.customer.id`.\n\n" + failuresDoc,
	}, newCustomerUpsert)
}

type customerUpsert struct {
	email, name, phone, description *expression.Template
	meta, extra                     map[string]*expression.Template
}

func newCustomerUpsert(cfg *nodes.Config) (nodes.Node, error) {
	n := &customerUpsert{
		email: cfg.Template("email"), name: cfg.Template("name"), phone: cfg.Template("phone"),
		description: cfg.Template("description"), meta: cfg.KeyValue("metadata"), extra: cfg.KeyValue("extra"),
	}
	checkKeyNames(cfg, "metadata", n.meta)
	checkKeyNames(cfg, "extra", n.extra)
	return n, cfg.Err()
}

// render gives the lookup and the fields to write.
func (n *customerUpsert) render(x *nodes.Exec) (lookup *request, fields url.Values, err error) {
	p := params{env: envOf(x)}
	email, err := p.required("email", "e-mail", n.email)
	if err != nil {
		return nil, nil, err
	}
	if !strings.Contains(email, "@") {
		return nil, nil, invalid("%q is not an e-mail address", email)
	}
	fields = url.Values{}
	fields.Set("email", email)
	for _, o := range []struct {
		field string
		tmpl  *expression.Template
	}{{"name", n.name}, {"phone", n.phone}, {"description", n.description}} {
		v, err := p.text(o.field, o.tmpl)
		if err != nil {
			return nil, nil, err
		}
		setOptional(fields, o.field, v)
	}
	if err := metadataParams(p, fields, "", nil, n.meta); err != nil {
		return nil, nil, err
	}
	if err := extraParams(p, fields, n.extra); err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	q.Set("email", email)
	q.Set("limit", "10")
	return &request{method: http.MethodGet, path: "/v1/customers", form: q}, fields, nil
}

// Execute looks the customer up, then updates or creates it.
func (n *customerUpsert) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	lookup, fields, err := n.render(x)
	if err != nil {
		return nodes.Result{}, err
	}
	c, err := clientFor(ctx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	res, err := c.do(ctx, lookup.method, lookup.path, lookup.form, "")
	if err != nil {
		return nodes.Result{}, wrapOp("find customer", err)
	}
	var list struct {
		Data []struct {
			ID      string `json:"id"`
			Created int64  `json:"created"`
		} `json:"data"`
	}
	if err := json.Unmarshal(res.body, &list); err != nil {
		return nodes.Result{}, nodes.NewPermanent(CodeResponseInvalid, wrapOp("find customer", err))
	}
	created := true
	method, path, key := http.MethodPost, "/v1/customers", x.IdempotencyKey
	if len(list.Data) > 0 {
		newest := list.Data[0]
		for _, c := range list.Data[1:] {
			if c.Created > newest.Created {
				newest = c
			}
		}
		if !validID(newest.ID, "cus_") {
			return nodes.Result{}, nodes.NewPermanent(CodeResponseInvalid, wrapOp("find customer", invalid("Stripe listed %q as a customer id", newest.ID)))
		}
		created = false
		path = "/v1/customers/" + newest.ID
		// The email is what found the customer; sending it again changes nothing.
		fields.Del("email")
		if key != "" {
			key += ":update"
		}
	}
	op := "create customer"
	if !created {
		op = "update customer"
	}
	res, err = c.do(ctx, method, path, fields, key)
	if err != nil {
		return nodes.Result{}, wrapOp(op, err)
	}
	obj, err := decodeObject(method, path, res)
	if err != nil {
		return nodes.Result{}, err
	}
	return nodes.Result{Output: map[string]any{"created": created, "matches": int64(len(list.Data)), "customer": obj}}, nil
}

// DryRun shows the lookup and the customer that would be created (or, when found, updated); nothing is sent.
func (n *customerUpsert) DryRun(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	lookup, fields, err := n.render(x)
	if err != nil {
		return nodes.Result{}, err
	}
	write := &request{method: http.MethodPost, path: "/v1/customers", form: fields}
	return nodes.Result{Output: map[string]any{
		"dryRun":  true,
		"lookup":  dryRunView(ctx, x, lookup, ""),
		"request": dryRunView(ctx, x, write, x.IdempotencyKey),
		"note":    "when the lookup finds a customer, its fields are updated with POST /v1/customers/{id} instead",
	}}, nil
}

var (
	_ nodes.Node      = (*customerUpsert)(nil)
	_ nodes.DryRunner = (*customerUpsert)(nil)
)
