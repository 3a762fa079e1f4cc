package dingtalk

import (
	"context"
	"io/fs"
	"net/http"
	"reflect"
	"testing"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/nodes/stripe"
)

// paymentFailedEvent is a payment_intent.payment_failed event as Stripe sends it (the PaymentIntent object of the
// API reference with a declined card's last_payment_error).
const paymentFailedEvent = `{"id": "evt_3QfailTpl", "object": "event", "api_version": "` + stripe.APIVersion + `", "created": 1767225590,
  "livemode": false, "pending_webhooks": 1, "request": {"id": "req_fail1", "idempotency_key": null}, "type": "payment_intent.payment_failed",
  "data": {"object": {"id": "pi_3QfailTpl", "object": "payment_intent", "amount": 25900, "amount_capturable": 0, "amount_received": 0,
    "currency": "cny", "customer": "cus_RfailTpl", "receipt_email": "li.lei@example.com", "description": "Order A1024",
    "metadata": {"order_id": "A1024"}, "status": "requires_payment_method", "livemode": false, "created": 1767225580,
    "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
      "message": "Your card has insufficient funds.", "doc_url": "https://stripe.com/docs/error-codes/card-declined",
      "payment_method": {"id": "pm_failTpl", "object": "payment_method", "type": "card"}}}}}`

// runFailedTemplate delivers event, signed by Stripe's own library, to the "Stripe payment failed: tell the team on
// DingTalk" template and runs it against the DingTalk stand-in in the robot's 加签 mode; it returns the trigger's
// acceptance and the messages the group received.
func runFailedTemplate(t *testing.T, event string) (*nodes.Accepted, []map[string]any) {
	t.Helper()
	s := newStandIn(t)
	s.secret = testSecret
	data, err := fs.ReadFile(templates.FS(), "stripe-payment-failed-dingtalk.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := flows.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const whsec = "whsec_failtemplate"
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(event), Secret: whsec})
	acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(), &nodes.WebhookRequest{
		Method: http.MethodPost, Header: http.Header{"Stripe-Signature": {signed.Header}, "Content-Type": {"application/json"}},
		Body: []byte(event), Mode: nodes.ModeLive,
		Credential: func(context.Context) (map[string]string, error) {
			return map[string]string{stripe.FieldWebhookSecret: whsec}, nil
		}})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"dingtalk-robot": {Name: "Team group", Type: RobotCredential, Fields: map[string]string{FieldWebhook: testToken, FieldSecret: testSecret},
			Destinations: egress.MustDestinations(s.URL + "/robot/send")},
	})}
	run := &engine.Run{ID: "run1", FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: acc.Payload,
		State: engine.NewState(c, c.Webhook.Def.ID, acc.Payload)}
	out := eng.Execute(context.Background(), c, run)
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("run %s: %+v", out.Status, out.Error)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The stand-in checked timestamp and sign before it kept a message.
	for _, q := range s.queries {
		if q.Get("access_token") != testToken || q.Get("timestamp") == "" || q.Get("sign") == "" {
			t.Fatalf("query %v", q)
		}
	}
	return acc, append([]map[string]any(nil), s.messages...)
}

// TestPaymentFailedTemplateRuns runs the template on a declined card's payment_intent.payment_failed: the group gets
// exactly one signed markdown message with the order, amount, customer and Stripe's reason.
func TestPaymentFailedTemplateRuns(t *testing.T) {
	acc, msgs := runFailedTemplate(t, paymentFailedEvent)
	if acc.DedupKey != "evt_3QfailTpl" || acc.BusinessKey != "A1024" {
		t.Fatalf("keys %q %q", acc.DedupKey, acc.BusinessKey)
	}
	want := []map[string]any{{"msgtype": "markdown", "markdown": map[string]any{
		"title": "支付失败 A1024",
		"text": "### 支付失败\n\n- 订单：A1024\n- 金额：259.00 CNY\n- 客户：li.lei@example.com\n" +
			"- 原因：Your card has insufficient funds.（insufficient_funds）\n- Stripe 支付：pi_3QfailTpl",
	}}}
	if !reflect.DeepEqual(msgs, want) {
		t.Fatalf("messages\n got %#v\nwant %#v", msgs, want)
	}
}

// TestPaymentFailedTemplateWithoutOrder runs the template on a failure without an order number, a receipt e-mail
// or a reason: the message names the payment, the Stripe customer and says Stripe gave no reason.
func TestPaymentFailedTemplateWithoutOrder(t *testing.T) {
	event := `{"id": "evt_3QfailBare", "object": "event", "api_version": "` + stripe.APIVersion + `", "created": 1767225590,
	  "livemode": false, "type": "payment_intent.payment_failed", "data": {"object": {"id": "pi_3QfailBare", "object": "payment_intent",
	  "amount": 1999, "amount_received": 0, "currency": "usd", "customer": "cus_Bare", "receipt_email": null, "metadata": {},
	  "status": "requires_payment_method", "last_payment_error": null}}}`
	_, msgs := runFailedTemplate(t, event)
	want := []map[string]any{{"msgtype": "markdown", "markdown": map[string]any{
		"title": "支付失败 pi_3QfailBare",
		"text": "### 支付失败\n\n- 订单：无订单号\n- 金额：19.99 USD\n- 客户：cus_Bare\n" +
			"- 原因：Stripe 未说明（无代码）\n- Stripe 支付：pi_3QfailBare",
	}}}
	if !reflect.DeepEqual(msgs, want) {
		t.Fatalf("messages\n got %#v\nwant %#v", msgs, want)
	}
}
