package nodes

import (
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
)

func allow(t *testing.T, b *Breakers, endpoint string) func(CallResult) {
	t.Helper()
	done, err := b.Allow(endpoint)
	if err != nil {
		t.Fatalf("Allow(%s): %v", endpoint, err)
	}
	return done
}

func refused(t *testing.T, b *Breakers, endpoint string) *Error {
	t.Helper()
	done, err := b.Allow(endpoint)
	if err == nil {
		done(CallAbandoned)
		t.Fatalf("Allow(%s) let a call through, want it refused", endpoint)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeCircuitOpen || !e.Fallback {
		t.Fatalf("refusal = %#v, want a %s failure asking for the fallback", err, CodeCircuitOpen)
	}
	return e
}

func TestBreakerOpensAfterFailuresInARow(t *testing.T) {
	const ep = "POST https://pay.example.com"
	b := NewBreakers(BreakerSettings{Failures: 3, CoolDown: time.Hour})
	// A success or an answered call in between resets the count; abandoned calls do not count either way.
	for _, r := range []CallResult{CallFailed, CallFailed, CallHealthy, CallFailed, CallAbandoned, CallFailed} {
		allow(t, b, ep)(r)
	}
	if s := b.State(ep); s != BreakerClosed {
		t.Fatalf("state %s after 2 failures in a row, want closed", s)
	}
	allow(t, b, ep)(CallFailed)
	if s := b.State(ep); s != BreakerOpen {
		t.Fatalf("state %s after 3 failures in a row, want open", s)
	}
	e := refused(t, b, ep)
	if e.Kind != RetryAfter || e.After <= 59*time.Minute || e.After > time.Hour {
		t.Errorf("refusal %s after %s, want retry_after about the cool-down", e.Kind, e.After)
	}
	// Other endpoints are not affected.
	allow(t, b, "GET https://pay.example.com")(CallHealthy)
	allow(t, b, "POST https://backup.example.com")(CallHealthy)
	if st := b.Status(); len(st) != 3 || st[2].Endpoint != ep || st[2].State != BreakerOpen || st[2].Rejected != 1 {
		t.Errorf("status %+v", st)
	}
}

func TestBreakerHalfOpenLetsOneTrialThrough(t *testing.T) {
	const ep = "GET https://crm.example.com"
	var mu sync.Mutex
	var changes []string
	b := NewBreakers(BreakerSettings{Failures: 1, CoolDown: 300 * time.Millisecond, OnChange: func(name string, from, to BreakerState) {
		mu.Lock()
		changes = append(changes, from.String()+">"+to.String())
		mu.Unlock()
	}})
	allow(t, b, ep)(CallFailed)
	refused(t, b, ep)
	testenv.WaitFor(t, "half-open", 5*time.Second, func() bool { return b.State(ep) == BreakerHalfOpen })

	// One trial at a time; a second caller is refused while it is out.
	trial := allow(t, b, ep)
	if e := refused(t, b, ep); e.Kind != Retryable {
		t.Errorf("refusal during the trial is %s, want retryable", e.Kind)
	}
	// A trial that fails opens the circuit again.
	trial(CallFailed)
	if s := b.State(ep); s != BreakerOpen {
		t.Fatalf("state %s after a failed trial, want open", s)
	}
	testenv.WaitFor(t, "half-open again", 5*time.Second, func() bool { return b.State(ep) == BreakerHalfOpen })
	// An abandoned trial says nothing and frees the slot for another one.
	allow(t, b, ep)(CallAbandoned)
	allow(t, b, ep)(CallHealthy)
	if s := b.State(ep); s != BreakerClosed {
		t.Fatalf("state %s after a successful trial, want closed", s)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"closed>open", "open>half-open", "half-open>open", "open>half-open", "half-open>closed"}
	if len(changes) != len(want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("changes %v, want %v", changes, want)
		}
	}
}

func TestBreakerDoneCountsOnce(t *testing.T) {
	const ep = "GET https://x.example.com"
	b := NewBreakers(BreakerSettings{Failures: 2, CoolDown: time.Hour})
	done := allow(t, b, ep)
	done(CallFailed)
	done(CallFailed)
	if s := b.State(ep); s != BreakerClosed {
		t.Fatalf("one call reported twice opened the circuit")
	}
}

func TestBreakerForgetsIdleEndpoints(t *testing.T) {
	b := NewBreakers(BreakerSettings{Failures: 1, CoolDown: time.Hour, IdleTTL: 10 * time.Millisecond})
	allow(t, b, "GET https://idle.example.com")(CallHealthy)
	allow(t, b, "GET https://down.example.com")(CallFailed)
	time.Sleep(30 * time.Millisecond)
	allow(t, b, "GET https://new.example.com")(CallHealthy)
	var names []string
	for _, s := range b.Status() {
		names = append(names, s.Endpoint)
	}
	if len(names) != 2 || names[0] != "GET https://down.example.com" || names[1] != "GET https://new.example.com" {
		t.Fatalf("endpoints %v: the idle closed one should be forgotten, the open one kept", names)
	}
}

func TestNilBreakersAllowEverything(t *testing.T) {
	var b *Breakers
	done, err := b.Allow("GET https://a.example.com")
	if err != nil {
		t.Fatal(err)
	}
	done(CallFailed)
	if b.State("GET https://a.example.com") != BreakerClosed || b.Status() != nil {
		t.Fatal("nil breakers keep state")
	}
}

func TestEndpoint(t *testing.T) {
	u, _ := url.Parse("HTTPS://API.Example.com:8443/v1/orders/42?x=1")
	if got := Endpoint("post", u); got != "POST https://api.example.com:8443" {
		t.Fatalf("Endpoint = %q", got)
	}
}
