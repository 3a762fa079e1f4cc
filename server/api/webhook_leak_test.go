package api_test

import (
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// closedPort returns a local TCP address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// internals matches what an anonymous caller must never read: URLs, addresses and ports, network errors.
var internals = regexp.MustCompile(`(?i)https?://|127\.0\.0\.1|:\d{2,5}\b|dial|connect|refused|tcp|verify-webhook-signature|oauth2/token`)

// TestPaymentTrigger503DoesNotLeak: a PayPal delivery whose verification endpoint cannot be reached is answered
// 503 with Retry-After, the trigger's stable code and a generic message; the address and the network error are
// in the log, with the flow, and nowhere in the answer.
func TestPaymentTrigger503DoesNotLeak(t *testing.T) {
	h := sqliteHarness(t)
	logs := &lockedBuffer{}
	h.app.API.Logger = slog.New(slog.NewTextHandler(logs, nil))
	down := closedPort(t)
	cred := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "PayPal", "type": "paypal.app",
		"live": map[string]string{"environment": "custom", "baseUrl": "http://" + down, "clientId": "app-id",
			"clientSecret": "app-secret", "webhookId": "WH-1"}}), 201)["id"].(string)
	flow := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", fmt.Sprintf(`{"schema":1,"name":"paypal","nodes":[
	  {"id":"pp","type":"paypal.trigger","credential":%q}],"edges":[]}`, cred)), 201)["id"].(string)
	// A payment provider's trigger is a webhook: the editor shows its URL (and its test URL).
	if url := h.expect(h.do("GET", "/api/v1/flows/"+flow, nil), 200)["webhookUrl"]; url != "/hooks/"+flow {
		t.Errorf("the PayPal flow's webhook URL is %v", url)
	}

	event := `{"id":"WH-EVT-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP-1","amount":{"currency_code":"USD","value":"10.00"}}}`
	res := h.do("POST", "/hooks/"+flow, event, "Authorization", "",
		"Paypal-Auth-Algo", "SHA256withRSA", "Paypal-Cert-Url", "https://api.paypal.com/v1/notifications/certs/CERT-1",
		"Paypal-Transmission-Id", "T-1", "Paypal-Transmission-Sig", "c2ln", "Paypal-Transmission-Time", time.Now().UTC().Format(time.RFC3339))
	body := h.expect(res, 503)
	e := body["error"].(map[string]any)
	if e["code"] != "paypal_verification_unavailable" {
		t.Fatalf("answer %s", res.body)
	}
	if retry, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || retry <= 0 {
		t.Errorf("Retry-After %q", res.header.Get("Retry-After"))
	}
	if leak := internals.FindString(string(res.body)); leak != "" {
		t.Errorf("the answer to an anonymous caller tells %q: %s", leak, res.body)
	}
	for k, v := range res.header {
		if all := strings.Join(v, " "); strings.Contains(all, down) || strings.Contains(all, "refused") {
			t.Errorf("header %s tells %q", k, all)
		}
	}
	log := logs.String()
	if !strings.Contains(log, "flow="+flow) || !strings.Contains(log, down) || !strings.Contains(log, "paypal_verification_unavailable") {
		t.Errorf("the log does not say which flow failed and why:\n%s", log)
	}
}

// TestSyncWebhookFailureDoesNotLeak: a synchronous webhook whose run failed at a step that met an internal
// address answers with the run id and the error's code; the step's message (the address, the network error)
// stays in the run, for people who may read runs.
func TestSyncWebhookFailureDoesNotLeak(t *testing.T) {
	h := sqliteHarness(t)
	down := closedPort(t)
	flow := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", `{"schema":1,"name":"crm","nodes":[
	  {"id":"hook","type":"core.webhook","params":{"respond":"respondNode"}},
	  {"id":"crm","type":"core.http","retry":{"maxAttempts":1},"params":{"method":"POST","url":"http://`+down+`/internal/crm"}},
	  {"id":"answer","type":"core.respond","params":{"body":"{{ prev }}"}}],
	  "edges":[{"source":"hook","target":"crm"},{"source":"crm","target":"answer"}]}`), 201)["id"].(string)
	res := h.do("POST", "/hooks/"+flow, order, "Authorization", "")
	body := h.expect(res, 500)
	e, _ := body["error"].(map[string]any)
	if body["status"] != "failed" || body["runId"] == nil || e["code"] == nil || e["code"] == "" || e["nodeId"] != "crm" {
		t.Fatalf("answer %s", res.body)
	}
	if leak := internals.FindString(string(res.body)); leak != "" {
		t.Errorf("the answer to an anonymous caller tells %q: %s", leak, res.body)
	}
	run := h.expect(h.do("GET", "/api/v1/runs/"+body["runId"].(string), nil), 200)
	if msg, _ := run["error"].(map[string]any)["message"].(string); !strings.Contains(msg, down) && !internals.MatchString(msg) {
		t.Errorf("the run lost the cause: %v", run["error"])
	}
}
