package woocommerce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// OrderStatuses are WooCommerce's own order statuses, as the REST API names them (without the wc- prefix). A
// store may add its own (a plugin's "awaiting-shipment"): the status fields load the store's list.
var OrderStatuses = []nodes.Option{
	{Value: "pending", Label: "Pending payment"}, {Value: "processing", Label: "Processing"},
	{Value: "on-hold", Label: "On hold"}, {Value: "completed", Label: "Completed"},
	{Value: "cancelled", Label: "Cancelled"}, {Value: "refunded", Label: "Refunded"},
	{Value: "failed", Label: "Failed"}, {Value: "checkout-draft", Label: "Draft"},
}

// statusSource loads the store's order statuses, custom ones included: the orders totals report lists every
// status wc_get_order_statuses() knows, by slug and name.
var statusSource = &connector.OptionSource{Path: "/reports/orders/totals", Items: "", Value: "/slug", Label: "/name"}

// recordID checks an order's or customer's id: WooCommerce ids are positive integers.
func recordID(kind string) func(any) (any, error) {
	return func(v any) (any, error) {
		s := strings.TrimSpace(fmt.Sprint(v))
		n, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%q is not a WooCommerce %s id (a number such as 727)", s, kind)
		}
		return strconv.FormatUint(n, 10), nil
	}
}

// ModifiedAfter writes a time as the REST API's modified_after takes it with dates_are_gmt=true: ISO 8601 in
// GMT without a zone ("2026-11-20T08:00:00").
func ModifiedAfter(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// parseSince reads the changed-since parameter: an RFC 3339 time or a date (midnight GMT).
func parseSince(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return ModifiedAfter(t), nil
		}
	}
	return nil, fmt.Errorf("%q is not a time (2026-11-20T08:00:00Z) or a date (2026-11-20)", s)
}

func text(name, label, desc string, in connector.In, key string) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Expression: true, Description: desc}, In: in, Key: key}
}

func idParam(name, label, kind, example string) connector.Param {
	p := text(name, label, "The "+kind+"'s id, the number WooCommerce shows in its admin.", connector.InPath, "id")
	p.Required = true
	p.Examples = []nodes.Example{{Name: "From the WooCommerce trigger", Value: example}}
	p.Transform = recordID(kind)
	return p
}

func statusParam(required bool, desc string, key string, in connector.In) connector.Param {
	p := connector.Param{Field: nodes.Field{Name: "status", Label: "Status", Type: nodes.TypeSelect, Expression: true, Required: required,
		Description: desc, Options: OrderStatuses}, In: in, Key: key, Options: statusSource}
	return p
}

// customerSearch is the customers list query for one e-mail address among every role: WooCommerce lists only
// users with the customer role unless asked, and a shop manager who ordered is a customer too.
func customerSearch(email string) url.Values {
	return url.Values{"email": {email}, "role": {"all"}, "per_page": {"2"}}
}

// routeCustomerUpsert finds the customer with the body's e-mail address: found, the request updates it (PUT
// /customers/{id}); not found, it creates one (POST /customers). Two customers with one address cannot exist in
// WordPress (user e-mails are unique), so a second match is a store in an odd state and is refused.
func routeCustomerUpsert(ctx context.Context, get connector.Get, body map[string]any) (string, string, error) {
	email, _ := body["email"].(string)
	if strings.TrimSpace(email) == "" {
		return "", "", fmt.Errorf("the e-mail address is empty")
	}
	a, err := get(ctx, "/customers", customerSearch(email))
	if err != nil {
		return "", "", err
	}
	list, ok := a.JSON.([]any)
	if !ok {
		return "", "", nodes.NewPermanent(CodeResponseInvalid, fmt.Errorf("woocommerce: the customer search answered no list"))
	}
	switch len(list) {
	case 0:
		return http.MethodPost, "/customers", nil
	case 1:
		c, _ := list[0].(map[string]any)
		id := str(c["id"])
		if _, err := recordID("customer")(id); err != nil {
			return "", "", nodes.NewPermanent(CodeResponseInvalid, fmt.Errorf("woocommerce: the customer found has no id"))
		}
		return http.MethodPut, "/customers/" + id, nil
	}
	return "", "", nodes.NewPermanent(CodeCustomerAmbiguous, fmt.Errorf("woocommerce: %d customers have the e-mail address %s", len(list), email))
}

// CodeCustomerAmbiguous: an upsert found more than one customer with the e-mail address.
const CodeCustomerAmbiguous = "woocommerce_customer_ambiguous"

func init() {
	since := text("modifiedAfter", "Changed since", "Orders modified after this time (RFC 3339, or a date at midnight GMT); empty lists every order.",
		connector.InQuery, "modified_after")
	since.Transform = parseSince
	since.Examples = []nodes.Example{{Name: "A fixed date", Value: "2026-11-01"}, {Name: "The last sync (a flow variable)", Value: "{{ vars.lastSync }}"}}
	search := text("search", "Search", "Text WooCommerce matches against the customers' names, e-mail addresses and user names.", connector.InQuery, "search")
	search.Required = true
	search.Examples = []nodes.Example{{Name: "By e-mail", Value: "{{ trigger.body.customer.email }}"}}
	email := text("email", "E-mail", "Identifies the customer: the customer with this address is updated, or one is created.", connector.InBody, "/email")
	email.Required = true
	email.Examples = []nodes.Example{{Name: "From the CRM", Value: "{{ lower(prev.email) }}"}}
	note := text("note", "Note", "The note's text.", connector.InBody, "/note")
	note.Type, note.Required = nodes.TypeText, true
	note.Examples = []nodes.Example{{Name: "Synced", Value: "Synced to the CRM as deal {{ prev.id }}"}}

	provider.MustRegister(
		connector.Operation{Type: "woocommerce.order.get", Name: "WooCommerce: get order", Category: nodes.CategoryShops,
			Description: "Reads one order by its id: status, customer, items and amounts.",
			Method:      http.MethodGet, Path: "/orders/{id}", OutputLabel: "Order",
			Params: []connector.Param{idParam("order", "Order", "order", "{{ trigger.body.orderId }}")},
			Docs: "Outputs the order as the REST API gives it (`id`, `number`, `status`, `currency`, `total`, `billing`, " +
				"`line_items`…; amounts are decimal texts). An unknown id fails with `woocommerce_not_found`."},
		connector.Operation{Type: "woocommerce.orders.list", Name: "WooCommerce: list orders", Category: nodes.CategoryShops,
			Description: "Lists the orders changed since a time, oldest change first.",
			Method:      http.MethodGet, Path: "/orders", OutputLabel: "Orders",
			Params: []connector.Param{since,
				statusParam(false, "Only orders in this status; empty lists every status.", "status", connector.InQuery),
				{Field: nodes.Field{Name: "orderBy", Label: "Sort by", Type: nodes.TypeSelect, Default: "modified", Advanced: true,
					Description: "What the list is sorted by.",
					Options:     []nodes.Option{{Value: "modified", Label: "Last change"}, {Value: "date", Label: "Order date"}, {Value: "id", Label: "Id"}}},
					In: connector.InQuery, Key: "orderby"},
				{Field: nodes.Field{Name: "order", Label: "Direction", Type: nodes.TypeSelect, Default: "asc", Advanced: true,
					Options: []nodes.Option{{Value: "asc", Label: "Oldest first"}, {Value: "desc", Label: "Newest first"}}},
					In: connector.InQuery, Key: "order"},
				{Field: nodes.Field{Name: "datesAreGmt", Label: "Times are GMT", Type: nodes.TypeBoolean, Default: true, Advanced: true,
					Description: "Read Changed since as GMT (dates_are_gmt), not the store's own time zone."},
					In: connector.InQuery, Key: "dates_are_gmt"}},
			Pagination: &connector.Pagination{Style: connector.PageNumber, PageKey: "page", SizeKey: "per_page", Size: 20, MaxSize: 100,
				TotalPages: "X-WP-TotalPages"},
			Docs: "`GET /orders?modified_after=…&dates_are_gmt=true&orderby=modified&order=asc`, page by page (`page`, `per_page` " +
				"up to 100; `X-WP-TotalPages` says where the list ends). `modified_after` is exclusive and counts whole seconds: " +
				"to continue from an order, give its `date_modified_gmt` minus a second and drop the orders already seen by " +
				"`id` and `date_modified_gmt`. The *WooCommerce: orders changed* trigger does exactly that."},
		connector.Operation{Type: "woocommerce.order.status.update", Name: "WooCommerce: update order status", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Sets an order's status (completed, on hold, cancelled…).",
			Method:      http.MethodPut, Path: "/orders/{id}", OutputLabel: "Order",
			Params: []connector.Param{idParam("order", "Order", "order", "{{ trigger.body.orderId }}"),
				statusParam(true, "The new status; the store's own statuses load from the account.", "/status", connector.InBody)},
			Docs: "`PUT /orders/{id}` with `{\"status\": …}`. WooCommerce runs its own status transitions (e-mails to the " +
				"customer, stock changes), as the admin would. Setting the status the order already has changes nothing, so a " +
				"retried step is harmless. A status the store does not know fails with `woocommerce_invalid_request`."},
		createOrder(),
		connector.Operation{Type: "woocommerce.order.note.create", Name: "WooCommerce: add order note", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Adds a note to an order, for staff or for the customer.",
			Method:      http.MethodPost, Path: "/orders/{id}/notes", OutputLabel: "Note",
			Params: []connector.Param{idParam("order", "Order", "order", "{{ trigger.body.orderId }}"), note,
				{Field: nodes.Field{Name: "customerNote", Label: "Send to the customer", Type: nodes.TypeBoolean, Expression: true, Default: false,
					Description: "A customer note is e-mailed to the customer; a private one is seen by staff only."},
					In: connector.InBody, Key: "/customer_note"}},
			Docs: "`POST /orders/{id}/notes`. WooCommerce takes no idempotency key: a retry after a lost answer may add the " +
				"note twice."},
		connector.Operation{Type: "woocommerce.customer.get", Name: "WooCommerce: get customer", Category: nodes.CategoryShops,
			Description: "Reads one customer by id.",
			Method:      http.MethodGet, Path: "/customers/{id}", OutputLabel: "Customer",
			Params: []connector.Param{idParam("customer", "Customer", "customer", "{{ trigger.body.customer.id }}")},
			Docs:   "Outputs the customer (`id`, `email`, `first_name`, `last_name`, `billing`, `shipping`…). An unknown id fails with `woocommerce_not_found`."},
		connector.Operation{Type: "woocommerce.customers.search", Name: "WooCommerce: search customers", Category: nodes.CategoryShops,
			Description: "Lists the customers a search matches.",
			Method:      http.MethodGet, Path: "/customers", OutputLabel: "Customers",
			Params: []connector.Param{search,
				{Field: nodes.Field{Name: "role", Label: "Role", Type: nodes.TypeSelect, Default: "all", Advanced: true,
					Description: "WooCommerce lists only users with the customer role unless asked for all.",
					Options:     []nodes.Option{{Value: "all", Label: "Every user"}, {Value: "customer", Label: "Customers only"}}},
					In: connector.InQuery, Key: "role"}},
			Pagination: &connector.Pagination{Style: connector.PageNumber, PageKey: "page", SizeKey: "per_page", Size: 20, MaxSize: 100,
				TotalPages: "X-WP-TotalPages"}},
		connector.Operation{Type: "woocommerce.customer.upsert", Name: "WooCommerce: create or update customer", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Updates the customer with an e-mail address, or creates one.",
			Method:      http.MethodPost, Path: "/customers", OutputLabel: "Customer",
			Params: []connector.Param{email,
				text("firstName", "First name", "", connector.InBody, "/first_name"),
				text("lastName", "Last name", "", connector.InBody, "/last_name"),
				text("phone", "Phone", "The billing phone.", connector.InBody, "/billing/phone"),
				text("company", "Company", "The billing company.", connector.InBody, "/billing/company")},
			Route: routeCustomerUpsert,
			Docs: "Two requests: `GET /customers?email=…&role=all` first, then `PUT /customers/{id}` for the customer found or " +
				"`POST /customers` when there is none. Fields left empty are not changed. A test run shows the create request " +
				"and looks nothing up. Two steps racing for one new address may both create: WooCommerce refuses the second " +
				"(`registration-error-email-exists`, `woocommerce_invalid_request`), and its retry updates."},
	)
}
