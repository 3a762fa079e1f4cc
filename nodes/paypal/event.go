package paypal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-hq/ferry/nodes/payment"
)

// PayPal event types the trigger normalises; every other type is passed on as payment.EventOther.
const (
	EventCaptureCompleted = "PAYMENT.CAPTURE.COMPLETED"
	EventCaptureRefunded  = "PAYMENT.CAPTURE.REFUNDED"
	EventCaptureDenied    = "PAYMENT.CAPTURE.DENIED"
	EventOrderApproved    = "CHECKOUT.ORDER.APPROVED"
)

var eventTypes = map[string]string{
	EventCaptureCompleted: payment.EventPaid,
	EventCaptureRefunded:  payment.EventRefunded,
	EventCaptureDenied:    payment.EventFailed,
	EventOrderApproved:    payment.EventPending,
}

// money is PayPal's amount object: an ISO 4217 code and a decimal string.
type money struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

type purchaseUnit struct {
	ReferenceID string `json:"reference_id"`
	CustomID    string `json:"custom_id"`
	InvoiceID   string `json:"invoice_id"`
	Amount      *money `json:"amount"`
}

// resource holds the fields the trigger reads from the three resource shapes it normalises: a capture
// (Payments v2), a refund (Payments v2) and an order (Orders v2).
type resource struct {
	ID            string         `json:"id"`
	Status        string         `json:"status"`
	Amount        *money         `json:"amount"`
	CustomID      string         `json:"custom_id"`
	InvoiceID     string         `json:"invoice_id"`
	CreateTime    string         `json:"create_time"`
	Links         []link         `json:"links"`
	PurchaseUnits []purchaseUnit `json:"purchase_units"`
	Payer         *struct {
		PayerID string `json:"payer_id"`
		Email   string `json:"email_address"`
		Name    *struct {
			GivenName string `json:"given_name"`
			Surname   string `json:"surname"`
		} `json:"name"`
	} `json:"payer"`
	SellerPayableBreakdown *struct {
		TotalRefundedAmount *money `json:"total_refunded_amount"`
	} `json:"seller_payable_breakdown"`
	SupplementaryData *struct {
		RelatedIDs struct {
			OrderID string `json:"order_id"`
		} `json:"related_ids"`
	} `json:"supplementary_data"`
}

// webhookEvent is the envelope of every PayPal webhook notification (Notifications webhooks v1).
type webhookEvent struct {
	ID           string          `json:"id"`
	EventType    string          `json:"event_type"`
	ResourceType string          `json:"resource_type"`
	CreateTime   string          `json:"create_time"`
	Resource     json.RawMessage `json:"resource"`
}

// normalise turns a verified event into the payment event flows read.
//
// The merchant order id is the resource's custom_id (captures and refunds copy it from the purchase unit; for
// orders, the first purchase unit's), falling back to invoice_id when custom_id is empty. paypal.order.create
// writes the shop's order number into custom_id, so both ends agree.
func normalise(ev *webhookEvent, decoded any) (payment.Event, error) {
	out := payment.Event{
		Provider: "paypal", ProviderType: ev.EventType, EventID: ev.ID, Time: ev.CreateTime, Raw: decoded,
		Type: payment.EventOther,
	}
	if t, ok := eventTypes[ev.EventType]; ok {
		out.Type = t
	}
	var res resource
	if len(ev.Resource) > 0 && string(ev.Resource) != "null" {
		if err := json.Unmarshal(ev.Resource, &res); err != nil {
			return payment.Event{}, fmt.Errorf("resource: %w", err)
		}
	}
	out.TransactionID = res.ID
	out.MerchantOrderID = firstNonEmpty(res.CustomID, res.InvoiceID)
	amount := res.Amount
	if len(res.PurchaseUnits) > 0 {
		pu := res.PurchaseUnits[0]
		if out.MerchantOrderID == "" {
			out.MerchantOrderID = firstNonEmpty(pu.CustomID, pu.InvoiceID)
		}
		if amount == nil {
			sum, err := sumUnits(res.PurchaseUnits)
			if err != nil {
				return payment.Event{}, err
			}
			if sum != nil {
				out.Amount = *sum
			}
		}
	}
	if amount != nil {
		a, err := payment.FromDecimal(amount.Value, amount.CurrencyCode)
		if err != nil {
			return payment.Event{}, err
		}
		out.Amount = a
	}
	if ev.EventType == EventCaptureRefunded || strings.EqualFold(ev.ResourceType, "refund") {
		// The refund's own id stays in raw; the transaction is the capture it refunds (the "up" link).
		for _, l := range res.Links {
			if l.Rel == "up" {
				if i := strings.LastIndex(strings.TrimRight(l.Href, "/"), "/"); i >= 0 {
					out.TransactionID = strings.TrimRight(l.Href, "/")[i+1:]
				}
			}
		}
		refunded := out.Amount
		if b := res.SellerPayableBreakdown; b != nil && b.TotalRefundedAmount != nil {
			total, err := payment.FromDecimal(b.TotalRefundedAmount.Value, b.TotalRefundedAmount.CurrencyCode)
			if err != nil {
				return payment.Event{}, err
			}
			refunded = total
		}
		if refunded.Currency != "" {
			out.RefundedAmount = &refunded
		}
	}
	if p := res.Payer; p != nil {
		out.Payer.ID, out.Payer.Email = p.PayerID, p.Email
		if p.Name != nil {
			out.Payer.Name = strings.TrimSpace(p.Name.GivenName + " " + p.Name.Surname)
		}
	}
	if out.Time == "" {
		out.Time = res.CreateTime
	}
	return out, nil
}

// sumUnits adds the purchase units' amounts, which must share one currency.
func sumUnits(units []purchaseUnit) (*payment.Amount, error) {
	var total *payment.Amount
	for _, u := range units {
		if u.Amount == nil {
			continue
		}
		a, err := payment.FromDecimal(u.Amount.Value, u.Amount.CurrencyCode)
		if err != nil {
			return nil, err
		}
		if total == nil {
			total = &a
			continue
		}
		if total.Currency != a.Currency {
			return nil, errors.New("purchase units are in different currencies")
		}
		sum := payment.FromMinor(total.Minor+a.Minor, a.Currency)
		total = &sum
	}
	return total, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if s := strings.TrimSpace(v); s != "" {
			return s
		}
	}
	return ""
}
