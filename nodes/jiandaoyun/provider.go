package jiandaoyun

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes besides the runtime's (jiandaoyun_invalid_request for Jiandaoyun's 400 with its code and msg
// quoted, jiandaoyun_unauthorized, jiandaoyun_server_error…).
const (
	// CodeRateLimited: Jiandaoyun refused the call over its request rate (429, or 400 with code 8303).
	CodeRateLimited = "jiandaoyun_rate_limited"
)

// codeRateLimit is Jiandaoyun's error code for a call over the request rate ("超出请求频率限制").
const codeRateLimit = 8303

// rateLimitWait is how long a refused call waits when Jiandaoyun names no time: its limits count per second.
const rateLimitWait = 2 * time.Second

// nextKey is where Check writes the cursor of the page after a list answer: Jiandaoyun pages by the last
// record's _id (data_id), which its answer does not repeat on its own.
const nextKey = "next_data_id"

// provider is what every Jiandaoyun operation shares.
var provider = &connector.Provider{
	Name:        Provider,
	Title:       "Jiandaoyun",
	Credentials: []string{CredentialType},
	BaseURL:     baseURL,
	Authorize:   authorize,
	Headers:     map[string]string{"Accept": "application/json"},
	// Jiandaoyun's failures are a 400 reading {"code": 8303, "msg": "超出请求频率限制"}.
	ErrorCode:    "/code",
	ErrorMessage: "/msg",
	Check:        check,
	Docs: "**API:** Jiandaoyun open API v5 (`" + APIHost + APIPath + "`), every call a POST of JSON, authenticated with " +
		"`Authorization: Bearer <API key>`. Jiandaoyun answers an error with 400 and `{\"code\": …, \"msg\": …}`: the step " +
		"fails with `jiandaoyun_invalid_request` (or `jiandaoyun_unauthorized` for 401 and 403) and Jiandaoyun's code and " +
		"message verbatim. 429 and code 8303 (over the request rate) wait and retry (`" + CodeRateLimited + "`).",
}

// authorize sends the API key as a Bearer token.
func authorize(req *http.Request, fields map[string]string) error {
	key := strings.TrimSpace(fields[FieldAPIKey])
	if key == "" {
		return fmt.Errorf("the credential has no API key")
	}
	if strings.ContainsAny(key, "\r\n\x00 ") {
		return fmt.Errorf("the API key contains a space or a line break")
	}
	req.Header.Set("Authorization", "Bearer "+key)
	return nil
}

// check reads what the status alone does not say: code 8303 in a 400 is a rate limit, and a list answer gets the
// cursor of its next page (the last record's _id; an empty page ends the list).
func check(a *connector.Answer) error {
	top, _ := a.JSON.(map[string]any)
	code, _ := top["code"].(float64)
	if n, ok := top["code"].(int64); ok {
		code = float64(n)
	}
	if a.Status == http.StatusTooManyRequests || (a.Status >= 400 && code == codeRateLimit) {
		after, ok := connector.RetryAfter(a.Header.Get("Retry-After"))
		if !ok {
			after = rateLimitWait
		}
		return nodes.NewRateLimited(CodeRateLimited, fmt.Errorf("jiandaoyun: status %d: %v: %v", a.Status, top["code"], top["msg"]), after)
	}
	if a.Status >= 200 && a.Status < 300 {
		if list, ok := top["data"].([]any); ok && len(list) > 0 {
			if last, ok := list[len(list)-1].(map[string]any); ok {
				if id, ok := last["_id"].(string); ok && id != "" {
					top[nextKey] = id
				}
			}
		}
	}
	return nil
}
