package youzan

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// vectorFile holds push bodies signed as Youzan documents Event-Sign, computed with Python's hashlib
// (testdata/README.md, testdata/make_vectors.py).
type vectorFile struct {
	Algorithm    string `json:"algorithm"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	KdtID        string `json:"kdtId"`
	Vectors      []struct {
		Name, File, Type, Sign string
	} `json:"vectors"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func readBody(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type push struct {
	body                      []byte
	sign, eventType, clientID string
	fields                    map[string]string
	credErr                   error
	method                    string
}

func (p push) request() *nodes.WebhookRequest {
	h := http.Header{}
	for k, v := range map[string]string{"Event-Sign": p.sign, "Event-Type": p.eventType, "Client-Id": p.clientID, "Content-Type": "application/json"} {
		if v != "" {
			h.Set(k, v)
		}
	}
	fields := p.fields
	if fields == nil {
		fields = map[string]string{FieldClientID: testClientID, FieldClientSecret: testSecret, FieldGrantID: testShop}
	}
	method := p.method
	if method == "" {
		method = http.MethodPost
	}
	return &nodes.WebhookRequest{Method: method, Header: h, Body: p.body, Mode: nodes.ModeLive,
		Credential: func(context.Context) (map[string]string, error) { return fields, p.credErr }}
}

func vectorPush(t *testing.T, vf vectorFile, i int) push {
	v := vf.Vectors[i]
	return push{body: readBody(t, v.File), sign: v.Sign, eventType: v.Type, clientID: vf.ClientID}
}

func pushTrigger(t *testing.T, types string) nodes.WebhookTrigger {
	t.Helper()
	return build(t, TriggerType, map[string]any{"types": types}).(nodes.WebhookTrigger)
}

// TestVectorsAreAccepted: the pushes signed as Youzan documents it are accepted, answered as Youzan expects,
// keyed by message type, shop, id and version, with the trade number as business key.
func TestVectorsAreAccepted(t *testing.T) {
	vf := loadVectors(t)
	if vf.ClientID != testClientID || vf.ClientSecret != testSecret || vf.KdtID != testShop || len(vf.Vectors) != 2 {
		t.Fatalf("vectors %+v", vf)
	}
	tr := pushTrigger(t, "")
	want := map[string][2]string{
		"push-trade-paid":  {"trade_TradePaid:42583152:E20261120180203040500017@1763632923123", "E20261120180203040500017"},
		"push-trade-close": {"trade_TradeClose:42583152:E20261121090000040500018@1763687100456", "E20261121090000040500018"},
	}
	for i, v := range vf.Vectors {
		if got := Sign(vf.ClientID, readBody(t, v.File), vf.ClientSecret); got != v.Sign {
			t.Fatalf("%s: Sign %s, the vector %s", v.Name, got, v.Sign)
		}
		acc, err := tr.Accept(context.Background(), vectorPush(t, vf, i).request())
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if acc.DedupKey != want[v.Name][0] || acc.BusinessKey != want[v.Name][1] || acc.Skip {
			t.Errorf("%s: keys %q %q", v.Name, acc.DedupKey, acc.BusinessKey)
		}
		if !reflect.DeepEqual(acc.Ack.Body, map[string]any{"code": 0, "msg": "success"}) || acc.Ack.Status != 200 {
			t.Errorf("%s: ack %+v", v.Name, acc.Ack)
		}
	}
}

// TestPaidTradeIsNormalised: the trade in a trade_TradePaid message becomes the normalised event: yuan texts to
// exact CNY amounts, Shanghai time to UTC, Youzan's status mapped.
func TestPaidTradeIsNormalised(t *testing.T) {
	vf := loadVectors(t)
	acc, err := pushTrigger(t, "trade_TradePaid").Accept(context.Background(), vectorPush(t, vf, 0).request())
	if err != nil {
		t.Fatal(err)
	}
	got := acc.Payload["body"].(map[string]any)
	cny := func(minor int64, decimal string) map[string]any {
		return map[string]any{"minor": minor, "currency": "CNY", "decimal": decimal}
	}
	want := map[string]any{
		"provider": "youzan", "type": shop.EventPaid, "topic": "trade_TradePaid",
		"eventId": "trade_TradePaid:42583152:E20261120180203040500017@1763632923123",
		"orderId": "E20261120180203040500017", "orderNumber": "E20261120180203040500017",
		"status": shop.StatusPaid, "providerStatus": "WAIT_SELLER_SEND_GOODS",
		"time":     "2026-11-20T10:02:03Z",
		"customer": map[string]any{"id": "yzo_8FQq1x2LbDl", "email": "", "phone": "13800138000", "name": "周小芳"},
		"total":    cny(14500, "145.00"), "shipping": cny(800, "8.00"), "discount": cny(2000, "20.00"),
		"items": []any{
			map[string]any{"sku": "LJ-250", "name": "西湖龙井 250g 礼盒", "quantity": int64(2), "unitPrice": cny(6800, "68.00")},
			map[string]any{"sku": "ZS-CUP", "name": "紫砂杯 + 杯垫", "quantity": int64(1), "unitPrice": cny(2100, "21.00")},
		},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	raw := got["raw"].(map[string]any)
	if raw["message"].(map[string]any)["msg_id"] != "a1d466ad-f9db-4a58-b805-f2a4dd65fa56" || raw["msg"].(map[string]any)["full_order_info"] == nil {
		t.Errorf("raw %v", raw)
	}
	if acc.Payload["headers"].(map[string]any)["event-type"] != "trade_TradePaid" {
		t.Errorf("headers %v", acc.Payload["headers"])
	}
}

// TestClosedTradeMessage: a message that names only the trade gives its id, status and time, no amounts.
func TestClosedTradeMessage(t *testing.T) {
	vf := loadVectors(t)
	acc, err := pushTrigger(t, "trade_TradeClose").Accept(context.Background(), vectorPush(t, vf, 1).request())
	if err != nil {
		t.Fatal(err)
	}
	b := acc.Payload["body"].(map[string]any)
	if b["type"] != shop.EventCancelled || b["status"] != shop.StatusCancelled || b["orderId"] != "E20261121090000040500018" ||
		b["time"] != "2026-11-21T01:05:00Z" || b["total"].(map[string]any)["minor"] != int64(0) || len(b["items"].([]any)) != 0 {
		t.Errorf("closed trade %v", b)
	}
}

// TestRefusals: tampered, wrongly keyed, unsigned, for another app: each refused with its code and the answer
// Youzan reads as a failure (it pushes again), which the server records; another shop's or another type's
// verified push is acknowledged with no run.
func TestRefusals(t *testing.T) {
	vf := loadVectors(t)
	good := vectorPush(t, vf, 0)
	tr := pushTrigger(t, "trade_TradePaid")
	refuse := func(name string, req *nodes.WebhookRequest, status int, code string) {
		t.Helper()
		_, err := tr.Accept(context.Background(), req)
		var we *nodes.WebhookError
		if !errors.As(err, &we) || we.Status != status || we.Code != code {
			t.Errorf("%s: %v, want %d %s", name, err, status, code)
			return
		}
		if we.Answer == nil || !reflect.DeepEqual(we.Answer.Body, map[string]any{"code": 0, "msg": "failed"}) {
			t.Errorf("%s: answer %+v", name, we.Answer)
		}
	}
	tampered := good
	tampered.body = []byte(strings.Replace(string(good.body), "%22payment%22%3A%22145.00%22", "%22payment%22%3A%221.00%22", 1))
	if string(tampered.body) == string(good.body) {
		t.Fatal("the tampering changed nothing")
	}
	refuse("tampered body", tampered.request(), 401, CodeSignatureInvalid)
	wrongKey := good
	wrongKey.fields = map[string]string{FieldClientID: testClientID, FieldClientSecret: "another-secret", FieldGrantID: testShop}
	refuse("wrong secret", wrongKey.request(), 401, CodeSignatureInvalid)
	upper := good
	upper.sign = strings.ToUpper(good.sign)
	if _, err := tr.Accept(context.Background(), upper.request()); err != nil {
		t.Errorf("an upper-case Event-Sign: %v", err)
	}
	unsigned := good
	unsigned.sign = ""
	refuse("no signature", unsigned.request(), 401, CodeSignatureMissing)
	otherApp := good
	otherApp.clientID = "someone-else"
	refuse("another app's Client-Id", otherApp.request(), 401, CodeClientMismatch)
	get := good
	get.method = http.MethodGet
	refuse("GET", get.request(), 405, CodeMethodNotAllowed)
	notJSON := good
	notJSON.body = []byte("client_id=1")
	notJSON.sign = Sign(testClientID, notJSON.body, testSecret)
	refuse("not JSON", notJSON.request(), 400, CodeMessageInvalid)
	noSecret := good
	noSecret.fields = map[string]string{FieldClientID: testClientID, FieldGrantID: testShop}
	refuse("no secret", noSecret.request(), 500, CodeCredentialMissing)
	vault := good
	vault.credErr = errors.New("vault sealed")
	refuse("vault down", vault.request(), 503, CodeCredentialUnavailable)

	// Another shop of the same app: verified, acknowledged, no run.
	otherShop := good
	otherShop.fields = map[string]string{FieldClientID: testClientID, FieldClientSecret: testSecret, FieldGrantID: "1000"}
	if acc, err := tr.Accept(context.Background(), otherShop.request()); err != nil || !acc.Skip || acc.Ack.Body.(map[string]any)["msg"] != "success" {
		t.Errorf("another shop: %+v %v", acc, err)
	}
	// The unsigned Event-Type header cannot turn a paid trade into another message.
	relabelled := good
	relabelled.eventType = "trade_TradeClose"
	if acc, err := tr.Accept(context.Background(), relabelled.request()); err != nil || acc.Skip || acc.Payload["body"].(map[string]any)["type"] != shop.EventPaid {
		t.Errorf("a relabelled push: %+v %v", acc, err)
	}
	// A chain's head office authorised the app: its branches' pushes are its own.
	branch := map[string]any{"kdt_id": int64(77), "root_kdt_id": int64(42583152)}
	if !forShop(branch, testShop) || forShop(map[string]any{"kdt_id": int64(77)}, testShop) {
		t.Error("chain branches")
	}
	// A type the flow does not take: acknowledged, no run.
	if acc, err := tr.Accept(context.Background(), vectorPush(t, vf, 1).request()); err != nil || !acc.Skip {
		t.Errorf("another type: %+v %v", acc, err)
	}
}

func TestStatusMapping(t *testing.T) {
	for _, c := range []struct {
		status string
		refund int64
		want   string
	}{
		{"WAIT_BUYER_PAY", 0, shop.StatusPending}, {"TRADE_PAID", 0, shop.StatusPaid}, {"WAIT_CONFIRM", 0, shop.StatusProcessing},
		{"WAIT_SELLER_SEND_GOODS", 0, shop.StatusPaid}, {"WAIT_SELLER_SEND_GOODS", refundPartial, shop.StatusPaid},
		{"WAIT_BUYER_CONFIRM_GOODS", 0, shop.StatusFulfilled}, {"TRADE_SUCCESS", 0, shop.StatusFulfilled},
		{"TRADE_CLOSED", 0, shop.StatusCancelled}, {"TRADE_CLOSED", refundFull, shop.StatusRefunded},
		{"TRADE_SUCCESS", refundFull, shop.StatusRefunded}, {"SOMETHING_NEW", 0, shop.StatusOther},
	} {
		if got := Status(c.status, c.refund); got != c.want {
			t.Errorf("%s refund %d: %s, want %s", c.status, c.refund, got, c.want)
		}
	}
	if got := providerStatus("TRADE_SUCCESS", refundPartial); got != "TRADE_SUCCESS/PARTIALLY_REFUNDED" {
		t.Errorf("provider status %s", got)
	}
	// A trade closed by a full refund is a refund; an amount with three decimals is refused, not rounded.
	info := testTrade(1, "2026-11-20 18:02:03")
	info["order_info"].(map[string]any)["status"] = "TRADE_CLOSED"
	info["order_info"].(map[string]any)["refund_state"] = int64(refundFull)
	e, err := MessageEvent("trade_TradeClose", "k", map[string]any{}, map[string]any{"full_order_info": info})
	if err != nil || e.Type != shop.EventRefunded || e.Status != shop.StatusRefunded || e.ProviderStatus != "TRADE_CLOSED/REFUNDED" {
		t.Errorf("refunded close %+v %v", e, err)
	}
	info["pay_info"].(map[string]any)["payment"] = "145.005"
	if _, err := TradeEvent(shop.EventPaid, "", "k", info); err == nil {
		t.Error("an amount with three decimals was accepted")
	}
}

func TestTimes(t *testing.T) {
	ts, err := ParseTime("2026-01-01 07:30:00")
	if err != nil || ts.UTC().Format("2006-01-02T15:04:05Z") != "2025-12-31T23:30:00Z" {
		t.Fatalf("%v %v", ts, err)
	}
	if FormatTime(ts.UTC()) != "2026-01-01 07:30:00" {
		t.Fatal(FormatTime(ts))
	}
	for in, want := range map[string]string{"2026-11-20T10:05:00Z": "2026-11-20 18:05:00", "2026-11-20": "2026-11-20 00:00:00",
		"2026-11-20 18:05:00": "2026-11-20 18:05:00", "2026-11-20T18:05:00+08:00": "2026-11-20 18:05:00"} {
		if got, err := youzanTime(in); err != nil || got != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
}
