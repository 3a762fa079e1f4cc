package engine_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
)

const benchFlow = `{"schema":1,"name":"bench","nodes":[
 {"id":"webhook","type":"core.webhook","params":{"respond":"respondNode"}},
 {"id":"map","type":"core.map","params":{"fields":[
   {"target":"order_id","expression":"trigger.body.order_id"},
   {"target":"email","expression":"lower(trigger.body.customer.email)"},
   {"target":"customer_name","expression":"trigger.body.customer.name"},
   {"target":"amount_cents","expression":"toMinor(trigger.body.amount, trigger.body.currency)"},
   {"target":"item_count","expression":"len(trigger.body.items)"}]}},
 {"id":"check","type":"core.condition","params":{"condition":"prev.amount_cents > 10000"}},
 {"id":"high","type":"core.respond","params":{"status":200,"body":"{{ prev }}"}},
 {"id":"standard","type":"core.respond","params":{"status":200,"body":"{{ prev }}"}}],
 "edges":[{"source":"webhook","target":"map"},{"source":"map","target":"check"},
  {"source":"check","sourcePort":"true","target":"high"},{"source":"check","sourcePort":"false","target":"standard"}]}`

const benchPayload = `{"body":{"event":"order.paid","order_id":"ord_8f3a2c91d4","created_at":"2026-11-22T07:30:00Z","amount":149.99,"currency":"EUR",
"customer":{"id":"cus_51b7e0","name":"Ada Lovelace","email":"Ada.Lovelace@Example.COM","phone":"+44 20 7946 0958"},
"items":[{"sku":"SKU-1001","name":"Analytical Engine manual","qty":1,"price":99.99},{"sku":"SKU-2002","name":"Punch cards (pack of 500)","qty":2,"price":25.00}],
"payment":{"provider":"card","last4":"4242","status":"captured"}},"headers":{"content-type":"application/json"},"query":{},"method":"POST"}`

// BenchmarkWebhookMapConditionRespond executes the reference flow (webhook → map of 5 fields → condition →
// respond) in-process, run data kept in memory: the engine's own cost per run, without HTTP or storage.
func BenchmarkWebhookMapConditionRespond(b *testing.B) {
	c := compile(&testing.T{}, benchFlow)
	var payload any
	if err := json.Unmarshal([]byte(benchPayload), &payload); err != nil {
		b.Fatal(err)
	}
	e := &engine.Engine{}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run := &engine.Run{ID: "r", FlowID: "f", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: payload,
			State: engine.NewState(c, "webhook", payload)}
		out := e.Execute(ctx, c, run)
		if out.Status != engine.StatusSucceeded || run.State.Response == nil {
			b.Fatalf("run %s", out.Status)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}
