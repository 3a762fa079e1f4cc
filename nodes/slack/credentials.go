package slack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// Credential types.
const (
	// WebhookCredential is an incoming webhook: its URL is the secret, and it posts to the one channel chosen
	// when the webhook was added to the workspace.
	WebhookCredential = "slack.webhook"
	// BotCredential is a bot token (xoxb-…) of a Slack app with the chat:write scope, for the Web API.
	BotCredential = "slack.bot"
)

// Fields of the credentials.
const (
	// FieldWebhookURL is the incoming webhook's URL (https://hooks.slack.com/services/T…/B…/…).
	FieldWebhookURL = "webhookUrl"
	// FieldBotToken is the bot user OAuth token (xoxb-…), sent as "Authorization: Bearer <token>".
	FieldBotToken = "botToken"
)

// Where Slack is reached.
const (
	// WebhookHost is the only host an incoming webhook URL may name.
	WebhookHost = "hooks.slack.com"
	// WebhookPath is the part of a webhook's path that is not secret; the rest comes from the credential.
	WebhookPath = "/services"
	// APIHost and APIPath are the Web API's root (https://slack.com/api/chat.postMessage).
	APIHost = "https://slack.com"
	APIPath = "/api"
)

// webhookOrigin and apiOrigin are where requests go; tests point them at a stand-in server.
var (
	webhookOrigin = func() *url.URL { return &url.URL{Scheme: "https", Host: WebhookHost} }
	apiOrigin     = func() *url.URL { u, _ := url.Parse(APIHost); return u }
)

// webhookShape is the path of an incoming webhook: /services/<workspace id>/<webhook id>/<secret>.
var webhookShape = regexp.MustCompile(`^/services/[A-Z0-9]+/[A-Z0-9]+/[A-Za-z0-9]+$`)

// webhookSecretPath reads the credential's webhook URL and returns its path, the part that is secret. Only
// https://hooks.slack.com/services/… is taken, so the secret is never sent anywhere else.
func webhookSecretPath(fields map[string]string) (string, error) {
	raw := strings.TrimSpace(fields[FieldWebhookURL])
	if raw == "" {
		return "", fmt.Errorf("the credential has no webhook URL")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, WebhookHost) || u.User != nil || u.RawQuery != "" ||
		u.Fragment != "" || !webhookShape.MatchString(u.Path) {
		return "", fmt.Errorf("the webhook URL is not an incoming webhook's (https://%s/services/T…/B…/…, as Slack shows it under Incoming Webhooks)", WebhookHost)
	}
	return u.Path, nil
}

// botToken reads the credential's bot token; only a bot token (xoxb-) is taken.
func botToken(fields map[string]string) (string, error) {
	tok := strings.TrimSpace(fields[FieldBotToken])
	switch {
	case tok == "":
		return "", fmt.Errorf("the credential has no bot token")
	case !strings.HasPrefix(tok, "xoxb-"):
		return "", fmt.Errorf("the token is not a bot token: it must start with xoxb- (OAuth & Permissions → Bot User OAuth Token)")
	case strings.ContainsAny(tok, " \t\r\n\x00"):
		return "", fmt.Errorf("the bot token contains a space or a line break")
	}
	return tok, nil
}

// postingLimit is Slack's posting limit: about one message a second to a channel, short bursts allowed. An
// incoming webhook is one channel; a bot token may post to several, and shares the one second among them.
var postingLimit = &nodes.Limit{Rate: 1, Burst: 1}

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   WebhookCredential,
		Name: "Slack incoming webhook",
		Description: "An incoming webhook of a Slack app (api.slack.com/apps → your app → Incoming Webhooks → Add New Webhook " +
			"to Workspace). It posts to the channel picked when it was added. Testing the connection sends a test message to that channel.",
		Fields: []nodes.Field{
			{Name: FieldWebhookURL, Label: "Webhook URL", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The webhook's URL, https://hooks.slack.com/services/T…/B…/…; it is the secret, sent to hooks.slack.com only and never shown in run data."},
		},
		RateLimit:    postingLimit,
		Test:         testWebhook,
		Destinations: func(map[string]string) []string { return []string{"https://" + WebhookHost + WebhookPath} },
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   BotCredential,
		Name: "Slack bot token",
		Description: "The bot token of a Slack app with the chat:write scope (api.slack.com/apps → your app → OAuth & Permissions → " +
			"Bot User OAuth Token); invite the bot to each channel it posts to. Requests go to " + APIHost + APIPath + ".",
		Fields: []nodes.Field{
			{Name: FieldBotToken, Label: "Bot token", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The Bot User OAuth Token (xoxb-…), sent as Authorization: Bearer <token> to " + APIHost + " only."},
		},
		RateLimit:    postingLimit,
		Test:         testBot,
		Destinations: func(map[string]string) []string { return []string{APIHost + APIPath} },
	})
}

// testMessage is what a webhook's connection test posts.
const testMessage = "Ferry: test message. This incoming webhook works; notifications from your flows will arrive in this channel."

// testWebhook sends a test message: an incoming webhook can do nothing else, so posting is the only proof it works.
func testWebhook(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	if _, err := webhookSecretPath(fields); err != nil {
		return "", err
	}
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	if _, err := webhookProvider.Call(ctx, x, http.MethodPost, "", nil, map[string]any{"text": testMessage}); err != nil {
		return "", err
	}
	return "POST https://" + WebhookHost + WebhookPath + "/… answered ok: a test message was sent to the webhook's channel", nil
}

// testBot asks auth.test who the token is: it proves the token without posting anything.
func testBot(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	if _, err := botToken(fields); err != nil {
		return "", err
	}
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	a, err := apiProvider.Call(ctx, x, http.MethodGet, "/auth.test", nil, nil)
	if err != nil {
		return "", err
	}
	user, _ := a.Get("/user").(string)
	team, _ := a.Get("/team").(string)
	if a.Get("/ok") != true || user == "" {
		return "", fmt.Errorf("GET %s%s/auth.test answered %d without the token's identity", APIHost, APIPath, a.Status)
	}
	what := "the token is valid: user " + user + " of workspace " + team
	if bot, _ := a.Get("/bot_id").(string); bot == "" {
		what += " (not a bot user)"
	}
	return "GET " + APIHost + APIPath + "/auth.test answered: " + what, nil
}
