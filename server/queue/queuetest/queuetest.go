// Package queuetest is the conformance suite every queue.Queue implementation must pass. Nothing above the
// queue knows which implementation is in use, so the behaviour workers and producers rely on is pinned here once
// rather than in each implementation's own tests.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/server/queue"
)

// slack absorbs clock granularity (a distributed queue keeps due times in whole milliseconds) when checking that
// an entry was not delivered before it was due.
const slack = 20 * time.Millisecond

// patience bounds how long a test waits for an entry that should arrive.
const patience = 5 * time.Second

// Run runs the conformance subtests. newQueue must return a new, empty queue for the subtest it is given and
// arrange any cleanup of its own with t.Cleanup; Run closes every queue it gets, possibly more than once, so Close
// must be idempotent.
func Run(t *testing.T, newQueue func(t *testing.T) queue.Queue) {
	t.Helper()
	fresh := func(t *testing.T) queue.Queue {
		t.Helper()
		q := newQueue(t)
		t.Cleanup(func() { _ = q.Close() })
		return q
	}
	t.Run("OrderByDueTime", func(t *testing.T) { testOrderByDueTime(t, fresh(t)) })
	t.Run("DelayedNotDeliveredEarly", func(t *testing.T) { testDelayedNotEarly(t, fresh(t)) })
	t.Run("DedupKeepsEarlierTime", func(t *testing.T) { testDedup(t, fresh(t)) })
	t.Run("EnqueueBatch", func(t *testing.T) { testEnqueueBatch(t, fresh(t)) })
	t.Run("Depth", func(t *testing.T) { testDepth(t, fresh(t)) })
	t.Run("ConcurrentReceivers", func(t *testing.T) { testConcurrentReceivers(t, fresh(t)) })
	t.Run("ReceiveHonoursContext", func(t *testing.T) { testReceiveContext(t, fresh(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, fresh(t)) })
	t.Run("RetryAfterDelivery", func(t *testing.T) { testRetryAfterDelivery(t, fresh(t)) })
	t.Run("Health", func(t *testing.T) { testHealth(t, fresh(t)) })
}

func enqueue(t *testing.T, q queue.Queue, runID string, at time.Time) {
	t.Helper()
	if err := q.Enqueue(context.Background(), runID, at); err != nil {
		t.Fatalf("enqueue %s: %v", runID, err)
	}
}

func receive(t *testing.T, q queue.Queue, within time.Duration) queue.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	d, err := q.Receive(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return d
}

func ack(t *testing.T, d queue.Delivery) {
	t.Helper()
	if err := d.Ack(context.Background()); err != nil {
		t.Fatalf("ack %s: %v", d.RunID(), err)
	}
}

// nothingFor fails if an entry is delivered within d.
func nothingFor(t *testing.T, q queue.Queue, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	got, err := q.Receive(ctx)
	if err == nil {
		t.Fatalf("unexpected delivery of %s", got.RunID())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive: want deadline exceeded, got %v", err)
	}
}

func depth(t *testing.T, q queue.Queue, want int64) {
	t.Helper()
	n, err := q.Depth(context.Background())
	if err != nil {
		t.Fatalf("depth: %v", err)
	}
	if n != want {
		t.Fatalf("depth %d, want %d", n, want)
	}
}

func testOrderByDueTime(t *testing.T, q queue.Queue) {
	base := time.Now()
	due := map[string]time.Time{
		"c": base.Add(450 * time.Millisecond),
		"a": base.Add(150 * time.Millisecond),
		"b": base.Add(300 * time.Millisecond),
	}
	for _, id := range []string{"c", "a", "b"} { // enqueued out of order on purpose
		enqueue(t, q, id, due[id])
	}
	for _, want := range []string{"a", "b", "c"} {
		d := receive(t, q, patience)
		at := time.Now()
		if d.RunID() != want {
			t.Fatalf("got %s, want %s", d.RunID(), want)
		}
		if at.Before(due[want].Add(-slack)) {
			t.Fatalf("%s delivered %v before it was due", want, due[want].Sub(at))
		}
		ack(t, d)
	}
}

func testDelayedNotEarly(t *testing.T, q queue.Queue) {
	due := time.Now().Add(400 * time.Millisecond)
	enqueue(t, q, "later", due)
	nothingFor(t, q, 200*time.Millisecond)
	d := receive(t, q, patience)
	if at := time.Now(); at.Before(due.Add(-slack)) {
		t.Fatalf("delivered %v early", due.Sub(at))
	}
	if d.RunID() != "later" {
		t.Fatalf("got %s", d.RunID())
	}
	ack(t, d)
	depth(t, q, 0)
}

func testDedup(t *testing.T, q queue.Queue) {
	now := time.Now()
	// A delayed entry moved earlier: the earlier time wins, even when it is now.
	enqueue(t, q, "x", now.Add(time.Hour))
	enqueue(t, q, "x", now.Add(2*time.Hour)) // later: ignored
	depth(t, q, 1)
	enqueue(t, q, "x", now)
	depth(t, q, 1)
	d := receive(t, q, patience)
	if d.RunID() != "x" {
		t.Fatalf("got %s, want x", d.RunID())
	}
	ack(t, d)
	depth(t, q, 0)

	// A due entry enqueued again for later stays due, and is delivered once.
	enqueue(t, q, "y", time.Now())
	enqueue(t, q, "y", time.Now().Add(time.Hour))
	enqueue(t, q, "y", time.Now())
	depth(t, q, 1)
	d = receive(t, q, patience)
	if d.RunID() != "y" {
		t.Fatalf("got %s, want y", d.RunID())
	}
	ack(t, d)
	nothingFor(t, q, 300*time.Millisecond)
	depth(t, q, 0)
}

func testEnqueueBatch(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	if err := q.EnqueueBatch(ctx, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	now := time.Now()
	later := now.Add(500 * time.Millisecond)
	var batch []queue.Entry
	want := map[string]time.Time{}
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("due-%d", i)
		batch = append(batch, queue.Entry{RunID: id, At: now})
		want[id] = now
	}
	for i := 0; i < 100; i++ {
		id := fmt.Sprintf("later-%d", i)
		batch = append(batch, queue.Entry{RunID: id, At: later})
		want[id] = later
	}
	// Ids repeated within the batch are waiting once, at the earlier time.
	batch = append(batch, queue.Entry{RunID: "due-0", At: now.Add(time.Hour)}, queue.Entry{RunID: "later-0", At: now})
	want["later-0"] = now
	if err := q.EnqueueBatch(ctx, batch); err != nil {
		t.Fatalf("enqueue batch: %v", err)
	}
	depth(t, q, int64(len(want)))
	seen := map[string]bool{}
	for len(seen) < len(want) {
		d := receive(t, q, patience)
		at := time.Now()
		id := d.RunID()
		due, ok := want[id]
		if !ok {
			t.Fatalf("unknown id %s", id)
		}
		if seen[id] {
			t.Fatalf("%s delivered twice", id)
		}
		if at.Before(due.Add(-slack)) {
			t.Fatalf("%s delivered %v early", id, due.Sub(at))
		}
		seen[id] = true
		ack(t, d)
	}
	nothingFor(t, q, 200*time.Millisecond)
	depth(t, q, 0)
}

func testDepth(t *testing.T, q queue.Queue) {
	depth(t, q, 0)
	now := time.Now()
	enqueue(t, q, "a", now)
	enqueue(t, q, "b", now)
	enqueue(t, q, "c", now.Add(time.Hour))
	depth(t, q, 3)
	d := receive(t, q, patience)
	depth(t, q, 2) // delivered entries no longer wait
	ack(t, d)
	depth(t, q, 2)
	enqueue(t, q, "c", now.Add(2*time.Hour))
	depth(t, q, 2)
}

func testConcurrentReceivers(t *testing.T, q queue.Queue) {
	const n, receivers, chunk = 2000, 8, 250
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, n)
	errs := make(chan error, receivers)
	var wg sync.WaitGroup
	for i := 0; i < receivers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				d, err := q.Receive(ctx)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				if err := d.Ack(context.Background()); err != nil {
					errs <- err
					return
				}
				got <- d.RunID()
			}
		}()
	}
	now := time.Now()
	for start := 0; start < n; start += chunk {
		batch := make([]queue.Entry, 0, chunk)
		for i := start; i < start+chunk && i < n; i++ {
			batch = append(batch, queue.Entry{RunID: fmt.Sprintf("run-%04d", i), At: now})
		}
		if err := q.EnqueueBatch(ctx, batch); err != nil {
			t.Fatalf("enqueue batch: %v", err)
		}
	}
	seen := make(map[string]bool, n)
	deadline := time.After(60 * time.Second)
	for len(seen) < n {
		select {
		case id := <-got:
			if seen[id] {
				t.Fatalf("%s delivered twice", id)
			}
			seen[id] = true
		case err := <-errs:
			t.Fatalf("receiver: %v", err)
		case <-deadline:
			t.Fatalf("only %d of %d delivered", len(seen), n)
		}
	}
	// Give a duplicate the chance to show up.
	select {
	case id := <-got:
		t.Fatalf("%s delivered after all %d were seen", id, n)
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	wg.Wait()
	depth(t, q, 0)
}

func testReceiveContext(t *testing.T, q queue.Queue) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := q.Receive(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("cancellation took %v", el)
	}

	start = time.Now()
	short, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := q.Receive(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want context.DeadlineExceeded, got %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("deadline took %v", el)
	}

	// Entries are still delivered after abandoned receives.
	enqueue(t, q, "after", time.Now())
	d := receive(t, q, patience)
	if d.RunID() != "after" {
		t.Fatalf("got %s", d.RunID())
	}
	ack(t, d)
}

func testClose(t *testing.T, q queue.Queue) {
	errc := make(chan error, 1)
	go func() {
		_, err := q.Receive(context.Background())
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, queue.ErrClosed) {
			t.Fatalf("blocked receive after close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("blocked receive did not return after close")
	}
	ctx := context.Background()
	if _, err := q.Receive(ctx); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("receive after close: %v", err)
	}
	if err := q.Enqueue(ctx, "x", time.Now()); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("enqueue after close: %v", err)
	}
	if err := q.EnqueueBatch(ctx, []queue.Entry{{RunID: "y", At: time.Now()}}); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("enqueue batch after close: %v", err)
	}
	if err := q.Health(ctx); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("health after close: %v", err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func testRetryAfterDelivery(t *testing.T, q queue.Queue) {
	enqueue(t, q, "r", time.Now())
	first := receive(t, q, patience)
	// Delivered, not yet acknowledged: it is no longer waiting, so enqueueing it again adds a new entry.
	enqueue(t, q, "r", time.Now())
	second := receive(t, q, patience)
	if first.RunID() != "r" || second.RunID() != "r" {
		t.Fatalf("got %s and %s", first.RunID(), second.RunID())
	}
	ack(t, first)
	ack(t, second)

	// A retry with backoff after the entry was acknowledged.
	due := time.Now().Add(300 * time.Millisecond)
	enqueue(t, q, "r", due)
	d := receive(t, q, patience)
	if at := time.Now(); at.Before(due.Add(-slack)) {
		t.Fatalf("retry delivered %v early", due.Sub(at))
	}
	if d.RunID() != "r" {
		t.Fatalf("got %s", d.RunID())
	}
	ack(t, d)
	depth(t, q, 0)
}

func testHealth(t *testing.T, q queue.Queue) {
	if err := q.Health(context.Background()); err != nil {
		t.Fatalf("health of a new queue: %v", err)
	}
}
