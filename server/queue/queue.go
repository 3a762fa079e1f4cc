// Package queue carries run ids from the places that create or wake runs to the workers that execute them.
// The store is the truth about runs; the queue is only a fast path, so a lost entry delays a run until the
// sweeper re-enqueues it but never loses it. memq is the in-process implementation for embedded mode.
package queue

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by Receive and Enqueue after Close.
var ErrClosed = errors.New("queue: closed")

// Delivery is one received entry. Ack removes it for good; an entry never acknowledged may be delivered again
// (to this or another worker) after the queue's visibility timeout.
type Delivery interface {
	RunID() string
	Ack(ctx context.Context) error
}

// Queue is what producers and workers share. Implementations must be safe for concurrent use and must treat a
// second Enqueue of a run id that is already waiting as a no-op (keeping the earlier of the two times).
type Queue interface {
	// Enqueue makes runID deliverable at `at` (now or earlier: at once).
	Enqueue(ctx context.Context, runID string, at time.Time) error
	// Receive blocks until an entry is due or ctx ends.
	Receive(ctx context.Context) (Delivery, error)
	// Depth counts entries waiting, due or not, for metrics and backpressure.
	Depth(ctx context.Context) (int64, error)
	Close() error
}
