package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// Credential types of HubSpot.
const (
	// CredentialPrivateApp is a private app's access token, sent as a bearer token.
	CredentialPrivateApp = "hubspot.private-app"
	// CredentialOAuth2 is a public app installed on an account through HubSpot's consent page; the vault keeps
	// and renews its tokens.
	CredentialOAuth2 = "hubspot.oauth2"
	// CredentialWebhook is an app's client secret, which signs the webhooks HubSpot sends it. It only verifies
	// incoming requests and is never sent anywhere.
	CredentialWebhook = "hubspot.webhook"
)

// Fields of the credentials.
const (
	FieldAccessToken  = "accessToken"  // the private app's access token (pat-…)
	FieldClientSecret = "clientSecret" // the app's client secret; several, one a line, while one is rotated
)

// HubSpot's OAuth 2.0 endpoints.
const (
	OAuthAuthorizeURL = "https://app.hubspot.com/oauth/authorize"
	OAuthTokenURL     = "https://api.hubapi.com/oauth/v1/token"
)

// DefaultScopes are what the actions need: read and write contacts, companies and deals, read owners, and
// oauth (account details, the connection test).
const DefaultScopes = "oauth crm.objects.contacts.read crm.objects.contacts.write crm.objects.companies.read " +
	"crm.objects.companies.write crm.objects.deals.read crm.objects.deals.write crm.objects.owners.read"

// origin is where requests go; tests point it at a stand-in server.
var origin = func() *url.URL { u, _ := url.Parse(APIBase); return u }

func baseURL(map[string]string) (*url.URL, error) { return origin(), nil }

func destinations(map[string]string) []string { return []string{APIBase} }

func init() {
	// HubSpot's limits per account: a private app 100 requests per 10 seconds (190 with Professional and
	// Enterprise), a public app 110 per 10 seconds. Ten a second with a burst of 20 stays under the smallest;
	// the X-HubSpot-RateLimit-* headers of every answer hold the calls when the window is spent anyway.
	limit := &nodes.Limit{Rate: 10, Burst: 20}
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialPrivateApp, Name: "HubSpot private app",
		Description: "A HubSpot private app's access token (Settings → Integrations → Private apps), sent as a bearer " +
			"token to api.hubapi.com. Give the app the scopes of the objects the flows read and write " +
			"(crm.objects.contacts.write, crm.objects.deals.read…).",
		Fields: []nodes.Field{
			{Name: FieldAccessToken, Label: "Access token", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The private app's access token (pat-…).", Examples: []nodes.Example{{Name: "Private app token", Value: "pat-na1-…"}}},
		},
		RateLimit: limit, Test: testConnection, Destinations: destinations,
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialOAuth2, Name: "HubSpot OAuth2 app",
		Description: "A HubSpot public app installed on an account: save the credential, then choose \"Authorise\" and " +
			"install the app on the account. Ferry keeps the tokens sealed and renews the access token (HubSpot's last " +
			"30 minutes) with the refresh token.",
		OAuth2: &nodes.OAuth2{Grant: nodes.GrantAuthorizationCode, AuthURL: OAuthAuthorizeURL, TokenURL: OAuthTokenURL},
		Fields: []nodes.Field{
			{Name: nodes.OAuth2ClientID, Label: "Client ID", Type: nodes.TypeString, Required: true,
				Description: "The app's client ID (the app's Auth tab)."},
			{Name: nodes.OAuth2ClientSecret, Label: "Client secret", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The app's client secret, sent to HubSpot's token endpoint only."},
			{Name: nodes.OAuth2Scopes, Label: "Scopes", Type: nodes.TypeString, Default: DefaultScopes,
				Description: "The scopes to ask for, separated by spaces: exactly the app's required scopes, or HubSpot refuses the install."},
			{Name: nodes.OAuth2PKCE, Label: "PKCE", Type: nodes.TypeBoolean, Default: false, Advanced: true,
				Description: "HubSpot's authorisation code flow does not use PKCE."},
			{Name: nodes.OAuth2RedirectURL, Label: "Redirect URL", Type: nodes.TypeString, Advanced: true,
				Description: "The redirect URL registered with the app. Empty: this server's /oauth2/callback as your browser reaches it."},
			{Name: nodes.OAuth2AuthStyle, Label: "Client authentication", Type: nodes.TypeSelect, Default: "body", Advanced: true,
				Description: "HubSpot takes client_id and client_secret as form fields of the token request.",
				Options:     []nodes.Option{{Value: "body", Label: "Form fields"}, {Value: "header", Label: "HTTP basic auth"}, {Value: "auto", Label: "Detect"}}},
		},
		RateLimit: limit, Test: testConnection, Destinations: destinations,
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialWebhook, Name: "HubSpot app webhooks", Inbound: true,
		Description: "The client secret of the HubSpot app whose webhook subscriptions call Ferry: HubSpot signs every " +
			"webhook with it (X-HubSpot-Signature-v3). It only verifies incoming webhooks and is never sent anywhere.",
		Fields: []nodes.Field{
			{Name: FieldClientSecret, Label: "Client secret", Type: nodes.TypeText, Secret: true, Inbound: true, Required: true,
				Description: "The app's client secret (the app's Auth tab). While rotating it, put the old and the new one on lines of their own."},
		},
	})
}

// testConnection reads the account's details: GET /account-info/v3/details is one cheap request that any token
// may make whatever CRM scopes its app has (a token for deals only passes too), and its portalId says which
// account the token opens. GET /crm/v3/owners?limit=1, the other candidate, needs crm.objects.owners.read,
// which a flow that never picks an owner does not.
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	if fields[nodes.CredentialAccessToken] == "" && strings.TrimSpace(fields[FieldAccessToken]) == "" {
		return "", errors.New("the credential has no access token")
	}
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	a, err := provider.Call(ctx, x, http.MethodGet, "/account-info/v3/details", nil, nil)
	if err != nil {
		return "", err
	}
	portal := a.Get("/portalId")
	if portal == nil {
		return "", fmt.Errorf("GET /account-info/v3/details answered %d without a portalId: is this a HubSpot access token?", a.Status)
	}
	return fmt.Sprintf("GET %s/account-info/v3/details answered: the token opens HubSpot account %v", APIBase, portal), nil
}

// secrets splits the client secret field into the secrets it lists, one a line.
func secrets(field string) []string {
	var out []string
	for _, s := range strings.Split(field, "\n") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
