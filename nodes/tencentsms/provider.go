package tencentsms

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes besides the runtime's (tencentsms_unauthorized, tencentsms_outcome_unknown…).
const (
	// CodeRateLimited: Tencent Cloud refused over a limit: the API's request rate (RequestLimitExceeded) or, for
	// every number of a send, the number's 30-second, hourly or daily limit (LimitExceeded.PhoneNumber…).
	// Nothing was sent; it waits out the window.
	CodeRateLimited = "tencentsms_rate_limited"
	// CodeNumberInvalid: no number of the send was taken (InvalidParameterValue.IncorrectPhoneNumber…).
	CodeNumberInvalid = "tencentsms_number_invalid"
	// CodeRejected: any other refusal, with Tencent Cloud's code and message quoted (a template or signature
	// not approved, a parameter out of range, no package left…).
	CodeRejected = "tencentsms_rejected"
)

// throttleWait is how long a call over the API's request rate waits: the rate counts per second.
const throttleWait = 2 * time.Second

// untilTomorrow is the time left until midnight in Beijing, when a daily limit resets.
func untilTomorrow(t time.Time) time.Duration {
	b := t.In(beijing)
	return time.Date(b.Year(), b.Month(), b.Day()+1, 0, 0, 0, 0, beijing).Sub(t)
}

// limitWindow is how long a number's limit holds, by its code; ok is false for codes that are no rate limit.
func limitWindow(code string, t time.Time) (time.Duration, bool) {
	switch {
	case code == "LimitExceeded.PhoneNumberThirtySecondLimit":
		return 30 * time.Second, true
	case code == "LimitExceeded.PhoneNumberOneHourLimit":
		return time.Hour, true
	case code == "LimitExceeded.PhoneNumberDailyLimit", code == "LimitExceeded.PhoneNumberSameContentDailyLimit",
		code == "LimitExceeded.DailyLimit":
		return untilTomorrow(t), true
	case strings.HasPrefix(code, "RequestLimitExceeded"):
		return throttleWait, true
	case strings.HasPrefix(code, "LimitExceeded.") && strings.Contains(code, "Frequency"):
		return 30 * time.Second, true
	}
	return 0, false
}

// provider is what every Tencent Cloud SMS operation shares.
var provider = &connector.Provider{
	Name:        Provider,
	Title:       "Tencent Cloud SMS",
	Credentials: []string{CredentialType},
	BaseURL:     baseURL,
	Authorize:   authorize,
	Headers:     map[string]string{"X-TC-Action": "SendSms", "X-TC-Version": APIVersion},
	// Tencent Cloud answers {"Response": {"Error": {"Code", "Message"}, "RequestId"}} with status 200.
	ErrorCode:    "/Response/Error/Code",
	ErrorMessage: "/Response/Error/Message",
	Check:        check,
	Docs: "**API:** Tencent Cloud SMS API 3.0, version " + APIVersion + ", a POST of JSON to `" + APIHost + "/` with `X-TC-Action`, " +
		"`X-TC-Version`, `X-TC-Region` and `X-TC-Timestamp`, signed with TC3-HMAC-SHA256 (the SecretKey never leaves Ferry); " +
		"the credential's SdkAppID is added to the body as `SmsSdkAppId` when the request is signed. Tencent Cloud answers " +
		"status 200 with `Response.Error` for a refused call, quoted verbatim: `AuthFailure.*` fails with `tencentsms_unauthorized`, " +
		"`RequestLimitExceeded` waits (`" + CodeRateLimited + "`), `InternalError.*` fails with `tencentsms_outcome_unknown`, " +
		"every other code with `" + CodeRejected + "`.",
}

// authorize adds the credential's SdkAppID to a JSON body that names none and signs the request.
func authorize(req *http.Request, fields map[string]string) error {
	id := strings.TrimSpace(fields[FieldSecretID])
	key := strings.TrimSpace(fields[FieldSecretKey])
	if id == "" || key == "" {
		return fmt.Errorf("the credential needs a SecretId and a SecretKey")
	}
	if strings.ContainsAny(id, "\r\n\x00 ,/") {
		return fmt.Errorf("the SecretId contains a space, a comma, a slash or a line break")
	}
	region := strings.TrimSpace(fields[FieldRegion])
	if region == "" {
		region = "ap-guangzhou"
	}
	if !regions[region] {
		return fmt.Errorf("region %q is not one the SMS API serves (ap-guangzhou, ap-beijing, ap-nanjing)", region)
	}
	app := strings.TrimSpace(fields[FieldSdkAppID])
	if !sdkAppID.MatchString(app) {
		return fmt.Errorf("the SdkAppID %q is not ten digits (such as 1400006666)", app)
	}
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			return fmt.Errorf("the body is not a JSON object: %v", err)
		}
		if _, has := body["SmsSdkAppId"]; !has {
			body["SmsSdkAppId"] = app
		}
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
	}
	return sign(req, id, key, region)
}

// check turns Tencent Cloud's answer into the engine's outcome. A refused call (Response.Error) is classified by
// its code. A send reports each number in SendStatusSet: it succeeds when at least one number was taken (sending
// again would repeat the message to those), with the refused numbers counted in the output; when none was taken
// it fails: rate limited when every number hit its limit (waiting for the longest window), with the outcome unknown
// when a number's status is an internal error, else permanently.
func check(a *connector.Answer) error {
	top, _ := a.JSON.(map[string]any)
	resp, _ := top["Response"].(map[string]any)
	if resp == nil {
		return nil
	}
	if e, ok := resp["Error"].(map[string]any); ok {
		code, _ := e["Code"].(string)
		msg, _ := e["Message"].(string)
		err := fmt.Errorf("tencentsms: %s: %s (RequestId %v)", code, msg, resp["RequestId"])
		switch {
		case strings.HasPrefix(code, "AuthFailure"), strings.HasPrefix(code, "UnauthorizedOperation"):
			return nodes.NewPermanent(Provider+"_unauthorized", err)
		case strings.HasPrefix(code, "InternalError"):
			return nodes.NewPermanent(Provider+"_outcome_unknown", fmt.Errorf("%w. Tencent Cloud may have sent the message: "+
				"check the send records (发送记录) before running this step again", err))
		}
		if wait, limited := limitWindow(code, time.Now()); limited {
			return nodes.NewRateLimited(CodeRateLimited, err, wait)
		}
		if strings.HasPrefix(code, "InvalidParameterValue.IncorrectPhoneNumber") {
			return nodes.NewPermanent(CodeNumberInvalid, err)
		}
		return nodes.NewPermanent(CodeRejected, err)
	}
	set, isSend := resp["SendStatusSet"].([]any)
	if !isSend {
		return nil
	}
	sent, longest := 0, time.Duration(0)
	var failed []string
	allLimited := true
	for _, item := range set {
		st, _ := item.(map[string]any)
		code, _ := st["Code"].(string)
		if code == "Ok" {
			sent++
			continue
		}
		failed = append(failed, fmt.Sprintf("%v: %s: %v", st["PhoneNumber"], code, st["Message"]))
		if wait, limited := limitWindow(code, time.Now()); limited {
			longest = max(longest, wait)
		} else {
			allLimited = false
		}
	}
	resp["sent"], resp["failed"] = int64(sent), int64(len(failed))
	if sent > 0 || len(failed) == 0 {
		return nil
	}
	err := fmt.Errorf("tencentsms: no number was sent: %s", strings.Join(failed, "; "))
	if allLimited {
		return nodes.NewRateLimited(CodeRateLimited, err, longest)
	}
	incorrect := true
	for _, item := range set {
		st, _ := item.(map[string]any)
		code, _ := st["Code"].(string)
		if strings.HasPrefix(code, "InternalError") {
			return nodes.NewPermanent(Provider+"_outcome_unknown", fmt.Errorf("%w. Tencent Cloud may have sent the message: "+
				"check the send records (发送记录) before running this step again", err))
		}
		incorrect = incorrect && strings.HasPrefix(code, "InvalidParameterValue.IncorrectPhoneNumber")
	}
	if incorrect {
		return nodes.NewPermanent(CodeNumberInvalid, err)
	}
	return nodes.NewPermanent(CodeRejected, err)
}
