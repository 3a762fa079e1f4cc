package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// RobotCredential is the credential type of a group's custom robot: its webhook, and the secret of its 加签 mode
// or the keyword its security settings ask for.
const RobotCredential = "dingtalk.robot"

// Fields of the dingtalk.robot credential.
const (
	// FieldWebhook is the robot's webhook address (https://oapi.dingtalk.com/robot/send?access_token=…) or its
	// access_token alone.
	FieldWebhook = "webhook"
	// FieldSecret is the secret of the 加签 mode (the SEC… text of the robot's security settings); empty when the
	// robot does not sign.
	FieldSecret = "secret"
	// FieldKeyword is the custom keyword (自定义关键词) of the robot's security settings: every message must
	// contain one. Several, one a line.
	FieldKeyword = "keyword"
)

// Failure codes besides the runtime's.
const (
	// CodeRateLimited: DingTalk refused a message over the robot's 20 a minute (130101, 410100).
	CodeRateLimited = "dingtalk_rate_limited"
	// CodeSecurityRefused: the robot's security settings refused the message (310000: signature, timestamp,
	// keyword or IP address).
	CodeSecurityRefused = "dingtalk_security_refused"
	// CodeRobotUnavailable: the webhook's robot does not exist, is stopped, or its group was dissolved.
	CodeRobotUnavailable = "dingtalk_robot_unavailable"
	// CodeContentRefused: DingTalk refused the message's content (an unsafe link, unsuitable text or picture).
	CodeContentRefused = "dingtalk_content_refused"
	// CodeBusy: DingTalk answered -1, system busy: nothing was sent, the step is retried.
	CodeBusy = "dingtalk_busy"
	// CodeAPIError: any other errcode DingTalk answered, quoted.
	CodeAPIError = "dingtalk_api_error"
)

// robotThrottle is how long DingTalk throttles a robot that sent over 20 messages in a minute: ten minutes.
const robotThrottle = 10 * time.Minute

// robotOrigin is where robot messages go; tests point it at a stand-in server.
var robotOrigin = func() *url.URL { u, _ := url.Parse(APIHost); return u }

// now is the clock of the robot's signature; tests move it.
var now = time.Now

// accessToken is the robot's access_token from the webhook field: the whole address or the token alone.
func accessToken(webhook string) (string, error) {
	w := strings.TrimSpace(webhook)
	if w == "" {
		return "", errors.New("the credential has no webhook")
	}
	if strings.Contains(w, "://") {
		u, err := url.Parse(w)
		if err != nil {
			return "", fmt.Errorf("the webhook is not an address: %v", err)
		}
		if u.Scheme != "https" || u.Host != "oapi.dingtalk.com" || u.Path != "/robot/send" {
			return "", fmt.Errorf("the webhook is not a DingTalk robot's address (https://oapi.dingtalk.com/robot/send?access_token=…)")
		}
		w = u.Query().Get("access_token")
		if w == "" {
			return "", errors.New("the webhook has no access_token")
		}
	}
	if strings.ContainsAny(w, " \r\n\x00&?=/") {
		return "", errors.New("the webhook's access_token contains characters a token does not")
	}
	return w, nil
}

// keywords are the keyword field's keywords, one a line.
func keywords(v string) []string {
	var out []string
	for _, k := range strings.Split(v, "\n") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// keywordError is a message without any of the robot's keywords.
type keywordError struct{ keywords []string }

func (e *keywordError) Error() string {
	return fmt.Sprintf("the message contains none of the robot's keywords (%s): DingTalk refuses it with 310000; add one to the text",
		strings.Join(e.keywords, ", "))
}

// containsKeyword reports whether the message's texts contain one of the keywords (all pass when there are none).
func containsKeyword(body []byte, kws []string) bool {
	if len(kws) == 0 {
		return true
	}
	var msg map[string]any
	if err := json.Unmarshal(body, &msg); err != nil {
		return false
	}
	// The message's own texts: not its type, nor the numbers and ids it @mentions.
	var texts strings.Builder
	for k, v := range msg {
		if k != "msgtype" && k != "at" {
			collectTexts(v, &texts)
		}
	}
	for _, k := range kws {
		if strings.Contains(texts.String(), k) {
			return true
		}
	}
	return false
}

func collectTexts(v any, b *strings.Builder) {
	switch t := v.(type) {
	case string:
		b.WriteString(t)
		b.WriteByte('\n')
	case map[string]any:
		for _, x := range t {
			collectTexts(x, b)
		}
	case []any:
		for _, x := range t {
			collectTexts(x, b)
		}
	}
}

// authorizeRobot puts the robot's access_token in the query and, in the 加签 mode, timestamp and sign; with
// keywords it refuses a message containing none before it is sent.
func authorizeRobot(req *http.Request, fields map[string]string) error {
	token, err := accessToken(fields[FieldWebhook])
	if err != nil {
		return err
	}
	if kws := keywords(fields[FieldKeyword]); len(kws) > 0 && req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		if !containsKeyword(body, kws) {
			return &keywordError{keywords: kws}
		}
	}
	q := req.URL.Query()
	q.Set("access_token", token)
	if secret := strings.TrimSpace(fields[FieldSecret]); secret != "" {
		ts := now().UnixMilli()
		q.Set("timestamp", fmt.Sprint(ts))
		q.Set("sign", Sign(ts, secret))
	}
	req.URL.RawQuery = q.Encode()
	return nil
}

// errcode reads DingTalk's errcode and errmsg from an answer; ok is false when the answer has none.
func errcode(a *connector.Answer) (code int64, msg string, ok bool) {
	top, isObj := a.JSON.(map[string]any)
	if !isObj {
		return 0, "", false
	}
	switch c := top["errcode"].(type) {
	case float64:
		code = int64(c)
	case int64:
		code = c
	case json.Number:
		code, _ = c.Int64()
	default:
		return 0, "", false
	}
	msg, _ = top["errmsg"].(string)
	return code, msg, true
}

// checkRobot maps the robot's errcode (answered with HTTP 200) to the engine's outcome, DingTalk's answer quoted.
func checkRobot(a *connector.Answer) error {
	code, msg, ok := errcode(a)
	if !ok || code == 0 {
		return nil
	}
	err := fmt.Errorf("dingtalk: errcode %d: %s", code, msg)
	switch code {
	case 130101, 410100:
		return nodes.NewRateLimited(CodeRateLimited, err, robotThrottle)
	case 310000:
		return nodes.NewPermanent(CodeSecurityRefused, err)
	case 300001, 400101, 400102, 400106, 400013:
		return nodes.NewPermanent(CodeRobotUnavailable, err)
	case 430101, 430102, 430103, 430104:
		return nodes.NewPermanent(CodeContentRefused, err)
	case -1:
		return nodes.NewRetryable(CodeBusy, err)
	}
	return nodes.NewPermanent(CodeAPIError, err)
}

// robotProvider is what every robot message shares.
var robotProvider = &connector.Provider{
	Name:         Provider,
	Title:        "DingTalk",
	Credentials:  []string{RobotCredential},
	BaseURL:      func(map[string]string) (*url.URL, error) { return robotOrigin().JoinPath("/robot"), nil },
	Authorize:    authorizeRobot,
	Headers:      map[string]string{"Accept": "application/json"},
	ErrorCode:    "/errcode",
	ErrorMessage: "/errmsg",
	Check:        checkRobot,
	Docs: "**API:** a DingTalk group's custom robot (自定义机器人), `POST https://oapi.dingtalk.com/robot/send?access_token=…` " +
		"with a JSON message in UTF-8. In the 加签 mode the credential's secret signs each request: `timestamp` (ms) and " +
		"`sign` = base64(HMAC-SHA256(secret, timestamp + \"\\n\" + secret)), URL-encoded; DingTalk refuses a timestamp more " +
		"than an hour off. With a keyword (自定义关键词) on the credential, a message containing none of its keywords fails " +
		"before it is sent, with `dingtalk_credential_invalid` and the keywords named. " +
		"**Failures:** DingTalk answers HTTP 200 with `{\"errcode\", \"errmsg\"}`, quoted verbatim: 130101 and 410100 (over 20 " +
		"messages a minute; DingTalk then throttles the robot for ten minutes) wait ten minutes (`" + CodeRateLimited + "`); 310000 " +
		"(signature, timestamp, keyword or IP address refused) fails with `" + CodeSecurityRefused + "`; 300001, 400101, 400102, " +
		"400106 and 400013 (no such robot, robot stopped, group dissolved) with `" + CodeRobotUnavailable + "`; 430101–430104 " +
		"(content refused) with `" + CodeContentRefused + "`; -1 (busy) is retried (`" + CodeBusy + "`); any other code " +
		"`" + CodeAPIError + "`. The robot honours no idempotency key, so a message whose outcome is unknown is not sent again. " +
		"Each robot takes 20 messages a minute: the credential's bucket sends one every three seconds.",
}

// phone is the shape of a number to @mention: digits, with an optional + and area code dashes ("+86-13800138000").
var phone = regexp.MustCompile(`^\+?[0-9][0-9-]{4,19}$`)

// listOf is a list parameter's value as texts: a list, or a text split at commas.
func listOf(v any) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			add(fmt.Sprint(x))
		}
	case []string:
		for _, x := range t {
			add(x)
		}
	default:
		for _, x := range strings.Split(fmt.Sprint(v), ",") {
			add(x)
		}
	}
	return out
}

// checkPhones checks the numbers to @mention.
func checkPhones(v any) (any, error) {
	list := listOf(v)
	out := make([]any, 0, len(list))
	for _, p := range list {
		if !phone.MatchString(p) {
			return nil, fmt.Errorf("%q is not a phone number to @mention (digits such as 13800138000)", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// robotShape adds the message type and checks what the type needs.
func robotShape(msgtype string) func(map[string]any) (map[string]any, error) {
	return func(body map[string]any) (map[string]any, error) {
		body["msgtype"] = msgtype
		part, _ := body[msgtype].(map[string]any)
		if msgtype == "actionCard" {
			btns, hasBtns := part["btns"]
			_, hasSingle := part["singleURL"]
			switch {
			case hasBtns && hasSingle:
				return nil, errors.New("an action card has one button (title and link) or a list of buttons, not both")
			case !hasBtns && !hasSingle:
				return nil, errors.New("an action card needs a button: its title and link, or a list of buttons")
			case hasBtns:
				list, ok := btns.([]any)
				if !ok || len(list) == 0 {
					return nil, errors.New(`the buttons are not a list of {"title", "actionURL"}`)
				}
				for _, b := range list {
					m, _ := b.(map[string]any)
					if t, _ := m["title"].(string); t == "" {
						return nil, errors.New(`a button has no title: each is {"title", "actionURL"}`)
					}
					if u, _ := m["actionURL"].(string); u == "" {
						return nil, errors.New(`a button has no actionURL: each is {"title", "actionURL"}`)
					}
				}
			default:
				if t, _ := part["singleTitle"].(string); t == "" {
					return nil, errors.New("the button has a link but no title")
				}
			}
		}
		return body, nil
	}
}

func textParam(name, label, key, desc string, required bool) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeText, Expression: true, Required: required,
		Description: desc}, In: connector.InBody, Key: key}
}

func stringParam(name, label, key, desc string, required bool) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Expression: true, Required: required,
		Description: desc}, In: connector.InBody, Key: key}
}

// atParams are the @mentions of text and markdown messages.
func atParams(note string) []connector.Param {
	mobiles := connector.Param{Field: nodes.Field{Name: "atMobiles", Label: "@ phone numbers", Type: nodes.TypeString, Expression: true,
		Description: "Members to @mention by their phone number, separated by commas." + note,
		Examples:    []nodes.Example{{Name: "Two members", Value: "13800138000,13900139000"}}},
		In: connector.InBody, Key: "/at/atMobiles", As: connector.AsJSON, Transform: checkPhones}
	users := connector.Param{Field: nodes.Field{Name: "atUserIds", Label: "@ user ids", Type: nodes.TypeString, Expression: true, Advanced: true,
		Description: "Members to @mention by their DingTalk user id, separated by commas." + note},
		In: connector.InBody, Key: "/at/atUserIds", As: connector.AsJSON, Transform: func(v any) (any, error) {
			ids := listOf(v)
			out := make([]any, len(ids))
			for i, s := range ids {
				out[i] = s
			}
			return out, nil
		}}
	all := connector.Param{Field: nodes.Field{Name: "atAll", Label: "@ everyone", Type: nodes.TypeBoolean,
		Description: "@mention everyone in the group."}, In: connector.InBody, Key: "/at/isAtAll", As: connector.AsBoolean}
	return []connector.Param{mobiles, users, all}
}

func init() {
	text := append([]connector.Param{textParam("content", "Text", "/text/content",
		"The message, with {{ }} expressions. With a keyword on the credential it must contain one.", true)},
		atParams(" DingTalk adds the @ to a text message itself.")...)
	text[0].Examples = []nodes.Example{{Name: "Failed payment", Value: "支付失败：订单 {{ trigger.body.merchantOrderId }}，金额 {{ trigger.body.amount.decimal }} {{ trigger.body.amount.currency }}"}}
	markdown := append([]connector.Param{
		stringParam("title", "Title", "/markdown/title", "What the chat list and the notification show.", true),
		textParam("text", "Markdown", "/markdown/text", "The message in DingTalk's Markdown (headings, bold, links, images, lists), with {{ }} expressions.", true),
	}, atParams(" A markdown message shows the @ only where its text contains @ and the number (or user id).")...)
	link := []connector.Param{
		stringParam("title", "Title", "/link/title", "The link's title.", true),
		textParam("text", "Text", "/link/text", "The text under the title (long text is cut short).", true),
		stringParam("messageUrl", "Link", "/link/messageUrl", "Where a tap on the message goes.", true),
		stringParam("picUrl", "Picture", "/link/picUrl", "The address of a picture to show; empty shows none.", false),
	}
	card := []connector.Param{
		stringParam("title", "Title", "/actionCard/title", "What the chat list and the notification show.", true),
		textParam("text", "Markdown", "/actionCard/text", "The card's text in DingTalk's Markdown, with {{ }} expressions.", true),
		stringParam("singleTitle", "Button", "/actionCard/singleTitle", "The title of the card's one button (with its link below); leave both empty to give a list of buttons.", false),
		stringParam("singleURL", "Button link", "/actionCard/singleURL", "Where the one button goes.", false),
		{Field: nodes.Field{Name: "buttons", Label: "Buttons", Type: nodes.TypeJSON, Expression: true, Advanced: true,
			Description: "Several buttons instead of one: [{\"title\": \"…\", \"actionURL\": \"…\"}]."},
			In: connector.InBody, Key: "/actionCard/btns", As: connector.AsJSON},
		{Field: nodes.Field{Name: "orientation", Label: "Buttons side by side", Type: nodes.TypeBoolean, Advanced: true,
			Description: "Lay the buttons side by side (btnOrientation 1) instead of one above the other."},
			In: connector.InBody, Key: "/actionCard/btnOrientation", Transform: func(v any) (any, error) {
				if b, _ := v.(bool); b {
					return "1", nil
				}
				return "0", nil
			}},
	}
	op := func(typ, name, desc, msgtype string, params []connector.Param, docs string) connector.Operation {
		return connector.Operation{Type: typ, Name: name, Description: desc, Category: nodes.CategoryNotifications,
			Method: http.MethodPost, Path: "/send", Params: params, Shape: robotShape(msgtype),
			SideEffect: true, Unrepeatable: true, OutputLabel: "Answer", Docs: docs}
	}
	robotProvider.MustRegister(
		op("dingtalk.robot.text", "DingTalk robot: text", "Posts a text message to a group, with @mentions.", "text", text,
			"Sends `{\"msgtype\": \"text\", \"text\": {\"content\"}, \"at\": {\"atMobiles\", \"atUserIds\", \"isAtAll\"}}`. Outputs DingTalk's answer (`{\"errcode\": 0, \"errmsg\": \"ok\"}`)."),
		op("dingtalk.robot.markdown", "DingTalk robot: markdown", "Posts a Markdown message to a group, with @mentions.", "markdown", markdown,
			"Sends `{\"msgtype\": \"markdown\", \"markdown\": {\"title\", \"text\"}, \"at\": {…}}`. DingTalk's Markdown is a subset: headings, bold, italics, links, images, lists and quotes."),
		op("dingtalk.robot.link", "DingTalk robot: link", "Posts a link card to a group.", "link", link,
			"Sends `{\"msgtype\": \"link\", \"link\": {\"title\", \"text\", \"messageUrl\", \"picUrl\"}}`."),
		op("dingtalk.robot.actioncard", "DingTalk robot: action card", "Posts a card with one button or several to a group.", "actionCard", card,
			"Sends `{\"msgtype\": \"actionCard\", \"actionCard\": {\"title\", \"text\", \"singleTitle\", \"singleURL\"}}`, or `btns` "+
				"(a list of `{\"title\", \"actionURL\"}`) instead of the single button, and `btnOrientation` `\"0\"` (stacked) or `\"1\"` (side by side)."),
	)
}

// testRobot sends a test message to the group: the robot's only read is a send.
func testRobot(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	if _, err := accessToken(fields[FieldWebhook]); err != nil {
		return "", err
	}
	text := "Ferry: test message from the credential settings"
	if kws := keywords(fields[FieldKeyword]); len(kws) > 0 {
		text += " (" + kws[0] + ")"
	}
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	body := map[string]any{"msgtype": "text", "text": map[string]any{"content": text}}
	if _, err := robotProvider.Call(ctx, x, http.MethodPost, "/send", nil, body); err != nil {
		return "", err
	}
	mode := "without a signature"
	if strings.TrimSpace(fields[FieldSecret]) != "" {
		mode = "signed (加签)"
	}
	return "POST " + APIHost + "/robot/send answered errcode 0: the test message was posted to the group, " + mode, nil
}
