// Package shop holds what every shop connector shares: the normalised order event their triggers (webhooks and
// polling) output, so a flow written for one shop reads the same fields from another (D1, D16, D29), and the
// statuses orders are mapped to.
package shop

import (
	"fmt"
	"strings"

	"github.com/ferry-hq/ferry/nodes/payment"
)

// Event types, the same for every shop: what happened to the order.
const (
	EventCreated   = "created"   // the order was placed
	EventPaid      = "paid"      // the order was paid
	EventUpdated   = "updated"   // something else about the order changed
	EventFulfilled = "fulfilled" // the order was shipped or completed
	EventCancelled = "cancelled" // the order was cancelled
	EventRefunded  = "refunded"  // the order was refunded, in full or in part
)

// Statuses an order is normalised to, whatever the shop calls its own (providerStatus keeps that).
const (
	StatusPending    = "pending"    // placed, not paid
	StatusPaid       = "paid"       // paid, not shipped
	StatusProcessing = "processing" // being prepared
	StatusFulfilled  = "fulfilled"  // shipped or completed
	StatusCancelled  = "cancelled"  // cancelled before completion
	StatusRefunded   = "refunded"   // refunded in full
	StatusOnHold     = "on_hold"    // held by the shop (payment review, stock)
	StatusFailed     = "failed"     // payment failed
	StatusOther      = "other"      // a status the shop added itself; providerStatus has it
)

// Amount is money as integer minor units with its currency and decimal text, never a float (I7): the same shape
// as the payment event's amount.
type Amount = payment.Amount

// Event is the trigger output of every shop connector. Field names are the JSON keys flows read
// (trigger.body.orderNumber, trigger.body.total.minor…).
type Event struct {
	// Provider is "shopify", "woocommerce", "youzan"….
	Provider string `json:"provider"`
	// Type is one of the Event constants; Topic is the shop's own name for what happened ("orders/paid",
	// "order.updated", "trade_TradePaid").
	Type  string `json:"type"`
	Topic string `json:"topic,omitempty"`
	// EventID identifies this notification or change at the shop: a webhook's delivery id, or the order id with
	// its update time for a polled change. It is the run's dedup key (I3).
	EventID string `json:"eventId"`
	// OrderID is the shop's id of the order; OrderNumber is what the shop shows people ("#1001", a trade
	// number), the business key of the run.
	OrderID     string `json:"orderId"`
	OrderNumber string `json:"orderNumber"`
	// Status is one of the Status constants; ProviderStatus is the shop's own ("wc-processing", "WAIT_SELLER_SEND_GOODS").
	Status         string   `json:"status"`
	ProviderStatus string   `json:"providerStatus"`
	Customer       Customer `json:"customer"`
	Items          []Item   `json:"items"`
	// Total is what the customer pays; Shipping and Discount its parts, all in the order's currency.
	Total    Amount `json:"total"`
	Shipping Amount `json:"shipping"`
	Discount Amount `json:"discount"`
	// Time is when the shop says the order last changed, in RFC 3339.
	Time string `json:"time,omitempty"`
	// Raw is the shop's order as received, for anything not normalised here.
	Raw any `json:"raw"`
}

// Customer is who ordered.
type Customer struct {
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
	// Phone is as the shop gave it; map it with phone() to E.164.
	Phone string `json:"phone,omitempty"`
	Name  string `json:"name,omitempty"`
}

// Item is one line of the order.
type Item struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	UnitPrice Amount `json:"unitPrice"`
}

// FromDecimal builds an Amount from a shop's decimal text ("149.99") exactly, refusing more decimals than the
// currency has. An empty text is zero.
func FromDecimal(decimal, currency string) (Amount, error) {
	if strings.TrimSpace(decimal) == "" {
		decimal = "0"
	}
	a, err := payment.FromDecimal(strings.TrimSpace(decimal), currency)
	if err != nil {
		return Amount{}, fmt.Errorf("shop: %w", err)
	}
	return a, nil
}

// Payload turns e into the trigger payload map flows see.
func (e Event) Payload() map[string]any {
	amount := func(a Amount) map[string]any {
		return map[string]any{"minor": a.Minor, "currency": a.Currency, "decimal": a.Decimal}
	}
	items := make([]any, len(e.Items))
	for i, it := range e.Items {
		items[i] = map[string]any{"sku": it.SKU, "name": it.Name, "quantity": it.Quantity, "unitPrice": amount(it.UnitPrice)}
	}
	return map[string]any{
		"provider": e.Provider, "type": e.Type, "topic": e.Topic, "eventId": e.EventID,
		"orderId": e.OrderID, "orderNumber": e.OrderNumber, "status": e.Status, "providerStatus": e.ProviderStatus,
		"customer": map[string]any{"id": e.Customer.ID, "email": e.Customer.Email, "phone": e.Customer.Phone, "name": e.Customer.Name},
		"items":    items, "total": amount(e.Total), "shipping": amount(e.Shipping), "discount": amount(e.Discount),
		"time": e.Time, "raw": e.Raw,
	}
}

// Docs describes the event for trigger docs, so every shop documents the same fields the same way.
const Docs = "**Output** (the normalised shop order event, the same for every shop): `provider`, `type` (created, " +
	"paid, updated, fulfilled, cancelled, refunded), `topic` (the shop's own), `eventId` (the dedup key), `orderId`, " +
	"`orderNumber` (the business key), `status` (pending, paid, processing, fulfilled, cancelled, refunded, on_hold, " +
	"failed, other) and `providerStatus`, `customer` {id, email, phone, name}, `items` [{sku, name, quantity, " +
	"unitPrice}], `total`, `shipping` and `discount` as {minor, currency, decimal} (integer minor units, never a " +
	"float), `time` and `raw` (the shop's order as received)."
