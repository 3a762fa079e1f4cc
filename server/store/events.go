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

// Event is a business event a parked run may wait for (core.wait-event): a payment callback, or a run of a
// flow's trigger ("flow:<flowId>"). Name and Key correlate it with the waits; ID makes a second delivery of the
// same event recognisable.
type Event struct {
	ID   string
	Name string
	Key  string
	// Data is the event's JSON payload, sealed like run data.
	Data       json.RawMessage
	ReceivedAt time.Time
}

// Resumed is a wait an event decided, and the run it queued.
type Resumed struct {
	WaitID string
	RunID  string
	FlowID string
}

// EventDelivery is what delivering an event did.
type EventDelivery struct {
	// Duplicate is set when an event with the same name and id was delivered before: nothing else happened.
	Duplicate bool
	// Resumed lists the waits the event decided, oldest first; their runs are queued, due at once.
	Resumed []Resumed
}

// EventStore keeps events and resolves the waits for them (ARCHITECTURE.md, "Parked runs").
type EventStore interface {
	// DeliverEvent, in one transaction, inserts e, decides every open wait for (e.Name, e.Key) whose timeout is
	// still ahead of e.ReceivedAt with e as its decision, and queues each wait's run. A wait whose run is no
	// longer waiting (its worker is timing it out, or it was cancelled) is left to that worker. An event
	// already delivered (same name and id) changes nothing and is reported as a duplicate. The event is kept
	// even when no wait took it, so a wait that starts soon after may (Wait.EventSince).
	DeliverEvent(ctx context.Context, e Event) (*EventDelivery, error)
	// TakeEvent stores e (unless an event with its name and id is stored already) and decides the open wait
	// waitID with it, leaving the wait's run as it is: the worker holding the run's lease resumes it at once. It
	// is how a due wait takes an event that was due to it but not delivered (see Runner.resumeWait).
	// ErrConflict when the wait is no longer open.
	TakeEvent(ctx context.Context, waitID string, e Event) error
	// PruneEvents deletes up to limit events received before before, and returns how many it deleted.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Bounds of events.
const (
	// MaxEventName and MaxEventKey bound an event's name and correlation key.
	MaxEventName = 200
	MaxEventKey  = 500
)

type eventRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	Name       string    `gorm:"column:name;primaryKey"`
	Key        string    `gorm:"column:event_key"`
	Data       *string   `gorm:"column:data"`
	ReceivedAt time.Time `gorm:"column:received_at"`
}

func (eventRow) TableName() string { return "events" }

func eventContext(name, id string) string { return "event/" + name + "/" + id + "/data" }

// lockEventKey serialises, on Postgres, the transactions that deliver an event for (name, key) and those that
// park a run on a wait for it, so that one of them always sees the other's rows: otherwise an event committed
// while a wait for it is being inserted would be seen by neither. SQLite has one writer at a time already.
func (s *gormStore) lockEventKey(tx *gorm.DB, name, key string) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", fmt.Sprintf("%d:%s:%s", len(name), name, key)).Error; err != nil {
		return fmt.Errorf("store: lock event key: %w", err)
	}
	return nil
}

// eventDecision is the decision an event gives the waits it resumes: what core.wait-event outputs.
func eventDecision(e *Event) (string, error) {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	b, err := json.Marshal(map[string]any{"id": e.ID, "name": e.Name, "key": e.Key, "data": data,
		"receivedAt": e.ReceivedAt.UTC()})
	if err != nil {
		return "", fmt.Errorf("store: encode event %s: %w", e.ID, err)
	}
	return string(b), nil
}

// decideByEvent records e as the decision of the open wait w at at and queues w's run, due at at, if the run is
// still waiting; it reports whether it did.
func (s *gormStore) decideByEvent(tx *gorm.DB, w *waitRow, e *Event, at time.Time) (bool, error) {
	res := tx.Model(&runRow{}).Where("id = ? AND status = ?", w.RunID, RunWaiting).
		Updates(map[string]any{"status": RunQueued, "available_at": dbTime(at), "lease_owner": nil, "lease_until": nil})
	if res.Error != nil {
		return false, fmt.Errorf("store: queue run %s for event %s: %w", w.RunID, e.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	decision, err := eventDecision(e)
	if err != nil {
		return false, err
	}
	if err := s.sealValue(&decision, waitContext(w.RunID, w.ID, "decision")); err != nil {
		return false, err
	}
	res = tx.Model(&waitRow{}).Where("id = ? AND status = ?", w.ID, WaitOpen).
		Updates(map[string]any{"status": WaitDecided, "decision": decision, "decided_by": "event:" + e.ID,
			"decided_at": dbTime(at)})
	if res.Error != nil {
		return false, fmt.Errorf("store: decide wait %s by event %s: %w", w.ID, e.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		// The run was waiting but its wait is closed: something changed under us; do nothing at all.
		return false, fmt.Errorf("store: decide wait %s by event %s: no longer open: %w", w.ID, e.ID, ErrConflict)
	}
	return true, nil
}

func (s *gormStore) DeliverEvent(ctx context.Context, e Event) (*EventDelivery, error) {
	if e.ID == "" || e.Name == "" || e.Key == "" {
		return nil, errors.New("store: deliver event: id, name and key are required")
	}
	if len(e.Name) > MaxEventName || len(e.Key) > MaxEventKey {
		return nil, errors.New("store: deliver event: name or key too long")
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return nil, errors.New("store: deliver event: the data is not JSON")
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = time.Now()
	}
	e.ReceivedAt = dbTime(e.ReceivedAt)
	row := eventRow{ID: e.ID, Name: e.Name, Key: e.Key, Data: nullString(string(e.Data)), ReceivedAt: e.ReceivedAt}
	if err := s.sealValue(row.Data, eventContext(e.Name, e.ID)); err != nil {
		return nil, err
	}
	out := &EventDelivery{}
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out.Resumed = nil
		if err := s.lockEventKey(tx, e.Name, e.Key); err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return insertError(res.Error, "insert event")
		}
		if res.RowsAffected == 0 {
			out.Duplicate = true
			return nil
		}
		var waits []waitRow
		err := tx.Where("event_name = ? AND event_key = ? AND status = ? AND timeout_at > ?", e.Name, e.Key, WaitOpen, e.ReceivedAt).
			Order("id").Find(&waits).Error
		if err != nil {
			return fmt.Errorf("store: find waits for event %s: %w", e.ID, err)
		}
		for i := range waits {
			ok, err := s.decideByEvent(tx, &waits[i], &e, e.ReceivedAt)
			if err != nil {
				return err
			}
			if ok {
				out.Resumed = append(out.Resumed, Resumed{WaitID: waits[i].ID, RunID: waits[i].RunID, FlowID: waits[i].FlowID})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// takeEarlierEvent, in the transaction that parks a run on the event wait w, looks for an event for it received
// at or after since (and before the wait's timeout): when there is one, the wait is decided with the earliest
// such event at once and the run queued, so an event that arrived shortly before the wait started is not lost.
func (s *gormStore) takeEarlierEvent(tx *gorm.DB, w *waitRow, since time.Time) error {
	if err := s.lockEventKey(tx, w.EventName, w.EventKey); err != nil {
		return err
	}
	var ev eventRow
	err := tx.Where("name = ? AND event_key = ? AND received_at >= ? AND received_at < ?", w.EventName, w.EventKey,
		dbTime(since), w.TimeoutAt).Order("received_at, id").Limit(1).Take(&ev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: find earlier event for wait %s: %w", w.ID, err)
	}
	if err := s.openValue(ev.Data, eventContext(ev.Name, ev.ID)); err != nil {
		return err
	}
	e := Event{ID: ev.ID, Name: ev.Name, Key: ev.Key, ReceivedAt: ev.ReceivedAt.UTC()}
	if ev.Data != nil {
		e.Data = json.RawMessage(*ev.Data)
	}
	// Decided as of now: the run was parked just now, and is due at once.
	ok, err := s.decideByEvent(tx, w, &e, time.Now())
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("store: wait %s: its run is not waiting", w.ID)
	}
	return nil
}

func (s *gormStore) TakeEvent(ctx context.Context, waitID string, e Event) error {
	if e.ID == "" || e.Name == "" || e.Key == "" {
		return errors.New("store: take event: id, name and key are required")
	}
	e.ReceivedAt = dbTime(e.ReceivedAt)
	row := eventRow{ID: e.ID, Name: e.Name, Key: e.Key, Data: nullString(string(e.Data)), ReceivedAt: e.ReceivedAt}
	if err := s.sealValue(row.Data, eventContext(e.Name, e.ID)); err != nil {
		return err
	}
	return s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockEventKey(tx, e.Name, e.Key); err != nil {
			return err
		}
		var w waitRow
		if err := tx.Take(&w, "id = ?", waitID).Error; err != nil {
			return notFound(err, "wait "+waitID)
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return insertError(err, "insert event")
		}
		decision, err := eventDecision(&e)
		if err != nil {
			return err
		}
		if err := s.sealValue(&decision, waitContext(w.RunID, w.ID, "decision")); err != nil {
			return err
		}
		res := tx.Model(&waitRow{}).Where("id = ? AND status = ?", waitID, WaitOpen).
			Updates(map[string]any{"status": WaitDecided, "decision": decision, "decided_by": "event:" + e.ID,
				"decided_at": dbTime(time.Now())})
		if res.Error != nil {
			return fmt.Errorf("store: take event for wait %s: %w", waitID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: take event for wait %s: no longer open: %w", waitID, ErrConflict)
		}
		return nil
	})
}

func (s *gormStore) PruneEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		limit = 500
	}
	sub := s.w.Model(&eventRow{}).Select("id").Where("received_at < ?", dbTime(before)).Order("received_at").Limit(limit)
	// (name, id) is the key; ids are unique enough within a batch that deleting by id and time is exact.
	res := s.w.WithContext(ctx).Where("received_at < ? AND id IN (?)", dbTime(before), sub).Delete(&eventRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: prune events: %w", res.Error)
	}
	return res.RowsAffected, nil
}

var _ EventStore = (*gormStore)(nil)
