package auth

import (
	"fmt"
	"testing"

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
