package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/server/store"
)

// Sign-in throttling. There is no hard lock an attacker could set off: every failure makes the next attempt
// wait a little longer (growing delays, doubling), and the waits are kept per key so that an attacker slows
// down themselves, not the people they target:
//
//   - an account at an address: an attacker guessing one account from one place;
//   - an address: one place guessing many accounts (credential stuffing);
//   - an account, counted only for addresses it has never signed in from: a guess spread over many addresses.
//     Its wait is capped at a minute, and an address the account signed in from before is not subject to it,
//     so nobody can keep a real admin out.
//
// The state is in the store (ThrottleStore), updated by compare-and-swap, so every process of a fleet counts
// the same attempts and parallel attempts are all counted. A throttled attempt is counted too (an impatient
// client only waits longer) but its password is not checked, and it gets the same answer as a wrong password:
// unknown e-mails are counted exactly like known ones, so nothing in the answers says which e-mails have
// accounts.

// ThrottlePolicy turns the failures counted against a key into a wait.
type ThrottlePolicy struct {
	// Free failures cost nothing; the next one waits First, and each after that twice as long as the one
	// before, up to Max.
	Free  int
	First time.Duration
	Max   time.Duration
	// Forget forgives one failure per Forget of quiet, so ordinary typos spread over a day never add up.
	Forget time.Duration
}

// Delay is the wait after the n-th counted failure.
func (p ThrottlePolicy) Delay(n int) time.Duration {
	if n <= p.Free {
		return 0
	}
	d := p.First
	for i := p.Free + 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// count counts one attempt against cur at now: it reports whether the attempt may go ahead (no wait was
// pending) and returns the new state, whose block is the wait this attempt earned.
func (p ThrottlePolicy) count(cur store.Throttle, now time.Time) (store.Throttle, bool) {
	allowed := !cur.BlockedUntil.After(now)
	n := cur.Failures
	if p.Forget > 0 && !cur.LastAt.IsZero() && now.After(cur.LastAt) {
		n -= int(now.Sub(cur.LastAt) / p.Forget)
	}
	n = max(n, 0) + 1
	next := store.Throttle{Key: cur.Key, Failures: n, LastAt: now, BlockedUntil: cur.BlockedUntil}
	if d := p.Delay(n); d > 0 && now.Add(d).After(next.BlockedUntil) {
		next.BlockedUntil = now.Add(d)
	}
	next.ExpiresAt = now.Add(p.Forget * time.Duration(n))
	if next.BlockedUntil.After(next.ExpiresAt) {
		next.ExpiresAt = next.BlockedUntil
	}
	return next, allowed
}

// uncount takes back one attempt counted by count (a successful sign-in, or one the server was too busy to
// check), leaving any wait in place.
func uncount(cur store.Throttle) store.Throttle {
	cur.Failures = max(cur.Failures-1, 0)
	return cur
}

// Throttles are the policies of the sign-in keys and of current-password checks.
type Throttles struct {
	AccountAddress ThrottlePolicy
	Address        ThrottlePolicy
	Account        ThrottlePolicy
	CurrentPass    ThrottlePolicy
	// Familiar is how long an address an account signed in from stays exempt from the account-wide wait.
	Familiar time.Duration
}

// DefaultThrottles: 5 free failures for an account at an address, then 2 s, 4 s… up to 15 minutes; 20 for an
// address over all accounts, up to an hour; 10 for an account from addresses new to it, up to one minute; 5
// free current-password failures per user, up to 15 minutes. A failure is forgiven after an hour of quiet (five
// minutes for the address and account-wide counts, which honest users share), and an address stays familiar to
// an account for 30 days after it signed in from there.
var DefaultThrottles = Throttles{
	AccountAddress: ThrottlePolicy{Free: 5, First: 2 * time.Second, Max: 15 * time.Minute, Forget: time.Hour},
	Address:        ThrottlePolicy{Free: 20, First: 2 * time.Second, Max: time.Hour, Forget: 5 * time.Minute},
	Account:        ThrottlePolicy{Free: 10, First: 2 * time.Second, Max: time.Minute, Forget: 5 * time.Minute},
	CurrentPass:    ThrottlePolicy{Free: 5, First: 2 * time.Second, Max: 15 * time.Minute, Forget: time.Hour},
	Familiar:       30 * 24 * time.Hour,
}

// ThrottledError is a password check refused because of failures before it; RetryAfter is how long to wait.
// Sign-in never returns it (a throttled sign-in looks like a wrong password, see SignInError); changing a
// password does, since that caller is known.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return "auth: too many wrong passwords; wait before trying again"
}

// SignInError is every refused sign-in: an unknown e-mail, a wrong password, a disabled user, a throttled
// attempt. It is the same for all of them, so the answer says nothing about which e-mails have accounts.
// RetryAfter is when the next attempt from this address for this e-mail will be checked; it depends only on
// what was typed and where from.
type SignInError struct {
	RetryAfter time.Duration
}

func (e *SignInError) Error() string { return ErrBadCredentials.Error() }

// Is makes a SignInError an ErrBadCredentials.
func (e *SignInError) Is(target error) bool { return target == ErrBadCredentials }

// throttleKey hashes the parts of a key, so the store holds no e-mail or address.
func throttleKey(kind string, parts ...string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + strings.Join(parts, "\x00")))
	return kind + ":" + hex.EncodeToString(sum[:])
}

// addressBlock is the unit a client address is throttled by: the address for IPv4, its /64 for IPv6 (one
// subscriber usually holds a whole /64, so its addresses are one client).
func addressBlock(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// counted is a key an attempt was counted against.
type counted struct {
	key    string
	policy ThrottlePolicy
	state  store.Throttle
}

// countAttempt counts an attempt against each key in order, stopping at the first that refuses it. It returns
// what was counted, whether the attempt may go ahead, and the wait it earned (the longest over the keys).
func (s *Service) countAttempt(ctx context.Context, now time.Time, keys []counted) ([]counted, bool, time.Duration, error) {
	var done []counted
	var wait time.Duration
	for _, k := range keys {
		allowed := false
		st, err := s.Store.UpdateThrottle(ctx, k.key, func(cur store.Throttle) store.Throttle {
			var next store.Throttle
			next, allowed = k.policy.count(cur, now)
			return next
		})
		if err != nil {
			s.uncountAll(ctx, done)
			return nil, false, 0, err
		}
		k.state = st
		done = append(done, k)
		wait = max(wait, st.BlockedUntil.Sub(now))
		if !allowed {
			return done, false, wait, nil
		}
	}
	return done, true, wait, nil
}

// uncountAll takes back an attempt counted against keys. A failure is logged: it only leaves a failure counted.
func (s *Service) uncountAll(ctx context.Context, keys []counted) {
	for _, k := range keys {
		if _, err := s.Store.UpdateThrottle(context.WithoutCancel(ctx), k.key, uncount); err != nil {
			s.Logger.Warn("taking back a counted sign-in attempt failed", "err", err)
		}
	}
}

// familiar reports whether the account typed as email signed in from addr's block recently.
func (s *Service) familiar(ctx context.Context, email, block string, now time.Time) (bool, error) {
	t, err := s.Store.GetThrottle(ctx, throttleKey("familiar", email, block))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return t.ExpiresAt.After(now), nil
}

// remember makes addr's block familiar to the account for the next Familiar.
func (s *Service) remember(ctx context.Context, email, block string, now time.Time) error {
	_, err := s.Store.UpdateThrottle(ctx, throttleKey("familiar", email, block), func(cur store.Throttle) store.Throttle {
		return store.Throttle{Key: cur.Key, LastAt: now, ExpiresAt: now.Add(s.Throttles.Familiar)}
	})
	return err
}
