package limits

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
)

// defaultIdleTTL is how long an unused, full bucket is kept before it is forgotten.
const defaultIdleTTL = 10 * time.Minute

// Memory is the rate limiter of the embedded mode: one token bucket per key in this process. Buckets left idle
// (full, not penalized) are forgotten, so keys built from data (a host per customer) do not pile up. Safe for
// concurrent use; set the exported fields before first use.
type Memory struct {
	// Now is the clock; tests replace it to count slots over a fixed stretch of virtual time.
	Now func() time.Time
	// IdleTTL is how long a full, unpenalized bucket is kept after its last use; zero means 10 minutes.
	IdleTTL time.Duration
	// PenaltyCoolDown is how long a key stays slowed after a 429; zero means DefaultPenaltyCoolDown.
	PenaltyCoolDown time.Duration

	mu        sync.Mutex
	buckets   map[string]*memBucket
	lastSweep time.Time
}

type memBucket struct {
	lim          *rate.Limiter // nil until the first reservation says what the limit is
	rate         float64       // the configured rate, before any penalty
	factor       float64       // share of rate in force: 1, or less during a penalty
	penaltyUntil time.Time
	blockedUntil time.Time
	lastUsed     time.Time
}

// NewMemory returns an in-process limiter.
func NewMemory() *Memory {
	return &Memory{buckets: map[string]*memBucket{}}
}

func (m *Memory) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Reserve takes the next slot of key's bucket and returns how long until it is due.
func (m *Memory) Reserve(_ context.Context, key string, limit nodes.Limit) (time.Duration, error) {
	limit, ok := normalize(limit)
	if !ok {
		return 0, nil
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	b := m.bucketLocked(key, now)
	if b.factor < 1 && !now.Before(b.penaltyUntil) {
		b.factor = 1
	}
	b.rate = limit.Rate
	eff := rate.Limit(limit.Rate * b.factor)
	if b.lim == nil {
		b.lim = rate.NewLimiter(eff, limit.Burst)
	}
	if b.lim.Limit() != eff {
		b.lim.SetLimitAt(now, eff)
	}
	if b.lim.Burst() != limit.Burst {
		b.lim.SetBurstAt(now, limit.Burst)
	}
	d := b.lim.ReserveN(now, 1).DelayFrom(now)
	if b.blockedUntil.After(now) {
		d += b.blockedUntil.Sub(now)
	}
	return d, nil
}

// Penalize slows key down after a 429: its spare tokens go, no slot is given before retryAfter from now, and
// its rate is halved until PenaltyCoolDown after that.
func (m *Memory) Penalize(_ context.Context, key string, retryAfter time.Duration) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.bucketLocked(key, now)
	b.factor = nextFactor(b.factor, now.Before(b.penaltyUntil))
	retryAfter = max(retryAfter, 0)
	b.penaltyUntil = now.Add(retryAfter + coolDownOr(m.PenaltyCoolDown))
	if until := now.Add(retryAfter); until.After(b.blockedUntil) {
		b.blockedUntil = until
	}
	if b.lim != nil {
		if spare := b.lim.TokensAt(now); spare >= 1 {
			b.lim.ReserveN(now, int(spare))
		}
		b.lim.SetLimitAt(now, rate.Limit(b.rate*b.factor))
	}
	return nil
}

// Hold gives key no slot before d from now, keeping its rate and its tokens: the provider said its own bucket
// needs that long to refill.
func (m *Memory) Hold(_ context.Context, key string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.bucketLocked(key, now)
	if until := now.Add(d); until.After(b.blockedUntil) {
		b.blockedUntil = until
	}
	return nil
}

func (m *Memory) bucketLocked(key string, now time.Time) *memBucket {
	if m.buckets == nil {
		m.buckets = map[string]*memBucket{}
	}
	b := m.buckets[key]
	if b == nil {
		b = &memBucket{factor: 1}
		m.buckets[key] = b
	}
	b.lastUsed = now
	return b
}

func (m *Memory) idleTTL() time.Duration {
	if m.IdleTTL > 0 {
		return m.IdleTTL
	}
	return defaultIdleTTL
}

// sweepLocked forgets buckets that are idle, full and not penalized: forgetting them changes nothing, since a
// new bucket starts full. It runs at most once per IdleTTL.
func (m *Memory) sweepLocked(now time.Time) {
	ttl := m.idleTTL()
	if m.lastSweep.IsZero() {
		m.lastSweep = now
	}
	if now.Sub(m.lastSweep) < ttl {
		return
	}
	m.lastSweep = now
	for key, b := range m.buckets {
		if now.Sub(b.lastUsed) < ttl || now.Before(b.penaltyUntil) || now.Before(b.blockedUntil) {
			continue
		}
		if b.lim != nil && b.lim.TokensAt(now) < float64(b.lim.Burst()) {
			continue
		}
		delete(m.buckets, key)
	}
}

// size is the number of buckets held, for tests.
func (m *Memory) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}

var _ engine.Limiter = (*Memory)(nil)
