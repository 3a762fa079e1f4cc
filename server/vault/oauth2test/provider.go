// Package oauth2test is a small OAuth 2.0 authorisation server on httptest for tests of OAuth2 credentials: the
// authorisation-code grant with PKCE (S256) verification, refresh tokens that can be used once, the
// client-credentials grant, and a protected /me endpoint. It counts the token requests it serves, so tests can
// assert how often a token was renewed.
package oauth2test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Client credentials the provider accepts.
const (
	ClientID     = "ferry-test-client"
	ClientSecret = "client-secret-0123456789"
)

// Provider is a running fake authorisation server.
type Provider struct {
	// URL is the server's base URL; AuthURL, TokenURL and MeURL are its endpoints.
	URL, AuthURL, TokenURL, MeURL string

	// Exchanges, Refreshes and ClientGrants count successful and refused token requests of each grant.
	Exchanges, Refreshes, ClientGrants atomic.Int64
	// RefuseRefresh makes refresh requests fail with invalid_grant, as when a user revoked access.
	RefuseRefresh atomic.Bool
	// FailRefresh makes refresh requests fail with a 503, as when the provider is down.
	FailRefresh atomic.Bool

	mu sync.Mutex
	// accessTTL is the lifetime of the tokens issued next.
	accessTTL time.Duration
	// refreshDelay holds each refresh request this long, widening the window in which others could race it.
	refreshDelay time.Duration
	codes        map[string]pending
	refresh      map[string]bool // refresh tokens that may still be used
	access       map[string]bool
	// LastScope is the scope of the last authorisation.
	lastScope string
	// extra is added to the answers of the authorisation-code exchange and the client-credentials grant;
	// refreshExtra to refresh answers (providers such as Salesforce answer with their instance URL).
	extra, refreshExtra map[string]any
}

// SetExtra adds fields to the token answers from now on: extra to the code exchange's and the client-credentials
// grant's, refresh to a refresh's.
func (p *Provider) SetExtra(extra, refresh map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.extra, p.refreshExtra = extra, refresh
}

type pending struct {
	challenge, redirectURI, scope string
}

// New starts a provider, stopped when t ends. Tokens live an hour unless SetAccessTTL says otherwise.
func New(t testing.TB) *Provider {
	p := &Provider{accessTTL: time.Hour, codes: map[string]pending{}, refresh: map[string]bool{}, access: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /me", p.me)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.URL, p.AuthURL, p.TokenURL, p.MeURL = srv.URL, srv.URL+"/authorize", srv.URL+"/token", srv.URL+"/me"
	return p
}

// SetAccessTTL sets the lifetime of the access tokens issued from now on.
func (p *Provider) SetAccessTTL(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accessTTL = d
}

// SetRefreshDelay makes each refresh request take at least d.
func (p *Provider) SetRefreshDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refreshDelay = d
}

// LastScope is the scope asked for by the last authorisation.
func (p *Provider) LastScope() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastScope
}

// Consent plays the admin at the consent page: it follows authURL (the URL Authorize returned) and returns the
// query the provider redirects back with (code and state, or error).
func (p *Provider) Consent(t testing.TB, authURL string) url.Values {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(authURL)
	if err != nil {
		t.Fatalf("consent: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("consent: status %d", res.StatusCode)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatalf("consent: redirect %q: %v", res.Header.Get("Location"), err)
	}
	return loc.Query()
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("redirect_uri") == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	switch {
	case q.Get("client_id") != ClientID:
		back.Set("error", "unauthorized_client")
	case q.Get("response_type") != "code":
		back.Set("error", "unsupported_response_type")
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
		back.Set("error", "invalid_request")
	default:
		code := random()
		p.mu.Lock()
		p.codes[code] = pending{challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri"), scope: q.Get("scope")}
		p.lastScope = q.Get("scope")
		p.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != ClientID || secret != ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		p.Exchanges.Add(1)
		p.mu.Lock()
		pend, ok := p.codes[r.PostForm.Get("code")]
		delete(p.codes, r.PostForm.Get("code"))
		p.mu.Unlock()
		switch {
		case !ok, pend.redirectURI != r.PostForm.Get("redirect_uri"):
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		case pend.challenge != "" && s256(r.PostForm.Get("code_verifier")) != pend.challenge,
			pend.challenge == "" && r.PostForm.Get("code_verifier") != "":
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		p.issue(w, true, p.extras(false))
	case "refresh_token":
		p.Refreshes.Add(1)
		p.mu.Lock()
		delay := p.refreshDelay
		p.mu.Unlock()
		time.Sleep(delay)
		if p.FailRefresh.Load() {
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		rt := r.PostForm.Get("refresh_token")
		p.mu.Lock()
		valid := p.refresh[rt] && !p.RefuseRefresh.Load()
		delete(p.refresh, rt) // refresh tokens are used once
		p.mu.Unlock()
		if !valid {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		p.issue(w, true, p.extras(true))
	case "client_credentials":
		p.ClientGrants.Add(1)
		p.issue(w, false, p.extras(false))
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

func (p *Provider) extras(refresh bool) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	if refresh {
		return p.refreshExtra
	}
	return p.extra
}

func (p *Provider) issue(w http.ResponseWriter, withRefresh bool, extra map[string]any) {
	p.mu.Lock()
	access, ttl := "at-"+random(), p.accessTTL
	p.access[access] = true
	body := map[string]any{"access_token": access, "token_type": "bearer", "expires_in": int(ttl.Seconds())}
	for k, v := range extra {
		body[k] = v
	}
	if withRefresh {
		rt := "rt-" + random()
		p.refresh[rt] = true
		body["refresh_token"] = rt
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}

// me answers 200 to a request bearing an access token the provider issued, 401 otherwise.
func (p *Provider) me(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	valid := ok && p.access[tok]
	p.mu.Unlock()
	if !valid {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"user-1"}`))
}

// Valid reports whether token is an access token the provider issued.
func (p *Provider) Valid(token string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.access[token]
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "refused by the test provider"})
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
