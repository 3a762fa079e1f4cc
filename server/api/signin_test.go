package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/server/api"
	"github.com/ferry-hq/ferry/server/auth"

	_ "github.com/ferry-hq/ferry/internal/testnodes"
)

// The in-process test connection comes from 0.0.0.0; trusting it as a proxy lets a test choose the client address
// with X-Forwarded-For, as a reverse proxy would.
const testProxy = "0.0.0.0/32"

// behindProxy runs body against every store with Ferry configured to trust the test connection as its reverse
// proxy.
func behindProxy(t *testing.T, body func(t *testing.T, h *harness)) {
	t.Setenv("FERRY_TRUSTED_PROXIES", testProxy)
	each(t, body)
}

// signIn posts a sign-in from the client address ip, without an API token.
func (h *harness) signIn(ip, email, password string) response {
	h.t.Helper()
	return h.do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password},
		"Authorization", "", "X-Forwarded-For", ip)
}

// code is the code of an error answer ("" for anything else).
func (r response) code(t *testing.T) string {
	t.Helper()
	if len(r.body) == 0 || r.body[0] != '{' {
		return ""
	}
	return errorCode(t, r.json(t))
}

// TestParallelGuessesAreAllCounted: twenty wrong guesses sent at once are twenty failures, so the account is
// throttled for that address afterwards, even against the right password. A read-check-write counter lets
// parallel guesses overwrite each other's count and never throttles.
func TestParallelGuessesAreAllCounted(t *testing.T) {
	behindProxy(t, func(t *testing.T, h *harness) {
		if _, err := h.app.Auth.CreateUser(context.Background(), "clerk@shop.cn", "", "the right password", auth.RoleViewer); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		answers := make([]response, 20)
		for i := range answers {
			wg.Go(func() { answers[i] = h.signIn("198.51.100.20", "clerk@shop.cn", fmt.Sprintf("wrong guess %02d", i)) })
		}
		wg.Wait()
		for i, r := range answers {
			if r.status != http.StatusUnauthorized || r.code(t) != api.CodeBadCredentials {
				t.Fatalf("guess %d answered %d %s", i, r.status, r.body)
			}
		}
		right := h.signIn("198.51.100.20", "clerk@shop.cn", "the right password")
		if right.status != http.StatusUnauthorized || right.code(t) != api.CodeBadCredentials {
			t.Fatalf("after 20 parallel wrong guesses the right password from the same address answered %d %s", right.status, right.body)
		}
		if s, _ := strconv.Atoi(right.header.Get("Retry-After")); s < 60 {
			t.Fatalf("Retry-After %q after 20 failures, want at least a minute", right.header.Get("Retry-After"))
		}
	})
}

// TestAttackerCannotLockOutTheAdmin: an attacker's wrong guesses from one address throttle that address, not the
// admin signing in from another one; and a spread of guesses from many addresses cannot keep the admin out of an
// address they signed in from before, nor out of a new one for longer than a minute.
func TestAttackerCannotLockOutTheAdmin(t *testing.T) {
	behindProxy(t, func(t *testing.T, h *harness) {
		if _, err := h.app.Auth.CreateUser(context.Background(), "boss@shop.cn", "", "the admin's own password", auth.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		h.expect(h.signIn("198.51.100.1", "boss@shop.cn", "the admin's own password"), 200)
		for i := range 30 {
			h.expect(h.signIn("203.0.113.66", "boss@shop.cn", fmt.Sprintf("attacker guess %d", i)), 401)
		}
		h.expect(h.signIn("198.51.100.2", "boss@shop.cn", "the admin's own password"), 200)

		// Many addresses, a few guesses each: the account as a whole is slowed down for new addresses only.
		for i := range 40 {
			h.signIn(fmt.Sprintf("203.0.113.%d", 100+i/2), "boss@shop.cn", fmt.Sprintf("botnet guess %d", i))
		}
		h.expect(h.signIn("198.51.100.1", "boss@shop.cn", "the admin's own password"), 200)
		fresh := h.signIn("198.51.100.3", "boss@shop.cn", "the admin's own password")
		if fresh.status != 200 {
			wait, err := strconv.Atoi(fresh.header.Get("Retry-After"))
			if err != nil || wait > 60 {
				t.Fatalf("a new address of the admin is kept out: %d, Retry-After %q", fresh.status, fresh.header.Get("Retry-After"))
			}
		}
	})
}

// TestSignInAnswersRevealNothing: an unknown e-mail, a wrong password, a disabled user with the right password
// and a throttled attempt get byte-identical answers (status, body, Retry-After) at every step, so no sequence of
// sign-ins tells an attacker which e-mails have accounts.
func TestSignInAnswersRevealNothing(t *testing.T) {
	behindProxy(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		if _, err := h.app.Auth.CreateUser(ctx, "known@shop.cn", "", "the right password", auth.RoleViewer); err != nil {
			t.Fatal(err)
		}
		gone, err := h.app.Auth.CreateUser(ctx, "gone@shop.cn", "", "the right password", auth.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		disabled := true
		if _, err := h.app.Auth.UpdateUser(ctx, nil, gone.ID, auth.UserChange{Disabled: &disabled}, ""); err != nil {
			t.Fatal(err)
		}
		var first response
		for i := range 9 {
			unknown := h.signIn("198.51.100.31", "nobody@shop.cn", "some wrong password")
			wrong := h.signIn("198.51.100.32", "known@shop.cn", "some wrong password")
			off := h.signIn("198.51.100.33", "gone@shop.cn", "the right password")
			if i == 0 {
				first = unknown
			}
			for _, r := range []response{wrong, off} {
				if r.status != unknown.status || string(r.body) != string(unknown.body) || r.header.Get("Retry-After") != unknown.header.Get("Retry-After") {
					t.Fatalf("attempt %d: unknown e-mail answered %d %s (Retry-After %q), an account %d %s (Retry-After %q)", i+1,
						unknown.status, unknown.body, unknown.header.Get("Retry-After"), r.status, r.body, r.header.Get("Retry-After"))
				}
			}
			if unknown.status != first.status || string(unknown.body) != string(first.body) {
				t.Fatalf("attempt %d answered %d %s, the first %d %s: a throttled attempt must look like a wrong password",
					i+1, unknown.status, unknown.body, first.status, first.body)
			}
		}
	})
}

// TestCommonPasswordsRefused: a password from the breached and common lists is refused wherever a password is
// set (setup, a new user, a reset, a change), with a stable code.
func TestCommonPasswordsRefused(t *testing.T) {
	h := sqliteHarness(t)
	for _, pw := range []string{"password123456", "qwertyuiop", "1234567890", "iloveyou12"} {
		r := h.do("POST", "/api/v1/users", map[string]any{"email": "new@shop.cn", "password": pw, "role": "viewer"})
		if r.status != 400 || r.code(t) != "password_weak" {
			t.Fatalf("new user with password %q: %d %s", pw, r.status, r.body)
		}
	}
	me := h.expect(h.do("GET", "/api/v1/auth/me", nil), 200)["user"].(map[string]any)["id"].(string)
	if r := h.do("POST", "/api/v1/users/"+me+"/password", map[string]any{"password": "password1234"}); r.status != 400 || r.code(t) != "password_weak" {
		t.Fatalf("reset to a common password: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/v1/auth/password", map[string]any{"currentPassword": "correct horse battery", "newPassword": "admin@example.com"}); r.status != 400 || r.code(t) != "password_weak" {
		t.Fatalf("change to the own e-mail address: %d %s", r.status, r.body)
	}
}

// TestTrustedProxies: behind a trusted proxy the client's address is the last one in X-Forwarded-For that is not
// a trusted proxy (what the proxy saw), never what the client wrote there itself; without a trusted proxy the
// header is ignored.
func TestTrustedProxies(t *testing.T) {
	lastFailure := func(h *harness) string {
		events := h.expect(h.do("GET", "/api/v1/audit?action=auth.login_failed&limit=1", nil), 200)["events"].([]any)
		if len(events) == 0 {
			t.Fatal("no failed sign-in audited")
		}
		ip, _ := events[0].(map[string]any)["ip"].(string)
		return ip
	}
	t.Run("trusted", func(t *testing.T) {
		t.Setenv("FERRY_TRUSTED_PROXIES", "10.0.0.0/8, "+testProxy)
		h := sqliteHarness(t)
		h.signIn("203.0.113.9, 198.51.100.7, 10.1.2.3", "someone@shop.cn", "a wrong password")
		if ip := lastFailure(h); ip != "198.51.100.7" {
			t.Fatalf("client address %q, want 198.51.100.7 (the address the trusted proxies saw)", ip)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		t.Setenv("FERRY_TRUSTED_PROXIES", "")
		h := sqliteHarness(t)
		h.signIn("198.51.100.7", "someone@shop.cn", "a wrong password")
		if ip := lastFailure(h); ip != "0.0.0.0" {
			t.Fatalf("client address %q taken from a header no trusted proxy set", ip)
		}
	})
}

// TestWrongCurrentPasswordThrottled: guessing the current password with a stolen session or token is throttled,
// parallel guesses included; the right password is refused until the delay has passed.
func TestWrongCurrentPasswordThrottled(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				h.do("POST", "/api/v1/auth/password", map[string]any{"currentPassword": fmt.Sprintf("guess number %d", i), "newPassword": "a brand new passphrase"})
			})
		}
		wg.Wait()
		r := h.do("POST", "/api/v1/auth/password", map[string]any{"currentPassword": "correct horse battery", "newPassword": "a brand new passphrase"})
		if r.status != http.StatusTooManyRequests || r.code(t) != api.CodeThrottled || r.header.Get("Retry-After") == "" {
			t.Fatalf("the right current password after 12 wrong ones: %d %s", r.status, r.body)
		}
	})
}

// TestPasswordChangeRevokesTokens: changing or resetting a password revokes the user's API tokens (a leaked
// password may have minted them), and the answer says how many.
func TestPasswordChangeRevokesTokens(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		clerk := h.userToken("clerk@shop.cn", auth.RoleOperator)
		second := h.expect(h.do("POST", "/api/v1/tokens", map[string]any{"name": "second"}, "Authorization", "Bearer "+clerk), 201)["token"].(string)
		changed := h.expect(h.do("POST", "/api/v1/auth/password", map[string]any{"currentPassword": "correct horse battery", "newPassword": "a brand new passphrase"},
			"Authorization", "Bearer "+clerk), 200)
		if changed["revokedTokens"] != float64(2) {
			t.Fatalf("password change answered %v, want revokedTokens 2", changed)
		}
		for _, tok := range []string{clerk, second} {
			h.expect(h.do("GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+tok), 401)
		}

		ops := h.userToken("ops@shop.cn", auth.RoleOperator)
		var opsID string
		for _, u := range h.expect(h.do("GET", "/api/v1/users", nil), 200)["users"].([]any) {
			if u.(map[string]any)["email"] == "ops@shop.cn" {
				opsID = u.(map[string]any)["id"].(string)
			}
		}
		reset := h.expect(h.do("POST", "/api/v1/users/"+opsID+"/password", map[string]any{"password": "another fresh passphrase"}), 200)
		if reset["revokedTokens"] != float64(1) {
			t.Fatalf("reset answered %v, want revokedTokens 1", reset)
		}
		h.expect(h.do("GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+ops), 401)
		events := h.expect(h.do("GET", "/api/v1/audit?action=user.password_reset", nil), 200)["events"].([]any)
		if len(events) != 1 || !strings.Contains(string(mustJSON(t, events[0])), `"revokedTokens":1`) {
			t.Fatalf("reset audited as %v", events)
		}

		// Asking to keep them keeps them.
		kept := h.userToken("kept@shop.cn", auth.RoleViewer)
		h.expect(h.do("POST", "/api/v1/auth/password", map[string]any{"currentPassword": "correct horse battery", "newPassword": "a brand new passphrase", "keepTokens": true},
			"Authorization", "Bearer "+kept), 200)
		h.expect(h.do("GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+kept), 200)
	})
}

// TestTokenCannotOutliveOrOutrankItsMinter: a token may mint tokens, but none that lives longer than itself or
// carries a higher role.
func TestTokenCannotOutliveOrOutrankItsMinter(t *testing.T) {
	h := sqliteHarness(t)
	soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	parent := h.expect(h.do("POST", "/api/v1/tokens", map[string]any{"name": "ci", "role": "editor", "expiresAt": soon}), 201)["token"].(string)
	as := []string{"Authorization", "Bearer " + parent}
	for _, body := range []map[string]any{
		{"name": "forever"},
		{"name": "later", "expiresAt": soon.Add(time.Minute)},
		{"name": "higher", "role": "admin", "expiresAt": soon.Add(-time.Minute)},
	} {
		if r := h.do("POST", "/api/v1/tokens", body, as...); r.status != http.StatusForbidden || r.code(t) != api.CodeForbidden {
			t.Fatalf("token %v minted by a token expiring at %s: %d %s", body, soon, r.status, r.body)
		}
	}
	h.expect(h.do("POST", "/api/v1/tokens", map[string]any{"name": "shorter", "role": "viewer", "expiresAt": soon.Add(-time.Minute)}, as...), 201)
	h.expect(h.do("POST", "/api/v1/tokens", map[string]any{"name": "same", "expiresAt": soon}, as...), 201)
}

// TestSignOutClearsCookiesOnTheirPath: signing out, and changing the password, expire both cookies with the path
// and attributes they were set with; a cookie cleared on another path stays in the browser.
func TestSignOutClearsCookiesOnTheirPath(t *testing.T) {
	h := sqliteHarness(t)
	if _, err := h.app.Auth.CreateUser(context.Background(), "web@shop.cn", "", "a long enough secret", auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	session := func() (string, string) {
		res := h.do("POST", "/api/v1/auth/login", map[string]string{"email": "web@shop.cn", "password": "a long enough secret"}, "Authorization", "")
		h.expect(res, 200)
		var cookie, csrf string
		for _, c := range (&http.Response{Header: res.header}).Cookies() {
			cookie += c.Name + "=" + c.Value + "; "
			if c.Name == api.CSRFCookie {
				csrf = c.Value
			}
		}
		return cookie, csrf
	}
	checkCleared := func(what string, res response) {
		t.Helper()
		cleared := map[string]bool{}
		for _, c := range (&http.Response{Header: res.header}).Cookies() {
			if c.Path != "/" || c.Value != "" || !(c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now()))) {
				t.Errorf("%s: cookie %s cleared as %q", what, c.Name, c.Raw)
				continue
			}
			if c.Name == api.SessionCookie && !c.HttpOnly {
				t.Errorf("%s: the session cookie is cleared without HttpOnly: %q", what, c.Raw)
			}
			cleared[c.Name] = true
		}
		if !cleared[api.SessionCookie] || !cleared[api.CSRFCookie] {
			t.Errorf("%s: Set-Cookie %v does not clear both cookies on Path=/", what, res.header.Values("Set-Cookie"))
		}
	}
	cookie, csrf := session()
	checkCleared("sign-out", h.expect2(h.do("POST", "/api/v1/auth/logout", nil, "Authorization", "", "Cookie", cookie, api.CSRFHeader, csrf), 204))
	cookie, csrf = session()
	res := h.do("POST", "/api/v1/auth/password", map[string]any{"currentPassword": "a long enough secret", "newPassword": "a longer and newer secret"},
		"Authorization", "", "Cookie", cookie, api.CSRFHeader, csrf)
	if res.status >= 300 {
		t.Fatalf("password change: %d %s", res.status, res.body)
	}
	checkCleared("password change", res)
}

// expect2 is expect for answers without a body worth reading: it returns the response itself.
func (h *harness) expect2(r response, status int) response {
	h.t.Helper()
	h.expect(r, status)
	return r
}

// TestFailedSignInsDoNotFloodTheAuditLog: a stream of failed sign-ins from one address becomes a handful of
// audit events carrying a count, not one event per attempt.
func TestFailedSignInsDoNotFloodTheAuditLog(t *testing.T) {
	behindProxy(t, func(t *testing.T, h *harness) {
		const attempts = 120
		for i := range attempts {
			h.signIn("203.0.113.200", fmt.Sprintf("user%d@shop.cn", i%2), "not the password")
		}
		var fromThere int
		for _, e := range h.expect(h.do("GET", "/api/v1/audit?limit=500", nil), 200)["events"].([]any) {
			if e.(map[string]any)["ip"] == "203.0.113.200" {
				fromThere++
			}
		}
		if fromThere == 0 || fromThere > 24 {
			t.Fatalf("%d audit events for %d failed sign-ins from one address, want between 1 and 24", fromThere, attempts)
		}
	})
}

// TestWebhookRejectionsAreBounded: a flood of refused webhook calls from one address is one counted row, and
// the table keeps at most its cap of rows per flow whatever the number of addresses.
func TestWebhookRejectionsAreBounded(t *testing.T) {
	behindProxy(t, func(t *testing.T, h *harness) {
		flow := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", `{"schema":1,"name":"provider","nodes":[
		  {"id":"cb","type":"test.hook"}],"edges":[]}`), 201)["id"].(string)
		const calls = 150
		for i := range calls {
			h.do("POST", "/hooks/"+flow, fmt.Sprintf("event_id=evt-%d&sign=bad", i), "Content-Type", "application/x-www-form-urlencoded",
				"X-Forwarded-For", "203.0.113.77", "Authorization", "")
		}
		list := h.expect(h.do("GET", "/api/v1/webhook-rejections?flow="+flow+"&limit=500", nil), 200)["rejections"].([]any)
		if len(list) != 1 {
			t.Fatalf("%d rows for %d refused calls from one address, want one counted row", len(list), calls)
		}
		if n, _ := list[0].(map[string]any)["count"].(float64); n < 2 || n > calls {
			t.Fatalf("the row counts %v calls, want the repeats it stands for", list[0])
		}
	})
}

// TestNamesRefuseControlCharacters: a NUL or a bidirectional control character (which can make a name display as
// something else: "evil\u202Etxt.exe") is refused in every name Ferry accepts, with one stable code.
func TestNamesRefuseControlCharacters(t *testing.T) {
	h := sqliteHarness(t)
	flowDoc := func(name, nodeName string) string {
		return string(mustJSON(t, map[string]any{"schema": 1, "name": name, "nodes": []any{
			map[string]any{"id": "in", "type": "core.manual", "name": nodeName}}, "edges": []any{}}))
	}
	saved := h.expect(h.do("POST", "/api/v1/flows", flowDoc("fine", "fine"), "Content-Type", "application/json"), 201)["id"].(string)
	user := h.expect(h.do("POST", "/api/v1/users", map[string]any{"email": "named@shop.cn", "password": "a long enough secret", "role": "viewer"}), 201)["id"].(string)
	for i, bad := range []string{"pay\x00ment", "invoice\u202Efdp.exe", "left\u2066isolate", "mark\u200F", "arabic\u061Cmark"} {
		for _, c := range []struct {
			what, method, path string
			body               any
		}{
			{"flow name", "POST", "/api/v1/flows", flowDoc(bad, "fine")},
			{"node name", "POST", "/api/v1/flows", flowDoc("fine", bad)},
			{"saved flow name", "PUT", "/api/v1/flows/" + saved, flowDoc(bad, "fine")},
			{"imported flow name", "POST", "/api/v1/flows/import", flowDoc(bad, "fine")},
			{"credential name", "POST", "/api/v1/credentials", map[string]any{"name": bad, "type": "http.bearer", "live": map[string]string{"token": "t0ken"}}},
			{"user name", "POST", "/api/v1/users", map[string]any{"email": fmt.Sprintf("x%d@shop.cn", i), "name": bad, "password": "a long enough secret", "role": "viewer"}},
			{"renamed user", "PATCH", "/api/v1/users/" + user, map[string]any{"name": bad}},
			{"token name", "POST", "/api/v1/tokens", map[string]any{"name": bad}},
		} {
			r := h.do(c.method, c.path, c.body, "Content-Type", "application/json")
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"code":"name_invalid"`) {
				t.Errorf("%s %q: %d %s", c.what, bad, r.status, r.body)
			}
		}
	}
}
