package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ListRuns page sizes.
const (
	defaultRunPage = 50
	maxRunPage     = 500
)

// DueRuns batch sizes.
const (
	defaultDueRuns = 100
	maxDueRuns     = 10000
)

// stepBatch is how many steps one INSERT carries: 12 columns each, well under SQLite's parameter limit.
const stepBatch = 200

// CreateRun fills a zero CreatedAt with now and updates r with it. The run joins a group commit (group.go). Its
// dedup key row goes in first: when another delivery of the same event is committing at the same time, Postgres
// makes this insert wait for it and then skip, and SQLite's single writer runs the two transactions one after the
// other, so exactly one run is ever created.
func (s *gormStore) CreateRun(ctx context.Context, r *Run, steps []Step) error {
	if r.ID == "" || r.FlowID == "" {
		return errors.New("store: create run: run id and flow id are required")
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	r.CreatedAt = dbTime(r.CreatedAt)
	return s.group.submit(&groupOp{ctx: ctx, create: r, steps: steps})
}

// insertSteps adds steps to a run inside tx. A step with Seq 0 is numbered after the run's last step.
func insertSteps(tx *gorm.DB, runID string, steps []Step) error {
	if len(steps) == 0 {
		return nil
	}
	next := -1
	rows := make([]stepRow, len(steps))
	for i := range steps {
		rows[i] = newStepRow(runID, &steps[i])
		if rows[i].Seq != 0 {
			continue
		}
		if next < 0 {
			err := tx.Model(&stepRow{}).Where("run_id = ?", runID).Select("COALESCE(MAX(seq), 0)").Scan(&next).Error
			if err != nil {
				return fmt.Errorf("store: number steps of run %s: %w", runID, err)
			}
			for j := range rows[:i] {
				next = max(next, rows[j].Seq)
			}
		}
		next++
		rows[i].Seq = next
	}
	if err := tx.CreateInBatches(rows, stepBatch).Error; err != nil {
		return insertError(err, "insert steps of run "+runID)
	}
	return nil
}

func (s *gormStore) GetRun(ctx context.Context, id string) (*Run, error) {
	var row runRow
	if err := s.r.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return nil, notFound(err, "get run "+id)
	}
	r := row.run()
	return &r, nil
}

func (s *gormStore) ListRuns(ctx context.Context, filter RunFilter) (RunPage, error) {
	limit := filter.Limit
	if limit <= 0 {
		limit = defaultRunPage
	}
	limit = min(limit, maxRunPage)
	q := s.r.WithContext(ctx).Model(&runRow{}).Select(runListColumns)
	if filter.FlowID != "" {
		q = q.Where("flow_id = ?", filter.FlowID)
	}
	if len(filter.Status) > 0 {
		q = q.Where("status IN ?", filter.Status)
	}
	if filter.Mode != "" {
		q = q.Where("mode = ?", filter.Mode)
	}
	if filter.BusinessKey != "" {
		q = q.Where("business_key = ?", filter.BusinessKey)
	}
	if !filter.Since.IsZero() {
		q = q.Where("created_at >= ?", dbTime(filter.Since))
	}
	if !filter.Until.IsZero() {
		q = q.Where("created_at < ?", dbTime(filter.Until))
	}
	if filter.Cursor != "" {
		q = q.Where("id < ?", filter.Cursor)
	}
	var rows []runRow
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return RunPage{}, fmt.Errorf("store: list runs: %w", err)
	}
	var page RunPage
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = rows[limit-1].ID
	}
	page.Runs = make([]Run, len(rows))
	for i := range rows {
		page.Runs[i] = rows[i].run()
	}
	return page, nil
}

// ListSteps returns the run's steps in order; an unknown run has none.
func (s *gormStore) ListSteps(ctx context.Context, runID string) ([]Step, error) {
	var rows []stepRow
	if err := s.r.WithContext(ctx).Where("run_id = ?", runID).Order("seq").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list steps of run %s: %w", runID, err)
	}
	steps := make([]Step, len(rows))
	for i := range rows {
		steps[i] = rows[i].step()
	}
	return steps, nil
}

// claimable is the condition under which a run may be taken by a worker at time now (the same for ClaimRun and
// DueRuns): queued or waiting with AvailableAt passed (or unset) and no live lease, or running with an expired
// lease.
func claimable(db *gorm.DB, now time.Time) *gorm.DB {
	return db.Where(
		"((status IN ? AND (available_at IS NULL OR available_at <= ?) AND (lease_until IS NULL OR lease_until < ?))"+
			" OR (status = ? AND lease_until < ?))",
		[]string{RunQueued, RunWaiting}, now, now, RunRunning, now)
}

// ClaimRun is one conditional UPDATE, so of several workers claiming the same run at once exactly one succeeds.
func (s *gormStore) ClaimRun(ctx context.Context, id, owner string, leaseUntil time.Time) (*Run, error) {
	if owner == "" {
		return nil, fmt.Errorf("store: claim run %s: empty lease owner", id)
	}
	now := dbTime(time.Now())
	var row runRow
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := claimable(tx.Model(&runRow{}).Where("id = ?", id), now).Updates(map[string]any{
			"status":      RunRunning,
			"lease_owner": owner,
			"lease_until": dbTime(leaseUntil),
			"started_at":  gorm.Expr("COALESCE(started_at, ?)", now),
		})
		if res.Error != nil {
			return fmt.Errorf("store: claim run %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			if err := mustExist(tx, &runRow{}, "id = ?", id); err != nil {
				return fmt.Errorf("store: claim run %s: %w", id, err)
			}
			return fmt.Errorf("store: claim run %s: not claimable: %w", id, ErrConflict)
		}
		if err := tx.Take(&row, "id = ?", id).Error; err != nil {
			return notFound(err, "claim run "+id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r := row.run()
	return &r, nil
}

func (s *gormStore) ExtendLease(ctx context.Context, id, owner string, leaseUntil time.Time) error {
	res := s.w.WithContext(ctx).Model(&runRow{}).
		Where("id = ? AND lease_owner = ? AND status = ?", id, owner, RunRunning).
		Update("lease_until", dbTime(leaseUntil))
	if res.Error != nil {
		return fmt.Errorf("store: extend lease of run %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: extend lease of run %s: lease lost: %w", id, ErrConflict)
	}
	return nil
}

// SaveProgress writes the whole new state: Status, Attempt, Checkpoint and Error replace what is stored (an empty
// Checkpoint or Error clears it); Response is written only when set, since an answer already given is never
// withdrawn. Running keeps the lease; queued and waiting release it and store AvailableAt (zero: claimable at
// once); terminal statuses release it and store FinishedAt (zero: now). Steps are appended. The write joins a
// group commit (group.go).
func (s *gormStore) SaveProgress(ctx context.Context, p Progress) error {
	if _, err := progressUpdates(p); err != nil {
		return err
	}
	return s.group.submit(&groupOp{ctx: ctx, save: &p})
}

// progressUpdates is the column update SaveProgress makes for p.
func progressUpdates(p Progress) (map[string]any, error) {
	now := dbTime(time.Now())
	set := map[string]any{
		"status":     p.Status,
		"attempt":    p.Attempt,
		"checkpoint": jsonArg(p.Checkpoint),
		"error":      jsonArg(p.Error),
	}
	if len(p.Response) > 0 {
		set["response"] = string(p.Response)
	}
	switch p.Status {
	case RunRunning:
	case RunQueued, RunWaiting:
		set["available_at"] = timeArg(p.AvailableAt)
		set["lease_owner"] = nil
		set["lease_until"] = nil
	case RunSucceeded, RunFailed, RunCancelled:
		finished := p.FinishedAt
		if finished.IsZero() {
			finished = now
		}
		set["finished_at"] = dbTime(finished)
		set["lease_owner"] = nil
		set["lease_until"] = nil
	default:
		return nil, fmt.Errorf("store: save progress of run %s: unknown status %q", p.RunID, p.Status)
	}
	return set, nil
}

// Transition sets only the fields of set that are given. A non-nil AvailableAt or FinishedAt pointing at the zero
// time clears that field. Moving to a terminal status without a FinishedAt stamps the finish time if none is
// recorded, so that every finished run has one.
func (s *gormStore) Transition(ctx context.Context, id string, from []string, to string, set RunUpdate) error {
	if len(from) == 0 {
		return fmt.Errorf("store: transition run %s: no from status", id)
	}
	now := dbTime(time.Now())
	updates := map[string]any{"status": to}
	if set.Attempt != nil {
		updates["attempt"] = *set.Attempt
	}
	if set.Checkpoint != nil {
		updates["checkpoint"] = jsonArg(set.Checkpoint)
	}
	if set.ClearError {
		updates["error"] = nil
	} else if set.Error != nil {
		updates["error"] = jsonArg(set.Error)
	}
	if set.AvailableAt != nil {
		updates["available_at"] = timeArg(*set.AvailableAt)
	}
	switch {
	case set.FinishedAt != nil:
		updates["finished_at"] = timeArg(*set.FinishedAt)
	case to == RunSucceeded || to == RunFailed || to == RunCancelled:
		updates["finished_at"] = gorm.Expr("COALESCE(finished_at, ?)", now)
	}
	if set.ClearLease {
		updates["lease_owner"] = nil
		updates["lease_until"] = nil
	}
	return s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&runRow{}).Where("id = ? AND status IN ?", id, from).Updates(updates)
		if res.Error != nil {
			return fmt.Errorf("store: transition run %s to %s: %w", id, to, res.Error)
		}
		if res.RowsAffected == 0 {
			if err := mustExist(tx, &runRow{}, "id = ?", id); err != nil {
				return fmt.Errorf("store: transition run %s to %s: %w", id, to, err)
			}
			return fmt.Errorf("store: transition run %s to %s: not in %v: %w", id, to, from, ErrConflict)
		}
		return nil
	})
}

// DueRuns returns the ids oldest first. A limit of 0 means 100.
func (s *gormStore) DueRuns(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		limit = defaultDueRuns
	}
	limit = min(limit, maxDueRuns)
	ids := []string{}
	err := claimable(s.r.WithContext(ctx).Model(&runRow{}), dbTime(now)).Order("id").Limit(limit).
		Pluck("id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("store: list due runs: %w", err)
	}
	return ids, nil
}

// CountRuns counts all runs when status is empty.
func (s *gormStore) CountRuns(ctx context.Context, status string) (int64, error) {
	q := s.r.WithContext(ctx).Model(&runRow{})
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count runs: %w", err)
	}
	return n, nil
}
