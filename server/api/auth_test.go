package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/server/api"
	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/auth"
)

// TestRoleMatrix checks every role, and no credentials at all, against every route of the table (I6): a
// caller without the route's permission gets 401 (anonymous) or 403, a caller with it never does. Webhooks and
// the web app are in the table, so they are checked too.
func TestRoleMatrix(t *testing.T) {
	h := sqliteHarness(t)
	tokens := map[auth.Role]string{auth.RoleAdmin: h.token}
	for _, r := range []auth.Role{auth.RoleEditor, auth.RoleOperator, auth.RoleViewer} {
		tokens[r] = h.userToken(string(r)+"@example.com", r)
	}
	for _, route := range h.app.API.Routes() {
		path := strings.NewReplacer(":flowId", "no-such-flow", ":id", "no-such-id", ":version", "1", ":secret", "no-such-secret", "*", "some/page").Replace(route.Path)
		method := route.Method
		if method == "ALL" {
			method = "POST"
		}
		callers := map[string]string{"anonymous": ""}
		for r, tok := range tokens {
			callers[string(r)] = tok
		}
		for who, tok := range callers {
			res := h.do(method, path, "{}", "Authorization", bearerOrEmpty(tok))
			allowed := route.Permission == api.PermPublic || (tok != "" && auth.Allowed(auth.Role(who), string(route.Permission)))
			// The guard's refusals carry these codes; a handler may still answer 401 or 403 for its own reasons
			// (a wrong password), which is not the permission check speaking.
			code := ""
			if len(res.body) > 0 && res.body[0] == '{' {
				if e, ok := res.json(t)["error"].(map[string]any); ok {
					code, _ = e["code"].(string)
				}
			}
			refused := code == api.CodeUnauthenticated || code == api.CodeForbidden
			switch {
			case allowed && refused:
				t.Errorf("%s %s as %s: %d %s, but the role holds %s", method, path, who, res.status, code, route.Permission)
			case !allowed && who == "anonymous" && route.TestSecret:
				// Without a sign-in or the flow's test secret, the test webhook answers like an unknown flow.
				if res.status != 404 || code != api.CodeWebhookNotFound {
					t.Errorf("%s %s without credentials or secret: %d %s, want 404 %s", method, path, res.status, code, api.CodeWebhookNotFound)
				}
			case !allowed && who == "anonymous" && (res.status != 401 || code != api.CodeUnauthenticated):
				t.Errorf("%s %s without credentials: %d %s, want 401 unauthenticated", method, path, res.status, code)
			case !allowed && who != "anonymous" && (res.status != 403 || code != api.CodeForbidden):
				t.Errorf("%s %s as %s: %d %s, want 403 forbidden (needs %s)", method, path, who, res.status, code, route.Permission)
			}
		}
	}
}

func bearerOrEmpty(tok string) string {
	if tok == "" {
		return ""
	}
	return "Bearer " + tok
}

// TestSetupAndSessions walks a first start: everything is refused until the first admin exists; setup answers
// with a token; sign-in sets an HTTP-only session cookie and a CSRF cookie; writes with the cookie need the CSRF
// header; sign-out ends the session.
func TestSetupAndSessions(t *testing.T) {
	cfg, err := app.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.LogLevel = t.TempDir(), "error"
	cfg.AllowedInternalHosts = "127.0.0.1" // the tests' stand-ins for providers listen there
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := &harness{t: t, app: a}

	if e := h.expect(h.do("GET", "/api/v1/flows", nil), 403)["error"].(map[string]any); e["code"] != "setup_required" {
		t.Fatalf("before setup: %v", e)
	}
	if st := h.expect(h.do("GET", "/api/v1/setup", nil), 200); st["required"] != true {
		t.Fatalf("setup status %v", st)
	}
	if e := h.expect(h.do("POST", "/api/v1/setup", map[string]string{"email": "ops@shop.cn", "password": "short"}), 400)["error"].(map[string]any); e["code"] != "password_weak" {
		t.Fatalf("weak password: %v", e)
	}
	res := h.do("POST", "/api/v1/setup", map[string]string{"email": "ops@shop.cn", "password": "a long enough secret"})
	body := h.expect(res, 201)
	token, _ := body["token"].(string)
	if !strings.HasPrefix(token, auth.TokenPrefix) {
		t.Fatalf("setup token %q", token)
	}
	h.expect(h.do("POST", "/api/v1/setup", map[string]string{"email": "x@shop.cn", "password": "a long enough secret"}), 409)
	h.token = token
	h.expect(h.do("GET", "/api/v1/flows", nil), 200)
	h.token = ""

	// Sign in with a browser-like client.
	login := h.do("POST", "/api/v1/auth/login", map[string]string{"email": "OPS@shop.cn", "password": "a long enough secret"})
	h.expect(login, 200)
	var session, csrf string
	for _, c := range (&http.Response{Header: login.header}).Cookies() {
		switch c.Name {
		case api.SessionCookie:
			session = c.Value
			if !c.HttpOnly {
				t.Error("the session cookie must be HTTP-only")
			}
		case api.CSRFCookie:
			csrf = c.Value
		}
	}
	if session == "" || csrf == "" {
		t.Fatalf("login cookies: %v", login.header.Values("Set-Cookie"))
	}
	cookie := api.SessionCookie + "=" + session + "; " + api.CSRFCookie + "=" + csrf
	h.expect(h.do("GET", "/api/v1/auth/me", nil, "Cookie", cookie), 200)
	flow := `{"schema":1,"name":"x","nodes":[{"id":"in","type":"core.manual"}],"edges":[]}`
	if e := h.expect(h.do("POST", "/api/v1/flows", flow, "Cookie", cookie), 403)["error"].(map[string]any); e["code"] != "csrf_invalid" {
		t.Fatalf("write without CSRF header: %v", e)
	}
	h.expect(h.do("POST", "/api/v1/flows", flow, "Cookie", cookie, api.CSRFHeader, "forged"), 403)
	h.expect(h.do("POST", "/api/v1/flows", flow, "Cookie", cookie, api.CSRFHeader, csrf), 201)
	h.expect(h.do("POST", "/api/v1/auth/logout", nil, "Cookie", cookie, api.CSRFHeader, csrf), 204)
	h.expect(h.do("GET", "/api/v1/auth/me", nil, "Cookie", cookie), 401)

	// The audit log saw all of it.
	h.token = token
	events := h.expect(h.do("GET", "/api/v1/audit?limit=100", nil), 200)["events"].([]any)
	seen := map[string]bool{}
	for _, e := range events {
		seen[e.(map[string]any)["action"].(string)] = true
	}
	for _, want := range []string{"user.create", "token.create", "auth.login", "flow.create", "auth.logout"} {
		if !seen[want] {
			t.Errorf("audit log lacks %s: %v", want, seen)
		}
	}
}

// TestLoginThrottled: wrong passwords from one address make that address wait, with growing delays, even
// against the right password, and each failure is audited without the password.
func TestLoginThrottled(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		if _, err := h.app.Auth.CreateUser(ctx, "clerk@shop.cn", "", "the right password", auth.RoleViewer); err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			e := h.expect(h.do("POST", "/api/v1/auth/login", map[string]string{"email": "clerk@shop.cn", "password": "guess-Zq8" + string(rune('a'+i))}), 401)
			if e["error"].(map[string]any)["code"] != "bad_credentials" {
				t.Fatalf("attempt %d: %v", i, e)
			}
		}
		refused := h.do("POST", "/api/v1/auth/login", map[string]string{"email": "clerk@shop.cn", "password": "the right password"})
		if refused.status != 401 || refused.header.Get("Retry-After") == "" {
			t.Fatalf("the right password right after six wrong ones: %d %s (Retry-After %q)", refused.status, refused.body, refused.header.Get("Retry-After"))
		}
		page := h.expect(h.do("GET", "/api/v1/audit?action=auth.login_failed", nil), 200)
		if n := len(page["events"].([]any)); n < 6 {
			t.Fatalf("%d failed sign-ins audited, want at least 6", n)
		}
		if strings.Contains(string(h.do("GET", "/api/v1/audit", nil).body), "guess-Zq8") {
			t.Fatal("the audit log holds a password")
		}
	})
}

// TestTokens: a token carries a role no higher than its creator's, is shown once, can expire and be revoked,
// and the owner's demotion demotes it.
func TestTokens(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		editor := h.userToken("editor@shop.cn", auth.RoleEditor)
		h.expect(h.do("POST", "/api/v1/tokens", map[string]any{"name": "ci", "role": "admin"}, "Authorization", "Bearer "+editor), 403)
		created := h.expect(h.do("POST", "/api/v1/tokens", map[string]any{"name": "ci", "role": "viewer"}, "Authorization", "Bearer "+editor), 201)
		viewer := created["token"].(string)
		id := created["tokenInfo"].(map[string]any)["id"].(string)
		h.expect(h.do("GET", "/api/v1/flows", nil, "Authorization", "Bearer "+viewer), 200)
		h.expect(h.do("POST", "/api/v1/flows", `{}`, "Authorization", "Bearer "+viewer), 403)
		list := string(h.do("GET", "/api/v1/tokens", nil, "Authorization", "Bearer "+editor).body)
		if strings.Contains(list, viewer) || !strings.Contains(list, id) {
			t.Fatalf("token list shows the secret or misses the token: %s", list)
		}
		h.expect(h.do("DELETE", "/api/v1/tokens/"+id, nil, "Authorization", "Bearer "+editor), 204)
		h.expect(h.do("GET", "/api/v1/flows", nil, "Authorization", "Bearer "+viewer), 401)

		expired := h.expect(h.do("POST", "/api/v1/tokens", map[string]any{"name": "short", "expiresAt": time.Now().Add(time.Second)}, "Authorization", "Bearer "+editor), 201)["token"].(string)
		h.eventually("a token past its expiry to stop authenticating", func() bool {
			return h.do("GET", "/api/v1/flows", nil, "Authorization", "Bearer "+expired).status == 401
		})

		// Demoting the editor to viewer makes their editor token a viewer one.
		users := h.expect(h.do("GET", "/api/v1/users", nil), 200)["users"].([]any)
		var editorID string
		for _, u := range users {
			if u.(map[string]any)["email"] == "editor@shop.cn" {
				editorID = u.(map[string]any)["id"].(string)
			}
		}
		h.expect(h.do("PATCH", "/api/v1/users/"+editorID, map[string]any{"role": "viewer"}), 200)
		h.expect(h.do("POST", "/api/v1/flows", `{}`, "Authorization", "Bearer "+editor), 403)
		// The last admin stays an admin.
		me := h.expect(h.do("GET", "/api/v1/auth/me", nil), 200)["user"].(map[string]any)
		h.expect(h.do("PATCH", "/api/v1/users/"+me["id"].(string), map[string]any{"disabled": true}), 409)
	})
}

// TestPersonalDataMasked: run data shows phones and e-mails masked; an operator or admin may reveal them with
// ?reveal=true, which is audited; a viewer or editor may not.
func TestPersonalDataMasked(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		flow := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", `{"schema":1,"name":"pii","nodes":[
		  {"id":"hook","type":"core.webhook","params":{"respond":"respondNode"}},
		  {"id":"answer","type":"core.respond","params":{"status":200,"body":"{{ trigger.body }}"}}],
		  "edges":[{"source":"hook","target":"answer"}]}`), 201)
		res := h.do("POST", "/hooks/"+flow["id"].(string), `{"order_id":"A-1","customer":{"phone":"13812345678","email":"ada.lovelace@example.com"}}`)
		h.expect(res, 200)
		runID := res.header.Get("X-Ferry-Run-Id")

		masked := string(h.do("GET", "/api/v1/runs/"+runID, nil).body)
		if strings.Contains(masked, "13812345678") || strings.Contains(masked, "ada.lovelace@") || !strings.Contains(masked, `"order_id":"A-1"`) {
			t.Fatalf("run detail not masked: %s", masked)
		}
		if list := string(h.do("GET", "/api/v1/runs?flow="+flow["id"].(string), nil).body); strings.Contains(list, "13812345678") {
			t.Fatalf("run list not masked: %s", list)
		}
		rev := h.do("GET", "/api/v1/runs/"+runID+"?reveal=true", nil)
		h.expect(rev, 200)
		revealed := string(rev.body)
		if !strings.Contains(revealed, "13812345678") {
			t.Fatalf("reveal did not reveal: %s", revealed)
		}
		operator := h.userToken("ops@shop.cn", auth.RoleOperator)
		h.expect(h.do("GET", "/api/v1/runs/"+runID+"?reveal=true", nil, "Authorization", "Bearer "+operator), 200)
		for _, r := range []auth.Role{auth.RoleViewer, auth.RoleEditor} {
			tok := h.userToken(string(r)+"@shop.cn", r)
			h.expect(h.do("GET", "/api/v1/runs/"+runID+"?reveal=true", nil, "Authorization", "Bearer "+tok), 403)
			h.expect(h.do("GET", "/api/v1/runs/"+runID, nil, "Authorization", "Bearer "+tok), 200)
		}
		reveals := h.expect(h.do("GET", "/api/v1/audit?action=run.reveal", nil), 200)["events"].([]any)
		if len(reveals) != 2 {
			t.Fatalf("%d reveals audited, want 2", len(reveals))
		}
	})
}

// TestSecureCookies: behind a proxy that terminates TLS, FERRY_SECURE_COOKIES marks the session cookies Secure.
func TestSecureCookies(t *testing.T) {
	h := sqliteHarness(t)
	if _, err := h.app.Auth.CreateUser(context.Background(), "web@shop.cn", "", "a long enough secret", auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	login := func() []*http.Cookie {
		res := h.do("POST", "/api/v1/auth/login", map[string]string{"email": "web@shop.cn", "password": "a long enough secret"})
		h.expect(res, 200)
		return (&http.Response{Header: res.header}).Cookies()
	}
	for _, c := range login() {
		if c.Secure {
			t.Errorf("cookie %s is Secure over plain HTTP without the setting", c.Name)
		}
	}
	h.app.API.SecureCookies = true
	for _, c := range login() {
		if !c.Secure {
			t.Errorf("cookie %s is not Secure with the setting", c.Name)
		}
	}
}
