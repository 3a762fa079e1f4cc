package stripe

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes/payment"
)

// stripeObject holds the fields of the payment intents, charges, refunds and checkout sessions that events
// carry, as far as the normalised event needs them. Amounts are Stripe's integer minor units.
type stripeObject struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Amount            int64             `json:"amount"`
	AmountReceived    int64             `json:"amount_received"`
	AmountRefunded    int64             `json:"amount_refunded"`
	AmountTotal       int64             `json:"amount_total"`
	Currency          string            `json:"currency"`
	Status            string            `json:"status"`
	PaymentStatus     string            `json:"payment_status"`
	PaymentIntent     json.RawMessage   `json:"payment_intent"`
	Charge            json.RawMessage   `json:"charge"`
	Customer          json.RawMessage   `json:"customer"`
	ReceiptEmail      string            `json:"receipt_email"`
	CustomerEmail     string            `json:"customer_email"`
	ClientReferenceID string            `json:"client_reference_id"`
	Metadata          map[string]string `json:"metadata"`
	BillingDetails    *struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"billing_details"`
	CustomerDetails *struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"customer_details"`
}

// idOf reads a field that is an id, or an expanded object with an id, or null.
func idOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.ID
	}
	return ""
}

// classify maps a Stripe event type (and, where the type alone does not say, the object's status) to the
// normalised event type.
func classify(eventType string, obj *stripeObject) string {
	switch eventType {
	case "payment_intent.succeeded", "charge.succeeded", "checkout.session.async_payment_succeeded":
		return payment.EventPaid
	case "checkout.session.completed":
		// Delayed payment methods (bank debits) complete the session before the money arrives.
		if obj.PaymentStatus == "paid" || obj.PaymentStatus == "no_payment_required" {
			return payment.EventPaid
		}
		return payment.EventPending
	case "charge.refunded":
		return payment.EventRefunded
	case "refund.created", "refund.updated":
		switch obj.Status {
		case "succeeded":
			return payment.EventRefunded
		case "pending", "requires_action":
			return payment.EventPending
		}
		return payment.EventOther // a failed or canceled refund is not a failed payment
	case "payment_intent.payment_failed", "charge.failed", "checkout.session.async_payment_failed":
		return payment.EventFailed
	case "payment_intent.canceled", "checkout.session.expired":
		return payment.EventClosed
	case "payment_intent.created", "payment_intent.processing", "payment_intent.requires_action", "charge.pending":
		return payment.EventPending
	}
	return payment.EventOther
}

// normalise builds the payment event of a verified Stripe event. A data.object that is not one of the known
// objects still gives an event (type other, ids empty) with everything in Raw.
func normalise(ev *event, raw any, orderIDKey string) payment.Event {
	var obj stripeObject
	_ = json.Unmarshal(ev.Data.Object, &obj)
	out := payment.Event{
		Provider:     Provider,
		Type:         classify(ev.Type, &obj),
		ProviderType: ev.Type,
		EventID:      ev.ID,
		Raw:          raw,
	}
	if ev.Created > 0 {
		out.Time = payment.FormatTime(time.Unix(ev.Created, 0))
	}
	if orderIDKey != "" {
		out.MerchantOrderID = strings.TrimSpace(obj.Metadata[orderIDKey])
	}
	out.Payer.ID = idOf(obj.Customer)
	switch obj.Object {
	case "payment_intent":
		out.TransactionID = obj.ID
		amount := obj.Amount
		if ev.Type == "payment_intent.succeeded" && obj.AmountReceived > 0 {
			amount = obj.AmountReceived
		}
		out.Amount = payment.FromMinor(amount, obj.Currency)
		out.Payer.Email = obj.ReceiptEmail
	case "charge":
		out.TransactionID = firstNonEmpty(idOf(obj.PaymentIntent), obj.ID)
		out.Amount = payment.FromMinor(obj.Amount, obj.Currency)
		if ev.Type == "charge.refunded" {
			refunded := payment.FromMinor(obj.AmountRefunded, obj.Currency)
			out.RefundedAmount = &refunded
		}
		if obj.BillingDetails != nil {
			out.Payer.Email, out.Payer.Name = obj.BillingDetails.Email, obj.BillingDetails.Name
		}
		out.Payer.Email = firstNonEmpty(out.Payer.Email, obj.ReceiptEmail)
	case "refund":
		out.TransactionID = firstNonEmpty(idOf(obj.PaymentIntent), idOf(obj.Charge))
		out.Amount = payment.FromMinor(obj.Amount, obj.Currency)
		refunded := out.Amount
		out.RefundedAmount = &refunded
	case "checkout.session":
		out.TransactionID = firstNonEmpty(idOf(obj.PaymentIntent), obj.ID)
		out.Amount = payment.FromMinor(obj.AmountTotal, obj.Currency)
		if obj.CustomerDetails != nil {
			out.Payer.Email, out.Payer.Name = obj.CustomerDetails.Email, obj.CustomerDetails.Name
		}
		out.Payer.Email = firstNonEmpty(out.Payer.Email, obj.CustomerEmail)
		out.MerchantOrderID = firstNonEmpty(out.MerchantOrderID, strings.TrimSpace(obj.ClientReferenceID))
	default:
		out.TransactionID = obj.ID
		if obj.Currency != "" {
			out.Amount = payment.FromMinor(obj.Amount, obj.Currency)
		}
	}
	return out
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
