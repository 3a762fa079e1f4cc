package nodes

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/ferry-hq/ferry/nodes/egress"
)

// CredentialType is a kind of credential a node can use (an API key, a bearer token, a webhook secret): its
// fields, which of them are secret, and how it is used. Registered like nodes, it drives the credential form and
// validates what the API stores.
type CredentialType struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Fields      []Field `json:"fields"`
	// RateLimit is the provider's documented quota for one account (Shopify's REST bucket, HubSpot's per-app
	// limit), applied to every credential of this type that does not set its own, so flows stay under it
	// without each user looking it up.
	RateLimit *Limit `json:"rateLimit,omitempty"`
	// OAuth2 marks a type whose fields configure an OAuth 2.0 client. The vault then runs the grant, keeps the
	// tokens sealed beside the fields, and hands nodes a current access token (fields CredentialAccessToken and
	// CredentialTokenType) instead of the client secret.
	OAuth2 *OAuth2 `json:"oauth2,omitempty"`
	// Test, when set, checks that a credential's fields work by making a request the provider must
	// authenticate, so an admin learns of a wrong key when saving it rather than from a failed run.
	Test CredentialTest `json:"-"`
	// Testable tells the editor to offer "Test connection"; registration sets it from Test.
	Testable bool `json:"testable,omitempty"`
	// Inbound marks a type that only verifies incoming requests (a webhook token or signing secret): the vault
	// never opens it for a step that sends requests, so its secret cannot leave the process.
	Inbound bool `json:"inbound,omitempty"`
	// Destinations gives the places a credential of this type may be sent when its admin listed none: the
	// provider's API hosts, from the credential's own fields where they say which (a sandbox or a regional base
	// URL). Nil means the type has no provider (a generic API key): an admin must list its destinations.
	Destinations func(fields map[string]string) []string `json:"-"`
	// HasDefaultDestinations tells the credential form whether destinations may be left empty; registration
	// sets it from Destinations.
	HasDefaultDestinations bool `json:"hasDefaultDestinations,omitempty"`
}

// ResolvedCredential is a credential opened for one step: its fields (the variant the run's mode picks; for an
// OAuth2 type, the current access token) and where it may be sent.
type ResolvedCredential struct {
	// Name and Type identify the credential in messages and checks; they are not secret.
	Name string
	Type string
	// Fields are the decrypted values, without Inbound fields.
	Fields map[string]string
	// Destinations are where requests carrying the credential may go: what its admin listed, and its type's
	// defaults for its fields.
	Destinations egress.Destinations
}

// CredentialTest checks credential fields (those of one variant; for an OAuth2 type with a current access token
// added) with client. It returns what it checked ("GET api.example.com/v1/me answered 200 OK") or an error
// saying why the credential does not work. Neither may contain a secret value: both are shown to the admin.
type CredentialTest func(ctx context.Context, fields map[string]string, client *http.Client) (string, error)

// OAuth 2.0 grants a credential type can use.
const (
	// GrantAuthorizationCode: an admin is sent to the provider to consent once; the vault keeps the refresh token
	// and renews the access token before it expires.
	GrantAuthorizationCode = "authorization_code"
	// GrantClientCredentials: the client id and secret alone obtain access tokens (machine-to-machine APIs).
	GrantClientCredentials = "client_credentials"
)

// OAuth2 describes how a credential type obtains tokens.
type OAuth2 struct {
	// Grant is GrantAuthorizationCode or GrantClientCredentials.
	Grant string `json:"grant"`
	// AuthURL and TokenURL fix the endpoints of a provider-specific type (a connector's own OAuth2 type); when
	// empty they are read from the fields OAuth2AuthURL and OAuth2TokenURL.
	AuthURL  string `json:"authUrl,omitempty"`
	TokenURL string `json:"tokenUrl,omitempty"`
	// Endpoints, when set, derives both endpoints from a credential's fields, for providers whose endpoints sit
	// on a host the credential names (Salesforce's login host or My Domain, Zoho's data centre). It wins over
	// AuthURL and TokenURL. An error (a field outside its allowed values, with the provider's stable code) stops
	// the authorisation or renewal before anything is sent, and marks the token for an admin to fix.
	Endpoints func(fields map[string]string) (authURL, tokenURL string, err error) `json:"-"`
	// TokenFields names extra fields of the token answer the provider's API needs besides the access token
	// (Salesforce's instance_url, the host every API call goes to). The vault keeps them with the token, carries
	// them over a renewal whose answer leaves them out, and hands them to nodes under the same names. They are
	// not secret: a test run that withholds the live token still gets them. The token's own fields
	// (CredentialAccessToken, CredentialTokenType, CredentialTokenExpiry) cannot be named.
	TokenFields []string `json:"-"`
}

// Field names the vault reads from OAuth2 credential types. Provider-specific types use the same names for the
// fields they have.
const (
	OAuth2ClientID     = "clientId"
	OAuth2ClientSecret = "clientSecret"
	OAuth2AuthURL      = "authUrl"
	OAuth2TokenURL     = "tokenUrl"
	// OAuth2Scopes is space- or comma-separated.
	OAuth2Scopes = "scopes"
	// OAuth2PKCE is "true" (the default when empty) or "false".
	OAuth2PKCE = "pkce"
	// OAuth2RedirectURL overrides the callback URL sent to the provider.
	OAuth2RedirectURL = "redirectUrl"
	// OAuth2AuthParams holds extra authorisation URL parameters as a query string ("access_type=offline").
	OAuth2AuthParams = "authParams"
	// OAuth2AuthStyle is how the client authenticates at the token endpoint: "auto" (empty), "header" or "body".
	OAuth2AuthStyle = "authStyle"
)

// Fields a resolved OAuth2 credential gives nodes in place of its configuration.
const (
	// CredentialAccessToken is the current access token.
	CredentialAccessToken = "accessToken"
	// CredentialTokenType is the Authorization scheme to send it with, normally "Bearer".
	CredentialTokenType = "tokenType"
	// CredentialTokenExpiry is when the token expires (RFC 3339), when the provider said.
	CredentialTokenExpiry = "expiry"
)

// Field returns the field named name, or nil.
func (t *CredentialType) Field(name string) *Field {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}

var (
	credMu    sync.RWMutex
	credTypes = map[string]*CredentialType{}
)

// MustRegisterCredentialType adds a credential type from an init function; a duplicate id panics at start-up.
func MustRegisterCredentialType(t CredentialType) {
	credMu.Lock()
	defer credMu.Unlock()
	if !typePattern.MatchString(t.ID) {
		panic(fmt.Sprintf("nodes: credential type %q must be a lowercase dotted id", t.ID))
	}
	if _, dup := credTypes[t.ID]; dup {
		panic(fmt.Sprintf("nodes: credential type %s registered twice", t.ID))
	}
	if o := t.OAuth2; o != nil && o.Grant != GrantAuthorizationCode && o.Grant != GrantClientCredentials {
		panic(fmt.Sprintf("nodes: credential type %s: unknown OAuth2 grant %q", t.ID, o.Grant))
	}
	if o := t.OAuth2; o != nil {
		for _, f := range o.TokenFields {
			if f == "" || f == CredentialAccessToken || f == CredentialTokenType || f == CredentialTokenExpiry {
				panic(fmt.Sprintf("nodes: credential type %s: token field %q is empty or taken by the token itself", t.ID, f))
			}
		}
	}
	t.Testable = t.Test != nil
	t.HasDefaultDestinations = t.Destinations != nil
	credTypes[t.ID] = &t
}

// LookupCredentialType returns a registered credential type.
func LookupCredentialType(id string) (*CredentialType, bool) {
	credMu.RLock()
	defer credMu.RUnlock()
	t, ok := credTypes[id]
	return t, ok
}

// CredentialTypes lists every registered credential type by id.
func CredentialTypes() []CredentialType {
	credMu.RLock()
	defer credMu.RUnlock()
	out := make([]CredentialType, 0, len(credTypes))
	for _, t := range credTypes {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
