package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// PollCursor is where one polling trigger of a flow stopped, and what its last poll did.
type PollCursor struct {
	FlowID string
	NodeID string
	// Cursor is the trigger's position (nodes.PollCursor as JSON).
	Cursor json.RawMessage
	// Rev counts the commits of this cursor; a commit names the rev it read, so a poller that lost its turn
	// cannot commit over another.
	Rev        int64
	NextPollAt time.Time
	LastPollAt time.Time
	// LastCount is how many records the last poll found; TotalCount how many since the cursor was made or reset.
	LastCount  int
	TotalCount int64
	// Failures counts polls failed in a row; LastErrorCode and LastError say why the last one failed.
	Failures      int
	LastErrorCode string
	LastError     string
	UpdatedAt     time.Time
}

// PollCommit is a page a poller commits: the runs its records became and the cursor after them, together.
type PollCommit struct {
	FlowID string
	NodeID string
	// Rev is the rev the poller read; the commit fails with ErrConflict when the cursor moved since.
	Rev        int64
	Cursor     json.RawMessage
	NextPollAt time.Time
	At         time.Time
	// Runs are created queued; a run whose dedup key is taken is skipped (the record was seen before).
	Runs []*Run
	// StartsPoll marks the first page of a poll (LastCount starts over); EndsPoll its last (LastPollAt is set).
	StartsPoll bool
	EndsPoll   bool
}

// PollFailure records a poll that failed: the cursor stays, the next poll waits until NextPollAt.
type PollFailure struct {
	FlowID     string
	NodeID     string
	Rev        int64
	Code       string
	Message    string
	NextPollAt time.Time
	At         time.Time
}

// PollStore keeps polling triggers' cursors.
type PollStore interface {
	// EnsurePollCursor makes the cursor of a flow's polling trigger if there is none, starting at cursor and due
	// at once, and returns it as it is.
	EnsurePollCursor(ctx context.Context, flowID, nodeID string, cursor json.RawMessage, now time.Time) (*PollCursor, error)
	// GetPollCursor returns one cursor, or ErrNotFound.
	GetPollCursor(ctx context.Context, flowID, nodeID string) (*PollCursor, error)
	// ListPollCursors returns the cursors of a flow, by node id.
	ListPollCursors(ctx context.Context, flowID string) ([]PollCursor, error)
	// CommitPoll creates the page's runs (skipping taken dedup keys) and moves the cursor, in one transaction,
	// and returns the ids of the runs it created. A cursor that moved since Rev fails with ErrConflict and
	// creates nothing.
	CommitPoll(ctx context.Context, c PollCommit) ([]string, error)
	// FailPoll records a failed poll; ErrConflict when the cursor moved since f.Rev.
	FailPoll(ctx context.Context, f PollFailure) error
	// ResetPollCursor replaces a cursor (a reset, a backfill from a date), due at once; the counts and the error
	// start over.
	ResetPollCursor(ctx context.Context, flowID, nodeID string, cursor json.RawMessage, now time.Time) (*PollCursor, error)
}

type pollCursorRow struct {
	FlowID        string     `gorm:"column:flow_id;primaryKey"`
	NodeID        string     `gorm:"column:node_id;primaryKey"`
	Cursor        string     `gorm:"column:cursor"`
	Rev           int64      `gorm:"column:rev"`
	NextPollAt    time.Time  `gorm:"column:next_poll_at"`
	LastPollAt    *time.Time `gorm:"column:last_poll_at"`
	LastCount     int        `gorm:"column:last_count"`
	TotalCount    int64      `gorm:"column:total_count"`
	Failures      int        `gorm:"column:failures"`
	LastErrorCode string     `gorm:"column:last_error_code"`
	LastError     string     `gorm:"column:last_error"`
	UpdatedAt     time.Time  `gorm:"column:updated_at"`
}

func (pollCursorRow) TableName() string { return "poll_cursors" }

func (r *pollCursorRow) model() *PollCursor {
	c := &PollCursor{FlowID: r.FlowID, NodeID: r.NodeID, Cursor: json.RawMessage(r.Cursor), Rev: r.Rev,
		NextPollAt: r.NextPollAt.UTC(), LastCount: r.LastCount, TotalCount: r.TotalCount, Failures: r.Failures,
		LastErrorCode: r.LastErrorCode, LastError: r.LastError, UpdatedAt: r.UpdatedAt.UTC()}
	if r.LastPollAt != nil {
		c.LastPollAt = r.LastPollAt.UTC()
	}
	return c
}

// maxPollError bounds the error text kept of a failed poll.
const maxPollError = 2000

func (s *gormStore) EnsurePollCursor(ctx context.Context, flowID, nodeID string, cursor json.RawMessage, now time.Time) (*PollCursor, error) {
	if !json.Valid(cursor) {
		return nil, errors.New("store: ensure poll cursor: the cursor is not JSON")
	}
	row := pollCursorRow{FlowID: flowID, NodeID: nodeID, Cursor: string(cursor), NextPollAt: dbTime(now), UpdatedAt: dbTime(now)}
	if err := s.w.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return nil, insertError(err, "ensure poll cursor")
	}
	return s.GetPollCursor(ctx, flowID, nodeID)
}

func (s *gormStore) GetPollCursor(ctx context.Context, flowID, nodeID string) (*PollCursor, error) {
	var row pollCursorRow
	err := s.r.WithContext(ctx).Take(&row, "flow_id = ? AND node_id = ?", flowID, nodeID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get poll cursor: %w", err)
	}
	return row.model(), nil
}

func (s *gormStore) ListPollCursors(ctx context.Context, flowID string) ([]PollCursor, error) {
	var rows []pollCursorRow
	if err := s.r.WithContext(ctx).Where("flow_id = ?", flowID).Order("node_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list poll cursors: %w", err)
	}
	out := make([]PollCursor, len(rows))
	for i := range rows {
		out[i] = *rows[i].model()
	}
	return out, nil
}

func (s *gormStore) CommitPoll(ctx context.Context, c PollCommit) ([]string, error) {
	if !json.Valid(c.Cursor) {
		return nil, errors.New("store: commit poll: the cursor is not JSON")
	}
	ops := make([]*groupOp, len(c.Runs))
	for i, r := range c.Runs {
		if r.FlowID != c.FlowID {
			return nil, fmt.Errorf("store: commit poll: run %s belongs to flow %s, not %s", r.ID, r.FlowID, c.FlowID)
		}
		ops[i] = &groupOp{ctx: ctx, create: r}
	}
	var created []string
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		set := map[string]any{"cursor": string(c.Cursor), "rev": c.Rev + 1, "next_poll_at": dbTime(c.NextPollAt),
			"failures": 0, "last_error_code": "", "last_error": "", "updated_at": dbTime(c.At)}
		res := tx.Model(&pollCursorRow{}).Where("flow_id = ? AND node_id = ? AND rev = ?", c.FlowID, c.NodeID, c.Rev).Updates(set)
		if res.Error != nil {
			return fmt.Errorf("store: commit poll: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: commit poll of %s/%s: the cursor moved since rev %d: %w", c.FlowID, c.NodeID, c.Rev, ErrConflict)
		}
		steps, err := s.createRuns(tx, ops, nil)
		if err != nil {
			return err
		}
		if len(steps) > 0 {
			if err := tx.CreateInBatches(steps, stepBatch).Error; err != nil {
				return insertError(err, "insert steps")
			}
		}
		created = created[:0]
		for _, op := range ops {
			var dup *DuplicateRunError
			switch {
			case op.err == nil:
				created = append(created, op.create.ID)
			case errors.As(op.err, &dup):
			default:
				return op.err
			}
		}
		counts := map[string]any{"last_count": gorm.Expr("last_count + ?", len(created)), "total_count": gorm.Expr("total_count + ?", len(created))}
		if c.StartsPoll {
			counts["last_count"] = len(created)
		}
		if c.EndsPoll {
			counts["last_poll_at"] = dbTime(c.At)
		}
		return tx.Model(&pollCursorRow{}).Where("flow_id = ? AND node_id = ?", c.FlowID, c.NodeID).Updates(counts).Error
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

func (s *gormStore) FailPoll(ctx context.Context, f PollFailure) error {
	msg := f.Message
	if len(msg) > maxPollError {
		msg = msg[:maxPollError]
	}
	res := s.w.WithContext(ctx).Model(&pollCursorRow{}).Where("flow_id = ? AND node_id = ? AND rev = ?", f.FlowID, f.NodeID, f.Rev).
		Updates(map[string]any{"rev": f.Rev + 1, "next_poll_at": dbTime(f.NextPollAt), "last_poll_at": dbTime(f.At),
			"failures": gorm.Expr("failures + 1"), "last_error_code": f.Code, "last_error": msg, "updated_at": dbTime(f.At)})
	if res.Error != nil {
		return fmt.Errorf("store: record failed poll: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: record failed poll of %s/%s: %w", f.FlowID, f.NodeID, ErrConflict)
	}
	return nil
}

func (s *gormStore) ResetPollCursor(ctx context.Context, flowID, nodeID string, cursor json.RawMessage, now time.Time) (*PollCursor, error) {
	if !json.Valid(cursor) {
		return nil, errors.New("store: reset poll cursor: the cursor is not JSON")
	}
	row := pollCursorRow{FlowID: flowID, NodeID: nodeID, Cursor: string(cursor), NextPollAt: dbTime(now), UpdatedAt: dbTime(now)}
	err := s.w.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "flow_id"}, {Name: "node_id"}},
		DoUpdates: clause.Assignments(map[string]any{"cursor": string(cursor), "rev": gorm.Expr("poll_cursors.rev + 1"),
			"next_poll_at": dbTime(now), "last_poll_at": nil, "last_count": 0, "total_count": 0, "failures": 0,
			"last_error_code": "", "last_error": "", "updated_at": dbTime(now)}),
	}).Create(&row).Error
	if err != nil {
		return nil, insertError(err, "reset poll cursor")
	}
	return s.GetPollCursor(ctx, flowID, nodeID)
}
