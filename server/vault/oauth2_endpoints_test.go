package vault_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
	"github.com/ferry-hq/ferry/server/vault/oauth2test"
)

// regionalType is an OAuth2 type whose endpoints follow a region chosen on the credential, as Zoho's data
// centres do, and refuses a region it does not know. Its region field names a provider of oauth2test by its
// index in regionalProviders.
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
		OAuth2: &nodes.OAuth2{Grant: nodes.GrantAuthorizationCode,
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

// TestOAuth2EndpointsFromARegion: the type's Endpoints pick the provider from the credential's region; a region
// they refuse stops the authorisation with their error before anything is sent, and a credential moved to
// another region, or to one they refuse, loses its token and must be authorised again.
func TestOAuth2EndpointsFromARegion(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		eu, us := oauth2test.New(t), oauth2test.New(t)
		regionalProviders = []*oauth2test.Provider{us, eu}
		c := &vault.Credentials{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()}
		region := func(r string) map[string]string {
			return map[string]string{nodes.OAuth2ClientID: oauth2test.ClientID, nodes.OAuth2ClientSecret: oauth2test.ClientSecret, "region": r}
		}

		bad, err := c.Create(ctx, "CRM", regionalType, vault.Secrets{Live: region("mars")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Authorize(ctx, bad.ID, vault.VariantLive, "https://ferry.example.com/cb"); !errors.Is(err, vault.ErrInvalid) ||
			!strings.Contains(err.Error(), "unknown region mars") {
			t.Fatalf("authorise with an unknown region: %v", err)
		}

		// A credential moved to another region, or to one the type refuses, needs a new authorisation; one that
		// keeps its region keeps its token.
		for i, moved := range []string{"0", "mars"} {
			in, err := c.Create(ctx, "CRM", regionalType, vault.Secrets{Live: region("1")})
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
			if eu.Exchanges.Load() != int64(i+1) || us.Exchanges.Load() != 0 {
				t.Fatalf("exchanges: eu %d, us %d", eu.Exchanges.Load(), us.Exchanges.Load())
			}
			if got, err := c.Resolve(ctx, in.ID, nodes.ModeLive); err != nil || !eu.Valid(got.Fields[nodes.CredentialAccessToken]) {
				t.Fatalf("resolve: %v %v", got, err)
			}
			if info, err := c.Replace(ctx, in.ID, "", vault.Secrets{Live: region("1")}); err != nil || info.Status != vault.StatusOK {
				t.Fatalf("replace with the same region: %+v %v", info, err)
			}
			if info, err := c.Replace(ctx, in.ID, "", vault.Secrets{Live: region(moved)}); err != nil || info.Status != vault.StatusAuthorize {
				t.Fatalf("replace with region %s: %+v %v", moved, info, err)
			}
		}
	})
}
