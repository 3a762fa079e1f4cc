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
	testCredentialSwap(t, s)
	testCredentialRefreshClaim(t, s)
	testOAuthStates(t, s)
}

// testCredentialSwap: of two writers that read the same version, one wins and the other is told to read again.
func testCredentialSwap(t *testing.T, s Store) {
	ctx := t.Context()
	c := &Credential{ID: "cred-swap", Name: "CRM", Type: "oauth2.authcode", KeyID: "k1", Sealed: []byte{1}, Status: "authorize"}
	if err := s.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	a, _ := s.GetCredential(ctx, c.ID)
	b, _ := s.GetCredential(ctx, c.ID)
	a.KeyID, a.Sealed, a.Status, a.StatusMessage = "k2", []byte{2}, "reauthorize", "live: invalid_grant"
	if err := s.SwapCredential(ctx, a); err != nil {
		t.Fatal(err)
	}
	if a.Version != b.Version+1 {
		t.Errorf("version after swap %d, read %d", a.Version, b.Version)
	}
	b.Sealed = []byte{3}
	if err := s.SwapCredential(ctx, b); !errors.Is(err, ErrConflict) {
		t.Errorf("swap at a stale version: %v", err)
	}
	got, _ := s.GetCredential(ctx, c.ID)
	if got.KeyID != "k2" || !bytes.Equal(got.Sealed, []byte{2}) || got.Status != "reauthorize" || got.StatusMessage != "live: invalid_grant" || got.Version != a.Version {
		t.Errorf("after swaps: %+v", got)
	}
	// An unconditional update also advances the version, so a swap that read before it fails.
	got.Name = "renamed"
	if err := s.UpdateCredential(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := s.SwapCredential(ctx, a); !errors.Is(err, ErrConflict) {
		t.Errorf("swap after an update: %v", err)
	}
	if err := s.SwapCredential(ctx, &Credential{ID: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("swap unknown: %v", err)
	}
}

// testCredentialRefreshClaim: one claimant at a time until the claim is ended by a swap or expires.
func testCredentialRefreshClaim(t *testing.T, s Store) {
	ctx := t.Context()
	c := &Credential{ID: "cred-claim", Name: "CRM", Type: "oauth2.authcode", KeyID: "k1", Sealed: []byte{1}}
	if err := s.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if ok, err := s.ClaimCredentialRefresh(ctx, c.ID, now, now.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, err := s.ClaimCredentialRefresh(ctx, c.ID, now.Add(time.Second), now.Add(time.Minute)); ok || err != nil {
		t.Errorf("claim while claimed: %v %v", ok, err)
	}
	held, _ := s.GetCredential(ctx, c.ID)
	if held.RefreshUntil.IsZero() || held.Version != 1 {
		t.Errorf("claimed row: until %v version %d", held.RefreshUntil, held.Version)
	}
	// The claim holder ends it with its write.
	held.RefreshUntil = time.Time{}
	if err := s.SwapCredential(ctx, held); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.ClaimCredentialRefresh(ctx, c.ID, now, now.Add(time.Minute)); !ok {
		t.Error("claim after the holder ended it")
	}
	// An expired claim can be taken over.
	if ok, _ := s.ClaimCredentialRefresh(ctx, c.ID, now.Add(2*time.Minute), now.Add(3*time.Minute)); !ok {
		t.Error("take over an expired claim")
	}
	if _, err := s.ClaimCredentialRefresh(ctx, "nope", now, now.Add(time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Errorf("claim unknown: %v", err)
	}
}

// testOAuthStates: a state is taken once, an expired one is refused, and states go with their credential.
func testOAuthStates(t *testing.T, s Store) {
	ctx := t.Context()
	c := &Credential{ID: "cred-state", Name: "CRM", Type: "oauth2.authcode", KeyID: "k1", Sealed: []byte{1}}
	if err := s.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	st := &OAuthState{ID: "state-1", CredentialID: c.ID, Variant: "live", RedirectURL: "https://ferry.example.com/oauth2/callback",
		KeyID: "k1", Sealed: []byte{9, 8}, ExpiresAt: now.Add(10 * time.Minute)}
	if err := s.SaveOAuthState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveOAuthState(ctx, &OAuthState{ID: "state-x", CredentialID: "no-such-credential", Variant: "live",
		Sealed: []byte{1}, ExpiresAt: now.Add(time.Minute)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("state of an unknown credential: %v", err)
	}
	got, err := s.TakeOAuthState(ctx, "state-1", now)
	if err != nil || got.CredentialID != c.ID || got.RedirectURL != st.RedirectURL || !bytes.Equal(got.Sealed, st.Sealed) || got.Variant != "live" {
		t.Fatalf("take: %+v %v", got, err)
	}
	if _, err := s.TakeOAuthState(ctx, "state-1", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("take twice: %v", err)
	}
	expired := &OAuthState{ID: "state-2", CredentialID: c.ID, Variant: "live", Sealed: []byte{1}, ExpiresAt: now.Add(time.Minute)}
	if err := s.SaveOAuthState(ctx, expired); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeOAuthState(ctx, "state-2", now.Add(2*time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Errorf("take expired: %v", err)
	}
	if err := s.SaveOAuthState(ctx, &OAuthState{ID: "state-3", CredentialID: c.ID, Variant: "live", Sealed: []byte{1}, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCredential(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeOAuthState(ctx, "state-3", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("state of a deleted credential: %v", err)
	}
}
