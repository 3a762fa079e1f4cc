// Package queue carries run ids from the places that create or wake runs to the workers that execute them.
// The store is the truth about runs; the queue is only a fast path, so a lost entry delays a run until the
// sweeper re-enqueues it but never loses it. memq is the in-process implementation for embedded mode, redisq the
// Redis Streams one for distributed mode, and queuetest the conformance suite both must pass.
package queue

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by Receive, Enqueue, EnqueueBatch and Health after Close, so a worker loop can tell a
// deliberate shutdown from a failure worth retrying.
var ErrClosed = errors.New("queue: closed")

// Entry is one run id and the time it becomes deliverable. It exists for EnqueueBatch, which hands a whole group
// commit of runs to the queue at once.
type Entry struct {
	RunID string
	At    time.Time
}

// Delivery is one received entry. Ack removes it for good; an entry never acknowledged may be delivered again
// (to this or another worker) after the queue's visibility timeout.
type Delivery interface {
	RunID() string
	Ack(ctx context.Context) error
}

// Queue is what producers and workers share. Implementations must be safe for concurrent use and must treat a
// second Enqueue of a run id that is already waiting as a no-op (keeping the earlier of the two times). An id
// stops waiting when it is delivered, so enqueueing it again after delivery (a retry) adds a new entry.
//
// Entries are delivered in order of due time as they come due. Entries that are already due when they are
// enqueued may be delivered in arrival order instead (redisq does so); nothing may rely on a stricter order.
type Queue interface {
	// Enqueue makes runID deliverable at `at` (now or earlier: at once).
	Enqueue(ctx context.Context, runID string, at time.Time) error
	// EnqueueBatch enqueues many entries with the semantics of Enqueue for each, in one round trip where the
	// implementation has round trips. It exists for group commits, where one call follows the commit of many runs.
	// An id that appears twice in the batch is waiting once, at the earlier time.
	EnqueueBatch(ctx context.Context, entries []Entry) error
	// Receive blocks until an entry is due or ctx ends.
	Receive(ctx context.Context) (Delivery, error)
	// Depth counts entries waiting, due or not, for metrics and backpressure. Delivered entries no longer count,
	// acknowledged or not.
	Depth(ctx context.Context) (int64, error)
	// Health is nil when the queue can deliver. While a distributed queue cannot reach its server it returns the
	// last error, so readiness checks and metrics show a worker that cannot consume.
	Health(ctx context.Context) error
	// Close stops background work and makes Receive, Enqueue and EnqueueBatch return ErrClosed. Receivers blocked
	// in Receive return at once. Deliveries already handed out may still be acknowledged.
	Close() error
}
