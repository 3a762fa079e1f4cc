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
	"golang.org/x/time/rate"

	"github.com/ferry-hq/ferry/server/store"
)

// Errors the API maps to answers. Sign-in failures are deliberately vague: they do not say whether the e-mail
// exists.
var (
	ErrBadCredentials  = errors.New("auth: wrong e-mail or password")
	ErrLocked          = errors.New("auth: too many failed sign-ins; try again later")
	ErrThrottled       = errors.New("auth: too many sign-in attempts from this address; slow down")
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
	// CSRF is the session's CSRF token, which unsafe requests authenticated by cookie must echo.
	CSRF string
	// SessionHash identifies the session (to sign out).
	SessionHash string
}

// Service is Ferry's authentication and authorisation. It is safe for concurrent use.
type Service struct {
	Store  store.AuthStore
	Logger *slog.Logger
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration
	// MaxFailures wrong passwords in a row lock an account for LockFor (defaults 5 and 15m).
	MaxFailures int
	LockFor     time.Duration

	hasUsers atomic.Bool
	setupMu  sync.Mutex

	ipMu     sync.Mutex
	ipLimits map[string]*rate.Limiter
	ipSwept  time.Time
}

// NewService returns a Service with defaults.
func NewService(st store.AuthStore, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{Store: st, Logger: logger, SessionTTL: 12 * time.Hour, MaxFailures: 5, LockFor: 15 * time.Minute}
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
	hash, err := HashPassword(password)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	u := &store.User{ID: uuid.NewString(), Email: addr.Address, Name: strings.TrimSpace(name), PasswordHash: hash, Role: string(role)}
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

// dummyHash is checked against when the e-mail is unknown, so a sign-in takes as long either way.
var dummyHash, _ = HashPassword("not-a-real-password-0000")

// allowIP is a token bucket per client address: 10 sign-in attempts, refilling one every 6 seconds.
func (s *Service) allowIP(ip string) bool {
	s.ipMu.Lock()
	defer s.ipMu.Unlock()
	now := time.Now()
	if s.ipLimits == nil || now.Sub(s.ipSwept) > time.Hour {
		s.ipLimits, s.ipSwept = map[string]*rate.Limiter{}, now
	}
	l := s.ipLimits[ip]
	if l == nil {
		l = rate.NewLimiter(rate.Every(6*time.Second), 10)
		s.ipLimits[ip] = l
	}
	return l.Allow()
}

// Login checks a password and opens a session. It returns the cookie value (shown to the browser only) and the
// session, whose CSRF token the browser must echo on writes.
func (s *Service) Login(ctx context.Context, email, password, ip string) (string, *store.Session, *store.User, error) {
	if !s.allowIP(ip) {
		s.Audit(ctx, nil, ip, "auth.login_throttled", "user", "", map[string]any{"email": strings.ToLower(email)})
		return "", nil, nil, ErrThrottled
	}
	u, err := s.Store.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		_, _ = CheckPassword(dummyHash, password)
		s.Audit(ctx, nil, ip, "auth.login_failed", "user", "", map[string]any{"email": strings.ToLower(email), "reason": "unknown e-mail"})
		return "", nil, nil, ErrBadCredentials
	}
	if err != nil {
		return "", nil, nil, err
	}
	now := time.Now()
	if u.LockedUntil.After(now) {
		s.Audit(ctx, nil, ip, "auth.login_failed", "user", u.ID, map[string]any{"email": u.Email, "reason": "locked"})
		return "", nil, nil, ErrLocked
	}
	ok, err := CheckPassword(u.PasswordHash, password)
	if err != nil {
		return "", nil, nil, err
	}
	if !ok || u.Disabled {
		reason := "wrong password"
		if u.Disabled {
			reason = "disabled"
		} else {
			u.FailedLogins++
			if u.FailedLogins >= s.MaxFailures {
				u.FailedLogins, u.LockedUntil = 0, now.Add(s.LockFor)
				reason = "wrong password; locked"
			}
			if err := s.Store.UpdateUser(ctx, u); err != nil {
				return "", nil, nil, err
			}
		}
		s.Audit(ctx, nil, ip, "auth.login_failed", "user", u.ID, map[string]any{"email": u.Email, "reason": reason})
		return "", nil, nil, ErrBadCredentials
	}
	if u.FailedLogins != 0 || !u.LockedUntil.IsZero() {
		u.FailedLogins, u.LockedUntil = 0, time.Time{}
		if err := s.Store.UpdateUser(ctx, u); err != nil {
			return "", nil, nil, err
		}
	}
	secret := randomToken(32)
	sess := &store.Session{IDHash: Hash(secret), UserID: u.ID, CSRF: randomToken(24), IP: ip, CreatedAt: now,
		ExpiresAt: now.Add(s.SessionTTL)}
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
	now := time.Now()
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
		return &Principal{Kind: "token", UserID: u.ID, Email: u.Email, Role: role, TokenID: t.ID}, nil
	}
	if sessionCookie != "" {
		sess, err := s.Store.GetSession(ctx, Hash(sessionCookie))
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrUnauthenticated
		}
		if err != nil {
			return nil, err
		}
		if !sess.ExpiresAt.After(now) {
			_ = s.Store.DeleteSession(ctx, sess.IDHash)
			return nil, ErrUnauthenticated
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

// CreateToken makes an API token for p's user with a role no higher than p's. The token is returned once.
func (s *Service) CreateToken(ctx context.Context, p *Principal, name string, role Role, expiresAt time.Time, ip string) (string, *store.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", nil, fmt.Errorf("%w: a token needs a name", ErrInvalid)
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
	if !expiresAt.IsZero() && !expiresAt.After(time.Now()) {
		return "", nil, fmt.Errorf("%w: expiresAt is in the past", ErrInvalid)
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
	if err := s.Store.RevokeToken(ctx, id, time.Now()); err != nil {
		return err
	}
	s.Audit(ctx, p, ip, "token.revoke", "token", id, map[string]any{"name": t.Name})
	return nil
}

// ChangePassword replaces p's password after checking the current one, and signs the user out everywhere.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next, ip string) error {
	u, err := s.Store.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	ok, err := CheckPassword(u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		s.Audit(ctx, p, ip, "user.password_change_failed", "user", u.ID, nil)
		return ErrBadCredentials
	}
	return s.setPassword(ctx, p, u, next, ip, "user.password_change")
}

// ResetPassword sets another user's password (an admin's help for a forgotten one) and signs them out.
func (s *Service) ResetPassword(ctx context.Context, p *Principal, userID, next, ip string) error {
	u, err := s.Store.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	return s.setPassword(ctx, p, u, next, ip, "user.password_reset")
}

func (s *Service) setPassword(ctx context.Context, p *Principal, u *store.User, next, ip, action string) error {
	hash, err := HashPassword(next)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	u.PasswordHash, u.FailedLogins, u.LockedUntil = hash, 0, time.Time{}
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return err
	}
	if err := s.Store.DeleteUserSessions(ctx, u.ID); err != nil {
		return err
	}
	s.Audit(ctx, p, ip, action, "user", u.ID, map[string]any{"email": u.Email})
	return nil
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
