package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// defaultTopFlows is how many flows RunStats lists when the query does not say.
const defaultTopFlows = 20

// maxStatsBuckets bounds the buckets of one RunStats call, so a tiny bucket over a long window cannot ask for
// millions of zero-filled rows.
const maxStatsBuckets = 2000

// Dead-letter scanning: with an error code filter, runs are read in batches of deadLetterBatch and a page stops
// after deadLetterScan runs, answering a cursor to go on from.
const (
	deadLetterBatch = 200
	deadLetterScan  = 5000
)

// runError is the part of a run's error the dashboard reads.
type runError struct {
	Code   string `json:"code"`
	NodeID string `json:"nodeId"`
}

func parseRunError(raw json.RawMessage) runError {
	var e runError
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &e)
	}
	return e
}

// epochSeconds is the SQL expression for a timestamp column as whole seconds since 1970 UTC. Postgres keeps
// TIMESTAMPTZ, an instant; SQLite keeps the UTC text Ferry writes, which strftime reads (fractional seconds and
// the +00:00 suffix included).
func (s *gormStore) epochSeconds(col string) string {
	if s.dialect == DialectPostgres {
		return "CAST(FLOOR(EXTRACT(EPOCH FROM " + col + ")) AS BIGINT)"
	}
	return "CAST(strftime('%s', " + col + ") AS INTEGER)"
}

func (s *gormStore) RunStats(ctx context.Context, q StatsQuery) (*RunStats, error) {
	if q.Bucket <= 0 || !q.Until.After(q.Since) {
		return nil, errors.New("store: run stats: the window needs a positive bucket and Until after Since")
	}
	since, until := dbTime(q.Since), dbTime(q.Until)
	n := int((until.Sub(since) + q.Bucket - 1) / q.Bucket)
	if n > maxStatsBuckets {
		return nil, fmt.Errorf("store: run stats: %d buckets is more than %d", n, maxStatsBuckets)
	}
	now := q.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = dbTime(now)
	top := q.TopFlows
	if top <= 0 {
		top = defaultTopFlows
	}
	db := s.r.WithContext(ctx)
	out := &RunStats{ByStatus: map[string]int64{}, Buckets: make([]RunBucket, n)}
	for i := range out.Buckets {
		out.Buckets[i] = RunBucket{Start: since.Add(time.Duration(i) * q.Bucket), ByStatus: map[string]int64{}}
	}

	// Runs over time: one grouped scan of the window on the created_at index.
	var buckets []struct {
		B      int64
		Status string
		N      int64
	}
	step := int64(q.Bucket / time.Second)
	if step <= 0 || q.Bucket%time.Second != 0 {
		return nil, errors.New("store: run stats: the bucket must be a whole number of seconds")
	}
	err := db.Model(&runRow{}).
		Select("("+s.epochSeconds("created_at")+" - ?) / ? AS b, status, COUNT(*) AS n", since.Unix(), step).
		Where("mode = ? AND created_at >= ? AND created_at < ?", "live", since, until).
		Group("b, status").Scan(&buckets).Error
	if err != nil {
		return nil, fmt.Errorf("store: run stats: buckets: %w", err)
	}
	for _, b := range buckets {
		out.ByStatus[b.Status] += b.N
		if b.B < 0 || b.B >= int64(n) {
			continue
		}
		out.Buckets[b.B].Total += b.N
		out.Buckets[b.B].ByStatus[b.Status] += b.N
	}

	if out.Failures, err = s.flowFailures(db, since, until, top); err != nil {
		return nil, err
	}
	if out.DeadLetters, out.DeadLetterTotal, err = s.deadLettersByFlow(db, top); err != nil {
		return nil, err
	}
	if out.Backlog, err = s.backlog(db, now); err != nil {
		return nil, err
	}
	return out, nil
}

// flowFailures groups the window's failed live runs by flow and reads the newest failure of each listed flow.
func (s *gormStore) flowFailures(db *gorm.DB, since, until time.Time, top int) ([]FlowFailures, error) {
	var groups []struct {
		FlowID string
		N      int64
		LastID string
	}
	err := db.Model(&runRow{}).Select("flow_id, COUNT(*) AS n, MAX(id) AS last_id").
		Where("status = ? AND mode = ? AND created_at >= ? AND created_at < ?", RunFailed, "live", since, until).
		Group("flow_id").Scan(&groups).Error
	if err != nil {
		return nil, fmt.Errorf("store: run stats: failures by flow: %w", err)
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].N != groups[j].N {
			return groups[i].N > groups[j].N
		}
		return groups[i].LastID > groups[j].LastID
	})
	if len(groups) > top {
		groups = groups[:top]
	}
	out := make([]FlowFailures, len(groups))
	if len(groups) == 0 {
		return out, nil
	}
	flowIDs, lastIDs := make([]string, len(groups)), make([]string, len(groups))
	for i, g := range groups {
		flowIDs[i], lastIDs[i] = g.FlowID, g.LastID
	}
	names, err := flowNames(db, flowIDs)
	if err != nil {
		return nil, err
	}
	var rows []runRow
	if err := db.Select("id", "error", "created_at").Where("id IN ?", lastIDs).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: run stats: last failures: %w", err)
	}
	last := make(map[string]*runRow, len(rows))
	for i := range rows {
		if err := s.openValue(rows[i].Error, runContext(rows[i].ID, "error")); err != nil {
			return nil, err
		}
		last[rows[i].ID] = &rows[i]
	}
	for i, g := range groups {
		out[i] = FlowFailures{FlowID: g.FlowID, FlowName: names[g.FlowID], Failed: g.N, LastRunID: g.LastID}
		if r := last[g.LastID]; r != nil {
			out[i].LastError, out[i].LastAt = fromNullJSON(r.Error), r.CreatedAt.UTC()
		}
	}
	return out, nil
}

// deadLettersByFlow groups every failed live run by flow, on the (status, id) index.
func (s *gormStore) deadLettersByFlow(db *gorm.DB, top int) ([]FlowDeadLetters, int64, error) {
	var groups []struct {
		FlowID  string
		N       int64
		FirstID string
	}
	err := db.Model(&runRow{}).Select("flow_id, COUNT(*) AS n, MIN(id) AS first_id").
		Where("status = ? AND mode = ?", RunFailed, "live").Group("flow_id").Scan(&groups).Error
	if err != nil {
		return nil, 0, fmt.Errorf("store: run stats: dead letters by flow: %w", err)
	}
	var total int64
	for _, g := range groups {
		total += g.N
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].N != groups[j].N {
			return groups[i].N > groups[j].N
		}
		return groups[i].FirstID < groups[j].FirstID
	})
	if len(groups) > top {
		groups = groups[:top]
	}
	out := make([]FlowDeadLetters, len(groups))
	if len(groups) == 0 {
		return out, total, nil
	}
	flowIDs, firstIDs := make([]string, len(groups)), make([]string, len(groups))
	for i, g := range groups {
		flowIDs[i], firstIDs[i] = g.FlowID, g.FirstID
	}
	names, err := flowNames(db, flowIDs)
	if err != nil {
		return nil, 0, err
	}
	var rows []runRow
	if err := db.Select("id", "created_at").Where("id IN ?", firstIDs).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("store: run stats: oldest dead letters: %w", err)
	}
	created := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		created[r.ID] = r.CreatedAt.UTC()
	}
	for i, g := range groups {
		out[i] = FlowDeadLetters{FlowID: g.FlowID, FlowName: names[g.FlowID], Count: g.N, Oldest: created[g.FirstID]}
	}
	return out, total, nil
}

// backlog counts unfinished runs in one grouped query on the (status, available_at) index, and finds the oldest
// ready queued run on the (status, id) index.
func (s *gormStore) backlog(db *gorm.DB, now time.Time) (Backlog, error) {
	var groups []struct {
		Status  string
		Delayed int
		N       int64
	}
	err := db.Model(&runRow{}).
		Select("status, CASE WHEN status = ? AND available_at > ? THEN 1 ELSE 0 END AS delayed, COUNT(*) AS n", RunQueued, now).
		Where("status IN ?", []string{RunQueued, RunWaiting, RunRunning}).Group("status, delayed").Scan(&groups).Error
	if err != nil {
		return Backlog{}, fmt.Errorf("store: run stats: backlog: %w", err)
	}
	var b Backlog
	for _, g := range groups {
		switch {
		case g.Status == RunQueued && g.Delayed == 1:
			b.Delayed += g.N
		case g.Status == RunQueued:
			b.Queued += g.N
		case g.Status == RunWaiting:
			b.Waiting += g.N
		case g.Status == RunRunning:
			b.Running += g.N
		}
	}
	if b.Queued > 0 {
		var oldest []runRow
		err := db.Select("id", "created_at").Where("status = ? AND (available_at IS NULL OR available_at <= ?)", RunQueued, now).
			Order("id").Limit(1).Find(&oldest).Error
		if err != nil {
			return Backlog{}, fmt.Errorf("store: run stats: oldest queued run: %w", err)
		}
		if len(oldest) == 1 {
			b.OldestQueued = oldest[0].CreatedAt.UTC()
		}
	}
	return b, nil
}

// flowNames maps flow ids to names; a flow deleted meanwhile is absent.
func flowNames(db *gorm.DB, ids []string) (map[string]string, error) {
	var flows []flowRow
	if err := db.Select("id", "name").Where("id IN ?", ids).Find(&flows).Error; err != nil {
		return nil, fmt.Errorf("store: flow names: %w", err)
	}
	names := make(map[string]string, len(flows))
	for _, f := range flows {
		names[f.ID] = f.Name
	}
	return names, nil
}

func (s *gormStore) ListDeadLetters(ctx context.Context, f DeadLetterFilter) (DeadLetterPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultRunPage
	}
	limit = min(limit, maxRunPage)
	batch := limit + 1
	if f.Code != "" {
		batch = max(batch, deadLetterBatch)
	}
	db := s.r.WithContext(ctx)
	var page DeadLetterPage
	cursor, scanned := f.Cursor, 0
	for {
		q := db.Model(&runRow{}).Select(runListColumns).Where("status = ? AND mode = ?", RunFailed, "live")
		if f.FlowID != "" {
			q = q.Where("flow_id = ?", f.FlowID)
		}
		if !f.Since.IsZero() {
			q = q.Where("created_at >= ?", dbTime(f.Since))
		}
		if !f.Until.IsZero() {
			q = q.Where("created_at < ?", dbTime(f.Until))
		}
		if cursor != "" {
			q = q.Where("id < ?", cursor)
		}
		var rows []runRow
		if err := q.Order("id DESC").Limit(batch).Find(&rows).Error; err != nil {
			return DeadLetterPage{}, fmt.Errorf("store: list dead letters: %w", err)
		}
		done := false
		for i := range rows {
			if err := s.openRunRow(&rows[i]); err != nil {
				return DeadLetterPage{}, err
			}
			cursor = rows[i].ID
			scanned++
			e := parseRunError(fromNullJSON(rows[i].Error))
			if f.Code != "" && e.Code != f.Code {
				continue
			}
			if len(page.DeadLetters) == limit {
				// A further match exists (without a code filter, any further row): the page ends before it.
				page.NextCursor = page.DeadLetters[limit-1].ID
				done = true
				break
			}
			page.DeadLetters = append(page.DeadLetters, DeadLetter{Run: rows[i].run(), FailedNode: e.NodeID})
		}
		if done || len(rows) < batch {
			break
		}
		if scanned >= deadLetterScan {
			page.NextCursor = cursor
			break
		}
	}
	if err := s.countAttempts(db, page.DeadLetters); err != nil {
		return DeadLetterPage{}, err
	}
	return page, nil
}

// countAttempts fills each dead letter's Attempts with the number of failed steps of its failed node, in one
// grouped query on the steps' primary key.
func (s *gormStore) countAttempts(db *gorm.DB, dls []DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	ids := make([]string, len(dls))
	for i := range dls {
		ids[i] = dls[i].ID
	}
	var counts []struct {
		RunID  string
		NodeID string
		N      int
	}
	err := db.Model(&stepRow{}).Select("run_id, node_id, COUNT(*) AS n").
		Where("run_id IN ? AND status = ?", ids, StepFailed).Group("run_id, node_id").Scan(&counts).Error
	if err != nil {
		return fmt.Errorf("store: count failed attempts: %w", err)
	}
	byRun := make(map[string]int, len(counts))
	for _, c := range counts {
		byRun[c.RunID+"\x00"+c.NodeID] = c.N
	}
	for i := range dls {
		dls[i].Attempts = byRun[dls[i].ID+"\x00"+dls[i].FailedNode]
	}
	return nil
}
