package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// Credential types of Salesforce.
const (
	// CredentialOAuth2 is a connected app's client authorised by a user once (the authorisation-code flow, with
	// PKCE): the vault keeps the refresh token and renews the access token.
	CredentialOAuth2 = "salesforce.oauth2"
	// CredentialClient is a connected app's client that obtains tokens on its own (the client-credentials flow,
	// acting as the app's integration user). Salesforce offers this flow on an org's My Domain only.
	CredentialClient = "salesforce.client"
)

// Fields of the Salesforce credentials. The client id and secret use the vault's OAuth2 field names.
const (
	// FieldLoginURL is where tokens are obtained: https://login.salesforce.com, https://test.salesforce.com for
	// a sandbox, or the org's My Domain (https://acme.my.salesforce.com).
	FieldLoginURL = "loginUrl"
	// FieldInstanceURL is the org's instance URL as the token answer gives it (instance_url); every API call
	// goes there.
	FieldInstanceURL = "instance_url"
)

// DefaultLoginURL is Salesforce's production login host.
const DefaultLoginURL = "https://login.salesforce.com"

// Failure codes of the credentials.
const (
	// CodeLoginURLInvalid: the login address is not an https address of a Salesforce login host.
	CodeLoginURLInvalid = "salesforce_login_url_invalid"
	// CodeInstanceURLInvalid: the token answer named no usable instance URL (not authorised yet, or not https).
	CodeInstanceURLInvalid = "salesforce_instance_url_invalid"
)

// LoginURL reads a credential's login address: a bare host is taken as https, an empty one is
// login.salesforce.com, anything but an https origin is refused.
func LoginURL(field string) (*url.URL, error) {
	s := strings.TrimSpace(field)
	if s == "" {
		s = DefaultLoginURL
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		return nil, nodes.NewPermanent(CodeLoginURLInvalid, fmt.Errorf("salesforce: the login address %q is not a host such as "+
			"https://login.salesforce.com, https://test.salesforce.com or https://acme.my.salesforce.com", field))
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return nil, nodes.NewPermanent(CodeLoginURLInvalid, fmt.Errorf("salesforce: the login address %q must be https", field))
	}
	return &url.URL{Scheme: "https", Host: strings.ToLower(u.Host)}, nil
}

// InstanceURL reads the instance URL a token answer gave: an https origin.
func InstanceURL(fields map[string]string) (*url.URL, error) {
	s := strings.TrimSpace(fields[FieldInstanceURL])
	if s == "" {
		return nil, nodes.NewPermanent(CodeInstanceURLInvalid, errors.New("salesforce: the credential has no instance URL: "+
			"authorise it (the token answer names the org's instance)"))
	}
	u, err := url.Parse(s)
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" {
		return nil, nodes.NewPermanent(CodeInstanceURLInvalid, fmt.Errorf("salesforce: the instance URL %q of the token answer is not an https origin", s))
	}
	return &url.URL{Scheme: "https", Host: strings.ToLower(u.Host)}, nil
}

// endpoints are the OAuth 2.0 endpoints under the login address.
func endpoints(fields map[string]string) (authURL, tokenURL string, err error) {
	u, err := LoginURL(fields[FieldLoginURL])
	if err != nil {
		return "", "", err
	}
	return u.JoinPath("/services/oauth2/authorize").String(), u.JoinPath("/services/oauth2/token").String(), nil
}

// destinations are where a Salesforce credential may be sent: its login host (tokens) and the orgs' My Domain
// hosts (instance URLs, sandboxes included: acme--dev.sandbox.my.salesforce.com).
func destinations(fields map[string]string) []string {
	out := []string{"*.my.salesforce.com"}
	if u, err := LoginURL(fields[FieldLoginURL]); err == nil {
		out = append(out, u.String())
	}
	return out
}

func loginField(desc string) nodes.Field {
	return nodes.Field{Name: FieldLoginURL, Label: "Login address", Type: nodes.TypeString, Default: DefaultLoginURL, Description: desc,
		Examples: []nodes.Example{{Name: "Production", Value: DefaultLoginURL}, {Name: "Sandbox", Value: "https://test.salesforce.com"},
			{Name: "My Domain", Value: "https://acme.my.salesforce.com"}}}
}

func clientFields() []nodes.Field {
	return []nodes.Field{
		{Name: nodes.OAuth2ClientID, Label: "Consumer key", Type: nodes.TypeString, Required: true,
			Description: "The connected app's consumer key (Setup → App Manager → the app → View → Manage Consumer Details)."},
		{Name: nodes.OAuth2ClientSecret, Label: "Consumer secret", Type: nodes.TypeString, Secret: true, Required: true,
			Description: "The connected app's consumer secret, sent to the login address only."},
	}
}

func init() {
	oauth := append([]nodes.Field{loginField("Where the user signs in: login.salesforce.com for production, test.salesforce.com for a " +
		"sandbox, or the org's My Domain.")}, clientFields()...)
	oauth = append(oauth, nodes.Field{Name: nodes.OAuth2Scopes, Label: "Scopes", Type: nodes.TypeString, Default: "api refresh_token",
		Description: "The OAuth scopes asked for, space-separated: api for the REST API, refresh_token so the access can be renewed."})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialOAuth2, Name: "Salesforce (OAuth 2.0)",
		Description: "A Salesforce connected app authorised by a user (OAuth 2.0 authorisation code with PKCE). Set the app's " +
			"callback URL to Ferry's OAuth callback, save, then authorise: the org's instance URL comes from Salesforce's answer.",
		Fields:       oauth,
		OAuth2:       &nodes.OAuth2{Grant: nodes.GrantAuthorizationCode, Endpoints: endpoints, TokenFields: []string{FieldInstanceURL}},
		Test:         testConnection,
		Destinations: destinations,
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialClient, Name: "Salesforce (client credentials)",
		Description: "A Salesforce connected app with the client credentials flow enabled and a Run As user: Ferry obtains tokens " +
			"with the consumer key and secret alone. Salesforce offers this flow on the org's My Domain only.",
		Fields:       append([]nodes.Field{loginField("The org's My Domain (https://acme.my.salesforce.com): the client credentials flow is not offered on login.salesforce.com.")}, clientFields()...),
		OAuth2:       &nodes.OAuth2{Grant: nodes.GrantClientCredentials, Endpoints: endpoints, TokenFields: []string{FieldInstanceURL}},
		Test:         testConnection,
		Destinations: destinations,
	})
}

// testConnection reads the org's limits with the current token: GET /limits needs only the api scope and says
// how much of the daily request allowance is left.
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	x := &nodes.Exec{Mode: nodes.ModeLive, HTTP: client,
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
	a, err := provider.Call(ctx, x, http.MethodGet, "/limits", nil, nil)
	if err != nil {
		return "", err
	}
	base, _ := InstanceURL(fields)
	max, remaining := a.Get("/DailyApiRequests/Max"), a.Get("/DailyApiRequests/Remaining")
	if max == nil {
		return "", fmt.Errorf("GET %s%s/limits answered %d without DailyApiRequests: is this a Salesforce org?", base, APIPath, a.Status)
	}
	return fmt.Sprintf("GET %s%s/limits answered: %v of %v daily API requests left", base, APIPath, remaining, max), nil
}
