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
	// Sealed is the vault ciphertext of the credential's fields ({"live": {...}, "test": {...}}).
	Sealed    []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CredentialStore keeps sealed credentials.
type CredentialStore interface {
	CreateCredential(ctx context.Context, c *Credential) error
	GetCredential(ctx context.Context, id string) (*Credential, error)
	ListCredentials(ctx context.Context) ([]Credential, error)
	// UpdateCredential replaces name, key id and sealed data.
	UpdateCredential(ctx context.Context, c *Credential) error
	DeleteCredential(ctx context.Context, id string) error
}
