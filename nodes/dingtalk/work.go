package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// AppCredential is the credential type of an enterprise internal app (企业内部应用) sending work notifications.
const AppCredential = "dingtalk.app"

// Fields of the dingtalk.app credential.
const (
	// FieldAppKey and FieldAppSecret are the app's AppKey (Client ID) and AppSecret (Client Secret).
	FieldAppKey    = "appKey"
	FieldAppSecret = "appSecret"
	// FieldAgentID is the app's AgentId, which work notifications are sent as.
	FieldAgentID = "agentId"
)

// Failure codes of the work notifications besides the robot's.
const (
	// CodeAuthFailed: DingTalk refused the app key and secret when asked for an access token.
	CodeAuthFailed = "dingtalk_auth_failed"
	// CodeTokenInvalid: DingTalk refused a freshly issued access token too.
	CodeTokenInvalid = "dingtalk_token_invalid"
	// CodeTokenUnavailable: no access token could be obtained for now (DingTalk unreachable or failing).
	CodeTokenUnavailable = "dingtalk_token_unavailable"
)

// Paths of the app's API.
const (
	tokenPath  = "/gettoken"
	notifyPath = "/topapi/message/corpconversation/asyncsend_v2"
)

// appOrigin is where the app's requests go; tests point it at a stand-in server.
var appOrigin = func() *url.URL { u, _ := url.Parse(APIHost); return u }

// tokenCodes are the errcodes of an access token DingTalk does not accept: 40014 invalid, 42001 expired.
var tokenCodes = map[int64]bool{40014: true, 42001: true}

// rateCodes are the errcodes of work notifications over DingTalk's per-minute quotas of recipients: 143103 for
// one app, 143104 for the organisation (企业单应用/企业每分钟发送人次QPM超限).
var rateCodes = map[int64]bool{143103: true, 143104: true}

// agentID is the credential's AgentId.
func agentID(fields map[string]string) (int64, error) {
	v := strings.TrimSpace(fields[FieldAgentID])
	if v == "" {
		return 0, errors.New("the credential has no agent id")
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("the agent id %q is not a number (the AgentId on the app's page, such as 2954671234)", v)
	}
	return id, nil
}

// tokenAnswer is /gettoken's answer.
type tokenAnswer struct {
	ErrCode     int64  `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// requestToken asks GET /gettoken?appkey=…&appsecret=… for the app's access token (valid 7200 seconds; DingTalk
// hands out the same token while it is valid), through client.
func requestToken(ctx context.Context, client *http.Client, fields map[string]string) (*tokenAnswer, error) {
	key, secret := strings.TrimSpace(fields[FieldAppKey]), strings.TrimSpace(fields[FieldAppSecret])
	if key == "" || secret == "" {
		return nil, nodes.NewPermanent("dingtalk_credential_invalid", errors.New("dingtalk: the credential needs the app key and the app secret"))
	}
	u := appOrigin().JoinPath(tokenPath)
	shown := "GET " + u.String()
	u.RawQuery = url.Values{"appkey": {key}, "appsecret": {secret}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nodes.NewPermanent(CodeAuthFailed, fmt.Errorf("dingtalk: obtain an access token: %w", err))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text carries the address, secret included
		}
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("dingtalk: obtain an access token: %s: %w", shown, err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("dingtalk: obtain an access token: %s answered %d", shown, resp.StatusCode))
	}
	var ans tokenAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("dingtalk: obtain an access token: %s answered %d with no JSON", shown, resp.StatusCode))
	}
	if ans.ErrCode == -1 {
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("dingtalk: obtain an access token: %s: errcode -1: %s", shown, ans.ErrMsg))
	}
	if ans.ErrCode != 0 || ans.AccessToken == "" {
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeAuthFailed,
			fmt.Errorf("dingtalk: obtain an access token: %s refused: errcode %d: %s", shown, ans.ErrCode, ans.ErrMsg)),
			map[string]any{"errcode": ans.ErrCode, "errmsg": ans.ErrMsg})
	}
	return &ans, nil
}

// tokens is the connector runtime's cache of the apps' access tokens, renewed five minutes before they expire.
var tokens = &connector.TokenSource{
	Early: 5 * time.Minute,
	Fetch: func(ctx context.Context, client *http.Client, tr connector.TokenRequest) (connector.Token, error) {
		ans, err := requestToken(ctx, client, tr.Fields)
		if err != nil {
			return connector.Token{}, err
		}
		tok := connector.Token{Value: ans.AccessToken}
		if ans.ExpiresIn > 0 {
			tok.Expiry = time.Now().Add(time.Duration(ans.ExpiresIn) * time.Second)
		}
		return tok, nil
	},
	Refused: func(a *connector.Answer) bool {
		code, _, ok := errcode(a)
		return ok && tokenCodes[code]
	},
}

// authorizeApp puts the access token in the query and the credential's agent id in the message's body.
func authorizeApp(req *http.Request, fields map[string]string) error {
	tok := strings.TrimSpace(fields[nodes.CredentialAccessToken])
	if tok == "" {
		return errors.New("no access token")
	}
	q := req.URL.Query()
	q.Set("access_token", tok)
	req.URL.RawQuery = q.Encode()
	if req.GetBody == nil {
		return nil
	}
	id, err := agentID(fields)
	if err != nil {
		return err
	}
	return connector.SetBodyFields(req, map[string]any{"agent_id": id})
}

// checkApp maps a work notification's errcode (answered with HTTP 200) to the engine's outcome, quoted.
func checkApp(a *connector.Answer) error {
	code, msg, ok := errcode(a)
	if !ok || code == 0 {
		return nil
	}
	err := fmt.Errorf("dingtalk: errcode %d: %s", code, msg)
	switch {
	case tokenCodes[code]:
		return nodes.NewPermanent(CodeTokenInvalid, fmt.Errorf("%w (a renewed token was refused too)", err))
	case code == -1:
		return nodes.NewRetryable(CodeBusy, err)
	case rateCodes[code]:
		return nodes.NewRateLimited(CodeRateLimited, err, time.Minute)
	}
	return nodes.NewPermanent(CodeAPIError, err)
}

// appProvider is what the work notifications share.
var appProvider = &connector.Provider{
	Name:         Provider,
	Title:        "DingTalk",
	Credentials:  []string{AppCredential},
	BaseURL:      func(map[string]string) (*url.URL, error) { return appOrigin(), nil },
	Authorize:    authorizeApp,
	Token:        tokens,
	Headers:      map[string]string{"Accept": "application/json"},
	ErrorCode:    "/errcode",
	ErrorMessage: "/errmsg",
	Check:        checkApp,
	Docs: "**API:** DingTalk's server API for enterprise internal apps. The access token comes from the credential's app key " +
		"and secret (`GET https://oapi.dingtalk.com/gettoken?appkey=…&appsecret=…`, valid 7200 s); it is kept per credential " +
		"and renewed five minutes before it expires, and once more when DingTalk refuses it (40014, 42001). **Failures:** " +
		"DingTalk answers HTTP 200 with `{\"errcode\", \"errmsg\"}`, quoted verbatim: -1 (busy) is retried (`" + CodeBusy + "`), " +
		"a refused key or secret fails with `" + CodeAuthFailed + "`, 143103 and 143104 (over the app's or the organisation's " +
		"recipients a minute) wait a minute (`" + CodeRateLimited + "`), " +
		"any other code `" + CodeAPIError + "`.",
}

// idList checks user or department ids: a list or a text of ids separated by commas, at most max, sent joined
// by commas as asyncsend_v2 takes them.
func idList(kind string, max int) func(any) (any, error) {
	return func(v any) (any, error) {
		ids := listOf(v)
		if len(ids) > max {
			return nil, fmt.Errorf("%d %s ids: DingTalk takes at most %d in one notification", len(ids), kind, max)
		}
		for _, id := range ids {
			if strings.ContainsAny(id, " \t\r\n") {
				return nil, fmt.Errorf("%q is not a DingTalk %s id", id, kind)
			}
		}
		return strings.Join(ids, ","), nil
	}
}

// workShape builds the notification's msg from the form's fields, by its type, and checks it has recipients.
func workShape(body map[string]any) (map[string]any, error) {
	users, _ := body["userid_list"].(string)
	depts, _ := body["dept_id_list"].(string)
	all, _ := body["to_all_user"].(bool)
	if users == "" && depts == "" && !all {
		return nil, errors.New("the notification has no recipient: give user ids, department ids, or send to everyone")
	}
	in, _ := body["msg"].(map[string]any)
	typ, _ := in["msgtype"].(string)
	title, _ := in["title"].(string)
	text, _ := in["text"].(string)
	btnTitle, _ := in["buttonTitle"].(string)
	btnURL, _ := in["buttonUrl"].(string)
	msg := map[string]any{"msgtype": typ}
	switch typ {
	case "text":
		msg["text"] = map[string]any{"content": text}
	case "markdown":
		if title == "" {
			return nil, errors.New("a markdown notification needs a title")
		}
		msg["markdown"] = map[string]any{"title": title, "text": text}
	case "action_card":
		if title == "" || btnTitle == "" || btnURL == "" {
			return nil, errors.New("an action card notification needs a title, a button title and a button link")
		}
		msg["action_card"] = map[string]any{"title": title, "markdown": text, "single_title": btnTitle, "single_url": btnURL}
	default:
		return nil, fmt.Errorf("%q is not a message type of work notifications (text, markdown, action_card)", typ)
	}
	body["msg"] = msg
	return body, nil
}

func init() {
	msgParam := func(name, label, desc string, typ nodes.FieldType, required bool) connector.Param {
		return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: typ, Expression: true, Required: required, Description: desc},
			In: connector.InBody, Key: "/msg/" + name}
	}
	kind := connector.Param{Field: nodes.Field{Name: "msgtype", Label: "Message type", Type: nodes.TypeSelect, Default: "text",
		Options:     []nodes.Option{{Value: "text", Label: "Text"}, {Value: "markdown", Label: "Markdown"}, {Value: "action_card", Label: "Action card"}},
		Description: "Text, Markdown (with a title), or an action card (Markdown with a title and a button)."},
		In: connector.InBody, Key: "/msg/msgtype"}
	text := msgParam("text", "Text", "The notification, with {{ }} expressions; Markdown for the markdown and action card types.", nodes.TypeText, true)
	text.Examples = []nodes.Example{{Name: "Failed payment", Value: "支付失败：订单 {{ trigger.body.merchantOrderId }}"}}
	appProvider.MustRegister(connector.Operation{Type: "dingtalk.work.notify", Name: "DingTalk: work notification",
		Description: "Sends a work notification of an internal app to users by id.", Category: nodes.CategoryNotifications,
		Method: http.MethodPost, Path: notifyPath, SideEffect: true, Unrepeatable: true, OutputLabel: "Answer",
		Params: []connector.Param{
			{Field: nodes.Field{Name: "userIds", Label: "User ids", Type: nodes.TypeString, Expression: true,
				Description: "The users' DingTalk user ids (userid), separated by commas, at most 100."},
				In: connector.InBody, Key: "/userid_list", Transform: idList("user", 100)},
			{Field: nodes.Field{Name: "deptIds", Label: "Department ids", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "Departments whose members all receive it, separated by commas, at most 20."},
				In: connector.InBody, Key: "/dept_id_list", Transform: idList("department", 20)},
			{Field: nodes.Field{Name: "toAllUser", Label: "Everyone", Type: nodes.TypeBoolean, Advanced: true,
				Description: "Send to everyone in the organisation."}, In: connector.InBody, Key: "/to_all_user", As: connector.AsBoolean},
			kind,
			msgParam("title", "Title", "The title of a markdown or action card notification.", nodes.TypeString, false),
			text,
			msgParam("buttonTitle", "Button", "The action card's button title.", nodes.TypeString, false),
			msgParam("buttonUrl", "Button link", "Where the action card's button goes.", nodes.TypeString, false),
		},
		Shape: workShape,
		Docs: "`POST /topapi/message/corpconversation/asyncsend_v2?access_token=…` with `{\"agent_id\", \"userid_list\", " +
			"\"dept_id_list\", \"to_all_user\", \"msg\"}`; the agent id is the credential's. DingTalk queues the notification " +
			"and answers `{\"errcode\": 0, \"task_id\": …}`, which the node outputs; whether each user received it is DingTalk's " +
			"send result for that task, not part of this answer.",
	})
}

// testApp obtains an access token: a notification needs recipients, and the token proves the key and secret.
func testApp(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	if _, err := agentID(fields); err != nil {
		return "", err
	}
	ans, err := requestToken(ctx, client, fields)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("GET %s%s answered: the app key and secret hold an access token valid %d s", APIHost, tokenPath, ans.ExpiresIn), nil
}
