package wecom

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

// Credential types.
const (
	// RobotCredential is a group robot's webhook key.
	RobotCredential = "wecom.robot"
	// AppCredential is a self-built app: corp id, the app's secret and its agent id.
	AppCredential = "wecom.app"
)

// Fields of the credentials.
const (
	// FieldWebhook is the robot's webhook address, or only its key.
	FieldWebhook = "webhook"
	// FieldCorpID is the company's corp id (我的企业 → 企业信息 → 企业ID).
	FieldCorpID = "corpId"
	// FieldCorpSecret is the app's Secret (应用管理 → the app → Secret).
	FieldCorpSecret = "corpSecret"
	// FieldAgentID is the app's AgentId, sent as agentid with every message.
	FieldAgentID = "agentId"
)

// Paths under APIPath.
const (
	webhookPath = "/webhook/send"
	tokenPath   = "/gettoken"
	sendPath    = "/message/send"
)

// origin is the address requests go to; tests point it at a stand-in server.
var origin = func() *url.URL { u, _ := url.Parse(APIHost); return u }

func baseURL(map[string]string) (*url.URL, error) { return origin().JoinPath(APIPath), nil }

// robotKey reads the webhook key from the credential: the whole address (…/webhook/send?key=…) or the key.
func robotKey(fields map[string]string) (string, error) {
	v := strings.TrimSpace(fields[FieldWebhook])
	if v == "" {
		return "", fmt.Errorf("the credential has no webhook address")
	}
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil {
			return "", fmt.Errorf("the webhook address does not parse")
		}
		if u.Host != "qyapi.weixin.qq.com" || u.Path != APIPath+webhookPath {
			return "", fmt.Errorf("the webhook address is not a WeCom robot's (%s%s%s?key=…)", APIHost, APIPath, webhookPath)
		}
		v = u.Query().Get("key")
	}
	if v == "" || strings.ContainsAny(v, " \t\r\n\x00&?#/") {
		return "", fmt.Errorf("the webhook key is empty or holds spaces or URL punctuation")
	}
	return v, nil
}

// authorizeRobot puts the webhook key in the query (key=…), the only place WeCom takes it.
func authorizeRobot(req *http.Request, fields map[string]string) error {
	key, err := robotKey(fields)
	if err != nil {
		return err
	}
	q := req.URL.Query()
	q.Set("key", key)
	req.URL.RawQuery = q.Encode()
	return nil
}

// authorizeApp sends the current access token in the query and the app's agent id in the body.
func authorizeApp(req *http.Request, fields map[string]string) error {
	tok := strings.TrimSpace(fields[nodes.CredentialAccessToken])
	if tok == "" {
		return fmt.Errorf("no access token")
	}
	agent, err := agentID(fields)
	if err != nil {
		return err
	}
	q := req.URL.Query()
	q.Set("access_token", tok)
	req.URL.RawQuery = q.Encode()
	if req.Method == http.MethodPost {
		return connector.SetBodyFields(req, map[string]any{"agentid": agent})
	}
	return nil
}

func agentID(fields map[string]string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(fields[FieldAgentID]), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("the agent id %q is not the app's AgentId (a number such as 1000002)", fields[FieldAgentID])
	}
	return n, nil
}

// tokenAnswer is gettoken's answer.
type tokenAnswer struct {
	ErrCode     int64  `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// requestToken asks GET /cgi-bin/gettoken?corpid=…&corpsecret=… for the app's access token, through client.
func requestToken(ctx context.Context, client *http.Client, fields map[string]string) (*tokenAnswer, error) {
	corp, secret := strings.TrimSpace(fields[FieldCorpID]), strings.TrimSpace(fields[FieldCorpSecret])
	if corp == "" || secret == "" {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("wecom: the credential needs the corp id and the app's secret"))
	}
	u := origin().JoinPath(APIPath, tokenPath)
	shown := u.String()
	u.RawQuery = url.Values{"corpid": {corp}, "corpsecret": {secret}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("wecom: build the token request"))
	}
	resp, err := client.Do(req)
	if err != nil {
		// The error text of net/http names the URL, which holds the secret: only the cause is kept.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("wecom: GET %s: %v", shown, err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var ans tokenAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		if resp.StatusCode >= 500 {
			return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("wecom: GET %s answered %d", shown, resp.StatusCode))
		}
		return nil, nodes.NewPermanent(CodeTokenUnavailable, fmt.Errorf("wecom: GET %s answered %d with no JSON", shown, resp.StatusCode))
	}
	if ans.ErrCode != 0 || ans.AccessToken == "" {
		err := fmt.Errorf("wecom: GET %s: errcode %d: %s", shown, ans.ErrCode, ans.ErrMsg)
		if e := classifyCode(ans.ErrCode, err); e != nil && ans.ErrCode != 0 {
			return nil, nodes.WithDetails(e, map[string]any{"errcode": ans.ErrCode, "errmsg": ans.ErrMsg})
		}
		return nil, nodes.NewPermanent(CodeCredentialInvalid, err)
	}
	return &ans, nil
}

// tokens is the runtime's cache of the apps' access tokens: WeCom issues a token for 7200 seconds and hands out
// the same one until it expires, so it is replaced five minutes before.
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
	Refused: func(a *connector.Answer) bool { return tokenCodes[errcode(a)] },
}

// testMessage is what a robot's connection test sends to its group.
const testMessage = "Ferry: connection test of this WeCom robot (企业微信群机器人连接测试)."

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   RobotCredential,
		Name: "WeCom group robot",
		Description: "A WeCom group robot (群机器人): its webhook address, from the group's robot settings. Messages go to " +
			APIHost + APIPath + webhookPath + "; the key is the secret.",
		Fields: []nodes.Field{
			{Name: FieldWebhook, Label: "Webhook address", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The robot's webhook address (" + APIHost + APIPath + webhookPath + "?key=…) or only its key."},
		},
		// WeCom documents 20 messages a minute per robot. A bucket of 5 refilled at one every four seconds never
		// lets more than 20 through in any minute.
		RateLimit:    &nodes.Limit{Rate: 0.25, Burst: 5},
		Test:         testRobot,
		Destinations: func(map[string]string) []string { return []string{APIHost + APIPath + webhookPath} },
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   AppCredential,
		Name: "WeCom app",
		Description: "A self-built WeCom app (自建应用) sending application messages: the corp id, the app's Secret and its AgentId. " +
			"The secret is exchanged for an access token at " + APIHost + APIPath + tokenPath + ", renewed before it expires.",
		Fields: []nodes.Field{
			{Name: FieldCorpID, Label: "Corp ID", Type: nodes.TypeString, Required: true,
				Description: "The company's corp id (我的企业 → 企业信息 → 企业ID), starting with ww."},
			{Name: FieldCorpSecret, Label: "App secret", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The app's Secret (应用管理 → the app → Secret)."},
			{Name: FieldAgentID, Label: "Agent ID", Type: nodes.TypeString, Required: true,
				Description: "The app's AgentId, a number such as 1000002; messages are sent as this app."},
		},
		// WeCom allows an app 30 messages a minute to one member (more are dropped) and counts API calls per
		// company; one message every two seconds, five at once, keeps a flow under the per-member limit.
		RateLimit: &nodes.Limit{Rate: 0.5, Burst: 5},
		Test:      testApp,
		Destinations: func(map[string]string) []string {
			return []string{APIHost + APIPath + tokenPath, APIHost + APIPath + sendPath}
		},
	})
}

// testRobot sends a test message to the robot's group: a robot has nothing to read.
func testRobot(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	_, err := robotProvider.Call(ctx, x, http.MethodPost, webhookPath, nil,
		map[string]any{"msgtype": "text", "text": map[string]any{"content": testMessage}})
	if err != nil {
		return "", err
	}
	return "POST " + APIHost + APIPath + webhookPath + " answered errcode 0: a test message was sent to the robot's group", nil
}

// testApp obtains an access token, which proves the corp id and the app's secret, and checks the agent id's form.
func testApp(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	if _, err := agentID(fields); err != nil {
		return "", err
	}
	ans, err := requestToken(ctx, client, fields)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("GET %s%s%s answered errcode 0: the corp id and the app's secret are valid (token for %d seconds)",
		APIHost, APIPath, tokenPath, ans.ExpiresIn), nil
}
