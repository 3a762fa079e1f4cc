package vault_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
	"github.com/ferry-hq/ferry/server/vault/oauth2test"
)

// regionalType is an OAuth2 type whose endpoints follow a region chosen on the credential and whose token
// answer says where the account's API lives, as Zoho's data centres and api_domain do. Its region field names
// a provider of oauth2test by its index in regionalProviders.
const regionalType = "test.oauth2.regional"

var regionalProviders []*oauth2test.Provider

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID: regionalType, Name: "Regional OAuth2",
		Fields: []nodes.Field{
			{Name: nodes.OAuth2ClientID, Type: nodes.TypeString, Required: true},
			{Name: nodes.OAuth2ClientSecret, Type: nodes.TypeString, Secret: true},
			{Name: "region", Type: nodes.TypeString, Required: true},
		},
		OAuth2: &nodes.OAuth2{Grant: nodes.GrantAuthorizationCode, TokenFields: []string{"api_domain"},
			Endpoints: func(fields map[string]string) (string, string, error) {
				for i, p := range regionalProviders {
					if fields["region"] == fmt.Sprint(i) {
						return p.AuthURL, p.TokenURL, nil
					}
				}
				return "", "", errors.New("unknown region " + fields["region"])
			}},
		Destinations: func(map[string]string) []string { return []string{"https://api.example.com"} },
	})
}

// TestOAuth2EndpointsAndTokenFields: the type's Endpoints pick the token endpoint from the credential's region,
// the api_domain of the token answer reaches steps (test runs included, with the token withheld), survives a
// renewal whose answer lacks it, follows one that changes it, and a changed region drops the token.
func TestOAuth2EndpointsAndTokenFields(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		eu, us := oauth2test.New(t), oauth2test.New(t)
		regionalProviders = []*oauth2test.Provider{us, eu}
		c := &vault.Credentials{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()}
		fields := map[string]string{nodes.OAuth2ClientID: oauth2test.ClientID, nodes.OAuth2ClientSecret: oauth2test.ClientSecret, "region": "1"}

		bad, err := c.Create(ctx, "CRM", regionalType, vault.Secrets{Live: map[string]string{nodes.OAuth2ClientID: "x", "region": "mars"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Authorize(ctx, bad.ID, vault.VariantLive, "https://ferry.example.com/cb"); !errors.Is(err, vault.ErrInvalid) ||
			!strings.Contains(err.Error(), "unknown region mars") {
			t.Fatalf("authorise with an unknown region: %v", err)
		}

		eu.SetExtra(map[string]any{"api_domain": "https://www.zohoapis.eu"})
		eu.SetAccessTTL(30 * time.Second) // due at once
		in, err := c.Create(ctx, "CRM", regionalType, vault.Secrets{Live: fields})
		if err != nil {
			t.Fatal(err)
		}
		auth, err := c.Authorize(ctx, in.ID, vault.VariantLive, "https://ferry.example.com/cb")
		if err != nil || !strings.HasPrefix(auth.URL, eu.AuthURL+"?") {
			t.Fatalf("authorisation URL %v %v", auth, err)
		}
		back := eu.Consent(t, auth.URL)
		if _, err := c.CompleteAuthorization(ctx, back.Get("state"), back.Get("code"), ""); err != nil {
			t.Fatal(err)
		}
		if eu.Exchanges.Load() != 1 || us.Exchanges.Load() != 0 {
			t.Fatalf("exchanges: eu %d, us %d", eu.Exchanges.Load(), us.Exchanges.Load())
		}

		// The token is due: the renewal's answer has no api_domain, and the one of the grant stays.
		eu.SetExtra(nil)
		eu.SetAccessTTL(30 * time.Second)
		got, err := c.Resolve(ctx, in.ID, nodes.ModeLive)
		if err != nil || got.Fields["api_domain"] != "https://www.zohoapis.eu" || eu.Refreshes.Load() != 1 {
			t.Fatalf("after a renewal without api_domain: %v %v (%d refreshes)", got, err, eu.Refreshes.Load())
		}
		// A renewal that names another domain is followed.
		eu.SetExtra(map[string]any{"api_domain": "https://eu2.zohoapis.eu"})
		eu.SetAccessTTL(time.Hour)
		got, err = c.Resolve(ctx, in.ID, nodes.ModeLive)
		if err != nil || got.Fields["api_domain"] != "https://eu2.zohoapis.eu" || !eu.Valid(got.Fields[nodes.CredentialAccessToken]) {
			t.Fatalf("after a renewal with a new api_domain: %v %v", got, err)
		}
		if _, secret := got.Fields[nodes.OAuth2ClientSecret]; secret || len(got.Fields) != 4 {
			t.Errorf("a step got %v", keys(got.Fields))
		}
		test, err := c.Resolve(ctx, in.ID, nodes.ModeTest)
		if err != nil || test.Fields[nodes.CredentialAccessToken] != vault.WithheldInTests || test.Fields["api_domain"] != "https://eu2.zohoapis.eu" {
			t.Errorf("test run got %v %v", test, err)
		}

		// The same region keeps the token; another one needs a new authorisation.
		if info, err := c.Replace(ctx, in.ID, "", vault.Secrets{Live: fields}); err != nil || info.Status != vault.StatusOK {
			t.Fatalf("replace with the same region: %+v %v", info, err)
		}
		moved := map[string]string{nodes.OAuth2ClientID: oauth2test.ClientID, nodes.OAuth2ClientSecret: oauth2test.ClientSecret, "region": "0"}
		if info, err := c.Replace(ctx, in.ID, "", vault.Secrets{Live: moved}); err != nil || info.Status != vault.StatusAuthorize {
			t.Fatalf("replace with another region: %+v %v", info, err)
		}
	})
}

// TestOAuth2RenewRefusedToken: a token the provider refused before its expiry is renewed once however many steps
// report it; a step reporting a token already replaced gets the current one; a test run whose live token is
// withheld and a credential without tokens have nothing to renew.
func TestOAuth2RenewRefusedToken(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := oauth2test.New(t)
		c := &vault.Credentials{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()}
		id := authorize(t, c, p, authCodeFields(p))
		first, err := c.Resolve(ctx, id, nodes.ModeLive)
		if err != nil {
			t.Fatal(err)
		}
		refused := first.Fields[nodes.CredentialAccessToken]
		renewed, err := c.Renew(ctx, id, nodes.ModeLive, refused)
		if err != nil || renewed.Fields[nodes.CredentialAccessToken] == refused || !p.Valid(renewed.Fields[nodes.CredentialAccessToken]) ||
			p.Refreshes.Load() != 1 {
			t.Fatalf("renew: %v %v (%d refreshes)", renewed, err, p.Refreshes.Load())
		}
		again, err := c.Renew(ctx, id, nodes.ModeLive, refused)
		if err != nil || again.Fields[nodes.CredentialAccessToken] != renewed.Fields[nodes.CredentialAccessToken] || p.Refreshes.Load() != 1 {
			t.Fatalf("a second report of the same token: %v %v (%d refreshes)", again, err, p.Refreshes.Load())
		}
		if got, err := c.Resolve(ctx, id, nodes.ModeLive); err != nil || got.Fields[nodes.CredentialAccessToken] != renewed.Fields[nodes.CredentialAccessToken] {
			t.Fatalf("resolve after the renewal: %v %v", got, err)
		}
		test, err := c.Renew(ctx, id, nodes.ModeTest, vault.WithheldInTests)
		if err != nil || test.Fields[nodes.CredentialAccessToken] != vault.WithheldInTests || p.Refreshes.Load() != 1 {
			t.Fatalf("test run: %v %v", test, err)
		}
		plain, err := c.Create(ctx, "Key", "http.bearer", vault.Secrets{Destinations: []string{"https://api.example.com"},
			Live: map[string]string{"token": "live-token-123"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Renew(ctx, plain.ID, nodes.ModeLive, "live-token-123"); nodes.Classify(err).Code != vault.CodeNotRenewable {
			t.Errorf("renew a credential without tokens: %v", err)
		}
	})
}
