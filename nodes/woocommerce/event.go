package woocommerce

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes/payment"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// Status maps a WooCommerce order status (with or without the wc- prefix) to the normalised shop status.
// WooCommerce's "processing" is "payment received, awaiting fulfilment", so it is paid; "completed" is
// fulfilled; a status a plugin added is other, with providerStatus naming it.
func Status(s string) string {
	switch strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "wc-") {
	case "pending", "checkout-draft", "draft", "auto-draft":
		return shop.StatusPending
	case "processing":
		return shop.StatusPaid
	case "on-hold":
		return shop.StatusOnHold
	case "completed":
		return shop.StatusFulfilled
	case "cancelled", "trash":
		return shop.StatusCancelled
	case "refunded":
		return shop.StatusRefunded
	case "failed":
		return shop.StatusFailed
	}
	return shop.StatusOther
}

// TypeFor is what happened to an order, from the status it has now: pending → created, processing → paid,
// completed → fulfilled, cancelled → cancelled, refunded → refunded; on hold, failed and a store's own
// statuses → updated. WooCommerce's webhooks say only created, updated or deleted, so the status is what tells
// a payment from an address change. created is the order.created topic, or a polled order never changed since
// it was placed; a pending order that changed is updated.
func TypeFor(status string, created bool) string {
	if created {
		return shop.EventCreated
	}
	switch Status(status) {
	case shop.StatusPaid:
		return shop.EventPaid
	case shop.StatusFulfilled:
		return shop.EventFulfilled
	case shop.StatusCancelled:
		return shop.EventCancelled
	case shop.StatusRefunded:
		return shop.EventRefunded
	}
	return shop.EventUpdated
}

// OrderEvent normalises an order as the REST API v3 gives it (webhook payloads are the same representation).
// topic is the webhook topic ("order.updated") or empty for a polled change; eventID becomes the event id.
// Amounts come exactly from WooCommerce's decimal texts in the order's currency; a line's unit price is its
// subtotal (before coupons, without tax) divided by its quantity, rounded half away from zero to the currency's
// minor unit when it does not divide evenly (WooCommerce's own "price" is a float and is not read).
func OrderEvent(topic, eventID string, order map[string]any) (shop.Event, error) {
	id := str(order["id"])
	if id == "" || id == "0" {
		return shop.Event{}, errors.New("woocommerce: the order has no id")
	}
	currency := strings.ToUpper(str(order["currency"]))
	status := str(order["status"])
	created := topic == "order.created"
	if topic == "" {
		c, m := gmt(order["date_created_gmt"]), gmt(order["date_modified_gmt"])
		created = c != "" && c == m
	}
	e := shop.Event{Provider: Provider, Type: TypeFor(status, created), Topic: topic, EventID: eventID,
		OrderID: id, OrderNumber: firstNonEmpty(str(order["number"]), id), Status: Status(status), ProviderStatus: status,
		Time: gmt(order["date_modified_gmt"]), Raw: order, Items: []shop.Item{}}
	var err error
	for _, m := range []struct {
		dst *shop.Amount
		key string
	}{{&e.Total, "total"}, {&e.Shipping, "shipping_total"}, {&e.Discount, "discount_total"}} {
		if *m.dst, err = amount(order, m.key, currency); err != nil {
			return shop.Event{}, err
		}
	}
	billing, _ := order["billing"].(map[string]any)
	e.Customer = shop.Customer{Email: str(billing["email"]), Phone: str(billing["phone"]),
		Name: strings.TrimSpace(str(billing["first_name"]) + " " + str(billing["last_name"]))}
	if cid := str(order["customer_id"]); cid != "" && cid != "0" {
		e.Customer.ID = cid // 0 is a guest checkout: no customer record
	}
	items, _ := order["line_items"].([]any)
	for i, raw := range items {
		li, _ := raw.(map[string]any)
		qty, _ := integer(li["quantity"])
		sub, err := amount(li, "subtotal", currency)
		if err != nil {
			return shop.Event{}, fmt.Errorf("line %d: %w", i+1, err)
		}
		unit := sub
		if qty > 1 {
			unit = payment.FromMinor(divRound(sub.Minor, qty), currency)
		}
		e.Items = append(e.Items, shop.Item{SKU: str(li["sku"]), Name: str(li["name"]), Quantity: qty, UnitPrice: unit})
	}
	return e, nil
}

// DeletedPayload is the output of an order.deleted webhook: WooCommerce sends only the order's id ({"id": 727}).
func DeletedPayload(topic, eventID string, body map[string]any) map[string]any {
	return map[string]any{"provider": Provider, "type": "deleted", "topic": topic, "eventId": eventID,
		"orderId": str(body["id"]), "raw": body}
}

// CustomerPayload is the output of a customer.* webhook: who, in the shape of the shop event's customer.
func CustomerPayload(topic, eventID string, c map[string]any) map[string]any {
	billing, _ := c["billing"].(map[string]any)
	name := strings.TrimSpace(str(c["first_name"]) + " " + str(c["last_name"]))
	if name == "" {
		name = strings.TrimSpace(str(billing["first_name"]) + " " + str(billing["last_name"]))
	}
	return map[string]any{"provider": Provider, "type": "customer", "topic": topic, "eventId": eventID,
		"customer": map[string]any{"id": str(c["id"]), "email": firstNonEmpty(str(c["email"]), str(billing["email"])),
			"phone": str(billing["phone"]), "name": name},
		"time": gmt(c["date_modified_gmt"]), "raw": c}
}

// amount reads the decimal text at key as an exact amount of currency. WooCommerce writes amounts with the
// store's price decimals, which may be more than the currency has ("12.500" with three decimals set for EUR):
// zeros beyond the currency's are dropped, any other digit there is refused rather than rounded.
func amount(m map[string]any, key, currency string) (shop.Amount, error) {
	s := strings.TrimSpace(str(m[key]))
	a, err := shop.FromDecimal(s, currency)
	if err == nil {
		return a, nil
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		trimmed := strings.TrimRight(s, "0")
		trimmed = strings.TrimSuffix(trimmed, ".")
		if trimmed != s {
			if a, err2 := shop.FromDecimal(trimmed, currency); err2 == nil {
				return a, nil
			}
		}
	}
	return shop.Amount{}, fmt.Errorf("woocommerce: %s: %w", key, err)
}

// divRound divides minor units by n, rounding half away from zero.
func divRound(minor, n int64) int64 {
	q, r := minor/n, minor%n
	if r < 0 {
		r = -r
	}
	if 2*r >= n {
		if minor < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

// gmt writes a WooCommerce GMT time ("2026-11-20T10:02:03", no zone) in RFC 3339, or "" when there is none.
func gmt(v any) string {
	s := str(v)
	if t, ok := parseGMT(s); ok {
		return t.Format(time.RFC3339)
	}
	return s
}

func parseGMT(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// str writes a JSON scalar as text: ids arrive as numbers, amounts as text.
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

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
