package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Wait status values. A wait is open until a person decides it, it times out, or its run is cancelled.
const (
	WaitOpen      = "open"
	WaitDecided   = "decided"
	WaitTimedOut  = "timed_out"
	WaitCancelled = "cancelled"
)

// Wait is a run parked for a person (a CRM review, an approval): what was asked, and how it ended.
type Wait struct {
	ID       string
	RunID    string
	FlowID   string
	NodeID   string
	NodeType string
	// Kind names what is asked ("crm.conflict"); Title is one line for people.
	Kind  string
	Title string
	// Status is open, decided, timed_out or cancelled.
	Status string
	// Request is what the person is shown; Decision what they chose (nil until decided).
	Request   json.RawMessage
	Decision  json.RawMessage
	DecidedBy string
	CreatedAt time.Time
	TimeoutAt time.Time
	DecidedAt time.Time
	// EventName and EventKey, for a wait of core.wait-event, name the event that decides it (DeliverEvent).
	EventName string
	EventKey  string
	// EventSince, when set on a new event wait, lets an event received at or after it, before the wait was
	// inserted, decide the wait at once: an event that raced ahead of its wait is not lost.
	EventSince time.Time
}

// WaitFilter narrows ListWaits; empty fields do not filter.
type WaitFilter struct {
	Status string
	FlowID string
	RunID  string
	// Kind keeps waits of one kind ("approval").
	Kind string
	// After continues a listing after this wait id (ids grow with time, newest first: before it).
	After string
	Limit int
	// Events lists the waits for an event (core.wait-event) instead of the waits for a person (reviews).
	Events bool
}

// Decision is a person's answer to an open wait.
type Decision struct {
	WaitID   string
	Decision json.RawMessage
	By       string
	At       time.Time
}

// WaitStore keeps the waits of parked runs. The wait itself is created by SaveProgress (Progress.Wait), in the
// transaction that parks its run.
type WaitStore interface {
	// GetWait returns one wait, or ErrNotFound.
	GetWait(ctx context.Context, id string) (*Wait, error)
	// ListWaits returns waits newest first.
	ListWaits(ctx context.Context, f WaitFilter) ([]Wait, error)
	// CountWaits counts waits for a person with the status (all when empty), for the app's badge; waits for an
	// event are nobody's to decide and are not counted.
	CountWaits(ctx context.Context, status string) (int64, error)
	// DecideWait records the decision and queues the wait's run, due at once, in one transaction, only while the
	// wait is open and its run waiting: ErrConflict otherwise (decided already, timed out, run cancelled), and
	// nothing changes. It returns the wait as decided.
	DecideWait(ctx context.Context, d Decision) (*Wait, error)
	// EndWait closes an open wait as timed_out or cancelled; ErrConflict when it is no longer open.
	EndWait(ctx context.Context, id, status string, at time.Time) error
	// CancelWaits closes every open wait of a run as cancelled (the run was cancelled).
	CancelWaits(ctx context.Context, runID string, at time.Time) error
}

// maxWaitTitle bounds a wait's title.
const maxWaitTitle = 300

type waitRow struct {
	ID        string     `gorm:"column:id;primaryKey"`
	RunID     string     `gorm:"column:run_id"`
	FlowID    string     `gorm:"column:flow_id"`
	NodeID    string     `gorm:"column:node_id"`
	NodeType  string     `gorm:"column:node_type"`
	Kind      string     `gorm:"column:kind"`
	Title     string     `gorm:"column:title"`
	Status    string     `gorm:"column:status"`
	Request   *string    `gorm:"column:request"`
	Decision  *string    `gorm:"column:decision"`
	DecidedBy string     `gorm:"column:decided_by"`
	CreatedAt time.Time  `gorm:"column:created_at"`
	TimeoutAt time.Time  `gorm:"column:timeout_at"`
	DecidedAt *time.Time `gorm:"column:decided_at"`
	EventName string     `gorm:"column:event_name"`
	EventKey  string     `gorm:"column:event_key"`
}

func (waitRow) TableName() string { return "waits" }

func waitContext(runID, waitID, field string) string {
	return "wait/" + runID + "/" + waitID + "/" + field
}

func (s *gormStore) newWaitRow(w *Wait) (waitRow, error) {
	title := w.Title
	if len(title) > maxWaitTitle {
		title = title[:maxWaitTitle]
	}
	row := waitRow{ID: w.ID, RunID: w.RunID, FlowID: w.FlowID, NodeID: w.NodeID, NodeType: w.NodeType, Kind: w.Kind,
		Title: title, Status: WaitOpen, Request: nullString(string(w.Request)), CreatedAt: dbTime(w.CreatedAt),
		TimeoutAt: dbTime(w.TimeoutAt), EventName: w.EventName, EventKey: w.EventKey}
	if w.ID == "" || w.RunID == "" || w.Kind == "" {
		return row, fmt.Errorf("store: wait of run %s: id, run and kind are required", w.RunID)
	}
	if row.CreatedAt.IsZero() {
		row.CreatedAt = dbTime(time.Now())
	}
	if err := s.sealValue(row.Request, waitContext(w.RunID, w.ID, "request")); err != nil {
		return row, err
	}
	return row, nil
}

func (s *gormStore) openWaitRow(row *waitRow) (*Wait, error) {
	for field, p := range map[string]*string{"request": row.Request, "decision": row.Decision} {
		if err := s.openValue(p, waitContext(row.RunID, row.ID, field)); err != nil {
			return nil, err
		}
	}
	w := &Wait{ID: row.ID, RunID: row.RunID, FlowID: row.FlowID, NodeID: row.NodeID, NodeType: row.NodeType,
		Kind: row.Kind, Title: row.Title, Status: row.Status, DecidedBy: row.DecidedBy,
		CreatedAt: row.CreatedAt.UTC(), TimeoutAt: row.TimeoutAt.UTC(), EventName: row.EventName, EventKey: row.EventKey}
	if row.Request != nil {
		w.Request = json.RawMessage(*row.Request)
	}
	if row.Decision != nil {
		w.Decision = json.RawMessage(*row.Decision)
	}
	if row.DecidedAt != nil {
		w.DecidedAt = row.DecidedAt.UTC()
	}
	return w, nil
}

func (s *gormStore) GetWait(ctx context.Context, id string) (*Wait, error) {
	var row waitRow
	err := s.r.WithContext(ctx).Take(&row, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get wait: %w", err)
	}
	return s.openWaitRow(&row)
}

func (s *gormStore) ListWaits(ctx context.Context, f WaitFilter) ([]Wait, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := s.r.WithContext(ctx).Model(&waitRow{})
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.FlowID != "" {
		q = q.Where("flow_id = ?", f.FlowID)
	}
	if f.RunID != "" {
		q = q.Where("run_id = ?", f.RunID)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	if f.Events {
		q = q.Where("event_name <> ''")
	} else {
		q = q.Where("event_name = ''")
	}
	var rows []waitRow
	if err := q.Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list waits: %w", err)
	}
	out := make([]Wait, 0, len(rows))
	for i := range rows {
		w, err := s.openWaitRow(&rows[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *w)
	}
	return out, nil
}

func (s *gormStore) CountWaits(ctx context.Context, status string) (int64, error) {
	q := s.r.WithContext(ctx).Model(&waitRow{}).Where("event_name = ''")
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count waits: %w", err)
	}
	return n, nil
}

func (s *gormStore) DecideWait(ctx context.Context, d Decision) (*Wait, error) {
	if !json.Valid(d.Decision) {
		return nil, errors.New("store: decide wait: the decision is not JSON")
	}
	at := d.At
	if at.IsZero() {
		at = time.Now()
	}
	var row waitRow
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Take(&row, "id = ?", d.WaitID).Error; err != nil {
			return notFound(err, "wait "+d.WaitID)
		}
		if row.Status != WaitOpen {
			return fmt.Errorf("store: decide wait %s: it is %s: %w", d.WaitID, row.Status, ErrConflict)
		}
		decision := string(d.Decision)
		if err := s.sealValue(&decision, waitContext(row.RunID, row.ID, "decision")); err != nil {
			return err
		}
		res := tx.Model(&waitRow{}).Where("id = ? AND status = ?", d.WaitID, WaitOpen).
			Updates(map[string]any{"status": WaitDecided, "decision": decision, "decided_by": d.By, "decided_at": dbTime(at)})
		if res.Error != nil {
			return fmt.Errorf("store: decide wait %s: %w", d.WaitID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: decide wait %s: no longer open: %w", d.WaitID, ErrConflict)
		}
		res = tx.Model(&runRow{}).Where("id = ? AND status = ?", row.RunID, RunWaiting).
			Updates(map[string]any{"status": RunQueued, "available_at": nil, "lease_owner": nil, "lease_until": nil})
		if res.Error != nil {
			return fmt.Errorf("store: decide wait %s: queue run %s: %w", d.WaitID, row.RunID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: decide wait %s: run %s is no longer waiting: %w", d.WaitID, row.RunID, ErrConflict)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetWait(ctx, d.WaitID)
}

func (s *gormStore) EndWait(ctx context.Context, id, status string, at time.Time) error {
	if status != WaitTimedOut && status != WaitCancelled {
		return fmt.Errorf("store: end wait %s: %q is not an end of a wait", id, status)
	}
	res := s.w.WithContext(ctx).Model(&waitRow{}).Where("id = ? AND status = ?", id, WaitOpen).
		Updates(map[string]any{"status": status, "decided_at": dbTime(at)})
	if res.Error != nil {
		return fmt.Errorf("store: end wait %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		if err := mustExist(s.w.WithContext(ctx), &waitRow{}, "id = ?", id); err != nil {
			return fmt.Errorf("store: end wait %s: %w", id, err)
		}
		return fmt.Errorf("store: end wait %s: no longer open: %w", id, ErrConflict)
	}
	return nil
}

func (s *gormStore) CancelWaits(ctx context.Context, runID string, at time.Time) error {
	err := s.w.WithContext(ctx).Model(&waitRow{}).Where("run_id = ? AND status = ?", runID, WaitOpen).
		Updates(map[string]any{"status": WaitCancelled, "decided_at": dbTime(at)}).Error
	if err != nil {
		return fmt.Errorf("store: cancel waits of run %s: %w", runID, err)
	}
	return nil
}
