package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// CredentialTestURL is the optional field of the HTTP credential types naming an endpoint that needs the
// credential, so "Test connection" can check it.
const CredentialTestURL = "testUrl"

// The credential types the core nodes use are registered here, beside the nodes that read their fields, so the
// vault can validate what it stores and the editor can draw the credential forms.
func init() {
	secret := func(name, label, description string) nodes.Field {
		return nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Required: true, Secret: true, Description: description}
	}
	testURL := testURLField("")
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialWebhookToken, Inbound: true, Name: "Webhook token",
		Description: "A shared token the webhook's callers send in a header (core.webhook, header token auth).",
		Fields:      []nodes.Field{secret("token", "Token", "The exact value callers send, bare or after \"Bearer \".")},
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialWebhookBasic, Inbound: true, Name: "Webhook basic auth",
		Description: "The username and password the webhook's callers send with HTTP basic auth (core.webhook).",
		Fields: []nodes.Field{
			{Name: "username", Label: "Username", Type: nodes.TypeString, Required: true},
			secret("password", "Password", ""),
		},
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialWebhookHMAC, Inbound: true, Name: "Webhook signing secret",
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
			testURL,
		},
		Test: testCredentialURL,
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialHTTPBearer, Name: "Bearer token",
		Description: "A token sent as Authorization: Bearer <token> (core.http).",
		Fields:      []nodes.Field{secret("token", "Token", ""), testURL},
		Test:        testCredentialURL,
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: CredentialHTTPBasic, Name: "Basic auth",
		Description: "A username and password sent with HTTP basic auth (core.http).",
		Fields: []nodes.Field{
			{Name: "username", Label: "Username", Type: nodes.TypeString, Required: true},
			{Name: "password", Label: "Password", Type: nodes.TypeString, Secret: true},
			testURL,
		},
		Test: testCredentialURL,
	})
}

// testURLField is the optional endpoint "Test connection" calls with the credential.
func testURLField(extra string) nodes.Field {
	return nodes.Field{Name: CredentialTestURL, Label: "Test URL", Type: nodes.TypeString, Advanced: true,
		Description: "Optional. An endpoint that needs this credential and answers 2xx when it is right, such as " +
			"https://api.example.com/v1/me; \"Test connection\" sends a GET to it." + extra,
		Examples: []nodes.Example{{Name: "Current user", Value: "https://api.example.com/v1/me"}}}
}

// maxTestBody bounds what a connection test reads of the answer; the body is never shown.
const maxTestBody = 64 << 10

// testCredentialURL sends GET to the credential's test URL with the credential applied as core.http would apply
// it, and succeeds on a 2xx answer. Redirects are not followed, so a credential header never goes to another
// host. What it reports names the scheme, host and path only: a query may carry an API key.
func testCredentialURL(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	raw := strings.TrimSpace(fields[CredentialTestURL])
	if raw == "" {
		return "", errors.New("the credential has no test URL; set one to an endpoint that needs the credential to check it")
	}
	u, err := parseRequestURL(raw)
	if err != nil {
		return "", fmt.Errorf("test URL: %w", err)
	}
	shown := u.Scheme + "://" + u.Host + u.EscapedPath()
	r := &httpRequest{method: http.MethodGet, url: u, header: http.Header{}, redactHeaders: map[string]bool{}}
	query := u.Query()
	if err := applyCredential(r, query, fields); err != nil {
		return "", err
	}
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", shown, withoutURL(err))
	}
	req.Header = r.header
	if client == nil {
		client = egress.Default().Client()
	}
	noRedirects := *client
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := noRedirects.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: no answer: %w", shown, withoutURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxTestBody))
	res.Body.Close()
	answer := fmt.Sprintf("GET %s answered %s", shown, res.Status)
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return answer, nil
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		return "", errors.New(answer + ": the credential was refused")
	}
	return "", errors.New(answer + "; a 2xx answer was expected")
}

// withoutURL drops the URL a *url.Error repeats, query included, keeping what went wrong.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
