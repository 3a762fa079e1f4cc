package vault

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/store"
)

// Token is what an OAuth2 credential obtained from its provider, sealed with the credential's fields.
type Token struct {
	AccessToken  string    `json:"accessToken,omitempty"`
	RefreshToken string    `json:"refreshToken,omitempty"`
	TokenType    string    `json:"tokenType,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// Obtained is when the provider issued the access token.
	Obtained time.Time `json:"obtained,omitzero"`
	// Extra holds the fields of the token answer the credential type asks for (nodes.OAuth2.TokenFields).
	Extra map[string]string `json:"extra,omitempty"`
	// Failed is why the provider refused the last renewal. An authorisation-code token that failed is not tried
	// again until an admin authorises again (or replaces the credential); a client-credentials one is.
	Failed string `json:"failed,omitempty"`
}

// OAuth2 timings.
const (
	// RenewBefore is how long before its expiry an access token is renewed, so that a step never sends one that
	// expires on the way.
	RenewBefore = 60 * time.Second
	// AuthorizationTTL is how long an admin has to consent at the provider after asking for the link.
	AuthorizationTTL = 10 * time.Minute
	// renewLease is how long one process may hold a credential's renewal before another may take it over. It is
	// longer than tokenRequestTimeout, so a live holder is never overtaken.
	renewLease = 60 * time.Second
	// tokenRequestTimeout bounds one request to a token endpoint.
	tokenRequestTimeout = 20 * time.Second
	// renewWait bounds how long a resolve waits for a renewal, its own or another process's.
	renewWait = renewLease + 5*time.Second
	// renewPoll is how often a process waiting for another one's renewal looks for its result.
	renewPoll = 100 * time.Millisecond
)

// Failure codes of OAuth2 credentials, as steps report them.
const (
	// CodeNeedsAuthorization (permanent): the credential has never been authorised, or the provider refused to
	// renew its token; an admin must authorise it again.
	CodeNeedsAuthorization = "credential_needs_authorization"
	// CodeTokenUnavailable (retryable): no token could be had just now (the provider did not answer, or answered
	// with a server error); the step is retried.
	CodeTokenUnavailable = "credential_token_unavailable"
	// CodeTokenRefused (permanent): the provider refused to issue a client-credentials token.
	CodeTokenRefused = "credential_token_refused"
)

// ErrAuthorization wraps failures of the authorisation-code flow's return leg: an unknown, used or expired
// state, a consent the admin or provider refused, or a code the provider would not exchange.
var ErrAuthorization = errors.New("oauth2 authorisation failed")

// oauth2Type returns the registered type of typ when it is an OAuth2 type, else nil.
func oauth2Type(typ string) *nodes.CredentialType {
	ct, ok := nodes.LookupCredentialType(typ)
	if !ok || ct.OAuth2 == nil {
		return nil
	}
	return ct
}

// usable reports whether a token can be handed to a step now without renewing it.
func usable(tok *Token, now time.Time) bool {
	return tok != nil && tok.AccessToken != "" && tok.Failed == "" &&
		(tok.Expiry.IsZero() || tok.Expiry.Sub(now) > RenewBefore)
}

// stillValid reports whether a token that is due for renewal has not actually expired yet, so it can serve a
// step while the provider is unreachable.
func stillValid(tok *Token, now time.Time) bool {
	return tok != nil && tok.AccessToken != "" && tok.Failed == "" &&
		(tok.Expiry.IsZero() || tok.Expiry.Sub(now) > 5*time.Second)
}

// sameGrant reports whether two tokens are the same grant, so a renewal's result may replace a stored token:
// not when an admin authorised again or replaced the credential in between.
func sameGrant(a, b *Token) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken
}

func tokenFields(tok *Token) map[string]string {
	typ := tok.TokenType
	if typ == "" {
		typ = "Bearer"
	}
	out := map[string]string{nodes.CredentialAccessToken: tok.AccessToken, nodes.CredentialTokenType: typ}
	if !tok.Expiry.IsZero() {
		out[nodes.CredentialTokenExpiry] = tok.Expiry.UTC().Format(time.RFC3339)
	}
	for k, v := range tok.Extra {
		out[k] = v
	}
	return out
}

// keptTokens decides which tokens survive a replacement: those of variants whose client and endpoints did not
// change. A kept token loses its failure mark, so the changed credential is tried again.
func keptTokens(typ string, old, next Secrets) map[string]*Token {
	ct := oauth2Type(typ)
	if ct == nil || len(old.Tokens) == 0 {
		return nil
	}
	out := map[string]*Token{}
	for v, tok := range old.Tokens {
		before, after := old.fields(v), next.fields(v)
		if tok == nil || before == nil || after == nil {
			continue
		}
		same := true
		for _, f := range []string{nodes.OAuth2ClientID, nodes.OAuth2AuthURL, nodes.OAuth2TokenURL, nodes.OAuth2Scopes} {
			same = same && before[f] == after[f]
		}
		a1, t1, err1 := endpoints(ct, before)
		a2, t2, err2 := endpoints(ct, after)
		same = same && err1 == nil && err2 == nil && a1 == a2 && t1 == t2
		if same {
			kept := *tok
			kept.Failed = ""
			out[v] = &kept
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// token returns a usable access token for a variant of an OAuth2 credential, renewing it when it is due. In a
// process one goroutine renews a given credential variant at a time and the others wait for its result; across
// processes the store's renewal claim lets one renew while the others wait for what it stores, so a burst of runs
// spends the refresh token once.
func (c *Credentials) token(ctx context.Context, row *store.Credential, s Secrets, ct *nodes.CredentialType, variant string) (*Token, error) {
	tok := s.Tokens[variant]
	if usable(tok, time.Now()) {
		return tok, nil
	}
	if err := needsAuthorization(row, ct, variant, tok); err != nil {
		return nil, err
	}
	ch := c.renewals.DoChan(row.ID+"/"+variant, func() (any, error) {
		// The renewal serves every waiting caller: it must not end because the first caller gave up.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renewWait)
		defer cancel()
		return c.renew(rctx, row.ID, variant)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Token), nil
	}
}

// needsAuthorization fails a resolve at once when an authorisation-code credential has no token to renew.
func needsAuthorization(row *store.Credential, ct *nodes.CredentialType, variant string, tok *Token) error {
	if ct.OAuth2.Grant != nodes.GrantAuthorizationCode {
		return nil
	}
	switch {
	case tok == nil || tok.AccessToken == "" && tok.Failed == "":
		return nodes.NewPermanent(CodeNeedsAuthorization,
			fmt.Errorf("credential %s (%s): the %s variant has not been authorised yet; an admin must authorise it", row.ID, row.Name, variant))
	case tok.Failed != "":
		return nodes.NewPermanent(CodeNeedsAuthorization,
			fmt.Errorf("credential %s (%s): the provider refused to renew the %s token (%s); an admin must authorise it again", row.ID, row.Name, variant, tok.Failed))
	}
	return nil
}

// renew brings a credential variant's token up to date: it re-reads the credential (another process may have
// renewed it), takes the store's renewal claim or waits for whoever holds it, and renews.
func (c *Credentials) renew(ctx context.Context, id, variant string) (*Token, error) {
	deadline := time.Now().Add(renewWait)
	for {
		row, s, err := c.load(ctx, id)
		if err != nil {
			return nil, err
		}
		ct := oauth2Type(row.Type)
		if ct == nil || s.fields(variant) == nil {
			return nil, nodes.NewPermanent(CodeNeedsAuthorization, fmt.Errorf("credential %s (%s) changed: it has no OAuth2 %s variant", id, row.Name, variant))
		}
		tok := s.Tokens[variant]
		now := time.Now()
		if usable(tok, now) {
			return tok, nil
		}
		if err := needsAuthorization(row, ct, variant, tok); err != nil {
			return nil, err
		}
		claimed, err := c.Store.ClaimCredentialRefresh(ctx, id, now, now.Add(renewLease))
		if err != nil {
			return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("credential %s: %w", id, err))
		}
		if claimed {
			return c.renewClaimed(ctx, id, variant)
		}
		if now.After(deadline) {
			if stillValid(tok, now) {
				return tok, nil
			}
			return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("credential %s (%s): another process is still renewing the token", id, row.Name))
		}
		if err := sleep(ctx, renewPoll); err != nil {
			return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("credential %s: waiting for a token renewal: %w", id, err))
		}
	}
}

// renewClaimed renews while holding the store's claim, and always ends the claim: with the new token, with the
// failure mark, or with the credential unchanged.
func (c *Credentials) renewClaimed(ctx context.Context, id, variant string) (*Token, error) {
	row, s, err := c.load(ctx, id)
	if err != nil {
		return nil, err
	}
	ct := oauth2Type(row.Type)
	used := s.Tokens[variant]
	var fresh *Token
	var fetchErr error
	if ct == nil || s.fields(variant) == nil || usable(used, time.Now()) {
		// Changed, or renewed by someone else, since this process decided to renew: only end the claim.
	} else {
		fresh, fetchErr = c.fetch(ctx, ct, s.fields(variant), used)
	}
	permanent, reason := classifyTokenError(fetchErr)
	var stored *Token
	var changedMeanwhile bool
	written, err := c.update(ctx, id, false, func(row *store.Credential, s *Secrets) error {
		row.RefreshUntil = time.Time{}
		stored = s.Tokens[variant]
		changedMeanwhile = !sameGrant(stored, used)
		switch {
		case fresh == nil && fetchErr == nil, changedMeanwhile:
		case fetchErr == nil:
			setToken(s, variant, fresh)
		case permanent:
			marked := &Token{Failed: reason}
			if stored != nil {
				kept := *stored
				kept.Failed = reason
				marked = &kept
			}
			setToken(s, variant, marked)
		}
		return nil
	})
	if err != nil {
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("credential %s: store the renewed token: %w", id, err))
	}
	now := time.Now()
	switch {
	case changedMeanwhile || fresh == nil && fetchErr == nil:
		if usable(stored, now) {
			return stored, nil
		}
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("credential %s (%s) changed while its token was renewed", id, row.Name))
	case fetchErr == nil:
		return fresh, nil
	case permanent:
		code, status := CodeTokenRefused, StatusFailing
		if ct.OAuth2.Grant == nodes.GrantAuthorizationCode {
			code, status = CodeNeedsAuthorization, StatusReauthorize
		}
		// Until alert rules cover credentials, this warning and the status shown by the API are how an admin
		// learns of it.
		c.logger().Warn("the OAuth2 provider refused a token; the credential needs an admin",
			"credential", id, "name", written.Name, "variant", variant, "status", status, "reason", reason)
		return nil, nodes.NewPermanent(code, fmt.Errorf("credential %s (%s): the provider refused a %s token: %s", id, written.Name, variant, reason))
	}
	if stillValid(used, now) {
		// The provider is unreachable, but the token has not expired yet: use it, and renew at the next resolve.
		c.logger().Info("OAuth2 token renewal failed; using the current token until it expires",
			"credential", id, "variant", variant, "reason", reason)
		return used, nil
	}
	return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("credential %s (%s): renew the %s token: %s", id, row.Name, variant, reason))
}

func setToken(s *Secrets, variant string, tok *Token) {
	if s.Tokens == nil {
		s.Tokens = map[string]*Token{}
	}
	s.Tokens[variant] = tok
}

// fetch asks the provider for a new token: by the refresh token for the authorisation-code grant, by the client
// id and secret for client credentials.
func (c *Credentials) fetch(ctx context.Context, ct *nodes.CredentialType, fields map[string]string, old *Token) (*Token, error) {
	ctx, cancel := context.WithTimeout(ctx, tokenRequestTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.httpClient())
	var t *oauth2.Token
	_, tokenURL, err := endpoints(ct, fields)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errEndpoints, err)
	}
	switch ct.OAuth2.Grant {
	case nodes.GrantClientCredentials:
		cc := clientcredentials.Config{ClientID: fields[nodes.OAuth2ClientID], ClientSecret: fields[nodes.OAuth2ClientSecret],
			TokenURL: tokenURL, Scopes: scopes(fields), AuthStyle: authStyle(fields)}
		t, err = cc.Token(ctx)
	default:
		if old == nil || old.RefreshToken == "" {
			return nil, errNoRefreshToken
		}
		var conf *oauth2.Config
		if conf, err = oauthConfig(ct, fields, ""); err != nil {
			return nil, fmt.Errorf("%w: %v", errEndpoints, err)
		}
		t, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: old.RefreshToken}).Token()
	}
	if err != nil {
		return nil, err
	}
	fresh := fromOAuth(ct, t)
	if old != nil {
		// A refresh answer may leave out what the first answer gave (the instance URL): keep it.
		for k, v := range old.Extra {
			if _, ok := fresh.Extra[k]; !ok {
				if fresh.Extra == nil {
					fresh.Extra = map[string]string{}
				}
				fresh.Extra[k] = v
			}
		}
	}
	return fresh, nil
}

// Renew hands a step a new access token for an OAuth2 credential whose provider refused the one it was given
// (refused: revoked, or expired before the expiry it announced): the refused token is marked expired, unless a
// renewal already replaced it, and the credential is resolved again, which renews it as Resolve renews a token
// that is due (one renewal per credential variant across processes). A test run whose live token is withheld,
// or a type that is not OAuth2, is resolved as it is.
func (c *Credentials) Renew(ctx context.Context, id string, mode nodes.Mode, refused string) (*nodes.ResolvedCredential, error) {
	row, s, err := c.load(ctx, id)
	if err != nil {
		return nil, err
	}
	variant := VariantLive
	if mode == nodes.ModeTest && s.Test != nil {
		variant = VariantTest
	}
	tok := s.Tokens[variant]
	if oauth2Type(row.Type) == nil || refused == "" || tok == nil || tok.AccessToken != refused || mode == nodes.ModeTest && s.Test == nil {
		return c.Resolve(ctx, id, mode)
	}
	if _, err := c.update(ctx, id, false, func(_ *store.Credential, s *Secrets) error {
		if cur := s.Tokens[variant]; cur != nil && cur.AccessToken == refused {
			expired := *cur
			expired.Expiry = time.Now().Add(-time.Second).UTC()
			setToken(s, variant, &expired)
		}
		return nil
	}); err != nil {
		return nil, nodes.NewRetryable(CodeTokenUnavailable, fmt.Errorf("credential %s: mark the refused token: %w", id, err))
	}
	c.logger().Info("the provider refused an OAuth2 access token before its expiry; renewing it", "credential", id, "variant", variant)
	return c.Resolve(ctx, id, mode)
}

// errEndpoints: the credential's fields give no OAuth2 endpoints (the type's Endpoints refused them); an admin
// must correct the credential.
var errEndpoints = errors.New("the credential's fields give no OAuth2 endpoints")

// errNoRefreshToken: the provider issued no refresh token, so the access token cannot be renewed.
var errNoRefreshToken = errors.New("the provider issued no refresh token, so the access token cannot be renewed " +
	"(some providers need extra authorisation parameters such as access_type=offline, or the offline_access scope)")

func fromOAuth(ct *nodes.CredentialType, t *oauth2.Token) *Token {
	tok := &Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Obtained: time.Now().UTC()}
	if !t.Expiry.IsZero() {
		tok.Expiry = t.Expiry.UTC()
	}
	for _, name := range ct.OAuth2.TokenFields {
		if v, ok := t.Extra(name).(string); ok && v != "" {
			if tok.Extra == nil {
				tok.Extra = map[string]string{}
			}
			tok.Extra[name] = v
		}
	}
	return tok
}

// endpoints are the authorisation and token endpoints of a credential type for a credential's fields: the
// type's Endpoints, else its fixed URLs, else the fields' own.
func endpoints(ct *nodes.CredentialType, fields map[string]string) (authURL, tokenURL string, err error) {
	if ct.OAuth2.Endpoints != nil {
		return ct.OAuth2.Endpoints(fields)
	}
	return first(ct.OAuth2.AuthURL, fields[nodes.OAuth2AuthURL]), first(ct.OAuth2.TokenURL, fields[nodes.OAuth2TokenURL]), nil
}

// classifyTokenError tells a refusal (the grant or the client is not accepted: an admin must act) from a
// failure worth retrying (no answer, a server error, a rate limit), and says why in words without secrets: the
// provider's error code and description, never the body it sent.
func classifyTokenError(err error) (permanent bool, reason string) {
	if err == nil {
		return false, ""
	}
	if errors.Is(err, errNoRefreshToken) || errors.Is(err, errEndpoints) {
		return true, err.Error()
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		reason = "the token endpoint answered " + strconv.Itoa(status)
		if re.ErrorCode != "" {
			reason += ": " + re.ErrorCode
			if re.ErrorDescription != "" {
				reason += " (" + truncate(re.ErrorDescription, 200) + ")"
			}
		}
		switch re.ErrorCode {
		case "invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope":
			return true, reason
		}
		return status >= 400 && status < 500 && status != 408 && status != 429, reason
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return false, "the token endpoint did not answer: " + ue.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return false, "the token endpoint did not answer in time"
	}
	return false, truncate(err.Error(), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func scopes(fields map[string]string) []string {
	return strings.FieldsFunc(fields[nodes.OAuth2Scopes], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

func authStyle(fields map[string]string) oauth2.AuthStyle {
	switch fields[nodes.OAuth2AuthStyle] {
	case "header":
		return oauth2.AuthStyleInHeader
	case "body":
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleAutoDetect
}

func pkce(fields map[string]string) bool {
	on, err := strconv.ParseBool(fields[nodes.OAuth2PKCE])
	return err != nil || on // on unless explicitly off
}

func oauthConfig(ct *nodes.CredentialType, fields map[string]string, redirectURL string) (*oauth2.Config, error) {
	authURL, tokenURL, err := endpoints(ct, fields)
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{
		ClientID:     fields[nodes.OAuth2ClientID],
		ClientSecret: fields[nodes.OAuth2ClientSecret],
		Endpoint: oauth2.Endpoint{
			AuthURL:   authURL,
			TokenURL:  tokenURL,
			AuthStyle: authStyle(fields),
		},
		RedirectURL: redirectURL,
		Scopes:      scopes(fields),
	}, nil
}

// Authorization is where to send an admin to consent at the provider, and until when the link works.
type Authorization struct {
	URL         string    `json:"url"`
	RedirectURL string    `json:"redirectUrl"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

func stateID(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

func stateContext(id string) string { return "oauth2-state:" + id }

// Authorize starts the authorisation-code flow for a variant of a credential: it stores a one-time state bound to
// the credential (with the PKCE verifier, sealed, when PKCE is on) and returns the provider's consent URL.
// callbackURL is where the provider sends the admin back, unless the credential sets its own redirect URL.
func (c *Credentials) Authorize(ctx context.Context, id, variant, callbackURL string) (*Authorization, error) {
	row, err := c.Store.GetCredential(ctx, id)
	if err != nil {
		return nil, err
	}
	s, err := c.open(row)
	if err != nil {
		return nil, err
	}
	ct := oauth2Type(row.Type)
	if ct == nil || ct.OAuth2.Grant != nodes.GrantAuthorizationCode {
		return nil, fmt.Errorf("%w: %s credentials are not authorised at a provider", ErrNotSupported, row.Type)
	}
	fields := s.fields(variant)
	if fields == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoVariant, variant)
	}
	redirect := first(fields[nodes.OAuth2RedirectURL], callbackURL)
	if redirect == "" {
		return nil, fmt.Errorf("%w: no redirect URL", ErrInvalid)
	}
	var opts []oauth2.AuthCodeOption
	if raw := fields[nodes.OAuth2AuthParams]; raw != "" {
		extra, err := url.ParseQuery(strings.TrimPrefix(raw, "?"))
		if err != nil {
			return nil, fmt.Errorf("%w: extra authorisation parameters: %v", ErrInvalid, err)
		}
		for k, vs := range extra {
			for _, v := range vs {
				opts = append(opts, oauth2.SetAuthURLParam(k, v))
			}
		}
	}
	conf, err := oauthConfig(ct, fields, redirect)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("vault: state: %w", err)
	}
	state := base64.RawURLEncoding.EncodeToString(b[:])
	verifier := ""
	if pkce(fields) {
		verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	st := &store.OAuthState{ID: stateID(state), CredentialID: row.ID, Variant: variant, RedirectURL: redirect,
		ExpiresAt: time.Now().Add(AuthorizationTTL).UTC()}
	if st.KeyID, st.Sealed, err = c.Vault.Seal([]byte(verifier), stateContext(st.ID)); err != nil {
		return nil, err
	}
	if err := c.Store.SaveOAuthState(ctx, st); err != nil {
		return nil, err
	}
	return &Authorization{URL: conf.AuthCodeURL(state, opts...), RedirectURL: redirect,
		ExpiresAt: st.ExpiresAt}, nil
}

// CompleteAuthorization finishes what Authorize started, when the provider sends the admin back: it takes the
// state (once; an unknown, used or expired state changes nothing), exchanges the code for tokens, with the PKCE
// verifier when one was sent, and seals them into the credential. providerError is the provider's error
// parameter, set when consent was refused.
func (c *Credentials) CompleteAuthorization(ctx context.Context, state, code, providerError string) (*Info, error) {
	if state == "" {
		return nil, fmt.Errorf("%w: the provider sent no state", ErrAuthorization)
	}
	st, err := c.Store.TakeOAuthState(ctx, stateID(state), time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: this authorisation link is unknown, already used or expired; start again from the credential", ErrAuthorization)
	}
	if err != nil {
		return nil, err
	}
	if providerError != "" {
		return nil, fmt.Errorf("%w: the provider did not grant access: %s", ErrAuthorization, truncate(providerError, 200))
	}
	if code == "" {
		return nil, fmt.Errorf("%w: the provider sent no code", ErrAuthorization)
	}
	row, err := c.Store.GetCredential(ctx, st.CredentialID)
	if err != nil {
		return nil, err
	}
	s, err := c.open(row)
	if err != nil {
		return nil, err
	}
	ct := oauth2Type(row.Type)
	fields := s.fields(st.Variant)
	if ct == nil || fields == nil {
		return nil, fmt.Errorf("%w: the credential changed while it was being authorised; start again", ErrAuthorization)
	}
	verifier, err := c.Vault.Open(st.KeyID, st.Sealed, stateContext(st.ID))
	if err != nil {
		return nil, err
	}
	var opts []oauth2.AuthCodeOption
	if len(verifier) > 0 {
		opts = append(opts, oauth2.VerifierOption(string(verifier)))
	}
	xctx, cancel := context.WithTimeout(ctx, tokenRequestTimeout)
	defer cancel()
	xctx = context.WithValue(xctx, oauth2.HTTPClient, c.httpClient())
	conf, err := oauthConfig(ct, fields, st.RedirectURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuthorization, err)
	}
	t, err := conf.Exchange(xctx, code, opts...)
	if err != nil {
		_, reason := classifyTokenError(err)
		return nil, fmt.Errorf("%w: the provider would not exchange the code: %s", ErrAuthorization, reason)
	}
	tok := fromOAuth(ct, t)
	var out Secrets
	written, err := c.update(ctx, row.ID, false, func(_ *store.Credential, s *Secrets) error {
		if s.fields(st.Variant) == nil {
			return fmt.Errorf("%w: the credential's %s variant was removed while it was being authorised", ErrAuthorization, st.Variant)
		}
		setToken(s, st.Variant, tok)
		out = *s
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.logger().Info("OAuth2 credential authorised", "credential", row.ID, "name", row.Name, "variant", st.Variant)
	return info(written, out), nil
}
