package youzan

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
)

// TestOrderTemplateRuns pushes the trade_TradePaid vector to the template's trigger and runs the flow: the order
// system receives the normalised order once, with Youzan's amounts in exact CNY and the time in UTC.
func TestOrderTemplateRuns(t *testing.T) {
	var mu sync.Mutex
	var posted []map[string]any
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("the order system got %s", b)
		}
		mu.Lock()
		posted = append(posted, doc)
		mu.Unlock()
		io.WriteString(w, `{"ok":true}`)
	}))
	defer orders.Close()
	data, err := fs.ReadFile(templates.FS(), "youzan-order-normalised.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := flows.Parse([]byte(strings.ReplaceAll(string(data), "https://orders.example.com/api/shop-orders", orders.URL+"/orders")))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	vf := loadVectors(t)
	acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(), vectorPush(t, vf, 0).request())
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if acc.BusinessKey != "E20261120180203040500017" {
		t.Fatalf("business key %q", acc.BusinessKey)
	}
	eng := &engine.Engine{HTTP: testenv.LocalClient()}
	run := &engine.Run{ID: "run1", FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: acc.Payload,
		State: engine.NewState(c, c.Webhook.Def.ID, acc.Payload)}
	if out := eng.Execute(context.Background(), c, run); out.Status != engine.StatusSucceeded {
		t.Fatalf("run %s: %+v", out.Status, out.Error)
	}
	if len(posted) != 1 {
		t.Fatalf("posted %v", posted)
	}
	got := posted[0]
	want := map[string]any{"source": "youzan", "event": "paid", "orderNumber": "E20261120180203040500017", "status": "paid",
		"shopStatus": "WAIT_SELLER_SEND_GOODS", "time": "2026-11-20T10:02:03Z",
		"total":    map[string]any{"minor": 14500.0, "currency": "CNY", "decimal": "145.00"},
		"discount": map[string]any{"minor": 2000.0, "currency": "CNY", "decimal": "20.00"}}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if items, _ := got["items"].([]any); len(items) != 2 || items[0].(map[string]any)["sku"] != "LJ-250" {
		t.Errorf("items %v", got["items"])
	}
	// The other shops' pushes of the same app start nothing.
	other := vectorPush(t, vf, 0)
	other.fields = map[string]string{FieldClientID: testClientID, FieldClientSecret: testSecret, FieldGrantID: "1000"}
	if acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(), other.request()); err != nil || !acc.Skip {
		t.Errorf("another shop: %+v %v", acc, err)
	}
}
