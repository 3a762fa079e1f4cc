package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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

// stepBatch is how many steps one INSERT carries; small for the reason given at runBatch.
const stepBatch = 32

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

// CreateRuns commits runs together through the group commit, in one transaction: all of them or none. A run
// whose dedup key is taken, by an earlier run or by an earlier run of the same call, is not created; its entry in
// held names the run that holds the key, and is empty for a run that was created. An error means none was.
func (s *gormStore) CreateRuns(ctx context.Context, runs []*Run) (held []string, err error) {
	if len(runs) == 0 {
		return nil, nil
	}
	batch := make([]*groupOp, len(runs))
	now := time.Now()
	for i, r := range runs {
		if r.ID == "" || r.FlowID == "" {
			return nil, errors.New("store: create runs: run id and flow id are required")
		}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		r.CreatedAt = dbTime(r.CreatedAt)
		batch[i] = &groupOp{ctx: ctx, create: r}
	}
	if err := s.group.submit(&groupOp{ctx: ctx, batch: batch}); err != nil {
		return nil, err
	}
	held = make([]string, len(runs))
	for i, op := range batch {
		var dup *DuplicateRunError
		switch {
		case op.err == nil:
		case errors.As(op.err, &dup):
			held[i] = dup.RunID
		default:
			return nil, op.err
		}
	}
	return held, nil
}

// ResolveInputs fills in the Input of steps that refer to another step's output (Step.InputRef), from the
// steps given.
func ResolveInputs(steps []Step) {
	outputs := make(map[int]json.RawMessage, len(steps))
	for i := range steps {
		outputs[steps[i].Seq] = steps[i].Output
	}
	for i := range steps {
		if ref := steps[i].InputRef; ref > 0 && steps[i].Input == nil {
			steps[i].Input = outputs[ref]
		}
	}
}

// insertSteps adds steps to a run inside tx. A step with Seq 0 is numbered after the run's last step.
func (s *gormStore) insertSteps(tx *gorm.DB, runID string, steps []Step) error {
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
	for i := range rows {
		if err := s.sealStepRow(&rows[i]); err != nil {
			return err
		}
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
	if err := s.openRunRow(&row); err != nil {
		return nil, err
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
	if filter.ParentRunID != "" {
		q = q.Where("parent_run_id = ?", filter.ParentRunID)
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
		if err := s.openRunRow(&rows[i]); err != nil {
			return RunPage{}, err
		}
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
		if err := s.openStepRow(&rows[i]); err != nil {
			return nil, err
		}
		steps[i] = rows[i].step()
	}
	ResolveInputs(steps)
	return steps, nil
}

// claimable is the condition under which a run may be taken by a worker at time now (the same for ClaimRun,
// DueRuns and WakeRuns): queued or waiting with AvailableAt passed (or unset) and no live lease, or running with
// an expired lease; not a held child (core.split); and, for an ordered run, no earlier live run with its ordering key; and, for a capped flow,
// fewer live leases on the flow's runs than the cap.
func claimable(db *gorm.DB, now time.Time) *gorm.DB {
	return db.Where(
		"NOT runs.held AND ((runs.status IN ? AND (runs.available_at IS NULL OR runs.available_at <= ?) AND (runs.lease_until IS NULL OR runs.lease_until < ?))"+
			" OR (runs.status = ? AND runs.lease_until < ?))"+
			" AND (runs.ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM runs o WHERE o.flow_id = runs.flow_id"+
			" AND o.ordering_key = runs.ordering_key AND o.id < runs.id AND o.status IN ?))"+
			" AND (runs.concurrency = 0 OR (SELECT COUNT(*) FROM runs c WHERE c.flow_id = runs.flow_id"+
			" AND c.status = ? AND c.lease_until >= ?) < runs.concurrency)",
		[]string{RunQueued, RunWaiting}, now, now, RunRunning, now,
		[]string{RunQueued, RunRunning, RunWaiting}, RunRunning, now)
}

// ClaimRun is one conditional UPDATE, so of several workers claiming the same run at once exactly one succeeds.
// Claims join group commits (group.go) like the other writes of a run's life.
func (s *gormStore) ClaimRun(ctx context.Context, id, owner string, leaseUntil time.Time) (*Run, error) {
	if owner == "" {
		return nil, fmt.Errorf("store: claim run %s: empty lease owner", id)
	}
	op := &groupOp{ctx: ctx, claim: &claimOp{id: id, owner: owner, leaseUntil: leaseUntil}}
	if err := s.group.submit(op); err != nil {
		return nil, err
	}
	if err := s.openRunRow(&op.claim.row); err != nil {
		return nil, err
	}
	r := op.claim.row.run()
	return &r, nil
}

// claimOp is a ClaimRun call in a group; row is the claimed run.
type claimOp struct {
	id, owner  string
	leaseUntil time.Time
	row        runRow
}

// claimMany claims the runs of ops inside tx. Runs of uncapped flows are claimed together, one UPDATE … RETURNING
// per lease owner, which is what keeps a busy worker's claims to a round trip or two per group on Postgres. Runs
// of capped flows are claimed one at a time (claim), since a statement's count of running runs does not see the
// other rows that statement claims.
func (s *gormStore) claimMany(tx *gorm.DB, ops []*groupOp) error {
	if len(ops) == 0 {
		return nil
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].claim.id < ops[j].claim.id }) // lock order
	ids := make([]string, len(ops))
	for i, op := range ops {
		ids[i] = op.claim.id
	}
	var heads []runRow
	if err := tx.Select("id", "concurrency").Where("id IN ?", ids).Find(&heads).Error; err != nil {
		return fmt.Errorf("store: claim runs: %w", err)
	}
	exists := make(map[string]bool, len(heads))
	capped := map[string]bool{}
	for _, h := range heads {
		exists[h.ID] = true
		if h.Concurrency > 0 {
			capped[h.ID] = true
		}
	}
	byOwner := map[string][]*groupOp{}
	for _, op := range ops {
		switch {
		case !exists[op.claim.id]:
			op.err = fmt.Errorf("store: claim run %s: %w", op.claim.id, ErrNotFound)
		case capped[op.claim.id]:
			var err error
			if op.err, err = s.claim(tx, op.claim); err != nil {
				return err
			}
		default:
			byOwner[op.claim.owner] = append(byOwner[op.claim.owner], op)
		}
	}
	now := dbTime(time.Now())
	for owner, group := range byOwner {
		ids := make([]string, len(group))
		var lease time.Time
		for i, op := range group {
			ids[i] = op.claim.id
			if op.claim.leaseUntil.After(lease) {
				lease = op.claim.leaseUntil
			}
		}
		var rows []runRow
		res := claimable(tx.Model(&rows).Clauses(clause.Returning{}).Where("id IN ?", ids), now).Updates(map[string]any{
			"status":      RunRunning,
			"lease_owner": owner,
			"lease_until": dbTime(lease),
			"started_at":  gorm.Expr("COALESCE(started_at, ?)", now),
		})
		if res.Error != nil {
			return fmt.Errorf("store: claim runs: %w", res.Error)
		}
		claimed := make(map[string]*runRow, len(rows))
		for i := range rows {
			claimed[rows[i].ID] = &rows[i]
		}
		for _, op := range group {
			if row := claimed[op.claim.id]; row != nil {
				op.claim.row = *row
			} else {
				op.err = fmt.Errorf("store: claim run %s: not claimable: %w", op.claim.id, ErrConflict)
			}
		}
	}
	return nil
}

// claim claims c inside tx. It returns an error only when the database failed; a run that is not claimable is
// the call's outcome (ErrConflict, ErrNotFound). A capped flow needs more on Postgres, where two claims of
// different runs could each count running runs before the other's claim commits: the claim locks the flow's row
// first, so claims of one capped flow count one after the other. (SQLite's single writer runs them in turn.)
// FOR NO KEY UPDATE conflicts only with itself among the locks runs take on their flow, so inserting runs of the
// flow (whose foreign key takes KEY SHARE) does not wait for it.
func (s *gormStore) claim(tx *gorm.DB, c *claimOp) (outcome, err error) {
	now := dbTime(time.Now())
	if s.dialect == DialectPostgres {
		var head runRow
		if err := tx.Select("flow_id", "concurrency").Take(&head, "id = ?", c.id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("store: claim run %s: %w", c.id, ErrNotFound), nil
			}
			return nil, fmt.Errorf("store: claim run %s: %w", c.id, err)
		}
		if head.Concurrency > 0 {
			if err := tx.Exec("SELECT 1 FROM flows WHERE id = ? FOR NO KEY UPDATE", head.FlowID).Error; err != nil {
				return nil, fmt.Errorf("store: claim run %s: lock flow: %w", c.id, err)
			}
		}
	}
	// RETURNING reads the claimed run back in the same round trip.
	res := claimable(tx.Model(&c.row).Clauses(clause.Returning{}).Where("id = ?", c.id), now).Updates(map[string]any{
		"status":      RunRunning,
		"lease_owner": c.owner,
		"lease_until": dbTime(c.leaseUntil),
		"started_at":  gorm.Expr("COALESCE(started_at, ?)", now),
	})
	if res.Error != nil {
		return nil, fmt.Errorf("store: claim run %s: %w", c.id, res.Error)
	}
	if res.RowsAffected == 0 {
		if err := mustExist(tx, &runRow{}, "id = ?", c.id); errors.Is(err, ErrNotFound) {
			return fmt.Errorf("store: claim run %s: %w", c.id, err), nil
		} else if err != nil {
			return nil, fmt.Errorf("store: claim run %s: %w", c.id, err)
		}
		return fmt.Errorf("store: claim run %s: not claimable: %w", c.id, ErrConflict), nil
	}
	return nil, nil
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
		v, err := s.sealedArg(id, "checkpoint", set.Checkpoint)
		if err != nil {
			return err
		}
		updates["checkpoint"] = v
	}
	if set.ClearError {
		updates["error"] = nil
	} else if set.Error != nil {
		v, err := s.sealedArg(id, "error", set.Error)
		if err != nil {
			return err
		}
		updates["error"] = v
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
		return s.childTransition(tx, id, from, to)
	})
}

// childTransition keeps a split's count of open children right when a child changes status outside a worker's
// save: a child cancelled ends (its parent may go on), and a failed child retried is open again while its parent
// still waits for its children.
func (s *gormStore) childTransition(tx *gorm.DB, id string, from []string, to string) error {
	var parent []string
	if err := tx.Model(&runRow{}).Where("id = ? AND parent_run_id IS NOT NULL", id).Pluck("parent_run_id", &parent).Error; err != nil {
		return fmt.Errorf("store: transition run %s: read parent: %w", id, err)
	}
	if len(parent) == 0 {
		return nil
	}
	terminal := func(st string) bool { return st == RunSucceeded || st == RunFailed || st == RunCancelled }
	wasEnded := slices.ContainsFunc(from, terminal)
	switch {
	case terminal(to) && !wasEnded:
		_, err := s.childEnded(tx, parent[0])
		return err
	case !terminal(to) && wasEnded:
		return tx.Model(&runRow{}).Where("id = ? AND status = ? AND children_open > 0", parent[0], RunWaiting).
			Update("children_open", gorm.Expr("children_open + 1")).Error
	}
	return nil
}

// DueRuns pages by id.
func (s *gormStore) DueRuns(ctx context.Context, dq DueQuery) ([]string, error) {
	limit := dq.Limit
	if limit <= 0 {
		limit = defaultDueRuns
	}
	limit = min(limit, maxDueRuns)
	now := dbTime(dq.Now)
	q := claimable(s.r.WithContext(ctx).Model(&runRow{}), now)
	if !dq.Since.IsZero() {
		since := dbTime(dq.Since)
		q = q.Where("((status IN ? AND available_at > ?) OR (status = ? AND lease_until > ?))",
			[]string{RunQueued, RunWaiting}, since, RunRunning, since)
	}
	if dq.After != "" {
		q = q.Where("id > ?", dq.After)
	}
	switch {
	case dq.Expired && !dq.Waiting:
		q = q.Where("status = ?", RunRunning)
	case dq.Waiting && !dq.Expired:
		q = q.Where("status IN ?", []string{RunQueued, RunWaiting})
	}
	ids := []string{}
	if err := q.Order("id").Limit(limit).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("store: list due runs: %w", err)
	}
	return ids, nil
}

func (s *gormStore) WakeRuns(ctx context.Context, flowID, orderingKey string, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 1
	}
	q := claimable(s.r.WithContext(ctx).Model(&runRow{}), dbTime(time.Now())).Where("runs.flow_id = ?", flowID)
	if orderingKey != "" {
		q = q.Where("runs.ordering_key = ?", orderingKey)
	}
	ids := []string{}
	if err := q.Order("id").Limit(min(limit, maxDueRuns)).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("store: runs to wake in flow %s: %w", flowID, err)
	}
	return ids, nil
}

// PruneRuns deletes by id, which the runs' steps and dedup keys follow (ON DELETE CASCADE).
func (s *gormStore) PruneRuns(ctx context.Context, q PruneQuery) (int64, error) {
	if q.FlowID == "" || (q.Before.IsZero() && q.Keep <= 0) {
		return 0, nil
	}
	if q.Mode != "" && q.Mode != "test" && q.Mode != "live" {
		return 0, fmt.Errorf("store: prune runs of flow %s: unknown mode %q", q.FlowID, q.Mode)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultDueRuns
	}
	limit = min(limit, maxDueRuns)
	var deleted int64
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []string
		var cond []string
		var args []any
		if !q.Before.IsZero() {
			cond, args = append(cond, "created_at < ?"), append(args, dbTime(q.Before))
		}
		ofFlow := func() *gorm.DB {
			db := tx.Model(&runRow{}).Where("flow_id = ?", q.FlowID)
			switch q.Mode {
			case "test":
				// A literal, so both databases use the partial index of test runs.
				db = db.Where("mode = 'test'")
			case "live":
				db = db.Where("mode = 'live'")
			}
			return db
		}
		if q.Keep > 0 {
			// Older than the Keep-th newest run of the flow (of the mode), whatever its status.
			var boundary []string
			err := ofFlow().Order("id DESC").Offset(q.Keep-1).Limit(1).Pluck("id", &boundary).Error
			if err != nil {
				return fmt.Errorf("store: prune runs of flow %s: %w", q.FlowID, err)
			}
			if len(boundary) == 1 {
				cond, args = append(cond, "id < ?"), append(args, boundary[0])
			}
		}
		if len(cond) == 0 {
			return nil
		}
		err := ofFlow().Where("status IN ?", []string{RunSucceeded, RunFailed, RunCancelled}).
			Where("("+strings.Join(cond, " OR ")+")", args...).Order("id").Limit(limit).Pluck("id", &ids).Error
		if err != nil {
			return fmt.Errorf("store: prune runs of flow %s: %w", q.FlowID, err)
		}
		if len(ids) == 0 {
			return nil
		}
		res := tx.Where("id IN ?", ids).Delete(&runRow{})
		if res.Error != nil {
			return fmt.Errorf("store: prune runs of flow %s: %w", q.FlowID, res.Error)
		}
		deleted = res.RowsAffected
		return nil
	})
	return deleted, err
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

// childEnded counts a child of parent as ended, inside tx (the transaction recording the child's end): it
// releases the parent's next held child and, when no child is left open, queues the parent. It returns the runs
// it made claimable. On Postgres, SKIP LOCKED keeps two siblings ending at once from releasing the same child;
// the one that finds none locked releases none, and the next end releases it.
func (s *gormStore) childEnded(tx *gorm.DB, parent string) ([]string, error) {
	now := dbTime(time.Now())
	dec := tx.Model(&runRow{}).Where("id = ? AND children_open > 0", parent).Update("children_open", gorm.Expr("children_open - 1"))
	if dec.Error != nil {
		return nil, fmt.Errorf("store: end child of run %s: %w", parent, dec.Error)
	}
	if dec.RowsAffected == 0 {
		return nil, nil // the parent no longer waits for its children (it went on, or was cancelled)
	}
	var woken []string
	// held = ? (not a bare held), so both databases walk the (parent_run_id, held, child_index) index.
	q := "SELECT id FROM runs WHERE parent_run_id = ? AND held = ? ORDER BY child_index LIMIT 1"
	if s.dialect == DialectPostgres {
		q += " FOR UPDATE SKIP LOCKED"
	}
	var next []string
	if err := tx.Raw(q, parent, true).Scan(&next).Error; err != nil {
		return nil, fmt.Errorf("store: next held child of run %s: %w", parent, err)
	}
	if len(next) > 0 {
		res := tx.Model(&runRow{}).Where("id = ? AND held = ?", next[0], true).Updates(map[string]any{"held": false, "available_at": now})
		if res.Error != nil {
			return nil, fmt.Errorf("store: release child %s: %w", next[0], res.Error)
		}
		if res.RowsAffected > 0 {
			woken = append(woken, next[0])
		}
	}
	res := tx.Model(&runRow{}).Where("id = ? AND status = ? AND children_open = 0", parent, RunWaiting).
		Updates(map[string]any{"status": RunQueued, "available_at": now})
	if res.Error != nil {
		return nil, fmt.Errorf("store: queue parent run %s: %w", parent, res.Error)
	}
	if res.RowsAffected > 0 {
		woken = append(woken, parent)
	}
	return woken, nil
}

// startChildren opens the children of a split inside tx, the transaction that parks their parent (see
// Progress.Children), and returns the ones it made claimable, and the parent if it has none to wait for.
func (s *gormStore) startChildren(tx *gorm.DB, p *Progress) ([]string, error) {
	var existing []runRow
	if err := tx.Select("id", "dedup_key", "status", "attempt").Where("parent_run_id = ?", p.RunID).Find(&existing).Error; err != nil {
		return nil, fmt.Errorf("store: children of run %s: %w", p.RunID, err)
	}
	byKey := make(map[string]runRow, len(existing))
	for _, e := range existing {
		byKey[fromNullString(e.DedupKey)] = e
	}
	now := dbTime(time.Now())
	parallel := max(p.ChildParallel, 1)
	opened := 0
	var woken []string
	var create []*groupOp
	for _, c := range p.Children {
		held := opened >= parallel
		old, seen := byKey[c.DedupKey]
		switch {
		case !seen:
			c.Held, c.ParentRunID, c.Status = held, p.RunID, RunQueued
			if c.CreatedAt.IsZero() {
				c.CreatedAt = now
			}
			c.CreatedAt = dbTime(c.CreatedAt)
			create = append(create, &groupOp{create: c})
		case old.Status == RunFailed || old.Status == RunCancelled:
			raw, err := continueSteps(tx, old.ID, c.Checkpoint)
			if err != nil {
				return nil, err
			}
			cp, err := s.sealedArg(old.ID, "checkpoint", raw)
			if err != nil {
				return nil, err
			}
			res := tx.Model(&runRow{}).Where("id = ? AND status = ?", old.ID, old.Status).Updates(map[string]any{
				"status": RunQueued, "held": held, "attempt": old.Attempt + 1, "checkpoint": cp, "error": nil,
				"available_at": now, "finished_at": nil, "lease_owner": nil, "lease_until": nil,
			})
			if res.Error != nil {
				return nil, fmt.Errorf("store: reopen child %s: %w", old.ID, res.Error)
			}
			c.ID, c.Held = old.ID, held
		case old.Status == RunSucceeded:
			continue
		default: // still open: it counts, as it is
			c.ID, c.Held = old.ID, true
		}
		opened++
		if !c.Held {
			woken = append(woken, c.ID)
		}
	}
	if _, err := s.createRuns(tx, create, nil); err != nil {
		return nil, err
	}
	for _, op := range create {
		if op.err != nil {
			return nil, fmt.Errorf("store: create child of run %s: %w", p.RunID, op.err)
		}
	}
	if opened > 0 {
		return woken, tx.Model(&runRow{}).Where("id = ?", p.RunID).Update("children_open", opened).Error
	}
	res := tx.Model(&runRow{}).Where("id = ? AND status = ?", p.RunID, RunWaiting).Updates(map[string]any{"status": RunQueued, "available_at": now})
	if res.Error != nil {
		return nil, fmt.Errorf("store: queue run %s: %w", p.RunID, res.Error)
	}
	return []string{p.RunID}, nil
}

// continueSteps sets the step count of checkpoint (a child's fresh start) to the steps run already has, so the
// steps of its new attempt are numbered after those of the one that failed.
func continueSteps(tx *gorm.DB, runID string, checkpoint json.RawMessage) (json.RawMessage, error) {
	var last int
	if err := tx.Raw("SELECT COALESCE(MAX(seq), 0) FROM steps WHERE run_id = ?", runID).Scan(&last).Error; err != nil {
		return nil, fmt.Errorf("store: steps of run %s: %w", runID, err)
	}
	var st map[string]json.RawMessage
	if err := json.Unmarshal(checkpoint, &st); err != nil {
		return nil, fmt.Errorf("store: checkpoint of run %s: %w", runID, err)
	}
	st["seq"] = json.RawMessage(strconv.Itoa(last))
	return json.Marshal(st)
}
