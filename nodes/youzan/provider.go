package youzan

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes of Youzan's answers, beside the runtime's (youzan_timeout, youzan_server_error…). Youzan answers
// its failures with HTTP 200 and one of three bodies (doc.youzanyun.com, 错误码 and 限流 pages, read 2026-12-07):
// the gateway's {"gw_err_resp": {"err_code", "err_msg", "trace_id"}}, a service's {"success": false, "code",
// "message"}, or an older API's {"error_response": {"code", "msg"}}; each failure keeps Youzan's code and message
// verbatim.
const (
	// CodeAPIError: any refusal not named below (a bad parameter, a trade that cannot be shipped…).
	CodeAPIError = "youzan_api_error"
	// CodeTokenInvalid: 4201, 4202 or 4203 even with a token just obtained: the shop's grant is gone or expired.
	CodeTokenInvalid = "youzan_token_invalid"
	// CodeForbidden: 4204, the app lacks the capability package (能力包) of the API.
	CodeForbidden = "youzan_forbidden"
	// CodeRateLimited: 4101 and the services' "请求被限流" codes; retried after a wait.
	CodeRateLimited = "youzan_rate_limited"
	// CodeNotFound: the trade does not exist in the credential's shop.
	CodeNotFound = "youzan_not_found"
	// CodeTransient: codes Youzan documents as worth retrying (a service timeout, -100 操作异常).
	CodeTransient = "youzan_transient"
	// CodeNotApplied: a 200 whose data says is_success false.
	CodeNotApplied = "youzan_not_applied"
)

// Gateway codes that say the access token was refused (doc.youzanyun.com 错误码: 4201 非法的请求凭证, 4202 请求凭证过期,
// 4203 请求凭证不存在); Youzan's advice is to renew the token once and try once more, which the runtime does.
var tokenCodes = map[int64]bool{4201: true, 4202: true, 4203: true}

// Codes of a rate limit: the gateway's 4101 (访问频繁) and the services' 500100004, 123000042 and 141500203
// ("请求被限流", "api rate limiting"), from the 限流 page (resource/develop-guide/27027/41693).
var rateLimitCodes = map[int64]bool{4101: true, 500100004: true, 123000042: true, 141500203: true}

// Codes Youzan documents as transient: 106000001 and 106100118 (the trade list timed out), -100 (shipping
// 操作异常, retry), 5003 (a gateway plug-in failed).
var transientCodes = map[int64]bool{106000001: true, 106100118: true, -100: true, 5003: true}

// Codes of a trade that is not in the shop: 105000016 and 50000 (订单不存在), and 5000 when its message says "trade
// not found" (5000 is also the code of other parameter errors).
var notFoundCodes = map[int64]bool{105000016: true, 106000004: true}

// rateLimitWait is the first wait Youzan's limits page advises (3 s, then 6, 12, 24, 48).
const rateLimitWait = 3 * time.Second

// shanghai is the time zone of every time Youzan writes and reads ("2026-11-20 18:02:03"): China Standard Time,
// UTC+8 without daylight saving since 1991, fixed so the conversion needs no zone database.
var shanghai = time.FixedZone("CST", 8*3600)

// failure is what an answer says went wrong, or nothing.
type failure struct {
	code    int64
	message string
	// notApplied: the answer succeeded but its data says is_success false.
	notApplied bool
}

// answerFailure reads the failure in a Youzan answer, in whichever of its three shapes.
func answerFailure(a *connector.Answer) (failure, bool) {
	if a.JSON == nil {
		return failure{}, false
	}
	if gw, ok := a.Get("/gw_err_resp").(map[string]any); ok {
		code, _ := integer(gw["err_code"])
		return failure{code: code, message: str(gw["err_msg"])}, true
	}
	if er, ok := a.Get("/error_response").(map[string]any); ok {
		code, _ := integer(er["code"])
		return failure{code: code, message: firstNonEmpty(str(er["msg"]), str(er["message"]))}, true
	}
	root, _ := a.JSON.(map[string]any)
	success, hasSuccess := root["success"].(bool)
	code, hasCode := integer(root["code"])
	if (hasSuccess && !success) || (hasCode && code != 200 && code != 0) {
		return failure{code: code, message: str(root["message"])}, true
	}
	for _, p := range []string{"/data/is_success", "/response/is_success"} {
		if ok, isBool := a.Get(p).(bool); isBool && !ok {
			return failure{code: 200, message: "is_success is false", notApplied: true}, true
		}
	}
	return failure{}, false
}

// tokenRefused reports whether an answer refused the access token.
func tokenRefused(a *connector.Answer) bool {
	f, ok := answerFailure(a)
	return ok && tokenCodes[f.code]
}

// check maps a Youzan failure to the engine's outcome.
func check(a *connector.Answer) error {
	f, ok := answerFailure(a)
	if !ok {
		return nil
	}
	err := fmt.Errorf("youzan: %d %s", f.code, f.message)
	lower := strings.ToLower(f.message)
	switch {
	case tokenCodes[f.code]:
		return nodes.NewPermanent(CodeTokenInvalid, fmt.Errorf("%w (a renewed token was refused too: the shop's authorisation may have ended)", err))
	case rateLimitCodes[f.code]:
		return nodes.NewRateLimited(CodeRateLimited, err, rateLimitWait)
	case f.code == 4204:
		return nodes.NewPermanent(CodeForbidden, err)
	case transientCodes[f.code]:
		return nodes.NewRetryable(CodeTransient, err)
	case notFoundCodes[f.code], strings.Contains(lower, "not found"), strings.Contains(f.message, "不存在"):
		return nodes.NewPermanent(CodeNotFound, err)
	case f.notApplied:
		return nodes.NewPermanent(CodeNotApplied, errors.New("youzan: the answer's is_success is false"))
	}
	return nodes.NewPermanent(CodeAPIError, err)
}

// provider is what every Youzan operation shares.
var provider = &connector.Provider{
	Name:        Provider,
	Title:       "Youzan",
	Credentials: []string{CredentialType},
	BaseURL:     apiBase,
	// The gateway takes the token in the query only (in a header or the body it answers 4201).
	Authorize: connector.Query(map[string]string{"access_token": nodes.CredentialAccessToken}),
	Token:     tokens,
	Headers:   map[string]string{"Accept": "application/json"},
	Check:     check,
	Docs: "**API:** Youzan Cloud (有赞云) open platform, `POST https://open.youzanyun.com/api/{api}/{version}?access_token=…` " +
		"with a JSON body. The access token comes from the credential's client id, secret and shop id (`POST /auth/token`, " +
		"authorize_type `silent`); it is kept per credential until five minutes before it expires and renewed once when " +
		"Youzan refuses it (4201, 4202, 4203). **Failures:** Youzan answers them with HTTP 200; its code and message are " +
		"quoted verbatim: 4101 and the services' rate-limit codes are `" + CodeRateLimited + "` (retried after 3 s and " +
		"more), 4204 `" + CodeForbidden + "` (the app lacks the API's capability package), an unknown trade `" +
		CodeNotFound + "`, a token refused twice `" + CodeTokenInvalid + "`, anything else `" + CodeAPIError + "`. " +
		"Times are read and written in Asia/Shanghai (`yyyy-MM-dd HH:mm:ss`), amounts in yuan as decimal text.",
}
