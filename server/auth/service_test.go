package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/server/store"
)

// newTestService is a Service on a fresh SQLite store.
func newTestService(t *testing.T) *Service {
	t.Helper()
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewService(st, nil)
}

// blockingHashes replaces argon2 with a function that counts how many run at once, remembers the most, and
// blocks until release is closed. It returns the counters and release.
func blockingHashes(t *testing.T) (running, most, calls *atomic.Int32, release chan struct{}) {
	running, most, calls = new(atomic.Int32), new(atomic.Int32), new(atomic.Int32)
	release = make(chan struct{})
	real := idKey
	idKey = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		n := running.Add(1)
		calls.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		running.Add(-1)
		return make([]byte, keyLen)
	}
	t.Cleanup(func() { idKey = real })
	return running, most, calls, release
}

// TestHashesNeverExceedTheCap: however many sign-ins arrive at once, no more password hashes run at the same
// time than the cap; the rest wait for a slot. (Each argon2id hash holds 64 MiB: without the cap, 32 parallel
// sign-ins took a server from 370 MB to 1.37 GB.)
func TestHashesNeverExceedTheCap(t *testing.T) {
	s := newTestService(t)
	const slots, signIns = 3, 12
	s.LimitHashing(slots, time.Minute)
	running, most, calls, release := blockingHashes(t)
	var wg sync.WaitGroup
	errs := make([]error, signIns)
	for i := range signIns {
		wg.Go(func() {
			_, _, _, errs[i] = s.Login(context.Background(), fmt.Sprintf("nobody%d@shop.cn", i), "some password", fmt.Sprintf("198.51.100.%d", i))
		})
	}
	testenv.WaitFor(t, "every sign-in to be hashing or waiting for a slot", 10*time.Second, func() bool {
		return running.Load()+s.hashes.waiting.Load() == signIns
	})
	if m := most.Load(); m != slots {
		close(release)
		t.Fatalf("%d hashes ran at once with %d slots", m, slots)
	}
	close(release)
	wg.Wait()
	if m, n := most.Load(), calls.Load(); m > slots || n != signIns {
		t.Fatalf("%d hashes at most at once (cap %d), %d hashes for %d sign-ins", m, slots, n, signIns)
	}
	for i, err := range errs {
		if !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("sign-in %d: %v", i, err)
		}
	}
}

// TestBusySignInIsRefusedAndNotCounted: a sign-in that finds every slot taken for longer than it may wait is
// refused with a BusyError before anything about the account is read, and the attempt is not counted against
// the address or the account.
func TestBusySignInIsRefusedAndNotCounted(t *testing.T) {
	s := newTestService(t)
	s.LimitHashing(1, 0)
	running, _, _, release := blockingHashes(t)
	done := make(chan error, 1)
	go func() {
		_, _, _, err := s.Login(context.Background(), "first@shop.cn", "some password", "198.51.100.1")
		done <- err
	}()
	testenv.WaitFor(t, "the first sign-in to hold the only slot", 10*time.Second, func() bool { return running.Load() == 1 })
	_, _, _, err := s.Login(context.Background(), "second@shop.cn", "some password", "198.51.100.2")
	var busy *BusyError
	if !errors.As(err, &busy) || busy.RetryAfter <= 0 {
		t.Fatalf("sign-in with every slot taken: %v", err)
	}
	for _, key := range []string{throttleKey("address", "198.51.100.2"), throttleKey("account-address", "second@shop.cn", "198.51.100.2"),
		throttleKey("account", "second@shop.cn")} {
		if th, err := s.Store.GetThrottle(context.Background(), key); err != nil || th.Failures != 0 {
			t.Fatalf("the refused attempt was counted: %+v %v", th, err)
		}
	}
	close(release)
	if err := <-done; !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("first sign-in: %v", err)
	}
}

// TestIdleSessionsEnd: a session unused for the idle timeout is refused and deleted, one in use is not; its use
// is recorded at most about once a minute.
func TestIdleSessionsEnd(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	now := time.Now()
	s.Now = func() time.Time { return now }
	if _, err := s.CreateUser(ctx, "web@shop.cn", "", "a long enough secret", RoleViewer); err != nil {
		t.Fatal(err)
	}
	cookie, sess, _, err := s.Login(ctx, "web@shop.cn", "a long enough secret", "198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	lastSeen := func() time.Time {
		got, err := s.Store.GetSession(ctx, sess.IDHash)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastSeenAt
	}
	start := lastSeen()
	now = now.Add(30 * time.Second)
	if _, err := s.Authenticate(ctx, "", cookie); err != nil {
		t.Fatal(err)
	}
	if !lastSeen().Equal(start) {
		t.Fatal("a request 30 seconds after the last one wrote the last-seen time")
	}
	now = now.Add(29 * time.Minute) // 29.5 minutes after sign-in, still in use
	if _, err := s.Authenticate(ctx, "", cookie); err != nil {
		t.Fatalf("a session used 29.5 minutes after sign-in: %v", err)
	}
	if !lastSeen().After(start) {
		t.Fatal("the session's use was not recorded")
	}
	now = now.Add(29 * time.Minute)
	if _, err := s.Authenticate(ctx, "", cookie); err != nil {
		t.Fatalf("a session used 29 minutes after its last use: %v", err)
	}
	now = now.Add(DefaultIdleTimeout)
	if _, err := s.Authenticate(ctx, "", cookie); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a session idle for %s: %v", DefaultIdleTimeout, err)
	}
	if _, err := s.Store.GetSession(ctx, sess.IDHash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the idle session is still stored: %v", err)
	}
}

// TestThrottleDelays: free failures, then doubling waits up to the cap; quiet time forgives failures; a
// throttled attempt is counted and earns the next, longer wait.
func TestThrottleDelays(t *testing.T) {
	p := ThrottlePolicy{Free: 2, First: time.Second, Max: 10 * time.Second, Forget: time.Minute}
	for n, want := range map[int]time.Duration{1: 0, 2: 0, 3: time.Second, 4: 2 * time.Second, 5: 4 * time.Second, 6: 8 * time.Second, 7: 10 * time.Second, 60: 10 * time.Second} {
		if got := p.Delay(n); got != want {
			t.Errorf("Delay(%d) = %s, want %s", n, got, want)
		}
	}
	now := time.Now()
	var st store.Throttle
	var allowed bool
	for i := range 3 {
		if st, allowed = p.count(st, now); !allowed {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	if !st.BlockedUntil.Equal(now.Add(time.Second)) {
		t.Fatalf("after 3 failures blocked until %s, want 1s later", st.BlockedUntil.Sub(now))
	}
	if st, allowed = p.count(st, now.Add(500*time.Millisecond)); allowed || st.Failures != 4 || !st.BlockedUntil.Equal(now.Add(2500*time.Millisecond)) {
		t.Fatalf("an attempt during the wait: allowed %v, %+v", allowed, st)
	}
	// Three quiet minutes forgive three failures: the next one is the 2nd, free again.
	if st, allowed = p.count(st, now.Add(3*time.Minute+time.Second)); !allowed || st.Failures != 2 {
		t.Fatalf("after three quiet minutes: allowed %v, %d failures", allowed, st.Failures)
	}
}

// TestAddressBlocks: an IPv6 client is throttled by its /64, which one subscriber holds whole.
func TestAddressBlocks(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.7":            "198.51.100.7",
		"::ffff:198.51.100.7":     "198.51.100.7",
		"2001:db8:1:2:3:4:5:6":    "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":    "2001:db8:1:2::/64",
		"not an address":          "not an address",
		"2001:db8:1:3::1":         "2001:db8:1:3::/64",
		"0.0.0.0":                 "0.0.0.0",
		"2001:db8:1:2:aaaa::bbbb": "2001:db8:1:2::/64",
	} {
		if got := addressBlock(in); got != want {
			t.Errorf("addressBlock(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPasswordPolicy: passwords from breach lists, keyboard walks and the user's own e-mail are refused; long
// passphrases are not.
func TestPasswordPolicy(t *testing.T) {
	for _, weak := range []string{"short", "password123456", "qwertyuiop", "1234567890", "iloveyou12", "Password1234", "football99"} {
		if err := CheckPasswordPolicy(weak); !errors.Is(err, ErrWeakPassword) {
			t.Errorf("%q accepted: %v", weak, err)
		}
	}
	if err := CheckPasswordPolicy("wang.lei@shop.cn", "wang.lei@shop.cn", "Wang Lei"); !errors.Is(err, ErrWeakPassword) {
		t.Errorf("the user's own e-mail accepted: %v", err)
	}
	for _, strong := range []string{"correct horse battery", "a long enough secret", "Tr0ub4dor&3x", "梅花香自苦寒来，宝剑锋从磨砺出"} {
		if err := CheckPasswordPolicy(strong, "ops@shop.cn"); err != nil {
			t.Errorf("%q refused: %v", strong, err)
		}
	}
}
