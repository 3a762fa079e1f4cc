package core

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

// TestHTTPSendsAnOAuth2AccessToken: a resolved OAuth2 credential goes out as Authorization with the token
// type spelled as servers expect, and a dry run shows it redacted.
func TestHTTPSendsAnOAuth2AccessToken(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	n := newHTTPNode(t, map[string]any{"url": srv.URL + "/me"})
	cred := map[string]string{nodes.CredentialAccessToken: "at-0123456789", nodes.CredentialTokenType: "bearer",
		nodes.CredentialTokenExpiry: "2030-01-01T00:00:00Z"}
	if _, err := n.Execute(t.Context(), httpExec(srv.Client(), cred, nil)); err != nil {
		t.Fatal(err)
	}
	if got != "Bearer at-0123456789" {
		t.Errorf("Authorization %q", got)
	}
	res, err := n.(nodes.DryRunner).DryRun(t.Context(), httpExec(srv.Client(), cred, nil))
	if err != nil || strings.Contains(mustJSON(t, res.Output), "at-0123456789") {
		t.Errorf("dry run shows the token: %v %v", res.Output, err)
	}
	for typ, want := range map[string]string{"": "Bearer", "Bearer": "Bearer", "mac": "MAC", "DPoP": "DPoP"} {
		if s := tokenScheme(typ); s != want {
			t.Errorf("scheme of %q = %q, want %q", typ, s, want)
		}
	}
}

// TestCredentialTestURLShowsNoQuery: what a connection test reports names scheme, host and path only, since an
// API key may ride in the query.
func TestCredentialTestURLShowsNoQuery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "key "+r.URL.Query().Get("api_key")+" refused", http.StatusUnauthorized)
	}))
	defer srv.Close()
	fields := map[string]string{"name": "api_key", "value": "k-secret-42", "in": "query", CredentialTestURL: srv.URL + "/v1/me?x=1"}
	_, err := testCredentialURL(t.Context(), fields, srv.Client())
	if err == nil || !strings.Contains(err.Error(), "/v1/me answered 401") || strings.Contains(err.Error(), "k-secret-42") || strings.Contains(err.Error(), "x=1") {
		t.Errorf("test of a refused key: %v", err)
	}
	fields[CredentialTestURL] = "http://127.0.0.1:1/closed?api_key=k-secret-42"
	if _, err := testCredentialURL(t.Context(), fields, srv.Client()); err == nil || strings.Contains(err.Error(), "k-secret-42") {
		t.Errorf("test of an unreachable URL: %v", err)
	}
}
