package api

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/store"
)

// The test webhook (/hooks/{id}/test) runs a flow's draft, which may never have been published, and answers
// with every step. It is for the flow's editors: a caller who is signed in (session or API token) with
// flows:write, or who presents the flow's test secret. The secret is for senders that cannot sign in, such as a
// payment provider's sandbox or dashboard, which cannot add headers either: it goes in the URL
// (/hooks/{id}/test/{secret}) or, for scripts, in the X-Ferry-Test-Secret header. Editors see the URL in the
// editor and may regenerate it; a caller with neither a sign-in nor the right secret gets the answer an unknown
// flow gets, so nobody learns that a draft exists.

// TestSecretHeader carries a flow's test secret for callers that can send headers.
const TestSecretHeader = "X-Ferry-Test-Secret"

// CodeTestSecretUnreadable answers an editor asking for a test URL whose secret was sealed under a key the
// server no longer has; regenerating it makes a new one.
const CodeTestSecretUnreadable = "test_secret_unreadable"

// CodeWebhookNotFound is the answer to a webhook call that reaches no flow: an unknown id, a flow that is not
// published (live), or a test webhook called without a sign-in or the right secret.
const CodeWebhookNotFound = "webhook_not_found"

func init() {
	routeGroups = append(routeGroups, (*API).testHookRoutes)
	schemaGroups = append(schemaGroups, testHookSchemas)
}

func (a *API) testHookRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/flows/:id/test-hook", Permission: PermFlowsWrite, Tag: "flows",
			Summary:  "The flow's test webhook URL with its secret, for senders that cannot sign in (made on the first request)",
			Response: "TestHook", Handler: a.getTestHook},
		{Method: "POST", Path: "/api/v1/flows/:id/test-hook/regenerate", Permission: PermFlowsWrite, Tag: "flows",
			Summary:  "Replace the flow's test webhook secret: the old test URL stops working at once",
			Response: "TestHook", Handler: a.regenerateTestHook},
	}
}

func testHookSchemas() map[string]any {
	return map[string]any{
		"TestHook": obj(map[string]any{
			"url":       map[string]any{"type": "string", "description": "the test webhook with the secret in its path, relative to this server"},
			"secret":    map[string]any{"type": "string", "description": "the secret alone, for the " + TestSecretHeader + " header"},
			"header":    str,
			"createdAt": when,
		}, "url", "secret", "header", "createdAt"),
	}
}

// TestHookView is a flow's test webhook as its editors see it.
type TestHookView struct {
	// URL is the test webhook with the secret in its path, relative to the server (like webhookUrl).
	URL string `json:"url"`
	// Secret is the secret alone, for scripts that send it in Header instead.
	Secret    string    `json:"secret"`
	Header    string    `json:"header"`
	CreatedAt time.Time `json:"createdAt"`
}

func testHookView(s *store.FlowTestSecret) TestHookView {
	return TestHookView{URL: "/hooks/" + s.FlowID + "/test/" + s.Secret, Secret: s.Secret, Header: TestSecretHeader, CreatedAt: s.CreatedAt}
}

// newTestSecret is 26 characters of base32 from the system's random source (130 bits): safe in a URL path,
// unguessable, and short enough to paste into a provider's dashboard.
func newTestSecret() string { return rand.Text() }

func (a *API) getTestHook(c fiber.Ctx) error {
	id := c.Params("id")
	sec, err := a.Store.FlowTestSecret(c.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := a.Store.GetFlow(c.Context(), id); err != nil {
			return fromStore(err, "flow")
		}
		made := &store.FlowTestSecret{FlowID: id, Secret: newTestSecret(), CreatedBy: callerID(c)}
		if sec, err = a.Store.EnsureFlowTestSecret(c.Context(), made); err != nil {
			return fromStore(err, "flow")
		}
		if sec.Secret == made.Secret {
			a.audit(c, "flow.test_secret.create", "flow", id, nil)
		}
	} else if errors.Is(err, store.ErrSealed) {
		return &Error{Status: http.StatusConflict, Code: CodeTestSecretUnreadable,
			Message: "the test secret is sealed under a key this server no longer has; regenerate it"}
	} else if err != nil {
		return err
	}
	return ok(c, http.StatusOK, testHookView(sec))
}

func (a *API) regenerateTestHook(c fiber.Ctx) error {
	id := c.Params("id")
	sec := &store.FlowTestSecret{FlowID: id, Secret: newTestSecret(), CreatedBy: callerID(c)}
	if err := a.Store.ReplaceFlowTestSecret(c.Context(), sec); err != nil {
		return fromStore(err, "flow")
	}
	a.audit(c, "flow.test_secret.regenerate", "flow", id, nil)
	return ok(c, http.StatusOK, testHookView(sec))
}

func callerID(c fiber.Ctx) string {
	if p := principal(c); p != nil {
		return p.UserID
	}
	return ""
}

// errNoFlow is the one answer for a webhook call that reaches no flow, whatever the reason. It is one value, so
// the webhook metrics can tell it apart and not count it under an id a stranger made up.
var errNoFlow = &Error{Status: http.StatusNotFound, Code: CodeWebhookNotFound, Message: "no flow listens here"}

func errWebhookNotFound() *Error { return errNoFlow }

// testSecretPresented reports whether the caller sent the flow's test secret, in the path or the header. The
// comparison takes the same time whatever the flow has; a flow without a secret matches nothing.
func (a *API) testSecretPresented(c fiber.Ctx) (bool, error) {
	sent := c.Params("secret")
	if sent == "" {
		sent = c.Get(TestSecretHeader)
	}
	if sent == "" {
		return false, nil
	}
	want := ""
	sec, err := a.Store.FlowTestSecret(c.Context(), c.Params("flowId"))
	switch {
	case err == nil:
		want = sec.Secret
	case errors.Is(err, store.ErrSealed):
		// Sealed under a key this process lacks (retired without `ferry keys rotate`): it opens nothing until an
		// editor regenerates it.
		a.Logger.Warn("a flow's test secret cannot be opened with the configured keys; an editor can regenerate it",
			"flow", c.Params("flowId"), "err", err)
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	match := subtle.ConstantTimeCompare([]byte(sent), []byte(want)) == 1
	return match && want != "", nil
}

// signInPresented reports whether the caller sent something that claims to be a Ferry sign-in.
func signInPresented(c fiber.Ctx) bool {
	return c.Get("Authorization") != "" || c.Cookies(SessionCookie) != ""
}
