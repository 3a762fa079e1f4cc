package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Group commit. Accepting a webhook durably, claiming a run and saving its progress cost one transaction each, and a transaction costs one log flush on
// Postgres and one serialised commit on SQLite's single writer, whatever it holds. So CreateRun, ClaimRun and
// SaveProgress do not open a transaction each: they hand their work to a committer, which takes every call waiting at that
// moment and commits them together, then answers each caller. Nobody waits for a batch to fill: a lone call is
// committed at once, and under load the calls that arrive while one transaction commits form the next one.
// Each caller still learns its own outcome (a duplicate dedup key, a lost lease) and is answered only after the
// transaction holding its row has committed (I1).

// groupTimeout bounds one group transaction, so a hung database answers callers with an error instead of
// holding them forever.
const groupTimeout = 30 * time.Second

// maxGroup is the most calls one transaction takes.
const maxGroup = 512

// errStoreClosed is returned to calls made after Close.
var errStoreClosed = errors.New("store: closed")

// GroupStats counts group transactions, for the capacity benchmark and metrics: Calls / Commits is the mean
// number of calls that shared a transaction.
type GroupStats struct {
	Commits int64
	Calls   int64
	// Fallbacks counts groups that failed as a whole and were retried one call per transaction.
	Fallbacks int64
}

// GroupStatser is implemented by stores that commit in groups.
type GroupStatser interface {
	GroupStats() GroupStats
}

type groupOp struct {
	ctx context.Context
	// Exactly one of create, batch, claim and save is set.
	create *Run
	steps  []Step
	// batch holds the creates of one CreateRuns call: they go into the same transaction, all or none, and each
	// keeps its own outcome (a duplicate) in its err.
	batch []*groupOp
	claim *claimOp
	save  *Progress

	err  error
	done chan struct{}
}

type groupCommitter struct {
	s    *gormStore
	ops  chan *groupOp
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	commits, calls, fallbacks atomic.Int64
}

// newGroupCommitter starts n committers. SQLite has one writer, so one committer; Postgres commits several
// groups at once.
func newGroupCommitter(s *gormStore, n int) *groupCommitter {
	g := &groupCommitter{s: s, ops: make(chan *groupOp), stop: make(chan struct{})}
	for i := 0; i < n; i++ {
		g.wg.Add(1)
		go g.loop()
	}
	return g
}

// submit hands op to a committer and waits for its transaction. It waits past the caller's context: once the
// work is in a transaction the caller must learn whether it committed, or it could answer a trigger whose run
// exists as failed, or fail one that was saved.
func (g *groupCommitter) submit(op *groupOp) error {
	op.done = make(chan struct{})
	select {
	case g.ops <- op:
	case <-g.stop:
		return errStoreClosed
	case <-op.ctx.Done():
		return op.ctx.Err()
	}
	<-op.done
	return op.err
}

func (g *groupCommitter) loop() {
	defer g.wg.Done()
	batch := make([]*groupOp, 0, maxGroup)
	for {
		select {
		case <-g.stop:
			return
		case op := <-g.ops:
			batch = append(batch[:0], op)
		}
	collect:
		for len(batch) < maxGroup {
			select {
			case op := <-g.ops:
				batch = append(batch, op)
			default:
				break collect
			}
		}
		g.commit(batch)
		clear(batch)
	}
}

func (g *groupCommitter) close() {
	g.once.Do(func() { close(g.stop) })
	g.wg.Wait()
}

func (g *groupCommitter) stats() GroupStats {
	return GroupStats{Commits: g.commits.Load(), Calls: g.calls.Load(), Fallbacks: g.fallbacks.Load()}
}

// commit runs batch in one transaction. If the transaction fails as a whole, one call may be at fault (a row the
// database refuses), so each call is retried in a transaction of its own and only the faulty one fails.
func (g *groupCommitter) commit(batch []*groupOp) {
	live := batch[:0:0]
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			op.err = err
			close(op.done)
			continue
		}
		live = append(live, op)
	}
	if len(live) == 0 {
		return
	}
	g.commits.Add(1)
	g.calls.Add(int64(len(live)))
	err := g.run(live)
	if err != nil && len(live) > 1 {
		g.fallbacks.Add(1)
		for _, op := range live {
			if err := g.run([]*groupOp{op}); err != nil {
				op.err = err
			}
		}
	} else if err != nil {
		live[0].err = err
	}
	for _, op := range live {
		close(op.done)
	}
}

// run commits ops in one transaction. It returns an error only when the transaction failed; outcomes of single
// calls (a duplicate, a lost lease) are left in op.err.
func (g *groupCommitter) run(ops []*groupOp) error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	for _, op := range ops {
		op.err = nil
		if op.save != nil && op.save.Woken != nil {
			*op.save.Woken = (*op.save.Woken)[:0] // a retried transaction reports again what it wakes
		}
		for _, c := range op.batch {
			c.err = nil
		}
	}
	return g.s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var creates, claims, saves []*groupOp
		for _, op := range ops {
			switch {
			case op.create != nil:
				creates = append(creates, op)
			case op.batch != nil:
				creates = append(creates, op.batch...)
			case op.claim != nil:
				claims = append(claims, op)
			default:
				saves = append(saves, op)
			}
		}
		var steps []stepRow
		var err error
		if steps, err = g.s.createRuns(tx, creates, steps); err != nil {
			return err
		}
		if err := g.s.claimMany(tx, claims); err != nil {
			return err
		}
		if steps, err = g.s.saveProgresses(tx, saves, steps); err != nil {
			return err
		}
		if steps, err = g.s.createStarts(tx, append(creates, saves...), steps); err != nil {
			return err
		}
		if len(steps) > 0 {
			if err := tx.CreateInBatches(steps, stepBatch).Error; err != nil {
				return insertError(err, "insert steps")
			}
		}
		return nil
	})
}

// createRuns inserts the runs of ops and returns steps with theirs appended. Dedup keys are claimed first, in
// one statement that skips keys already taken; the calls whose key was taken (by an earlier run, or by an
// earlier call in this group) get a DuplicateRunError naming the run that holds it, and insert nothing.
func (s *gormStore) createRuns(tx *gorm.DB, ops []*groupOp, steps []stepRow) ([]stepRow, error) {
	if len(ops) == 0 {
		return steps, nil
	}
	type dedupKey struct{ flow, key string }
	first := map[dedupKey]*groupOp{}
	var claims []*groupOp
	for _, op := range ops {
		if op.create.DedupKey == "" {
			continue
		}
		k := dedupKey{op.create.FlowID, op.create.DedupKey}
		if f, ok := first[k]; ok {
			op.err = &DuplicateRunError{RunID: f.create.ID} // corrected below if f's key was taken too
			continue
		}
		first[k] = op
		claims = append(claims, op)
	}
	if len(claims) > 0 {
		// The same order in every transaction, so two groups claiming overlapping keys on Postgres wait for each
		// other instead of deadlocking.
		sort.Slice(claims, func(i, j int) bool {
			a, b := claims[i].create, claims[j].create
			if a.FlowID != b.FlowID {
				return a.FlowID < b.FlowID
			}
			return a.DedupKey < b.DedupKey
		})
		won, err := claimDedupKeys(tx, claims)
		if err != nil {
			return nil, err
		}
		for _, op := range claims {
			if won[op.create.ID] {
				continue
			}
			var holder dedupRow
			if err := tx.Take(&holder, "flow_id = ? AND dedup_key = ?", op.create.FlowID, op.create.DedupKey).Error; err != nil {
				return nil, fmt.Errorf("store: create run %s: read duplicate: %w", op.create.ID, err)
			}
			op.err = &DuplicateRunError{RunID: holder.RunID}
		}
		for _, op := range ops {
			var dup *DuplicateRunError
			if op.create.DedupKey == "" || !errors.As(op.err, &dup) {
				continue
			}
			f := first[dedupKey{op.create.FlowID, op.create.DedupKey}]
			if f != op && f.err != nil {
				op.err = f.err // the first call lost too: everyone points at the run that holds the key
			}
		}
	}
	rows := make([]runRow, 0, len(ops))
	for _, op := range ops {
		if op.err != nil {
			continue
		}
		row := newRunRow(op.create)
		if err := s.sealRunRow(&row); err != nil {
			return nil, err
		}
		rows = append(rows, row)
		for i := range op.steps {
			row := newStepRow(op.create.ID, &op.steps[i])
			if row.Seq == 0 {
				row.Seq = i + 1 // a new run has no steps yet
			}
			if err := s.sealStepRow(&row); err != nil {
				return nil, err
			}
			steps = append(steps, row)
		}
	}
	if len(rows) > 0 {
		if err := tx.CreateInBatches(rows, runBatch).Error; err != nil {
			return nil, insertError(err, "create runs")
		}
	}
	for _, op := range ops {
		if op.err != nil || op.create.Wait == nil {
			continue
		}
		if err := s.insertWait(tx, op.create.ID, op.create.Status, op.create.Wait); err != nil {
			return nil, err
		}
	}
	return steps, nil
}

// createStarts inserts the runs that the applied creates and saves of ops start (Run.Starts, Progress.Starts),
// skipping those whose dedup key is taken, and returns steps with theirs appended.
func (s *gormStore) createStarts(tx *gorm.DB, ops []*groupOp, steps []stepRow) ([]stepRow, error) {
	var starts []*groupOp
	for _, op := range ops {
		if op.err != nil {
			continue
		}
		var runs []*Run
		if op.create != nil {
			runs = op.create.Starts
		} else if op.save != nil {
			runs = op.save.Starts
		}
		for _, r := range runs {
			if r.ID == "" || r.FlowID == "" || r.Status != RunQueued {
				return nil, fmt.Errorf("store: start run %q of flow %q: a queued run with an id and a flow is required", r.ID, r.FlowID)
			}
			if r.CreatedAt.IsZero() {
				r.CreatedAt = time.Now()
			}
			r.CreatedAt = dbTime(r.CreatedAt)
			starts = append(starts, &groupOp{ctx: op.ctx, create: r})
		}
	}
	return s.createRuns(tx, starts, steps)
}

// insertWait inserts the wait a run parked on, in the transaction that stores the run as waiting.
func (s *gormStore) insertWait(tx *gorm.DB, runID, status string, wait *Wait) error {
	if status != RunWaiting {
		return fmt.Errorf("store: run %s: a wait parks a run, status %s", runID, status)
	}
	w := *wait
	w.RunID = runID
	row, err := s.newWaitRow(&w)
	if err != nil {
		return err
	}
	if err := tx.Create(&row).Error; err != nil {
		return insertError(err, "insert wait")
	}
	if row.EventName != "" && !wait.EventSince.IsZero() {
		return s.takeEarlierEvent(tx, &row, wait.EventSince)
	}
	return nil
}

// runBatch is how many runs one INSERT carries. Small on purpose: the SQLite driver matches each parameter to
// its value with a scan of all of them, so an INSERT's cost grows with the square of its parameters, and a long
// statement also costs more to parse than it saves.
const runBatch = 16

// claimDedupKeys inserts the dedup keys of ops, skipping those already taken, and returns the ids of the runs
// whose key was inserted. INSERT … ON CONFLICT DO NOTHING RETURNING has the same form in SQLite and Postgres.
func claimDedupKeys(tx *gorm.DB, ops []*groupOp) (map[string]bool, error) {
	won := make(map[string]bool, len(ops))
	const perStatement = 500 // 4 parameters each
	for start := 0; start < len(ops); start += perStatement {
		chunk := ops[start:min(start+perStatement, len(ops))]
		var sql strings.Builder
		sql.WriteString("INSERT INTO dedup_keys (flow_id, dedup_key, run_id, created_at) VALUES ")
		args := make([]any, 0, 4*len(chunk))
		for i, op := range chunk {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(?, ?, ?, ?)")
			args = append(args, op.create.FlowID, op.create.DedupKey, op.create.ID, dbTime(op.create.CreatedAt))
		}
		sql.WriteString(" ON CONFLICT DO NOTHING RETURNING run_id")
		var ids []string
		if err := tx.Raw(sql.String(), args...).Scan(&ids).Error; err != nil {
			return nil, fmt.Errorf("store: claim dedup keys: %w", err)
		}
		for _, id := range ids {
			won[id] = true
		}
	}
	return won, nil
}

// saveProgresses applies each progress whose writer still holds the lease, and returns steps with the new steps
// appended. A lost lease is that call's outcome (ErrConflict), not the group's.
func (s *gormStore) saveProgresses(tx *gorm.DB, ops []*groupOp, steps []stepRow) ([]stepRow, error) {
	sort.Slice(ops, func(i, j int) bool { return ops[i].save.RunID < ops[j].save.RunID }) // lock order, as above
	for _, op := range ops {
		p := op.save
		set, err := progressUpdates(*p)
		if err != nil {
			op.err = err
			continue
		}
		for field, raw := range map[string][]byte{"checkpoint": p.Checkpoint, "error": p.Error, "response": p.Response} {
			if _, ok := set[field]; !ok {
				continue
			}
			if set[field], err = s.sealedArg(p.RunID, field, raw); err != nil {
				return nil, err
			}
		}
		res := tx.Model(&runRow{}).Where("id = ? AND lease_owner = ? AND status = ?", p.RunID, p.LeaseOwner, RunRunning).
			Updates(set)
		if res.Error != nil {
			return nil, fmt.Errorf("store: save progress of run %s: %w", p.RunID, res.Error)
		}
		if res.RowsAffected == 0 {
			op.err = fmt.Errorf("store: save progress of run %s: lease of %q lost: %w", p.RunID, p.LeaseOwner, ErrConflict)
			continue
		}
		if p.Wait != nil {
			if err := s.insertWait(tx, p.RunID, p.Status, p.Wait); err != nil {
				return nil, err
			}
		}
		if len(p.Children) > 0 && p.Status == RunWaiting {
			woken, err := s.startChildren(tx, p)
			if err != nil {
				return nil, err
			}
			if p.Woken != nil {
				*p.Woken = append(*p.Woken, woken...)
			}
		}
		if p.ParentRunID != "" && (p.Status == RunSucceeded || p.Status == RunFailed || p.Status == RunCancelled) {
			woken, err := s.childEnded(tx, p.ParentRunID)
			if err != nil {
				return nil, err
			}
			if p.Woken != nil {
				*p.Woken = append(*p.Woken, woken...)
			}
		}
		numbered := true
		for i := range p.Steps {
			if p.Steps[i].Seq == 0 {
				numbered = false
				break
			}
		}
		if !numbered {
			if err := s.insertSteps(tx, p.RunID, p.Steps); err != nil {
				return nil, err
			}
			continue
		}
		for i := range p.Steps {
			row := newStepRow(p.RunID, &p.Steps[i])
			if err := s.sealStepRow(&row); err != nil {
				return nil, err
			}
			steps = append(steps, row)
		}
	}
	return steps, nil
}
