package feishu

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// CredentialType is a custom bot: its host, webhook and signing secret.
const CredentialType = "feishu.bot"

// Fields of the feishu.bot credential.
const (
	// FieldHost chooses Feishu (feishu) or Lark (lark).
	FieldHost = "host"
	// FieldWebhook is the bot's webhook address, or only its token.
	FieldWebhook = "webhook"
	// FieldSecret is the signing secret of the bot's 签名校验 setting; empty when the bot does not ask for one.
	FieldSecret = "secret"
	// FieldKeyword is a keyword of the bot's 自定义关键词 setting, put in the connection test's message.
	FieldKeyword = "keyword"
)

// origins maps the host choice to where requests go; tests point them at a stand-in server.
var origins = map[string]string{"feishu": FeishuHost, "lark": LarkHost}

// now is the clock of signatures; tests move it.
var now = time.Now

func host(fields map[string]string) (string, error) {
	h := strings.TrimSpace(fields[FieldHost])
	if h == "" {
		h = "feishu"
	}
	if _, ok := origins[h]; !ok {
		return "", fmt.Errorf("the host %q is not feishu or lark", h)
	}
	return h, nil
}

func baseURL(fields map[string]string) (*url.URL, error) {
	h, err := host(fields)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(origins[h] + HookPath)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// hookToken reads the bot's token: the whole webhook address (on the chosen host) or the token alone.
func hookToken(fields map[string]string) (string, error) {
	v := strings.TrimSpace(fields[FieldWebhook])
	if v == "" {
		return "", fmt.Errorf("the credential has no webhook address")
	}
	if strings.Contains(v, "://") {
		h, err := host(fields)
		if err != nil {
			return "", err
		}
		want := map[string]string{"feishu": FeishuHost, "lark": LarkHost}[h]
		if !strings.HasPrefix(v, want+HookPath+"/") {
			return "", fmt.Errorf("the webhook address is not a custom bot's on the chosen host (%s%s/…)", want, HookPath)
		}
		v = strings.TrimPrefix(v, want+HookPath+"/")
	}
	if v == "" || strings.ContainsAny(v, " \t\r\n\x00&?#/%") {
		return "", fmt.Errorf("the webhook token is empty or holds spaces or URL punctuation")
	}
	return v, nil
}

// authorize puts the bot's token at the end of the path and, when the bot has a secret, the timestamp and the
// signature in the body: both only when the request is sent, never in what a test run shows.
func authorize(req *http.Request, fields map[string]string) error {
	tok, err := hookToken(fields)
	if err != nil {
		return err
	}
	req.URL.Path = strings.TrimSuffix(req.URL.Path, "/") + "/" + tok
	req.URL.RawPath = ""
	secret := strings.TrimSpace(fields[FieldSecret])
	if secret == "" {
		return nil
	}
	ts := now().Unix()
	return connector.SetBodyFields(req, map[string]any{"timestamp": strconv.FormatInt(ts, 10), "sign": Sign(ts, secret)})
}

const testMessage = "Ferry: connection test of this bot (飞书机器人连接测试)."

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialType,
		Name: "Feishu / Lark bot",
		Description: "A custom bot (自定义机器人) of a Feishu or Lark group: its webhook address and, when its security settings " +
			"ask for a signature (签名校验), the secret. Messages go to " + FeishuHost + HookPath + " or " + LarkHost + HookPath + ".",
		Fields: []nodes.Field{
			{Name: FieldHost, Label: "Host", Type: nodes.TypeSelect, Default: "feishu",
				Options:     []nodes.Option{{Value: "feishu", Label: "Feishu (open.feishu.cn)"}, {Value: "lark", Label: "Lark (open.larksuite.com)"}},
				Description: "Feishu for mainland China, Lark for its international edition."},
			{Name: FieldWebhook, Label: "Webhook address", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The bot's webhook address (" + FeishuHost + HookPath + "/…) or only the token after hook/."},
			{Name: FieldSecret, Label: "Signing secret", Type: nodes.TypeString, Secret: true,
				Description: "The secret shown under 签名校验 in the bot's security settings; empty when the bot does not ask for a signature."},
			{Name: FieldKeyword, Label: "Keyword", Type: nodes.TypeString,
				Description: "One of the bot's custom keywords (自定义关键词), if it has any: the connection test's message includes it."},
		},
		// Feishu allows a custom bot 100 messages a minute and 5 a second. A bucket of 3 refilled at 1.5 a second
		// stays under both (at most 4.5 in a second, 93 in a minute).
		RateLimit: &nodes.Limit{Rate: 1.5, Burst: 3},
		Test:      testConnection,
		Destinations: func(fields map[string]string) []string {
			if h, _ := host(fields); h == "lark" {
				return []string{LarkHost + HookPath}
			}
			return []string{FeishuHost + HookPath}
		},
	})
}

// testConnection sends a test message to the bot's group (with its keyword when one is given): a bot has
// nothing to read.
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	text := testMessage
	if k := strings.TrimSpace(fields[FieldKeyword]); k != "" {
		text = k + " " + text
	}
	if _, err := provider.Call(ctx, x, http.MethodPost, "/", nil, map[string]any{"msg_type": "text", "content": map[string]any{"text": text}}); err != nil {
		return "", err
	}
	signed := "unsigned"
	if strings.TrimSpace(fields[FieldSecret]) != "" {
		signed = "signed"
	}
	return fmt.Sprintf("POST %s answered code 0: a %s test message was sent to the bot's group", HookPath+"/…", signed), nil
}
