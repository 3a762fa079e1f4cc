package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/argon2"
	"golang.org/x/sync/semaphore"
)

// Passwords are hashed with argon2id (RFC 9106's second recommended setting: 64 MiB, 3 passes) and stored in
// the PHC string format, so the parameters travel with the hash and can be raised later without breaking old
// hashes.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
	argonSaltLen = 16
)

// idKey is argon2.IDKey; tests that count concurrent hashes replace it.
var idKey = argon2.IDKey

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// MinPasswordScore is the zxcvbn score (0 to 4) a new password needs: 3 means an estimated 10^8 guesses or more,
// out of reach of online guessing and costly offline against argon2id. Lower scores are the passwords of
// breached-password lists and their variants (password123, qwertyuiop, iloveyou12), common words and names,
// dates, keyboard walks and repeats.
const MinPasswordScore = 3

// maxScoredRunes bounds what the strength estimate reads: its cost grows quickly with length, and a password
// long enough to be cut here has its strength in the part that is read.
const maxScoredRunes = 100

// ErrWeakPassword is returned for a password the policy refuses: too short, or too easy to guess.
var ErrWeakPassword = errors.New("auth: password refused")

// CheckPasswordPolicy refuses a new password shorter than MinPasswordLength, or one that zxcvbn (a port of
// Dropbox's estimator, with its lists of 30,000 passwords from breaches, names, surnames and English words)
// scores below MinPasswordScore. related are what the password must not be built from: the user's e-mail
// address and name, and the product's name.
func CheckPasswordPolicy(password string, related ...string) error {
	if len([]rune(password)) < MinPasswordLength {
		return fmt.Errorf("%w: a password needs at least %d characters", ErrWeakPassword, MinPasswordLength)
	}
	scored := password
	if r := []rune(scored); len(r) > maxScoredRunes {
		scored = string(r[:maxScoredRunes])
	}
	inputs := []string{"ferry"}
	for _, s := range related {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		inputs = append(inputs, s)
		// An e-mail address also gives its local part and domain words; a name its words.
		inputs = append(inputs, strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })...)
	}
	if r := zxcvbn.PasswordStrength(scored, inputs); r.Score < MinPasswordScore {
		return fmt.Errorf("%w: this password is too easy to guess (it is common, in lists of breached passwords, or built from "+
			"your name or e-mail address); use a longer passphrase of unrelated words", ErrWeakPassword)
	}
	return nil
}

// HashPassword returns the argon2id PHC string of password. It refuses a password shorter than
// MinPasswordLength; the rest of the policy is CheckPasswordPolicy's, for new passwords only.
func HashPassword(password string) (string, error) {
	if len([]rune(password)) < MinPasswordLength {
		return "", fmt.Errorf("%w: a password needs at least %d characters", ErrWeakPassword, MinPasswordLength)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := idKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash, in time that does not depend on where they differ.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("auth: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("auth: unsupported argon2 version")
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, fmt.Errorf("auth: bad argon2 parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("auth: bad salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("auth: bad hash: %w", err)
	}
	got := idKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// BusyError means every password-hashing slot stayed taken for as long as a caller may wait: the server is
// refusing sign-ins rather than running out of memory. Try again after RetryAfter.
type BusyError struct {
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return "auth: too many sign-ins at once; try again shortly"
}

// hashLimiter bounds how many argon2id hashes run at once. Each takes 64 MiB and two threads for tens of
// milliseconds, so unbounded parallel sign-ins (or wrong guesses) can exhaust the server's memory: 32 of them
// took it from 370 MB to 1.37 GB. Callers beyond the bound queue for a slot for at most wait, then are refused
// with a *BusyError.
//
// A hash leaves its 64 MiB behind as garbage, which the collector (at GOGC=300) and the runtime's scavenger
// give back to the system only slowly: eight sign-ins left an idle server at 244 MB two minutes later. So when
// the last hash of a burst is done, the limiter returns the memory at once, at most once per second.
type hashLimiter struct {
	slots   *semaphore.Weighted
	size    int
	wait    time.Duration
	running atomic.Int32
	waiting atomic.Int32
	// releasing is set while a release of hashing memory is scheduled.
	releasing atomic.Bool
}

// releaseMemory returns freed memory to the system; tests count its calls.
var releaseMemory = debug.FreeOSMemory

// releaseDelay is how long the limiter must stay idle before it returns the memory of its hashes, so a burst of
// sign-ins pays for one release, not one each.
const releaseDelay = time.Second

// released is called when a hash is done: once the limiter has stayed idle for releaseDelay, the memory its
// hashes used goes back to the system.
func (l *hashLimiter) released() {
	if !l.releasing.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(releaseDelay, func() {
		l.releasing.Store(false)
		if l.running.Load() == 0 && l.waiting.Load() == 0 {
			releaseMemory()
			return
		}
		// Still busy: the last hash of this burst schedules the release when it is done.
		if l.running.Load() == 0 {
			l.released()
		}
	})
}

// DefaultHashSlots is one hash per CPU, at least 2 and at most 8: at most 512 MiB of argon2 memory, and a
// 2-core machine still serves two sign-ins at once.
func DefaultHashSlots() int { return min(max(2, runtime.GOMAXPROCS(0)), 8) }

// DefaultHashWait is how long a sign-in waits for a hashing slot before it is refused.
const DefaultHashWait = 3 * time.Second

func newHashLimiter(size int, wait time.Duration) *hashLimiter {
	if size < 1 {
		size = 1
	}
	return &hashLimiter{slots: semaphore.NewWeighted(int64(size)), size: size, wait: wait}
}

// do runs fn in a slot, waiting for one at most l.wait (no waiting when it is 0).
func (l *hashLimiter) do(ctx context.Context, fn func()) error {
	l.waiting.Add(1)
	var err error
	if l.wait <= 0 {
		if !l.slots.TryAcquire(1) {
			err = context.DeadlineExceeded
		}
	} else {
		wctx, cancel := context.WithTimeout(ctx, l.wait)
		err = l.slots.Acquire(wctx, 1)
		cancel()
	}
	l.waiting.Add(-1)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("auth: wait for a password-hashing slot: %w", ctx.Err())
		}
		return &BusyError{RetryAfter: max(l.wait, time.Second)}
	}
	l.running.Add(1)
	defer func() {
		l.running.Add(-1)
		l.slots.Release(1)
		l.released()
	}()
	fn()
	return nil
}

// hash is HashPassword in a slot.
func (l *hashLimiter) hash(ctx context.Context, password string) (string, error) {
	var h string
	var herr error
	if err := l.do(ctx, func() { h, herr = HashPassword(password) }); err != nil {
		return "", err
	}
	return h, herr
}

// check is CheckPassword in a slot.
func (l *hashLimiter) check(ctx context.Context, hash, password string) (bool, error) {
	var ok bool
	var cerr error
	if err := l.do(ctx, func() { ok, cerr = CheckPassword(hash, password) }); err != nil {
		return false, err
	}
	return ok, cerr
}
