package paypal

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// CredentialApp is the credential type of a PayPal REST app: client id and secret (for access tokens), the
// webhook id the trigger verifies deliveries against, and the environment. Its test variant is meant to hold
// the sandbox app, so test runs never touch live money (D20).
const CredentialApp = "paypal.app"

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialApp,
		Name: "PayPal REST app",
		Description: "A PayPal REST app from the developer dashboard (Apps & Credentials). Put the live app in the live " +
			"fields and the sandbox app in the test variant. Ferry obtains access tokens with the client id and " +
			"secret (OAuth2 client credentials) and keeps them until shortly before they expire.",
		Fields: []nodes.Field{
			{Name: fieldEnvironment, Label: "Environment", Type: nodes.TypeSelect, Required: true, Default: envLive,
				Description: "Which PayPal the app belongs to. Use Sandbox for the test variant.",
				Options: []nodes.Option{
					{Value: envLive, Label: "Live", Description: LiveBaseURL},
					{Value: envSandbox, Label: "Sandbox", Description: SandboxBaseURL},
					{Value: envCustom, Label: "Custom base URL", Description: "A PayPal-compatible endpoint, such as a test double."},
				}},
			{Name: fieldBaseURL, Label: "Base URL", Type: nodes.TypeString, Required: true,
				Description: "Root of the API, without a trailing path.",
				ShowIf:      map[string][]any{fieldEnvironment: {envCustom}},
				Examples:    []nodes.Example{{Name: "Local double", Value: "http://127.0.0.1:8089"}}},
			{Name: fieldClientID, Label: "Client ID", Type: nodes.TypeString, Required: true,
				Description: "The app's client id."},
			{Name: fieldClientSecret, Label: "Client secret", Type: nodes.TypeString, Required: true, Secret: true,
				Description: "The app's secret; it only ever goes to PayPal's token endpoint."},
			{Name: fieldWebhookID, Label: "Webhook ID", Type: nodes.TypeString,
				Description: "The id PayPal shows for the webhook pointing at the flow (such as 8PT597110X687430LKGECATA). " +
					"Needed by the PayPal event trigger, which sends it to PayPal's verify-webhook-signature API."},
		},
		Test: testApp,
		// The client secret and the tokens it buys go to the environment's API host only.
		Destinations: func(fields map[string]string) []string {
			switch strings.TrimSpace(fields[fieldEnvironment]) {
			case envSandbox:
				return egress.Origins(SandboxBaseURL)
			case envCustom:
				return egress.Origins(fields[fieldBaseURL])
			}
			return egress.Origins(LiveBaseURL)
		},
	})
}

// testApp obtains a fresh access token (bypassing the cache), which proves the client id and secret work in the
// chosen environment.
func testApp(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	a, err := accountFrom(fields)
	if err != nil {
		return "", err
	}
	if _, err := fetchToken(ctx, client, a); err != nil {
		return "", err
	}
	msg := fmt.Sprintf("POST %s issued an access token (%s)", a.endpoint("/v1/oauth2/token"), a.environment)
	if a.webhookID == "" {
		msg += "; no webhook id is set, which the PayPal event trigger needs"
	}
	return msg, nil
}
