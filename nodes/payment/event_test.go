package payment

import "testing"

func TestAmounts(t *testing.T) {
	for _, c := range []struct {
		decimal, currency string
		minor             int64
		shown             string
	}{{"88.00", "CNY", 8800, "88.00"}, {"0.01", "cny", 1, "0.01"}, {"1000", "JPY", 1000, "1000"}, {"10.5", "USD", 1050, "10.50"}} {
		a, err := FromDecimal(c.decimal, c.currency)
		if err != nil || a.Minor != c.minor || a.Decimal != c.shown {
			t.Errorf("FromDecimal(%q, %s) = %+v, %v", c.decimal, c.currency, a, err)
		}
	}
	if _, err := FromDecimal("1.005", "CNY"); err == nil {
		t.Error("three decimals of yuan accepted")
	}
	if _, err := FromDecimal("12.3", "JPY"); err == nil {
		t.Error("decimals of yen accepted")
	}
	e := Event{Provider: "alipay", Type: EventPaid, Amount: FromMinor(14999, "eur")}
	p := e.Payload()
	if p["amount"].(map[string]any)["decimal"] != "149.99" || p["amount"].(map[string]any)["currency"] != "EUR" {
		t.Errorf("payload %v", p)
	}
}
