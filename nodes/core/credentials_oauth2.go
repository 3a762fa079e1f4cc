package core

import (
	"context"
	"net/http"

	"github.com/ferry-hq/ferry/nodes"
)

// OAuth2 credential types any OAuth 2.0 provider can use. The vault runs the grant and keeps the tokens; core.http
// sends the access token as Authorization: Bearer. Connectors whose provider has fixed endpoints can register
// their own types with nodes.OAuth2.AuthURL and TokenURL set and the same field names.
const (
	CredentialOAuth2AuthCode = "oauth2.authcode"
	CredentialOAuth2Client   = "oauth2.client"
)

func init() {
	clientID := nodes.Field{Name: nodes.OAuth2ClientID, Label: "Client ID", Type: nodes.TypeString, Required: true,
		Description: "The id of the app registered with the provider."}
	clientSecret := nodes.Field{Name: nodes.OAuth2ClientSecret, Label: "Client secret", Type: nodes.TypeString, Secret: true,
		Description: "The app's secret. Leave it empty for a public client that relies on PKCE."}
	tokenURL := nodes.Field{Name: nodes.OAuth2TokenURL, Label: "Token URL", Type: nodes.TypeString, Required: true,
		Description: "The provider's token endpoint.", Examples: []nodes.Example{{Name: "Example", Value: "https://auth.example.com/oauth/token"}}}
	scopes := nodes.Field{Name: nodes.OAuth2Scopes, Label: "Scopes", Type: nodes.TypeString,
		Description: "Scopes to ask for, separated by spaces or commas.", Examples: []nodes.Example{{Name: "Read contacts", Value: "contacts.read offline_access"}}}
	authStyle := nodes.Field{Name: nodes.OAuth2AuthStyle, Label: "Client authentication", Type: nodes.TypeSelect, Default: "auto", Advanced: true,
		Description: "How the client id and secret are sent to the token endpoint.",
		Options: []nodes.Option{
			{Value: "auto", Label: "Detect", Description: "Try HTTP basic auth first, then form fields, and remember what worked."},
			{Value: "header", Label: "HTTP basic auth"},
			{Value: "body", Label: "Form fields", Description: "client_id and client_secret in the request body."},
		}}
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialOAuth2AuthCode, Name: "OAuth2 (authorisation code)",
		Description: "Signs in to a provider once through its consent page; Ferry keeps the tokens sealed and renews the " +
			"access token before it expires. Save the credential, then choose \"Authorise\". Steps get the access " +
			"token (core.http sends it as a bearer token).",
		OAuth2: &nodes.OAuth2{Grant: nodes.GrantAuthorizationCode},
		Fields: []nodes.Field{
			clientID, clientSecret,
			{Name: nodes.OAuth2AuthURL, Label: "Authorisation URL", Type: nodes.TypeString, Required: true,
				Description: "The provider's consent page.", Examples: []nodes.Example{{Name: "Example", Value: "https://auth.example.com/oauth/authorize"}}},
			tokenURL, scopes,
			{Name: nodes.OAuth2PKCE, Label: "PKCE", Type: nodes.TypeBoolean, Default: true,
				Description: "Protect the sign-in with a PKCE code challenge (S256). Turn off only for a provider that refuses it."},
			{Name: nodes.OAuth2RedirectURL, Label: "Redirect URL", Type: nodes.TypeString, Advanced: true,
				Description: "The callback URL registered with the provider. Empty: this server's /oauth2/callback as your browser reaches it."},
			{Name: nodes.OAuth2AuthParams, Label: "Extra authorisation parameters", Type: nodes.TypeString, Advanced: true,
				Description: "Added to the consent page URL, as a query string.",
				Examples:    []nodes.Example{{Name: "Google: ask for a refresh token", Value: "access_type=offline&prompt=consent"}}},
			authStyle,
			testURLField(" It is called with the current access token."),
		},
		Test: testOAuth2,
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialOAuth2Client, Name: "OAuth2 (client credentials)",
		Description: "Obtains access tokens with the client id and secret alone, for machine-to-machine APIs. Steps get " +
			"the access token (core.http sends it as a bearer token).",
		OAuth2: &nodes.OAuth2{Grant: nodes.GrantClientCredentials},
		Fields: []nodes.Field{
			clientID,
			{Name: nodes.OAuth2ClientSecret, Label: "Client secret", Type: nodes.TypeString, Required: true, Secret: true},
			tokenURL, scopes, authStyle,
			testURLField(" It is called with a fresh access token."),
		},
		Test: testOAuth2,
	})
}

// testOAuth2 runs after the vault obtained an access token, which already proves the client works; a test URL, when
// set, also checks that the token is accepted.
func testOAuth2(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	if fields[CredentialTestURL] == "" {
		return "the provider issued an access token", nil
	}
	return testCredentialURL(ctx, fields, client)
}
