package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Throttle is the sign-in throttling state of one key (an address, an account at an address, an account…), kept
// in the database so that every process of a fleet counts the same attempts. What the numbers mean is the auth
// package's business; the store only keeps them and changes them atomically.
type Throttle struct {
	// Key identifies what is throttled; the auth package makes it a hash, so no e-mail or address is stored.
	Key string
	// Failures is how many attempts count against the key.
	Failures int
	// LastAt is when the last attempt was counted.
	LastAt time.Time
	// BlockedUntil refuses attempts until then (zero: none refused).
	BlockedUntil time.Time
	// ExpiresAt is when the row may be deleted: nothing about it matters any more after then.
	ExpiresAt time.Time
}

// ThrottleStore keeps sign-in throttles. UpdateThrottle is the only way to change one, so that concurrent
// attempts in any number of processes are all counted.
type ThrottleStore interface {
	// GetThrottle returns the key's state, or ErrNotFound.
	GetThrottle(ctx context.Context, key string) (*Throttle, error)
	// UpdateThrottle replaces the key's state with next(current) atomically: next sees the stored state (the zero
	// Throttle with Key set when there is none) and no other update of the key lands in between; when one does,
	// next is called again on the newer state. It returns the state it stored.
	UpdateThrottle(ctx context.Context, key string, next func(cur Throttle) Throttle) (Throttle, error)
	DeleteThrottle(ctx context.Context, key string) error
	// PruneThrottles deletes the rows that expired before now.
	PruneThrottles(ctx context.Context, now time.Time) (int64, error)
}

type throttleRow struct {
	ID           string     `gorm:"column:id;primaryKey"`
	Failures     int        `gorm:"column:failures"`
	LastAt       time.Time  `gorm:"column:last_at"`
	BlockedUntil *time.Time `gorm:"column:blocked_until"`
	ExpiresAt    time.Time  `gorm:"column:expires_at"`
	Rev          int64      `gorm:"column:rev"`
}

func (throttleRow) TableName() string { return "login_throttles" }

func (r *throttleRow) throttle() Throttle {
	return Throttle{Key: r.ID, Failures: r.Failures, LastAt: r.LastAt.UTC(), BlockedUntil: fromNullTime(r.BlockedUntil),
		ExpiresAt: r.ExpiresAt.UTC()}
}

// maxThrottleRounds bounds the compare-and-swap loop of UpdateThrottle. Every round that loses has been beaten
// by an update that won, so it only runs out when this many updates of one key land while one caller tries.
const maxThrottleRounds = 200

// ErrContended means a throttle was changed by others so often that an update could not land.
var ErrContended = errors.New("store: too many concurrent updates")

func (s *gormStore) GetThrottle(ctx context.Context, key string) (*Throttle, error) {
	var row throttleRow
	if err := s.w.WithContext(ctx).Take(&row, "id = ?", key).Error; err != nil {
		return nil, notFound(err, "get throttle")
	}
	t := row.throttle()
	return &t, nil
}

// UpdateThrottle is a compare-and-swap on the row's revision: read, compute, write only if nobody wrote in
// between, else read again. That keeps the policy (how failures turn into delays) in Go, the same on SQLite and
// Postgres, and still never loses a count.
func (s *gormStore) UpdateThrottle(ctx context.Context, key string, next func(cur Throttle) Throttle) (Throttle, error) {
	db := s.w.WithContext(ctx)
	for range maxThrottleRounds {
		var row throttleRow
		err := db.Take(&row, "id = ?", key).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			t := next(Throttle{Key: key})
			fresh := throttleRow{ID: key, Failures: t.Failures, LastAt: dbTime(t.LastAt), BlockedUntil: nullTime(t.BlockedUntil),
				ExpiresAt: dbTime(t.ExpiresAt)}
			res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&fresh)
			if res.Error != nil {
				return Throttle{}, fmt.Errorf("store: create throttle: %w", res.Error)
			}
			if res.RowsAffected == 1 {
				return fresh.throttle(), nil
			}
			continue // another attempt created it first
		case err != nil:
			return Throttle{}, fmt.Errorf("store: read throttle: %w", err)
		}
		t := next(row.throttle())
		res := db.Model(&throttleRow{}).Where("id = ? AND rev = ?", key, row.Rev).Updates(map[string]any{
			"failures": t.Failures, "last_at": dbTime(t.LastAt), "blocked_until": timeArg(t.BlockedUntil),
			"expires_at": dbTime(t.ExpiresAt), "rev": row.Rev + 1,
		})
		if res.Error != nil {
			return Throttle{}, fmt.Errorf("store: update throttle: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			t.Key = key
			t.LastAt, t.BlockedUntil, t.ExpiresAt = dbTime(t.LastAt), fromNullTime(nullTime(t.BlockedUntil)), dbTime(t.ExpiresAt)
			return t, nil
		}
	}
	return Throttle{}, fmt.Errorf("store: update throttle: %w", ErrContended)
}

func (s *gormStore) DeleteThrottle(ctx context.Context, key string) error {
	if err := s.w.WithContext(ctx).Where("id = ?", key).Delete(&throttleRow{}).Error; err != nil {
		return fmt.Errorf("store: delete throttle: %w", err)
	}
	return nil
}

func (s *gormStore) PruneThrottles(ctx context.Context, now time.Time) (int64, error) {
	res := s.w.WithContext(ctx).Where("expires_at < ?", dbTime(now)).Delete(&throttleRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: prune throttles: %w", res.Error)
	}
	return res.RowsAffected, nil
}
