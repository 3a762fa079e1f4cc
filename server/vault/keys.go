package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-hq/ferry/server/store"
)

// Unreadable is a credential that none of the configured keys opens, and why.
type Unreadable struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	KeyID string `json:"keyId"`
	// UnknownKey is true when the key that sealed it is not configured (add it to FERRY_SECRET_KEY_PREVIOUS);
	// false when that key is configured but the data does not authenticate under it (altered, or a different key
	// that shares the id), which no key will fix.
	UnknownKey bool   `json:"unknownKey"`
	Reason     string `json:"reason"`
}

// unreadable reports whether err means the keys do not open a credential (as opposed to a store failure).
func unreadable(err error) bool {
	return errors.Is(err, ErrWrongKey) || errors.Is(err, ErrUnauthentic) || errors.Is(err, errUndecodable)
}

// errUndecodable means a credential decrypted but its content is not what the vault writes.
var errUndecodable = errors.New("the decrypted content cannot be decoded")

func newUnreadable(row *store.Credential, err error) Unreadable {
	return Unreadable{ID: row.ID, Name: row.Name, KeyID: row.KeyID, UnknownKey: errors.Is(err, ErrWrongKey),
		Reason: describeUnreadable(row, err)}
}

func describeUnreadable(row *store.Credential, err error) string {
	switch {
	case errors.Is(err, ErrWrongKey):
		return "sealed under key " + row.KeyID + ", which is not configured: set it in FERRY_SECRET_KEY or FERRY_SECRET_KEY_PREVIOUS"
	case errors.Is(err, ErrUnauthentic):
		return "does not authenticate under key " + row.KeyID + ": the stored data was altered, or a different key has the same id"
	}
	return "cannot be decoded after decryption"
}

// UnreadableError is what Check returns when some credentials cannot be opened.
type UnreadableError struct {
	Credentials []Unreadable
	// KeyIDs are the keys this process holds, the current one first.
	KeyIDs []string
}

func (e *UnreadableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vault: %d credential(s) cannot be decrypted with the configured keys (%s); nothing was changed:",
		len(e.Credentials), strings.Join(e.KeyIDs, ", "))
	for _, u := range e.Credentials {
		fmt.Fprintf(&b, "\n  %s (%s): %s", u.ID, u.Name, u.Reason)
	}
	b.WriteString("\nList them with `ferry keys check`; replace or delete those that no key will open.")
	return b.String()
}

// Unreadable lists the credentials that none of the configured keys opens.
func (c *Credentials) Unreadable(ctx context.Context) ([]Unreadable, error) {
	rows, err := c.Store.ListCredentials(ctx)
	if err != nil {
		return nil, err
	}
	var out []Unreadable
	for i := range rows {
		if _, err := c.open(&rows[i]); err != nil {
			out = append(out, newUnreadable(&rows[i], err))
		}
	}
	return out, nil
}

// Check opens every credential and fails with an *UnreadableError naming each one the configured keys cannot
// open, and why, so a server started with a wrong or missing key says so at once instead of failing runs one by
// one. It reads only.
func (c *Credentials) Check(ctx context.Context) error {
	bad, err := c.Unreadable(ctx)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return &UnreadableError{Credentials: bad, KeyIDs: c.Vault.KeyIDs()}
	}
	return nil
}

// RotateReport is what Rotate did.
type RotateReport struct {
	// KeyID is the current key, which every credential is now sealed under except the unreadable ones.
	KeyID string
	// Resealed counts credentials re-encrypted under the current key; Current those that already were.
	Resealed int
	Current  int
	// Unreadable lists credentials no configured key opens; they were left as they are.
	Unreadable []Unreadable
}

// Rotate re-encrypts every credential that is sealed under a previous key with the current key. Each credential
// is one conditional write of its own: a running server keeps resolving credentials throughout (every process
// holds both keys during a rotation), and a credential changed meanwhile (a token renewal, a replacement) is
// read again and re-sealed with the change, never overwritten. Credentials no key opens are reported and left
// untouched.
func (c *Credentials) Rotate(ctx context.Context) (*RotateReport, error) {
	rows, err := c.Store.ListCredentials(ctx)
	if err != nil {
		return nil, err
	}
	rep := &RotateReport{KeyID: c.Vault.KeyID()}
	for _, r := range rows {
		current := false
		_, err := c.update(ctx, r.ID, false, func(row *store.Credential, _ *Secrets) error {
			if row.KeyID == c.Vault.KeyID() {
				current = true
				return errUnchanged
			}
			return nil
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			// deleted meanwhile
		case err != nil && unreadable(err):
			rep.Unreadable = append(rep.Unreadable, newUnreadable(&r, err))
		case err != nil:
			return rep, fmt.Errorf("rotate credential %s (%s): %w", r.ID, r.Name, err)
		case current:
			rep.Current++
		default:
			rep.Resealed++
		}
	}
	return rep, nil
}
