package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/core" // credential types
	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
)

func keyText(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func runKeys(t *testing.T, cfg *app.Config, args ...string) (string, error) {
	t.Helper()
	cmd := keysCmd(cfg)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestKeysRotateAndCheck walks a rotation from the command line: check reports what is under the previous key,
// rotate re-seals it, check is then clean; a credential no key opens is named and makes both commands fail.
func TestKeysRotateAndCheck(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	oldKey, _ := vault.Load(vault.KeySource{Current: keyText(1)})
	old := &vault.Credentials{Store: st, Vault: oldKey}
	var ids []string
	for _, name := range []string{"CRM", "Shop", "ERP"} {
		in, err := old.Create(ctx, name, "http.bearer", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: map[string]string{"token": "secret-" + name}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	// A flow's test webhook secret, sealed under the old key like run data.
	st.(store.SealerSetter).SetSealer(oldKey)
	flow := &store.Flow{Name: "tested", Draft: json.RawMessage(`{"nodes":[]}`)}
	if err := st.CreateFlow(ctx, flow); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureFlowTestSecret(ctx, &store.FlowTestSecret{FlowID: flow.ID, Secret: "opens-the-test-hook"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cfg, err := app.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.SecretKey = dir, keyText(2)
	t.Setenv(vault.PreviousKeysEnv, keyText(1))

	out, err := runKeys(t, &cfg, "check")
	if err != nil || !strings.Contains(out, "3 credential(s); 0 under the current key") || !strings.Contains(out, "3 under previous key") ||
		!strings.Contains(out, "run `ferry keys rotate`") {
		t.Fatalf("check before rotating: %v\n%s", err, out)
	}
	out, err = runKeys(t, &cfg, "rotate")
	if err != nil || !strings.Contains(out, "re-sealed 3 credential(s)") || !strings.Contains(out, "re-sealed 1 test webhook secret(s)") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	out, err = runKeys(t, &cfg, "check")
	if err != nil || !strings.Contains(out, "3 under the current key") || strings.Contains(out, "rotate") {
		t.Fatalf("check after rotating: %v\n%s", err, out)
	}

	// The old key can go; every credential still opens with the new one alone.
	t.Setenv(vault.PreviousKeysEnv, "")
	st, err = store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	newKey, _ := vault.Load(vault.KeySource{Current: keyText(2)})
	if got, err := (&vault.Credentials{Store: st, Vault: newKey}).Resolve(ctx, ids[1], nodes.ModeLive); err != nil || got.Fields["token"] != "secret-Shop" {
		t.Fatalf("after rotation: %v %v", got, err)
	}
	st.(store.SealerSetter).SetSealer(newKey)
	if got, err := st.FlowTestSecret(ctx, flow.ID); err != nil || got.Secret != "opens-the-test-hook" {
		t.Fatalf("the test secret after rotation: %v %v", got, err)
	}
	// A credential sealed under a key nobody configured.
	stray, _ := vault.Load(vault.KeySource{Current: keyText(9)})
	lost, err := (&vault.Credentials{Store: st, Vault: stray}).Create(ctx, "Lost", "http.bearer", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: map[string]string{"token": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, sub := range []string{"check", "rotate"} {
		out, err = runKeys(t, &cfg, sub)
		if !errors.Is(err, errUnreadable) || !strings.Contains(out, lost.ID) || !strings.Contains(out, "not configured") || strings.Contains(out, "secret-") {
			t.Errorf("%s with an unreadable credential: %v\n%s", sub, err, out)
		}
	}
}
