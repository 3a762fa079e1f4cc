package paypal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePayPal is a local stand-in for PayPal's REST API that checks requests the way PayPal documents them:
// the token endpoint wants basic auth and grant_type=client_credentials; verify-webhook-signature wants every
// field with its documented pattern and answers SUCCESS only for a delivery registered with it; the Orders and
// Payments endpoints want a bearer token it issued, JSON bodies of the documented shape and PayPal-Request-Id.
type fakePayPal struct {
	t      *testing.T
	srv    *httptest.Server
	id     string
	secret string

	mu          sync.Mutex
	issued      map[string]bool
	tokenCalls  int
	verifyCalls int
	deliveries  []verifyRequest
	calls       []apiCall
	failures    map[string]cannedAnswer // by path: the next answer to give there
	byRequestID map[string][]byte       // idempotent replays
	nextID      int
}

type apiCall struct {
	Method, Path, RequestID string
	Body                    map[string]any
}

type cannedAnswer struct {
	status int
	header map[string]string
	body   string
}

// verifyRequest is the body of POST /v1/notifications/verify-webhook-signature, with the event kept as bytes.
type verifyRequest struct {
	AuthAlgo         string          `json:"auth_algo"`
	CertURL          string          `json:"cert_url"`
	TransmissionID   string          `json:"transmission_id"`
	TransmissionSig  string          `json:"transmission_sig"`
	TransmissionTime string          `json:"transmission_time"`
	WebhookID        string          `json:"webhook_id"`
	WebhookEvent     json.RawMessage `json:"webhook_event"`
}

func newFakePayPal(t *testing.T) *fakePayPal {
	f := &fakePayPal{t: t, id: "AYSq3RDGsmBLJE-otTkBtM-jBRd1TCQwFf9RGfwddNXWz0uFU9ztymylOhRS",
		secret: "EGnHDxD_qRPdaLdZz8iCr8N7_MzF-YHPTkjs6NKYQvQSBngp4PTTVWkPZRbL", issued: map[string]bool{},
		failures: map[string]cannedAnswer{}, byRequestID: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// fields are the credential fields of the app the fake knows.
func (f *fakePayPal) fields() map[string]string {
	return map[string]string{fieldEnvironment: envCustom, fieldBaseURL: f.srv.URL, fieldClientID: f.id,
		fieldClientSecret: f.secret, fieldWebhookID: "8PT597110X687430LKGECATA"}
}

// register makes the fake vouch for one delivery: these headers with exactly these body bytes.
func (f *fakePayPal) register(h http.Header, body []byte, webhookID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deliveries = append(f.deliveries, verifyRequest{
		AuthAlgo: h.Get(headerAuthAlgo), CertURL: h.Get(headerCertURL), TransmissionID: h.Get(headerTransmissionID),
		TransmissionSig: h.Get(headerTransmissionSig), TransmissionTime: h.Get(headerTransmissionTime),
		WebhookID: webhookID, WebhookEvent: append([]byte(nil), body...)})
}

func (f *fakePayPal) failNext(path string, a cannedAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[path] = a
}

func (f *fakePayPal) recorded() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiCall(nil), f.calls...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func paypalError(w http.ResponseWriter, status int, name, message string, details ...map[string]any) {
	writeJSON(w, status, map[string]any{"name": name, "message": message, "debug_id": "f2b3c4d5e6a7b", "details": details})
}

var (
	alnum       = regexp.MustCompile(`^[a-zA-Z0-9]+$`)
	idLike      = regexp.MustCompile(`^\w+\S+$`) // with allDigits: PayPal's ^(?!\d+$)\w+\S+
	allDigits   = regexp.MustCompile(`^\d+$`)
	capturePath = regexp.MustCompile(`^/v2/checkout/orders/([A-Z0-9]+)/capture$`)
	refundPath  = regexp.MustCompile(`^/v2/payments/captures/([A-Z0-9]+)/refund$`)
)

func (f *fakePayPal) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/v1/oauth2/token" {
		f.token(w, r, body)
		return
	}
	if !f.authorised(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_token", "error_description": "Token signature verification failed"})
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		paypalError(w, http.StatusBadRequest, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema.")
		return
	}
	if r.URL.Path == "/v1/notifications/verify-webhook-signature" {
		f.verify(w, body)
		return
	}
	rid := r.Header.Get("PayPal-Request-Id")
	if rid == "" {
		f.t.Errorf("%s %s without PayPal-Request-Id", r.Method, r.URL.Path)
		paypalError(w, http.StatusBadRequest, "INVALID_REQUEST", "PayPal-Request-Id is required.")
		return
	}
	var parsed map[string]any
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &parsed); err != nil {
			paypalError(w, http.StatusBadRequest, "INVALID_REQUEST", "Request is not well-formed.", map[string]any{"issue": "MALFORMED_REQUEST_JSON"})
			return
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, apiCall{Method: r.Method, Path: r.URL.Path, RequestID: rid, Body: parsed})
	canned, failing := f.failures[r.URL.Path]
	delete(f.failures, r.URL.Path)
	replay, seen := f.byRequestID[rid]
	f.mu.Unlock()
	if failing {
		for k, v := range canned.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(canned.status)
		_, _ = io.WriteString(w, canned.body)
		return
	}
	if seen {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(replay)
		return
	}
	var status int
	var answer any
	switch {
	case r.URL.Path == "/v2/checkout/orders":
		status, answer = f.createOrder(parsed)
	case capturePath.MatchString(r.URL.Path):
		status, answer = f.capture(capturePath.FindStringSubmatch(r.URL.Path)[1], parsed)
	case refundPath.MatchString(r.URL.Path):
		status, answer = f.refund(refundPath.FindStringSubmatch(r.URL.Path)[1], parsed)
	default:
		paypalError(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "The specified resource does not exist.")
		return
	}
	raw, _ := json.Marshal(answer)
	if status == http.StatusCreated {
		f.mu.Lock()
		f.byRequestID[rid] = raw
		f.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

func (f *fakePayPal) token(w http.ResponseWriter, r *http.Request, body []byte) {
	user, pass, ok := r.BasicAuth()
	form, _ := url.ParseQuery(string(body))
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") ||
		form.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})
		return
	}
	if !ok || user != f.id || pass != f.secret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_description": "Client Authentication failed"})
		return
	}
	f.mu.Lock()
	f.tokenCalls++
	tok := fmt.Sprintf("A21AAF-fake-token-%d", f.tokenCalls)
	f.issued[tok] = true
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"scope": "https://uri.paypal.com/services/payments/payment", "access_token": tok,
		"token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400, "nonce": "2024-01-01T00:00:00Zabc"})
}

func (f *fakePayPal) authorised(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	return ok && f.issued[tok]
}

func (f *fakePayPal) revokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issued = map[string]bool{}
}

func (f *fakePayPal) verify(w http.ResponseWriter, body []byte) {
	f.mu.Lock()
	f.verifyCalls++
	f.mu.Unlock()
	var v verifyRequest
	if err := json.Unmarshal(body, &v); err != nil {
		paypalError(w, http.StatusBadRequest, "INVALID_REQUEST", "Request is not well-formed.")
		return
	}
	var issues []map[string]any
	check := func(field string, ok bool) {
		if !ok {
			issues = append(issues, map[string]any{"field": field, "location": "body", "issue": "INVALID_PARAMETER_SYNTAX"})
		}
	}
	check("auth_algo", alnum.MatchString(v.AuthAlgo) && len(v.AuthAlgo) <= 100)
	u, err := url.Parse(v.CertURL)
	check("cert_url", err == nil && u.Scheme != "" && u.Host != "" && len(v.CertURL) <= 500)
	check("transmission_id", v.TransmissionID != "" && idLike.MatchString(v.TransmissionID) && !allDigits.MatchString(v.TransmissionID) && len(v.TransmissionID) <= 50)
	check("transmission_sig", v.TransmissionSig != "" && idLike.MatchString(v.TransmissionSig) && !allDigits.MatchString(v.TransmissionSig) && len(v.TransmissionSig) <= 500)
	_, err = time.Parse(time.RFC3339, v.TransmissionTime)
	check("transmission_time", err == nil)
	check("webhook_id", alnum.MatchString(v.WebhookID))
	check("webhook_event", len(v.WebhookEvent) > 0 && v.WebhookEvent[0] == '{')
	if len(issues) > 0 {
		paypalError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid request - see details", issues...)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.deliveries {
		if d.AuthAlgo == v.AuthAlgo && d.CertURL == v.CertURL && d.TransmissionID == v.TransmissionID &&
			d.TransmissionSig == v.TransmissionSig && d.TransmissionTime == v.TransmissionTime &&
			d.WebhookID == v.WebhookID && bytes.Equal(d.WebhookEvent, v.WebhookEvent) {
			writeJSON(w, http.StatusOK, map[string]any{"verification_status": "SUCCESS"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"verification_status": "FAILURE"})
}

func (f *fakePayPal) newID(prefix string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	return fmt.Sprintf("%s%014d", prefix, f.nextID)
}

var decimalPattern = regexp.MustCompile(`^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$`)

func validMoney(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	cur, _ := m["currency_code"].(string)
	val, _ := m["value"].(string)
	return len(cur) == 3 && decimalPattern.MatchString(val) && len(m) == 2
}

func (f *fakePayPal) createOrder(b map[string]any) (int, any) {
	units, _ := b["purchase_units"].([]any)
	if b["intent"] != "CAPTURE" || len(units) == 0 {
		return http.StatusBadRequest, map[string]any{"name": "INVALID_REQUEST", "message": "intent and purchase_units are required"}
	}
	for _, u := range units {
		pu, _ := u.(map[string]any)
		if !validMoney(pu["amount"]) {
			return http.StatusBadRequest, map[string]any{"name": "INVALID_REQUEST", "message": "amount is not well-formed",
				"details": []any{map[string]any{"field": "/purchase_units/@reference_id=='default'/amount", "issue": "INVALID_PARAMETER_SYNTAX"}}}
		}
	}
	id := f.newID("5O1901")
	rel := "approve"
	if _, ok := b["payment_source"]; ok {
		rel = "payer-action"
	}
	return http.StatusCreated, map[string]any{"id": id, "status": "CREATED", "intent": "CAPTURE", "purchase_units": units,
		"links": []any{
			map[string]any{"href": f.srv.URL + "/v2/checkout/orders/" + id, "rel": "self", "method": "GET"},
			map[string]any{"href": "https://www.sandbox.paypal.com/checkoutnow?token=" + id, "rel": rel, "method": "GET"},
		}}
}

func (f *fakePayPal) capture(orderID string, b map[string]any) (int, any) {
	if len(b) > 0 {
		return http.StatusBadRequest, map[string]any{"name": "INVALID_REQUEST", "message": "unexpected body"}
	}
	return http.StatusCreated, map[string]any{"id": orderID, "status": "COMPLETED",
		"payer": map[string]any{"payer_id": "QYR5Z8XDVJNXQ", "email_address": "buyer@example.com", "name": map[string]any{"given_name": "John", "surname": "Doe"}},
		"purchase_units": []any{map[string]any{"reference_id": "default", "payments": map[string]any{"captures": []any{
			map[string]any{"id": "3C679366HH908993F", "status": "COMPLETED", "custom_id": "ord_8f3a",
				"amount": map[string]any{"currency_code": "USD", "value": "100.00"}},
		}}}}}
}

func (f *fakePayPal) refund(captureID string, b map[string]any) (int, any) {
	amount := map[string]any{"currency_code": "USD", "value": "100.00"}
	if a, ok := b["amount"]; ok {
		if !validMoney(a) {
			return http.StatusBadRequest, map[string]any{"name": "INVALID_REQUEST", "message": "amount is not well-formed"}
		}
		amount = a.(map[string]any)
	}
	return http.StatusCreated, map[string]any{"id": f.newID("1JU08"), "status": "COMPLETED", "amount": amount,
		"links": []any{map[string]any{"href": f.srv.URL + "/v2/payments/captures/" + captureID, "rel": "up", "method": "GET"}}}
}
