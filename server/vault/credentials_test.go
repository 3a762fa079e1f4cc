package vault_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core" // credential types
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
	return &vault.Credentials{Store: st, Vault: v}, st
}

func TestCredentialsAreSealedAndWriteOnly(t *testing.T) {
	c, st := newCredentials(t)
	ctx := context.Background()
	info, err := c.Create(ctx, "CRM", "http.bearer", vault.Secrets{Live: map[string]string{"token": "live-token-123"}, Test: map[string]string{"token": "test-token-456"}})
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
	if live["token"] != "live-token-123" || test["token"] != "test-token-456" {
		t.Errorf("variants: live %v test %v", live, test)
	}
}

func TestTestRunsNeverSeeLiveSecrets(t *testing.T) {
	c, _ := newCredentials(t)
	ctx := context.Background()
	info, err := c.Create(ctx, "shop", "webhook.hmac", vault.Secrets{Live: map[string]string{"secret": "live-only"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Resolve(ctx, info.ID, nodes.ModeTest)
	if err != nil || got["secret"] != vault.WithheldInTests {
		t.Fatalf("a test run got %v (%v)", got, err)
	}
	verify, _ := c.ResolveForVerification(ctx, info.ID, nodes.ModeTest)
	if verify["secret"] != "live-only" {
		t.Errorf("verification of a test delivery: %v", verify)
	}
}

func TestCredentialInputIsChecked(t *testing.T) {
	c, _ := newCredentials(t)
	ctx := context.Background()
	for name, s := range map[string]vault.Secrets{
		"unknown field":  {Live: map[string]string{"token": "x", "colour": "red"}},
		"missing field":  {Live: map[string]string{}},
		"no live fields": {Test: map[string]string{"token": "x"}},
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
