package api

import (
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/helmet"
)

// Content-Security-Policy values. The web app's policy is the one it really works under (the browser test
// fails on any violation): its scripts are the built modules from /assets (index.html has no inline script and
// the bundle no eval), images are its own or data: URLs, and it talks only to its own origin. Styles need
// 'unsafe-inline': Ant Design's CSS-in-JS and CodeMirror insert <style> elements at runtime, and some of
// Ant Design's helpers (the scroll lock of modals) insert them without a nonce, so a nonce cannot cover them.
// Every other answer (JSON, text, webhook answers) loads nothing and may not be framed.
const (
	WebAppCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"font-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; " +
		"frame-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
	APICSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

// HSTS is the Strict-Transport-Security value sent over TLS: a year, subdomains included (a Ferry behind TLS
// has no business being reached over plain HTTP on any name under its own).
const HSTS = "max-age=31536000; includeSubDomains"

// securityHeaders is the one middleware that sets Ferry's security headers on every answer, errors and 404s
// included: no sniffing of content types, no framing (X-Frame-Options for old browsers beside the policy's
// frame-ancestors), no referrer, cross-origin isolation, a Content-Security-Policy (the web app's for the web
// app, a load-nothing one for everything else), HSTS when the browser's connection is TLS, and
// Cache-Control: no-store, which handlers may relax (the web app's hashed assets are cached for a year).
func (a *API) securityHeaders() fiber.Handler {
	base := helmet.New(helmet.Config{
		XFrameOptions:    "DENY",
		ReferrerPolicy:   "no-referrer",
		PermissionPolicy: "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
		// HSTS is set below: the helmet's own test looks at the HTTP version, never "https" in Fiber v3.
		HSTSMaxAge: 0,
	})
	return func(c fiber.Ctx) error {
		if a.tlsRequest(c) {
			c.Set(fiber.HeaderStrictTransportSecurity, HSTS)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		if webAppPath(c.Path()) {
			c.Set(fiber.HeaderContentSecurityPolicy, WebAppCSP)
		} else {
			c.Set(fiber.HeaderContentSecurityPolicy, APICSP)
		}
		return base(c)
	}
}

// tlsRequest reports whether the browser's connection is TLS: Ferry serves TLS itself, or it runs behind a
// proxy that terminates TLS (SecureCookies says so; Ferry does not trust X-Forwarded-Proto from anyone).
func (a *API) tlsRequest(c fiber.Ctx) bool {
	return a.SecureCookies || c.Scheme() == "https"
}

// webAppPath reports whether path is served by the web app rather than by an API, webhook or system route.
func webAppPath(path string) bool {
	for _, prefix := range []string{"/api/", "/hooks/", "/oauth2/", "/healthz", "/readyz", "/metrics"} {
		if path == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(path, prefix) {
			return false
		}
	}
	return true
}
