package connector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ferry-hq/ferry/nodes"
)

// Bounds of the token cache.
const (
	// defaultTokenEarly is how long before its expiry a cached token is replaced when the source does not say.
	defaultTokenEarly = 5 * time.Minute
	// tokenFetchTimeout bounds one token request, run on its own deadline for every caller waiting for it.
	tokenFetchTimeout = 20 * time.Second
	// maxCachedTokens bounds a source's cache; past it the cache starts over.
	maxCachedTokens = 1024
	// unknownExpiryTTL is how long a token whose expiry the provider did not say is kept.
	unknownExpiryTTL = time.Minute
)

// Token is a short-lived access token a provider issued for a credential.
type Token struct {
	Value string
	// Expiry is when the provider said the token stops working; zero when it did not say.
	Expiry time.Time
}

// TokenSource is how a provider's credential becomes a short-lived access token when the exchange is not
// OAuth 2.0, so the vault's OAuth2 grants cannot run it: Youzan's /auth/token takes the client id and secret as a
// JSON body and answers {"success", "data": {"access_token", "expires"}}. The runtime asks it for a token before
// each request, puts the token in the credential's fields as nodes.CredentialAccessToken for the provider's
// Authorize, and, when the answer says the token was refused, forgets it and sends the request once more with a
// new one. Tokens are cached per credential (a digest of all its fields, so a changed secret never reuses a
// token) until Early before they expire; concurrent callers that find none wait for a single request.
type TokenSource struct {
	// Fetch asks the provider for a new token, through the step's guarded client (bound to the credential's
	// destinations). Its failures should be *nodes.Error (a refused client is permanent, an outage retryable).
	Fetch func(ctx context.Context, client *http.Client, req TokenRequest) (Token, error)
	// Refused reports whether an answer says the token sent was invalid or expired (and not something else the
	// request got wrong): the runtime then renews the token and sends the request once more.
	Refused func(a *Answer) bool
	// Early is how long before its expiry a token is replaced; zero means five minutes. A token that lives less
	// than twice as long is replaced halfway through its life.
	Early time.Duration

	mu      sync.Mutex
	entries map[string]cachedToken
	group   singleflight.Group
	// now is the cache's clock; tests move it.
	now func() time.Time
}

// TokenRequest is what a source's Fetch is asked for: a token for the credential's fields, and why. Providers
// that hand out the current token unless told to issue a new one (Youzan's refresh flag) ask for a new one when
// Due is set, and for the current one first when Refused is (another process may already have replaced it).
type TokenRequest struct {
	Fields map[string]string
	// Due is the cached token that is about to expire; Refused the one an answer refused. Both are empty for a
	// credential's first token in this process.
	Due, Refused string
}

type cachedToken struct {
	token     string
	refreshAt time.Time
	// refused is the token an answer refused, kept (with token empty) so the next request says so.
	refused string
}

func (s *TokenSource) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// tokenKey identifies a credential's tokens: a digest of all its fields, names and values.
func tokenKey(fields map[string]string) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		if k != nodes.CredentialAccessToken {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(fields[k]), fields[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Get returns a current access token for the credential's fields, asking the provider through client when the
// cache holds none that is fresh enough.
func (s *TokenSource) Get(ctx context.Context, client *http.Client, fields map[string]string) (string, error) {
	key := tokenKey(fields)
	if tok, ok, _ := s.lookup(key); ok {
		return tok, nil
	}
	ch := s.group.DoChan(key, func() (any, error) {
		tok, ok, prev := s.lookup(key)
		if ok {
			return tok, nil
		}
		// The request serves every caller waiting for it: it must not end because the first one gave up.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenFetchTimeout)
		defer cancel()
		fresh, err := s.Fetch(fctx, client, TokenRequest{Fields: fields, Due: prev.token, Refused: prev.refused})
		if err != nil {
			return "", err
		}
		if fresh.Value == "" {
			return "", errors.New("the provider issued an empty access token")
		}
		s.store(key, fresh)
		return fresh.Value, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Forget drops a token the provider refused, unless another caller already replaced it.
func (s *TokenSource) Forget(fields map[string]string, token string) {
	key := tokenKey(fields)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok && e.token == token {
		s.entries[key] = cachedToken{refused: token}
	}
}

// lookup returns the cached token when it is fresh enough, else what is known of the one it replaces.
func (s *TokenSource) lookup(key string) (string, bool, cachedToken) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || e.token == "" || !s.clock().Before(e.refreshAt) {
		return "", false, e
	}
	return e.token, true, e
}

func (s *TokenSource) store(key string, tok Token) {
	now := s.clock()
	early := s.Early
	if early <= 0 {
		early = defaultTokenEarly
	}
	refreshAt := now.Add(unknownExpiryTTL)
	if !tok.Expiry.IsZero() {
		refreshAt = tok.Expiry.Add(-min(early, tok.Expiry.Sub(now)/2))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entries == nil || len(s.entries) >= maxCachedTokens {
		s.entries = map[string]cachedToken{}
	}
	s.entries[key] = cachedToken{token: tok.Value, refreshAt: refreshAt}
}

// withToken is a copy of the credential's fields with the access token added, for the provider's Authorize.
func withToken(fields map[string]string, token string) map[string]string {
	out := make(map[string]string, len(fields)+1)
	for k, v := range fields {
		out[k] = v
	}
	out[nodes.CredentialAccessToken] = token
	return out
}
