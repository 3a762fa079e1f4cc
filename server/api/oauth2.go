package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
)

// OAuth2CallbackPath is where OAuth2 providers send an admin back after consent. Like a webhook it is public and
// proves itself: by the one-time state that Authorize stored for a credential. It is the redirect URL to
// register with a provider (on this server's public address) unless a credential names its own.
const OAuth2CallbackPath = "/oauth2/callback"

// Stable error codes of connection tests and OAuth2 authorisation.
const (
	// CodeCredentialNotSupported: the credential's type has no connection test, or is not authorised at a
	// provider.
	CodeCredentialNotSupported = "credential_not_supported"
	// CodeCredentialVariantMissing: ?variant=test names a test variant the credential does not have.
	CodeCredentialVariantMissing = "credential_variant_missing"
)

// variantOf reads ?variant= (live by default).
func variantOf(c fiber.Ctx) (string, error) {
	switch v := c.Query("variant"); v {
	case "", vault.VariantLive:
		return vault.VariantLive, nil
	case vault.VariantTest:
		return vault.VariantTest, nil
	default:
		return "", errBadRequest(CodeBadRequest, "variant must be live or test, not %q", v)
	}
}

func vaultError(err error) error {
	switch {
	case errors.Is(err, vault.ErrNotSupported):
		return errBadRequest(CodeCredentialNotSupported, "%s", err.Error())
	case errors.Is(err, vault.ErrNoVariant):
		return errBadRequest(CodeCredentialVariantMissing, "the credential has no test variant")
	}
	return credentialError(err)
}

// testCredential checks a credential against its provider and answers {ok, message}; a credential that does
// not work is a 200 with ok false. No secret is ever part of the answer.
func (a *API) testCredential(c fiber.Ctx) error {
	variant, err := variantOf(c)
	if err != nil {
		return err
	}
	res, err := a.Credentials.Test(c.Context(), c.Params("id"), variant)
	if err != nil {
		return vaultError(err)
	}
	a.audit(c, "credential.test", "credential", c.Params("id"), map[string]any{"variant": variant, "ok": res.OK})
	return ok(c, http.StatusOK, res)
}

// authorizeCredential starts the OAuth2 authorisation-code flow and answers the provider URL to send the admin
// to. The provider sends them back to OAuth2CallbackPath on the address this request came to, unless the
// credential names its own redirect URL.
func (a *API) authorizeCredential(c fiber.Ctx) error {
	variant, err := variantOf(c)
	if err != nil {
		return err
	}
	auth, err := a.Credentials.Authorize(c.Context(), c.Params("id"), variant, c.BaseURL()+OAuth2CallbackPath)
	if err != nil {
		return vaultError(err)
	}
	a.audit(c, "credential.authorize", "credential", c.Params("id"), map[string]any{"variant": variant})
	return ok(c, http.StatusOK, auth)
}

// callbackStyle is the callback page's only style. The page's Content-Security-Policy allows exactly this
// text by its hash, so the page loads nothing else and runs no script.
const callbackStyle = "body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}h1{font-size:1.4em}"

var callbackPage = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · Ferry</title>
<style>` + callbackStyle + `</style>
</head><body><h1>{{.Title}}</h1><p>{{.Message}}</p></body></html>
`))

// CallbackCSP is the OAuth2 callback page's Content-Security-Policy: nothing but its own inline style.
var CallbackCSP = func() string {
	sum := sha256.Sum256([]byte(callbackStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}()

// oauth2Callback completes an authorisation when the provider sends the admin back with ?state&code (or
// ?state&error), and answers a page a person can read. The page holds no token, and the browser is told not to
// cache it or pass its address (which carries the code) on.
func (a *API) oauth2Callback(c fiber.Ctx) error {
	providerError := c.Query("error")
	if d := c.Query("error_description"); d != "" && providerError != "" {
		providerError += ": " + d
	}
	status, title, message := http.StatusOK, "Authorised", ""
	info, err := a.Credentials.CompleteAuthorization(c.Context(), c.Query("state"), c.Query("code"), providerError)
	switch {
	case err == nil:
		message = "The credential “" + info.Name + "” is connected. You can close this window."
		a.audit(c, "credential.authorized", "credential", info.ID, map[string]any{"name": info.Name, "type": info.Type})
	case errors.Is(err, vault.ErrAuthorization):
		status, title, message = http.StatusBadRequest, "Not authorised", err.Error()
	case errors.Is(err, store.ErrNotFound):
		status, title, message = http.StatusNotFound, "Not authorised", "The credential no longer exists."
	default:
		a.Logger.Error("oauth2 callback", "err", err)
		status, title, message = http.StatusInternalServerError, "Not authorised", "Internal error; see the server log."
	}
	var page bytes.Buffer
	if err := callbackPage.Execute(&page, map[string]string{"Title": title, "Message": message}); err != nil {
		return err
	}
	c.Set("Cache-Control", "no-store")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("Content-Security-Policy", CallbackCSP)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(page.Bytes())
}
