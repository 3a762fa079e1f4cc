package auth

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"golang.org/x/crypto/argon2"
)

// TestDummyHashMatchesRealHashes: the hash an unknown e-mail's sign-in is checked against has the parameters of
// every real hash, so both take as long; it must be rewritten whenever the parameters change.
func TestDummyHashMatchesRealHashes(t *testing.T) {
	want := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, argonMemory, argonTime, argonThreads)
	if len(dummyHash) < len(want) || dummyHash[:len(want)] != want {
		t.Fatalf("dummyHash %q does not start with %q", dummyHash, want)
	}
	if ok, err := CheckPassword(dummyHash, "not-a-real-password-0000"); err != nil || !ok {
		t.Fatalf("dummyHash does not check: %v %v", ok, err)
	}
}

// TestHashingMemoryIsReturned: after a burst of hashes the limiter returns their memory to the system once, not
// once per hash, and again after the next burst.
func TestHashingMemoryIsReturned(t *testing.T) {
	var releases atomic.Int32
	realRelease, realKey := releaseMemory, idKey
	releaseMemory = func() { releases.Add(1) }
	idKey = func(password, salt []byte, _, _ uint32, _ uint8, keyLen uint32) []byte {
		return argon2.IDKey(password, salt, 1, 64, 1, keyLen) // the bookkeeping is under test, not argon2
	}
	t.Cleanup(func() { releaseMemory, idKey = realRelease, realKey })
	l := newHashLimiter(2, time.Minute)
	burst := func() {
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				if _, err := l.hash(t.Context(), "correct horse battery"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	burst()
	testenv.WaitFor(t, "the memory of the first burst returned", 10*time.Second, func() bool { return releases.Load() >= 1 })
	testenv.WaitFor(t, "the release settled", 10*time.Second, func() bool { return !l.releasing.Load() })
	if n := releases.Load(); n != 1 {
		t.Fatalf("six hashes made %d releases, want one", n)
	}
	burst()
	testenv.WaitFor(t, "the memory of the second burst returned", 10*time.Second, func() bool { return releases.Load() == 2 })
}
