package alipay_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/alipay"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// TestPaymentReceivedTemplateRuns delivers an Alipay-signed TRADE_SUCCESS notification to the template's trigger
// and runs the flow against a fake CRM and DingTalk robot: the CRM gets the order once, in fen, with an
// idempotency key, and the group gets a message.
func TestPaymentReceivedTemplateRuns(t *testing.T) {
	var mu sync.Mutex
	calls := map[string][]*http.Request{}
	bodies := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls[r.URL.Path] = append(calls[r.URL.Path], r)
		bodies[r.URL.Path] = string(b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"errcode": 0}`)
	}))
	defer srv.Close()
	data, err := fs.ReadFile(templates.FS(), "alipay-payment-received.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(data), "https://crm.example.com", srv.URL)
	doc = strings.ReplaceAll(doc, "https://oapi.dingtalk.com", srv.URL)
	f, err := flows.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	fields, form := alipay.SignedTestNotification(t)
	creds := map[string]map[string]string{"alipay-app": fields, "crm-api": {"token": "crm_tok"}}
	acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(), &nodes.WebhookRequest{
		Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}, Body: []byte(form),
		Mode: nodes.ModeLive, Credential: func(context.Context) (map[string]string, error) { return creds["alipay-app"], nil }})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if acc.BusinessKey != "ord_8f3a2c91d4" || acc.Ack.Body != "success" {
		t.Fatalf("business key %q, ack %+v", acc.BusinessKey, acc.Ack)
	}
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"crm-api": {Name: "CRM", Type: "http.bearer", Fields: creds["crm-api"], Destinations: egress.MustDestinations(srv.URL)},
	})}
	run := &engine.Run{ID: "run1", FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: acc.Payload,
		State: engine.NewState(c, c.Webhook.Def.ID, acc.Payload)}
	out := eng.Execute(context.Background(), c, run)
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("run %s: %+v", out.Status, out.Error)
	}
	crm := calls["/api/v2/orders/ord_8f3a2c91d4"]
	if len(crm) != 1 || crm[0].Method != http.MethodPut || crm[0].Header.Get("Authorization") != "Bearer crm_tok" || crm[0].Header.Get("Idempotency-Key") == "" {
		t.Fatalf("CRM calls = %+v", crm)
	}
	var order map[string]any
	if err := json.Unmarshal([]byte(bodies["/api/v2/orders/ord_8f3a2c91d4"]), &order); err != nil {
		t.Fatal(err)
	}
	if order["amount_fen"] != float64(8800) || order["amount"] != "88.00" || order["currency"] != "CNY" ||
		order["alipay_trade_no"] != "2026112922001405761234567890" || order["payment_status"] != "paid" {
		t.Fatalf("CRM order = %v", order)
	}
	if len(calls["/robot/send"]) != 1 || !strings.Contains(bodies["/robot/send"], "支付宝到账 88.00 CNY，订单 ord_8f3a2c91d4") {
		t.Fatalf("robot = %q", bodies["/robot/send"])
	}
}
