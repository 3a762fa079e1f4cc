package vault_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core"   // credential types
	_ "github.com/ferry-hq/ferry/nodes/paypal" // a connector type with default destinations per environment
	_ "github.com/ferry-hq/ferry/nodes/stripe" // a connector type with an inbound field
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
)

func newCredentials(t *testing.T) (*vault.Credentials, store.Store) {
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	v, _ := vault.New(bytes.Repeat([]byte{1}, 32))
	return &vault.Credentials{Store: st, Vault: v, HTTP: testenv.LocalClient()}, st
}

func TestCredentialsAreSealedAndWriteOnly(t *testing.T) {
	c, st := newCredentials(t)
	ctx := context.Background()
	info, err := c.Create(ctx, "CRM", "http.bearer", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: map[string]string{"token": "live-token-123"}, Test: map[string]string{"token": "test-token-456"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Fields) != 1 || info.Fields[0] != "token" || len(info.TestFields) != 1 {
		t.Errorf("info %+v", info)
	}
	row, _ := st.GetCredential(ctx, info.ID)
	if bytes.Contains(row.Sealed, []byte("live-token-123")) || bytes.Contains(row.Sealed, []byte("test-token-456")) {
		t.Fatal("a secret is stored in clear text")
	}
	live, _ := c.Resolve(ctx, info.ID, nodes.ModeLive)
	test, _ := c.Resolve(ctx, info.ID, nodes.ModeTest)
	if live.Fields["token"] != "live-token-123" || test.Fields["token"] != "test-token-456" {
		t.Errorf("variants: live %v test %v", live, test)
	}
}

func TestTestRunsNeverSeeLiveSecrets(t *testing.T) {
	c, _ := newCredentials(t)
	ctx := context.Background()
	info, err := c.Create(ctx, "CRM", "http.bearer", vault.Secrets{Destinations: []string{"https://crm.example.com"},
		Live: map[string]string{"token": "live-only"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Resolve(ctx, info.ID, nodes.ModeTest)
	if err != nil || got.Fields["token"] != vault.WithheldInTests {
		t.Fatalf("a test run got %v (%v)", got, err)
	}
	shop, err := c.Create(ctx, "shop", "webhook.hmac", vault.Secrets{Live: map[string]string{"secret": "live-only"}})
	if err != nil {
		t.Fatal(err)
	}
	verify, _ := c.ResolveForVerification(ctx, shop.ID, nodes.ModeTest)
	if verify["secret"] != "live-only" {
		t.Errorf("verification of a test delivery: %v", verify)
	}
}

// TestWebhookSecretsNeverGoOut: a webhook verification secret only checks what arrives. A step that sends
// requests cannot open it, in any mode, and a connector credential's inbound field (Stripe's signing secret)
// is left out of what a step gets, while its trigger still verifies with it.
func TestWebhookSecretsNeverGoOut(t *testing.T) {
	c, _ := newCredentials(t)
	ctx := context.Background()
	for _, typ := range []string{"webhook.hmac", "webhook.token"} {
		field := map[string]string{"webhook.hmac": "secret", "webhook.token": "token"}[typ]
		in, err := c.Create(ctx, typ, typ, vault.Secrets{Live: map[string]string{field: "whsec_never_out"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []nodes.Mode{nodes.ModeLive, nodes.ModeTest} {
			got, err := c.Resolve(ctx, in.ID, mode)
			if nodes.Classify(err).Code != vault.CodeInboundOnly || got != nil {
				t.Errorf("%s %s: a step opened it: %v %v", typ, mode, got, err)
			}
		}
	}
	in, err := c.Create(ctx, "Stripe", "stripe.account", vault.Secrets{Live: map[string]string{"secretKey": "sk_live_1", "webhookSecret": "whsec_1"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Resolve(ctx, in.ID, nodes.ModeLive)
	if err != nil || got.Fields["secretKey"] != "sk_live_1" || got.Fields["webhookSecret"] != "" {
		t.Fatalf("a Stripe step got %v (%v)", got, err)
	}
	if got.Destinations.Strings()[0] != "https://api.stripe.com" {
		t.Errorf("a Stripe key goes to Stripe by default, got %v", got.Destinations.Strings())
	}
	verify, _ := c.ResolveForVerification(ctx, in.ID, nodes.ModeLive)
	if verify["webhookSecret"] != "whsec_1" {
		t.Errorf("the trigger must still verify with the signing secret: %v", verify)
	}
}

// TestCredentialsNameTheirDestinations: a credential of a type without a provider must list where it may be
// sent; what is listed is checked, kept on replace when the request leaves it out, and resolved with the type's
// defaults for connector types.
func TestCredentialsNameTheirDestinations(t *testing.T) {
	c, _ := newCredentials(t)
	ctx := context.Background()
	if _, err := c.Create(ctx, "CRM", "http.bearer", vault.Secrets{Live: map[string]string{"token": "t"}}); !errors.Is(err, vault.ErrDestinations) {
		t.Fatalf("no destinations: %v", err)
	}
	if _, err := c.Create(ctx, "CRM", "http.bearer", vault.Secrets{Destinations: []string{"ftp://crm"}, Live: map[string]string{"token": "t"}}); !errors.Is(err, vault.ErrDestinations) {
		t.Fatalf("a bad destination: %v", err)
	}
	in, err := c.Create(ctx, "CRM", "http.bearer", vault.Secrets{Destinations: []string{" https://crm.example.com/api ", ""}, Live: map[string]string{"token": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.AllowedDestinations) != 1 || in.AllowedDestinations[0] != "https://crm.example.com/api" || len(in.DefaultDestinations) != 0 {
		t.Fatalf("info %+v", in)
	}
	if in, err = c.Replace(ctx, in.ID, "", vault.Secrets{Live: map[string]string{"token": "t2"}}); err != nil || len(in.AllowedDestinations) != 1 {
		t.Fatalf("a replace without destinations keeps them: %+v %v", in, err)
	}
	if _, err = c.Replace(ctx, in.ID, "", vault.Secrets{Destinations: []string{}, Live: map[string]string{"token": "t2"}}); !errors.Is(err, vault.ErrDestinations) {
		t.Fatalf("clearing the destinations of a generic credential: %v", err)
	}
	pp, err := c.Create(ctx, "PayPal", "paypal.app", vault.Secrets{
		Live: map[string]string{"environment": "live", "baseUrl": "-", "clientId": "id", "clientSecret": "s"},
		Test: map[string]string{"environment": "sandbox", "baseUrl": "-", "clientId": "id", "clientSecret": "s"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pp.DefaultDestinations) != 1 || pp.DefaultDestinations[0] != "https://api-m.paypal.com" {
		t.Fatalf("PayPal defaults %v", pp.DefaultDestinations)
	}
	test, err := c.Resolve(ctx, pp.ID, nodes.ModeTest)
	if err != nil || test.Destinations.Strings()[0] != "https://api-m.sandbox.paypal.com" {
		t.Fatalf("the test variant goes to the sandbox: %v %v", test, err)
	}
}

func TestCredentialInputIsChecked(t *testing.T) {
	c, _ := newCredentials(t)
	ctx := context.Background()
	for name, s := range map[string]vault.Secrets{
		"unknown field":  {Destinations: []string{"api.example.com"}, Live: map[string]string{"token": "x", "colour": "red"}},
		"missing field":  {Destinations: []string{"api.example.com"}, Live: map[string]string{}},
		"no live fields": {Destinations: []string{"api.example.com"}, Test: map[string]string{"token": "x"}},
	} {
		if _, err := c.Create(ctx, "x", "http.bearer", s); !errors.Is(err, vault.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := c.Create(ctx, "x", "acme.unknown", vault.Secrets{Live: map[string]string{}}); !errors.Is(err, vault.ErrInvalid) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := c.Resolve(ctx, "missing", nodes.ModeLive); nodes.Classify(err).Code != "credential_not_found" {
		t.Errorf("missing credential: %v", err)
	}
}
