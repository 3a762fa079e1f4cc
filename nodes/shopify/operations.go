package shopify

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// The GraphQL documents Ferry sends, each checked against the Admin API schema of APIVersion by the tests.

// orderFields is what every order read asks for: enough for the normalised shop event (OrderEvent). Line items
// are bounded at 25 per order so a page of 30 orders stays under Shopify's 1,000-point cost limit for a query.
const orderFields = `fragment FerryOrder on Order {
  id legacyResourceId name createdAt updatedAt processedAt cancelledAt cancelReason closedAt
  displayFinancialStatus displayFulfillmentStatus email phone note tags currencyCode
  totalPriceSet { shopMoney { amount currencyCode } }
  totalShippingPriceSet { shopMoney { amount currencyCode } }
  totalDiscountsSet { shopMoney { amount currencyCode } }
  customer { id displayName firstName lastName defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber } }
  lineItems(first: 25) { nodes { sku name quantity originalUnitPriceSet { shopMoney { amount currencyCode } } } }
}`

// customerFields is what customer reads and writes answer with.
const customerFields = `fragment FerryCustomer on Customer {
  id legacyResourceId displayName firstName lastName note tags createdAt updatedAt numberOfOrders
  defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber }
}`

const (
	shopQuery = `query FerryShop { shop { name myshopifyDomain } }`

	orderGetQuery = `query FerryOrderGet($id: ID!) { order(id: $id) { ...FerryOrder } }
` + orderFields

	orderByNameQuery = `query FerryOrderByName($query: String!) { orders(first: 1, query: $query) { nodes { ...FerryOrder } } }
` + orderFields

	// OrdersChangedQuery lists the orders updated at or after a time, oldest change first, page by page: the
	// query variable holds an updated_at filter (ChangedSinceFilter), and the id sorts orders changed in the
	// same second (Shopify orders ties by id). The polling trigger and the shopify.orders.changed node send it.
	OrdersChangedQuery = `query FerryOrdersChanged($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { ...FerryOrder }
    pageInfo { hasNextPage endCursor }
  }
}
` + orderFields

	orderUpdateMutation = `mutation FerryOrderUpdate($input: OrderInput!) {
  orderUpdate(input: $input) { order { ...FerryOrder } userErrors { field message } }
}
` + orderFields

	tagsAddMutation = `mutation FerryTagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id ... on Order { name tags } } userErrors { field message } }
}`

	tagsRemoveMutation = `mutation FerryTagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { node { id ... on Order { name tags } } userErrors { field message } }
}`

	metafieldSetMutation = `mutation FerryMetafieldSet($ownerId: ID!, $namespace: String!, $key: String!, $type: String!, $value: String!) {
  metafieldsSet(metafields: [{ownerId: $ownerId, namespace: $namespace, key: $key, type: $type, value: $value}]) {
    metafields { id namespace key type value updatedAt }
    userErrors { field message code elementIndex }
  }
}`

	// fulfillmentOrdersQuery looks up what of an order can be fulfilled, and from where, before fulfillmentCreate.
	fulfillmentOrdersQuery = `query FerryFulfillmentOrders($id: ID!) {
  order(id: $id) { id name fulfillmentOrders(first: 50) { nodes { id status assignedLocation { name location { id } } } } }
}`

	// locationsQuery lists the store's active locations, the choices of the fulfilment's location field.
	locationsQuery = `query FerryLocations { locations(first: 250, sortKey: NAME) { nodes { id name } } }`

	fulfillmentCreateMutation = `mutation FerryFulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment { id name status createdAt trackingInfo { company number url } }
    userErrors { field message }
  }
}`

	orderCancelMutation = `mutation FerryOrderCancel($orderId: ID!, $reason: OrderCancelReason!, $refundMethod: OrderCancelRefundMethodInput!, $restock: Boolean!, $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refundMethod: $refundMethod, restock: $restock, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}`

	customerSearchQuery = `query FerryCustomers($first: Int!, $after: String, $query: String!) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { ...FerryCustomer }
    pageInfo { hasNextPage endCursor }
  }
}
` + customerFields

	customerUpsertMutation = `mutation FerryCustomerUpsert($email: String!, $firstName: String, $lastName: String, $phone: String, $note: String, $tags: [String!]) {
  customerSet(identifier: {email: $email}, input: {email: $email, firstName: $firstName, lastName: $lastName, phone: $phone, note: $note, tags: $tags}) {
    customer { ...FerryCustomer }
    userErrors { field message code }
  }
}
` + customerFields
)

// Documents lists every GraphQL document the connector sends, by name, for the schema tests.
func Documents() map[string]string {
	return map[string]string{
		"shop": shopQuery, "orderGet": orderGetQuery, "orderByName": orderByNameQuery, "ordersChanged": OrdersChangedQuery,
		"orderUpdate": orderUpdateMutation, "tagsAdd": tagsAddMutation, "tagsRemove": tagsRemoveMutation,
		"metafieldSet": metafieldSetMutation, "fulfillmentOrders": fulfillmentOrdersQuery,
		"fulfillmentCreate": fulfillmentCreateMutation, "orderCancel": orderCancelMutation, "locations": locationsQuery,
		"customerSearch": customerSearchQuery, "customerUpsert": customerUpsertMutation,
	}
}

// GlobalID turns what a person gives for a Shopify record into its GraphQL global id: the id itself
// ("gid://shopify/Order/450789469") or the number the admin shows in its address bar (450789469).
func GlobalID(kind, v string) (string, error) {
	s := strings.TrimSpace(v)
	if strings.HasPrefix(s, "gid://shopify/") {
		return s, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil && n > 0 {
		return fmt.Sprintf("gid://shopify/%s/%d", kind, n), nil
	}
	return "", fmt.Errorf("%q is not a Shopify %s id (gid://shopify/%s/… or its number)", v, strings.ToLower(kind), kind)
}

func globalID(kind string) func(any) (any, error) {
	return func(v any) (any, error) { return GlobalID(kind, fmt.Sprint(v)) }
}

// ChangedSinceFilter is the orders search filter for changes at or after since ("updated_at:>='…'"): at, not
// after, so an order changed in the same second as the last one seen is not lost; the caller drops what it has
// seen by id (the tie-breaker).
func ChangedSinceFilter(since time.Time) string {
	return "updated_at:>='" + since.UTC().Format(time.RFC3339) + "'"
}

// parseSince reads the since parameter: an RFC 3339 time or a date.
func parseSince(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return ChangedSinceFilter(t), nil
		}
	}
	return nil, fmt.Errorf("%q is not a time (2026-11-20T08:00:00Z) or a date (2026-11-20)", s)
}

// nameFilter is the orders search filter for an order's name ("#1001").
func nameFilter(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if s == "" || strings.ContainsAny(s, `"\`) {
		return nil, fmt.Errorf("%q is not an order name such as #1001", s)
	}
	return `name:"` + s + `"`, nil
}

func text(name, label, desc string, in connector.In, key string) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Expression: true, Description: desc}, In: in, Key: key}
}

func orderParam(key string) connector.Param {
	p := text("order", "Order", "The order's global id (gid://shopify/Order/…) or the number in its admin address, e.g. {{ trigger.body.orderId }}.",
		connector.InVariable, key)
	p.Required = true
	p.Examples = []nodes.Example{{Name: "From the Shopify trigger", Value: "{{ trigger.body.orderId }}"}}
	p.Transform = globalID("Order")
	return p
}

func boolean(name, label, desc string, def bool, key string) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeBoolean, Expression: true, Default: def, Description: desc},
		In: connector.InVariable, Key: key}
}

func tagsParam() connector.Param {
	p := connector.Param{Field: nodes.Field{Name: "tags", Label: "Tags", Type: nodes.TypeString, Expression: true, Required: true,
		Description: "Tags separated by commas, or an expression giving a list.",
		Examples:    []nodes.Example{{Name: "Two tags", Value: "paid, crm-synced"}}}, In: connector.InVariable, As: connector.AsList}
	return p
}

// assignedLocationID is where a fulfilment order names the location it ships from; null when the location was
// deleted since.
var assignedLocationID = connector.MustPointer("/assignedLocation/location/id")

// fulfillable are the fulfilment order statuses fulfillmentCreate accepts.
var fulfillable = map[string]bool{"OPEN": true, "IN_PROGRESS": true}

// prepareFulfillment looks up the order's open fulfilment orders and fulfils all of them, or those assigned to
// the location param when it is set: neither the order nor the location is part of fulfillmentCreate, which
// names fulfilment orders instead.
func prepareFulfillment(ctx context.Context, lookup connector.Lookup, vars map[string]any) (map[string]any, error) {
	order, _ := vars["order"].(string)
	location, _ := vars["location"].(string)
	delete(vars, "order")
	delete(vars, "location")
	a, err := lookup(ctx, fulfillmentOrdersQuery, map[string]any{"id": order})
	if err != nil {
		return nil, err
	}
	if a.Get("/data/order") == nil {
		return nil, nodes.WithDetails(nodes.NewPermanent("shopify_not_found", fmt.Errorf("shopify: no order %s", order)), map[string]any{"body": a.JSON})
	}
	list, _ := a.Get("/data/order/fulfillmentOrders/nodes").([]any)
	var items []any
	elsewhere := 0
	for _, fo := range list {
		m, _ := fo.(map[string]any)
		if status, _ := m["status"].(string); !fulfillable[status] {
			continue
		}
		if at, _ := assignedLocationID.Get(m); location != "" && at != location {
			elsewhere++
			continue
		}
		items = append(items, map[string]any{"fulfillmentOrderId": m["id"]})
	}
	if len(items) == 0 && elsewhere > 0 {
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeNothingToFulfil,
			fmt.Errorf("shopify: order %v has nothing open at location %s (%d fulfillment order(s) open elsewhere)", a.Get("/data/order/name"), location, elsewhere)),
			map[string]any{"body": a.JSON})
	}
	if len(items) == 0 {
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeNothingToFulfil,
			fmt.Errorf("shopify: order %v has no open fulfillment order (already fulfilled, cancelled or on hold)", a.Get("/data/order/name"))),
			map[string]any{"body": a.JSON})
	}
	f, _ := vars["fulfillment"].(map[string]any)
	if f == nil {
		f = map[string]any{}
	}
	f["lineItemsByFulfillmentOrder"] = items
	vars["fulfillment"] = f
	return vars, nil
}

func init() {
	name := text("name", "Order name", "The order's name as the admin shows it, with its prefix.", connector.InVariable, "/query")
	name.Required, name.Transform = true, nameFilter
	name.Examples = []nodes.Example{{Name: "Order #1001", Value: "#1001"}}
	since := text("since", "Changed since", "Orders updated at or after this time (RFC 3339, or a date).", connector.InVariable, "/query")
	since.Required, since.Transform = true, parseSince
	since.Examples = []nodes.Example{{Name: "A fixed date", Value: "2026-11-01"}, {Name: "The last sync (a flow variable)", Value: "{{ vars.lastSync }}"}}
	owner := text("owner", "Owner", "The global id of the record the metafield belongs to (gid://shopify/Order/…, gid://shopify/Customer/…); a number alone is taken as an order.",
		connector.InVariable, "/ownerId")
	owner.Required, owner.Transform = true, globalID("Order")
	required := func(p connector.Param) connector.Param { p.Required = true; return p }
	search := text("query", "Search", "Shopify's customer search syntax: email:ada@example.com, phone:+4930…, tag:vip, updated_at:>2026-11-01.", connector.InVariable, "/query")
	search.Required = true
	search.Examples = []nodes.Example{{Name: "By e-mail", Value: "email:{{ trigger.body.customer.email }}"}}
	email := text("email", "E-mail", "Identifies the customer: Shopify updates the customer with this e-mail address, or creates one.", connector.InVariable, "/email")
	email.Required = true
	email.Examples = []nodes.Example{{Name: "From the CRM", Value: "{{ lower(prev.email) }}"}}
	location := connector.Param{Field: nodes.Field{Name: "location", Label: "Location", Type: nodes.TypeSelect, Expression: true,
		Description: "Fulfil only what ships from this location (the fulfilment orders Shopify assigned to it); empty fulfils " +
			"everything open. The choices are the store's active locations, listed with the credential (scope read_locations).",
		Examples: []nodes.Example{{Name: "From a flow variable", Value: "{{ vars.warehouseLocation }}"}}},
		In: connector.InVariable, Transform: globalID("Location"),
		Options: &connector.OptionSource{Path: graphQLPath, GraphQL: locationsQuery, Items: "/data/locations/nodes", Value: "/id", Label: "/name"}}
	reason := connector.Param{Field: nodes.Field{Name: "reason", Label: "Reason", Type: nodes.TypeSelect, Expression: true, Default: "OTHER", Required: true,
		Description: "Why the order is cancelled, as Shopify records it.",
		Options: []nodes.Option{{Value: "CUSTOMER", Label: "The customer changed or cancelled the order"},
			{Value: "DECLINED", Label: "Payment was declined"}, {Value: "FRAUD", Label: "The order was fraudulent"},
			{Value: "INVENTORY", Label: "Items were unavailable"}, {Value: "STAFF", Label: "Staff error"}, {Value: "OTHER", Label: "Another reason"}}},
		In: connector.InVariable}

	provider.MustRegister(
		connector.Operation{Type: "shopify.order.get", Name: "Shopify: get order", Category: nodes.CategoryShops,
			Description: "Reads one order by its id: status, customer, items and amounts.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: orderGetQuery, Result: "/data/order", RequireResult: true,
			Params: []connector.Param{orderParam("/id")}, OutputLabel: "Order",
			Docs: "Outputs the order as the Admin API gives it (`id`, `name`, `displayFinancialStatus`, `displayFulfillmentStatus`, " +
				"`totalPriceSet.shopMoney`, `customer`, `lineItems.nodes`…). An unknown id fails with `shopify_not_found`."},
		connector.Operation{Type: "shopify.order.find", Name: "Shopify: find order by name", Category: nodes.CategoryShops,
			Description: "Reads the order with a name such as #1001.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: orderByNameQuery, Result: "/data/orders/nodes/0", RequireResult: true,
			Params: []connector.Param{name}, OutputLabel: "Order",
			Docs: "Searches the orders for the name (`name:\"#1001\"`) and outputs the first match, with the same fields as " +
				"*Shopify: get order*. No match fails with `shopify_not_found`. Shopify's search index lags writes by a few " +
				"seconds: read a just-created order by its id."},
		connector.Operation{Type: "shopify.orders.changed", Name: "Shopify: orders changed since", Category: nodes.CategoryShops,
			Description: "Lists the orders updated at or after a time, oldest change first.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: OrdersChangedQuery, Params: []connector.Param{since}, OutputLabel: "Orders",
			Pagination: &connector.Pagination{Style: connector.PageGraphQL, Items: "/data/orders/nodes",
				HasNext: "/data/orders/pageInfo/hasNextPage", EndCursor: "/data/orders/pageInfo/endCursor",
				CursorKey: "after", SizeKey: "first", Size: 20, MaxSize: 30},
			Docs: "Sorted by `UPDATED_AT` (orders changed in the same second by id) with the filter `updated_at:>='since'`, " +
				"so an order changed in the very second given is included: keep the last order's `updatedAt` and `id` to " +
				"continue. Each order carries at most 25 line items, which keeps a page of 30 under Shopify's query cost limit."},
		connector.Operation{Type: "shopify.order.update", Name: "Shopify: update order", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Changes an order's note or contact e-mail.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: orderUpdateMutation, Result: "/data/orderUpdate/order", OutputLabel: "Order",
			Params: []connector.Param{orderParam("/input/id"),
				text("note", "Note", "Replaces the order's note; empty leaves it.", connector.InVariable, "/input/note"),
				text("email", "E-mail", "Replaces the order's contact e-mail; empty leaves it.", connector.InVariable, "/input/email")},
			Docs: "`orderUpdate`: only the fields given change. Add or remove tags with the tag nodes, which leave the others alone."},
		connector.Operation{Type: "shopify.order.tags.add", Name: "Shopify: add order tags", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Adds tags to an order, keeping the ones it has.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: tagsAddMutation, Result: "/data/tagsAdd/node", OutputLabel: "Order",
			Params: []connector.Param{orderParam("/id"), tagsParam()},
			Docs:   "`tagsAdd`: adding a tag the order has changes nothing, so a retried step is harmless."},
		connector.Operation{Type: "shopify.order.tags.remove", Name: "Shopify: remove order tags", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Removes tags from an order, keeping the others.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: tagsRemoveMutation, Result: "/data/tagsRemove/node", OutputLabel: "Order",
			Params: []connector.Param{orderParam("/id"), tagsParam()},
			Docs:   "`tagsRemove`: removing a tag the order does not have changes nothing."},
		connector.Operation{Type: "shopify.metafield.set", Name: "Shopify: set metafield", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Sets one metafield on an order, a customer or another record.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: metafieldSetMutation, Result: "/data/metafieldsSet/metafields/0", OutputLabel: "Metafield",
			Params: []connector.Param{owner,
				required(text("namespace", "Namespace", "The metafield's namespace, e.g. custom or your app's.", connector.InVariable, "/namespace")),
				required(text("key", "Key", "The metafield's key within the namespace.", connector.InVariable, "/key")),
				{Field: nodes.Field{Name: "type", Label: "Type", Type: nodes.TypeSelect, Expression: true, Default: "single_line_text_field", Required: true,
					Description: "The metafield's Shopify type; it must match the metafield's definition when there is one.",
					Options: []nodes.Option{{Value: "single_line_text_field", Label: "Text (one line)"}, {Value: "multi_line_text_field", Label: "Text (several lines)"},
						{Value: "number_integer", Label: "Whole number"}, {Value: "number_decimal", Label: "Decimal number"}, {Value: "boolean", Label: "True or false"},
						{Value: "date", Label: "Date"}, {Value: "date_time", Label: "Date and time"}, {Value: "json", Label: "JSON"}, {Value: "url", Label: "URL"}}},
					In: connector.InVariable},
				required(text("value", "Value", "The value as text, as Shopify stores every metafield (a number as 42, JSON as its text).", connector.InVariable, "/value"))},
			Docs: "`metafieldsSet` with one metafield: it is created or overwritten, so a retried step sets the same value."},
		connector.Operation{Type: "shopify.fulfillment.create", Name: "Shopify: fulfil order", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Marks everything still open in an order as fulfilled, with tracking.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: fulfillmentCreateMutation, Result: "/data/fulfillmentCreate/fulfillment", OutputLabel: "Fulfillment",
			Params: []connector.Param{orderParam("/order"), location,
				boolean("notifyCustomer", "Notify the customer", "Shopify sends the shipping confirmation.", false, "/fulfillment/notifyCustomer"),
				text("trackingCompany", "Carrier", "The carrier's name as Shopify knows it (DHL Express, UPS, SF Express…).", connector.InVariable, "/fulfillment/trackingInfo/company"),
				text("trackingNumber", "Tracking number", "", connector.InVariable, "/fulfillment/trackingInfo/number"),
				text("trackingUrl", "Tracking URL", "Shopify builds it from carrier and number when empty.", connector.InVariable, "/fulfillment/trackingInfo/url")},
			Prepare: prepareFulfillment,
			Docs: "Two requests: the order's fulfilment orders are read first (`order.fulfillmentOrders`), then `fulfillmentCreate` " +
				"fulfils every one that is `OPEN` or `IN_PROGRESS`, whole, or only those assigned to the location chosen " +
				"(its choices come from the store's `locations`). An order with nothing open fails with `" + CodeNothingToFulfil +
				"`, so a retry after a success does not fulfil twice. A test run shows the mutation without the fulfilment orders, " +
				"which are looked up only when the step runs."},
		connector.Operation{Type: "shopify.order.cancel", Name: "Shopify: cancel order", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Cancels an order, refunding and restocking as chosen.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: orderCancelMutation, Result: "/data/orderCancel/job", OutputLabel: "Job",
			Params: []connector.Param{orderParam("/orderId"), reason,
				boolean("refund", "Refund to the original payment", "Refund what was paid to the payment methods used.", true, "/refundMethod/originalPaymentMethodsRefund"),
				boolean("restock", "Restock", "Put the items back in stock.", true, "/restock"),
				boolean("notifyCustomer", "Notify the customer", "", false, "/notifyCustomer"),
				text("staffNote", "Staff note", "Seen by staff only.", connector.InVariable, "/staffNote")},
			Docs: "`orderCancel` runs as a job at Shopify; the output is the job (`id`, `done`). Cancelling an order that is " +
				"already cancelled fails with `" + CodeUserError + "` and Shopify's message."},
		connector.Operation{Type: "shopify.customers.search", Name: "Shopify: search customers", Category: nodes.CategoryShops,
			Description: "Lists the customers a search matches.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: customerSearchQuery, Params: []connector.Param{search}, OutputLabel: "Customers",
			Pagination: &connector.Pagination{Style: connector.PageGraphQL, Items: "/data/customers/nodes",
				HasNext: "/data/customers/pageInfo/hasNextPage", EndCursor: "/data/customers/pageInfo/endCursor",
				CursorKey: "after", SizeKey: "first", Size: 50, MaxSize: 250}},
		connector.Operation{Type: "shopify.customer.upsert", Name: "Shopify: create or update customer", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Updates the customer with an e-mail address, or creates one.",
			Method:      http.MethodPost, Path: graphQLPath, GraphQL: customerUpsertMutation, Result: "/data/customerSet/customer", OutputLabel: "Customer",
			Params: []connector.Param{email,
				text("firstName", "First name", "", connector.InVariable, "/firstName"),
				text("lastName", "Last name", "", connector.InVariable, "/lastName"),
				text("phone", "Phone", "E.164 (+8613800138000); unique among the store's customers. Map it with phone().", connector.InVariable, "/phone"),
				text("note", "Note", "", connector.InVariable, "/note"),
				{Field: nodes.Field{Name: "tags", Label: "Tags", Type: nodes.TypeString, Expression: true,
					Description: "Replaces the customer's tags when given; empty leaves them."}, In: connector.InVariable, As: connector.AsList}},
			Docs: "`customerSet` with the e-mail as identifier: one request that updates the customer with that address or creates " +
				"it, so a retried step never makes a second customer. Fields left empty are not changed."},
	)
}
