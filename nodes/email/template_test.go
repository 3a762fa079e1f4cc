package email

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const stripeKey = "rk_test_51summaryReadOnly"

// stripeStandIn answers GET /v1/payment_intents as Stripe documents it (API reference, "List all PaymentIntents"):
// a bearer secret key, created[gte] / created[lt] as Unix seconds, limit 1–100, and a list object of the
// payment intents created in that window, newest first; anything else gets Stripe's error object.
type stripeStandIn struct {
	*httptest.Server
	mu       sync.Mutex
	payments []map[string]any
	lists    int
}

func stripeError(w http.ResponseWriter, status int, typ, msg, param string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": typ, "message": msg, "param": param}})
}

func newStripeStandIn(t *testing.T, payments []map[string]any) *stripeStandIn {
	s := &stripeStandIn{payments: payments}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Method != http.MethodGet || r.URL.Path != "/v1/payment_intents" {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			stripeError(w, http.StatusNotFound, "invalid_request_error", "Unrecognized request URL ("+r.Method+": "+r.URL.Path+").", "")
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+stripeKey {
			stripeError(w, http.StatusUnauthorized, "invalid_request_error", "Invalid API Key provided", "")
			return
		}
		q := r.URL.Query()
		gte, err1 := strconv.ParseInt(q.Get("created[gte]"), 10, 64)
		lt, err2 := strconv.ParseInt(q.Get("created[lt]"), 10, 64)
		limit, err3 := strconv.Atoi(q.Get("limit"))
		switch {
		case err1 != nil:
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "Invalid integer: "+q.Get("created[gte]"), "created[gte]")
			return
		case err2 != nil:
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "Invalid integer: "+q.Get("created[lt]"), "created[lt]")
			return
		case err3 != nil || limit < 1 || limit > 100:
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "This value must be between 1 and 100.", "limit")
			return
		}
		s.lists++
		data := []map[string]any{}
		for _, p := range s.payments {
			if c := p["created"].(int64); c >= gte && c < lt {
				data = append(data, p)
			}
		}
		more := len(data) > limit
		if more {
			data = data[:limit]
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "url": "/v1/payment_intents", "has_more": more, "data": data})
	}))
	t.Cleanup(s.Close)
	return s
}

// TestDailySummaryTemplateRuns runs the "Daily summary: yesterday's Stripe payments by e-mail" template on the
// scheduler's 08:00 tick against the Stripe stand-in and the SMTP server: Stripe is asked for exactly yesterday in
// Beijing time, and the message received counts succeeded and failed payments and totals each currency in its own
// minor units, in the text and the HTML body.
func TestDailySummaryTemplateRuns(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, cst)
	at := func(h int) int64 { return day.Add(time.Duration(h) * time.Hour).Unix() }
	pi := func(id string, created int64, status string, amount, received int64, currency string, failure map[string]any) map[string]any {
		return map[string]any{"id": id, "object": "payment_intent", "created": created, "status": status, "amount": amount,
			"amount_received": received, "currency": currency, "livemode": false, "metadata": map[string]any{}, "last_payment_error": failure}
	}
	declined := map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}
	st := newStripeStandIn(t, []map[string]any{
		pi("pi_late", at(24), "succeeded", 99900, 99900, "cny", nil), // today: not in yesterday's summary
		pi("pi_jpy", at(22), "succeeded", 1200, 1200, "jpy", nil),
		pi("pi_usd", at(20), "succeeded", 1999, 1999, "usd", nil),
		pi("pi_fail", at(15), "requires_payment_method", 5000, 0, "cny", declined),
		pi("pi_wait", at(12), "processing", 3000, 0, "cny", nil),
		pi("pi_cny2", at(9), "succeeded", 8800, 8800, "cny", nil),
		pi("pi_cny1", at(0), "succeeded", 25900, 25900, "cny", nil),
		pi("pi_early", at(0)-1, "succeeded", 77700, 77700, "cny", nil), // the day before: not counted
	})
	smtpSrv := startServer(t, "starttls")

	data, err := fs.ReadFile(templates.FS(), "stripe-daily-summary-email.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(data), "https://api.stripe.com", st.URL)
	f, err := flows.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	fields := smtpSrv.fields(SecurityStartTLS)
	ct, _ := nodes.LookupCredentialType(CredentialType)
	eng := &engine.Engine{HTTP: testenv.LocalClient(), Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{
		"stripe-read-key": {Name: "Stripe read key", Type: "http.bearer", Fields: map[string]string{"token": stripeKey}, Destinations: egress.MustDestinations(st.URL)},
		"smtp":            {Name: "Mail", Type: CredentialType, Fields: fields, Destinations: egress.MustDestinations(ct.Destinations(fields)...)},
	})}
	tick := map[string]any{"scheduledAt": "2026-12-08T08:00:00+08:00", "timezone": "Asia/Shanghai"}
	run := &engine.Run{ID: "run1", FlowID: "flow1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, Trigger: tick,
		State: engine.NewState(c, "daily", tick)}
	out := eng.Execute(context.Background(), c, run)
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("run %s: %+v", out.Status, out.Error)
	}
	if st.lists != 1 {
		t.Fatalf("Stripe listed %d times", st.lists)
	}

	msgs := smtpSrv.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if !msgs[0].tls || msgs[0].from != "alerts@ferry.example" || strings.Join(msgs[0].rcpts, ",") != "finance@example.com" {
		t.Fatalf("envelope tls=%v from %q to %v", msgs[0].tls, msgs[0].from, msgs[0].rcpts)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msgs[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); subject != "Stripe daily summary 2026-12-07: 4 paid, 1 failed" {
		t.Errorf("subject %q", subject)
	}
	var parts []part
	walk(t, m.Header.Get("Content-Type"), m.Header, m.Body, &parts)
	bodies := map[string]string{}
	for _, p := range parts {
		bodies[p.contentType] = strings.ReplaceAll(string(p.body), "\r\n", "\n")
	}
	wantText := "Stripe payments on 2026-12-07 (Beijing time)\n\n" +
		"Payments created: 6\nSucceeded: 4\nFailed: 1\n\n" +
		"Received:\n- 347.00 CNY (2 paid)\n- 1200 JPY (1 paid)\n- 19.99 USD (1 paid)\n"
	if bodies["text/plain"] != wantText {
		t.Errorf("text body\n got %q\nwant %q", bodies["text/plain"], wantText)
	}
	wantHTML := "<h2>Stripe payments on 2026-12-07</h2>\n" +
		"<p>Beijing time. Created: <b>6</b>, succeeded: <b>4</b>, failed: <b>1</b>.</p>\n" +
		"<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n<tr><th>Currency</th><th>Received</th><th>Payments</th></tr>\n" +
		"<tr><td>CNY</td><td align=\"right\">347.00</td><td align=\"right\">2</td></tr>\n" +
		"<tr><td>JPY</td><td align=\"right\">1200</td><td align=\"right\">1</td></tr>\n" +
		"<tr><td>USD</td><td align=\"right\">19.99</td><td align=\"right\">1</td></tr>\n</table>\n"
	if bodies["text/html"] != wantHTML {
		t.Errorf("HTML body\n got %q\nwant %q", bodies["text/html"], wantHTML)
	}
}
