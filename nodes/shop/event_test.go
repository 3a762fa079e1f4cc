package shop_test

import (
	"encoding/json"
	"testing"

	"github.com/ferry-hq/ferry/nodes/shop"
)

func TestAmountsAreExactMinorUnits(t *testing.T) {
	for _, c := range []struct {
		text, currency string
		minor          int64
	}{{"149.99", "EUR", 14999}, {"0.1", "cny", 10}, {"", "USD", 0}, {"1000", "JPY", 1000}} {
		a, err := shop.FromDecimal(c.text, c.currency)
		if err != nil || a.Minor != c.minor {
			t.Errorf("%q %s: %+v %v", c.text, c.currency, a, err)
		}
	}
	for _, bad := range []struct{ text, currency string }{{"1.005", "EUR"}, {"12.5", "JPY"}, {"abc", "USD"}} {
		if _, err := shop.FromDecimal(bad.text, bad.currency); err == nil {
			t.Errorf("%q %s was accepted", bad.text, bad.currency)
		}
	}
}

func TestPayloadShape(t *testing.T) {
	total, _ := shop.FromDecimal("149.99", "EUR")
	e := shop.Event{Provider: "woocommerce", Type: shop.EventPaid, EventID: "d1", OrderID: "42", OrderNumber: "42",
		Status: shop.StatusPaid, ProviderStatus: "processing", Total: total,
		Items: []shop.Item{{SKU: "A", Name: "Tea", Quantity: 2, UnitPrice: total}}}
	b, _ := json.Marshal(e.Payload())
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["total"].(map[string]any)["minor"] != float64(14999) || m["items"].([]any)[0].(map[string]any)["quantity"] != float64(2) ||
		m["customer"] == nil || m["shipping"].(map[string]any)["currency"] != "" {
		t.Fatalf("payload %s", b)
	}
}
