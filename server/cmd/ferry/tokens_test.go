package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store"
)

// TestTokensCreate provisions a token from the command line for an admin created from the environment, and the
// token authenticates with the role asked for.
func TestTokensCreate(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	svc := auth.NewService(st, nil)
	if err := svc.Bootstrap(context.Background(), "it@shop.example", "a long enough secret"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cmd := root()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"tokens", "create", "--data-dir", dir, "--email", "it@shop.example", "--name", "ci", "--role", "viewer"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("tokens create: %v (%s)", err, errOut.String())
	}
	token := strings.TrimSpace(out.String())
	if !strings.HasPrefix(token, auth.TokenPrefix) {
		t.Fatalf("printed %q", out.String())
	}
	st, err = store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := auth.NewService(st, nil).Authenticate(context.Background(), token, "")
	if err != nil || p.Role != auth.RoleViewer || p.Email != "it@shop.example" {
		t.Fatalf("token authenticates as %+v, %v", p, err)
	}
}
