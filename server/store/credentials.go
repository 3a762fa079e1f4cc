package store

import (
	"context"
	"fmt"
	"time"
)

type credentialRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Name      string    `gorm:"column:name"`
	Type      string    `gorm:"column:type"`
	KeyID     string    `gorm:"column:key_id"`
	Sealed    []byte    `gorm:"column:sealed"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (credentialRow) TableName() string { return "credentials" }

func (r credentialRow) credential() Credential {
	return Credential{ID: r.ID, Name: r.Name, Type: r.Type, KeyID: r.KeyID, Sealed: r.Sealed,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func newCredentialRow(c *Credential) credentialRow {
	return credentialRow{ID: c.ID, Name: c.Name, Type: c.Type, KeyID: c.KeyID, Sealed: c.Sealed,
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
		"name": c.Name, "key_id": c.KeyID, "sealed": c.Sealed, "updated_at": dbTime(c.UpdatedAt)})
	if res.Error != nil {
		return fmt.Errorf("store: update credential %s: %w", c.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: update credential %s: %w", c.ID, ErrNotFound)
	}
	return nil
}

func (s *gormStore) DeleteCredential(ctx context.Context, id string) error {
	return s.deleteByID(ctx, &credentialRow{}, id, "credential")
}
