package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

type settingRow struct {
	Key       string    `gorm:"column:key;primaryKey"`
	Value     string    `gorm:"column:value"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
	UpdatedBy string    `gorm:"column:updated_by"`
}

func (settingRow) TableName() string { return "settings" }

func (s *gormStore) ListSettings(ctx context.Context) ([]StoredSetting, error) {
	var rows []settingRow
	if err := s.r.WithContext(ctx).Order("key").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list settings: %w", err)
	}
	out := make([]StoredSetting, len(rows))
	for i, r := range rows {
		out[i] = StoredSetting{Key: r.Key, Value: json.RawMessage(r.Value), UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt.UTC()}
	}
	return out, nil
}

func (s *gormStore) UpdateSettings(ctx context.Context, set map[string]json.RawMessage, unset []string, by string, at time.Time) error {
	for k, v := range set {
		if k == "" {
			return errors.New("store: update settings: empty key")
		}
		if !json.Valid(v) {
			return fmt.Errorf("store: update settings: %s: value is not JSON", k)
		}
		if slices.Contains(unset, k) {
			return fmt.Errorf("store: update settings: %s is both set and unset", k)
		}
	}
	if at.IsZero() {
		at = time.Now()
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a stable order: two concurrent updates lock rows in the same order
	return s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, k := range keys {
			row := settingRow{Key: k, Value: string(set[k]), UpdatedAt: dbTime(at), UpdatedBy: by}
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "key"}},
				DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at", "updated_by"}),
			}).Create(&row).Error
			if err != nil {
				return fmt.Errorf("store: update setting %s: %w", k, err)
			}
		}
		if len(unset) > 0 {
			if err := tx.Where("key IN ?", unset).Delete(&settingRow{}).Error; err != nil {
				return fmt.Errorf("store: reset settings: %w", err)
			}
		}
		return nil
	})
}
