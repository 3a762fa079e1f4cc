package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
)

// TestGroupCommitShares holds SQLite's single write connection while calls arrive, then releases it: the calls
// that waited meanwhile must commit together in one transaction, and a refused one must fall back alone without
// failing the others.
func TestGroupCommitShares(t *testing.T) {
	st, err := Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*gormStore)
	f := newFlow(t, s, "group")

	// Occupy the writer: the committer's next transaction waits for the connection.
	hold, err := s.w.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := hold.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before := s.GroupStats()

	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	call := func(i int) {
		r := queuedRun(t, f.ID)
		if i == 7 {
			r.FlowID = "missing"
		}
		wg.Go(func() { errs[i] = s.CreateRun(t.Context(), r, []Step{{Seq: 1, NodeID: "w"}}) })
	}
	// The first call enters a transaction that waits for the connection; the others queue behind it.
	call(0)
	testenv.WaitFor(t, "the first call to enter its transaction", 10*time.Second, func() bool { return s.GroupStats().Calls != before.Calls })
	for i := 1; i < n; i++ {
		call(i)
	}
	time.Sleep(200 * time.Millisecond) // let the other callers reach the committer
	conn.Close()
	wg.Wait()

	for i, err := range errs {
		if i == 7 {
			mustErr(t, err, ErrNotFound, "run of a missing flow")
			continue
		}
		mustOK(t, err, "create run")
	}
	after := s.GroupStats()
	calls, commits := after.Calls-before.Calls, after.Commits-before.Commits
	if calls != n || commits >= n/2 {
		t.Fatalf("%d calls in %d transactions: calls were not grouped", calls, commits)
	}
	if after.Fallbacks-before.Fallbacks != 1 {
		t.Fatalf("%d fallbacks, want 1 (the group holding the refused run)", after.Fallbacks-before.Fallbacks)
	}
}
