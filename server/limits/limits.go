// Package limits keeps calls to providers within their quotas and makes the state of failing endpoints
// visible. It holds the two rate limiters the engine can use (in memory for the embedded mode, Redis for a fleet
// of workers, with the same behaviour and one conformance suite), the Prometheus collector of the circuit
// breakers, and the resolver that gives a credential its type's documented quota.
//
// Both limiters are token buckets keyed by what a provider counts a quota against (a credential, a host). The
// engine reserves a slot per call and parks a run whose slot is far off; a 429 from the provider penalizes the
// key: no slot before its Retry-After, and half the rate for a cool-down, halved again by each further 429.
package limits

import (
	"math"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// Penalty defaults.
const (
	// DefaultPenaltyCoolDown is how long a key stays slowed down after the provider's last 429 (counted from
	// the end of its Retry-After).
	DefaultPenaltyCoolDown = time.Minute
	// MinPenaltyFactor is the lowest fraction of its configured rate a key is slowed to by repeated 429s.
	MinPenaltyFactor = 1.0 / 16
)

// normalize returns l with a usable burst, and false when l limits nothing.
func normalize(l nodes.Limit) (nodes.Limit, bool) {
	if !l.Enabled() {
		return l, false
	}
	if l.Burst < 1 {
		l.Burst = 1
	}
	return l, true
}

// nextFactor is the rate factor after a penalty: half the current one while the previous penalty lasts, else
// one half.
func nextFactor(factor float64, penalized bool) float64 {
	if !penalized {
		return 0.5
	}
	return math.Max(factor/2, MinPenaltyFactor)
}

func coolDownOr(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return DefaultPenaltyCoolDown
}
