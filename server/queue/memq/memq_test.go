package memq

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/queue/queuetest"
)

func receive(t *testing.T, q *Queue, within time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	d, err := q.Receive(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return d.RunID()
}

func TestOrderAndDedup(t *testing.T) {
	q := New()
	now := time.Now()
	ctx := context.Background()
	_ = q.Enqueue(ctx, "b", now.Add(-time.Second))
	_ = q.Enqueue(ctx, "a", now.Add(-2*time.Second))
	_ = q.Enqueue(ctx, "b", now) // already waiting: no second entry, earlier time kept
	if n, _ := q.Depth(ctx); n != 2 {
		t.Fatalf("depth %d", n)
	}
	if got := receive(t, q, time.Second); got != "a" {
		t.Fatalf("first %s", got)
	}
	if got := receive(t, q, time.Second); got != "b" {
		t.Fatalf("second %s", got)
	}
	if n, _ := q.Depth(ctx); n != 0 {
		t.Fatalf("depth after receive %d", n)
	}
}

func TestDelayedEntriesWait(t *testing.T) {
	q := New()
	ctx := context.Background()
	_ = q.Enqueue(ctx, "later", time.Now().Add(time.Hour))
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := q.Receive(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a delayed entry was delivered early: %v", err)
	}
	// Moving it earlier wakes the receiver.
	done := make(chan string)
	go func() { done <- receive(t, q, 5*time.Second) }()
	_ = q.Enqueue(ctx, "later", time.Now())
	select {
	case id := <-done:
		if id != "later" {
			t.Fatalf("got %s", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("receiver not woken")
	}
}

func TestManyReceivers(t *testing.T) {
	q := New()
	ctx := context.Background()
	const n = 200
	got := make(chan string, n)
	for i := 0; i < 8; i++ {
		go func() {
			for {
				d, err := q.Receive(ctx)
				if err != nil {
					return
				}
				got <- d.RunID()
			}
		}()
	}
	for i := 0; i < n; i++ {
		_ = q.Enqueue(ctx, string(rune('A'+i%26))+time.Duration(i).String(), time.Now())
	}
	seen := map[string]bool{}
	for len(seen) < n {
		select {
		case id := <-got:
			if seen[id] {
				t.Fatalf("%s delivered twice", id)
			}
			seen[id] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d delivered", len(seen), n)
		}
	}
	q.Close()
}

func TestClose(t *testing.T) {
	q := New()
	errc := make(chan error)
	go func() { _, err := q.Receive(context.Background()); errc <- err }()
	q.Close()
	if err := <-errc; !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("receive after close: %v", err)
	}
	if err := q.Enqueue(context.Background(), "x", time.Now()); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("enqueue after close: %v", err)
	}
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(*testing.T) queue.Queue { return New() })
}
