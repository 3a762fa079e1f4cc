package shopify

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes/payment"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// Status maps a Shopify order's financial status, fulfilment status and cancellation to the normalised shop
// status. It takes the REST names webhooks use (paid, partially_refunded; fulfilled, partial) and the GraphQL
// enum values (PAID; FULFILLED, PARTIALLY_FULFILLED) alike. Cancellation wins, then a full refund, then what
// happened to the goods, then to the money.
func Status(financial, fulfillment string, cancelled bool) string {
	fin, ful := financialName(financial), fulfillmentName(fulfillment)
	switch {
	case cancelled, fin == "voided":
		return shop.StatusCancelled
	case fin == "refunded":
		return shop.StatusRefunded
	case fin == "expired":
		return shop.StatusFailed
	case ful == "fulfilled":
		return shop.StatusFulfilled
	case ful == "on_hold":
		return shop.StatusOnHold
	}
	switch fin {
	case "paid", "partially_refunded":
		if ful == "partial" || ful == "in_progress" {
			return shop.StatusProcessing
		}
		return shop.StatusPaid
	case "pending", "authorized", "partially_paid", "":
		return shop.StatusPending
	}
	return shop.StatusOther
}

// financialName is a financial status by its REST name.
func financialName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// fulfillmentName is a fulfilment status by its REST name (null, an empty text and UNFULFILLED are
// "unfulfilled"; PARTIALLY_FULFILLED is "partial").
func fulfillmentName(s string) string {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "", "null", "unfulfilled":
		return "unfulfilled"
	case "partially_fulfilled":
		return "partial"
	default:
		return v
	}
}

// providerStatus is the shop's own status as the event shows it: "paid/unfulfilled", "cancelled" and so on.
func providerStatus(financial, fulfillment string, cancelled bool) string {
	if cancelled {
		return "cancelled"
	}
	fin := financialName(financial)
	if fin == "" {
		fin = "pending"
	}
	return fin + "/" + fulfillmentName(fulfillment)
}

// topicTypes maps Shopify's order webhook topics to the event types.
var topicTypes = map[string]string{
	"orders/create": shop.EventCreated, "orders/paid": shop.EventPaid, "orders/updated": shop.EventUpdated,
	"orders/cancelled": shop.EventCancelled, "orders/fulfilled": shop.EventFulfilled,
	"orders/partially_fulfilled": shop.EventUpdated, "orders/edited": shop.EventUpdated,
}

// WebhookOrderEvent normalises an order webhook: Shopify delivers webhook payloads in the REST resource shape of
// the subscription's API version, also to apps that use the GraphQL API, so the order here has financial_status,
// total_price and line_items, not the GraphQL fields. deliveryID becomes the event id (the dedup key).
func WebhookOrderEvent(topic, deliveryID string, order map[string]any) (shop.Event, error) {
	currency := str(order["currency"])
	money := func(path ...string) (shop.Amount, error) {
		return amountAt(order, currency, path...)
	}
	cancelled := order["cancelled_at"] != nil && str(order["cancelled_at"]) != ""
	financial, fulfillment := str(order["financial_status"]), str(order["fulfillment_status"])
	e := shop.Event{Provider: Provider, Topic: topic, EventID: deliveryID,
		OrderID: firstNonEmpty(str(order["admin_graphql_api_id"]), gidOf("Order", order["id"])), OrderNumber: str(order["name"]),
		Status: Status(financial, fulfillment, cancelled), ProviderStatus: providerStatus(financial, fulfillment, cancelled),
		Time: rfc3339(str(order["updated_at"])), Raw: order, Items: []shop.Item{}}
	e.Type = topicTypes[topic]
	if e.Type == "" {
		e.Type = shop.EventUpdated
	}
	if e.OrderNumber == "" && order["order_number"] != nil {
		e.OrderNumber = "#" + str(order["order_number"])
	}
	var err error
	if e.Total, err = money("total_price"); err != nil {
		return shop.Event{}, err
	}
	if e.Shipping, err = money("total_shipping_price_set", "shop_money", "amount"); err != nil {
		return shop.Event{}, err
	}
	if e.Discount, err = money("total_discounts"); err != nil {
		return shop.Event{}, err
	}
	if c, ok := order["customer"].(map[string]any); ok {
		e.Customer = shop.Customer{ID: firstNonEmpty(str(c["admin_graphql_api_id"]), gidOf("Customer", c["id"])),
			Email: str(c["email"]), Phone: str(c["phone"]), Name: strings.TrimSpace(str(c["first_name"]) + " " + str(c["last_name"]))}
	}
	if e.Customer.Email == "" {
		e.Customer.Email = firstNonEmpty(str(order["email"]), str(order["contact_email"]))
	}
	if e.Customer.Phone == "" {
		e.Customer.Phone = str(order["phone"])
	}
	items, _ := order["line_items"].([]any)
	for _, raw := range items {
		li, _ := raw.(map[string]any)
		price, err := amountAt(li, currency, "price")
		if err != nil {
			return shop.Event{}, err
		}
		qty, _ := integer(li["quantity"])
		e.Items = append(e.Items, shop.Item{SKU: str(li["sku"]), Name: firstNonEmpty(str(li["name"]), str(li["title"])), Quantity: qty, UnitPrice: price})
	}
	return e, nil
}

// OrderEvent normalises an order as the Admin API's GraphQL gives it (the FerryOrder fields that
// OrdersChangedQuery and the order nodes read), for a polled change: the event id is the order id with its
// update time, so an order seen twice unchanged makes one run and every change makes its own.
func OrderEvent(node map[string]any) (shop.Event, error) {
	id, updated := str(node["id"]), str(node["updatedAt"])
	if id == "" || updated == "" {
		return shop.Event{}, errors.New("shopify: the order has no id or updatedAt")
	}
	currency := str(node["currencyCode"])
	cancelled := str(node["cancelledAt"]) != ""
	financial, fulfillment := str(node["displayFinancialStatus"]), str(node["displayFulfillmentStatus"])
	e := shop.Event{Provider: Provider, Type: shop.EventUpdated, EventID: id + "@" + rfc3339(updated),
		OrderID: id, OrderNumber: str(node["name"]), Status: Status(financial, fulfillment, cancelled),
		ProviderStatus: providerStatus(financial, fulfillment, cancelled), Time: rfc3339(updated), Raw: node, Items: []shop.Item{}}
	if str(node["createdAt"]) == updated {
		e.Type = shop.EventCreated
	}
	var err error
	for _, m := range []struct {
		dst  *shop.Amount
		path string
	}{{&e.Total, "totalPriceSet"}, {&e.Shipping, "totalShippingPriceSet"}, {&e.Discount, "totalDiscountsSet"}} {
		if *m.dst, err = amountAt(node, currency, m.path, "shopMoney", "amount"); err != nil {
			return shop.Event{}, err
		}
	}
	if c, ok := node["customer"].(map[string]any); ok {
		e.Customer = shop.Customer{ID: str(c["id"]), Email: str(dig(c, "defaultEmailAddress", "emailAddress")),
			Phone: str(dig(c, "defaultPhoneNumber", "phoneNumber")), Name: str(c["displayName"])}
	}
	if e.Customer.Email == "" {
		e.Customer.Email = str(node["email"])
	}
	if e.Customer.Phone == "" {
		e.Customer.Phone = str(node["phone"])
	}
	items, _ := dig(node, "lineItems", "nodes").([]any)
	for _, raw := range items {
		li, _ := raw.(map[string]any)
		price, err := amountAt(li, currency, "originalUnitPriceSet", "shopMoney", "amount")
		if err != nil {
			return shop.Event{}, err
		}
		qty, _ := integer(li["quantity"])
		e.Items = append(e.Items, shop.Item{SKU: str(li["sku"]), Name: str(li["name"]), Quantity: qty, UnitPrice: price})
	}
	return e, nil
}

// Watermark is where a reader of changed orders stopped: the last order's update time and its numeric id, the
// tie-breaker among orders changed in the same second.
type Watermark struct {
	UpdatedAt time.Time
	ID        uint64
}

// After reports whether an order (GraphQL fields updatedAt and legacyResourceId) comes after w in the order
// OrdersChangedQuery lists them, so a reader that asked for changes at w.UpdatedAt drops what it has seen.
func (w Watermark) After(node map[string]any) (bool, error) {
	mark, err := WatermarkOf(node)
	if err != nil {
		return false, err
	}
	if !mark.UpdatedAt.Equal(w.UpdatedAt) {
		return mark.UpdatedAt.After(w.UpdatedAt), nil
	}
	return mark.ID > w.ID, nil
}

// WatermarkOf is an order's own position in the list of changes.
func WatermarkOf(node map[string]any) (Watermark, error) {
	t, err := time.Parse(time.RFC3339, str(node["updatedAt"]))
	if err != nil {
		return Watermark{}, fmt.Errorf("shopify: the order's updatedAt %q is not a time", str(node["updatedAt"]))
	}
	id, err := strconv.ParseUint(str(node["legacyResourceId"]), 10, 64)
	if err != nil {
		return Watermark{}, fmt.Errorf("shopify: the order's legacyResourceId %q is not a number", str(node["legacyResourceId"]))
	}
	return Watermark{UpdatedAt: t.UTC(), ID: id}, nil
}

// ChangedSinceVariables are the variables of OrdersChangedQuery for a page of first orders changed at or after
// since, after the page cursor after (empty for the first page).
func ChangedSinceVariables(since time.Time, after string, first int) map[string]any {
	vars := map[string]any{"first": int64(first), "query": ChangedSinceFilter(since)}
	if after != "" {
		vars["after"] = after
	}
	return vars
}

// RefundPayload is the output of a refunds/create webhook: the refund as money, with the order it belongs to.
func RefundPayload(deliveryID string, refund map[string]any) (map[string]any, error) {
	currency := ""
	var sum int64
	txs, _ := refund["transactions"].([]any)
	for _, raw := range txs {
		tx, _ := raw.(map[string]any)
		if str(tx["kind"]) != "refund" || (tx["status"] != nil && str(tx["status"]) != "success") {
			continue
		}
		a, err := shop.FromDecimal(str(tx["amount"]), str(tx["currency"]))
		if err != nil {
			return nil, fmt.Errorf("shopify: refund transaction: %w", err)
		}
		if currency != "" && a.Currency != currency {
			return nil, fmt.Errorf("shopify: refund transactions in %s and %s", currency, a.Currency)
		}
		currency, sum = a.Currency, sum+a.Minor
	}
	var total shop.Amount
	if currency != "" {
		total = payment.FromMinor(sum, currency)
	}
	return map[string]any{
		"provider": Provider, "type": shop.EventRefunded, "topic": "refunds/create", "eventId": deliveryID,
		"refundId": firstNonEmpty(str(refund["admin_graphql_api_id"]), gidOf("Refund", refund["id"])),
		"orderId":  gidOf("Order", refund["order_id"]), "note": str(refund["note"]), "time": rfc3339(str(refund["created_at"])),
		"amount": map[string]any{"minor": total.Minor, "currency": total.Currency, "decimal": total.Decimal}, "raw": refund,
	}, nil
}

// CustomerPayload is the output of a customers/* webhook: who, in the shape of the shop event's customer.
func CustomerPayload(topic, deliveryID string, c map[string]any) map[string]any {
	return map[string]any{
		"provider": Provider, "type": "customer", "topic": topic, "eventId": deliveryID,
		"customer": map[string]any{"id": firstNonEmpty(str(c["admin_graphql_api_id"]), gidOf("Customer", c["id"])),
			"email": str(c["email"]), "phone": str(c["phone"]), "name": strings.TrimSpace(str(c["first_name"]) + " " + str(c["last_name"]))},
		"tags": str(c["tags"]), "time": rfc3339(str(c["updated_at"])), "raw": c,
	}
}

// amountAt reads a decimal text at path in m as an exact amount of currency (missing: zero).
func amountAt(m map[string]any, currency string, path ...string) (shop.Amount, error) {
	keys := make([]string, len(path))
	copy(keys, path)
	v := dig(m, keys...)
	a, err := shop.FromDecimal(str(v), currency)
	if err != nil {
		return shop.Amount{}, fmt.Errorf("shopify: %s: %w", strings.Join(path, "."), err)
	}
	return a, nil
}

func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// str writes a JSON scalar as text: ids arrive as numbers in webhooks, as text in GraphQL.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), x == float64(int64(x))
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func gidOf(kind string, id any) string {
	if s := str(id); s != "" {
		return "gid://shopify/" + kind + "/" + s
	}
	return ""
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// rfc3339 writes a Shopify time ("2026-11-20T10:02:03-05:00") in UTC, or leaves what does not parse.
func rfc3339(s string) string {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return s
}
