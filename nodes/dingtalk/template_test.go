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

// TestPaymentFailedTemplateRuns delivers a Stripe-signed payment_intent.payment_failed event to the "Stripe payment
// failed: tell the team on DingTalk" template and runs it against the DingTalk stand-in in the robot's 加签 mode:
// the group gets exactly one markdown message, signed, with the order, amount, customer and Stripe's reason.
func TestPaymentFailedTemplateRuns(t *testing.T) {
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
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(paymentFailedEvent), Secret: whsec})
	acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(), &nodes.WebhookRequest{
		Method: http.MethodPost, Header: http.Header{"Stripe-Signature": {signed.Header}, "Content-Type": {"application/json"}},
		Body: []byte(paymentFailedEvent), Mode: nodes.ModeLive,
		Credential: func(context.Context) (map[string]string, error) {
			return map[string]string{stripe.FieldWebhookSecret: whsec}, nil
		}})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if acc.DedupKey != "evt_3QfailTpl" || acc.BusinessKey != "A1024" {
		t.Fatalf("keys %q %q", acc.DedupKey, acc.BusinessKey)
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
	if len(s.messages) != 1 {
		t.Fatalf("%d messages, want 1: %v", len(s.messages), s.messages)
	}
	// The stand-in checked timestamp and sign before it kept the message.
	q := s.queries[len(s.queries)-1]
	if q.Get("access_token") != testToken || q.Get("timestamp") == "" || q.Get("sign") == "" {
		t.Fatalf("query %v", q)
	}
	want := map[string]any{"msgtype": "markdown", "markdown": map[string]any{
		"title": "支付失败 A1024",
		"text": "### 支付失败：订单 A1024\n\n- 金额：259.00 CNY\n- 客户：li.lei@example.com\n" +
			"- 原因：Your card has insufficient funds.（insufficient_funds）\n- Stripe 支付：pi_3QfailTpl",
	}}
	if !reflect.DeepEqual(s.messages[0], want) {
		t.Fatalf("message\n got %#v\nwant %#v", s.messages[0], want)
	}
}
