package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RotationStore keeps the turn counters of round-robin assignment (core.assign), so a rotation goes on where it
// stopped across runs and restarts, and every worker of a fleet takes its turns from one counter.
type RotationStore interface {
	// AdvanceRotation takes the next turn of the rotation named key, creating the rotation on its first turn,
	// and returns the turn's number: 0, then 1, 2, …. It is one atomic statement, so concurrent callers, in
	// this process or in others sharing the database, never get the same number and never skip one.
	AdvanceRotation(ctx context.Context, key string) (int64, error)
}

// MaxRotationKey bounds a rotation key, which flows may build from data (a region, a team).
const MaxRotationKey = 512

// advanceRotationSQL inserts the rotation at one turn taken or, when it exists, adds one to its turns, and
// returns the turns taken so far. Both dialects run the upsert under the row's lock (Postgres) or the database's
// write lock (SQLite), so the read of turns and its increment cannot interleave with another caller's.
const advanceRotationSQL = `INSERT INTO rotations (rotation_key, turns, updated_at) VALUES (?, 1, ?)
ON CONFLICT (rotation_key) DO UPDATE SET turns = rotations.turns + 1, updated_at = excluded.updated_at
RETURNING turns`

func (s *gormStore) AdvanceRotation(ctx context.Context, key string) (int64, error) {
	switch {
	case key == "":
		return 0, errors.New("store: advance rotation: the key is empty")
	case len(key) > MaxRotationKey:
		return 0, fmt.Errorf("store: advance rotation: the key is longer than %d bytes", MaxRotationKey)
	}
	var turns []int64
	if err := s.w.WithContext(ctx).Raw(advanceRotationSQL, key, dbTime(time.Now())).Scan(&turns).Error; err != nil {
		return 0, fmt.Errorf("store: advance rotation: %w", err)
	}
	if len(turns) != 1 || turns[0] < 1 {
		return 0, fmt.Errorf("store: advance rotation %q: the database returned %v", key, turns)
	}
	return turns[0] - 1, nil
}
