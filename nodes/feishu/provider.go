package feishu

import (
	"fmt"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes besides the runtime's (feishu_outcome_unknown, feishu_network…). Each quotes Feishu's code and
// msg verbatim.
const (
	// CodeSignatureInvalid: Feishu refused the signature (19021): a wrong secret, or a clock more than an hour off.
	CodeSignatureInvalid = "feishu_signature_invalid"
	// CodeKeywordMissing: the message holds none of the bot's custom keywords (19024).
	CodeKeywordMissing = "feishu_keyword_missing"
	// CodeIPNotAllowed: the bot's IP allowlist does not hold Ferry's address (19022).
	CodeIPNotAllowed = "feishu_ip_not_allowed"
	// CodeRateLimited: Feishu refused the message over its frequency limit (9499, 11232); it waits and retries.
	CodeRateLimited = "feishu_rate_limited"
	// CodeError: any other code.
	CodeError = "feishu_error"
)

// rateLimitWait is how long a refused message waits when Feishu names no time: its limit counts per minute.
const rateLimitWait = time.Minute

// code is Feishu's code in an answer: "code", or "StatusCode" in the older answer form; 0 when absent.
func code(a *connector.Answer) int64 {
	top, _ := a.JSON.(map[string]any)
	for _, k := range []string{"code", "StatusCode"} {
		switch n := top[k].(type) {
		case int64:
			if n != 0 {
				return n
			}
		case float64:
			if n != 0 {
				return int64(n)
			}
		}
	}
	return 0
}

// check reads Feishu's answer: a failure carries a non-zero code with its msg, whatever the status.
func check(a *connector.Answer) error {
	c := code(a)
	if c == 0 {
		return nil
	}
	top, _ := a.JSON.(map[string]any)
	msg := top["msg"]
	if msg == nil {
		msg = top["StatusMessage"]
	}
	err := fmt.Errorf("feishu: code %d: %v", c, msg)
	switch c {
	case 19021:
		return nodes.NewPermanent(CodeSignatureInvalid, fmt.Errorf("%w (check the credential's signing secret and the server's clock)", err))
	case 19024:
		return nodes.NewPermanent(CodeKeywordMissing, fmt.Errorf("%w (the message must contain one of the bot's custom keywords)", err))
	case 19022:
		return nodes.NewPermanent(CodeIPNotAllowed, err)
	case 9499, 11232:
		after, ok := connector.RetryAfter(a.Header.Get("Retry-After"))
		if !ok || after <= 0 {
			after = rateLimitWait
		}
		return nodes.NewRateLimited(CodeRateLimited, err, after)
	}
	return nodes.NewPermanent(CodeError, err)
}

// provider is what every bot message shares.
var provider = &connector.Provider{
	Name:         Provider,
	Title:        "Feishu",
	Credentials:  []string{CredentialType},
	BaseURL:      baseURL,
	Authorize:    authorize,
	Headers:      map[string]string{"Accept": "application/json"},
	ErrorCode:    "/code",
	ErrorMessage: "/msg",
	Check:        check,
	Docs: "**API:** Feishu / Lark custom bot, `POST " + FeishuHost + HookPath + "/{token}` (or " + LarkHost + ") with a JSON " +
		"message; the token comes from the credential and is never shown. With a signing secret, `timestamp` (Unix seconds) and " +
		"`sign` (base64 of HMAC-SHA256 keyed with timestamp + \"\\n\" + secret over an empty message) are added when the request " +
		"is sent. Feishu answers `{\"code\": 0, \"msg\": \"success\"}`; another code fails the step with Feishu's code and msg " +
		"verbatim: 19021 `" + CodeSignatureInvalid + "`, 19024 `" + CodeKeywordMissing + "`, 19022 `" + CodeIPNotAllowed +
		"`, 9499 and 11232 wait a minute and retry (`" + CodeRateLimited + "`).",
}
