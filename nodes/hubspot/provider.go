package hubspot

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes of HubSpot's answers beyond the runtime's own (hubspot_not_found, hubspot_invalid_request,
// hubspot_unauthorized, hubspot_conflict…), read from the category of HubSpot's error document
// {status, message, correlationId, category}.
const (
	// CodeRateLimited: a 429; the step waits as long as the policy it names (a ten-second window, a day).
	CodeRateLimited = "hubspot_rate_limited"
	// CodeMissingScopes: the token's app lacks a scope the request needs (category MISSING_SCOPES).
	CodeMissingScopes = "hubspot_missing_scopes"
	// CodeValidation: HubSpot refused a property value or a request's shape (category VALIDATION_ERROR).
	CodeValidation = "hubspot_validation_error"
	// CodeBatchTooLarge: a batch holds more records than HubSpot takes in one request.
	CodeBatchTooLarge = "hubspot_batch_too_large"
)

// Waits of HubSpot's 429 policies when the answer gives no interval.
const (
	windowWait = 10 * time.Second
	dailyWait  = time.Hour
	secondWait = time.Second
)

// provider is what every HubSpot operation shares.
var provider = &connector.Provider{
	Name:        Provider,
	Title:       "HubSpot",
	Credentials: []string{CredentialPrivateApp, CredentialOAuth2},
	BaseURL:     baseURL,
	Authorize:   connector.Bearer(FieldAccessToken),
	Headers:     map[string]string{"Accept": "application/json"},
	// {"status": "error", "message": "Contact already exists. Existing ID: 12", "correlationId": "…",
	// "category": "CONFLICT"}: the status gives the outcome, the category and message are quoted.
	ErrorCode:    "/category",
	ErrorMessage: "/message",
	Check:        check,
	Quota:        quota,
	Docs: "**API:** HubSpot CRM v3 objects and v4 associations at `" + APIBase + "`, with the credential's private app " +
		"token or OAuth2 access token as a bearer token. HubSpot's category and message (`CONFLICT: Contact already " +
		"exists…`) are quoted in the step's error, its `correlationId` kept in the details. `MISSING_SCOPES` fails with `" +
		CodeMissingScopes + "`, `VALIDATION_ERROR` with `" + CodeValidation + "`. **Limits:** every answer's " +
		"`X-HubSpot-RateLimit-Remaining` and `-Interval-Milliseconds` hold the credential's next calls for the rest " +
		"of the window once it is spent, `X-HubSpot-RateLimit-Daily-Remaining` at 0 for an hour; a 429 is `" +
		CodeRateLimited + "` and waits as its policy says (`TEN_SECONDLY_ROLLING`: the window, `DAILY`: an hour, " +
		"`SECONDLY`: a second).",
}

// check maps HubSpot's failures whose category says more than their status.
func check(a *connector.Answer) error {
	if a.Status < 400 {
		return nil
	}
	category, _ := a.Get("/category").(string)
	message, _ := a.Get("/message").(string)
	text := fmt.Sprintf("hubspot: status %d: %s", a.Status, strings.TrimSpace(category+": "+message))
	if id, _ := a.Get("/correlationId").(string); id != "" {
		text += " (correlationId " + id + ")"
	}
	err := fmt.Errorf("%s", text)
	switch {
	case a.Status == http.StatusTooManyRequests:
		policy, _ := a.Get("/policyName").(string)
		return nodes.NewRateLimited(CodeRateLimited, fmt.Errorf("%w (policy %s)", err, orNone(policy)), RateLimitWait(policy, a.Header))
	case category == "MISSING_SCOPES":
		return nodes.NewPermanent(CodeMissingScopes, err)
	case category == "VALIDATION_ERROR" && a.Status == http.StatusBadRequest:
		return nodes.NewPermanent(CodeValidation, err)
	}
	return nil
}

// RateLimitWait is how long a 429 of policy waits: the window's interval for HubSpot's rolling ten-second
// limit, an hour for the daily one (it resets at midnight in the account's time zone, which no header says), a
// second for the per-second limit of the search endpoints. A Retry-After header, when HubSpot sends one, wins.
func RateLimitWait(policy string, h http.Header) time.Duration {
	if after, ok := connector.RetryAfter(h.Get("Retry-After")); ok && after > 0 {
		return after
	}
	switch policy {
	case "DAILY":
		return dailyWait
	case "SECONDLY":
		return secondWait
	}
	if ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return windowWait
}

// quota reads the X-HubSpot-RateLimit-* headers: when the window's or the day's calls are spent, the
// credential's next calls wait for the window (or an hour) instead of meeting a 429.
func quota(a *connector.Answer) (time.Duration, bool) {
	if daily, err := strconv.Atoi(a.Header.Get("X-HubSpot-RateLimit-Daily-Remaining")); err == nil && daily <= 0 {
		return dailyWait, true
	}
	remaining, err := strconv.Atoi(a.Header.Get("X-HubSpot-RateLimit-Remaining"))
	if err != nil {
		return 0, false
	}
	if remaining > 0 {
		return 0, true
	}
	if ms, err := strconv.Atoi(a.Header.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond, true
	}
	return windowWait, true
}

func orNone(s string) string {
	if s == "" {
		return "not named"
	}
	return s
}
