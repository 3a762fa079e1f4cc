package auth

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMaskJSON(t *testing.T) {
	m := NewMasker(nil)
	in := `{"order_id":"A-1","amount":12345678901234567890,"customer":{"name":"Ada","phone":"+86 138 1234 5678",
	"Email":"ada.lovelace@example.com","buyerMobile":13812345678},"payer":{"id_card":"110101199003074477",
	"bank_card_no":"6222 0212 3456 7890 123"},"contacts":[{"tel":"021-5555-0199"}],"email_verified":true}`
	out, changed := m.MaskJSON(json.RawMessage(in))
	if !changed {
		t.Fatal("nothing masked")
	}
	s := string(out)
	for _, leaked := range []string{"1234 5678", "13812345678", "ada.lovelace@", "19900307", "3456 7890", "5555-0199"} {
		if strings.Contains(s, leaked) {
			t.Errorf("%q still visible in %s", leaked, s)
		}
	}
	for _, kept := range []string{`"order_id":"A-1"`, `12345678901234567890`, `"name":"Ada"`, `"email_verified":true`} {
		if !strings.Contains(s, kept) {
			t.Errorf("%s lost from %s", kept, s)
		}
	}
	if _, changed := m.MaskJSON(json.RawMessage(`{"order_id":"A-1"}`)); changed {
		t.Error("a payload without personal data was changed")
	}
	custom := NewMasker([]string{"wechat_openid"})
	out, _ = custom.MaskJSON(json.RawMessage(`{"payer_wechat_openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","phone":"13812345678"}`))
	if strings.Contains(string(out), "uMuAJO_M2pxb1Q9zNjWeS6") || !strings.Contains(string(out), "13812345678") {
		t.Errorf("configured fields: %s", out)
	}
}
