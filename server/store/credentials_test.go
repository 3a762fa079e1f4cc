package store

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func testCredentials(t *testing.T, s Store) {
	ctx := t.Context()
	sealed := []byte{0, 1, 2, 250, 251, 252}
	c := &Credential{ID: "cred-b", Name: "HubSpot", Type: "http.bearer", KeyID: "k1", Sealed: sealed}
	if err := s.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	if c.CreatedAt.IsZero() || c.UpdatedAt.IsZero() {
		t.Error("times not set")
	}
	if err := s.CreateCredential(ctx, &Credential{ID: "cred-b", Name: "again", Type: "http.bearer", KeyID: "k1", Sealed: sealed}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate id: %v", err)
	}
	if err := s.CreateCredential(ctx, &Credential{ID: "cred-a", Name: "Alipay", Type: "webhook.hmac", KeyID: "k1", Sealed: []byte{9}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCredential(ctx, "cred-b")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Sealed, sealed) || got.Name != "HubSpot" || got.Type != "http.bearer" || got.KeyID != "k1" {
		t.Errorf("round trip: %+v", got)
	}
	list, err := s.ListCredentials(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "Alipay" {
		t.Fatalf("list: %v %+v", err, list)
	}
	got.Name, got.KeyID, got.Sealed, got.UpdatedAt = "HubSpot live", "k2", []byte{7, 7}, time.Now().Add(time.Minute)
	if err := s.UpdateCredential(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, _ := s.GetCredential(ctx, "cred-b")
	if again.Name != "HubSpot live" || again.KeyID != "k2" || !bytes.Equal(again.Sealed, []byte{7, 7}) || again.Type != "http.bearer" {
		t.Errorf("after update: %+v", again)
	}
	if err := s.UpdateCredential(ctx, &Credential{ID: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update unknown: %v", err)
	}
	if err := s.DeleteCredential(ctx, "cred-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCredential(ctx, "cred-b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
	if err := s.DeleteCredential(ctx, "cred-b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}
