package core

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
)

func withBreakers(x *nodes.Exec, b *nodes.Breakers) *nodes.Exec {
	x.Breakers = b
	return x
}

func endpointOf(t *testing.T, method, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return nodes.Endpoint(method, u)
}

// TestHTTPCircuitOpensOnServerErrorsAndRecovers walks a provider endpoint through an outage: 5xx answers open
// the circuit, calls then fail at once without reaching the provider, and after the cool-down one trial call
// closes it again.
func TestHTTPCircuitOpensOnServerErrorsAndRecovers(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusBadGateway)
	p := provider(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) })
	b := nodes.NewBreakers(nodes.BreakerSettings{Failures: 3, CoolDown: 500 * time.Millisecond})
	n := newHTTPNode(t, map[string]any{"method": "POST", "url": p.URL + "/v1/charges/{{ trigger.body.order_id }}"})
	call := func() error {
		_, err := n.Execute(t.Context(), withBreakers(httpExec(p.Client(), nil, nil), b))
		return err
	}
	for i := 0; i < 3; i++ {
		wantFailure(t, call(), nodes.Retryable, CodeHTTPServerError)
	}
	ep := endpointOf(t, "POST", p.URL)
	if s := b.State(ep); s != nodes.BreakerOpen {
		t.Fatalf("state %s after 3 server errors, want open", s)
	}
	sent := len(p.calls())
	e := wantFailure(t, call(), nodes.RetryAfter, nodes.CodeCircuitOpen)
	if !e.Fallback || e.After <= 0 || e.After > 500*time.Millisecond {
		t.Errorf("circuit-open failure: fallback %v after %s", e.Fallback, e.After)
	}
	details := e.Details.(map[string]any)
	if details["endpoint"] != ep || details["request"].(map[string]any)["method"] != "POST" {
		t.Errorf("details %v", details)
	}
	if !strings.Contains(e.Error(), "circuit open") {
		t.Errorf("message %q", e.Error())
	}
	if len(p.calls()) != sent {
		t.Fatal("a call went out while the circuit was open")
	}
	// Another method on the same host has its own circuit.
	get := newHTTPNode(t, map[string]any{"url": p.URL})
	if _, err := get.Execute(t.Context(), withBreakers(httpExec(p.Client(), nil, nil), b)); nodes.Classify(err).Code == nodes.CodeCircuitOpen {
		t.Fatal("GET was refused by the POST circuit")
	}

	status.Store(http.StatusCreated)
	testenv.WaitFor(t, "half-open", 5*time.Second, func() bool { return b.State(ep) == nodes.BreakerHalfOpen })
	if err := call(); err != nil {
		t.Fatalf("trial call: %v", err)
	}
	if s := b.State(ep); s != nodes.BreakerClosed {
		t.Fatalf("state %s after a successful trial, want closed", s)
	}
}

// TestHTTPClientErrorsDoNotOpenTheCircuit: a 4xx or a 429 is the provider answering, not the provider down.
func TestHTTPClientErrorsDoNotOpenTheCircuit(t *testing.T) {
	codes := []int{422, 404, 429, 401, 400}
	var i atomic.Int32
	p := provider(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[int(i.Add(1)-1)%len(codes)])
	})
	b := nodes.NewBreakers(nodes.BreakerSettings{Failures: 2, CoolDown: time.Hour})
	n := newHTTPNode(t, map[string]any{"url": p.URL})
	for range 2 * len(codes) {
		_, err := n.Execute(t.Context(), withBreakers(httpExec(p.Client(), nil, nil), b))
		if nodes.Classify(err).Code == nodes.CodeCircuitOpen {
			t.Fatal("4xx answers opened the circuit")
		}
	}
	if s := b.State(endpointOf(t, "GET", p.URL)); s != nodes.BreakerClosed {
		t.Fatalf("state %s", s)
	}
}

// TestHTTPTimeoutsAndNetworkErrorsOpenTheCircuit: silence and refused connections count as failures.
func TestHTTPTimeoutsAndNetworkErrorsOpenTheCircuit(t *testing.T) {
	release := make(chan struct{})
	p := provider(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	b := nodes.NewBreakers(nodes.BreakerSettings{Failures: 2, CoolDown: time.Hour})
	n := newHTTPNode(t, map[string]any{"url": p.URL, "timeout": "30ms"})
	for range 2 {
		_, err := n.Execute(t.Context(), withBreakers(httpExec(p.Client(), nil, nil), b))
		wantFailure(t, err, nodes.Retryable, CodeHTTPTimeout)
	}
	_, err := n.Execute(t.Context(), withBreakers(httpExec(p.Client(), nil, nil), b))
	wantFailure(t, err, nodes.RetryAfter, nodes.CodeCircuitOpen)

	closed := provider(t, respondWith(200, "", ""))
	addr := closed.URL
	closed.Close()
	n = newHTTPNode(t, map[string]any{"url": addr})
	for range 2 {
		_, err := n.Execute(t.Context(), withBreakers(httpExec(nil, nil, nil), b))
		wantFailure(t, err, nodes.Retryable, CodeHTTPNetwork)
	}
	if s := b.State(endpointOf(t, "GET", addr)); s != nodes.BreakerOpen {
		t.Fatalf("state %s after refused connections, want open", s)
	}
}

// TestHTTPStoppingWorkerDoesNotCountAgainstTheEndpoint: a call cut short because the run is stopping is not
// the provider's failure.
func TestHTTPStoppingWorkerDoesNotCountAgainstTheEndpoint(t *testing.T) {
	arrived := make(chan struct{}, 4)
	p := provider(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	b := nodes.NewBreakers(nodes.BreakerSettings{Failures: 1, CoolDown: time.Hour})
	n := newHTTPNode(t, map[string]any{"url": p.URL})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := n.Execute(ctx, withBreakers(httpExec(p.Client(), nil, nil), b))
		done <- err
	}()
	<-arrived
	cancel()
	<-done
	if s := b.State(endpointOf(t, "GET", p.URL)); s != nodes.BreakerClosed {
		t.Fatalf("state %s after a stopped call, want closed", s)
	}
}

func TestHTTPRateLimitedAnswerSlowsTheKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     func(http.ResponseWriter, *http.Request)
		limit bool
	}{
		{"429 with Retry-After", respondWith(429, "", "", "Retry-After", "3"), true},
		{"429 without Retry-After", respondWith(429, "", ""), true},
		{"503 with Retry-After is an outage, not a quota", respondWith(503, "", "", "Retry-After", "3"), false},
		{"500", respondWith(500, "", ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := provider(t, tc.h)
			_, err := newHTTPNode(t, map[string]any{"url": p.URL}).Execute(t.Context(), httpExec(p.Client(), nil, nil))
			if got := nodes.Classify(err).RateLimited; got != tc.limit {
				t.Fatalf("RateLimited = %v, want %v (%v)", got, tc.limit, err)
			}
		})
	}
}

func TestHTTPRateLimitScope(t *testing.T) {
	x := httpExec(nil, nil, nil)
	// Without a credential, calls to one host share the limit whatever the path.
	n := newHTTPNode(t, map[string]any{"url": "https://Shop.Example.com/admin/orders/{{ trigger.body.order_id }}.json", "rateLimit": 2})
	limit, scope, ok := n.(nodes.RateLimited).RateLimit(x)
	if !ok || limit != (nodes.Limit{Rate: 2, Burst: 2}) || scope != "host:shop.example.com" {
		t.Fatalf("RateLimit = %+v %q %v", limit, scope, ok)
	}
	// A fractional rate gets a burst of one; an explicit burst wins.
	n = newHTTPNode(t, map[string]any{"url": "https://x.example", "rateLimit": 0.5})
	if limit, _, _ := n.(nodes.RateLimited).RateLimit(x); limit.Burst != 1 {
		t.Fatalf("burst %d, want 1", limit.Burst)
	}
	n = newHTTPNode(t, map[string]any{"url": "https://x.example", "rateLimit": 2, "rateBurst": 40})
	if limit, _, _ := n.(nodes.RateLimited).RateLimit(x); limit.Burst != 40 {
		t.Fatalf("burst %d, want 40", limit.Burst)
	}
	// With a credential, the engine keys the limit by the credential: no scope from the node.
	withCred, err := build(t, HTTPType, `{"url": "https://x.example", "rateLimit": 2}`, "cred-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, scope, ok := withCred.(nodes.RateLimited).RateLimit(x); !ok || scope != "" {
		t.Fatalf("with a credential: scope %q %v", scope, ok)
	}
	// No setting, no limit.
	if _, _, ok := newHTTPNode(t, map[string]any{"url": "https://x.example"}).(nodes.RateLimited).RateLimit(x); ok {
		t.Fatal("a node without rateLimit is limited")
	}
}
