package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// TestLeadOwnerTemplateRuns runs the "New HubSpot lead: assign an owner round-robin and tell them" template on a
// signed batch of contact.creation events against the HubSpot stand-in and a group robot: new contacts get
// owners in turn, skipping the owner listed in the flow variable onLeave, and each owner is told once with the
// lead's details and link; a contact that already has an owner is left alone and takes no turn; with everyone
// away the lead is announced as unassigned and the contact keeps no owner.
func TestLeadOwnerTemplateRuns(t *testing.T) {
	s := newStandIn(t)
	var mu sync.Mutex
	var messages []string
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			MsgType string `json:"msgtype"`
			Text    struct {
				Content string `json:"content"`
			} `json:"text"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &msg); err != nil || msg.MsgType != "text" || r.URL.Query().Get("key") != "YOUR_ROBOT_KEY" {
			t.Errorf("robot got %s %s", r.URL, b)
		}
		mu.Lock()
		messages = append(messages, msg.Text.Content)
		mu.Unlock()
		io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	defer robot.Close()
	data, err := fs.ReadFile(templates.FS(), "hubspot-lead-owner-assign.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := flows.Parse([]byte(strings.ReplaceAll(string(data), "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", robot.URL+"/send")))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	for id, p := range map[string]map[string]any{
		"201": {"firstname": "Fang", "lastname": "Wang", "email": "wang.fang@example.com", "phone": "+8613800138000", "company": "Acme Tea"},
		"202": {"firstname": "Lei", "lastname": "Li", "email": "li.lei@example.com"},
		"203": {"firstname": "Mei", "lastname": "Han", "email": "han.mei@example.com", "hubspot_owner_id": "41"},
		"204": {"firstname": "Wei", "lastname": "Zhou", "email": "zhou.wei@example.com"},
		"205": {"firstname": "Min", "lastname": "Sun", "email": "sun.min@example.com"},
	} {
		p["hs_object_id"] = id
		s.records["contacts"][id] = map[string]any{"id": id, "properties": p, "createdAt": "2026-12-07T09:00:00Z", "updatedAt": "2026-12-07T09:00:00Z", "archived": false}
	}
	// HubSpot's batch of creations, signed for the template's target URL as HubSpot signs it.
	var events []string
	for i, id := range []string{"201", "202", "203", "204", "205"} {
		events = append(events, fmt.Sprintf(`{"eventId":%d,"subscriptionId":26,"portalId":62515,"appId":54321,"occurredAt":1765100000000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":%s,"changeFlag":"CREATED","changeSource":"CRM"}`, 3001+i, id))
	}
	body := []byte("[" + strings.Join(events, ",") + "]")
	const secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
	ts := int64(1765100000500)
	at(t, ts+1000)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-HubSpot-Signature-v3", SignV3(secret, http.MethodPost, "https://ferry.example.com/hooks/YOUR_FLOW_ID", body, strconv.FormatInt(ts, 10)))
	h.Set("X-HubSpot-Request-Timestamp", strconv.FormatInt(ts, 10))
	acc, err := c.Webhook.Impl.(nodes.WebhookTrigger).Accept(context.Background(), &nodes.WebhookRequest{Method: http.MethodPost, Header: h, Body: body,
		Mode: nodes.ModeLive, Credential: func(context.Context) (map[string]string, error) {
			return map[string]string{FieldClientSecret: secret}, nil
		}})
	if err != nil || len(acc.Events) != 5 {
		t.Fatalf("Accept: %v %+v", err, acc)
	}

	eng := &engine.Engine{HTTP: testenv.LocalClient(), Rotations: nodes.NewMemoryRotations(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"hubspot": {Name: "HubSpot", Type: CredentialPrivateApp, Fields: map[string]string{FieldAccessToken: testToken}, Destinations: egress.MustDestinations(s.URL)},
	})}
	owner := func(id string) any {
		return s.records["contacts"][id]["properties"].(map[string]any)["hubspot_owner_id"]
	}
	for i, ev := range acc.Events {
		run := &engine.Run{ID: fmt.Sprintf("run%d", i), FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: ev.Payload,
			State: engine.NewState(c, c.Webhook.Def.ID, ev.Payload)}
		// Zhang Min is on leave; for the last lead, everyone is.
		run.State.Vars["onLeave"] = "51236"
		if i == 4 {
			run.State.Vars["onLeave"] = "51234, 51235,51236"
		}
		if out := eng.Execute(context.Background(), c, run); out.Status != engine.StatusSucceeded {
			t.Fatalf("run %d: %s %+v", i, out.Status, out.Error)
		}
	}
	want := map[string]any{"201": "51234", "202": "51235", "203": "41", "204": "51234", "205": nil}
	for id, w := range want {
		if got := owner(id); got != w {
			t.Errorf("contact %s: owner %v, want %v", id, got, w)
		}
	}
	link := "https://app.hubspot.com/contacts/62515/record/0-1/"
	wantMessages := []string{
		"New lead for Li Na: Fang Wang (wang.fang@example.com, +8613800138000, Acme Tea)\n" + link + "201",
		"New lead for Wang Wei: Lei Li (li.lei@example.com)\n" + link + "202",
		"New lead for Li Na: Wei Zhou (zhou.wei@example.com)\n" + link + "204",
		"New lead, no owner available (everyone is away): Min Sun (sun.min@example.com)\n" + link + "205",
	}
	if strings.Join(messages, "|") != strings.Join(wantMessages, "|") {
		t.Fatalf("messages\n%q\nwant\n%q", messages, wantMessages)
	}
	var patches []string
	for _, r := range s.received() {
		if r.Method == http.MethodPatch {
			patches = append(patches, r.URL.Path)
		}
	}
	if strings.Join(patches, ", ") != "/crm/v3/objects/contacts/201, /crm/v3/objects/contacts/202, /crm/v3/objects/contacts/204" {
		t.Fatalf("updates %v", patches)
	}
}
