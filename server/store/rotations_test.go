package store

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestRotationStore runs the rotation counter tests on SQLite and Postgres.
func TestRotationStore(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) Store) {
		t.Run("Turns", func(t *testing.T) { testRotationTurns(t, open) })
		t.Run("ConcurrentTurns", func(t *testing.T) { testRotationConcurrentTurns(t, open) })
	})
}

// testRotationTurns: a new key starts at turn 0 and counts up; keys do not share turns; a store opened again on
// the same database (a restart, another process) goes on where the first stopped; bad keys are refused.
func testRotationTurns(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	ctx := t.Context()
	for want := range int64(3) {
		got, err := s.AdvanceRotation(ctx, "flow:f1:assign")
		mustOK(t, err, "advance")
		if got != want {
			t.Fatalf("turn %d of a new key = %d", want, got)
		}
	}
	other, err := s.AdvanceRotation(ctx, "flow:f1:assign:EU")
	mustOK(t, err, "advance other key")
	if other != 0 {
		t.Fatalf("another key shares turns: its first turn is %d", other)
	}

	again := open(t)
	got, err := again.AdvanceRotation(ctx, "flow:f1:assign")
	mustOK(t, err, "advance after reopening")
	if got != 3 {
		t.Fatalf("after reopening the database the rotation is at turn %d, want 3", got)
	}
	got, err = s.AdvanceRotation(ctx, "flow:f1:assign")
	mustOK(t, err, "advance on the first store")
	if got != 4 {
		t.Fatalf("the two stores do not share the counter: turn %d, want 4", got)
	}

	if _, err := s.AdvanceRotation(ctx, ""); err == nil {
		t.Fatal("an empty key was accepted")
	}
	if _, err := s.AdvanceRotation(ctx, strings.Repeat("k", MaxRotationKey+1)); err == nil {
		t.Fatal("an oversized key was accepted")
	}
	long := strings.Repeat("k", MaxRotationKey)
	if got, err := s.AdvanceRotation(ctx, long); err != nil || got != 0 {
		t.Fatalf("a key of the largest size: turn %d, %v", got, err)
	}
}

// testRotationConcurrentTurns: goroutines on two stores of one database (two workers of a fleet) advancing one
// rotation at once get every turn exactly once, with none skipped, so owners taken turn by turn come round
// evenly.
func testRotationConcurrentTurns(t *testing.T, open func(t *testing.T) Store) {
	stores := []Store{open(t), open(t)}
	const goroutines, each = 16, 25
	const key = "flow:f2:assign"
	var mu sync.Mutex
	var got []int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, goroutines)
	for g := range goroutines {
		s := stores[g%len(stores)]
		wg.Go(func() {
			<-start
			mine := make([]int64, 0, each)
			for range each {
				n, err := s.AdvanceRotation(t.Context(), key)
				if err != nil {
					errs <- err
					return
				}
				mine = append(mine, n)
			}
			mu.Lock()
			got = append(got, mine...)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("advance: %v", err)
	}
	slices.Sort(got)
	if len(got) != goroutines*each {
		t.Fatalf("%d turns taken, want %d", len(got), goroutines*each)
	}
	for i, n := range got {
		if n != int64(i) {
			t.Fatalf("turns are not each taken once: sorted turn %d is %d", i, n)
		}
	}
	// Four owners taken by turn number: each gets a quarter of the items.
	counts := make([]int, 4)
	for _, n := range got {
		counts[n%4]++
	}
	for i, c := range counts {
		if c != goroutines*each/4 {
			t.Fatalf("owner %d got %d of %d turns: %v", i, c, goroutines*each, counts)
		}
	}
}
