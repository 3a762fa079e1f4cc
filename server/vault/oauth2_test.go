package vault_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
	"github.com/ferry-hq/ferry/server/vault/oauth2test"
)

func authCodeFields(p *oauth2test.Provider) map[string]string {
	return map[string]string{
		nodes.OAuth2ClientID: oauth2test.ClientID, nodes.OAuth2ClientSecret: oauth2test.ClientSecret,
		nodes.OAuth2AuthURL: p.AuthURL, nodes.OAuth2TokenURL: p.TokenURL, nodes.OAuth2Scopes: "contacts.read, offline_access",
		nodes.OAuth2AuthStyle: "header", "testUrl": p.MeURL,
	}
}

// authorize runs the authorisation-code flow for a new credential and returns its id.
func authorize(t *testing.T, c *vault.Credentials, p *oauth2test.Provider, fields map[string]string) string {
	t.Helper()
	ctx := context.Background()
	in, err := c.Create(ctx, "CRM", "oauth2.authcode", vault.Secrets{Destinations: []string{p.MeURL}, Live: fields})
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != vault.StatusAuthorize || in.OAuth2["live"].Authorized {
		t.Fatalf("a new credential: %+v", in)
	}
	if _, err := c.Resolve(ctx, in.ID, nodes.ModeLive); nodes.Classify(err).Code != vault.CodeNeedsAuthorization {
		t.Fatalf("resolve before authorisation: %v", err)
	}
	auth, err := c.Authorize(ctx, in.ID, vault.VariantLive, "https://ferry.example.com/oauth2/callback")
	if err != nil {
		t.Fatal(err)
	}
	back := p.Consent(t, auth.URL)
	done, err := c.CompleteAuthorization(ctx, back.Get("state"), back.Get("code"), back.Get("error"))
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != vault.StatusOK || !done.OAuth2["live"].Authorized || !done.OAuth2["live"].Renewable {
		t.Fatalf("after authorisation: %+v", done)
	}
	return in.ID
}

func TestOAuth2AuthorizationCodeWithPKCE(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := oauth2test.New(t)
		c := &vault.Credentials{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()}
		id := authorize(t, c, p, authCodeFields(p))
		if p.Exchanges.Load() != 1 || p.LastScope() != "contacts.read offline_access" {
			t.Errorf("exchanges %d, scope %q", p.Exchanges.Load(), p.LastScope())
		}
		got, err := c.Resolve(ctx, id, nodes.ModeLive)
		if err != nil || !p.Valid(got.Fields[nodes.CredentialAccessToken]) || got.Fields[nodes.CredentialTokenType] != "bearer" {
			t.Fatalf("resolved %v %v", got, err)
		}
		if _, secret := got.Fields[nodes.OAuth2ClientSecret]; secret || len(got.Fields) != 3 {
			t.Errorf("a step got more than the access token: %v", keys(got.Fields))
		}
		row, _ := st.GetCredential(ctx, id)
		if bytes.Contains(row.Sealed, []byte(got.Fields[nodes.CredentialAccessToken])) {
			t.Error("the access token is stored in clear text")
		}
		// A test run of a credential without a test variant gets no live token.
		if test, _ := c.Resolve(ctx, id, nodes.ModeTest); test.Fields[nodes.CredentialAccessToken] != vault.WithheldInTests {
			t.Errorf("test run got %v", test)
		}
		if res, err := c.Test(ctx, id, vault.VariantLive); err != nil || !res.OK || !strings.Contains(res.Message, "200") {
			t.Errorf("connection test: %+v %v", res, err)
		}
		// The state is one-time.
		auth, _ := c.Authorize(ctx, id, vault.VariantLive, "https://ferry.example.com/oauth2/callback")
		back := p.Consent(t, auth.URL)
		if _, err := c.CompleteAuthorization(ctx, back.Get("state"), back.Get("code"), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CompleteAuthorization(ctx, back.Get("state"), back.Get("code"), ""); err == nil || !strings.Contains(err.Error(), "already used") {
			t.Errorf("replayed state: %v", err)
		}
		if _, err := c.Authorize(ctx, id, vault.VariantTest, "https://x"); err == nil {
			t.Error("authorised a test variant that does not exist")
		}
	})
}

func TestOAuth2WithoutPKCEAndARefusedConsent(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := oauth2test.New(t)
		c := &vault.Credentials{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()}
		fields := authCodeFields(p)
		fields[nodes.OAuth2PKCE] = "false"
		fields[nodes.OAuth2AuthParams] = "access_type=offline&prompt=consent"
		in, err := c.Create(ctx, "CRM", "oauth2.authcode", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: fields})
		if err != nil {
			t.Fatal(err)
		}
		auth, err := c.Authorize(ctx, in.ID, vault.VariantLive, "https://ferry.example.com/oauth2/callback")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(auth.URL, "code_challenge") || !strings.Contains(auth.URL, "access_type=offline") {
			t.Errorf("authorisation URL %s", auth.URL)
		}
		if _, err := c.CompleteAuthorization(ctx, p.Consent(t, auth.URL).Get("state"), "", "access_denied: the user said no"); err == nil ||
			!strings.Contains(err.Error(), "access_denied") {
			t.Errorf("refused consent: %v", err)
		}
		if got, _ := c.Get(ctx, in.ID); got.Status != vault.StatusAuthorize {
			t.Errorf("after a refused consent: %+v", got)
		}
	})
}

// TestOAuth2RefreshRace: 50 runs resolve a credential whose token is due for renewal at once, in two processes
// (two vaults over one database, each with its own in-process coordination). The provider sees one refresh, and
// every run gets the renewed token.
func TestOAuth2RefreshRace(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := oauth2test.New(t)
		p.SetAccessTTL(30 * time.Second) // within RenewBefore: due at once
		processes := []*vault.Credentials{
			{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()},
			{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()},
		}
		id := authorize(t, processes[0], p, authCodeFields(p))
		p.SetAccessTTL(time.Hour)
		p.SetRefreshDelay(150 * time.Millisecond)

		tokens := make([]string, 50)
		errs := make([]error, 50)
		var wg sync.WaitGroup
		for i := range tokens {
			wg.Go(func() {
				got, err := processes[i%2].Resolve(ctx, id, nodes.ModeLive)
				tokens[i], errs[i] = got.Fields[nodes.CredentialAccessToken], err
			})
		}
		wg.Wait()
		for i := range tokens {
			if errs[i] != nil || tokens[i] != tokens[0] || !p.Valid(tokens[i]) {
				t.Fatalf("resolve %d: %q %v (first got %q)", i, tokens[i], errs[i], tokens[0])
			}
		}
		if n := p.Refreshes.Load(); n != 1 {
			t.Fatalf("%d refresh requests, want 1", n)
		}
		row, _ := st.GetCredential(ctx, id)
		if !row.RefreshUntil.IsZero() || row.Status != vault.StatusOK {
			t.Errorf("after the renewal: claim %v, status %q", row.RefreshUntil, row.Status)
		}
		// The renewed token is good for an hour: no further refresh.
		if _, err := processes[1].Resolve(ctx, id, nodes.ModeLive); err != nil || p.Refreshes.Load() != 1 {
			t.Errorf("resolve after renewal: %v, %d refreshes", err, p.Refreshes.Load())
		}
	})
}

// TestOAuth2RefusedRefreshNeedsReauthorization: the provider refuses the refresh token (revoked); the credential
// is marked, the failure is permanent, later runs fail without asking the provider again, and authorising again
// clears it.
func TestOAuth2RefusedRefreshNeedsReauthorization(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := oauth2test.New(t)
		c := &vault.Credentials{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()}
		p.SetAccessTTL(30 * time.Second)
		id := authorize(t, c, p, authCodeFields(p))
		p.RefuseRefresh.Store(true)

		_, err := c.Resolve(ctx, id, nodes.ModeLive)
		if ne := nodes.Classify(err); ne.Code != vault.CodeNeedsAuthorization || ne.Kind != nodes.Permanent {
			t.Fatalf("refused refresh: %v (%+v)", err, ne)
		}
		in, _ := c.Get(ctx, id)
		if in.Status != vault.StatusReauthorize || !strings.Contains(in.StatusMessage, "invalid_grant") || in.OAuth2["live"].Authorized {
			t.Fatalf("info %+v", in)
		}
		row, _ := st.GetCredential(ctx, id)
		if row.Status != vault.StatusReauthorize || !row.RefreshUntil.IsZero() {
			t.Errorf("stored status %q, claim %v", row.Status, row.RefreshUntil)
		}
		asked := p.Refreshes.Load()
		if _, err := c.Resolve(ctx, id, nodes.ModeLive); nodes.Classify(err).Code != vault.CodeNeedsAuthorization || p.Refreshes.Load() != asked {
			t.Errorf("second resolve: %v; provider asked %d more times", err, p.Refreshes.Load()-asked)
		}

		p.RefuseRefresh.Store(false)
		auth, _ := c.Authorize(ctx, id, vault.VariantLive, "https://ferry.example.com/oauth2/callback")
		back := p.Consent(t, auth.URL)
		in, err = c.CompleteAuthorization(ctx, back.Get("state"), back.Get("code"), "")
		if err != nil || in.Status != vault.StatusOK || in.StatusMessage != "" {
			t.Fatalf("authorised again: %+v %v", in, err)
		}
	})
}

// TestOAuth2ProviderDown: a renewal that fails for a reason worth retrying marks nothing; a token that has not
// expired yet keeps serving, and one that has makes the step retry.
func TestOAuth2ProviderDown(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := oauth2test.New(t)
		c := &vault.Credentials{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()}
		p.SetAccessTTL(30 * time.Second)
		id := authorize(t, c, p, authCodeFields(p))
		p.FailRefresh.Store(true)
		got, err := c.Resolve(ctx, id, nodes.ModeLive)
		if err != nil || !p.Valid(got.Fields[nodes.CredentialAccessToken]) {
			t.Fatalf("a still valid token while the provider is down: %v %v", got, err)
		}
		if in, _ := c.Get(ctx, id); in.Status != vault.StatusOK {
			t.Errorf("status %+v", in)
		}

		p.SetAccessTTL(2 * time.Second)
		p.FailRefresh.Store(false)
		short := authorize(t, c, p, authCodeFields(p))
		p.FailRefresh.Store(true)
		_, err = c.Resolve(ctx, short, nodes.ModeLive)
		if ne := nodes.Classify(err); ne.Code != vault.CodeTokenUnavailable || ne.Kind != nodes.Retryable {
			t.Fatalf("an expiring token while the provider is down: %v", err)
		}
		p.FailRefresh.Store(false)
		p.SetAccessTTL(time.Hour)
		if _, err := c.Resolve(ctx, short, nodes.ModeLive); err != nil {
			t.Errorf("after the provider is back: %v", err)
		}
	})
}

func TestOAuth2ClientCredentials(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := oauth2test.New(t)
		c := &vault.Credentials{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()}
		fields := map[string]string{nodes.OAuth2ClientID: oauth2test.ClientID, nodes.OAuth2ClientSecret: oauth2test.ClientSecret,
			nodes.OAuth2TokenURL: p.TokenURL, nodes.OAuth2Scopes: "orders"}
		in, err := c.Create(ctx, "ERP", "oauth2.client", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: fields})
		if err != nil || in.Status != vault.StatusOK {
			t.Fatalf("create: %+v %v", in, err)
		}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if got, err := c.Resolve(ctx, in.ID, nodes.ModeLive); err != nil || !p.Valid(got.Fields[nodes.CredentialAccessToken]) {
					t.Errorf("resolve: %v %v", got, err)
				}
			})
		}
		wg.Wait()
		if p.ClientGrants.Load() != 1 {
			t.Errorf("%d token requests, want 1", p.ClientGrants.Load())
		}
		// A wrong secret: the credential is marked failing, and fixing it clears the mark at the next resolve.
		bad := map[string]string{}
		for k, v := range fields {
			bad[k] = v
		}
		bad[nodes.OAuth2ClientSecret] = "wrong-secret"
		wrong, _ := c.Create(ctx, "ERP wrong", "oauth2.client", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: bad})
		_, err = c.Resolve(ctx, wrong.ID, nodes.ModeLive)
		if ne := nodes.Classify(err); ne.Code != vault.CodeTokenRefused || ne.Kind != nodes.Permanent || strings.Contains(err.Error(), "wrong-secret") {
			t.Fatalf("wrong secret: %v", err)
		}
		if got, _ := c.Get(ctx, wrong.ID); got.Status != vault.StatusFailing || !strings.Contains(got.StatusMessage, "invalid_client") {
			t.Errorf("info %+v", got)
		}
		res, err := c.Test(ctx, wrong.ID, vault.VariantLive)
		if err != nil || res.OK || strings.Contains(res.Message, "wrong-secret") {
			t.Errorf("connection test of a wrong secret: %+v %v", res, err)
		}
		if _, err := c.Replace(ctx, wrong.ID, "", vault.Secrets{Live: fields}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Resolve(ctx, wrong.ID, nodes.ModeLive); err != nil {
			t.Errorf("after fixing the secret: %v", err)
		}
		if got, _ := c.Get(ctx, wrong.ID); got.Status != vault.StatusOK {
			t.Errorf("after fixing the secret: %+v", got)
		}
	})
}

// TestReplaceKeepsTokensOfAnUnchangedClient: renaming or changing the secret keeps the grant; pointing the
// credential at another provider drops it.
func TestReplaceKeepsTokensOfAnUnchangedClient(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := oauth2test.New(t)
		c := &vault.Credentials{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()}
		fields := authCodeFields(p)
		id := authorize(t, c, p, fields)
		in, err := c.Replace(ctx, id, "CRM renamed", vault.Secrets{Live: fields})
		if err != nil || in.Status != vault.StatusOK || !in.OAuth2["live"].Authorized || in.Name != "CRM renamed" {
			t.Fatalf("same client: %+v %v", in, err)
		}
		moved := map[string]string{}
		for k, v := range fields {
			moved[k] = v
		}
		moved[nodes.OAuth2TokenURL] = p.URL + "/other/token"
		in, err = c.Replace(ctx, id, "", vault.Secrets{Live: moved})
		if err != nil || in.Status != vault.StatusAuthorize || in.OAuth2["live"].Authorized {
			t.Fatalf("other provider: %+v %v", in, err)
		}
	})
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestOAuth2TokenAnswerFields: a type that asks for fields of the token answer (Salesforce's instance_url) gets
// them with the token, keeps them over a refresh whose answer leaves them out, shows them to a test run that
// withholds the token, and derives its endpoints from its own fields.
func TestOAuth2TokenAnswerFields(t *testing.T) {
	endpoints := func(f map[string]string) (string, string, error) {
		return f["loginUrl"] + "/authorize", f["loginUrl"] + "/token", nil
	}
	nodes.MustRegisterCredentialType(nodes.CredentialType{ID: "test.instanceurl", Name: "Instance URL",
		Fields: []nodes.Field{{Name: "loginUrl", Type: nodes.TypeString}, {Name: nodes.OAuth2ClientID, Type: nodes.TypeString},
			{Name: nodes.OAuth2ClientSecret, Type: nodes.TypeString, Secret: true}},
		OAuth2: &nodes.OAuth2{Grant: nodes.GrantAuthorizationCode, Endpoints: endpoints, TokenFields: []string{"instance_url"}}})
	nodes.MustRegisterCredentialType(nodes.CredentialType{ID: "test.instanceurl.client", Name: "Instance URL (client)",
		Fields: []nodes.Field{{Name: "loginUrl", Type: nodes.TypeString}, {Name: nodes.OAuth2ClientID, Type: nodes.TypeString},
			{Name: nodes.OAuth2ClientSecret, Type: nodes.TypeString, Secret: true}},
		OAuth2: &nodes.OAuth2{Grant: nodes.GrantClientCredentials, Endpoints: endpoints, TokenFields: []string{"instance_url"}}})
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := oauth2test.New(t)
		p.SetExtra(map[string]any{"instance_url": "https://acme.my.example.com", "signature": "not asked for"}, nil)
		p.SetAccessTTL(30 * time.Second) // under RenewBefore: every resolve renews
		fields := map[string]string{"loginUrl": p.URL, nodes.OAuth2ClientID: oauth2test.ClientID, nodes.OAuth2ClientSecret: oauth2test.ClientSecret}
		c := &vault.Credentials{Store: st, Vault: keyring(t, 1), HTTP: testenv.LocalClient()}
		in, err := c.Create(ctx, "CRM", "test.instanceurl", vault.Secrets{Destinations: []string{"https://acme.my.example.com"}, Live: fields})
		if err != nil {
			t.Fatal(err)
		}
		auth, err := c.Authorize(ctx, in.ID, vault.VariantLive, "https://ferry.example.com/oauth2/callback")
		if err != nil || !strings.HasPrefix(auth.URL, p.AuthURL) {
			t.Fatalf("authorize: %+v %v", auth, err)
		}
		back := p.Consent(t, auth.URL)
		if _, err := c.CompleteAuthorization(ctx, back.Get("state"), back.Get("code"), ""); err != nil {
			t.Fatal(err)
		}
		got, err := c.Resolve(ctx, in.ID, nodes.ModeLive) // renews: the refresh answer has no instance_url
		if err != nil || got.Fields["instance_url"] != "https://acme.my.example.com" || got.Fields["signature"] != "" {
			t.Fatalf("resolved %v %v", got, err)
		}
		if p.Refreshes.Load() != 1 || !p.Valid(got.Fields[nodes.CredentialAccessToken]) {
			t.Errorf("refreshes %d", p.Refreshes.Load())
		}
		p.SetExtra(nil, map[string]any{"instance_url": "https://moved.my.example.com"})
		if got, _ = c.Resolve(ctx, in.ID, nodes.ModeLive); got.Fields["instance_url"] != "https://moved.my.example.com" {
			t.Errorf("a refresh naming a new instance: %v", got.Fields)
		}
		test, err := c.Resolve(ctx, in.ID, nodes.ModeTest)
		if err != nil || test.Fields[nodes.CredentialAccessToken] != vault.WithheldInTests || test.Fields["instance_url"] != "https://moved.my.example.com" {
			t.Errorf("test run: %v %v", test, err)
		}
		p.SetExtra(map[string]any{"instance_url": "https://cc.my.example.com"}, nil)
		cc, err := c.Create(ctx, "CRM cc", "test.instanceurl.client", vault.Secrets{Destinations: []string{"https://cc.my.example.com"}, Live: fields})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Resolve(ctx, cc.ID, nodes.ModeLive); err != nil || got.Fields["instance_url"] != "https://cc.my.example.com" {
			t.Errorf("client credentials: %v %v", got, err)
		}
	})
}

// TestRenewReplacesARefusedToken: a token the provider refused before its expiry is renewed once; a second
// caller naming the same refused token gets the new one without another renewal.
func TestRenewReplacesARefusedToken(t *testing.T) {
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
		if err != nil || renewed.Fields[nodes.CredentialAccessToken] == refused || !p.Valid(renewed.Fields[nodes.CredentialAccessToken]) {
			t.Fatalf("renewed %v %v", renewed, err)
		}
		again, err := c.Renew(ctx, id, nodes.ModeLive, refused)
		if err != nil || again.Fields[nodes.CredentialAccessToken] != renewed.Fields[nodes.CredentialAccessToken] || p.Refreshes.Load() != 1 {
			t.Errorf("second caller: %v %v, %d refreshes", again, err, p.Refreshes.Load())
		}
		// A test run whose live token is withheld renews nothing.
		if test, err := c.Renew(ctx, id, nodes.ModeTest, vault.WithheldInTests); err != nil || test.Fields[nodes.CredentialAccessToken] != vault.WithheldInTests {
			t.Errorf("test run: %v %v", test, err)
		}
		if p.Refreshes.Load() != 1 {
			t.Errorf("%d refreshes", p.Refreshes.Load())
		}
	})
}
