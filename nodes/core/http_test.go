package core

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
)

// seen is what the fake provider received.
type seen struct {
	method string
	path   string
	query  map[string][]string
	header http.Header
	body   string
}

type fakeProvider struct {
	*httptest.Server
	mu       sync.Mutex
	requests []seen
}

// provider starts a server that records every request and answers with handle.
func provider(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *fakeProvider {
	t.Helper()
	p := &fakeProvider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.requests = append(p.requests, seen{method: r.Method, path: r.URL.Path, query: r.URL.Query(), header: r.Header.Clone(), body: string(body)})
		p.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *fakeProvider) calls() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.requests...)
}

func respondWith(status int, contentType, body string, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func newHTTPNode(t *testing.T, params map[string]any) nodes.Node {
	t.Helper()
	return mustBuild(t, HTTPType, mustJSON(t, params))
}

func httpExec(client *http.Client, cred map[string]string, credErr error) *nodes.Exec {
	if client == nil {
		client = testenv.LocalClient()
	}
	trigger := map[string]any{"body": map[string]any{"order_id": "ord_8f3a", "email": "ada@example.com", "amount": 149.99, "qty": int64(2)}}
	return &nodes.Exec{
		Input: trigger["body"], Env: env(trigger, trigger["body"]), RunID: "run1", NodeID: "http1", Attempt: 1,
		Mode: nodes.ModeLive, IdempotencyKey: "run1:http1", HTTP: client,
		Credential: func(context.Context) (map[string]string, error) {
			if cred == nil && credErr == nil {
				return nil, nodes.ErrNoCredential
			}
			return cred, credErr
		},
	}
}

func TestHTTPSuccessJSON(t *testing.T) {
	p := provider(t, respondWith(201, "application/json", `{"id": 9007199254740993, "ok": true}`, "X-Request-Id", "req_1"))
	n := newHTTPNode(t, map[string]any{
		"method":   "POST",
		"url":      p.URL + "/orders/{{ trigger.body.order_id }}?source=ferry",
		"query":    map[string]string{"email": "{{ trigger.body.email }}", "source": "flow"},
		"headers":  map[string]string{"Accept": "application/json", "X-Order": "{{ trigger.body.order_id }}"},
		"bodyType": "json",
		"body":     `{{ {"order": trigger.body.order_id, "amount": trigger.body.amount, "qty": trigger.body.qty} }}`,
	})
	res, err := n.Execute(t.Context(), httpExec(p.Client(), nil, nil))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	want := map[string]any{"id": int64(9007199254740993), "ok": true}
	out := res.Output.(map[string]any)
	if out["status"] != int64(201) || !reflect.DeepEqual(out["body"], want) || out["headers"].(map[string]any)["x-request-id"] != "req_1" {
		t.Fatalf("output = %#v", out)
	}
	calls := p.calls()
	if len(calls) != 1 {
		t.Fatalf("%d requests, want 1", len(calls))
	}
	got := calls[0]
	if got.method != "POST" || got.path != "/orders/ord_8f3a" {
		t.Fatalf("request = %s %s", got.method, got.path)
	}
	if !reflect.DeepEqual(got.query, map[string][]string{"email": {"ada@example.com"}, "source": {"flow"}}) {
		t.Fatalf("query = %v", got.query)
	}
	if got.header.Get("Content-Type") != "application/json" || got.header.Get("X-Order") != "ord_8f3a" || got.header.Get("Authorization") != "" || got.header.Get("Idempotency-Key") != "" {
		t.Fatalf("headers = %v", got.header)
	}
	if got.body != `{"amount":149.99,"order":"ord_8f3a","qty":2}` {
		t.Fatalf("body = %s", got.body)
	}
}

func TestHTTPBodies(t *testing.T) {
	p := provider(t, respondWith(200, "text/plain", "ok"))
	tests := []struct {
		name, bodyType, body, contentType, wantBody, wantType string
	}{
		{"json text template", "json", `{"order": "{{ trigger.body.order_id }}", "n": {{ trigger.body.qty }}}`, "", `{"order": "ord_8f3a", "n": 2}`, "application/json"},
		{"json single string value", "json", `{{ trigger.body.email }}`, "", `"ada@example.com"`, "application/json"},
		{"json previous output", "json", `{{ prev }}`, "", `{"amount":149.99,"email":"ada@example.com","order_id":"ord_8f3a","qty":2}`, "application/json"},
		{"form object", "form", `{{ {"email": trigger.body.email, "tag": ["a", "b"]} }}`, "", "email=ada%40example.com&tag=a&tag=b", "application/x-www-form-urlencoded"},
		{"form text", "form", `a=1&b={{ trigger.body.qty }}`, "", "a=1&b=2", "application/x-www-form-urlencoded"},
		{"raw", "raw", "order {{ trigger.body.order_id }} paid", "", "order ord_8f3a paid", "text/plain; charset=utf-8"},
		{"raw with own type", "raw", "<a>{{ trigger.body.qty }}</a>", "application/xml", "<a>2</a>", "application/xml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]any{"method": "POST", "url": p.URL, "bodyType": tc.bodyType, "body": tc.body}
			if tc.contentType != "" {
				params["headers"] = map[string]string{"Content-Type": tc.contentType}
			}
			before := len(p.calls())
			if _, err := newHTTPNode(t, params).Execute(t.Context(), httpExec(p.Client(), nil, nil)); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			got := p.calls()[before]
			if got.body != tc.wantBody || got.header.Get("Content-Type") != tc.wantType {
				t.Fatalf("sent %q as %q, want %q as %q", got.body, got.header.Get("Content-Type"), tc.wantBody, tc.wantType)
			}
		})
	}

	// Text that is not JSON once rendered is refused before anything is sent.
	n := newHTTPNode(t, map[string]any{"method": "POST", "url": p.URL, "bodyType": "json", "body": `{"email": {{ trigger.body.email }}}`})
	before := len(p.calls())
	_, err := n.Execute(t.Context(), httpExec(p.Client(), nil, nil))
	wantFailure(t, err, nodes.Permanent, CodeHTTPRequestInvalid)
	if len(p.calls()) != before {
		t.Fatal("an invalid body was sent")
	}
}

func TestHTTPStatusOutcomes(t *testing.T) {
	at := time.Date(2026, time.November, 22, 8, 0, 0, 0, time.UTC)
	setNow(t, at)
	tests := []struct {
		name   string
		handle func(http.ResponseWriter, *http.Request)
		kind   nodes.Kind
		code   string
		after  time.Duration
		status int
		body   any
	}{
		{"4xx is permanent with the provider's body", respondWith(422, "application/json", `{"error": {"code": "email_invalid", "message": "Email is not valid"}}`),
			nodes.Permanent, CodeHTTPClientError, 0, 422,
			map[string]any{"error": map[string]any{"code": "email_invalid", "message": "Email is not valid"}}},
		{"404 text", respondWith(404, "text/html", "<h1>Not Found</h1>"), nodes.Permanent, CodeHTTPClientError, 0, 404, "<h1>Not Found</h1>"},
		{"429 with seconds", respondWith(429, "application/json", `{"error": "slow down"}`, "Retry-After", "7"),
			nodes.RetryAfter, CodeHTTPRateLimited, 7 * time.Second, 429, map[string]any{"error": "slow down"}},
		{"429 with a date", respondWith(429, "", "", "Retry-After", at.Add(90*time.Second).Format(http.TimeFormat)),
			nodes.RetryAfter, CodeHTTPRateLimited, 90 * time.Second, 429, nil},
		{"429 with a past date", respondWith(429, "", "", "Retry-After", at.Add(-time.Minute).Format(http.TimeFormat)),
			nodes.RetryAfter, CodeHTTPRateLimited, 0, 429, nil},
		{"429 without Retry-After", respondWith(429, "", ""), nodes.Retryable, CodeHTTPRateLimited, 0, 429, nil},
		{"503 with Retry-After", respondWith(503, "", "maintenance", "Retry-After", "120"), nodes.RetryAfter, CodeHTTPUnavailable, 2 * time.Minute, 503, "maintenance"},
		{"503 without Retry-After", respondWith(503, "", ""), nodes.Retryable, CodeHTTPServerError, 0, 503, nil},
		{"500 is retryable", respondWith(500, "text/plain", "database is down"), nodes.Retryable, CodeHTTPServerError, 0, 500, "database is down"},
		{"408", respondWith(408, "", ""), nodes.Retryable, CodeHTTPTimeout, 0, 408, nil},
		{"425", respondWith(425, "", ""), nodes.Retryable, CodeHTTPTooEarly, 0, 425, nil},
		{"unfollowed redirect", respondWith(304, "", ""), nodes.Permanent, CodeHTTPUnexpectedStatus, 0, 304, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := provider(t, tc.handle)
			n := newHTTPNode(t, map[string]any{"url": p.URL + "/v1/customers?page=2"})
			_, err := n.Execute(t.Context(), httpExec(p.Client(), nil, nil))
			e := wantFailure(t, err, tc.kind, tc.code)
			if e.After != tc.after {
				t.Fatalf("after = %s, want %s", e.After, tc.after)
			}
			d, _ := e.Details.(map[string]any)
			if d["status"] != tc.status || !reflect.DeepEqual(d["body"], tc.body) {
				t.Fatalf("details = %#v, want status %d and body %#v", d, tc.status, tc.body)
			}
			req := d["request"].(map[string]any)
			if req["method"] != "GET" || req["url"] != p.URL+"/v1/customers?page=2" {
				t.Fatalf("request summary = %v", req)
			}
			if !strings.Contains(err.Error(), "/v1/customers") || !strings.Contains(err.Error(), "status") {
				t.Fatalf("message %q does not say what failed", err.Error())
			}
		})
	}
}

func TestHTTPLongErrorBodyIsCut(t *testing.T) {
	p := provider(t, respondWith(400, "text/plain", strings.Repeat("x", 3*detailBodyBytes)))
	_, err := newHTTPNode(t, map[string]any{"url": p.URL}).Execute(t.Context(), httpExec(p.Client(), nil, nil))
	d := wantFailure(t, err, nodes.Permanent, CodeHTTPClientError).Details.(map[string]any)
	if len(d["body"].(string)) != detailBodyBytes || d["bodyTruncated"] != true {
		t.Fatalf("details body is %d bytes, truncated %v", len(d["body"].(string)), d["bodyTruncated"])
	}
}

func TestHTTPSuccessCodes(t *testing.T) {
	p := provider(t, respondWith(404, "application/json", `{"error": "no such contact"}`))
	n := newHTTPNode(t, map[string]any{"url": p.URL, "successCodes": "2xx, 404"})
	res, err := n.Execute(t.Context(), httpExec(p.Client(), nil, nil))
	if err != nil || res.Output.(map[string]any)["status"] != int64(404) {
		t.Fatalf("Execute = %+v, %v; want 404 as success", res, err)
	}
}

func TestHTTPResponseFormats(t *testing.T) {
	tests := []struct {
		name, responseType, contentType, body string
		want                                  any
		code                                  string
	}{
		{"auto json", "auto", "application/problem+json", `{"a": 1}`, map[string]any{"a": int64(1)}, ""},
		{"auto text", "auto", "text/plain", `{"a": 1}`, `{"a": 1}`, ""},
		{"auto broken json is text", "auto", "application/json", `{"a": `, `{"a": `, ""},
		{"empty", "auto", "application/json", ``, nil, ""},
		{"forced json", "json", "text/plain", `[1]`, []any{int64(1)}, ""},
		{"forced json fails", "json", "text/html", `<html>`, nil, CodeHTTPResponseInvalid},
		{"forced text", "text", "application/json", `{"a": 1}`, `{"a": 1}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := provider(t, respondWith(200, tc.contentType, tc.body))
			res, err := newHTTPNode(t, map[string]any{"url": p.URL, "responseType": tc.responseType}).Execute(t.Context(), httpExec(p.Client(), nil, nil))
			if tc.code != "" {
				wantFailure(t, err, nodes.Permanent, tc.code)
				return
			}
			if err != nil || !reflect.DeepEqual(res.Output.(map[string]any)["body"], tc.want) {
				t.Fatalf("Execute = %#v, %v; want body %#v", res.Output, err, tc.want)
			}
		})
	}
}

func TestHTTPResponseTooLarge(t *testing.T) {
	p := provider(t, func(w http.ResponseWriter, _ *http.Request) {
		chunk := []byte(strings.Repeat("a", 1<<16))
		for written := 0; written <= MaxHTTPResponseBytes; written += len(chunk) {
			w.Write(chunk)
		}
	})
	_, err := newHTTPNode(t, map[string]any{"url": p.URL}).Execute(t.Context(), httpExec(p.Client(), nil, nil))
	wantFailure(t, err, nodes.Permanent, CodeHTTPResponseTooLarge)
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	p := provider(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	n := newHTTPNode(t, map[string]any{"url": p.URL, "timeout": "50ms"})
	_, err := n.Execute(t.Context(), httpExec(p.Client(), nil, nil))
	e := wantFailure(t, err, nodes.Retryable, CodeHTTPTimeout)
	if !strings.Contains(e.Error(), "within 50ms") {
		t.Fatalf("message = %q", e.Error())
	}
}

func TestHTTPNetworkError(t *testing.T) {
	p := provider(t, respondWith(200, "", ""))
	url := p.URL
	p.Close()
	n := newHTTPNode(t, map[string]any{"url": url + "/x"})
	_, err := n.Execute(t.Context(), httpExec(nil, map[string]string{"name": "api_key", "value": "sk_live_secret", "in": "query"}, nil))
	wantFailure(t, err, nodes.Retryable, CodeHTTPNetwork)
	if strings.Contains(err.Error(), "sk_live_secret") {
		t.Fatalf("message %q reveals the API key", err.Error())
	}
	if !strings.Contains(err.Error(), "api_key=%5Bredacted%5D") {
		t.Fatalf("message %q should show the request with the key hidden", err.Error())
	}
}

func TestHTTPWorkerStopping(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	p := provider(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	n := newHTTPNode(t, map[string]any{"url": p.URL})
	done := make(chan error)
	go func() {
		_, err := n.Execute(ctx, httpExec(p.Client(), nil, nil))
		done <- err
	}()
	<-arrived
	cancel()
	// The engine hands the step back when the error is its context's error.
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want one that wraps context.Canceled", err)
	}
}

func TestHTTPCredentials(t *testing.T) {
	tests := []struct {
		name   string
		cred   map[string]string
		check  func(seen) bool
		shown  string // where the dry run must show "[redacted]"
		secret string
	}{
		{"bearer", map[string]string{"token": "tok_live"},
			func(s seen) bool { return s.header.Get("Authorization") == "Bearer tok_live" }, "header:Authorization", "tok_live"},
		{"basic", map[string]string{"username": "ada", "password": "pa:ss"},
			func(s seen) bool { return s.header.Get("Authorization") == "Basic YWRhOnBhOnNz" }, "header:Authorization", "pa:ss"},
		{"api key header", map[string]string{"name": "X-Api-Key", "value": "key_live", "in": "header"},
			func(s seen) bool { return s.header.Get("X-Api-Key") == "key_live" }, "header:X-Api-Key", "key_live"},
		{"api key header by default", map[string]string{"name": "x-token", "value": "key_live"},
			func(s seen) bool { return s.header.Get("X-Token") == "key_live" }, "header:X-Token", "key_live"},
		{"api key query", map[string]string{"name": "key", "value": "key_live", "in": "query"},
			func(s seen) bool { return s.query["key"][0] == "key_live" && s.query["page"][0] == "1" }, "query", "key_live"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := provider(t, respondWith(200, "application/json", `{}`))
			n := newHTTPNode(t, map[string]any{"method": "POST", "url": p.URL + "?page=1", "bodyType": "json", "body": "{{ prev }}"})
			if _, err := n.Execute(t.Context(), httpExec(p.Client(), tc.cred, nil)); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if calls := p.calls(); len(calls) != 1 || !tc.check(calls[0]) {
				t.Fatalf("request = %+v", calls)
			}
			res, err := n.(nodes.DryRunner).DryRun(t.Context(), httpExec(p.Client(), tc.cred, nil))
			if err != nil {
				t.Fatalf("DryRun: %v", err)
			}
			out := mustJSON(t, res.Output)
			if strings.Contains(out, tc.secret) {
				t.Fatalf("dry run %s reveals the secret", out)
			}
			req := res.Output.(map[string]any)["request"].(map[string]any)
			kind, name, _ := strings.Cut(tc.shown, ":")
			if kind == "header" && req["headers"].(map[string]any)[name] != "[redacted]" {
				t.Fatalf("dry run headers = %v, want %s redacted", req["headers"], name)
			}
			if kind == "query" && !strings.Contains(req["url"].(string), "key=%5Bredacted%5D") {
				t.Fatalf("dry run url = %v", req["url"])
			}
		})
	}

	p := provider(t, respondWith(200, "", ""))
	n := newHTTPNode(t, map[string]any{"url": p.URL})
	_, err := n.Execute(t.Context(), httpExec(p.Client(), map[string]string{"secret": "x"}, nil))
	wantFailure(t, err, nodes.Permanent, CodeHTTPCredentialInvalid)
	_, err = n.Execute(t.Context(), httpExec(p.Client(), map[string]string{"name": "k", "value": "v", "in": "cookie"}, nil))
	wantFailure(t, err, nodes.Permanent, CodeHTTPCredentialInvalid)
	_, err = n.Execute(t.Context(), httpExec(p.Client(), nil, errors.New("vault: sealed")))
	wantFailure(t, err, nodes.Retryable, CodeHTTPCredentialUnavailable)
	_, err = n.Execute(t.Context(), httpExec(p.Client(), nil, nodes.NewPermanent("credential_unavailable", errors.New("no store"))))
	wantFailure(t, err, nodes.Permanent, "credential_unavailable")
	if len(p.calls()) != 0 {
		t.Fatalf("%d requests sent without a usable credential", len(p.calls()))
	}
}

func TestHTTPIdempotencyKey(t *testing.T) {
	p := provider(t, respondWith(200, "", ""))
	for _, tc := range []struct {
		params map[string]any
		header string
	}{
		{map[string]any{"url": p.URL, "method": "POST", "idempotencyKey": true}, "Idempotency-Key"},
		{map[string]any{"url": p.URL, "method": "POST", "idempotencyKey": true, "idempotencyHeader": "X-Request-Id"}, "X-Request-Id"},
	} {
		before := len(p.calls())
		if _, err := newHTTPNode(t, tc.params).Execute(t.Context(), httpExec(p.Client(), nil, nil)); err != nil {
			t.Fatal(err)
		}
		// The same key on a retry: it comes from the step, not from the attempt.
		x := httpExec(p.Client(), nil, nil)
		x.Attempt = 2
		if _, err := newHTTPNode(t, tc.params).Execute(t.Context(), x); err != nil {
			t.Fatal(err)
		}
		calls := p.calls()[before:]
		if calls[0].header.Get(tc.header) != "run1:http1" || calls[1].header.Get(tc.header) != "run1:http1" {
			t.Fatalf("%s = %q, %q", tc.header, calls[0].header.Get(tc.header), calls[1].header.Get(tc.header))
		}
	}
}

func TestHTTPDryRunSendsNothing(t *testing.T) {
	p := provider(t, respondWith(200, "", ""))
	n := newHTTPNode(t, map[string]any{
		"method": "PUT", "url": p.URL + "/deals/{{ trigger.body.order_id }}", "query": map[string]string{"v": "2"},
		"headers": map[string]string{"X-Source": "ferry"}, "bodyType": "json", "body": `{{ {"amount": trigger.body.amount} }}`,
		"idempotencyKey": true,
	})
	res, err := n.(nodes.DryRunner).DryRun(t.Context(), httpExec(p.Client(), map[string]string{"token": "tok_live"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"dryRun": true, "request": map[string]any{
		"method": "PUT",
		"url":    p.URL + "/deals/ord_8f3a?v=2",
		"headers": map[string]any{"X-Source": "ferry", "Content-Type": "application/json", "Authorization": "[redacted]",
			"Idempotency-Key": "run1:http1"},
		"body": map[string]any{"amount": 149.99},
	}}
	if !reflect.DeepEqual(res.Output, want) {
		t.Fatalf("dry run = %s\nwant      %s", mustJSON(t, res.Output), mustJSON(t, want))
	}
	if n := len(p.calls()); n != 0 {
		t.Fatalf("the server saw %d requests during a dry run", n)
	}
}

func TestHTTPRenderFailures(t *testing.T) {
	p := provider(t, respondWith(200, "", ""))
	tests := []struct {
		name   string
		params map[string]any
		code   string
	}{
		{"url renders empty", map[string]any{"url": "{{ trigger.body.missing }}"}, CodeHTTPRequestInvalid},
		{"url renders to another scheme", map[string]any{"url": "{{ \"file:///etc/passwd\" }}"}, CodeHTTPRequestInvalid},
		{"header with a line break", map[string]any{"url": p.URL, "headers": map[string]string{"X-A": "{{ \"a\\r\\nB: c\" }}"}}, CodeHTTPRequestInvalid},
		{"expression fails", map[string]any{"url": p.URL + "/{{ trigger.body.customer.id }}"}, "expression_failed"},
		{"form of a number", map[string]any{"url": p.URL, "method": "POST", "bodyType": "form", "body": "{{ 5 }}"}, CodeHTTPRequestInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newHTTPNode(t, tc.params).Execute(t.Context(), httpExec(p.Client(), nil, nil))
			wantFailure(t, err, nodes.Permanent, tc.code)
		})
	}
	if len(p.calls()) != 0 {
		t.Fatal("a request was sent")
	}
}

func TestHTTPConfig(t *testing.T) {
	tests := []struct {
		name, params, field, code string
	}{
		{"no url", `{}`, "url", nodes.CodeParamRequired},
		{"not http", `{"url": "ftp://example.com/file"}`, "url", nodes.CodeParamInvalid},
		{"no host", `{"url": "https:///path"}`, "url", nodes.CodeParamInvalid},
		{"url template syntax", `{"url": "https://x.example/{{ trigger. }}"}`, "url", "expression_invalid"},
		{"bad header name", `{"url": "https://x.example", "headers": {"X Bad": "1"}}`, "headers.X Bad", nodes.CodeParamInvalid},
		{"header template syntax", `{"url": "https://x.example", "headers": {"X-A": "{{ ( }}"}}`, "headers.X-A", "expression_invalid"},
		{"header not text", `{"url": "https://x.example", "headers": {"X-A": 1}}`, "headers", nodes.CodeParamInvalid},
		{"body required", `{"url": "https://x.example", "bodyType": "json"}`, "body", nodes.CodeParamRequired},
		{"static json invalid", `{"url": "https://x.example", "bodyType": "json", "body": "{\"a\": }"}`, "body", nodes.CodeParamInvalid},
		{"timeout too long", `{"url": "https://x.example", "timeout": "10m"}`, "timeout", nodes.CodeParamInvalid},
		{"timeout zero", `{"url": "https://x.example", "timeout": "0s"}`, "timeout", nodes.CodeParamInvalid},
		{"bad idempotency header", `{"url": "https://x.example", "idempotencyKey": true, "idempotencyHeader": "a b"}`, "idempotencyHeader", nodes.CodeParamInvalid},
		{"bad success codes", `{"url": "https://x.example", "successCodes": "2xx, ok"}`, "successCodes", nodes.CodeParamInvalid},
		{"reversed range", `{"url": "https://x.example", "successCodes": "299-200"}`, "successCodes", nodes.CodeParamInvalid},
		{"unknown method", `{"url": "https://x.example", "method": "CONNECT"}`, "method", nodes.CodeParamInvalid},
		{"rate limit zero", `{"url": "https://x.example", "rateLimit": 0}`, "rateLimit", nodes.CodeParamInvalid},
		{"rate limit negative", `{"url": "https://x.example", "rateLimit": -2}`, "rateLimit", nodes.CodeParamInvalid},
		{"rate limit not a number", `{"url": "https://x.example", "rateLimit": "fast"}`, "rateLimit", nodes.CodeParamInvalid},
		{"burst without rate", `{"url": "https://x.example", "rateBurst": 5}`, "rateBurst", nodes.CodeParamInvalid},
		{"burst zero", `{"url": "https://x.example", "rateLimit": 2, "rateBurst": 0}`, "rateBurst", nodes.CodeParamInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, HTTPType, tc.params, "")
			wantProblem(t, err, tc.field, tc.code)
		})
	}
	// The body is neither required nor checked while no body is sent.
	mustBuild(t, HTTPType, `{"url": "https://x.example", "body": "{not json"}`)
}

func TestParseRetryAfter(t *testing.T) {
	setNow(t, time.Date(2026, time.November, 22, 8, 0, 0, 0, time.UTC))
	for in, want := range map[string]time.Duration{
		"0": 0, "30": 30 * time.Second, " 5 ": 5 * time.Second, "999999999999": 24 * time.Hour,
		"Sun, 22 Nov 2026 08:01:00 GMT": time.Minute,
	} {
		got, ok := parseRetryAfter(in)
		if !ok || got != want {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "soon", "1.5"} {
		if _, ok := parseRetryAfter(in); ok {
			t.Errorf("parseRetryAfter(%q) accepted", in)
		}
	}
}

// The output is plain JSON data, as stored in the run and read back.
func TestHTTPOutputIsJSON(t *testing.T) {
	p := provider(t, respondWith(200, "application/json", `{"a": [1, 2.5]}`))
	res, err := newHTTPNode(t, map[string]any{"url": p.URL}).Execute(t.Context(), httpExec(p.Client(), nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res.Output)
	if err != nil {
		t.Fatal(err)
	}
	back, err := nodes.DecodeJSON(b)
	if err != nil || !reflect.DeepEqual(back, res.Output) {
		t.Fatalf("round trip = %#v, %v; want %#v", back, err, res.Output)
	}
}

func TestHTTPKeyHeaderStaysOnItsHost(t *testing.T) {
	other := provider(t, respondWith(200, "application/json", `{"at": "other"}`))
	same := provider(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			io.WriteString(w, "here")
			return
		}
		http.Redirect(w, r, "/moved", http.StatusFound)
	})
	cross := provider(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
	})
	cred := map[string]string{"name": "X-Api-Key", "value": "key_live"}

	if _, err := newHTTPNode(t, map[string]any{"url": same.URL}).Execute(t.Context(), httpExec(nil, cred, nil)); err != nil {
		t.Fatal(err)
	}
	if calls := same.calls(); len(calls) != 2 || calls[1].header.Get("X-Api-Key") != "key_live" {
		t.Fatalf("same-host redirect lost the key: %+v", calls)
	}
	if _, err := newHTTPNode(t, map[string]any{"url": cross.URL}).Execute(t.Context(), httpExec(nil, cred, nil)); err != nil {
		t.Fatal(err)
	}
	if calls := other.calls(); len(calls) != 1 || calls[0].header.Get("X-Api-Key") != "" {
		t.Fatalf("the key followed a redirect to another host: %+v", calls)
	}
}

// A failed call records the request it sent, body included and credentials hidden, so the editor can show
// what reached the provider next to its answer.
func TestHTTPFailureRecordsTheRequestSent(t *testing.T) {
	creds := []map[string]string{
		{"token": "tok_live"},
		{"name": "X-Api-Key", "value": "key_live", "in": "header"},
		{"name": "key", "value": "key_live", "in": "query"},
	}
	for _, cred := range creds {
		p := provider(t, respondWith(422, "application/json", `{"error": "bad email"}`))
		n := newHTTPNode(t, map[string]any{"method": "POST", "url": p.URL + "/v1/contacts?page=1", "bodyType": "json",
			"body": `{{ {"order": prev.order_id, "email": prev.email} }}`, "headers": map[string]any{"X-Trace": "{{ prev.order_id }}"}})
		_, err := n.Execute(t.Context(), httpExec(p.Client(), cred, nil))
		e := wantFailure(t, err, nodes.Permanent, CodeHTTPClientError)
		if out := mustJSON(t, e.Details); strings.Contains(out, "tok_live") || strings.Contains(out, "key_live") {
			t.Fatalf("failure details reveal the credential: %s", out)
		}
		req := e.Details.(map[string]any)["request"].(map[string]any)
		headers := req["headers"].(map[string]any)
		if req["method"] != "POST" || !strings.HasPrefix(req["url"].(string), p.URL+"/v1/contacts?") ||
			headers["X-Trace"] != "ord_8f3a" || headers["Content-Type"] != "application/json" {
			t.Fatalf("request = %v", req)
		}
		if want := map[string]any{"order": "ord_8f3a", "email": "ada@example.com"}; !reflect.DeepEqual(req["body"], want) {
			t.Fatalf("body = %#v, want %#v", req["body"], want)
		}
		if cred["token"] != "" && headers["Authorization"] != redactedValue {
			t.Fatalf("Authorization = %v, want it redacted", headers["Authorization"])
		}
	}

	big := strings.Repeat("x", detailJSONBytes+1)
	p := provider(t, respondWith(500, "", ""))
	n := newHTTPNode(t, map[string]any{"method": "POST", "url": p.URL, "bodyType": "raw", "body": big})
	_, err := n.Execute(t.Context(), httpExec(p.Client(), nil, nil))
	req := wantFailure(t, err, nodes.Retryable, CodeHTTPServerError).Details.(map[string]any)["request"].(map[string]any)
	if len(req["body"].(string)) != detailBodyBytes || req["bodyTruncated"] != true {
		t.Fatalf("large body kept as %d bytes, truncated %v", len(req["body"].(string)), req["bodyTruncated"])
	}
}
