// Package limitstest is the conformance suite every engine.Limiter must pass. The engine does not know whether
// its limiter is in memory or in Redis, so what it relies on (bursts, pacing, distinct slots under concurrency,
// penalties after a 429) is pinned here once for both.
//
// The suite runs on the limiter's own clock, which for Redis is the server's: it never sleeps, and it checks the
// delays a limiter hands out against the schedule a token bucket implies, with room for the real time that
// passes between calls on a busy machine.
package limitstest

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
)

// early is how much sooner than its ideal time a slot may be due: real time passes between calls and refills
// the bucket a little. late absorbs rounding to microseconds.
const (
	early = 3 * time.Second
	late  = 10 * time.Millisecond
)

// Run runs the conformance subtests. newLimiter must return a limiter whose keys are private to the subtest it
// is given (a fresh instance, or a unique key prefix) and arrange its own cleanup with t.Cleanup.
func Run(t *testing.T, newLimiter func(t *testing.T) engine.Limiter) {
	t.Helper()
	t.Run("BurstThenPaced", func(t *testing.T) { testBurstThenPaced(t, newLimiter(t)) })
	t.Run("KeysAreSeparate", func(t *testing.T) { testKeysAreSeparate(t, newLimiter(t)) })
	t.Run("NoLimitNeverWaits", func(t *testing.T) { testNoLimit(t, newLimiter(t)) })
	t.Run("ConcurrentCallersGetDistinctSlots", func(t *testing.T) { testConcurrent(t, newLimiter(t)) })
	t.Run("PenalizeBlocksUntilRetryAfterAndHalvesRate", func(t *testing.T) { testPenalizeBlocks(t, newLimiter(t)) })
	t.Run("RepeatedPenaltiesSlowFurther", func(t *testing.T) { testPenalizeHalves(t, newLimiter(t)) })
	t.Run("PenaltyBeforeFirstReservation", func(t *testing.T) { testPenalizeFirst(t, newLimiter(t)) })
	t.Run("LowerBurstApplies", func(t *testing.T) { testLowerBurst(t, newLimiter(t)) })
	t.Run("HoldBlocksWithoutSlowing", func(t *testing.T) { testHold(t, newLimiter(t)) })
	t.Run("HoldBeforeFirstReservation", func(t *testing.T) { testHoldFirst(t, newLimiter(t)) })
}

func reserve(t *testing.T, l engine.Limiter, key string, limit nodes.Limit) time.Duration {
	t.Helper()
	d, err := l.Reserve(context.Background(), key, limit)
	if err != nil {
		t.Fatalf("reserve %s: %v", key, err)
	}
	return d
}

func penalize(t *testing.T, l engine.Limiter, key string, retryAfter time.Duration) {
	t.Helper()
	if err := l.Penalize(context.Background(), key, retryAfter); err != nil {
		t.Fatalf("penalize %s: %v", key, err)
	}
}

// near checks that a slot is due about want from now: not later, and not much sooner.
func near(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if got > want+late || got < want-early {
		t.Errorf("%s: due in %s, want about %s", what, got, want)
	}
}

// testBurstThenPaced: a full bucket lets burst calls go at once, then one every 1/rate.
func testBurstThenPaced(t *testing.T, l engine.Limiter) {
	limit := nodes.Limit{Rate: 0.1, Burst: 3} // a slot every 10s
	want := []time.Duration{0, 0, 0, 10 * time.Second, 20 * time.Second, 30 * time.Second}
	for i, w := range want {
		got := reserve(t, l, "shop-1", limit)
		if w == 0 && got != 0 {
			t.Errorf("call %d: due in %s, want now (within the burst)", i+1, got)
		}
		near(t, "call", got, w)
	}
}

func testKeysAreSeparate(t *testing.T, l engine.Limiter) {
	limit := nodes.Limit{Rate: 0.01, Burst: 1}
	reserve(t, l, "credential:a:live", limit)
	if d := reserve(t, l, "credential:a:live", limit); d < 90*time.Second {
		t.Fatalf("second call on the same key due in %s, want about 100s", d)
	}
	if d := reserve(t, l, "credential:b:live", limit); d != 0 {
		t.Errorf("first call on another key due in %s, want now", d)
	}
}

func testNoLimit(t *testing.T, l engine.Limiter) {
	for _, limit := range []nodes.Limit{{}, {Rate: -1, Burst: 5}, {Rate: 0, Burst: 1}} {
		for i := 0; i < 5; i++ {
			if d := reserve(t, l, "free", limit); d != 0 {
				t.Fatalf("limit %+v: due in %s, want now", limit, d)
			}
		}
	}
	// Burst below one counts as one.
	if d := reserve(t, l, "zero-burst", nodes.Limit{Rate: 0.1}); d != 0 {
		t.Fatalf("first call due in %s", d)
	}
	near(t, "second call with burst 0", reserve(t, l, "zero-burst", nodes.Limit{Rate: 0.1}), 10*time.Second)
}

// testConcurrent: callers racing on one key (workers in different processes) each get a slot of their own.
func testConcurrent(t *testing.T, l engine.Limiter) {
	const callers = 20
	limit := nodes.Limit{Rate: 0.1, Burst: 1}
	delays := make([]time.Duration, callers)
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := l.Reserve(context.Background(), "contended", limit)
			if err != nil {
				errs <- err
			}
			delays[i] = d
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	for i, d := range delays {
		near(t, "slot", d, time.Duration(i)*10*time.Second)
	}
}

// testPenalizeBlocksUntilRetryAfter: after a 429 with Retry-After, nothing goes before it, spare tokens are
// gone, and slots come at half the rate.
func testPenalizeBlocks(t *testing.T, l engine.Limiter) {
	limit := nodes.Limit{Rate: 1, Burst: 5}
	reserve(t, l, "hubspot", limit)
	penalize(t, l, "hubspot", 30*time.Second)
	first := reserve(t, l, "hubspot", limit)
	// The four spare tokens are gone, so the first slot is 1/(rate/2) = 2s after the block.
	near(t, "first call after the 429", first, 32*time.Second)
	second := reserve(t, l, "hubspot", limit)
	if gap := second - first; gap < 1900*time.Millisecond || gap > 2*time.Second+late {
		t.Errorf("gap between slots after a 429: %s, want 2s (half the rate)", gap)
	}
}

// testPenalizeHalves: each 429 during the cool-down halves the rate again.
func testPenalizeHalves(t *testing.T, l engine.Limiter) {
	limit := nodes.Limit{Rate: 0.1, Burst: 1}
	reserve(t, l, "slow", limit)
	penalize(t, l, "slow", 0)
	// One token owed at 0.05/s.
	near(t, "after one 429", reserve(t, l, "slow", limit), 20*time.Second)
	penalize(t, l, "slow", 0)
	// Two tokens owed at 0.025/s.
	near(t, "after two 429s", reserve(t, l, "slow", limit), 80*time.Second)
}

// testPenalizeFirst: a 429 for a key the limiter has not seen yet (another process reserved it, or this one
// restarted) still blocks it.
func testPenalizeFirst(t *testing.T, l engine.Limiter) {
	penalize(t, l, "fresh", 20*time.Second)
	near(t, "first call after the 429", reserve(t, l, "fresh", nodes.Limit{Rate: 10, Burst: 10}), 20*time.Second)
}

// testLowerBurst: the limit given with each call is the one in force, so a lowered burst applies at once.
func testLowerBurst(t *testing.T, l engine.Limiter) {
	reserve(t, l, "changed", nodes.Limit{Rate: 0.1, Burst: 10})
	near(t, "with burst 1", reserve(t, l, "changed", nodes.Limit{Rate: 0.1, Burst: 1}), 0)
	near(t, "next with burst 1", reserve(t, l, "changed", nodes.Limit{Rate: 0.1, Burst: 1}), 10*time.Second)
}

func hold(t *testing.T, l engine.Limiter, key string, d time.Duration) {
	t.Helper()
	if err := l.Hold(context.Background(), key, d); err != nil {
		t.Fatalf("hold %s: %v", key, err)
	}
}

// testHold: a hold (the provider's own bucket is short) blocks the key until it ends, but unlike a 429 it keeps
// the spare tokens and the rate, so once it ends calls go as fast as before.
func testHold(t *testing.T, l engine.Limiter) {
	limit := nodes.Limit{Rate: 1, Burst: 5}
	reserve(t, l, "shopify", limit)
	hold(t, l, "shopify", 30*time.Second)
	near(t, "first call after the hold", reserve(t, l, "shopify", limit), 30*time.Second)
	// Spare tokens are kept: the next calls are due at the end of the hold too, not 1/rate apart.
	near(t, "second call after the hold", reserve(t, l, "shopify", limit), 30*time.Second)
	// A shorter hold does not shorten a longer one.
	hold(t, l, "shopify", time.Second)
	near(t, "third call after a shorter hold", reserve(t, l, "shopify", limit), 30*time.Second)
	// No hold, no wait.
	hold(t, l, "other", 0)
	near(t, "a key held for nothing", reserve(t, l, "other", limit), 0)
}

// testHoldFirst: a hold for a key the limiter has not seen yet still blocks it.
func testHoldFirst(t *testing.T, l engine.Limiter) {
	hold(t, l, "fresh-hold", 20*time.Second)
	near(t, "first call after the hold", reserve(t, l, "fresh-hold", nodes.Limit{Rate: 10, Burst: 10}), 20*time.Second)
}
