package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/server/api"
)

// TestSecurityHeaders checks the headers of every kind of answer: the web app's page and assets, API answers,
// webhook answers, errors and 404s, the OAuth2 callback page; and HSTS only when the connection is TLS (here:
// behind a TLS-terminating proxy, as SecureCookies says).
func TestSecurityHeaders(t *testing.T) {
	h := sqliteHarness(t)
	id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", template(t)), 201)["id"].(string)

	page := h.do("GET", "/", nil)
	asset := regexp.MustCompile(`/assets/[^"]+\.js`).FindString(string(page.body))
	if asset == "" {
		t.Fatalf("the web app's page names no script: %s", page.body)
	}
	answers := map[string]response{
		"web app page":       page,
		"client route":       h.do("GET", "/flows/"+id, nil),
		"asset":              h.do("GET", asset, nil),
		"API answer":         h.do("GET", "/api/v1/flows", nil),
		"API error":          h.do("GET", "/api/v1/flows/does-not-exist", nil),
		"unauthenticated":    h.do("GET", "/api/v1/flows", nil, "Authorization", ""),
		"unknown API route":  h.do("GET", "/api/v1/nothing", nil),
		"unknown method":     h.do("PATCH", "/healthz", nil),
		"webhook answer":     h.do("POST", "/hooks/"+id, order),
		"webhook refusal":    h.do("POST", "/hooks/no-such-flow", order),
		"health":             h.do("GET", "/healthz", nil),
		"OAuth2 callback":    h.do("GET", api.OAuth2CallbackPath+"?state=forged&code=x", nil, "Authorization", ""),
		"API description":    h.do("GET", "/api/v1/openapi.json", nil),
		"webhook of a draft": h.do("POST", "/hooks/"+id+"/test", order, "Authorization", ""),
	}
	for name, res := range answers {
		for header, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "no-referrer",
		} {
			if got := res.header.Get(header); got != want {
				t.Errorf("%s (%d): %s is %q, want %q", name, res.status, header, got, want)
			}
		}
		csp := res.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src") {
			t.Errorf("%s (%d): Content-Security-Policy %q", name, res.status, csp)
		}
		if res.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", name)
		}
		cache := res.header.Get("Cache-Control")
		if name == "asset" {
			if !strings.Contains(cache, "max-age=31536000") || !strings.Contains(cache, "immutable") {
				t.Errorf("the hashed asset's Cache-Control is %q", cache)
			}
		} else if cache != "no-store" {
			t.Errorf("%s (%d): Cache-Control %q, want no-store", name, res.status, cache)
		}
	}
	for _, name := range []string{"web app page", "client route", "asset"} {
		if got := answers[name].header.Get("Content-Security-Policy"); got != api.WebAppCSP {
			t.Errorf("%s: Content-Security-Policy %q, want the web app's", name, got)
		}
	}
	if !strings.Contains(api.WebAppCSP, "script-src 'self';") || strings.Contains(api.WebAppCSP, "unsafe-eval") {
		t.Errorf("the web app's policy lets scripts in from elsewhere: %s", api.WebAppCSP)
	}
	for _, name := range []string{"API answer", "API error", "webhook answer", "health"} {
		if got := answers[name].header.Get("Content-Security-Policy"); got != api.APICSP {
			t.Errorf("%s: Content-Security-Policy %q, want %q", name, got, api.APICSP)
		}
	}
	// The web app's page runs no inline script, which its policy would refuse.
	if regexp.MustCompile(`<script(\s[^>]*)?>[^<]`).Match(page.body) {
		t.Errorf("the web app's page has an inline script: %s", page.body)
	}

	// The OAuth2 callback page allows its own style by hash, and nothing else.
	callback := answers["OAuth2 callback"]
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindSubmatch(callback.body)
	if style == nil {
		t.Fatalf("the callback page has no style: %s", callback.body)
	}
	sum := sha256.Sum256(style[1])
	csp := callback.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") ||
		!strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") ||
		strings.Contains(string(callback.body), "<script") {
		t.Errorf("the callback page's policy %q does not fit the page:\n%s", csp, callback.body)
	}

	// Behind a proxy that terminates TLS the browser's connection is HTTPS: HSTS on every answer.
	h.app.API.SecureCookies = true
	defer func() { h.app.API.SecureCookies = false }()
	for _, path := range []string{"/", "/api/v1/flows", "/api/v1/nothing", "/healthz"} {
		res := h.do("GET", path, nil)
		if got := res.header.Get("Strict-Transport-Security"); got != api.HSTS || !strings.Contains(got, "max-age=31536000") {
			t.Errorf("GET %s over TLS: Strict-Transport-Security %q", path, got)
		}
	}
}
