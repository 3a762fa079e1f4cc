package store

import (
	"context"
	"time"
)

// Credential is a connector credential as stored: its secret fields sealed by the vault, never in clear text.
type Credential struct {
	ID   string
	Name string
	// Type is a registered credential type id ("http.bearer", "webhook.hmac").
	Type string
	// KeyID names the secret key that sealed Sealed.
	KeyID string
	// Sealed is the vault ciphertext of the credential's fields ({"live": {...}, "test": {...}}) and of any OAuth2
	// tokens obtained for them.
	Sealed []byte
	// Status is what an admin must know without opening the credential: "" or "ok", or why it cannot be used as it
	// is ("authorize", "reauthorize", "failing"). The vault derives it from the sealed data on every write, so it can
	// be queried (by alerts, by `ferry keys check`) without the key.
	Status string
	// StatusMessage says why, without secrets.
	StatusMessage string
	// Version advances on every write; writers that read, change and write back use it to detect that someone else
	// wrote in between (SwapCredential).
	Version int64
	// RefreshUntil is set while a process refreshes the credential's OAuth2 token, so that the others wait for its
	// result instead of spending the refresh token a second time; zero when nobody does.
	RefreshUntil time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// OAuthState is an OAuth2 authorisation in progress: created when an admin is sent to the provider, taken once
// when the provider sends them back. Only a hash of the state value the provider carries is stored.
type OAuthState struct {
	// ID is the hex SHA-256 of the state parameter.
	ID           string
	CredentialID string
	// Variant is the credential variant being authorised: "live" or "test".
	Variant string
	// RedirectURL is the redirect_uri sent to the provider; the code exchange must repeat it.
	RedirectURL string
	// KeyID and Sealed hold the PKCE code verifier, sealed by the vault (empty plaintext when PKCE is off).
	KeyID     string
	Sealed    []byte
	ExpiresAt time.Time
}

// CredentialStore keeps sealed credentials.
type CredentialStore interface {
	CreateCredential(ctx context.Context, c *Credential) error
	GetCredential(ctx context.Context, id string) (*Credential, error)
	ListCredentials(ctx context.Context) ([]Credential, error)
	// UpdateCredential replaces name, key id, sealed data and status unconditionally and advances the version.
	UpdateCredential(ctx context.Context, c *Credential) error
	// SwapCredential writes name, key id, sealed data, status and RefreshUntil in one statement if the stored
	// version is still c.Version, and sets c.Version to the new version. It fails with ErrConflict when someone
	// wrote first (read again and redo the change) and ErrNotFound when the credential is gone. Rotation, OAuth2
	// refreshes and replacements all write this way, so none of them undoes another.
	SwapCredential(ctx context.Context, c *Credential) error
	// ClaimCredentialRefresh sets RefreshUntil to until (and advances the version) unless another claim is live at
	// now, and reports whether this caller got it. Of several processes about to refresh the same OAuth2 token,
	// one gets the claim; the others re-read until its result is stored. A claim ends with a SwapCredential that
	// clears RefreshUntil, or by expiring.
	ClaimCredentialRefresh(ctx context.Context, id string, now, until time.Time) (bool, error)
	DeleteCredential(ctx context.Context, id string) error

	// SaveOAuthState stores an authorisation in progress, deleting states that expired.
	SaveOAuthState(ctx context.Context, s *OAuthState) error
	// TakeOAuthState deletes and returns the state with id, so that it is used once. A state that expired before now
	// is deleted and reported as ErrNotFound.
	TakeOAuthState(ctx context.Context, id string, now time.Time) (*OAuthState, error)
}
