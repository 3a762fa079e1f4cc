package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/internal/names"
	"github.com/ferry-hq/ferry/server/store"
)

// Errors the API maps to answers. Sign-in failures are deliberately vague: they do not say whether the e-mail
// exists (see SignInError).
var (
	ErrBadCredentials  = errors.New("auth: wrong e-mail or password")
	ErrUnauthenticated = errors.New("auth: not signed in")
	ErrSetupDone       = errors.New("auth: Ferry already has users")
	ErrInvalid         = errors.New("auth: invalid input")
	ErrForbidden       = errors.New("auth: not allowed")
	ErrLastAdmin       = errors.New("auth: the last active admin cannot be demoted or disabled")
)

// Principal is who is calling: a signed-in user (through a session cookie) or an API token.
type Principal struct {
	// Kind is "session" or "token".
	Kind    string
	UserID  string
	Email   string
	Role    Role
	TokenID string
	// TokenExpiresAt is when the calling token expires (zero: never); tokens it mints may not outlive it.
	TokenExpiresAt time.Time
	// CSRF is the session's CSRF token, which unsafe requests authenticated by cookie must echo.
	CSRF string
	// SessionHash identifies the session (to sign out).
	SessionHash string
}

// Service is Ferry's authentication and authorisation. It is safe for concurrent use.
type Service struct {
	Store  store.AuthStore
	Logger *slog.Logger
	// SessionTTL is how long a sign-in lasts at most (default 12h).
	SessionTTL time.Duration
	// IdleTimeout ends a session unused for this long (default 30m; 0: never).
	IdleTimeout time.Duration
	// Throttles are the sign-in and current-password throttling policies (DefaultThrottles).
	Throttles Throttles
	// Now is the clock (time.Now); tests move it.
	Now func() time.Time

	hashes   *hashLimiter
	hasUsers atomic.Bool
	setupMu  sync.Mutex
}

// DefaultIdleTimeout is how long an unused session lasts by default: ASVS 4.0 (3.3.2) asks level 2 applications
// for 30 minutes of inactivity at most.
const DefaultIdleTimeout = 30 * time.Minute

// NewService returns a Service with defaults: 12-hour sessions ended after 30 idle minutes, DefaultThrottles,
// and DefaultHashSlots password hashes at once, each sign-in waiting at most DefaultHashWait for a slot.
func NewService(st store.AuthStore, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{Store: st, Logger: logger, SessionTTL: 12 * time.Hour, IdleTimeout: DefaultIdleTimeout,
		Throttles: DefaultThrottles, Now: time.Now, hashes: newHashLimiter(DefaultHashSlots(), DefaultHashWait)}
}

// LimitHashing sets how many password hashes run at once and how long a caller waits for a slot before it is
// refused with a *BusyError (0: not at all). Call it before the service is used.
func (s *Service) LimitHashing(slots int, wait time.Duration) {
	s.hashes = newHashLimiter(slots, wait)
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// NeedsSetup reports whether Ferry has no user yet: the API then refuses everything but the setup route.
func (s *Service) NeedsSetup(ctx context.Context) (bool, error) {
	if s.hasUsers.Load() {
		return false, nil
	}
	n, err := s.Store.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	if n > 0 {
		s.hasUsers.Store(true)
	}
	return n == 0, nil
}

// CreateUser validates and stores a new user.
func (s *Service) CreateUser(ctx context.Context, email, name, password string, role Role) (*store.User, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || addr.Name != "" {
		return nil, fmt.Errorf("%w: %q is not an e-mail address", ErrInvalid, email)
	}
	if !role.Valid() {
		return nil, fmt.Errorf("%w: role must be admin, editor, operator or viewer", ErrInvalid)
	}
	name = strings.TrimSpace(name)
	if err := names.Check(name); err != nil {
		return nil, fmt.Errorf("check user name: %w", err)
	}
	if err := CheckPasswordPolicy(password, addr.Address, name); err != nil {
		return nil, err
	}
	hash, err := s.hashes.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	u := &store.User{ID: uuid.NewString(), Email: addr.Address, Name: name, PasswordHash: hash, Role: string(role)}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("%w: a user with e-mail %s exists", ErrInvalid, u.Email)
		}
		return nil, err
	}
	s.hasUsers.Store(true)
	return u, nil
}

// Setup creates the first admin; once any user exists it fails with ErrSetupDone. (Two setups racing in two
// processes could both succeed; setup is a one-person, one-time step.)
func (s *Service) Setup(ctx context.Context, email, password string) (*store.User, error) {
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	need, err := s.NeedsSetup(ctx)
	if err != nil {
		return nil, err
	}
	if !need {
		return nil, ErrSetupDone
	}
	return s.CreateUser(ctx, email, "", password, RoleAdmin)
}

// Bootstrap creates the first admin from the environment (FERRY_ADMIN_EMAIL, FERRY_ADMIN_PASSWORD) when no
// user exists; with users present it does nothing.
func (s *Service) Bootstrap(ctx context.Context, email, password string) error {
	if email == "" {
		return nil
	}
	u, err := s.Setup(ctx, email, password)
	if errors.Is(err, ErrSetupDone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("first admin from FERRY_ADMIN_EMAIL: %w", err)
	}
	s.Audit(ctx, nil, "", "user.create", "user", u.ID, map[string]any{"email": u.Email, "role": u.Role, "via": "environment"})
	return nil
}

// randomToken returns n random bytes, URL-safe base64 encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is how sessions and tokens are stored: SHA-256, hex. They are 256-bit random values, so a fast hash is
// enough; the database never holds what a client presents.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// dummyHash is checked against when the e-mail is unknown, so a sign-in takes as long either way. It is the hash
// of a password nobody has, with the same argon2id parameters as real ones, written out rather than computed at
// start: computing it would cost every process 64 MiB before it serves anything.
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$08U/JWTzyQhhVnlbXrRI2g$0F9e+glE/1Wffghoc8XeBgmnG7UduUZwYbq1cYkwcOE"

// maxAuditedEmail bounds the e-mail a failed sign-in's audit event repeats: the caller typed it.
const maxAuditedEmail = 254

// auditedFailure says whether the n-th failure counted against an address is written to the audit log: the
// first ten, then the 16th, 32nd, 64th…, each carrying its count. A flood from one address is a handful of
// events saying how big it was, not one event per attempt.
func auditedFailure(n int) bool { return n <= 10 || n&(n-1) == 0 }

// Login checks a password and opens a session. It returns the cookie value (shown to the browser only) and the
// session, whose CSRF token the browser must echo on writes. Every refusal is a *SignInError (see
// Throttles); a server too busy hashing passwords answers a *BusyError before anything about the account is
// looked at.
func (s *Service) Login(ctx context.Context, email, password, ip string) (string, *store.Session, *store.User, error) {
	now := s.now()
	typed := strings.ToLower(strings.TrimSpace(email))
	block := addressBlock(ip)
	t := s.Throttles
	known, err := s.familiar(ctx, typed, block, now)
	if err != nil {
		return "", nil, nil, err
	}
	keys := []counted{
		{key: throttleKey("address", block), policy: t.Address},
		{key: throttleKey("account-address", typed, block), policy: t.AccountAddress},
	}
	if !known {
		keys = append(keys, counted{key: throttleKey("account", typed), policy: t.Account})
	}
	done, allowed, wait, err := s.countAttempt(ctx, now, keys)
	if err != nil {
		return "", nil, nil, err
	}
	fromAddress := done[0].state.Failures
	refuse := func(userID, reason string) error {
		if auditedFailure(fromAddress) {
			audited := typed
			if len(audited) > maxAuditedEmail {
				audited = audited[:maxAuditedEmail]
			}
			s.Audit(ctx, nil, ip, "auth.login_failed", "user", userID, map[string]any{"email": audited, "reason": reason,
				"failuresFromAddress": fromAddress})
		}
		return &SignInError{RetryAfter: wait}
	}
	if !allowed {
		return "", nil, nil, refuse("", "throttled")
	}

	var u *store.User
	var ok bool
	herr := s.hashes.do(ctx, func() {
		var lerr error
		u, lerr = s.Store.GetUserByEmail(ctx, typed)
		switch {
		case errors.Is(lerr, store.ErrNotFound):
			u = nil
			_, _ = CheckPassword(dummyHash, password)
		case lerr != nil:
			err = lerr
		default:
			ok, err = CheckPassword(u.PasswordHash, password)
		}
	})
	if herr != nil {
		s.uncountAll(ctx, done) // nothing was checked
		return "", nil, nil, herr
	}
	if err != nil {
		s.uncountAll(ctx, done)
		return "", nil, nil, err
	}
	switch {
	case u == nil:
		return "", nil, nil, refuse("", "unknown e-mail")
	case !ok:
		return "", nil, nil, refuse(u.ID, "wrong password")
	case u.Disabled:
		return "", nil, nil, refuse(u.ID, "disabled")
	}

	// The right password: this attempt was no failure, and this address is now one the account signs in from.
	if err := s.Store.DeleteThrottle(ctx, done[1].key); err != nil {
		s.Logger.Warn("clearing a sign-in throttle failed", "err", err)
	}
	s.uncountAll(ctx, append([]counted{done[0]}, done[2:]...))
	if err := s.remember(ctx, typed, block, now); err != nil {
		s.Logger.Warn("remembering a sign-in address failed", "err", err)
	}
	secret := randomToken(32)
	sess := &store.Session{IDHash: Hash(secret), UserID: u.ID, CSRF: randomToken(24), IP: ip, CreatedAt: now,
		ExpiresAt: now.Add(s.SessionTTL), LastSeenAt: now}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return "", nil, nil, err
	}
	s.Audit(ctx, &Principal{Kind: "session", UserID: u.ID, Email: u.Email, Role: Role(u.Role)}, ip, "auth.login", "user", u.ID, nil)
	return secret, sess, u, nil
}

// Logout ends the principal's session.
func (s *Service) Logout(ctx context.Context, p *Principal, ip string) error {
	if p.SessionHash == "" {
		return nil
	}
	if err := s.Store.DeleteSession(ctx, p.SessionHash); err != nil {
		return err
	}
	s.Audit(ctx, p, ip, "auth.logout", "user", p.UserID, nil)
	return nil
}

// Authenticate finds who presents bearer (an API token) or sessionCookie. It returns ErrUnauthenticated when
// neither is valid: unknown, expired, revoked, or belonging to a disabled user.
func (s *Service) Authenticate(ctx context.Context, bearer, sessionCookie string) (*Principal, error) {
	now := s.now()
	if bearer != "" {
		t, err := s.Store.GetTokenByHash(ctx, Hash(bearer))
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrUnauthenticated
		}
		if err != nil {
			return nil, err
		}
		if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && !t.ExpiresAt.After(now)) {
			return nil, ErrUnauthenticated
		}
		u, err := s.activeUser(ctx, t.UserID)
		if err != nil {
			return nil, err
		}
		// A token never outranks its owner: if the owner was demoted, so is the token.
		role := Role(t.Role)
		if !Role(u.Role).Covers(role) {
			role = Role(u.Role)
		}
		if now.Sub(t.LastUsedAt) > time.Minute {
			if err := s.Store.TouchToken(ctx, t.ID, now); err != nil {
				s.Logger.Warn("recording a token's last use failed", "token", t.ID, "err", err)
			}
		}
		return &Principal{Kind: "token", UserID: u.ID, Email: u.Email, Role: role, TokenID: t.ID, TokenExpiresAt: t.ExpiresAt}, nil
	}
	if sessionCookie != "" {
		sess, err := s.Store.GetSession(ctx, Hash(sessionCookie))
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrUnauthenticated
		}
		if err != nil {
			return nil, err
		}
		lastSeen := sess.LastSeenAt
		if lastSeen.IsZero() {
			lastSeen = sess.CreatedAt
		}
		idle := s.IdleTimeout > 0 && now.Sub(lastSeen) >= s.IdleTimeout
		if !sess.ExpiresAt.After(now) || idle {
			_ = s.Store.DeleteSession(ctx, sess.IDHash)
			return nil, ErrUnauthenticated
		}
		if now.Sub(lastSeen) >= s.touchEvery() {
			if err := s.Store.TouchSession(ctx, sess.IDHash, now); err != nil {
				s.Logger.Warn("recording a session's last use failed", "err", err)
			}
		}
		u, err := s.activeUser(ctx, sess.UserID)
		if err != nil {
			return nil, err
		}
		return &Principal{Kind: "session", UserID: u.ID, Email: u.Email, Role: Role(u.Role), CSRF: sess.CSRF,
			SessionHash: sess.IDHash}, nil
	}
	return nil, ErrUnauthenticated
}

// touchEvery is how stale a session's last-seen time may get before a request records it again: a minute, so
// an active browser costs one write a minute, or less for idle timeouts short enough to need it.
func (s *Service) touchEvery() time.Duration {
	if s.IdleTimeout > 0 {
		return min(time.Minute, s.IdleTimeout/4)
	}
	return time.Minute
}

func (s *Service) activeUser(ctx context.Context, id string) (*store.User, error) {
	u, err := s.Store.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, ErrUnauthenticated
	}
	return u, nil
}

// TokenPrefix starts every API token, so a leaked one is recognisable in logs and by secret scanners.
const TokenPrefix = "fry_"

// CreateToken makes an API token for p's user with a role no higher than p's. A token minting a token passes
// on its limits: the new one expires no later than the caller (so it expires when the caller does) and carries
// no higher role, so a leaked short-lived token cannot be turned into a lasting one. The token is returned once.
func (s *Service) CreateToken(ctx context.Context, p *Principal, name string, role Role, expiresAt time.Time, ip string) (string, *store.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", nil, fmt.Errorf("%w: a token needs a name", ErrInvalid)
	}
	if err := names.Check(name); err != nil {
		return "", nil, fmt.Errorf("check token name: %w", err)
	}
	if role == "" {
		role = p.Role
	}
	if !role.Valid() {
		return "", nil, fmt.Errorf("%w: role must be admin, editor, operator or viewer", ErrInvalid)
	}
	if !p.Role.Covers(role) {
		return "", nil, fmt.Errorf("%w: a %s cannot create a token with the %s role", ErrForbidden, p.Role, role)
	}
	if !expiresAt.IsZero() && !expiresAt.After(s.now()) {
		return "", nil, fmt.Errorf("%w: expiresAt is in the past", ErrInvalid)
	}
	if p.Kind == "token" && !p.TokenExpiresAt.IsZero() {
		if expiresAt.IsZero() {
			return "", nil, fmt.Errorf("%w: this token expires at %s, so the tokens it creates must expire by then too: set expiresAt",
				ErrForbidden, p.TokenExpiresAt.UTC().Format(time.RFC3339))
		}
		if expiresAt.After(p.TokenExpiresAt) {
			return "", nil, fmt.Errorf("%w: a token cannot create a token that outlives it (this one expires at %s)",
				ErrForbidden, p.TokenExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	secret := TokenPrefix + randomToken(32)
	t := &store.APIToken{ID: uuid.NewString(), Name: name, UserID: p.UserID, Role: string(role), Prefix: secret[:len(TokenPrefix)+6],
		SecretHash: Hash(secret), ExpiresAt: expiresAt}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	s.Audit(ctx, p, ip, "token.create", "token", t.ID, map[string]any{"name": name, "role": role})
	return secret, t, nil
}

// RevokeToken revokes a token of p's own, or any token when p may manage users.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, id, ip string) error {
	t, err := s.Store.GetToken(ctx, id)
	if err != nil {
		return err
	}
	if t.UserID != p.UserID && !Allowed(p.Role, PermUsersManage) {
		return store.ErrNotFound // other people's tokens are not even visible
	}
	if err := s.Store.RevokeToken(ctx, id, s.now()); err != nil {
		return err
	}
	s.Audit(ctx, p, ip, "token.revoke", "token", id, map[string]any{"name": t.Name})
	return nil
}

// PasswordResult says what a password change or reset did besides changing the password.
type PasswordResult struct {
	// RevokedTokens is how many of the user's API tokens were revoked.
	RevokedTokens int64 `json:"revokedTokens"`
	// KeptTokens is true when the caller asked to keep them.
	KeptTokens bool `json:"keptTokens"`
}

// ChangePassword replaces p's password after checking the current one, signs the user out everywhere and,
// unless keepTokens, revokes their API tokens: whoever knew the old password may have minted some. Wrong
// current passwords are throttled per user (Throttles.CurrentPass), since a stolen session could otherwise
// guess it; a throttled check is a *ThrottledError.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string, keepTokens bool, ip string) (PasswordResult, error) {
	u, err := s.Store.GetUser(ctx, p.UserID)
	if err != nil {
		return PasswordResult{}, err
	}
	now := s.now()
	done, allowed, wait, err := s.countAttempt(ctx, now, []counted{{key: throttleKey("current-password", u.ID), policy: s.Throttles.CurrentPass}})
	if err != nil {
		return PasswordResult{}, err
	}
	if !allowed {
		s.Audit(ctx, p, ip, "user.password_change_failed", "user", u.ID, map[string]any{"reason": "throttled"})
		return PasswordResult{}, &ThrottledError{RetryAfter: wait}
	}
	ok, err := s.hashes.check(ctx, u.PasswordHash, current)
	if err != nil {
		s.uncountAll(ctx, done)
		return PasswordResult{}, err
	}
	if !ok {
		s.Audit(ctx, p, ip, "user.password_change_failed", "user", u.ID, map[string]any{"reason": "wrong current password"})
		return PasswordResult{}, ErrBadCredentials
	}
	if err := s.Store.DeleteThrottle(ctx, done[0].key); err != nil {
		s.Logger.Warn("clearing a password throttle failed", "err", err)
	}
	return s.setPassword(ctx, p, u, next, keepTokens, ip, "user.password_change")
}

// ResetPassword sets another user's password (an admin's help for a forgotten one), signs them out and, unless
// keepTokens, revokes their API tokens.
func (s *Service) ResetPassword(ctx context.Context, p *Principal, userID, next string, keepTokens bool, ip string) (PasswordResult, error) {
	u, err := s.Store.GetUser(ctx, userID)
	if err != nil {
		return PasswordResult{}, err
	}
	return s.setPassword(ctx, p, u, next, keepTokens, ip, "user.password_reset")
}

func (s *Service) setPassword(ctx context.Context, p *Principal, u *store.User, next string, keepTokens bool, ip, action string) (PasswordResult, error) {
	if err := CheckPasswordPolicy(next, u.Email, u.Name); err != nil {
		return PasswordResult{}, err
	}
	hash, err := s.hashes.hash(ctx, next)
	if err != nil {
		return PasswordResult{}, err
	}
	u.PasswordHash = hash
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return PasswordResult{}, err
	}
	if err := s.Store.DeleteUserSessions(ctx, u.ID); err != nil {
		return PasswordResult{}, err
	}
	res := PasswordResult{KeptTokens: keepTokens}
	if !keepTokens {
		if res.RevokedTokens, err = s.Store.RevokeUserTokens(ctx, u.ID, s.now()); err != nil {
			return PasswordResult{}, err
		}
	}
	s.Audit(ctx, p, ip, action, "user", u.ID, map[string]any{"email": u.Email, "revokedTokens": res.RevokedTokens, "keptTokens": keepTokens})
	return res, nil
}

// UserChange is an admin's edit of a user; nil fields stay as they are.
type UserChange struct {
	Name     *string `json:"name"`
	Role     *Role   `json:"role"`
	Disabled *bool   `json:"disabled"`
}

// UpdateUser applies ch. Demoting or disabling the last active admin is refused, so Ferry always has one. A
// role change or disabling signs the user out.
func (s *Service) UpdateUser(ctx context.Context, p *Principal, id string, ch UserChange, ip string) (*store.User, error) {
	u, err := s.Store.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	before := *u
	if ch.Name != nil {
		u.Name = strings.TrimSpace(*ch.Name)
		if err := names.Check(u.Name); err != nil {
			return nil, fmt.Errorf("check user name: %w", err)
		}
	}
	if ch.Role != nil {
		if !ch.Role.Valid() {
			return nil, fmt.Errorf("%w: role must be admin, editor, operator or viewer", ErrInvalid)
		}
		u.Role = string(*ch.Role)
	}
	if ch.Disabled != nil {
		u.Disabled = *ch.Disabled
	}
	wasAdmin := before.Role == string(RoleAdmin) && !before.Disabled
	if wasAdmin && (u.Role != string(RoleAdmin) || u.Disabled) {
		users, err := s.Store.ListUsers(ctx)
		if err != nil {
			return nil, err
		}
		admins := 0
		for _, o := range users {
			if o.Role == string(RoleAdmin) && !o.Disabled {
				admins++
			}
		}
		if admins <= 1 {
			return nil, ErrLastAdmin
		}
	}
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	if u.Role != before.Role || u.Disabled != before.Disabled {
		if err := s.Store.DeleteUserSessions(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	s.Audit(ctx, p, ip, "user.update", "user", u.ID, map[string]any{"email": u.Email,
		"role": map[string]string{"from": before.Role, "to": u.Role}, "disabled": u.Disabled})
	return u, nil
}

// Audit appends an event to the audit log. p nil means the system (or an anonymous caller when ip is set).
// Detail must never hold a secret. A failure to write is logged: it must not undo the change it describes.
func (s *Service) Audit(ctx context.Context, p *Principal, ip, action, targetType, targetID string, detail any) {
	id, err := uuid.NewV7()
	if err != nil {
		s.Logger.Error("audit event id", "err", err)
		return
	}
	e := &store.AuditEvent{ID: id.String(), IP: ip, Action: action, TargetType: targetType, TargetID: targetID}
	switch {
	case p != nil && p.Kind == "token":
		e.ActorType, e.ActorID, e.ActorEmail = "token", p.UserID, p.Email
		if detail == nil {
			detail = map[string]any{}
		}
		if m, ok := detail.(map[string]any); ok {
			m["tokenId"] = p.TokenID
		}
	case p != nil:
		e.ActorType, e.ActorID, e.ActorEmail = "user", p.UserID, p.Email
	case ip != "":
		e.ActorType = "anonymous"
	default:
		e.ActorType = "system"
	}
	if detail != nil {
		if e.Detail, err = json.Marshal(detail); err != nil {
			s.Logger.Error("audit event detail", "action", action, "err", err)
		}
	}
	if err := s.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.Logger.Error("audit event not recorded", "action", action, "target", targetID, "err", err)
	}
}
