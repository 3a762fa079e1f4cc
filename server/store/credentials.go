package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

type credentialRow struct {
	ID            string     `gorm:"column:id;primaryKey"`
	Name          string     `gorm:"column:name"`
	Type          string     `gorm:"column:type"`
	KeyID         string     `gorm:"column:key_id"`
	Sealed        []byte     `gorm:"column:sealed"`
	Status        string     `gorm:"column:status"`
	StatusMessage string     `gorm:"column:status_message"`
	Version       int64      `gorm:"column:version"`
	RefreshUntil  *time.Time `gorm:"column:refresh_until"`
	CreatedAt     time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt     time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (credentialRow) TableName() string { return "credentials" }

func (r credentialRow) credential() Credential {
	return Credential{ID: r.ID, Name: r.Name, Type: r.Type, KeyID: r.KeyID, Sealed: r.Sealed, Status: r.Status,
		StatusMessage: r.StatusMessage, Version: r.Version, RefreshUntil: fromNullTime(r.RefreshUntil),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func newCredentialRow(c *Credential) credentialRow {
	return credentialRow{ID: c.ID, Name: c.Name, Type: c.Type, KeyID: c.KeyID, Sealed: c.Sealed, Status: c.Status,
		StatusMessage: c.StatusMessage, Version: c.Version, RefreshUntil: nullTime(c.RefreshUntil),
		CreatedAt: dbTime(c.CreatedAt), UpdatedAt: dbTime(c.UpdatedAt)}
}

func (s *gormStore) CreateCredential(ctx context.Context, c *Credential) error {
	now := time.Now()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = now
	}
	row := newCredentialRow(c)
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		return insertError(err, "create credential "+c.ID)
	}
	*c = row.credential()
	return nil
}

func (s *gormStore) GetCredential(ctx context.Context, id string) (*Credential, error) {
	var row credentialRow
	if err := s.r.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return nil, notFound(err, "get credential "+id)
	}
	c := row.credential()
	return &c, nil
}

// ListCredentials returns every credential ordered by name.
func (s *gormStore) ListCredentials(ctx context.Context) ([]Credential, error) {
	var rows []credentialRow
	if err := s.r.WithContext(ctx).Order("name").Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list credentials: %w", err)
	}
	out := make([]Credential, len(rows))
	for i, r := range rows {
		out[i] = r.credential()
	}
	return out, nil
}

func (s *gormStore) UpdateCredential(ctx context.Context, c *Credential) error {
	res := s.w.WithContext(ctx).Model(&credentialRow{}).Where("id = ?", c.ID).Updates(map[string]any{
		"name": c.Name, "key_id": c.KeyID, "sealed": c.Sealed, "status": c.Status, "status_message": c.StatusMessage,
		"updated_at": dbTime(c.UpdatedAt), "version": gorm.Expr("version + 1")})
	if res.Error != nil {
		return fmt.Errorf("store: update credential %s: %w", c.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: update credential %s: %w", c.ID, ErrNotFound)
	}
	return nil
}

// SwapCredential is one conditional UPDATE on the version, so of two writers that read the same version exactly
// one succeeds.
func (s *gormStore) SwapCredential(ctx context.Context, c *Credential) error {
	res := s.w.WithContext(ctx).Model(&credentialRow{}).Where("id = ? AND version = ?", c.ID, c.Version).Updates(map[string]any{
		"name": c.Name, "key_id": c.KeyID, "sealed": c.Sealed, "status": c.Status, "status_message": c.StatusMessage,
		"refresh_until": timeArg(c.RefreshUntil), "updated_at": dbTime(c.UpdatedAt), "version": gorm.Expr("version + 1")})
	if res.Error != nil {
		return fmt.Errorf("store: swap credential %s: %w", c.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetCredential(ctx, c.ID); err != nil {
			return err
		}
		return fmt.Errorf("store: swap credential %s at version %d: %w", c.ID, c.Version, ErrConflict)
	}
	c.Version++
	return nil
}

// ClaimCredentialRefresh is one conditional UPDATE, so of several processes claiming at once exactly one succeeds.
func (s *gormStore) ClaimCredentialRefresh(ctx context.Context, id string, now, until time.Time) (bool, error) {
	res := s.w.WithContext(ctx).Model(&credentialRow{}).
		Where("id = ? AND (refresh_until IS NULL OR refresh_until < ?)", id, dbTime(now)).
		Updates(map[string]any{"refresh_until": dbTime(until), "version": gorm.Expr("version + 1")})
	if res.Error != nil {
		return false, fmt.Errorf("store: claim refresh of credential %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetCredential(ctx, id); err != nil {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

func (s *gormStore) DeleteCredential(ctx context.Context, id string) error {
	return s.deleteByID(ctx, &credentialRow{}, id, "credential")
}

type oauthStateRow struct {
	ID           string    `gorm:"column:id;primaryKey"`
	CredentialID string    `gorm:"column:credential_id"`
	Variant      string    `gorm:"column:variant"`
	RedirectURL  string    `gorm:"column:redirect_url"`
	KeyID        string    `gorm:"column:key_id"`
	Sealed       []byte    `gorm:"column:sealed"`
	ExpiresAt    time.Time `gorm:"column:expires_at"`
}

func (oauthStateRow) TableName() string { return "oauth2_states" }

func (s *gormStore) SaveOAuthState(ctx context.Context, st *OAuthState) error {
	row := oauthStateRow{ID: st.ID, CredentialID: st.CredentialID, Variant: st.Variant, RedirectURL: st.RedirectURL,
		KeyID: st.KeyID, Sealed: st.Sealed, ExpiresAt: dbTime(st.ExpiresAt)}
	db := s.w.WithContext(ctx)
	if err := db.Where("expires_at < ?", dbTime(time.Now())).Delete(&oauthStateRow{}).Error; err != nil {
		return fmt.Errorf("store: delete expired oauth2 states: %w", err)
	}
	if err := db.Create(&row).Error; err != nil {
		return insertError(err, "save oauth2 state for credential "+st.CredentialID)
	}
	return nil
}

// TakeOAuthState reads the state, then deletes it; only the caller whose DELETE removed the row gets it, so a
// state replayed at the same moment is refused.
func (s *gormStore) TakeOAuthState(ctx context.Context, id string, now time.Time) (*OAuthState, error) {
	var row oauthStateRow
	if err := s.w.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return nil, notFound(err, "oauth2 state")
	}
	res := s.w.WithContext(ctx).Where("id = ?", id).Delete(&oauthStateRow{})
	if res.Error != nil {
		return nil, fmt.Errorf("store: take oauth2 state: %w", res.Error)
	}
	if res.RowsAffected == 0 || row.ExpiresAt.Before(dbTime(now)) {
		return nil, fmt.Errorf("store: oauth2 state: %w", ErrNotFound)
	}
	return &OAuthState{ID: row.ID, CredentialID: row.CredentialID, Variant: row.Variant, RedirectURL: row.RedirectURL,
		KeyID: row.KeyID, Sealed: row.Sealed, ExpiresAt: row.ExpiresAt.UTC()}, nil
}
