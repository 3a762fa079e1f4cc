package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CreateFlow inserts f. An empty ID gets a new UUIDv7, an empty status is draft, revision starts at 1 and zero
// times become now; f is updated with what was stored. An existing ID is ErrConflict.
func (s *gormStore) CreateFlow(ctx context.Context, f *Flow) error {
	prepareFlow(f)
	row := newFlowRow(f)
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		return insertError(err, "create flow "+f.ID)
	}
	*f = row.flow()
	return nil
}

// prepareFlow fills the defaults of a new flow.
func prepareFlow(f *Flow) {
	if f.ID == "" {
		f.ID = uuid.Must(uuid.NewV7()).String()
	}
	if f.Status == "" {
		f.Status = FlowDraft
	}
	if f.Revision < 1 {
		f.Revision = 1
	}
	now := dbTime(time.Now())
	if f.CreatedAt.IsZero() {
		f.CreatedAt = now
	}
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = f.CreatedAt
	}
}

// insertError maps a unique violation to ErrConflict and a foreign-key violation (the flow or run referred to does
// not exist) to ErrNotFound.
func insertError(err error, what string) error {
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("store: %s: already exists: %w", what, ErrConflict)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

func (s *gormStore) GetFlow(ctx context.Context, id string) (*Flow, error) {
	var row flowRow
	if err := s.r.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return nil, notFound(err, "get flow "+id)
	}
	f := row.flow()
	return &f, nil
}

// ListFlows returns flows most recently updated first. A zero Limit returns them all.
func (s *gormStore) ListFlows(ctx context.Context, filter FlowFilter) ([]Flow, error) {
	q := s.r.WithContext(ctx).Model(&flowRow{})
	if filter.Search != "" {
		q = q.Where(`LOWER(name) LIKE ? ESCAPE '\'`, "%"+escapeLike(strings.ToLower(filter.Search))+"%")
	}
	if filter.Status != "" {
		q = q.Where("status = ?", filter.Status)
	}
	if filter.Limit > 0 {
		q = q.Limit(filter.Limit)
	}
	var rows []flowRow
	if err := q.Order("updated_at DESC").Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list flows: %w", err)
	}
	flows := make([]Flow, len(rows))
	for i := range rows {
		flows[i] = rows[i].flow()
	}
	return flows, nil
}

// escapeLike makes s match literally inside a LIKE pattern that uses backslash as its escape character.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SaveDraft updates f with the stored row afterwards: its new revision, UpdatedAt, status and published version.
func (s *gormStore) SaveDraft(ctx context.Context, f *Flow, expectRevision int) error {
	return s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&flowRow{}).Where("id = ?", f.ID)
		if expectRevision != 0 {
			q = q.Where("revision = ?", expectRevision)
		}
		res := q.Updates(map[string]any{
			"name":        f.Name,
			"description": f.Description,
			"draft":       jsonArg(f.Draft),
			"revision":    gorm.Expr("revision + 1"),
			"updated_at":  dbTime(time.Now()),
		})
		if res.Error != nil {
			return fmt.Errorf("store: save draft of flow %s: %w", f.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			if err := mustExist(tx, &flowRow{}, "id = ?", f.ID); err != nil {
				return fmt.Errorf("store: save draft of flow %s: %w", f.ID, err)
			}
			return fmt.Errorf("store: save draft of flow %s: revision is no longer %d: %w", f.ID, expectRevision,
				ErrConflict)
		}
		var row flowRow
		if err := tx.Take(&row, "id = ?", f.ID).Error; err != nil {
			return notFound(err, "save draft of flow "+f.ID)
		}
		*f = row.flow()
		return nil
	})
}

// mustExist returns ErrNotFound when no row of model matches the condition.
func mustExist(tx *gorm.DB, model any, cond string, args ...any) error {
	var n int64
	if err := tx.Model(model).Where(cond, args...).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetFlowStatus accepts only published and paused, and only for a flow that has a published version
// (ErrConflict otherwise).
func (s *gormStore) SetFlowStatus(ctx context.Context, id, status string) error {
	if status != FlowPublished && status != FlowPaused {
		return fmt.Errorf("store: set status of flow %s: status %q is neither %q nor %q", id, status, FlowPublished,
			FlowPaused)
	}
	return s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&flowRow{}).Where("id = ? AND published_version > 0", id).
			Updates(map[string]any{"status": status, "updated_at": dbTime(time.Now())})
		if res.Error != nil {
			return fmt.Errorf("store: set status of flow %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			if err := mustExist(tx, &flowRow{}, "id = ?", id); err != nil {
				return fmt.Errorf("store: set status of flow %s: %w", id, err)
			}
			return fmt.Errorf("store: set status of flow %s: never published: %w", id, ErrConflict)
		}
		return nil
	})
}

func (s *gormStore) DeleteFlow(ctx context.Context, id string) error {
	return s.deleteByID(ctx, &flowRow{}, id, "flow")
}

// deleteByID deletes the row of model with id, ErrNotFound when there is none.
func (s *gormStore) deleteByID(ctx context.Context, model any, id, what string) error {
	res := s.w.WithContext(ctx).Delete(model, "id = ?", id)
	if res.Error != nil {
		return fmt.Errorf("store: delete %s %s: %w", what, id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: delete %s %s: %w", what, id, ErrNotFound)
	}
	return nil
}

// Publish locks the flow row (on Postgres; SQLite's single writer already serialises), so that concurrent
// publishes of one flow take consecutive version numbers instead of colliding on the primary key.
func (s *gormStore) Publish(ctx context.Context, flowID string, doc json.RawMessage, message, by string) (*FlowVersion, error) {
	if len(doc) == 0 {
		return nil, fmt.Errorf("store: publish flow %s: empty document", flowID)
	}
	var v FlowVersion
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var f flowRow
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Select("id").
			Take(&f, "id = ?", flowID).Error
		if err != nil {
			return notFound(err, "publish flow "+flowID)
		}
		var last int
		err = tx.Model(&versionRow{}).Where("flow_id = ?", flowID).Select("COALESCE(MAX(version), 0)").
			Scan(&last).Error
		if err != nil {
			return fmt.Errorf("store: publish flow %s: %w", flowID, err)
		}
		now := dbTime(time.Now())
		row := versionRow{FlowID: flowID, Version: last + 1, Doc: nullJSON(doc), Message: message, CreatedBy: by,
			CreatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			return insertError(err, fmt.Sprintf("publish flow %s version %d", flowID, row.Version))
		}
		if err := setPublished(tx, flowID, row.Version, now); err != nil {
			return err
		}
		v = row.version()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// setPublished points the flow at version and marks it published.
func setPublished(tx *gorm.DB, flowID string, version int, now time.Time) error {
	res := tx.Model(&flowRow{}).Where("id = ?", flowID).
		Updates(map[string]any{"published_version": version, "status": FlowPublished, "updated_at": now})
	if res.Error != nil {
		return fmt.Errorf("store: publish flow %s version %d: %w", flowID, version, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: publish flow %s version %d: %w", flowID, version, ErrNotFound)
	}
	return nil
}

func (s *gormStore) Republish(ctx context.Context, flowID string, version int) error {
	return s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := mustExist(tx, &versionRow{}, "flow_id = ? AND version = ?", flowID, version); err != nil {
			return fmt.Errorf("store: republish flow %s version %d: %w", flowID, version, err)
		}
		return setPublished(tx, flowID, version, dbTime(time.Now()))
	})
}

func (s *gormStore) GetVersion(ctx context.Context, flowID string, version int) (*FlowVersion, error) {
	var row versionRow
	if err := s.r.WithContext(ctx).Take(&row, "flow_id = ? AND version = ?", flowID, version).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("get flow %s version %d", flowID, version))
	}
	v := row.version()
	return &v, nil
}

// ListVersions returns the flow's versions newest first; an unknown flow has none.
func (s *gormStore) ListVersions(ctx context.Context, flowID string) ([]FlowVersion, error) {
	var rows []versionRow
	if err := s.r.WithContext(ctx).Where("flow_id = ?", flowID).Order("version DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list versions of flow %s: %w", flowID, err)
	}
	versions := make([]FlowVersion, len(rows))
	for i := range rows {
		versions[i] = rows[i].version()
	}
	return versions, nil
}

// ImportFlow fills f's defaults like CreateFlow. A non-nil version belongs to f (its FlowID is set), is version 1
// unless it says otherwise, and makes the flow published; f and version are updated with what was stored.
func (s *gormStore) ImportFlow(ctx context.Context, f *Flow, version *FlowVersion) error {
	prepareFlow(f)
	fr := newFlowRow(f)
	var vr versionRow
	if version != nil {
		if len(version.Doc) == 0 {
			return fmt.Errorf("store: import flow %s: version without a document", f.ID)
		}
		version.FlowID = f.ID
		if version.Version < 1 {
			version.Version = 1
		}
		if version.CreatedAt.IsZero() {
			version.CreatedAt = f.CreatedAt
		}
		vr = newVersionRow(version)
		fr.Status = FlowPublished
		fr.PublishedVersion = vr.Version
	}
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&fr).Error; err != nil {
			return insertError(err, "import flow "+f.ID)
		}
		if version != nil {
			if err := tx.Create(&vr).Error; err != nil {
				return insertError(err, fmt.Sprintf("import flow %s version %d", f.ID, vr.Version))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	*f = fr.flow()
	if version != nil {
		*version = vr.version()
	}
	return nil
}

// PublishedFlows returns the published version of every published flow, ordered by flow id.
func (s *gormStore) PublishedFlows(ctx context.Context) ([]FlowVersion, error) {
	var rows []versionRow
	err := s.r.WithContext(ctx).Raw(`SELECT v.flow_id, v.version, v.doc, v.message, v.created_by, v.created_at
		FROM flow_versions v JOIN flows f ON f.id = v.flow_id AND f.published_version = v.version
		WHERE f.status = ? ORDER BY v.flow_id`, FlowPublished).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: list published flows: %w", err)
	}
	versions := make([]FlowVersion, len(rows))
	for i := range rows {
		versions[i] = rows[i].version()
	}
	return versions, nil
}
