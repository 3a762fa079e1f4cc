// Package payment holds what every payment connector shares: the normalised payment event their triggers
// output, so a flow written for one provider reads the same fields from another (D1–D3), and the helpers that
// turn provider amounts into integer minor units (I7).
package payment

import (
	"fmt"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
)

// Event types, the same for every provider.
const (
	EventPaid     = "paid"     // the payer paid: money captured or the trade succeeded
	EventPending  = "pending"  // created or waiting for the payer
	EventRefunded = "refunded" // a full or partial refund succeeded
	EventFailed   = "failed"   // the payment failed or was declined
	EventClosed   = "closed"   // closed or cancelled without payment
	EventOther    = "other"    // anything else the provider notifies; Raw has it all
)

// Event is the trigger output of every payment connector. Field names are the JSON keys flows read
// (trigger.body.amount.minor, trigger.body.merchantOrderId…), documented in each trigger's spec.
type Event struct {
	// Provider is "alipay", "wechatpay", "stripe" or "paypal".
	Provider string `json:"provider"`
	// Type is one of the Event constants; ProviderType is the provider's own name for it
	// ("TRADE_SUCCESS", "payment_intent.succeeded", "PAYMENT.CAPTURE.COMPLETED").
	Type         string `json:"type"`
	ProviderType string `json:"providerType"`
	// EventID identifies this notification at the provider (the dedup key, I3).
	EventID string `json:"eventId"`
	// TransactionID is the provider's payment id; MerchantOrderID is the shop's order number (the business key).
	TransactionID   string `json:"transactionId"`
	MerchantOrderID string `json:"merchantOrderId"`
	// Amount is the paid (or refunded) amount in integer minor units with its currency, never a float (I7).
	Amount Amount `json:"amount"`
	// RefundedAmount is set for refunds, in the same currency.
	RefundedAmount *Amount `json:"refundedAmount,omitempty"`
	// Payer identifies who paid, as far as the provider says (an Alipay buyer id, a WeChat openid, an e-mail).
	Payer Payer `json:"payer"`
	// Time is when the provider says the event happened, in RFC 3339.
	Time string `json:"time,omitempty"`
	// Raw is the provider's payload as received (decrypted where the provider encrypts), for anything not
	// normalised here.
	Raw any `json:"raw"`
}

// Amount is money as integer minor units and an ISO 4217 currency (fen for CNY, cents for USD, yen for JPY).
type Amount struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
	// Decimal is the same amount as a decimal string ("149.99"), for display and for APIs that want it.
	Decimal string `json:"decimal"`
}

// Payer is who paid.
type Payer struct {
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// FromMinor builds an Amount from minor units.
func FromMinor(minor int64, currency string) Amount {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	return Amount{Minor: minor, Currency: currency, Decimal: expression.FormatMinor(minor, currency)}
}

// FromDecimal builds an Amount from a decimal string such as Alipay's "88.00" or PayPal's "10.50", exactly
// (no float), refusing more decimals than the currency has.
func FromDecimal(decimal, currency string) (Amount, error) {
	minor, err := expression.ParseMinor(decimal, currency)
	if err != nil {
		return Amount{}, fmt.Errorf("amount %q %s: %w", decimal, currency, err)
	}
	return FromMinor(minor, currency), nil
}

// Payload turns e into the trigger payload map flows see.
func (e Event) Payload() map[string]any {
	out := map[string]any{
		"provider": e.Provider, "type": e.Type, "providerType": e.ProviderType, "eventId": e.EventID,
		"transactionId": e.TransactionID, "merchantOrderId": e.MerchantOrderID,
		"amount": map[string]any{"minor": e.Amount.Minor, "currency": e.Amount.Currency, "decimal": e.Amount.Decimal},
		"payer":  map[string]any{"id": e.Payer.ID, "email": e.Payer.Email, "name": e.Payer.Name},
		"time":   e.Time, "raw": e.Raw,
	}
	if e.RefundedAmount != nil {
		out["refundedAmount"] = map[string]any{"minor": e.RefundedAmount.Minor, "currency": e.RefundedAmount.Currency,
			"decimal": e.RefundedAmount.Decimal}
	}
	return out
}

// FormatTime renders t for Event.Time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
