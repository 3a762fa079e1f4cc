package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/store"
)

// Credentials stores connector credentials sealed, and opens them only for the engine. The API can create,
// replace and delete them and list their non-secret facts, but never read a secret back (I5).
type Credentials struct {
	Store store.CredentialStore
	Vault *Vault
}

// Secrets are a credential's fields: the live variant, and an optional test variant that test runs use (D20).
type Secrets struct {
	Live map[string]string `json:"live"`
	Test map[string]string `json:"test,omitempty"`
}

// Info is what the API may show of a credential: never a secret value, only which fields are set.
type Info struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Fields     []string  `json:"fields"`
	TestFields []string  `json:"testFields,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ErrInvalid wraps credential input that is refused.
var ErrInvalid = errors.New("invalid credential")

func check(typ string, s Secrets) error {
	ct, ok := nodes.LookupCredentialType(typ)
	if !ok {
		return fmt.Errorf("%w: unknown credential type %q", ErrInvalid, typ)
	}
	for name, variant := range map[string]map[string]string{"live": s.Live, "test": s.Test} {
		if variant == nil {
			if name == "live" {
				return fmt.Errorf("%w: the live fields are required", ErrInvalid)
			}
			continue
		}
		for k := range variant {
			if ct.Field(k) == nil {
				return fmt.Errorf("%w: %s has no field %q", ErrInvalid, typ, k)
			}
		}
		for _, f := range ct.Fields {
			if f.Required && variant[f.Name] == "" {
				return fmt.Errorf("%w: %s field %q is required", ErrInvalid, name, f.Name)
			}
		}
	}
	return nil
}

// Create seals and stores a new credential.
func (c *Credentials) Create(ctx context.Context, name, typ string, s Secrets) (*Info, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: a name is required", ErrInvalid)
	}
	if err := check(typ, s); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	row := &store.Credential{ID: uuid.NewString(), Name: name, Type: typ, CreatedAt: now, UpdatedAt: now}
	if err := c.seal(row, s); err != nil {
		return nil, err
	}
	if err := c.Store.CreateCredential(ctx, row); err != nil {
		return nil, err
	}
	return info(row, s), nil
}

// Replace overwrites a credential's name and fields.
func (c *Credentials) Replace(ctx context.Context, id, name string, s Secrets) (*Info, error) {
	row, err := c.Store.GetCredential(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := check(row.Type, s); err != nil {
		return nil, err
	}
	if name != "" {
		row.Name = name
	}
	row.UpdatedAt = time.Now().UTC()
	if err := c.seal(row, s); err != nil {
		return nil, err
	}
	if err := c.Store.UpdateCredential(ctx, row); err != nil {
		return nil, err
	}
	return info(row, s), nil
}

func (c *Credentials) seal(row *store.Credential, s Secrets) error {
	plain, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("vault: encode credential: %w", err)
	}
	row.KeyID, row.Sealed, err = c.Vault.Seal(plain, row.ID)
	return err
}

func (c *Credentials) open(row *store.Credential) (Secrets, error) {
	var s Secrets
	plain, err := c.Vault.Open(row.KeyID, row.Sealed, row.ID)
	if err != nil {
		return s, fmt.Errorf("credential %s (%s): %w", row.ID, row.Name, err)
	}
	if err := json.Unmarshal(plain, &s); err != nil {
		return s, fmt.Errorf("credential %s: decode: %w", row.ID, err)
	}
	return s, nil
}

// List returns what may be shown of every credential.
func (c *Credentials) List(ctx context.Context) ([]Info, error) {
	rows, err := c.Store.ListCredentials(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(rows))
	for i := range rows {
		s, err := c.open(&rows[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *info(&rows[i], s))
	}
	return out, nil
}

// Get returns what may be shown of one credential.
func (c *Credentials) Get(ctx context.Context, id string) (*Info, error) {
	row, err := c.Store.GetCredential(ctx, id)
	if err != nil {
		return nil, err
	}
	s, err := c.open(row)
	if err != nil {
		return nil, err
	}
	return info(row, s), nil
}

// Delete removes a credential.
func (c *Credentials) Delete(ctx context.Context, id string) error {
	return c.Store.DeleteCredential(ctx, id)
}

// WithheldInTests stands in for a live secret in test runs of a credential that has no test variant: dry runs
// still show which fields would be sent, and no live secret is decrypted for a test.
const WithheldInTests = "[live credential withheld in test runs]"

// Resolve opens a credential for a step. Live runs get the live fields. Test runs get the test variant, or,
// when the credential has none, the live field names with WithheldInTests as every value (D20).
func (c *Credentials) Resolve(ctx context.Context, id string, mode nodes.Mode) (map[string]string, error) {
	s, err := c.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if mode != nodes.ModeTest {
		return s.Live, nil
	}
	if s.Test != nil {
		return s.Test, nil
	}
	withheld := make(map[string]string, len(s.Live))
	for k := range s.Live {
		withheld[k] = WithheldInTests
	}
	return withheld, nil
}

// ResolveForVerification opens the secret a trigger checks an incoming request against. Verifying sends
// nothing anywhere, so a test delivery may be checked against the live secret when there is no test variant.
func (c *Credentials) ResolveForVerification(ctx context.Context, id string, mode nodes.Mode) (map[string]string, error) {
	s, err := c.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if mode == nodes.ModeTest && s.Test != nil {
		return s.Test, nil
	}
	return s.Live, nil
}

func (c *Credentials) load(ctx context.Context, id string) (Secrets, error) {
	row, err := c.Store.GetCredential(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Secrets{}, nodes.NewPermanent("credential_not_found", fmt.Errorf("credential %s does not exist", id))
	}
	if err != nil {
		return Secrets{}, err
	}
	s, err := c.open(row)
	if err != nil {
		return Secrets{}, nodes.NewPermanent("credential_unreadable", err)
	}
	return s, nil
}

func info(row *store.Credential, s Secrets) *Info {
	keys := func(m map[string]string) []string {
		out := make([]string, 0, len(m))
		for k, v := range m {
			if v != "" {
				out = append(out, k)
			}
		}
		sort.Strings(out)
		return out
	}
	return &Info{ID: row.ID, Name: row.Name, Type: row.Type, Fields: keys(s.Live), TestFields: keys(s.Test),
		CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
}
