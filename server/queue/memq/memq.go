// Package memq is the in-process queue of embedded mode: a time-ordered heap of run ids. It keeps nothing on
// disk; after a restart the sweeper re-enqueues every run the store says is due.
package memq

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/ferry-hq/ferry/server/queue"
)

// Queue is an in-memory queue.Queue.
type Queue struct {
	mu      sync.Mutex
	items   entries
	index   map[string]*entry // waiting entries by run id
	wake    chan struct{}
	closed  bool
	closeCh chan struct{}
	seq     uint64
	now     func() time.Time
}

type entry struct {
	runID string
	at    time.Time
	seq   uint64
	pos   int
}

type entries []*entry

func (h entries) Len() int { return len(h) }
func (h entries) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h entries) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].pos = i; h[j].pos = j }
func (h *entries) Push(x any)   { e := x.(*entry); e.pos = len(*h); *h = append(*h, e) }
func (h *entries) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// New returns an empty queue.
func New() *Queue {
	return &Queue{index: map[string]*entry{}, wake: make(chan struct{}, 1), closeCh: make(chan struct{}), now: time.Now}
}

// Enqueue implements queue.Queue.
func (q *Queue) Enqueue(_ context.Context, runID string, at time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	q.add(runID, at)
	return nil
}

// EnqueueBatch implements queue.Queue: the whole batch is added under one lock, so receivers see all of it or
// none of it.
func (q *Queue) EnqueueBatch(_ context.Context, entries []queue.Entry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	for _, e := range entries {
		q.add(e.RunID, e.At)
	}
	return nil
}

// add makes runID waiting at `at`, or moves it earlier if it is already waiting. q.mu must be held.
func (q *Queue) add(runID string, at time.Time) {
	if e, ok := q.index[runID]; ok {
		if at.Before(e.at) {
			e.at = at
			heap.Fix(&q.items, e.pos)
			q.signal()
		}
		return
	}
	q.seq++
	e := &entry{runID: runID, at: at, seq: q.seq}
	heap.Push(&q.items, e)
	q.index[runID] = e
	q.signal()
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Receive implements queue.Queue.
func (q *Queue) Receive(ctx context.Context) (queue.Delivery, error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return nil, queue.ErrClosed
		}
		wait := time.Duration(-1)
		if len(q.items) > 0 {
			head := q.items[0]
			if d := head.at.Sub(q.now()); d > 0 {
				wait = d
			} else {
				heap.Pop(&q.items)
				delete(q.index, head.runID)
				more := len(q.items) > 0
				q.mu.Unlock()
				if more {
					q.signal() // let another receiver look at the next entry
				}
				return delivery(head.runID), nil
			}
		}
		q.mu.Unlock()
		var timer *time.Timer
		var due <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(wait)
			due = timer.C
		}
		select {
		case <-ctx.Done():
			stopTimer(timer)
			return nil, ctx.Err()
		case <-q.closeCh:
			stopTimer(timer)
			return nil, queue.ErrClosed
		case <-q.wake:
		case <-due:
		}
		stopTimer(timer)
	}
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// Depth implements queue.Queue.
func (q *Queue) Depth(context.Context) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return int64(len(q.items)), nil
}

// Health implements queue.Queue: an in-process queue can always deliver until it is closed.
func (q *Queue) Health(context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	return nil
}

// Close implements queue.Queue; waiting receivers return ErrClosed.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.closeCh)
	}
	return nil
}

// delivery needs no acknowledgement: an in-process entry cannot outlive its process, and the store's lease
// decides who runs a run.
type delivery string

func (d delivery) RunID() string             { return string(d) }
func (d delivery) Ack(context.Context) error { return nil }

var _ queue.Queue = (*Queue)(nil)
