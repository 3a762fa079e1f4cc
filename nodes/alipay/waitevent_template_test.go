package alipay

import (
	"context"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
	_ "github.com/ferry-hq/ferry/nodes/dingtalk"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// TestOrderWaitTemplate runs the bundled "wait for payment, query Alipay, then remind" template: a payment that
// arrives in time ends the run; after the timeout Alipay is queried, a paid trade ends the run without a
// reminder, and an unpaid or unknown one goes on to the reminder.
func TestOrderWaitTemplate(t *testing.T) {
	data, err := fs.ReadFile(templates.FS(), "order-payment-wait-remind.json")
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
	trade := map[string]any{}
	g := newFakeGateway(t, func(call fakeCall) map[string]any {
		if call.params.Get("method") != "alipay.trade.query" || call.biz["out_trade_no"] != "ord_1" {
			t.Errorf("query %v %v", call.params.Get("method"), call.biz)
		}
		return trade
	})
	payload := map[string]any{"body": map[string]any{"order_id": "ord_1", "amount": "88.00", "currency": "CNY"}}

	// run parks the order, resumes it with resume, and returns the nodes that ran after the wait, with the
	// run's status.
	run := func(resume *nodes.Resume) ([]string, string) {
		t.Helper()
		eng := &engine.Engine{HTTP: testenv.LocalClient(),
			Resume: func(context.Context, string, string) (*nodes.Resume, time.Time, error) {
				return resume, time.Time{}, nil
			},
			Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
				"alipay-app": {Name: "Alipay", Type: CredentialApp, Fields: testFields(t, g.url()), Destinations: egress.MustDestinations(g.srv.URL)},
			})}
		r := &engine.Run{ID: "run1", FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: payload,
			State: engine.NewState(c, "order", payload)}
		out := eng.Execute(context.Background(), c, r)
		if out.Status != engine.StatusWaiting || out.Park == nil || out.Park.Park.Event == nil ||
			out.Park.Park.Event.Name != "payment.paid" || out.Park.Park.Event.Key != "ord_1" {
			t.Fatalf("the order did not wait for its payment: %s %+v", out.Status, out.Park)
		}
		out = eng.Execute(context.Background(), c, r)
		var ran []string
		for _, s := range out.Steps {
			ran = append(ran, s.NodeID+":"+s.Port)
		}
		return ran, out.Status
	}

	ev, _ := json.Marshal(map[string]any{"id": "e1", "name": "payment.paid", "key": "ord_1", "data": map[string]any{}})
	if ran, st := run(&nodes.Resume{WaitID: "w", Decision: ev}); strings.Join(ran, ",") != "wait:received" || st != engine.StatusSucceeded {
		t.Fatalf("paid in time: %v %s", ran, st)
	}
	trade = success(map[string]any{"trade_status": "TRADE_SUCCESS", "total_amount": "88.00", "out_trade_no": "ord_1", "trade_no": "T1"})
	if ran, st := run(&nodes.Resume{WaitID: "w", TimedOut: true}); strings.Join(ran, ",") != "wait:timeout,query:main,paid:true" || st != engine.StatusSucceeded {
		t.Fatalf("callback lost, trade paid: %v %s", ran, st)
	}
	// Unpaid: the reminder is next (it fails here, having no DingTalk credential: what matters is that it runs).
	trade = success(map[string]any{"trade_status": "WAIT_BUYER_PAY", "total_amount": "88.00", "out_trade_no": "ord_1", "trade_no": "T1"})
	if ran, _ := run(&nodes.Resume{WaitID: "w", TimedOut: true}); strings.Join(ran, ",") != "wait:timeout,query:main,paid:false,remind:" {
		t.Fatalf("unpaid: %v", ran)
	}
	// Alipay does not know the trade (the buyer never opened the payment): the reminder too.
	trade = businessError("ACQ.TRADE_NOT_EXIST", "交易不存在")
	if ran, _ := run(&nodes.Resume{WaitID: "w", TimedOut: true}); strings.Join(ran, ",") != "wait:timeout,query:,remind:" {
		t.Fatalf("unknown trade: %v", ran)
	}
}
