package nodes

import (
	"context"
	"sync"
)

// Rotations keeps the turn counters of rotations: the lead assignment node (core.assign) takes a turn for each
// item it hands out round-robin, so turns have to outlive the run, the process and the worker that took them.
// The server backs it with the store, where every worker of a fleet draws from the same counter.
type Rotations interface {
	// Advance takes the next turn of the rotation named key and returns its number: 0 for the first turn of a
	// new key, then 1, 2, …. Each number is handed out once, however many callers (goroutines, processes)
	// advance the same key at the same time.
	Advance(ctx context.Context, key string) (int64, error)
}

// RotationFunc lets a function (the store's AdvanceRotation) serve as Rotations.
type RotationFunc func(ctx context.Context, key string) (int64, error)

// Advance calls f.
func (f RotationFunc) Advance(ctx context.Context, key string) (int64, error) { return f(ctx, key) }

// MemoryRotations keeps turn counters in the process: for an engine used without a store (programs, tests),
// where rotations last as long as the process does.
type MemoryRotations struct {
	mu    sync.Mutex
	turns map[string]int64
}

// NewMemoryRotations returns an empty set of in-process rotations.
func NewMemoryRotations() *MemoryRotations {
	return &MemoryRotations{turns: map[string]int64{}}
}

// Advance takes the next turn of key.
func (m *MemoryRotations) Advance(_ context.Context, key string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.turns[key]
	m.turns[key] = n + 1
	return n, nil
}

var _ Rotations = (*MemoryRotations)(nil)
