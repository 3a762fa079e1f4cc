package zoho

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes besides the runtime's (zoho_not_found, zoho_invalid_request…) and those a record's own error
// gives (zoho_ and Zoho's code in lower case: zoho_duplicate_data, zoho_mandatory_not_found, zoho_invalid_data).
const (
	// CodeRateLimited: Zoho refused the call over the organisation's limits (429, TOO_MANY_REQUESTS).
	CodeRateLimited = "zoho_rate_limited"
	// CodeTokenInvalid: Zoho refused the access token (INVALID_TOKEN) before it expired, as when it was revoked
	// or superseded, and refused the renewed one too; the step is retried.
	CodeTokenInvalid = "zoho_token_invalid"
	// CodeRecordError: a record failed with a code that is not Zoho's usual upper-case word.
	CodeRecordError = "zoho_record_error"
)

// rateLimitWait is how long a refused call waits when Zoho names no time: its concurrency limit frees up as
// calls finish, its daily credits do not, and the engine's backoff grows from here.
const rateLimitWait = 30 * time.Second

var zohoCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// provider is what every Zoho CRM operation shares.
var provider = &connector.Provider{
	Name:        Provider,
	Title:       "Zoho CRM",
	Credentials: []string{CredentialType},
	BaseURL:     baseURL,
	Authorize:   authorize,
	Headers:     map[string]string{"Accept": "application/json"},
	// Zoho's failures read {"code": "INVALID_DATA", "details": {…}, "message": "invalid data", "status": "error"}.
	ErrorCode:      "/code",
	ErrorMessage:   "/message",
	Check:          check,
	SessionRefused: refused,
	Docs: "**API:** Zoho CRM REST API v8 (`https://www.zohoapis.<data centre>/crm/v8`, the `api_domain` of the " +
		"credential's token), authenticated with `Authorization: Zoho-oauthtoken <access token>`. Zoho's code and " +
		"message are quoted in the step's error. A record refused inside a successful answer (`{\"data\": [{\"status\": " +
		"\"error\", \"code\": \"DUPLICATE_DATA\", …}]}`) fails with `zoho_` and Zoho's code in lower case " +
		"(`zoho_duplicate_data`, `zoho_mandatory_not_found`, `zoho_invalid_data`), permanently, with Zoho's message and " +
		"details. `TOO_MANY_REQUESTS` (429) waits and retries (`" + CodeRateLimited + "`). `INVALID_TOKEN` (a token revoked " +
		"or superseded before it expired) has the vault renew the token and the request sent once more; refused again, " +
		"the step is retried (`" + CodeTokenInvalid + "`).",
}

// refused reports Zoho's refusal of the access token itself (401 INVALID_TOKEN), which the vault answers with a
// renewed token; other 401s (OAUTH_SCOPE_MISMATCH, a client Zoho no longer knows) are not the token's age.
func refused(a *connector.Answer) bool {
	return a.Status == http.StatusUnauthorized && a.Get("/code") == "INVALID_TOKEN"
}

// authorize sends the access token the way Zoho asks for it: "Zoho-oauthtoken <token>", whatever token_type
// the token answer gave.
func authorize(req *http.Request, fields map[string]string) error {
	tok := strings.TrimSpace(fields[nodes.CredentialAccessToken])
	if tok == "" {
		return fmt.Errorf("the credential has no access token")
	}
	if strings.ContainsAny(tok, "\r\n\x00 ") {
		return fmt.Errorf("the access token contains a space or a line break")
	}
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	return nil
}

// check reads Zoho's answer envelope: a 204 is an empty list; a record's error in the data list is the step's
// failure, whatever the status; TOO_MANY_REQUESTS and INVALID_TOKEN are not the request's fault.
func check(a *connector.Answer) error {
	if a.Status == http.StatusNoContent {
		// Zoho answers a search or a read that finds nothing with 204 and no body: the empty list it means.
		a.JSON = map[string]any{"data": []any{}, "info": map[string]any{"more_records": false, "count": int64(0)}}
		return nil
	}
	top, _ := a.JSON.(map[string]any)
	code, _ := top["code"].(string)
	switch {
	case a.Status == http.StatusTooManyRequests || code == "TOO_MANY_REQUESTS":
		after, ok := connector.RetryAfter(a.Header.Get("Retry-After"))
		if !ok {
			after = rateLimitWait
		}
		return nodes.NewRateLimited(CodeRateLimited, fmt.Errorf("zoho: status %d: %s", a.Status, quoted(top)), after)
	case code == "INVALID_TOKEN":
		return nodes.NewRetryable(CodeTokenInvalid, fmt.Errorf("zoho: status %d: %s", a.Status, quoted(top)))
	}
	if a.Status < 200 || a.Status > 499 {
		return nil
	}
	// Zoho answers a write with one envelope entry per record, in a 200, 201 or 202 and, when every record
	// failed, a 400: a record's error is the step's, with the record's code.
	records, _ := top["data"].([]any)
	for i, item := range records {
		rec, _ := item.(map[string]any)
		if rec == nil || rec["status"] != "error" {
			continue
		}
		c, _ := rec["code"].(string)
		failure := CodeRecordError
		if zohoCode.MatchString(c) {
			failure = "zoho_" + strings.ToLower(c)
		}
		return nodes.NewPermanent(failure, fmt.Errorf("zoho: record %d of %d: %s", i+1, len(records), quoted(rec)))
	}
	return nil
}

// quoted is Zoho's code, message and details as it wrote them.
func quoted(v map[string]any) string {
	var b strings.Builder
	if c, ok := v["code"]; ok {
		fmt.Fprint(&b, c)
	}
	if m, ok := v["message"]; ok && fmt.Sprint(m) != "" {
		fmt.Fprintf(&b, ": %v", m)
	}
	if d, ok := v["details"].(map[string]any); ok && len(d) > 0 {
		if raw, err := json.Marshal(d); err == nil {
			fmt.Fprintf(&b, " (details: %s)", raw)
		}
	}
	if b.Len() == 0 {
		return "no code or message"
	}
	return b.String()
}
