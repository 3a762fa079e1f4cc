package nodes

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// CodeCircuitOpen is the failure code of a call refused without being sent because its endpoint's circuit is
// open, so alert rules and error branches can tell "provider down, not tried" from a call that failed.
const CodeCircuitOpen = "circuit_open"

// BreakerSettings tune the circuit breakers; zero values take the defaults. One setting serves every endpoint,
// since what counts as "down" (failures in a row) does not depend on the provider.
type BreakerSettings struct {
	// Failures is how many failed calls in a row (5xx, timeouts, connection errors) open a circuit; default 5.
	Failures uint32
	// CoolDown is how long an open circuit refuses calls before letting a trial call through; default 30s.
	CoolDown time.Duration
	// Probes is how many trial calls a half-open circuit lets through at once; that many successes in a row
	// close it, and one failure opens it again. Default 1.
	Probes uint32
	// IdleTTL is how long a closed breaker may go unused before it is forgotten, so endpoints built from data
	// (a URL per customer) do not pile up; default 10m.
	IdleTTL time.Duration
	// OnChange, when set, is told about every state change (for logs). It runs while the breaker is locked:
	// it must be quick and must not call back into the breakers.
	OnChange func(endpoint string, from, to BreakerState)
}

// Breaker defaults.
const (
	// DefaultBreakerFailures is enough failures in a row to tell an outage from a provider's occasional error.
	DefaultBreakerFailures = 5
	// DefaultBreakerCoolDown is short enough to notice a recovered provider soon, long enough to spare one that
	// is restarting.
	DefaultBreakerCoolDown = 30 * time.Second
	defaultBreakerIdleTTL  = 10 * time.Minute
)

// BreakerState is the state of one endpoint's circuit. The values are the ones the ferry_circuit_state metric
// reports: 0 closed, 1 half-open, 2 open.
type BreakerState int

// Circuit states.
const (
	// BreakerClosed lets every call through and counts failures in a row.
	BreakerClosed BreakerState = iota
	// BreakerHalfOpen lets a few trial calls through after the cool-down to see whether the endpoint is back.
	BreakerHalfOpen
	// BreakerOpen refuses calls until the cool-down ends.
	BreakerOpen
)

// String names the state for logs and error details.
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return fmt.Sprintf("BreakerState(%d)", int(s))
}

func stateOf(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateOpen:
		return BreakerOpen
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	}
	return BreakerClosed
}

// CallResult is how a call ended, as far as its endpoint's health goes.
type CallResult int

// Call results reported to a breaker.
const (
	// CallHealthy means the endpoint answered: any 2xx, 3xx or 4xx, including 429. A rejected request says the
	// provider is up.
	CallHealthy CallResult = iota
	// CallFailed means the endpoint is in trouble: a 5xx, a timeout, a connection that failed.
	CallFailed
	// CallAbandoned means the call ended for a reason of Ferry's own (the worker is stopping) and says nothing
	// about the endpoint.
	CallAbandoned
)

var (
	errEndpointFailed = errors.New("endpoint failed")
	errCallAbandoned  = errors.New("call abandoned")
)

// EndpointStatus is one breaker as metrics and the operator see it.
type EndpointStatus struct {
	Endpoint string
	State    BreakerState
	// Rejected counts calls refused by this breaker since it was created.
	Rejected uint64
}

// Breakers keeps one circuit breaker per provider endpoint for this process (D15): after a run of failures the
// endpoint's calls fail fast with CodeCircuitOpen, so flows switch to a backup channel through their error port
// instead of waiting on a provider that is down, and the provider is spared the load while it recovers. State
// is per process, not shared between workers: each worker finds out on its own within a few calls, which is
// cheap, and a shared state would make every call depend on Redis. Safe for concurrent use; a nil *Breakers
// lets every call through.
type Breakers struct {
	settings BreakerSettings

	mu        sync.Mutex
	byName    map[string]*breaker
	lastSweep time.Time
}

type breaker struct {
	cb       *gobreaker.TwoStepCircuitBreaker[struct{}]
	openedAt atomic.Int64 // unix nanoseconds of the last change to open
	lastUsed atomic.Int64 // unix nanoseconds
	rejected atomic.Uint64
}

// NewBreakers returns an empty set of breakers using s.
func NewBreakers(s BreakerSettings) *Breakers {
	if s.Failures == 0 {
		s.Failures = DefaultBreakerFailures
	}
	if s.CoolDown <= 0 {
		s.CoolDown = DefaultBreakerCoolDown
	}
	if s.Probes == 0 {
		s.Probes = 1
	}
	if s.IdleTTL <= 0 {
		s.IdleTTL = defaultBreakerIdleTTL
	}
	return &Breakers{settings: s, byName: map[string]*breaker{}, lastSweep: time.Now()}
}

// Endpoint names what a breaker guards: the method, scheme and host (with its port, if any) of a call, such as
// "POST https://api.stripe.com". Paths are left out: a provider that is down is down for all of them, and a
// path built from data would make one breaker per record.
func Endpoint(method string, u *url.URL) string {
	return strings.ToUpper(method) + " " + strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// Allow asks endpoint's breaker whether a call may be sent. When it may, report the call's end through done
// exactly once. When it may not, err is a *Error with CodeCircuitOpen and Fallback set: a retry no sooner
// than the rest of the cool-down, or the error port at once when the flow has one.
func (b *Breakers) Allow(endpoint string) (done func(CallResult), err error) {
	if b == nil {
		return func(CallResult) {}, nil
	}
	br := b.get(endpoint)
	br.lastUsed.Store(time.Now().UnixNano())
	report, err := br.cb.Allow()
	if err != nil {
		br.rejected.Add(1)
		return nil, b.refusal(endpoint, br, err)
	}
	var once sync.Once
	return func(r CallResult) {
		once.Do(func() {
			br.lastUsed.Store(time.Now().UnixNano())
			switch r {
			case CallFailed:
				report(errEndpointFailed)
			case CallAbandoned:
				report(errCallAbandoned)
			default:
				report(nil)
			}
		})
	}, nil
}

func (b *Breakers) refusal(endpoint string, br *breaker, cause error) error {
	if errors.Is(cause, gobreaker.ErrTooManyRequests) {
		return &Error{Kind: Retryable, Code: CodeCircuitOpen, Fallback: true, Details: map[string]any{"endpoint": endpoint, "state": BreakerHalfOpen.String()},
			Err: fmt.Errorf("%s: circuit half-open: a trial call is checking whether the endpoint is back", endpoint)}
	}
	left := time.Until(time.Unix(0, br.openedAt.Load()).Add(b.settings.CoolDown)).Truncate(time.Millisecond)
	kind := RetryAfter
	if left <= 0 {
		kind, left = Retryable, 0
	}
	shown := left.Round(time.Second)
	if left < time.Second {
		shown = left.Round(10 * time.Millisecond)
	}
	return &Error{Kind: kind, Code: CodeCircuitOpen, After: left, Fallback: true,
		Details: map[string]any{"endpoint": endpoint, "state": BreakerOpen.String()},
		Err: fmt.Errorf("%s: circuit open after %d failed calls in a row; calls resume in %s",
			endpoint, b.settings.Failures, shown)}
}

func (b *Breakers) get(endpoint string) *breaker {
	b.mu.Lock()
	defer b.mu.Unlock()
	if br := b.byName[endpoint]; br != nil {
		return br
	}
	b.sweepLocked()
	br := &breaker{}
	failures := b.settings.Failures
	onChange := b.settings.OnChange
	br.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        endpoint,
		MaxRequests: b.settings.Probes,
		Timeout:     b.settings.CoolDown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		IsExcluded:  func(err error) bool { return errors.Is(err, errCallAbandoned) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				br.openedAt.Store(time.Now().UnixNano())
			}
			if onChange != nil {
				onChange(name, stateOf(from), stateOf(to))
			}
		},
	})
	b.byName[endpoint] = br
	return br
}

// sweepLocked forgets closed breakers nobody used for IdleTTL. It runs at most once per IdleTTL, when a new
// endpoint shows up, so a busy set of known endpoints costs nothing.
func (b *Breakers) sweepLocked() {
	now := time.Now()
	if now.Sub(b.lastSweep) < b.settings.IdleTTL {
		return
	}
	b.lastSweep = now
	cutoff := now.Add(-b.settings.IdleTTL).UnixNano()
	for name, br := range b.byName {
		if br.lastUsed.Load() < cutoff && br.cb.State() == gobreaker.StateClosed {
			delete(b.byName, name)
		}
	}
}

// State returns endpoint's circuit state; an endpoint never called is closed.
func (b *Breakers) State(endpoint string) BreakerState {
	if b == nil {
		return BreakerClosed
	}
	b.mu.Lock()
	br := b.byName[endpoint]
	b.mu.Unlock()
	if br == nil {
		return BreakerClosed
	}
	return stateOf(br.cb.State())
}

// Status lists every known endpoint with its state and rejected calls, by endpoint, for metrics.
func (b *Breakers) Status() []EndpointStatus {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	out := make([]EndpointStatus, 0, len(b.byName))
	list := make([]*breaker, 0, len(b.byName))
	for name, br := range b.byName {
		out = append(out, EndpointStatus{Endpoint: name})
		list = append(list, br)
	}
	b.mu.Unlock()
	for i, br := range list {
		out[i].State = stateOf(br.cb.State())
		out[i].Rejected = br.rejected.Load()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out
}
