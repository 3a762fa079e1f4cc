package core

import "github.com/ferry-hq/ferry/nodes"

// The credential types the core nodes use are registered here, beside the nodes that read their fields, so the
// vault can validate what it stores and the editor can draw the credential forms.
func init() {
	secret := func(name, label, description string) nodes.Field {
		return nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Required: true, Secret: true, Description: description}
	}
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialWebhookToken, Name: "Webhook token",
		Description: "A shared token the webhook's callers send in a header (core.webhook, header token auth).",
		Fields:      []nodes.Field{secret("token", "Token", "The exact value callers send, bare or after \"Bearer \".")},
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialWebhookBasic, Name: "Webhook basic auth",
		Description: "The username and password the webhook's callers send with HTTP basic auth (core.webhook).",
		Fields: []nodes.Field{
			{Name: "username", Label: "Username", Type: nodes.TypeString, Required: true},
			secret("password", "Password", ""),
		},
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialWebhookHMAC, Name: "Webhook signing secret",
		Description: "The secret a sender signs webhook bodies with, HMAC-SHA256 (core.webhook).",
		Fields:      []nodes.Field{secret("secret", "Signing secret", "As shown by the sender, such as GitHub's webhook secret.")},
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialHTTPAPIKey, Name: "API key",
		Description: "An API key sent in a header or a query parameter (core.http).",
		Fields: []nodes.Field{
			{Name: "name", Label: "Header or parameter name", Type: nodes.TypeString, Required: true,
				Examples: []nodes.Example{{Name: "Header", Value: "X-Api-Key"}, {Name: "Query", Value: "api_key"}}},
			secret("value", "Key", ""),
			{Name: "in", Label: "Send in", Type: nodes.TypeSelect, Default: "header", Options: []nodes.Option{
				{Value: "header", Label: "Header"}, {Value: "query", Label: "Query parameter"},
			}},
		},
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialHTTPBearer, Name: "Bearer token",
		Description: "A token sent as Authorization: Bearer <token> (core.http).",
		Fields:      []nodes.Field{secret("token", "Token", "")},
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialHTTPBasic, Name: "Basic auth",
		Description: "A username and password sent with HTTP basic auth (core.http).",
		Fields: []nodes.Field{
			{Name: "username", Label: "Username", Type: nodes.TypeString, Required: true},
			{Name: "password", Label: "Password", Type: nodes.TypeString, Secret: true},
		},
	})
}
