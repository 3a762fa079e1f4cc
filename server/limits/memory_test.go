package limits

import (
	"context"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// fakeClock is a virtual clock that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newFakeMemory() (*Memory, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, time.November, 11, 0, 0, 0, 0, time.UTC)}
	m := NewMemory()
	m.Now = c.now
	return m, c
}

func mustReserve(t *testing.T, m *Memory, key string, l nodes.Limit) time.Duration {
	t.Helper()
	d, err := m.Reserve(context.Background(), key, l)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestMemoryNeverExceedsTheQuotaInAnyWindow: callers arriving faster than the quota over a minute of virtual
// time are given slots that, in every window, number at most burst + rate × window.
func TestMemoryNeverExceedsTheQuotaInAnyWindow(t *testing.T) {
	m, clock := newFakeMemory()
	limit := nodes.Limit{Rate: 5, Burst: 10}
	start := clock.t
	var slots []time.Time
	for i := 0; i < 1000; i++ { // one caller every 60ms: 16.7/s against a quota of 5/s
		slots = append(slots, clock.t.Add(mustReserve(t, m, "shopify", limit)))
		clock.advance(60 * time.Millisecond)
	}
	for _, window := range []time.Duration{time.Second, 10 * time.Second, time.Minute} {
		allowed := limit.Burst + int(limit.Rate*window.Seconds())
		for i := range slots {
			n := 0
			for j := i; j < len(slots) && slots[j].Sub(slots[i]) < window; j++ {
				n++
			}
			if n > allowed {
				t.Fatalf("%d calls in the %s from %s, want at most %d", n, window, slots[i].Sub(start), allowed)
			}
		}
	}
	// The quota is used, not wasted: in the first minute, the burst plus one slot per 200ms.
	n := 0
	for _, s := range slots {
		if s.Sub(start) < time.Minute {
			n++
		}
	}
	if want := 10 + 5*60; n != want {
		t.Errorf("%d slots in the first minute, want %d", n, want)
	}
}

func TestMemoryPenaltyCoolsDown(t *testing.T) {
	m, clock := newFakeMemory()
	m.PenaltyCoolDown = time.Minute
	limit := nodes.Limit{Rate: 1, Burst: 1}
	ctx := context.Background()
	mustReserve(t, m, "k", limit)
	if err := m.Penalize(ctx, "k", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := mustReserve(t, m, "k", limit); d != 12*time.Second {
		t.Fatalf("first slot after the 429 in %s, want 12s (10s block + one token at half rate)", d)
	}
	// Past the Retry-After and the cool-down, the configured rate is back.
	clock.advance(10*time.Second + time.Minute + time.Second)
	mustReserve(t, m, "k", limit)
	if d := mustReserve(t, m, "k", limit); d != time.Second {
		t.Fatalf("after the cool-down: next slot in %s, want 1s", d)
	}
}

func TestMemoryForgetsIdleFullBuckets(t *testing.T) {
	m, clock := newFakeMemory()
	m.IdleTTL = time.Minute
	ctx := context.Background()
	mustReserve(t, m, "host:a", nodes.Limit{Rate: 1, Burst: 1})
	mustReserve(t, m, "host:slow", nodes.Limit{Rate: 0.001, Burst: 1}) // needs 1000s to refill
	if err := m.Penalize(ctx, "host:penalized", time.Hour); err != nil {
		t.Fatal(err)
	}
	clock.advance(2 * time.Minute)
	mustReserve(t, m, "host:b", nodes.Limit{Rate: 1, Burst: 1})
	if n := m.size(); n != 3 {
		t.Fatalf("%d buckets after the sweep, want 3 (the slow and the penalized one kept, a new one)", n)
	}
	// A forgotten bucket starts full, as it would have been.
	if d := mustReserve(t, m, "host:a", nodes.Limit{Rate: 1, Burst: 1}); d != 0 {
		t.Fatalf("forgotten key: due in %s", d)
	}
	if d := mustReserve(t, m, "host:slow", nodes.Limit{Rate: 0.001, Burst: 1}); d < 800*time.Second {
		t.Fatalf("kept key lost its debt: due in %s", d)
	}
}
