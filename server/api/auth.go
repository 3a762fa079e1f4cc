package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store"
)

// Cookie names. The session cookie is HTTP-only; the CSRF cookie is readable by the web app, which echoes it in
// the X-CSRF-Token header of every write (double submit).
const (
	SessionCookie = "ferry_session"
	CSRFCookie    = "ferry_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// Stable codes of authentication and authorisation failures.
const (
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
	CodeSetupRequired   = "setup_required"
	CodeCSRF            = "csrf_invalid"
	CodeBadCredentials  = "bad_credentials"
	CodeThrottled       = "too_many_attempts"
	CodeInvalidInput    = "invalid_input"
	CodePasswordWeak    = "password_weak"
	CodeSignInBusy      = "sign_in_busy"
)

const principalKey = "ferry.principal"

// principal is the caller of a guarded route.
func principal(c fiber.Ctx) *auth.Principal {
	p, _ := c.Locals(principalKey).(*auth.Principal)
	return p
}

// guard enforces the route's permission (I6): public routes pass; every other route needs a valid session or
// API token whose role holds the permission, a CSRF token for writes made with a session cookie, and a Ferry
// that has been set up.
func (a *API) guard(r Route) fiber.Handler {
	return func(c fiber.Ctx) error {
		if r.Permission == PermPublic {
			return c.Next()
		}
		if r.TestSecret {
			presented, err := a.testSecretPresented(c)
			if err != nil {
				return err
			}
			if presented {
				return c.Next()
			}
			if !signInPresented(c) {
				return errWebhookNotFound()
			}
		}
		if a.Auth == nil {
			return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "authentication is not configured"}
		}
		ctx := c.Context()
		need, err := a.Auth.NeedsSetup(ctx)
		if err != nil {
			return err
		}
		if need {
			return &Error{Status: http.StatusForbidden, Code: CodeSetupRequired,
				Message: "Ferry has no users yet: create the first admin with POST /api/v1/setup (or open the web app)"}
		}
		bearer := ""
		if h := c.Get("Authorization"); h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") || token == "" {
				return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "use Authorization: Bearer <token>"}
			}
			bearer = strings.TrimSpace(token)
		}
		p, err := a.Auth.Authenticate(ctx, bearer, c.Cookies(SessionCookie))
		if errors.Is(err, auth.ErrUnauthenticated) {
			c.Set("WWW-Authenticate", `Bearer realm="ferry"`)
			return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "sign in or send an API token"}
		}
		if err != nil {
			return err
		}
		if p.Kind == "session" && !safeMethod(c.Method()) {
			sent := c.Get(CSRFHeader)
			if sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(p.CSRF)) != 1 {
				return &Error{Status: http.StatusForbidden, Code: CodeCSRF,
					Message: "writes made with a session cookie must send the ferry_csrf cookie's value in X-CSRF-Token"}
			}
		}
		if !auth.Allowed(p.Role, string(r.Permission)) {
			return &Error{Status: http.StatusForbidden, Code: CodeForbidden,
				Message: "the " + string(p.Role) + " role may not do this (needs " + string(r.Permission) + ")"}
		}
		c.Locals(principalKey, p)
		return c.Next()
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// audit records a change made by the caller of c.
func (a *API) audit(c fiber.Ctx, action, targetType, targetID string, detail any) {
	if a.Auth != nil {
		a.Auth.Audit(c.Context(), principal(c), c.IP(), action, targetType, targetID, detail)
	}
}

// retryAfter sets the Retry-After header to d in whole seconds, rounded up.
func retryAfter(c fiber.Ctx, d time.Duration) {
	if d > 0 {
		c.Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
}

// authError maps an auth error to an API error, and sets Retry-After when the error says when to try again. A
// refused sign-in is one answer whatever the reason (unknown e-mail, wrong password, disabled user, throttled),
// and its Retry-After depends only on what was typed and where from.
func authError(c fiber.Ctx, err error) error {
	var signIn *auth.SignInError
	var throttled *auth.ThrottledError
	var busy *auth.BusyError
	switch {
	case errors.As(err, &signIn):
		retryAfter(c, signIn.RetryAfter)
		return &Error{Status: http.StatusUnauthorized, Code: CodeBadCredentials,
			Message: "wrong e-mail or password; after several failures, wait as long as Retry-After says before trying again"}
	case errors.As(err, &throttled):
		retryAfter(c, throttled.RetryAfter)
		return &Error{Status: http.StatusTooManyRequests, Code: CodeThrottled,
			Message: "too many wrong passwords; wait as long as Retry-After says before trying again"}
	case errors.As(err, &busy):
		retryAfter(c, busy.RetryAfter)
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeSignInBusy,
			Message: "too many sign-ins and password changes at once; try again shortly"}
	}
	return fromAuth(err)
}

// fromAuth maps auth errors to API errors.
func fromAuth(err error) error {
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		return &Error{Status: http.StatusUnauthorized, Code: CodeBadCredentials, Message: "wrong e-mail or password"}
	case errors.Is(err, auth.ErrWeakPassword):
		return &Error{Status: http.StatusBadRequest, Code: CodePasswordWeak, Message: strings.TrimPrefix(err.Error(), "auth: password refused: ")}
	case errors.Is(err, auth.ErrSetupDone):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "Ferry is already set up; sign in instead"}
	case errors.Is(err, auth.ErrLastAdmin):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "the last active admin cannot be demoted or disabled"}
	case errors.Is(err, auth.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: strings.TrimPrefix(err.Error(), "auth: not allowed: ")}
	case errors.Is(err, auth.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidInput, Message: strings.TrimPrefix(err.Error(), "auth: invalid input: ")}
	}
	return fromStore(err, "user or token")
}

// UserView is a user as the API shows it: never the password hash.
type UserView struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name,omitempty"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"createdAt"`
}

func userView(u *store.User) UserView {
	return UserView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
}

// TokenView is an API token as listed: never the token itself.
type TokenView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	UserID     string    `json:"userId"`
	Role       string    `json:"role"`
	Prefix     string    `json:"prefix"`
	ExpiresAt  time.Time `json:"expiresAt,omitzero"`
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
	RevokedAt  time.Time `json:"revokedAt,omitzero"`
	CreatedAt  time.Time `json:"createdAt"`
}

func tokenView(t *store.APIToken) TokenView {
	return TokenView{ID: t.ID, Name: t.Name, UserID: t.UserID, Role: t.Role, Prefix: t.Prefix, ExpiresAt: t.ExpiresAt,
		LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt, CreatedAt: t.CreatedAt}
}

type credentialsBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (a *API) setupStatus(c fiber.Ctx) error {
	need, err := a.Auth.NeedsSetup(c.Context())
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, fiber.Map{"required": need})
}

// setup creates the first admin and answers with a first API token for scripts, shown once, and a session for
// the browser that made the call.
func (a *API) setup(c fiber.Ctx) error {
	var body credentialsBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	u, err := a.Auth.Setup(c.Context(), body.Email, body.Password)
	if err != nil {
		return authError(c, err)
	}
	p := &auth.Principal{Kind: "session", UserID: u.ID, Email: u.Email, Role: auth.Role(u.Role)}
	a.Auth.Audit(c.Context(), p, c.IP(), "user.create", "user", u.ID, map[string]any{"email": u.Email, "role": u.Role, "via": "setup"})
	token, t, err := a.Auth.CreateToken(c.Context(), p, "first admin token", auth.RoleAdmin, time.Time{}, c.IP())
	if err != nil {
		return fromAuth(err)
	}
	if err := a.startSession(c, body.Email, body.Password); err != nil {
		return err
	}
	return ok(c, http.StatusCreated, fiber.Map{"user": userView(u), "token": token, "tokenInfo": tokenView(t)})
}

func (a *API) startSession(c fiber.Ctx, email, password string) error {
	secret, sess, _, err := a.Auth.Login(c.Context(), email, password, c.IP())
	if err != nil {
		return authError(c, err)
	}
	a.setSessionCookies(c, secret, sess.CSRF, sess.ExpiresAt)
	c.Set("X-CSRF-Token", sess.CSRF)
	return nil
}

// setSessionCookies sets the session cookie (HTTP-only, so scripts cannot read it) and the CSRF cookie (read by
// the web app, which echoes it in X-CSRF-Token), both on the whole site. Clearing them must use the same
// attributes: a browser only replaces a cookie of the same name, path and domain.
func (a *API) setSessionCookies(c fiber.Ctx, session, csrf string, expires time.Time) {
	secure := a.tlsRequest(c) // Fiber v3's Protocol() is the HTTP version, not the scheme
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: session, Path: "/", HTTPOnly: true, Secure: secure,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: expires})
	c.Cookie(&fiber.Cookie{Name: CSRFCookie, Value: csrf, Path: "/", Secure: secure,
		SameSite: fiber.CookieSameSiteStrictMode, Expires: expires})
}

// clearSessionCookies expires both cookies with the attributes setSessionCookies gave them. (Fiber's
// ClearCookie sends no Path, so the browser would look for cookies on the request's own path and keep these.)
func (a *API) clearSessionCookies(c fiber.Ctx) {
	a.setSessionCookies(c, "", "", time.Unix(0, 0))
}

func (a *API) login(c fiber.Ctx) error {
	var body credentialsBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if err := a.startSession(c, body.Email, body.Password); err != nil {
		return err
	}
	u, err := a.Store.GetUserByEmail(c.Context(), body.Email)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, fiber.Map{"user": userView(u), "csrfToken": c.GetRespHeader("X-CSRF-Token")})
}

func (a *API) logout(c fiber.Ctx) error {
	if err := a.Auth.Logout(c.Context(), principal(c), c.IP()); err != nil {
		return err
	}
	a.clearSessionCookies(c)
	return c.SendStatus(http.StatusNoContent)
}

func (a *API) me(c fiber.Ctx) error {
	p := principal(c)
	u, err := a.Store.GetUser(c.Context(), p.UserID)
	if err != nil {
		return fromStore(err, "user")
	}
	return ok(c, http.StatusOK, fiber.Map{"user": userView(u), "role": p.Role, "via": p.Kind, "tokenId": p.TokenID, "permissions": auth.RolePermissions(p.Role)})
}

func (a *API) changePassword(c fiber.Ctx) error {
	var body struct {
		Current    string `json:"currentPassword"`
		New        string `json:"newPassword"`
		KeepTokens bool   `json:"keepTokens"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	res, err := a.Auth.ChangePassword(c.Context(), principal(c), body.Current, body.New, body.KeepTokens, c.IP())
	if err != nil {
		return authError(c, err)
	}
	a.clearSessionCookies(c)
	return ok(c, http.StatusOK, res)
}

func (a *API) listUsers(c fiber.Ctx) error {
	users, err := a.Store.ListUsers(c.Context())
	if err != nil {
		return err
	}
	out := make([]UserView, len(users))
	for i := range users {
		out[i] = userView(&users[i])
	}
	return ok(c, http.StatusOK, fiber.Map{"users": out})
}

func (a *API) createUser(c fiber.Ctx) error {
	var body struct {
		Email    string    `json:"email"`
		Name     string    `json:"name"`
		Password string    `json:"password"`
		Role     auth.Role `json:"role"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	u, err := a.Auth.CreateUser(c.Context(), body.Email, body.Name, body.Password, body.Role)
	if err != nil {
		return authError(c, err)
	}
	a.audit(c, "user.create", "user", u.ID, map[string]any{"email": u.Email, "role": u.Role})
	return ok(c, http.StatusCreated, userView(u))
}

func (a *API) updateUser(c fiber.Ctx) error {
	var ch auth.UserChange
	if err := decodeJSON(c, &ch); err != nil {
		return err
	}
	u, err := a.Auth.UpdateUser(c.Context(), principal(c), c.Params("id"), ch, c.IP())
	if err != nil {
		return fromAuth(err)
	}
	return ok(c, http.StatusOK, userView(u))
}

func (a *API) resetPassword(c fiber.Ctx) error {
	var body struct {
		Password   string `json:"password"`
		KeepTokens bool   `json:"keepTokens"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	res, err := a.Auth.ResetPassword(c.Context(), principal(c), c.Params("id"), body.Password, body.KeepTokens, c.IP())
	if err != nil {
		return authError(c, err)
	}
	return ok(c, http.StatusOK, res)
}

// listTokens shows the caller's tokens, or everyone's to an admin asking with ?all=true.
func (a *API) listTokens(c fiber.Ctx) error {
	p := principal(c)
	userID := p.UserID
	if c.Query("all") == "true" && auth.Allowed(p.Role, auth.PermUsersManage) {
		userID = ""
	}
	tokens, err := a.Store.ListTokens(c.Context(), userID)
	if err != nil {
		return err
	}
	out := make([]TokenView, len(tokens))
	for i := range tokens {
		out[i] = tokenView(&tokens[i])
	}
	return ok(c, http.StatusOK, fiber.Map{"tokens": out})
}

func (a *API) createToken(c fiber.Ctx) error {
	var body struct {
		Name      string    `json:"name"`
		Role      auth.Role `json:"role"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	token, t, err := a.Auth.CreateToken(c.Context(), principal(c), body.Name, body.Role, body.ExpiresAt, c.IP())
	if err != nil {
		return fromAuth(err)
	}
	return ok(c, http.StatusCreated, fiber.Map{"token": token, "tokenInfo": tokenView(t)})
}

func (a *API) revokeToken(c fiber.Ctx) error {
	if err := a.Auth.RevokeToken(c.Context(), principal(c), c.Params("id"), c.IP()); err != nil {
		return fromStore(err, "token")
	}
	return c.SendStatus(http.StatusNoContent)
}

func (a *API) listAudit(c fiber.Ctx) error {
	f := store.AuditFilter{Action: c.Query("action"), ActorID: c.Query("actor"), TargetType: c.Query("targetType"),
		TargetID: c.Query("target"), Cursor: c.Query("cursor")}
	var err error
	if f.Since, f.Until, f.Limit, err = pageWindow(c); err != nil {
		return err
	}
	page, err := a.Store.ListAudit(c.Context(), f)
	if err != nil {
		return err
	}
	out := make([]AuditView, len(page.Events))
	for i, e := range page.Events {
		out[i] = AuditView{ID: e.ID, At: e.At, ActorType: e.ActorType, ActorID: e.ActorID, ActorEmail: e.ActorEmail, IP: e.IP,
			Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Detail: e.Detail}
	}
	return ok(c, http.StatusOK, fiber.Map{"events": out, "nextCursor": page.NextCursor})
}

// AuditView is an audit event as the API shows it.
type AuditView struct {
	ID         string          `json:"id"`
	At         time.Time       `json:"at"`
	ActorType  string          `json:"actorType"`
	ActorID    string          `json:"actorId,omitempty"`
	ActorEmail string          `json:"actorEmail,omitempty"`
	IP         string          `json:"ip,omitempty"`
	Action     string          `json:"action"`
	TargetType string          `json:"targetType,omitempty"`
	TargetID   string          `json:"targetId,omitempty"`
	Detail     json.RawMessage `json:"detail,omitempty"`
}
