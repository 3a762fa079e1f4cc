package shopify

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
	_ "github.com/ferry-hq/ferry/nodes/core"
)

// TestOrderPaidTemplateRuns delivers the orders/paid vector signed by Shopify's library to the template's
// trigger and runs the flow: the robot gets one message naming the order, its total and its customer.
func TestOrderPaidTemplateRuns(t *testing.T) {
	var mu sync.Mutex
	var messages []string
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		messages = append(messages, string(b))
		mu.Unlock()
		io.WriteString(w, `{"errcode":0}`)
	}))
	defer robot.Close()
	data, err := fs.ReadFile(templates.FS(), "shopify-order-paid-notify.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := flows.Parse([]byte(strings.ReplaceAll(string(data), "https://chat.example.com/robot/send?key=XXXX", robot.URL+"/send")))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	vf := loadVectors(t)
	v := vf.Vectors[0]
	acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(),
		delivery{body: body(t, v.File), hmac: v.HMAC, topic: v.Topic, shop: v.Shop, webhookID: v.WebhookID}.request(vf.Secret))
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if acc.DedupKey != v.WebhookID || acc.BusinessKey != "#1001" {
		t.Fatalf("keys %q %q", acc.DedupKey, acc.BusinessKey)
	}
	eng := &engine.Engine{HTTP: testenv.LocalClient()}
	run := &engine.Run{ID: "run1", FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: acc.Payload,
		State: engine.NewState(c, c.Webhook.Def.ID, acc.Payload)}
	if out := eng.Execute(context.Background(), c, run); out.Status != engine.StatusSucceeded {
		t.Fatalf("run %s: %+v", out.Status, out.Error)
	}
	if len(messages) != 1 {
		t.Fatalf("messages %v", messages)
	}
	var msg struct {
		Text struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	json.Unmarshal([]byte(messages[0]), &msg)
	if msg.Text.Content != "Shopify order #1001 paid: 149.99 EUR by Ada Lovelace (2 items)" {
		t.Fatalf("message %q", msg.Text.Content)
	}
}
