package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/ferry-hq/ferry/internal/names"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/server/store"
)

// Credentials stores connector credentials sealed, and opens them only for the engine. The API can create,
// replace and delete them and list their non-secret facts, but never read a secret back (I5).
type Credentials struct {
	Store store.CredentialStore
	Vault *Vault
	// HTTP sends OAuth2 token requests and connection tests: the process's guarded client (nodes/egress), which
	// refuses internal addresses; a connection test binds it to the credential's destinations. Nil means the
	// default guard's client.
	HTTP *http.Client
	// Logger receives warnings about credentials that need an admin (a refused token renewal); nil means
	// slog.Default().
	Logger *slog.Logger

	// renewals lets one goroutine per credential variant renew an OAuth2 token while the others wait for it.
	renewals singleflight.Group
}

// Variants of a credential's fields (D20).
const (
	VariantLive = "live"
	VariantTest = "test"
)

// Secrets are a credential's fields: the live variant, and an optional test variant that test runs use (D20).
type Secrets struct {
	Live map[string]string `json:"live"`
	Test map[string]string `json:"test,omitempty"`
	// Tokens holds what an OAuth2 credential obtained from its provider, by variant. The API never sets or
	// returns them; nodes get the access token only.
	Tokens map[string]*Token `json:"tokens,omitempty"`
	// Destinations are where an admin allowed the credential to be sent (base URLs, hosts, host patterns; see
	// egress.Destination), besides its type's defaults. They are sealed with the secrets, so nobody who can
	// only write the database can widen them.
	Destinations []string `json:"destinations,omitempty"`
}

// fields returns the fields of a variant, nil when the credential has none.
func (s Secrets) fields(variant string) map[string]string {
	if variant == VariantTest {
		return s.Test
	}
	return s.Live
}

// Credential statuses, shown in Info and stored beside the sealed data.
const (
	// StatusOK: the credential can be used.
	StatusOK = "ok"
	// StatusAuthorize: an OAuth2 authorisation-code credential nobody has authorised yet.
	StatusAuthorize = "authorize"
	// StatusReauthorize: the provider refused to renew the token (revoked, expired, or the client changed); an
	// admin must authorise again. Runs using it fail at once, without asking the provider again.
	StatusReauthorize = "reauthorize"
	// StatusFailing: the provider refused to issue a client-credentials token; check the client id and secret.
	StatusFailing = "failing"
	// StatusUnreadable: none of the configured keys opens the credential (see Check).
	StatusUnreadable = "unreadable"
)

// Info is what the API may show of a credential: never a secret value, only which fields are set.
type Info struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Fields     []string  `json:"fields"`
	TestFields []string  `json:"testFields,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	// Status is one of the Status constants; StatusMessage says why when it is not StatusOK.
	Status        string `json:"status"`
	StatusMessage string `json:"statusMessage,omitempty"`
	// OAuth2 tells, for each variant of an OAuth2 credential, whether it holds a token and until when.
	OAuth2 map[string]TokenInfo `json:"oauth2,omitempty"`
	// AllowedDestinations are the destinations an admin listed; DefaultDestinations are those the type gives
	// for the live fields (a provider's API). Requests carrying the credential go to these and nowhere else.
	AllowedDestinations []string `json:"allowedDestinations"`
	DefaultDestinations []string `json:"defaultDestinations"`
}

// TokenInfo is what may be shown of an OAuth2 token: never the token.
type TokenInfo struct {
	// Authorized is true when the variant holds a usable access token.
	Authorized bool `json:"authorized"`
	// ExpiresAt is when the access token expires, if the provider said; the vault renews it before then.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// Renewable is true when a refresh token is held (authorisation code) or the client can ask for new tokens.
	Renewable bool `json:"renewable"`
	// Error is why the provider last refused a token.
	Error string `json:"error,omitempty"`
}

// ErrInvalid wraps credential input that is refused.
var ErrInvalid = errors.New("invalid credential")

// ErrNoVariant means an operation named the test variant of a credential that has none.
var ErrNoVariant = errors.New("the credential has no such variant")

// ErrNotSupported means the credential's type does not offer the operation (a connection test, an OAuth2
// authorisation).
var ErrNotSupported = errors.New("not supported by this credential type")

// ErrDestinations wraps a destination list that is refused: an entry that is not a URL or a host, or no entry
// at all for a type without defaults.
var ErrDestinations = errors.New("invalid destinations")

func check(typ string, s Secrets) error {
	ct, ok := nodes.LookupCredentialType(typ)
	if !ok {
		return fmt.Errorf("%w: unknown credential type %q", ErrInvalid, typ)
	}
	if _, err := egress.ParseDestinations(s.Destinations); err != nil {
		return fmt.Errorf("%w: %v", ErrDestinations, err)
	}
	if len(s.Destinations) == 0 && ct.Destinations == nil && !ct.Inbound {
		return fmt.Errorf("%w: a %s credential must list the destinations it may be sent to (base URLs or hosts, "+
			"such as https://api.example.com)", ErrDestinations, typ)
	}
	for name, variant := range map[string]map[string]string{VariantLive: s.Live, VariantTest: s.Test} {
		if variant == nil {
			if name == VariantLive {
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
	if err := names.Check(name); err != nil {
		return nil, fmt.Errorf("check credential name: %w", err)
	}
	s.Tokens = nil // tokens come from the provider only
	s.Destinations = cleanList(s.Destinations)
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

// Replace overwrites a credential's name and fields. An OAuth2 variant whose client and endpoints are unchanged
// keeps its tokens (and is tried again if its last renewal was refused); otherwise it must be authorised again.
// A credential no configured key opens can be replaced too: that is how an admin recovers it. Destinations nil
// keeps the credential's destinations; an empty list clears them.
func (c *Credentials) Replace(ctx context.Context, id, name string, s Secrets) (*Info, error) {
	if err := names.Check(name); err != nil {
		return nil, fmt.Errorf("check credential name: %w", err)
	}
	var out Secrets
	row, err := c.update(ctx, id, true, func(row *store.Credential, old *Secrets) error {
		dests := old.Destinations
		if s.Destinations != nil {
			dests = cleanList(s.Destinations)
		}
		s.Destinations = dests
		if err := check(row.Type, s); err != nil {
			return err
		}
		next := Secrets{Live: s.Live, Test: s.Test, Tokens: keptTokens(row.Type, *old, s), Destinations: dests}
		*old, out = next, next
		if name != "" {
			row.Name = name
		}
		row.UpdatedAt = time.Now().UTC()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info(row, out), nil
}

// seal encrypts s into row under the current key and derives the row's status from it.
func (c *Credentials) seal(row *store.Credential, s Secrets) error {
	plain, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("vault: encode credential: %w", err)
	}
	row.KeyID, row.Sealed, err = c.Vault.Seal(plain, row.ID)
	row.Status, row.StatusMessage = statusOf(row.Type, s)
	return err
}

func (c *Credentials) open(row *store.Credential) (Secrets, error) {
	var s Secrets
	plain, err := c.Vault.Open(row.KeyID, row.Sealed, row.ID)
	if err != nil {
		return s, fmt.Errorf("credential %s (%s): %w", row.ID, row.Name, err)
	}
	if err := json.Unmarshal(plain, &s); err != nil {
		return s, fmt.Errorf("credential %s (%s): %w: %v", row.ID, row.Name, errUndecodable, err)
	}
	return s, nil
}

// errUnchanged tells update that change decided nothing needs writing.
var errUnchanged = errors.New("unchanged")

// maxSwaps bounds how often update redoes a change that lost a race with another writer.
const maxSwaps = 20

// update reads a credential, lets change modify it, and writes it back only if nobody wrote in between
// (SwapCredential); otherwise it reads again and redoes the change. Key rotation, token renewals and
// replacements all write this way, so none of them undoes another. With lenient, a credential no key opens is
// handed to change with empty secrets instead of failing. It returns the row as written (or as read, when change
// returned errUnchanged).
func (c *Credentials) update(ctx context.Context, id string, lenient bool, change func(row *store.Credential, s *Secrets) error) (*store.Credential, error) {
	for attempt := 1; ; attempt++ {
		row, err := c.Store.GetCredential(ctx, id)
		if err != nil {
			return nil, err
		}
		s, err := c.open(row)
		if err != nil && !(lenient && unreadable(err)) {
			return nil, err
		}
		if err := change(row, &s); err != nil {
			if errors.Is(err, errUnchanged) {
				return row, nil
			}
			return nil, err
		}
		if err := c.seal(row, s); err != nil {
			return nil, err
		}
		err = c.Store.SwapCredential(ctx, row)
		if err == nil || !errors.Is(err, store.ErrConflict) || attempt == maxSwaps {
			return row, err
		}
		if attempt > 2 {
			// Someone keeps writing this credential; step aside briefly.
			if err := sleep(ctx, time.Duration(rand.IntN(attempt*5)+1)*time.Millisecond); err != nil {
				return nil, err
			}
		}
	}
}

// List returns what may be shown of every credential. One that no configured key opens is listed with
// StatusUnreadable, so an admin can see it and replace or delete it.
func (c *Credentials) List(ctx context.Context) ([]Info, error) {
	rows, err := c.Store.ListCredentials(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(rows))
	for i := range rows {
		out = append(out, *c.infoOf(&rows[i]))
	}
	return out, nil
}

// Get returns what may be shown of one credential.
func (c *Credentials) Get(ctx context.Context, id string) (*Info, error) {
	row, err := c.Store.GetCredential(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.infoOf(row), nil
}

func (c *Credentials) infoOf(row *store.Credential) *Info {
	s, err := c.open(row)
	if err != nil {
		in := info(row, Secrets{})
		in.Status, in.StatusMessage, in.OAuth2 = StatusUnreadable, describeUnreadable(row, err), nil
		return in
	}
	return info(row, s)
}

// Delete removes a credential.
func (c *Credentials) Delete(ctx context.Context, id string) error {
	return c.Store.DeleteCredential(ctx, id)
}

// WithheldInTests stands in for a live secret in test runs of a credential that has no test variant: dry runs
// still show which fields would be sent, and no live secret is decrypted for a test.
const WithheldInTests = "[live credential withheld in test runs]"

// Resolve opens a credential for a step that sends requests. Live runs get the live fields. Test runs get the
// test variant, or, when the credential has none, the live field names with WithheldInTests as every value
// (D20). Inbound fields (webhook signing secrets) are left out, and an Inbound type is refused: what only
// checks incoming requests never goes into an outgoing one. The destinations are what the admin listed plus the
// type's defaults for the variant's fields (the live fields when the test values are withheld).
//
// An OAuth2 credential resolves to a current access token (nodes.CredentialAccessToken and
// nodes.CredentialTokenType), renewed first when it expires within RenewBefore; its client secret and refresh
// token never leave the vault.
func (c *Credentials) Resolve(ctx context.Context, id string, mode nodes.Mode) (*nodes.ResolvedCredential, error) {
	row, s, err := c.load(ctx, id)
	if err != nil {
		return nil, err
	}
	ct, ok := nodes.LookupCredentialType(row.Type)
	if !ok {
		return nil, nodes.NewPermanent("credential_type_unknown", fmt.Errorf("credential %s (%s) has the unknown type %s", row.ID, row.Name, row.Type))
	}
	if ct.Inbound {
		return nil, nodes.NewPermanent(CodeInboundOnly, fmt.Errorf("credential %s is a %s: it verifies incoming "+
			"requests and is never sent in an outgoing one", row.Name, ct.Name))
	}
	out := &nodes.ResolvedCredential{Name: row.Name, Type: row.Type}
	variant := VariantLive
	if mode == nodes.ModeTest && s.Test != nil {
		variant = VariantTest
	}
	if out.Destinations, err = destinationsOf(ct, s, s.fields(variant)); err != nil {
		return nil, nodes.NewPermanent(CodeDestinationsInvalid, fmt.Errorf("credential %s: %w", row.Name, err))
	}
	switch {
	case mode == nodes.ModeTest && s.Test == nil && ct.OAuth2 != nil:
		out.Fields = map[string]string{nodes.CredentialAccessToken: WithheldInTests, nodes.CredentialTokenType: "Bearer"}
		if live := s.Tokens[VariantLive]; live != nil {
			// Not secret (an instance URL): a dry run shows where the request would go.
			for k, v := range live.Extra {
				out.Fields[k] = v
			}
		}
	case mode == nodes.ModeTest && s.Test == nil:
		out.Fields = make(map[string]string, len(s.Live))
		for k := range s.Live {
			if f := ct.Field(k); f == nil || !f.Inbound {
				out.Fields[k] = WithheldInTests
			}
		}
	case ct.OAuth2 != nil:
		tok, err := c.token(ctx, row, s, ct, variant)
		if err != nil {
			return nil, err
		}
		out.Fields = tokenFields(tok)
	default:
		out.Fields = outgoingFields(ct, s.fields(variant))
	}
	return out, nil
}

// Codes of credentials that cannot be used for a step.
const (
	// CodeInboundOnly: the credential only verifies incoming requests (a webhook secret).
	CodeInboundOnly = "credential_inbound_only"
	// CodeDestinationsInvalid: the stored destinations no longer parse (written by another version).
	CodeDestinationsInvalid = "credential_destinations_invalid"
)

// outgoingFields is fields without the Inbound ones.
func outgoingFields(ct *nodes.CredentialType, fields map[string]string) map[string]string {
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		if f := ct.Field(k); f != nil && f.Inbound {
			continue
		}
		out[k] = v
	}
	return out
}

// destinationsOf is where a credential may be sent: what the admin listed, and the type's defaults for fields.
func destinationsOf(ct *nodes.CredentialType, s Secrets, fields map[string]string) (egress.Destinations, error) {
	list := append([]string(nil), s.Destinations...)
	if ct.Destinations != nil {
		list = append(list, ct.Destinations(fields)...)
	}
	return egress.ParseDestinations(list)
}

// Binding returns a function that binds a client to the destinations of credential id for mode, resolving them
// on first use, for requests a trigger sends while verifying a webhook (PayPal's verification call).
func (c *Credentials) Binding(id string, mode nodes.Mode) egress.DestinationsFunc {
	var once sync.Once
	var name string
	var ds egress.Destinations
	var err error
	return func(ctx context.Context) (string, egress.Destinations, error) {
		once.Do(func() {
			var row *store.Credential
			var s Secrets
			if row, s, err = c.load(ctx, id); err != nil {
				return
			}
			ct, ok := nodes.LookupCredentialType(row.Type)
			if !ok {
				err = fmt.Errorf("credential %s has the unknown type %s", row.Name, row.Type)
				return
			}
			variant := VariantLive
			if mode == nodes.ModeTest && s.Test != nil {
				variant = VariantTest
			}
			name = row.Name
			ds, err = destinationsOf(ct, s, s.fields(variant))
		})
		return name, ds, err
	}
}

func cleanList(list []string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// ResolveForVerification opens the secret a trigger checks an incoming request against. Verifying sends
// nothing anywhere, so a test delivery may be checked against the live secret when there is no test variant.
func (c *Credentials) ResolveForVerification(ctx context.Context, id string, mode nodes.Mode) (map[string]string, error) {
	_, s, err := c.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if mode == nodes.ModeTest && s.Test != nil {
		return s.Test, nil
	}
	return s.Live, nil
}

func (c *Credentials) load(ctx context.Context, id string) (*store.Credential, Secrets, error) {
	row, err := c.Store.GetCredential(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Secrets{}, nodes.NewPermanent("credential_not_found", fmt.Errorf("credential %s does not exist", id))
	}
	if err != nil {
		return nil, Secrets{}, err
	}
	s, err := c.open(row)
	if err != nil {
		return nil, Secrets{}, nodes.NewPermanent("credential_unreadable", err)
	}
	return row, s, nil
}

func (c *Credentials) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Credentials) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return egress.Default().Client()
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
	in := &Info{ID: row.ID, Name: row.Name, Type: row.Type, Fields: keys(s.Live), TestFields: keys(s.Test),
		CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, AllowedDestinations: cleanList(s.Destinations), DefaultDestinations: []string{}}
	if ct, ok := nodes.LookupCredentialType(row.Type); ok && ct.Destinations != nil && s.Live != nil {
		in.DefaultDestinations = cleanList(ct.Destinations(s.Live))
	}
	in.Status, in.StatusMessage = statusOf(row.Type, s)
	if ct := oauth2Type(row.Type); ct != nil {
		in.OAuth2 = map[string]TokenInfo{}
		for _, v := range []string{VariantLive, VariantTest} {
			if s.fields(v) == nil {
				continue
			}
			ti := TokenInfo{Renewable: ct.OAuth2.Grant == nodes.GrantClientCredentials}
			if tok := s.Tokens[v]; tok != nil {
				ti.Authorized = tok.AccessToken != "" && tok.Failed == ""
				ti.Renewable = ti.Renewable || tok.RefreshToken != ""
				ti.Error = tok.Failed
				if !tok.Expiry.IsZero() && tok.AccessToken != "" {
					exp := tok.Expiry
					ti.ExpiresAt = &exp
				}
			}
			in.OAuth2[v] = ti
		}
	}
	return in
}

// statusOf derives a credential's status from its sealed content: the worst of its variants.
func statusOf(typ string, s Secrets) (status, message string) {
	ct := oauth2Type(typ)
	if ct == nil {
		return StatusOK, ""
	}
	rank := map[string]int{StatusOK: 0, StatusAuthorize: 1, StatusFailing: 2, StatusReauthorize: 3}
	status = StatusOK
	var why []string
	for _, v := range []string{VariantLive, VariantTest} {
		if s.fields(v) == nil {
			continue
		}
		tok, st, msg := s.Tokens[v], StatusOK, ""
		switch {
		case tok != nil && tok.Failed != "" && ct.OAuth2.Grant == nodes.GrantAuthorizationCode:
			st, msg = StatusReauthorize, tok.Failed
		case tok != nil && tok.Failed != "":
			st, msg = StatusFailing, tok.Failed
		case ct.OAuth2.Grant == nodes.GrantAuthorizationCode && (tok == nil || tok.AccessToken == ""):
			st, msg = StatusAuthorize, "not authorised yet"
		}
		if st == StatusOK {
			continue
		}
		why = append(why, v+": "+msg)
		if rank[st] > rank[status] {
			status = st
		}
	}
	return status, strings.Join(why, "; ")
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
