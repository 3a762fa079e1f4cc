package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// FlowTestSecret is the secret that opens a flow's test webhook to callers who cannot sign in to Ferry (a
// payment provider's sandbox, a script): they present it in the URL (/hooks/{id}/test/{secret}) or a header.
type FlowTestSecret struct {
	FlowID    string
	Secret    string
	CreatedAt time.Time
	// CreatedBy is the user id of the editor who made it (empty when unknown).
	CreatedBy string
}

// TestSecretStore keeps one test webhook secret per flow. The secret is sealed at rest when the store seals
// run data, since whoever holds it may run the flow's draft.
type TestSecretStore interface {
	// FlowTestSecret returns the flow's test secret; ErrNotFound when it has none yet.
	FlowTestSecret(ctx context.Context, flowID string) (*FlowTestSecret, error)
	// EnsureFlowTestSecret stores s as the flow's test secret unless it already has one, and returns the one it
	// has: of two editors asking at once, both get the same secret. ErrNotFound when the flow does not exist.
	EnsureFlowTestSecret(ctx context.Context, s *FlowTestSecret) (*FlowTestSecret, error)
	// ReplaceFlowTestSecret makes s the flow's test secret, whatever it had: the old secret stops working.
	// ErrNotFound when the flow does not exist.
	ReplaceFlowTestSecret(ctx context.Context, s *FlowTestSecret) error
}

type testSecretRow struct {
	FlowID    string    `gorm:"column:flow_id;primaryKey"`
	Secret    string    `gorm:"column:secret"`
	CreatedAt time.Time `gorm:"column:created_at"`
	CreatedBy string    `gorm:"column:created_by"`
}

func (testSecretRow) TableName() string { return "flow_test_secrets" }

// testSecretContext binds a sealed secret to its flow, so a sealed value copied to another flow's row does not
// open.
func testSecretContext(flowID string) string { return "flow_test_secrets:" + flowID + ":secret" }

func (s *gormStore) FlowTestSecret(ctx context.Context, flowID string) (*FlowTestSecret, error) {
	return s.readTestSecret(s.r.WithContext(ctx), flowID)
}

func (s *gormStore) readTestSecret(db *gorm.DB, flowID string) (*FlowTestSecret, error) {
	var row testSecretRow
	if err := db.Take(&row, "flow_id = ?", flowID).Error; err != nil {
		return nil, notFound(err, "get test secret of flow "+flowID)
	}
	if err := s.openValue(&row.Secret, testSecretContext(flowID)); err != nil {
		return nil, err
	}
	return &FlowTestSecret{FlowID: row.FlowID, Secret: row.Secret, CreatedAt: row.CreatedAt, CreatedBy: row.CreatedBy}, nil
}

func (s *gormStore) testSecretRow(sec *FlowTestSecret) (testSecretRow, error) {
	if sec.FlowID == "" || sec.Secret == "" {
		return testSecretRow{}, errors.New("store: a test secret needs a flow and a value")
	}
	if sec.CreatedAt.IsZero() {
		sec.CreatedAt = time.Now()
	}
	row := testSecretRow{FlowID: sec.FlowID, Secret: sec.Secret, CreatedAt: dbTime(sec.CreatedAt), CreatedBy: sec.CreatedBy}
	if err := s.sealValue(&row.Secret, testSecretContext(sec.FlowID)); err != nil {
		return testSecretRow{}, err
	}
	return row, nil
}

func (s *gormStore) EnsureFlowTestSecret(ctx context.Context, sec *FlowTestSecret) (*FlowTestSecret, error) {
	row, err := s.testSecretRow(sec)
	if err != nil {
		return nil, err
	}
	var out *FlowTestSecret
	err = s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return insertError(err, "create test secret of flow "+sec.FlowID)
		}
		out, err = s.readTestSecret(tx, sec.FlowID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: ensure test secret: %w", err)
	}
	return out, nil
}

func (s *gormStore) ReplaceFlowTestSecret(ctx context.Context, sec *FlowTestSecret) error {
	row, err := s.testSecretRow(sec)
	if err != nil {
		return err
	}
	err = s.w.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "flow_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"secret", "created_at", "created_by"}),
	}).Create(&row).Error
	if err != nil {
		return insertError(err, "replace test secret of flow "+sec.FlowID)
	}
	return nil
}

// TestSecretResealer is implemented by stores that can re-encrypt the sealed test webhook secrets under the
// sealer's current key, for `ferry keys rotate`, so that retiring an old key does not lock editors out of their
// test URLs.
type TestSecretResealer interface {
	// ResealTestSecrets re-seals under currentKeyID every test secret sealed under another key, in one
	// transaction, and returns how many it re-sealed.
	ResealTestSecrets(ctx context.Context, currentKeyID string) (int, error)
}

func (s *gormStore) ResealTestSecrets(ctx context.Context, currentKeyID string) (int, error) {
	if s.sealer == nil {
		return 0, fmt.Errorf("store: reseal test secrets: %w", ErrSealed)
	}
	resealed := 0
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []testSecretRow
		if err := tx.Select("flow_id", "secret").Find(&rows).Error; err != nil {
			return fmt.Errorf("store: reseal test secrets: %w", err)
		}
		for i := range rows {
			r := &rows[i]
			changed, err := s.reseal(&r.Secret, testSecretContext(r.FlowID), currentKeyID)
			if err != nil {
				return fmt.Errorf("store: reseal test secret of flow %s: %w", r.FlowID, err)
			}
			if !changed {
				continue
			}
			if err := tx.Model(&testSecretRow{}).Where("flow_id = ?", r.FlowID).Update("secret", r.Secret).Error; err != nil {
				return fmt.Errorf("store: reseal test secret of flow %s: %w", r.FlowID, err)
			}
			resealed++
		}
		return nil
	})
	return resealed, err
}
