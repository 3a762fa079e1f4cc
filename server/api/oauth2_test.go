package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/api"
	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
	"github.com/ferry-hq/ferry/server/vault/oauth2test"
)

// requireCredentialRoutes fails, naming what is missing, when the route table lacks the routes of oauth2.go.
func requireCredentialRoutes(t *testing.T, h *harness) {
	t.Helper()
	want := []string{"POST /api/v1/credentials/:id/test", "POST /api/v1/credentials/:id/oauth2/authorize", "GET " + api.OAuth2CallbackPath}
	have := map[string]bool{}
	for _, r := range h.app.API.Routes() {
		have[r.Method+" "+r.Path] = true
	}
	var missing []string
	for _, route := range want {
		if !have[route] {
			missing = append(missing, route)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the route table (router.go) lacks %s", strings.Join(missing, ", "))
	}
}

func errorCode(t *testing.T, body map[string]any) string {
	t.Helper()
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// TestCredentialConnectionTest checks credentials of each HTTP kind against a server that wants them, and that
// no answer ever carries a secret.
func TestCredentialConnectionTest(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bearer":
			if r.Header.Get("Authorization") != "Bearer live-secret-token" {
				// A careless server echoing what it got must not leak it through the test's answer.
				http.Error(w, "bad token "+r.Header.Get("Authorization"), http.StatusUnauthorized)
				return
			}
		case "/key":
			if r.URL.Query().Get("api_key") != "key-in-query-123" {
				http.Error(w, "bad key", http.StatusForbidden)
				return
			}
		case "/basic":
			if u, p, ok := r.BasicAuth(); !ok || u != "ada" || p != "basic-pass-456" {
				http.Error(w, "bad", http.StatusUnauthorized)
				return
			}
		case "/elsewhere":
			http.Redirect(w, r, "https://other.example.com/", http.StatusFound)
			return
		default:
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer upstream.Close()
	secrets := []string{"live-secret-token", "test-wrong-token", "key-in-query-123", "wrong-key-789", "basic-pass-456"}

	each(t, func(t *testing.T, h *harness) {
		requireCredentialRoutes(t, h)
		create := func(body map[string]any) string {
			t.Helper()
			return h.expect(h.do("POST", "/api/v1/credentials", body), 201)["id"].(string)
		}
		test := func(id, query string, status int) map[string]any {
			t.Helper()
			res := h.do("POST", "/api/v1/credentials/"+id+"/test"+query, nil)
			for _, s := range secrets {
				if strings.Contains(string(res.body), s) {
					t.Fatalf("the test answer carries a secret: %s", res.body)
				}
			}
			return h.expect(res, status)
		}
		bearer := create(map[string]any{"name": "CRM", "type": "http.bearer", "allowedDestinations": []string{upstream.URL},
			"live": map[string]string{"token": "live-secret-token", "testUrl": upstream.URL + "/bearer"},
			"test": map[string]string{"token": "test-wrong-token", "testUrl": upstream.URL + "/bearer"}})
		if got := test(bearer, "", 200); got["ok"] != true || !strings.Contains(got["message"].(string), "200 OK") {
			t.Errorf("live: %v", got)
		}
		if got := test(bearer, "?variant=test", 200); got["ok"] != false || !strings.Contains(got["message"].(string), "401") {
			t.Errorf("test variant: %v", got)
		}

		key := create(map[string]any{"name": "Shop", "type": "http.apikey", "allowedDestinations": []string{upstream.URL},
			"live": map[string]string{"name": "api_key", "value": "key-in-query-123", "in": "query", "testUrl": upstream.URL + "/key?page=1"},
			"test": map[string]string{"name": "api_key", "value": "wrong-key-789", "in": "query", "testUrl": upstream.URL + "/key"}})
		if got := test(key, "?variant=live", 200); got["ok"] != true {
			t.Errorf("api key: %v", got)
		}
		if got := test(key, "?variant=test", 200); got["ok"] != false || !strings.Contains(got["message"].(string), "403") {
			t.Errorf("wrong api key: %v", got)
		}

		basic := create(map[string]any{"name": "ERP", "type": "http.basic", "allowedDestinations": []string{upstream.URL},
			"live": map[string]string{"username": "ada", "password": "basic-pass-456", "testUrl": upstream.URL + "/basic"}})
		if got := test(basic, "", 200); got["ok"] != true {
			t.Errorf("basic: %v", got)
		}
		redirected := create(map[string]any{"name": "R", "type": "http.bearer", "allowedDestinations": []string{upstream.URL},
			"live": map[string]string{"token": "live-secret-token", "testUrl": upstream.URL + "/elsewhere"}})
		if got := test(redirected, "", 200); got["ok"] != false || !strings.Contains(got["message"].(string), "302") {
			t.Errorf("a redirect is not followed: %v", got)
		}
		noURL := create(map[string]any{"name": "N", "type": "http.bearer", "allowedDestinations": []string{upstream.URL}, "live": map[string]string{"token": "live-secret-token"}})
		if got := test(noURL, "", 200); got["ok"] != false || !strings.Contains(got["message"].(string), "test URL") {
			t.Errorf("no test URL: %v", got)
		}

		if code := errorCode(t, test(noURL, "?variant=test", 400)); code != api.CodeCredentialVariantMissing {
			t.Errorf("missing test variant: %s", code)
		}
		hmac := create(map[string]any{"name": "H", "type": "webhook.hmac", "live": map[string]string{"secret": "live-secret-token"}})
		if code := errorCode(t, test(hmac, "", 400)); code != api.CodeCredentialNotSupported {
			t.Errorf("a type without a test: %s", code)
		}
		test(bearer, "?variant=staging", 400)
		test("no-such-credential", "", 404)

		// The credential types say which can be tested.
		types := h.expect(h.do("GET", "/api/v1/credential-types", nil), 200)["types"].([]any)
		testable := map[string]bool{}
		for _, ty := range types {
			m := ty.(map[string]any)
			testable[m["id"].(string)] = m["testable"] == true
		}
		if !testable["http.bearer"] || !testable["oauth2.client"] || testable["webhook.hmac"] {
			t.Errorf("testable types: %v", testable)
		}
	})
}

func oauth2Credential(p *oauth2test.Provider, typ string) map[string]any {
	live := map[string]string{nodes.OAuth2ClientID: oauth2test.ClientID, nodes.OAuth2ClientSecret: oauth2test.ClientSecret,
		nodes.OAuth2TokenURL: p.TokenURL, nodes.OAuth2Scopes: "contacts.read", nodes.OAuth2AuthStyle: "header", "testUrl": p.MeURL}
	if typ == "oauth2.authcode" {
		live[nodes.OAuth2AuthURL] = p.AuthURL
	}
	return map[string]any{"name": "CRM " + typ, "type": typ, "live": live, "allowedDestinations": []string{p.MeURL}}
}

// authorizeThroughAPI creates an oauth2.authcode credential and authorises it the way an admin does: ask for the
// provider URL, consent there, come back to the callback.
func authorizeThroughAPI(t *testing.T, h *harness, p *oauth2test.Provider) string {
	t.Helper()
	cred := h.expect(h.do("POST", "/api/v1/credentials", oauth2Credential(p, "oauth2.authcode")), 201)
	id := cred["id"].(string)
	if cred["status"] != vault.StatusAuthorize {
		t.Fatalf("new credential: %v", cred)
	}
	auth := h.expect(h.do("POST", "/api/v1/credentials/"+id+"/oauth2/authorize", nil), 200)
	authURL, _ := auth["url"].(string)
	if !strings.HasPrefix(authURL, p.AuthURL+"?") || !strings.Contains(authURL, "code_challenge_method=S256") ||
		!strings.HasSuffix(auth["redirectUrl"].(string), api.OAuth2CallbackPath) {
		t.Fatalf("authorisation: %v", auth)
	}
	back := p.Consent(t, authURL)
	// The provider sends the admin's browser back: the callback is public and needs no token.
	res := h.do("GET", api.OAuth2CallbackPath+"?"+back.Encode(), nil, "Authorization", "")
	if res.status != 200 || !strings.Contains(string(res.body), "is connected") ||
		!strings.HasPrefix(res.header.Get("Content-Type"), "text/html") || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("callback: %d %v\n%s", res.status, res.header, res.body)
	}
	// The state is one-time.
	again := h.do("GET", api.OAuth2CallbackPath+"?"+back.Encode(), nil, "Authorization", "")
	if again.status != 400 || !strings.Contains(string(again.body), "already used") {
		t.Errorf("replayed callback: %d %s", again.status, again.body)
	}
	return id
}

// httpFlow publishes a flow whose one step calls the provider's /me with the credential.
func httpFlow(t *testing.T, h *harness, credentialID, meURL string) string {
	t.Helper()
	doc := `{"schema":1,"name":"who am i","nodes":[{"id":"in","type":"core.manual"},
	 {"id":"me","type":"core.http","credential":"` + credentialID + `","params":{"url":"` + meURL + `"}}],
	 "edges":[{"source":"in","target":"me"}]}`
	return h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
}

// TestOAuth2FlowThroughTheAPI authorises a credential against a fake provider, with PKCE, and uses it from
// core.http in a live run; no API answer ever holds a token or the client secret.
func TestOAuth2FlowThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		requireCredentialRoutes(t, h)
		p := oauth2test.New(t)
		id := authorizeThroughAPI(t, h, p)
		if p.Exchanges.Load() != 1 {
			t.Errorf("%d code exchanges", p.Exchanges.Load())
		}
		cred := h.expect(h.do("GET", "/api/v1/credentials/"+id, nil), 200)
		live, _ := cred["oauth2"].(map[string]any)["live"].(map[string]any)
		if cred["status"] != vault.StatusOK || live["authorized"] != true || live["expiresAt"] == nil {
			t.Fatalf("authorised credential: %v", cred)
		}
		if got := h.expect(h.do("POST", "/api/v1/credentials/"+id+"/test", nil), 200); got["ok"] != true {
			t.Errorf("connection test: %v", got)
		}

		flowID := httpFlow(t, h, id, p.MeURL)
		run := h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/run", `{"payload":{}}`), 202)["id"].(string)
		h.eventually("the run to finish", func() bool { s := h.runStatus(run); return s == store.RunSucceeded || s == store.RunFailed })
		detail := h.expect(h.do("GET", "/api/v1/runs/"+run, nil), 200)
		if detail["status"] != store.RunSucceeded {
			t.Fatalf("run with the OAuth2 credential: %s", mustJSON(t, detail))
		}

		tok, err := h.app.Credentials.Resolve(context.Background(), id, nodes.ModeLive)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/api/v1/credentials", "/api/v1/credentials/" + id, "/api/v1/runs/" + run} {
			body := string(h.do("GET", path, nil).body)
			for _, secret := range []string{tok.Fields[nodes.CredentialAccessToken], oauth2test.ClientSecret, "rt-"} {
				if strings.Contains(body, secret) {
					t.Errorf("GET %s shows a secret (%.6s…)", path, secret)
				}
			}
		}

		// A forged or stale state changes nothing.
		res := h.do("GET", api.OAuth2CallbackPath+"?state=forged&code=whatever", nil)
		if res.status != 400 || !strings.Contains(string(res.body), "unknown") {
			t.Errorf("forged state: %d %s", res.status, res.body)
		}
		res = h.do("GET", api.OAuth2CallbackPath+"?state=%3Cscript%3E&error=%3Cscript%3Ealert(1)%3C/script%3E", nil)
		if strings.Contains(string(res.body), "<script>") {
			t.Errorf("the callback page shows provider input unescaped: %s", res.body)
		}

		bearer := h.expect(h.do("POST", "/api/v1/credentials", `{"name":"b","type":"http.bearer","allowedDestinations":["api.example.com"],"live":{"token":"tttt"}}`), 201)["id"].(string)
		if code := errorCode(t, h.expect(h.do("POST", "/api/v1/credentials/"+bearer+"/oauth2/authorize", nil), 400)); code != api.CodeCredentialNotSupported {
			t.Errorf("authorising a bearer token: %s", code)
		}
		if code := errorCode(t, h.expect(h.do("POST", "/api/v1/credentials/"+id+"/oauth2/authorize?variant=test", nil), 400)); code != api.CodeCredentialVariantMissing {
			t.Errorf("authorising a missing test variant: %s", code)
		}

		client := h.expect(h.do("POST", "/api/v1/credentials", oauth2Credential(p, "oauth2.client")), 201)
		if client["status"] != vault.StatusOK {
			t.Errorf("client credentials: %v", client)
		}
		if got := h.expect(h.do("POST", "/api/v1/credentials/"+client["id"].(string)+"/test", nil), 200); got["ok"] != true {
			t.Errorf("client credentials test: %v", got)
		}
	})
}

// TestOAuth2RefreshRaceThroughTheApp: with the token due for renewal, 50 resolves through the engine's resolver
// and 20 live runs at once cause exactly one refresh at the provider.
func TestOAuth2RefreshRaceThroughTheApp(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		requireCredentialRoutes(t, h)
		p := oauth2test.New(t)
		p.SetAccessTTL(30 * time.Second) // inside vault.RenewBefore: due at once
		id := authorizeThroughAPI(t, h, p)
		p.SetAccessTTL(time.Hour)
		p.SetRefreshDelay(100 * time.Millisecond)
		flowID := httpFlow(t, h, id, p.MeURL)

		var wg sync.WaitGroup
		tokens := make(chan string, 50)
		for range 50 {
			wg.Go(func() {
				got, err := h.app.Credentials.Resolve(context.Background(), id, nodes.ModeLive)
				if err != nil {
					t.Errorf("resolve: %v", err)
				}
				tokens <- got.Fields[nodes.CredentialAccessToken]
			})
		}
		runs := make([]string, 20)
		for i := range runs {
			runs[i] = h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/run", `{"payload":{}}`), 202)["id"].(string)
		}
		wg.Wait()
		close(tokens)
		seen := map[string]bool{}
		for tok := range tokens {
			seen[tok] = true
		}
		for _, run := range runs {
			h.eventually("the runs to finish", func() bool { s := h.runStatus(run); return s == store.RunSucceeded || s == store.RunFailed })
			if s := h.runStatus(run); s != store.RunSucceeded {
				t.Errorf("run %s: %s", run, s)
			}
		}
		if n := p.Refreshes.Load(); n != 1 || len(seen) != 1 {
			t.Fatalf("%d refresh requests and %d distinct tokens; want 1 and 1", n, len(seen))
		}
	})
}

// TestOAuth2FailedRefreshThroughTheAPI: the provider refuses the refresh token; the run fails for good with a
// clear code and the API shows the credential needs authorising again.
func TestOAuth2FailedRefreshThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		requireCredentialRoutes(t, h)
		p := oauth2test.New(t)
		p.SetAccessTTL(30 * time.Second)
		id := authorizeThroughAPI(t, h, p)
		p.RefuseRefresh.Store(true)
		flowID := httpFlow(t, h, id, p.MeURL)
		run := h.expect(h.do("POST", "/api/v1/flows/"+flowID+"/run", `{"payload":{}}`), 202)["id"].(string)
		h.eventually("the run to fail", func() bool { return h.runStatus(run) == store.RunFailed })
		detail, err := h.app.Store.GetRun(context.Background(), run)
		if err != nil {
			t.Fatal(err)
		}
		var runErr map[string]any
		_ = json.Unmarshal(detail.Error, &runErr)
		if runErr["code"] != vault.CodeNeedsAuthorization {
			t.Errorf("run error: %s", detail.Error)
		}
		cred := h.expect(h.do("GET", "/api/v1/credentials/"+id, nil), 200)
		if cred["status"] != vault.StatusReauthorize || !strings.Contains(cred["statusMessage"].(string), "invalid_grant") {
			t.Fatalf("credential after a refused refresh: %v", cred)
		}
		list := h.expect(h.do("GET", "/api/v1/credentials", nil), 200)["credentials"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["status"] != vault.StatusReauthorize {
			t.Errorf("list: %v", list)
		}
		// Monitoring sees it too, so an alert rule can page someone.
		if m := string(h.do("GET", "/metrics", nil).body); !strings.Contains(m, `ferry_credentials_attention{status="reauthorize"} 1`) {
			t.Errorf("metrics do not show the credential needing authorisation")
		}
		got := h.expect(h.do("POST", "/api/v1/credentials/"+id+"/test", nil), 200)
		if got["ok"] != false || !strings.Contains(got["message"].(string), "authorise it again") {
			t.Errorf("connection test: %v", got)
		}

		// Authorising again puts it right.
		p.RefuseRefresh.Store(false)
		auth := h.expect(h.do("POST", "/api/v1/credentials/"+id+"/oauth2/authorize", nil), 200)
		back := p.Consent(t, auth["url"].(string))
		h.expect(h.do("GET", api.OAuth2CallbackPath+"?"+url.Values{"state": {back.Get("state")}, "code": {back.Get("code")}}.Encode(), nil), 200)
		if cred := h.expect(h.do("GET", "/api/v1/credentials/"+id, nil), 200); cred["status"] != vault.StatusOK {
			t.Errorf("after authorising again: %v", cred)
		}
	})
}

// TestStartupNamesUnreadableCredentials: a server started without the key that sealed a credential refuses to
// start, naming the credential and why; given that key as a previous key it starts and can rotate.
func TestStartupNamesUnreadableCredentials(t *testing.T) {
	cfg, err := app.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.LogLevel = t.TempDir(), "error"
	oldKey, newKey := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	cfg.SecretKey = oldKey
	cfg.AllowedInternalHosts = "127.0.0.1" // the tests' stand-ins for providers listen there
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	in, err := a.Credentials.Create(context.Background(), "Payments", "http.bearer", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: map[string]string{"token": "sk_live_123456"}})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}

	cfg.SecretKey = newKey
	t.Setenv(vault.PreviousKeysEnv, "")
	if a, err := app.New(context.Background(), cfg); err == nil {
		a.Close()
		t.Fatal("started without the key that sealed a credential (app.New must call Credentials.Check)")
	} else if msg := err.Error(); !strings.Contains(msg, in.ID) || !strings.Contains(msg, "Payments") || !strings.Contains(msg, "not configured") ||
		strings.Contains(msg, "sk_live") {
		t.Fatalf("start-up error: %v", err)
	}

	t.Setenv(vault.PreviousKeysEnv, oldKey)
	cfg.AllowedInternalHosts = "127.0.0.1" // the tests' stand-ins for providers listen there
	a, err = app.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("with the old key as a previous key: %v", err)
	}
	defer a.Close()
	if rep, err := a.Credentials.Rotate(context.Background()); err != nil || rep.Resealed != 1 {
		t.Fatalf("rotate: %+v %v", rep, err)
	}
}
