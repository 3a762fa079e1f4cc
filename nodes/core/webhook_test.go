package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

func webhook(t *testing.T, params, credential string) nodes.WebhookTrigger {
	t.Helper()
	n, err := build(t, WebhookType, params, credential)
	if err != nil {
		t.Fatalf("build webhook %s: %v", params, err)
	}
	return n.(nodes.WebhookTrigger)
}

type hookCall struct {
	method  string
	header  map[string]string
	query   string
	body    string
	cred    map[string]string
	credErr error
}

func (c hookCall) request() *nodes.WebhookRequest {
	h := http.Header{}
	for k, v := range c.header {
		h.Set(k, v)
	}
	q, _ := url.ParseQuery(c.query)
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	return &nodes.WebhookRequest{Method: method, Header: h, Query: q, Body: []byte(c.body), Mode: nodes.ModeLive,
		Credential: func(context.Context) (map[string]string, error) {
			if c.credErr != nil {
				return nil, c.credErr
			}
			return c.cred, nil
		}}
}

func wantWebhookError(t *testing.T, err error, status int, code string) *nodes.WebhookError {
	t.Helper()
	var we *nodes.WebhookError
	if !errors.As(err, &we) {
		t.Fatalf("error = %v, want *nodes.WebhookError %d %s", err, status, code)
	}
	if we.Status != status || we.Code != code {
		t.Fatalf("rejection = %d %s (%v), want %d %s", we.Status, we.Code, we.Err, status, code)
	}
	return we
}

func sign(secret, body string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return m.Sum(nil)
}

func TestWebhookConfig(t *testing.T) {
	tests := []struct {
		name, params, credential string
		field, code              string
	}{
		{"unknown method", `{"method": "TRACE"}`, "", "method", nodes.CodeParamInvalid},
		{"auth without credential", `{"auth": "hmac"}`, "", "credential", CodeCredentialRequired},
		{"bad token header", `{"auth": "header", "authHeader": "X Token"}`, "c1", "authHeader", nodes.CodeParamInvalid},
		{"bad signature header", `{"auth": "hmac", "signatureHeader": "X-Sig:"}`, "c1", "signatureHeader", nodes.CodeParamInvalid},
		{"timeout too long", `{"respond": "respondNode", "timeout": "90s"}`, "", "timeout", nodes.CodeParamInvalid},
		{"timeout not a duration", `{"respond": "respondNode", "timeout": "soon"}`, "", "timeout", nodes.CodeParamInvalid},
		{"body limit zero", `{"maxBodyBytes": 0}`, "", "maxBodyBytes", nodes.CodeParamInvalid},
		{"dedup key syntax", `{"dedupKey": "trigger.body.("}`, "", "dedupKey", "expression_invalid"},
		{"unknown parameter", `{"secret": "s3cret"}`, "", "secret", nodes.CodeParamUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, WebhookType, tc.params, tc.credential)
			wantProblem(t, err, tc.field, tc.code)
		})
	}

	// A timeout is only checked when the caller waits for it.
	webhook(t, `{"respond": "immediately", "timeout": "90s"}`, "")
	// The expression problem points at the column.
	_, err := build(t, WebhookType, `{"businessKey": "trigger.body.order_id +"}`, "")
	if p := wantProblem(t, err, "businessKey", "expression_invalid"); p.Line != 1 || p.Column == 0 {
		t.Fatalf("problem = %+v, want a line and column", p)
	}
}

func TestWebhookMethod(t *testing.T) {
	post := webhook(t, `{}`, "")
	_, err := post.Accept(context.Background(), hookCall{method: http.MethodGet}.request())
	wantWebhookError(t, err, http.StatusMethodNotAllowed, CodeWebhookMethodNotAllowed)
	if _, err := post.Accept(context.Background(), hookCall{}.request()); err != nil {
		t.Fatalf("POST: %v", err)
	}
	anyMethod := webhook(t, `{"method": "ANY"}`, "")
	for _, m := range []string{http.MethodGet, http.MethodDelete, http.MethodPatch} {
		acc, err := anyMethod.Accept(context.Background(), hookCall{method: m}.request())
		if err != nil || acc.Payload["method"] != m {
			t.Fatalf("%s: %v %v", m, acc, err)
		}
	}
}

func TestWebhookBodyLimit(t *testing.T) {
	n := webhook(t, `{"maxBodyBytes": 10}`, "")
	_, err := n.Accept(context.Background(), hookCall{body: `{"a": "12345"}`, header: map[string]string{"Content-Type": "application/json"}}.request())
	wantWebhookError(t, err, http.StatusRequestEntityTooLarge, CodeWebhookBodyTooLarge)
	if _, err := n.Accept(context.Background(), hookCall{body: `{"a": 1}`}.request()); err != nil {
		t.Fatalf("small body: %v", err)
	}
}

func TestWebhookAuth(t *testing.T) {
	body := `{"event_id": "evt_1"}`
	hexSig := hex.EncodeToString(sign("whsec", body))
	b64Sig := base64.StdEncoding.EncodeToString(sign("whsec", body))
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tokenCred := map[string]string{"token": "tok_123"}
	basicCred := map[string]string{"username": "shop", "password": "pa:ss"}
	hmacCred := map[string]string{"secret": "whsec"}

	const (
		headerAuth = `{"auth": "header"}`
		apiKeyAuth = `{"auth": "header", "authHeader": "X-Api-Key"}`
		basicAuth  = `{"auth": "basic"}`
		hexAuth    = `{"auth": "hmac", "signatureHeader": "X-Hub-Signature-256", "signaturePrefix": "sha256="}`
		b64Auth    = `{"auth": "hmac", "signatureEncoding": "base64"}`
	)
	tests := []struct {
		name   string
		params string
		call   hookCall
		status int // 0: accepted
		code   string
	}{
		{"token bare", headerAuth, hookCall{header: map[string]string{"Authorization": "tok_123"}, cred: tokenCred}, 0, ""},
		{"token bearer", headerAuth, hookCall{header: map[string]string{"Authorization": "Bearer tok_123"}, cred: tokenCred}, 0, ""},
		{"token custom header", apiKeyAuth, hookCall{header: map[string]string{"X-Api-Key": "tok_123"}, cred: tokenCred}, 0, ""},
		{"token wrong", headerAuth, hookCall{header: map[string]string{"Authorization": "Bearer tok_124"}, cred: tokenCred}, 401, CodeWebhookUnauthorized},
		{"token missing", headerAuth, hookCall{cred: tokenCred}, 401, CodeWebhookUnauthorized},
		{"token prefix of secret", headerAuth, hookCall{header: map[string]string{"Authorization": "tok_12"}, cred: tokenCred}, 401, CodeWebhookUnauthorized},
		{"basic", basicAuth, hookCall{header: map[string]string{"Authorization": basic("shop", "pa:ss")}, cred: basicCred}, 0, ""},
		{"basic wrong password", basicAuth, hookCall{header: map[string]string{"Authorization": basic("shop", "pa")}, cred: basicCred}, 401, CodeWebhookUnauthorized},
		{"basic wrong user", basicAuth, hookCall{header: map[string]string{"Authorization": basic("shop2", "pa:ss")}, cred: basicCred}, 401, CodeWebhookUnauthorized},
		{"basic not base64", basicAuth, hookCall{header: map[string]string{"Authorization": "Basic %%%"}, cred: basicCred}, 401, CodeWebhookUnauthorized},
		{"basic as bearer", basicAuth, hookCall{header: map[string]string{"Authorization": "Bearer x"}, cred: basicCred}, 401, CodeWebhookUnauthorized},
		{"hmac hex with prefix", hexAuth, hookCall{body: body, header: map[string]string{"X-Hub-Signature-256": "sha256=" + hexSig}, cred: hmacCred}, 0, ""},
		{"hmac hex upper case", hexAuth, hookCall{body: body, header: map[string]string{"X-Hub-Signature-256": "sha256=" + strings.ToUpper(hexSig)}, cred: hmacCred}, 0, ""},
		{"hmac without prefix", hexAuth, hookCall{body: body, header: map[string]string{"X-Hub-Signature-256": hexSig}, cred: hmacCred}, 401, CodeWebhookUnauthorized},
		{"hmac wrong signature", hexAuth, hookCall{body: body, header: map[string]string{"X-Hub-Signature-256": "sha256=" + hex.EncodeToString(sign("other", body))}, cred: hmacCred}, 401, CodeWebhookUnauthorized},
		{"hmac body changed", hexAuth, hookCall{body: body + " ", header: map[string]string{"X-Hub-Signature-256": "sha256=" + hexSig}, cred: hmacCred}, 401, CodeWebhookUnauthorized},
		{"hmac missing signature", hexAuth, hookCall{body: body, cred: hmacCred}, 401, CodeWebhookUnauthorized},
		{"hmac not hex", hexAuth, hookCall{body: body, header: map[string]string{"X-Hub-Signature-256": "sha256=zz"}, cred: hmacCred}, 401, CodeWebhookUnauthorized},
		{"hmac base64", b64Auth, hookCall{body: body, header: map[string]string{"X-Signature": b64Sig}, cred: hmacCred}, 0, ""},
		{"hmac base64 given hex", b64Auth, hookCall{body: body, header: map[string]string{"X-Signature": hexSig}, cred: hmacCred}, 401, CodeWebhookUnauthorized},
		{"no credential", hexAuth, hookCall{body: body, credErr: nodes.ErrNoCredential}, 500, CodeWebhookCredentialMissing},
		{"credential without secret", hexAuth, hookCall{body: body, cred: map[string]string{"token": "x"}}, 500, CodeWebhookCredentialMissing},
		{"vault down", headerAuth, hookCall{credErr: errors.New("vault: sealed")}, 503, CodeWebhookCredentialUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := webhook(t, tc.params, "cred1")
			acc, err := n.Accept(context.Background(), tc.call.request())
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("Accept: %v", err)
				}
				if acc.Payload == nil {
					t.Fatal("no payload")
				}
				return
			}
			we := wantWebhookError(t, err, tc.status, tc.code)
			for _, secret := range []string{"tok_123", "pa:ss", "whsec"} {
				if strings.Contains(we.Error(), secret) {
					t.Fatalf("rejection %q reveals a secret", we.Error())
				}
			}
		})
	}
}

func TestWebhookRedactsAuthHeader(t *testing.T) {
	n := webhook(t, `{"auth": "header", "authHeader": "X-Api-Key"}`, "cred1")
	acc, err := n.Accept(context.Background(), hookCall{
		header: map[string]string{"X-Api-Key": "tok_123", "X-Request-Id": "r1"},
		cred:   map[string]string{"token": "tok_123"},
	}.request())
	if err != nil {
		t.Fatal(err)
	}
	headers := acc.Payload["headers"].(map[string]any)
	if headers["x-api-key"] != "[redacted]" || headers["x-request-id"] != "r1" {
		t.Fatalf("headers = %v", headers)
	}
}

// TestWebhookNeverStoresCallersCredentials: a script that sends its Ferry API token or session cookie along
// with a webhook (or a proxy that adds its own login) must not leave it in run data.
func TestWebhookNeverStoresCallersCredentials(t *testing.T) {
	n := webhook(t, `{}`, "")
	acc, err := n.Accept(context.Background(), hookCall{header: map[string]string{
		"Authorization": "Bearer fry_secret", "Cookie": "ferry_session=s3cret", "Proxy-Authorization": "Basic eA==",
		"X-CSRF-Token": "c", "X-Request-Id": "r1"}}.request())
	if err != nil {
		t.Fatal(err)
	}
	headers := acc.Payload["headers"].(map[string]any)
	for _, h := range []string{"authorization", "cookie", "proxy-authorization", "x-csrf-token"} {
		if headers[h] != "[redacted]" {
			t.Errorf("%s stored as %v", h, headers[h])
		}
	}
	if headers["x-request-id"] != "r1" {
		t.Errorf("ordinary headers must stay: %v", headers)
	}
}

func TestWebhookBodies(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)
	tests := []struct {
		name        string
		contentType string
		body        string
		want        any
		wantErr     string // substring of the 400 message
	}{
		{"json", "application/json", `{"order_id": "ord_1", "amount": 149.99, "qty": 2}`,
			map[string]any{"order_id": "ord_1", "amount": 149.99, "qty": int64(2)}, ""},
		{"json with charset", "application/json; charset=utf-8", `[1, 2]`, []any{int64(1), int64(2)}, ""},
		{"vendor json", "application/vnd.api+json", `{"a": true}`, map[string]any{"a": true}, ""},
		{"malformed json", "application/json", "{\n  \"a\": 1,\n  \"b\": }", nil, "line 3, column 8"},
		{"deep json", "application/json", deep, nil, "deeper than 64"},
		{"form", "application/x-www-form-urlencoded", "trade_no=2026&trade_status=TRADE_SUCCESS&tag=a&tag=b&name=%E5%BC%A0",
			map[string]any{"trade_no": "2026", "trade_status": "TRADE_SUCCESS", "tag": []any{"a", "b"}, "name": "张"}, ""},
		{"malformed form", "application/x-www-form-urlencoded", "a=%zz", nil, "form body"},
		{"text", "text/plain", "success", "success", ""},
		{"xml as text", "application/xml", "<xml><a>1</a></xml>", "<xml><a>1</a></xml>", ""},
		{"empty", "application/json", "", nil, ""},
		{"blank", "application/json", "  \n", nil, ""},
		{"sniffed json", "", `{"a": 1}`, map[string]any{"a": int64(1)}, ""},
		{"sniffed text", "", `{not json`, `{not json`, ""},
	}
	n := webhook(t, `{}`, "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			call := hookCall{body: tc.body, header: map[string]string{}}
			if tc.contentType != "" {
				call.header["Content-Type"] = tc.contentType
			}
			acc, err := n.Accept(context.Background(), call.request())
			if tc.wantErr != "" {
				we := wantWebhookError(t, err, http.StatusBadRequest, CodeWebhookBodyInvalid)
				if !strings.Contains(we.Error(), tc.wantErr) {
					t.Fatalf("message %q does not contain %q", we.Error(), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			if got := acc.Payload["body"]; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("body = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestWebhookPayloadAndKeys(t *testing.T) {
	n := webhook(t, `{"dedupKey": "trigger.body.event_id", "businessKey": "trigger.body.order?.id ?? trigger.query.order"}`, "")
	acc, err := n.Accept(context.Background(), hookCall{
		body:   `{"event_id": 987654321012, "order": {"id": "ord_8f3a"}}`,
		header: map[string]string{"Content-Type": "application/json", "X-Shop-Domain": "shop.example.com"},
		query:  "source=shop&source=ignored",
	}.request())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"body":    map[string]any{"event_id": int64(987654321012), "order": map[string]any{"id": "ord_8f3a"}},
		"headers": map[string]any{"content-type": "application/json", "x-shop-domain": "shop.example.com"},
		"query":   map[string]any{"source": "shop"},
		"method":  "POST",
	}
	if !reflect.DeepEqual(acc.Payload, want) {
		t.Fatalf("payload = %#v\nwant %#v", acc.Payload, want)
	}
	if acc.DedupKey != "987654321012" || acc.BusinessKey != "ord_8f3a" || acc.Sync || acc.Timeout != 0 {
		t.Fatalf("accepted = %+v", acc)
	}

	// The business key falls back; a failing or empty business key is no reason to refuse.
	acc, err = n.Accept(context.Background(), hookCall{body: `{"event_id": "e2"}`, query: "order=ord_q",
		header: map[string]string{"Content-Type": "application/json"}}.request())
	if err != nil || acc.BusinessKey != "ord_q" {
		t.Fatalf("fallback business key: %+v %v", acc, err)
	}
	failing := webhook(t, `{"businessKey": "trigger.body.order.id"}`, "")
	acc, err = failing.Accept(context.Background(), hookCall{body: `{}`, header: map[string]string{"Content-Type": "application/json"}}.request())
	if err != nil || acc.BusinessKey != "" {
		t.Fatalf("failing business key: %+v %v", acc, err)
	}

	// A dedup key that gives nothing refuses the request, whether it is null, empty or fails.
	for _, body := range []string{`{}`, `{"event_id": ""}`, `[]`, ``} {
		_, err = n.Accept(context.Background(), hookCall{body: body, header: map[string]string{"Content-Type": "application/json"}}.request())
		wantWebhookError(t, err, http.StatusUnprocessableEntity, CodeWebhookDedupKeyMissing)
	}

	// Long keys stay bounded: dedup keys by hashing (still distinct), business keys by cutting.
	long := webhook(t, `{"dedupKey": "trigger.body.k", "businessKey": "trigger.body.k"}`, "")
	k := strings.Repeat("字", 100)
	acc, err = long.Accept(context.Background(), hookCall{body: `{"k": "` + k + `"}`, header: map[string]string{"Content-Type": "application/json"}}.request())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(acc.DedupKey, "sha256:") || len(acc.DedupKey) > MaxKeyBytes {
		t.Fatalf("dedup key = %q", acc.DedupKey)
	}
	if len(acc.BusinessKey) > MaxKeyBytes || !strings.HasPrefix(k, acc.BusinessKey) || len(acc.BusinessKey) < MaxKeyBytes-3 {
		t.Fatalf("business key = %q", acc.BusinessKey)
	}

	// The mode is visible to key expressions as env.
	byMode := webhook(t, `{"dedupKey": "env + \":\" + trigger.body.id"}`, "")
	req := hookCall{body: `{"id": "x"}`, header: map[string]string{"Content-Type": "application/json"}}.request()
	req.Mode = nodes.ModeTest
	if acc, err = byMode.Accept(context.Background(), req); err != nil || acc.DedupKey != "test:x" {
		t.Fatalf("mode key: %+v %v", acc, err)
	}
}

func TestWebhookSyncAndExecute(t *testing.T) {
	n := webhook(t, `{"respond": "respondNode"}`, "")
	acc, err := n.Accept(context.Background(), hookCall{}.request())
	if err != nil {
		t.Fatal(err)
	}
	if !acc.Sync || acc.Timeout != 10*time.Second {
		t.Fatalf("accepted = %+v, want sync with the 10s default", acc)
	}
	res, err := run(t, n, acc.Payload)
	if err != nil || !reflect.DeepEqual(res.Output, acc.Payload) || res.Port != "" {
		t.Fatalf("Execute = %+v, %v; want the payload unchanged", res, err)
	}
}
