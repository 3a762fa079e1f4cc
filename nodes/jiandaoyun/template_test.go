package jiandaoyun

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/crm"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/nodes/youzan"
)

// youzanPushes reads the Youzan test pushes (nodes/youzan/testdata, signed as Youzan documents it): the paid
// trade, and the close message, which is about another trade there and is turned into the close of the paid
// one here, signed again with Youzan's algorithm.
func youzanPushes(t *testing.T) (paid, closed []byte, sign func([]byte) string, fields map[string]string) {
	t.Helper()
	dir := "../youzan/testdata/"
	raw, err := os.ReadFile(dir + "vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		KdtID        string `json:"kdtId"`
	}
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	if paid, err = os.ReadFile(dir + "push-trade-paid.json"); err != nil {
		t.Fatal(err)
	}
	if closed, err = os.ReadFile(dir + "push-trade-close.json"); err != nil {
		t.Fatal(err)
	}
	closed = []byte(strings.ReplaceAll(string(closed), "E20261121090000040500018", "E20261120180203040500017"))
	sign = func(body []byte) string { return youzan.Sign(vf.ClientID, body, vf.ClientSecret) }
	return paid, closed, sign, map[string]string{youzan.FieldClientID: vf.ClientID, youzan.FieldClientSecret: vf.ClientSecret, youzan.FieldGrantID: vf.KdtID}
}

// TestYouzanOrderTemplateRuns runs the "Youzan order → Jiandaoyun record" template on Youzan's signed pushes
// against the Jiandaoyun stand-in: the paid trade creates one record with the mapped fields; its close updates
// that record's status and keeps the rest; the paid push again (a later version) updates the same record, never
// a second one; two records with the order number make the run wait for a person, end it at review with nothing
// written when nobody chooses, and update the record chosen when someone does.
func TestYouzanOrderTemplateRuns(t *testing.T) {
	s := newStandIn(t)
	data, err := fs.ReadFile(templates.FS(), "youzan-jiandaoyun-order-record.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.NewReplacer("64a0000000000000000000a1", testApp, "64a0000000000000000000e1", testEntry).Replace(string(data))
	f, err := flows.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	paid, closed, sign, fields := youzanPushes(t)
	// An operator's choices, by wait: what Engine.Resume reads from the store in the server.
	decided := map[string]*nodes.Resume{}
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"jiandaoyun": {Name: "Jiandaoyun", Type: CredentialType, Fields: map[string]string{FieldAPIKey: testKey}, Destinations: egress.MustDestinations(s.URL + APIPath)},
	}), Resume: func(_ context.Context, _, waitID string) (*nodes.Resume, time.Time, error) {
		if r := decided[waitID]; r != nil {
			return r, time.Time{}, nil
		}
		return nil, time.Now().Add(time.Hour), nil
	}}
	// choose is the operator's answer when the run waits for one: a record's _id, or nil for no answer in time.
	pushChoosing := func(runID string, body []byte, eventType string, choose *string) *engine.Run {
		t.Helper()
		h := http.Header{}
		h.Set("Event-Sign", sign(body))
		h.Set("Event-Type", eventType)
		h.Set("Client-Id", fields[youzan.FieldClientID])
		h.Set("Content-Type", "application/json")
		acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(), &nodes.WebhookRequest{Method: http.MethodPost, Header: h,
			Body: body, Mode: nodes.ModeLive, Credential: func(context.Context) (map[string]string, error) { return fields, nil }})
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		if key := c.RunOrderingKey(acc.Payload, "live"); key != "E20261120180203040500017" {
			t.Fatalf("ordering key %q", key)
		}
		run := &engine.Run{ID: runID, FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: acc.Payload,
			State: engine.NewState(c, c.Webhook.Def.ID, acc.Payload)}
		out := eng.Execute(context.Background(), c, run)
		if out.Status == engine.StatusWaiting && out.Park != nil && out.Park.NodeID == "match" && out.Park.Park.Kind == crm.ReviewKind {
			request, _ := json.Marshal(out.Park.Park.Request)
			r := &nodes.Resume{WaitID: out.Park.ID, Request: request, TimedOut: choose == nil}
			if choose != nil {
				r.Decision, _ = json.Marshal(map[string]string{"candidate": *choose})
				if err := nodes.CheckDecision(crm.ReviewKind, request, r.Decision); err != nil {
					t.Fatal(err)
				}
			}
			decided[out.Park.ID] = r
			out = eng.Execute(context.Background(), c, run)
		}
		if out.Status != engine.StatusSucceeded {
			t.Fatalf("run %s: %s %+v", runID, out.Status, out.Error)
		}
		return run
	}
	push := func(runID string, body []byte, eventType string) *engine.Run {
		t.Helper()
		return pushChoosing(runID, body, eventType, nil)
	}
	writes := func(from int) []string {
		var w []string
		for _, p := range s.requests()[from:] {
			if !strings.HasSuffix(p, "/list") {
				w = append(w, p)
			}
		}
		return w
	}

	// The paid trade: no record yet, one is created.
	push("run1", paid, "trade_TradePaid")
	if len(s.records) != 1 {
		t.Fatalf("records %v", s.records)
	}
	rec := s.records[0]
	want := map[string]any{"order_no": "E20261120180203040500017", "status": "paid", "shop_status": "WAIT_SELLER_SEND_GOODS",
		"total": 145.0, "updated_at": "2026-11-20T10:02:03Z", "buyer_name": "周小芳", "buyer_phone": "+8613800138000",
		"items": "西湖龙井 250g 礼盒 × 2\n紫砂杯 + 杯垫 × 1"}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("created %s = %#v, want %#v", k, rec[k], v)
		}
	}
	if _, ok := rec["full"]; ok || len(rec) != len(want)+2 { // and _id, updateTime
		t.Errorf("created %v", rec)
	}
	full := map[string]any{}
	for k, v := range rec {
		full[k] = v
	}

	// Its close names only the new status: the record's status and time change, the rest is kept.
	from := len(s.requests())
	push("run2", closed, "trade_TradeClose")
	if got := strings.Join(writes(from), ", "); got != "/api/v5/app/entry/data/update" || len(s.records) != 1 {
		t.Fatalf("close: writes %s, records %v", got, s.records)
	}
	if rec["status"] != "cancelled" || rec["shop_status"] != "TRADE_CLOSED" || rec["updated_at"] == full["updated_at"] ||
		rec["total"] != full["total"] || rec["buyer_name"] != full["buyer_name"] || rec["items"] != full["items"] {
		t.Fatalf("closed record %v", rec)
	}

	// The paid push again, a later version of the message: the same record is updated in full.
	again := []byte(strings.Replace(string(paid), `"version":`, `"version":1`, 1))
	from = len(s.requests())
	push("run3", again, "trade_TradePaid")
	if got := strings.Join(writes(from), ", "); got != "/api/v5/app/entry/data/update" || len(s.records) != 1 || rec["status"] != "paid" {
		t.Fatalf("paid again: writes %s, records %v", got, s.records)
	}

	// Two records with the order number: review, nothing written.
	s.add(1, func(int) map[string]any {
		return map[string]any{"order_no": "E20261120180203040500017", "status": "paid"}
	})
	from = len(s.requests())
	run := push("run4", paid, "trade_TradePaid")
	if cands, _ := run.State.Vars["candidates"].([]any); len(writes(from)) != 0 || run.State.Vars["review"] != "duplicate_records" || len(cands) != 2 {
		t.Fatalf("ambiguous: writes %v, vars %v", writes(from), run.State.Vars)
	}
}
