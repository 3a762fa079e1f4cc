package wecom

import (
	"fmt"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes besides the runtime's (wecom_outcome_unknown, wecom_network…). Each quotes WeCom's errcode and
// errmsg verbatim.
const (
	// CodeRateLimited: WeCom refused the message over a frequency limit (45009, 45033); it waits and retries.
	CodeRateLimited = "wecom_rate_limited"
	// CodeBusy: WeCom answered -1, system busy; retried.
	CodeBusy = "wecom_busy"
	// CodeWebhookInvalid: the robot's webhook key is not valid (93000), the robot was removed from its group.
	CodeWebhookInvalid = "wecom_webhook_invalid"
	// CodeCredentialInvalid: the corp id, the secret or the agent id is wrong, or the server's IP is not trusted.
	CodeCredentialInvalid = "wecom_credential_invalid"
	// CodeTokenInvalid: a renewed access token was refused too.
	CodeTokenInvalid = "wecom_token_invalid"
	// CodeTokenUnavailable: no access token could be obtained (WeCom unreachable, an answer that is not JSON).
	CodeTokenUnavailable = "wecom_token_unavailable"
	// CodeRecipientsInvalid: none of the users, departments or tags may receive the app's message (81013, 82001),
	// the app may not reach them (60011), or the list is malformed or too long (40031, 40032).
	CodeRecipientsInvalid = "wecom_recipients_invalid"
	// CodeMessageInvalid: WeCom refused the message itself (empty, too long, a bad type or parameter).
	CodeMessageInvalid = "wecom_message_invalid"
	// CodeError: any other errcode.
	CodeError = "wecom_error"
)

// rateLimitWait is how long a message refused over a frequency limit waits: WeCom counts its limits per minute.
const rateLimitWait = time.Minute

// WeCom's errcodes (全局错误码, https://developer.work.weixin.qq.com/document/path/90313; a test checks each one
// against the page's table in testdata).
var (
	tokenCodes      = map[int64]bool{40014: true, 42001: true, 41001: true}
	rateCodes       = map[int64]bool{45009: true, 45033: true}
	credentialCodes = map[int64]bool{40001: true, 40013: true, 40056: true, 40091: true, 60020: true, 301002: true, 48002: true, 41002: true, 41004: true, 41011: true}
	recipientCodes  = map[int64]bool{81013: true, 82001: true, 60011: true, 40031: true, 40032: true}
	messageCodes    = map[int64]bool{40008: true, 44004: true, 45002: true, 40058: true, 40063: true, 40009: true, 40006: true, 40007: true, 41006: true, 44001: true, 41016: true}
)

// errcode is an answer's errcode; 0 when it has none.
func errcode(a *connector.Answer) int64 {
	top, _ := a.JSON.(map[string]any)
	switch n := top["errcode"].(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return 0
}

// classifyCode maps a non-zero errcode to the engine's outcome.
func classifyCode(code int64, err error) error {
	switch {
	case code == 0:
		return nil
	case rateCodes[code]:
		return nodes.NewRateLimited(CodeRateLimited, err, rateLimitWait)
	case code == -1:
		return nodes.NewRetryable(CodeBusy, err)
	case code == 93000:
		return nodes.NewPermanent(CodeWebhookInvalid, fmt.Errorf("%w (the robot's key is not valid: was the robot removed from its group?)", err))
	case tokenCodes[code]:
		return nodes.NewPermanent(CodeTokenInvalid, fmt.Errorf("%w (a renewed access token was refused too)", err))
	case code == 60020:
		return nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("%w (add Ferry's outbound IP to the app's trusted IPs, 企业可信IP)", err))
	case credentialCodes[code]:
		return nodes.NewPermanent(CodeCredentialInvalid, err)
	case recipientCodes[code]:
		return nodes.NewPermanent(CodeRecipientsInvalid, err)
	case messageCodes[code]:
		return nodes.NewPermanent(CodeMessageInvalid, err)
	}
	return nodes.NewPermanent(CodeError, err)
}

// check reads WeCom's answer: every failure is a 200 with {"errcode": n, "errmsg": "…"}.
func check(a *connector.Answer) error {
	code := errcode(a)
	if code == 0 {
		return nil
	}
	top, _ := a.JSON.(map[string]any)
	return classifyCode(code, fmt.Errorf("wecom: errcode %d: %v", code, top["errmsg"]))
}

var common = connector.Provider{
	Name:         Provider,
	Title:        "WeCom",
	BaseURL:      baseURL,
	Headers:      map[string]string{"Accept": "application/json"},
	ErrorCode:    "/errcode",
	ErrorMessage: "/errmsg",
	Check:        check,
}

// robotProvider sends group robot messages.
var robotProvider = func() *connector.Provider {
	p := common
	p.Credentials = []string{RobotCredential}
	p.Authorize = authorizeRobot
	p.Docs = "**API:** WeCom group robot, `POST " + APIHost + APIPath + webhookPath + "?key=…` with a JSON message; the key comes " +
		"from the credential and is never shown. WeCom answers `{\"errcode\": 0, \"errmsg\": \"ok\"}`; another errcode fails the step " +
		"with WeCom's code and message verbatim: 45009 (over 20 messages a minute) waits a minute and retries (`" + CodeRateLimited +
		"`), 93000 (the key is not valid) fails for good (`" + CodeWebhookInvalid + "`)."
	return &p
}()

// appProvider sends application messages with the app's access token.
var appProvider = func() *connector.Provider {
	p := common
	p.Credentials = []string{AppCredential}
	p.Authorize = authorizeApp
	p.Token = tokens
	p.Docs = "**API:** WeCom server API, `POST " + APIHost + APIPath + sendPath + "?access_token=…`. The token comes from `GET " +
		APIHost + APIPath + tokenPath + "` with the credential's corp id and secret, is kept until five minutes before it expires " +
		"and renewed once when WeCom answers 40014 or 42001 (invalid or expired). WeCom's errcode and errmsg are quoted verbatim " +
		"in a failure; 45009 waits a minute and retries (`" + CodeRateLimited + "`)."
	return &p
}()
