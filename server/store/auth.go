package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// User is a person who signs in to Ferry. Role is one of the auth package's roles.
type User struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string
	Role         string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Session is a signed-in browser. IDHash is the SHA-256 of the cookie value, which only the browser holds.
type Session struct {
	IDHash    string
	UserID    string
	CSRF      string
	IP        string
	CreatedAt time.Time
	ExpiresAt time.Time
	// LastSeenAt is when the session was last used, recorded at most about once a minute (zero: CreatedAt), for
	// the idle timeout.
	LastSeenAt time.Time
}

// APIToken is a credential for scripts, carrying its own role. SecretHash is the SHA-256 of the token, which is
// shown once; Prefix is its first characters, so people can tell their tokens apart.
type APIToken struct {
	ID         string
	Name       string
	UserID     string
	Role       string
	Prefix     string
	SecretHash string
	ExpiresAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
	CreatedAt  time.Time
}

// AuditEvent is one entry of the append-only audit log: who did what to what, when and from where. Detail never
// holds a secret.
type AuditEvent struct {
	ID         string
	At         time.Time
	ActorType  string // "user", "token", "system" or "anonymous"
	ActorID    string
	ActorEmail string
	IP         string
	Action     string // such as "flow.publish", "credential.create", "auth.login_failed"
	TargetType string
	TargetID   string
	Detail     json.RawMessage
}

// AuditFilter narrows ListAudit; results are newest first, continuing after Cursor.
type AuditFilter struct {
	Action     string // exact, or a prefix ending in "." ("flow.")
	ActorID    string
	TargetType string
	TargetID   string
	Since      time.Time
	Until      time.Time
	Cursor     string
	Limit      int
}

// AuditPage is one page of ListAudit.
type AuditPage struct {
	Events     []AuditEvent
	NextCursor string
}

// AuthStore keeps users, sessions, API tokens and the audit log.
type AuthStore interface {
	CountUsers(ctx context.Context) (int64, error)
	// CreateUser fails with ErrConflict when the e-mail is taken.
	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id string) (*User, error)
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser replaces name, role, disabled and password hash.
	UpdateUser(ctx context.Context, u *User) error

	CreateSession(ctx context.Context, s *Session) error
	GetSession(ctx context.Context, idHash string) (*Session, error)
	DeleteSession(ctx context.Context, idHash string) error
	// TouchSession records that the session was used at at.
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	// DeleteUserSessions signs a user out everywhere (password change, disabling, role change).
	DeleteUserSessions(ctx context.Context, userID string) error

	CreateToken(ctx context.Context, t *APIToken) error
	GetTokenByHash(ctx context.Context, secretHash string) (*APIToken, error)
	GetToken(ctx context.Context, id string) (*APIToken, error)
	// ListTokens lists a user's tokens, or everyone's when userID is empty.
	ListTokens(ctx context.Context, userID string) ([]APIToken, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// RevokeUserTokens revokes every token of the user not revoked yet and returns how many that was.
	RevokeUserTokens(ctx context.Context, userID string, at time.Time) (int64, error)
	TouchToken(ctx context.Context, id string, at time.Time) error

	AppendAudit(ctx context.Context, e *AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) (AuditPage, error)
	// PruneAnonymousAudit deletes the oldest events of anonymous callers (failed sign-ins) beyond the newest
	// keep, at most limit of them, and returns how many it deleted. Events of users, tokens and the system are
	// never deleted.
	PruneAnonymousAudit(ctx context.Context, keep, limit int) (int64, error)

	ThrottleStore
}

type userRow struct {
	ID           string    `gorm:"column:id;primaryKey"`
	Email        string    `gorm:"column:email"`
	Name         string    `gorm:"column:name"`
	PasswordHash string    `gorm:"column:password_hash"`
	Role         string    `gorm:"column:role"`
	Disabled     bool      `gorm:"column:disabled"`
	CreatedAt    time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt    time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (userRow) TableName() string { return "users" }

func (r *userRow) user() User {
	return User{ID: r.ID, Email: r.Email, Name: r.Name, PasswordHash: r.PasswordHash, Role: r.Role, Disabled: r.Disabled,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type sessionRow struct {
	IDHash    string    `gorm:"column:id_hash;primaryKey"`
	UserID    string    `gorm:"column:user_id"`
	CSRF      string    `gorm:"column:csrf"`
	IP        string    `gorm:"column:ip"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
	// LastSeen is NULL for sessions opened before idle timeouts existed.
	LastSeen *time.Time `gorm:"column:last_seen_at"`
}

func (sessionRow) TableName() string { return "sessions" }

type tokenRow struct {
	ID         string     `gorm:"column:id;primaryKey"`
	Name       string     `gorm:"column:name"`
	UserID     string     `gorm:"column:user_id"`
	Role       string     `gorm:"column:role"`
	Prefix     string     `gorm:"column:prefix"`
	SecretHash string     `gorm:"column:secret_hash"`
	ExpiresAt  *time.Time `gorm:"column:expires_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
	CreatedAt  time.Time  `gorm:"column:created_at;autoCreateTime:false"`
}

func (tokenRow) TableName() string { return "api_tokens" }

func (r *tokenRow) token() APIToken {
	return APIToken{ID: r.ID, Name: r.Name, UserID: r.UserID, Role: r.Role, Prefix: r.Prefix, SecretHash: r.SecretHash,
		ExpiresAt: fromNullTime(r.ExpiresAt), LastUsedAt: fromNullTime(r.LastUsedAt), RevokedAt: fromNullTime(r.RevokedAt),
		CreatedAt: r.CreatedAt.UTC()}
}

type auditRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	At         time.Time `gorm:"column:at"`
	ActorType  string    `gorm:"column:actor_type"`
	ActorID    string    `gorm:"column:actor_id"`
	ActorEmail string    `gorm:"column:actor_email"`
	IP         string    `gorm:"column:ip"`
	Action     string    `gorm:"column:action"`
	TargetType string    `gorm:"column:target_type"`
	TargetID   string    `gorm:"column:target_id"`
	Detail     *string   `gorm:"column:detail"`
}

func (auditRow) TableName() string { return "audit_events" }

func (s *gormStore) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.WithContext(ctx).Model(&userRow{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// CreateUser stores e-mails lower-cased, so that sign-in is case-insensitive.
func (s *gormStore) CreateUser(ctx context.Context, u *User) error {
	now := dbTime(time.Now())
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	u.CreatedAt, u.UpdatedAt = now, now
	row := userRow{ID: u.ID, Email: u.Email, Name: u.Name, PasswordHash: u.PasswordHash, Role: u.Role, Disabled: u.Disabled,
		CreatedAt: now, UpdatedAt: now}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		return insertError(err, "create user "+u.Email)
	}
	return nil
}

func (s *gormStore) GetUser(ctx context.Context, id string) (*User, error) {
	var row userRow
	if err := s.r.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return nil, notFound(err, "get user "+id)
	}
	u := row.user()
	return &u, nil
}

func (s *gormStore) GetUserByEmail(ctx context.Context, email string) (*User, error) {
	var row userRow
	if err := s.r.WithContext(ctx).Take(&row, "email = ?", strings.ToLower(strings.TrimSpace(email))).Error; err != nil {
		return nil, notFound(err, "get user by e-mail")
	}
	u := row.user()
	return &u, nil
}

func (s *gormStore) ListUsers(ctx context.Context) ([]User, error) {
	var rows []userRow
	if err := s.r.WithContext(ctx).Order("email").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	out := make([]User, len(rows))
	for i := range rows {
		out[i] = rows[i].user()
	}
	return out, nil
}

func (s *gormStore) UpdateUser(ctx context.Context, u *User) error {
	u.UpdatedAt = dbTime(time.Now())
	res := s.w.WithContext(ctx).Model(&userRow{}).Where("id = ?", u.ID).Updates(map[string]any{
		"name": u.Name, "role": u.Role, "disabled": u.Disabled, "password_hash": u.PasswordHash, "updated_at": u.UpdatedAt,
	})
	if res.Error != nil {
		return fmt.Errorf("store: update user %s: %w", u.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: update user %s: %w", u.ID, ErrNotFound)
	}
	return nil
}

func (s *gormStore) CreateSession(ctx context.Context, se *Session) error {
	row := sessionRow{IDHash: se.IDHash, UserID: se.UserID, CSRF: se.CSRF, IP: se.IP, CreatedAt: dbTime(se.CreatedAt),
		ExpiresAt: dbTime(se.ExpiresAt), LastSeen: nullTime(se.LastSeenAt)}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		return insertError(err, "create session")
	}
	return nil
}

func (s *gormStore) GetSession(ctx context.Context, idHash string) (*Session, error) {
	var row sessionRow
	if err := s.r.WithContext(ctx).Take(&row, "id_hash = ?", idHash).Error; err != nil {
		return nil, notFound(err, "get session")
	}
	return &Session{IDHash: row.IDHash, UserID: row.UserID, CSRF: row.CSRF, IP: row.IP, CreatedAt: row.CreatedAt.UTC(),
		ExpiresAt: row.ExpiresAt.UTC(), LastSeenAt: fromNullTime(row.LastSeen)}, nil
}

func (s *gormStore) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	if err := s.w.WithContext(ctx).Model(&sessionRow{}).Where("id_hash = ?", idHash).Update("last_seen_at", dbTime(at)).Error; err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

func (s *gormStore) DeleteSession(ctx context.Context, idHash string) error {
	if err := s.w.WithContext(ctx).Where("id_hash = ?", idHash).Delete(&sessionRow{}).Error; err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

func (s *gormStore) DeleteUserSessions(ctx context.Context, userID string) error {
	if err := s.w.WithContext(ctx).Where("user_id = ?", userID).Delete(&sessionRow{}).Error; err != nil {
		return fmt.Errorf("store: delete sessions of user %s: %w", userID, err)
	}
	return nil
}

func (s *gormStore) CreateToken(ctx context.Context, t *APIToken) error {
	t.CreatedAt = dbTime(time.Now())
	row := tokenRow{ID: t.ID, Name: t.Name, UserID: t.UserID, Role: t.Role, Prefix: t.Prefix, SecretHash: t.SecretHash,
		ExpiresAt: nullTime(t.ExpiresAt), CreatedAt: t.CreatedAt}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		return insertError(err, "create token "+t.Name)
	}
	return nil
}

func (s *gormStore) GetTokenByHash(ctx context.Context, secretHash string) (*APIToken, error) {
	var row tokenRow
	if err := s.r.WithContext(ctx).Take(&row, "secret_hash = ?", secretHash).Error; err != nil {
		return nil, notFound(err, "get token")
	}
	t := row.token()
	return &t, nil
}

func (s *gormStore) GetToken(ctx context.Context, id string) (*APIToken, error) {
	var row tokenRow
	if err := s.r.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return nil, notFound(err, "get token "+id)
	}
	t := row.token()
	return &t, nil
}

func (s *gormStore) ListTokens(ctx context.Context, userID string) ([]APIToken, error) {
	q := s.r.WithContext(ctx).Order("created_at DESC")
	if userID != "" {
		q = q.Where("user_id = ?", userID)
	}
	var rows []tokenRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	out := make([]APIToken, len(rows))
	for i := range rows {
		out[i] = rows[i].token()
	}
	return out, nil
}

func (s *gormStore) RevokeToken(ctx context.Context, id string, at time.Time) error {
	res := s.w.WithContext(ctx).Model(&tokenRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", dbTime(at))
	if res.Error != nil {
		return fmt.Errorf("store: revoke token %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		if err := mustExist(s.w.WithContext(ctx), &tokenRow{}, "id = ?", id); err != nil {
			return fmt.Errorf("store: revoke token %s: %w", id, err)
		}
	}
	return nil
}

func (s *gormStore) RevokeUserTokens(ctx context.Context, userID string, at time.Time) (int64, error) {
	res := s.w.WithContext(ctx).Model(&tokenRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", dbTime(at))
	if res.Error != nil {
		return 0, fmt.Errorf("store: revoke tokens of user %s: %w", userID, res.Error)
	}
	return res.RowsAffected, nil
}

func (s *gormStore) TouchToken(ctx context.Context, id string, at time.Time) error {
	if err := s.w.WithContext(ctx).Model(&tokenRow{}).Where("id = ?", id).Update("last_used_at", dbTime(at)).Error; err != nil {
		return fmt.Errorf("store: touch token %s: %w", id, err)
	}
	return nil
}

// AppendAudit fills a zero At with now. There is no method to change an event, and none to delete one but
// PruneAnonymousAudit, which bounds what anonymous callers can add.
func (s *gormStore) AppendAudit(ctx context.Context, e *AuditEvent) error {
	if e.ID == "" || e.Action == "" {
		return errors.New("store: audit event needs an id and an action")
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = dbTime(e.At)
	row := auditRow{ID: e.ID, At: e.At, ActorType: e.ActorType, ActorID: e.ActorID, ActorEmail: e.ActorEmail, IP: e.IP,
		Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Detail: nullJSON(e.Detail)}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		return insertError(err, "append audit event")
	}
	return nil
}

// ListAudit pages by id (UUIDv7, so newest first is id order).
func (s *gormStore) ListAudit(ctx context.Context, f AuditFilter) (AuditPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultRunPage
	}
	limit = min(limit, maxRunPage)
	q := s.r.WithContext(ctx).Model(&auditRow{})
	switch {
	case strings.HasSuffix(f.Action, "."):
		q = q.Where("action LIKE ?", escapeLike(f.Action)+"%")
	case f.Action != "":
		q = q.Where("action = ?", f.Action)
	}
	if f.ActorID != "" {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	if f.TargetType != "" {
		q = q.Where("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", dbTime(f.Until))
	}
	if f.Cursor != "" {
		q = q.Where("id < ?", f.Cursor)
	}
	var rows []auditRow
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return AuditPage{}, fmt.Errorf("store: list audit events: %w", err)
	}
	var page AuditPage
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = rows[limit-1].ID
	}
	page.Events = make([]AuditEvent, len(rows))
	for i, r := range rows {
		page.Events[i] = AuditEvent{ID: r.ID, At: r.At.UTC(), ActorType: r.ActorType, ActorID: r.ActorID, ActorEmail: r.ActorEmail,
			IP: r.IP, Action: r.Action, TargetType: r.TargetType, TargetID: r.TargetID, Detail: fromNullJSON(r.Detail)}
	}
	return page, nil
}

// PruneAnonymousAudit finds the id of the keep-th newest anonymous event (ids are UUIDv7, so id order is time
// order) and deletes up to limit anonymous events older than it.
func (s *gormStore) PruneAnonymousAudit(ctx context.Context, keep, limit int) (int64, error) {
	if keep < 0 || limit <= 0 {
		return 0, errors.New("store: prune audit events: keep must not be negative and limit must be positive")
	}
	var boundary []string
	if err := s.r.WithContext(ctx).Model(&auditRow{}).Where("actor_type = ?", "anonymous").Order("id DESC").
		Offset(keep).Limit(1).Pluck("id", &boundary).Error; err != nil {
		return 0, fmt.Errorf("store: prune audit events: %w", err)
	}
	if len(boundary) == 0 {
		return 0, nil
	}
	var ids []string
	if err := s.r.WithContext(ctx).Model(&auditRow{}).Where("actor_type = ? AND id <= ?", "anonymous", boundary[0]).
		Order("id").Limit(limit).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("store: prune audit events: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	res := s.w.WithContext(ctx).Where("actor_type = ? AND id IN ?", "anonymous", ids).Delete(&auditRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: prune audit events: %w", res.Error)
	}
	return res.RowsAffected, nil
}
