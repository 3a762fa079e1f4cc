package aliyunsms

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes besides the runtime's (aliyunsms_unauthorized, aliyunsms_outcome_unknown…).
const (
	// CodeRateLimited: Alibaba Cloud refused the send over a limit: a phone number's (isv.BUSINESS_LIMIT_CONTROL,
	// isv.DAY_LIMIT_CONTROL) or the API's (Throttling.*). Nothing was sent; it waits out the limit's window.
	CodeRateLimited = "aliyunsms_rate_limited"
	// CodeNumberInvalid: a phone number Alibaba Cloud does not take (isv.MOBILE_NUMBER_ILLEGAL).
	CodeNumberInvalid = "aliyunsms_number_invalid"
	// CodeTemplateParams: the template parameters do not fit the template (isv.TEMPLATE_MISSING_PARAMETERS,
	// isv.TEMPLATE_PARAMS_ILLEGAL).
	CodeTemplateParams = "aliyunsms_template_params"
	// CodeRejected: any other refusal Alibaba Cloud answers with its Code (a signature or template not approved,
	// no balance…), quoted.
	CodeRejected = "aliyunsms_rejected"
)

// throttleWait is how long a call refused by the API's throttling waits: the QPS limits count per second.
const throttleWait = 2 * time.Second

// beijing is China Standard Time, in which Alibaba Cloud's daily limits reset.
var beijing = time.FixedZone("CST", 8*3600)

// untilTomorrow is the time left until midnight in Beijing, when a daily limit resets.
func untilTomorrow(t time.Time) time.Duration {
	b := t.In(beijing)
	next := time.Date(b.Year(), b.Month(), b.Day()+1, 0, 0, 0, 0, beijing)
	return next.Sub(t)
}

// numberWindow reads which per-number limit isv.BUSINESS_LIMIT_CONTROL hit from its message (触发分钟级流控,
// 触发小时级流控, 触发天级流控) and gives the wait until it surely frees: Alibaba Cloud counts a day as the 24 hours
// before the send, so a daily limit waits 24 hours; an unknown window waits a minute, the shortest.
func numberWindow(msg string) time.Duration {
	switch {
	case strings.Contains(msg, "天级"), strings.Contains(strings.ToLower(msg), "day"):
		return 24 * time.Hour
	case strings.Contains(msg, "小时级"), strings.Contains(strings.ToLower(msg), "hour"):
		return time.Hour
	default:
		return time.Minute
	}
}

// provider is what every Alibaba Cloud SMS operation shares.
var provider = &connector.Provider{
	Name:        Provider,
	Title:       "Alibaba Cloud SMS",
	Credentials: []string{CredentialType},
	BaseURL:     baseURL,
	Authorize:   authorize,
	Headers:     map[string]string{"Accept": "application/json", "x-acs-action": "SendSms", "x-acs-version": APIVersion},
	// Alibaba Cloud answers {"Code": …, "Message": …, "RequestId": …}; Code is "OK" on success.
	ErrorCode:    "/Code",
	ErrorMessage: "/Message",
	Check:        check,
	Docs: "**API:** Alibaba Cloud SMS `SendSms`, version " + APIVersion + ", a POST to `" + EndpointChina + "/` (or the ap-southeast-1 " +
		"endpoint) with the parameters in the query, signed with ACS3-HMAC-SHA256 (`x-acs-action`, `x-acs-version`, `x-acs-date`, " +
		"`x-acs-signature-nonce`, `x-acs-content-sha256`; the AccessKey secret never leaves Ferry). Alibaba Cloud's answer code " +
		"decides the outcome, quoted verbatim: `isv.BUSINESS_LIMIT_CONTROL` (a number's per-minute, per-hour or per-day limit) and " +
		"`isv.DAY_LIMIT_CONTROL` wait until the window frees (a number's day is the 24 hours before the send; the account's daily cap resets at midnight China time), `Throttling.*` waits briefly (`" + CodeRateLimited + "`); " +
		"`isv.MOBILE_NUMBER_ILLEGAL` fails with `" + CodeNumberInvalid + "`, `isv.TEMPLATE_MISSING_PARAMETERS` with `" +
		CodeTemplateParams + "`, a refused signature or AccessKey with `aliyunsms_unauthorized`, `isp.SYSTEM_ERROR` with " +
		"`aliyunsms_outcome_unknown`, every other code with `" + CodeRejected + "`.",
}

// authorize signs the request with the credential's AccessKey.
func authorize(req *http.Request, fields map[string]string) error {
	id := strings.TrimSpace(fields[FieldAccessKeyID])
	secret := strings.TrimSpace(fields[FieldAccessKeySecret])
	if id == "" || secret == "" {
		return fmt.Errorf("the credential needs an AccessKey ID and secret")
	}
	if strings.ContainsAny(id, "\r\n\x00 ,") {
		return fmt.Errorf("the AccessKey ID contains a space, a comma or a line break")
	}
	return sign(req, id, secret)
}

// check turns Alibaba Cloud's answer code into the engine's outcome; an answer without a code (or "OK") is left
// to its status.
func check(a *connector.Answer) error {
	top, _ := a.JSON.(map[string]any)
	code, _ := top["Code"].(string)
	if code == "" || code == "OK" {
		return nil
	}
	msg, _ := top["Message"].(string)
	err := fmt.Errorf("aliyunsms: status %d: %s: %s", a.Status, code, msg)
	switch {
	case code == "isv.BUSINESS_LIMIT_CONTROL":
		return nodes.NewRateLimited(CodeRateLimited, err, numberWindow(msg))
	case code == "isv.DAY_LIMIT_CONTROL":
		return nodes.NewRateLimited(CodeRateLimited, err, untilTomorrow(time.Now()))
	case strings.HasPrefix(code, "Throttling"):
		after, ok := connector.RetryAfter(a.Header.Get("Retry-After"))
		if !ok {
			after = throttleWait
		}
		return nodes.NewRateLimited(CodeRateLimited, err, after)
	case code == "isv.MOBILE_NUMBER_ILLEGAL":
		return nodes.NewPermanent(CodeNumberInvalid, err)
	case code == "isv.TEMPLATE_MISSING_PARAMETERS", code == "isv.TEMPLATE_PARAMS_ILLEGAL":
		return nodes.NewPermanent(CodeTemplateParams, err)
	case code == "SignatureDoesNotMatch", strings.HasPrefix(code, "InvalidAccessKeyId"), strings.HasPrefix(code, "Forbidden"),
		code == "isp.RAM_PERMISSION_DENY", code == "IncompleteSignature", code == "SignatureNonceUsed", code == "InvalidTimeStamp.Expired":
		return nodes.NewPermanent(Provider+"_unauthorized", err)
	case code == "isp.SYSTEM_ERROR":
		return nodes.NewPermanent(Provider+"_outcome_unknown", fmt.Errorf("%w. Alibaba Cloud may have sent the message: "+
			"check the send records (发送记录) before running this step again", err))
	default:
		return nodes.NewPermanent(CodeRejected, err)
	}
}
