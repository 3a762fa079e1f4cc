package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
)

// quotaCall is a step that calls a provider with a credential: it counts its executions, can carry a rate
// limit of its own (param rate), and can be refused over quota on its first attempt (param refuse).
type quotaCall struct {
	rate   float64
	refuse bool
	// hold, when positive, is reported as what the provider said of its own quota.
	hold time.Duration
	// usage, when positive, is reported as what the provider said of the account's API allowance.
	usage int64
	// renew asks for the credential renewed, as a connector does when the provider refused its token, and
	// outputs the token the step then holds.
	renew bool
}

var quotaCalls atomic.Int64

func (q quotaCall) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	quotaCalls.Add(1)
	if q.hold > 0 {
		if x.ReportQuota == nil {
			return nodes.Result{}, nodes.NewPermanent("no_report", errors.New("the step has no way to report its quota"))
		}
		x.ReportQuota(context.Background(), q.hold)
	}
	if q.usage > 0 {
		if x.ReportUsage == nil {
			return nodes.Result{}, nodes.NewPermanent("no_report", errors.New("the step has no way to report its usage"))
		}
		x.ReportUsage("acme", q.usage, 15000)
	}
	if q.renew {
		if x.RenewCredential == nil {
			return nodes.Result{}, nodes.NewPermanent("no_renew", errors.New("the step cannot renew its credential"))
		}
		if _, err := x.RenewCredential(context.Background(), map[string]string{nodes.CredentialAccessToken: "old"}); err != nil {
			return nodes.Result{}, err
		}
		f, err := x.Credential(context.Background())
		if err != nil {
			return nodes.Result{}, err
		}
		return nodes.Result{Output: map[string]any{"token": f[nodes.CredentialAccessToken]}}, nil
	}
	if q.refuse && x.Attempt == 1 {
		return nodes.Result{}, nodes.NewRateLimited("too_many", errors.New("429 Too Many Requests"), 5*time.Second)
	}
	return nodes.Result{Output: map[string]any{"key": x.IdempotencyKey}}, nil
}

func (q quotaCall) RateLimit(*nodes.Exec) (nodes.Limit, string, bool) {
	return nodes.Limit{Rate: q.rate}, "host:api.example.com", q.rate > 0
}

func init() {
	main := []nodes.Port{{ID: "main", Label: "Main", Kind: nodes.PortMain}}
	nodes.MustRegister(nodes.Spec{Type: "enginetest.call", Version: 1, Name: "Quota call", Category: nodes.CategoryAction,
		Inputs: main, Outputs: main, Credentials: []string{"enginetest.key"},
		Params: []nodes.Field{
			{Name: "rate", Label: "Rate", Type: nodes.TypeNumber},
			{Name: "refuse", Label: "Refuse", Type: nodes.TypeBoolean},
			{Name: "hold", Label: "Hold", Type: nodes.TypeDuration},
			{Name: "usage", Label: "Usage", Type: nodes.TypeInteger},
			{Name: "renew", Label: "Renew", Type: nodes.TypeBoolean},
		}},
		func(cfg *nodes.Config) (nodes.Node, error) {
			return quotaCall{rate: cfg.Float("rate"), refuse: cfg.Bool("refuse"), hold: cfg.Duration("hold"), usage: int64(cfg.Int("usage")), renew: cfg.Bool("renew")}, cfg.Err()
		})
}

// stubLimiter hands out the delays a test sets and records what the engine asked.
type stubLimiter struct {
	mu        sync.Mutex
	delay     time.Duration
	err       error
	reserved  []string
	limits    []nodes.Limit
	penalized map[string]time.Duration
	held      map[string]time.Duration
	// onReserve, when set, runs inside Reserve (a worker told to stop while it waits).
	onReserve func()
}

func (s *stubLimiter) Reserve(_ context.Context, key string, limit nodes.Limit) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved = append(s.reserved, key)
	s.limits = append(s.limits, limit)
	if s.onReserve != nil {
		s.onReserve()
	}
	return s.delay, s.err
}

func (s *stubLimiter) Penalize(_ context.Context, key string, retryAfter time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.penalized == nil {
		s.penalized = map[string]time.Duration{}
	}
	s.penalized[key] = retryAfter
	return nil
}

func (s *stubLimiter) Hold(_ context.Context, key string, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = map[string]time.Duration{}
	}
	s.held[key] = d
	return nil
}

func quotaFlow(params, credential string) string {
	cred := ""
	if credential != "" {
		cred = `,"credential":"` + credential + `"`
	}
	return `{"schema":1,"name":"q","nodes":[{"id":"in","type":"test.trigger"},
	 {"id":"call","type":"enginetest.call","params":` + params + cred + `},{"id":"after","type":"test.pass"}],
	 "edges":[{"source":"in","target":"call"},{"source":"call","target":"after"}]}`
}

// roundTrip stores and reloads the checkpoint, as a worker picking the run up later would.
func roundTrip(t *testing.T, run *engine.Run) {
	t.Helper()
	b, err := json.Marshal(run.State)
	if err != nil {
		t.Fatal(err)
	}
	var st engine.State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	run.State = &st
}

func credentialLimit(l nodes.Limit) engine.LimitResolver {
	return func(_ context.Context, id string) (nodes.Limit, bool) { return l, id == "cred-1" }
}

// TestLongRateLimitWaitParksTheRun: a step whose slot is far off does not hold the worker: the run is queued
// until the slot, and when it resumes the step runs on that slot without reserving another.
func TestLongRateLimitWaitParksTheRun(t *testing.T) {
	c := compile(t, quotaFlow(`{}`, "cred-1"))
	now := time.Date(2026, time.November, 11, 0, 0, 0, 0, time.UTC)
	lim := &stubLimiter{delay: 30 * time.Second}
	e := &engine.Engine{Now: func() time.Time { return now }, Limiter: lim, LimitFor: credentialLimit(nodes.Limit{Rate: 2, Burst: 40})}
	run := start(c, nodes.ModeLive, nil)
	before := quotaCalls.Load()

	out := e.Execute(context.Background(), c, run)
	if out.Status != engine.StatusQueued || !out.AvailableAt.Equal(now.Add(30*time.Second)) || out.Error != nil {
		t.Fatalf("outcome %s until %s (%+v), want queued until the slot 30s from now", out.Status, out.AvailableAt, out.Error)
	}
	if got := nodesOf(out.Steps); !equal(got, []string{"in"}) {
		t.Fatalf("steps %v: the limited step must not run or be recorded", got)
	}
	if quotaCalls.Load() != before {
		t.Fatal("the limited step executed")
	}
	if p := run.State.Pending; len(p) != 1 || p[0].Node != "call" || !p[0].Slot.Equal(now.Add(30*time.Second)) || p[0].Attempt != 1 {
		t.Fatalf("pending %+v", p)
	}
	if len(lim.reserved) != 1 || lim.reserved[0] != "credential:cred-1:live" || lim.limits[0] != (nodes.Limit{Rate: 2, Burst: 40}) {
		t.Fatalf("reservations %v %v", lim.reserved, lim.limits)
	}

	roundTrip(t, run)
	now = now.Add(30 * time.Second)
	out = e.Execute(context.Background(), c, run)
	if out.Status != engine.StatusSucceeded || len(lim.reserved) != 1 {
		t.Fatalf("resumed: %s with %d reservations, want success on the reserved slot", out.Status, len(lim.reserved))
	}
	if got := nodesOf(out.Steps); !equal(got, []string{"call", "after"}) || out.Steps[0].Attempt != 1 || out.Steps[0].Seq != 2 {
		t.Fatalf("resumed steps %+v", out.Steps)
	}
}

// TestStaleSlotIsReservedAgain: a run that reached a worker long after its slot takes a new one, so runs
// delayed together do not all call at once.
func TestStaleSlotIsReservedAgain(t *testing.T) {
	c := compile(t, quotaFlow(`{}`, "cred-1"))
	now := time.Date(2026, time.November, 11, 0, 0, 0, 0, time.UTC)
	lim := &stubLimiter{delay: 30 * time.Second}
	e := &engine.Engine{Now: func() time.Time { return now }, Limiter: lim, LimitFor: credentialLimit(nodes.Limit{Rate: 2})}
	run := start(c, nodes.ModeLive, nil)
	e.Execute(context.Background(), c, run)
	now = now.Add(5 * time.Minute)
	lim.delay = 0
	if out := e.Execute(context.Background(), c, run); out.Status != engine.StatusSucceeded || len(lim.reserved) != 2 {
		t.Fatalf("%s with %d reservations, want a fresh reservation", out.Status, len(lim.reserved))
	}
}

// TestShortRateLimitWait: a live run never waits on a worker, however short the wait: it parks until its
// slot. A test run, executed inline in the editor's request, waits a short wait out.
func TestShortRateLimitWait(t *testing.T) {
	c := compile(t, quotaFlow(`{}`, "cred-1"))
	lim := &stubLimiter{delay: 20 * time.Millisecond}
	e := &engine.Engine{Limiter: lim, LimitFor: credentialLimit(nodes.Limit{Rate: 50})}
	live := start(c, nodes.ModeLive, nil)
	out := e.Execute(context.Background(), c, live)
	if out.Status != engine.StatusQueued || live.State.Pending[0].Slot.IsZero() || len(lim.reserved) != 1 {
		t.Fatalf("live run with a 20ms wait: %s, pending %+v; want parked with its slot", out.Status, live.State.Pending)
	}
	out = e.Execute(context.Background(), c, start(c, nodes.ModeTest, nil))
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("test run with a 20ms wait: %s %+v", out.Status, out.Error)
	}
	// A test run interrupted while it waits hands the step back with its slot.
	lim.delay = 500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	lim.onReserve = cancel
	run := start(c, nodes.ModeTest, nil)
	out = e.Execute(ctx, c, run)
	if out.Status != engine.StatusQueued || run.State.Pending[0].Node != "call" || run.State.Pending[0].Slot.IsZero() {
		t.Fatalf("interrupted wait: %s, pending %+v", out.Status, run.State.Pending)
	}
}

// TestNodeLimitIsTheFallback: without a credential quota, a node's own setting applies, keyed by its
// credential, else by the scope it names.
func TestNodeLimitIsTheFallback(t *testing.T) {
	for _, tc := range []struct {
		name, params, credential, key string
		limit                         nodes.Limit
	}{
		{"credential quota first", `{"rate": 9}`, "cred-1", "credential:cred-1:live", nodes.Limit{Rate: 2, Burst: 40}},
		{"node limit by credential", `{"rate": 9}`, "cred-other", "credential:cred-other:live", nodes.Limit{Rate: 9}},
		{"node limit by host", `{"rate": 9}`, "", "host:api.example.com", nodes.Limit{Rate: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compile(t, quotaFlow(tc.params, tc.credential))
			lim := &stubLimiter{}
			e := &engine.Engine{Limiter: lim, LimitFor: credentialLimit(nodes.Limit{Rate: 2, Burst: 40})}
			if out := e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil)); out.Status != engine.StatusSucceeded {
				t.Fatalf("%s %+v", out.Status, out.Error)
			}
			if len(lim.reserved) != 1 || lim.reserved[0] != tc.key || lim.limits[0] != tc.limit {
				t.Fatalf("reserved %v %v, want %s %+v", lim.reserved, lim.limits, tc.key, tc.limit)
			}
		})
	}
	// No quota anywhere: nothing is reserved.
	c := compile(t, quotaFlow(`{}`, "cred-other"))
	lim := &stubLimiter{}
	(&engine.Engine{Limiter: lim, LimitFor: credentialLimit(nodes.Limit{Rate: 2})}).Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if len(lim.reserved) != 0 {
		t.Fatalf("reserved %v for an unlimited step", lim.reserved)
	}
}

// TestRefusedOverQuotaPenalizesTheKey: a 429 slows down the key for every run, and the step is retried after
// the provider's Retry-After.
func TestRefusedOverQuotaPenalizesTheKey(t *testing.T) {
	c := compile(t, quotaFlow(`{"refuse": true}`, "cred-1"))
	now := time.Date(2026, time.November, 11, 0, 0, 0, 0, time.UTC)
	lim := &stubLimiter{}
	e := &engine.Engine{Now: func() time.Time { return now }, Limiter: lim, LimitFor: credentialLimit(nodes.Limit{Rate: 2})}
	out := e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status != engine.StatusQueued || out.AvailableAt.Sub(now) != 5*time.Second {
		t.Fatalf("%s after %s", out.Status, out.AvailableAt.Sub(now))
	}
	if got := lim.penalized["credential:cred-1:live"]; got != 5*time.Second {
		t.Fatalf("penalized %v", lim.penalized)
	}
}

// TestProviderQuotaHoldsTheKey: a step that reports what the provider said of its own quota holds the step's
// rate-limit key, so every run sharing the credential waits for the provider's bucket; a step that is not paced
// has nothing to report to.
func TestProviderQuotaHoldsTheKey(t *testing.T) {
	c := compile(t, quotaFlow(`{"hold": "3s"}`, "cred-1"))
	lim := &stubLimiter{}
	e := &engine.Engine{Limiter: lim, LimitFor: credentialLimit(nodes.Limit{Rate: 2})}
	if out := e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil)); out.Status != engine.StatusSucceeded {
		t.Fatalf("%s %+v", out.Status, out.Error)
	}
	if got := lim.held["credential:cred-1:live"]; got != 3*time.Second {
		t.Fatalf("held %v, want the credential's key for 3s", lim.held)
	}
	c = compile(t, quotaFlow(`{"hold": "3s"}`, "cred-other"))
	out := (&engine.Engine{Limiter: lim, LimitFor: credentialLimit(nodes.Limit{Rate: 2})}).Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status != engine.StatusFailed || out.Error.Code != "no_report" {
		t.Fatalf("an unpaced step: %s %+v", out.Status, out.Error)
	}
}

// TestTestRunsDoNotPark: a test run answers the person waiting for it, so a long wait fails the step instead.
// TestProviderUsageIsReportedByCredential: what a provider says of the account's API allowance reaches OnUsage
// with the step's credential.
func TestProviderUsageIsReportedByCredential(t *testing.T) {
	c := compile(t, quotaFlow(`{"usage": 18}`, "cred-1"))
	var got string
	e := &engine.Engine{OnUsage: func(credentialID, provider string, used, limit int64) {
		got = credentialID + " " + provider + " " + strconv.FormatInt(used, 10) + "/" + strconv.FormatInt(limit, 10)
	}}
	if out := e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil)); out.Status != engine.StatusSucceeded {
		t.Fatalf("%s %+v", out.Status, out.Error)
	}
	if got != "cred-1 acme 18/15000" {
		t.Errorf("reported %q", got)
	}
}

// TestRenewedCredentialServesTheRestOfTheStep: a step whose token was refused gets the credential renewed with
// the refused token named, and its later reads get the new fields.
func TestRenewedCredentialServesTheRestOfTheStep(t *testing.T) {
	c := compile(t, quotaFlow(`{"renew": true}`, "cred-1"))
	var asked string
	e := &engine.Engine{
		Credentials: engine.StaticCredentials(map[string]*nodes.ResolvedCredential{"cred-1": {Name: "CRM", Type: "enginetest.key",
			Fields: map[string]string{nodes.CredentialAccessToken: "old"}}}),
		RenewCredential: func(_ context.Context, id string, mode nodes.Mode, refused string) (*nodes.ResolvedCredential, error) {
			asked = id + " " + string(mode) + " " + refused
			return &nodes.ResolvedCredential{Name: "CRM", Type: "enginetest.key", Fields: map[string]string{nodes.CredentialAccessToken: "new"}}, nil
		}}
	out := e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status != engine.StatusSucceeded || asked != "cred-1 live old" {
		t.Fatalf("%s %+v, asked %q", out.Status, out.Error, asked)
	}
	if got := out.Steps[1].Output.(map[string]any)["token"]; got != "new" {
		t.Errorf("the step holds %v", got)
	}
}

func TestTestRunsDoNotPark(t *testing.T) {
	c := compile(t, quotaFlow(`{}`, "cred-1"))
	lim := &stubLimiter{delay: time.Minute}
	e := &engine.Engine{Limiter: lim, LimitFor: credentialLimit(nodes.Limit{Rate: 2})}
	out := e.Execute(context.Background(), c, start(c, nodes.ModeTest, nil))
	if out.Status != engine.StatusFailed || out.Error.Code != engine.CodeRateLimited || out.Error.NodeID != "call" {
		t.Fatalf("%s %+v", out.Status, out.Error)
	}
}

// TestLimiterOutageDoesNotStopFlows: when the limiter cannot answer, steps go on unpaced.
func TestLimiterOutageDoesNotStopFlows(t *testing.T) {
	c := compile(t, quotaFlow(`{}`, "cred-1"))
	lim := &stubLimiter{err: errors.New("redis: connection refused")}
	e := &engine.Engine{Limiter: lim, LimitFor: credentialLimit(nodes.Limit{Rate: 2})}
	if out := e.Execute(context.Background(), c, start(c, nodes.ModeLive, nil)); out.Status != engine.StatusSucceeded {
		t.Fatalf("%s %+v", out.Status, out.Error)
	}
}

// failingProvider answers 500 to its first fails requests, then 200, and records the idempotency keys it saw.
type failingProvider struct {
	*httptest.Server
	mu    sync.Mutex
	keys  []string
	fails int
}

func newFailingProvider(t *testing.T, fails int) *failingProvider {
	p := &failingProvider{fails: fails}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.keys = append(p.keys, r.Header.Get("Idempotency-Key"))
		n := len(p.keys)
		p.mu.Unlock()
		if n <= p.fails {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *failingProvider) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.keys...)
}

func paymentFlow(url string, errorPort bool, maxAttempts int) string {
	edges := `{"source":"in","target":"pay"},{"source":"pay","target":"done"}`
	if errorPort {
		edges += `,{"source":"pay","sourcePort":"error","target":"backup"}`
	}
	return `{"schema":1,"name":"pay","nodes":[{"id":"in","type":"test.trigger"},
	 {"id":"pay","type":"core.http","params":{"method":"POST","url":"` + url + `/charges","idempotencyKey":true},
	  "retry":{"maxAttempts":` + strconv.Itoa(maxAttempts) + `,"backoff":"1s"}},
	 {"id":"done","type":"test.pass"},
	 {"id":"backup","type":"test.value","params":{"expr":"'backup after ' + prev.error.code"}}],
	 "edges":[` + edges + `]}`
}

// TestOpenCircuitFollowsTheErrorPort: once the primary channel's circuit is open, the run goes to the backup
// branch at once instead of spending its remaining retries (D15).
func TestOpenCircuitFollowsTheErrorPort(t *testing.T) {
	p := newFailingProvider(t, 100)
	c := compile(t, paymentFlow(p.URL, true, 5))
	e := &engine.Engine{HTTP: testenv.LocalClient(), Breakers: nodes.NewBreakers(nodes.BreakerSettings{Failures: 1, CoolDown: time.Hour})}
	run := start(c, nodes.ModeLive, nil)

	out := e.Execute(context.Background(), c, run)
	if out.Status != engine.StatusQueued || out.Steps[1].Error.Code != "http_server_error" {
		t.Fatalf("first attempt: %s %+v", out.Status, out.Steps)
	}
	out = e.Execute(context.Background(), c, run)
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("second attempt: %s %+v", out.Status, out.Error)
	}
	if got := nodesOf(out.Steps); !equal(got, []string{"pay", "backup"}) {
		t.Fatalf("path %v, want the backup branch right after the refused call", got)
	}
	if out.Steps[0].Error.Code != nodes.CodeCircuitOpen || out.Steps[0].Attempt != 2 {
		t.Errorf("refused step %+v", out.Steps[0])
	}
	if out.Steps[1].Output != "backup after circuit_open" {
		t.Errorf("backup saw %v", out.Steps[1].Output)
	}
	if n := len(p.seen()); n != 1 {
		t.Errorf("provider got %d calls, want 1: the open circuit sends nothing", n)
	}
}

// TestOpenCircuitWithoutErrorPortRetriesAfterCoolDown: with no backup branch the step waits out the cool-down
// as a retry rather than failing the run.
func TestOpenCircuitWithoutErrorPortRetriesAfterCoolDown(t *testing.T) {
	p := newFailingProvider(t, 100)
	c := compile(t, paymentFlow(p.URL, false, 5))
	now := time.Now()
	e := &engine.Engine{HTTP: testenv.LocalClient(), Now: func() time.Time { return now }, Breakers: nodes.NewBreakers(nodes.BreakerSettings{Failures: 1, CoolDown: time.Hour})}
	run := start(c, nodes.ModeLive, nil)
	e.Execute(context.Background(), c, run)
	out := e.Execute(context.Background(), c, run)
	if out.Status != engine.StatusQueued || out.Error != nil {
		t.Fatalf("%s %+v, want a retry", out.Status, out.Error)
	}
	if d := out.AvailableAt.Sub(now); d < 59*time.Minute || d > time.Hour {
		t.Errorf("retry in %s, want at the end of the cool-down", d)
	}
}

// TestRetriesSendTheSameIdempotencyKey: every attempt of a step carries one key, so the provider applies the
// charge once however often it is retried (I4).
func TestRetriesSendTheSameIdempotencyKey(t *testing.T) {
	p := newFailingProvider(t, 2)
	c := compile(t, paymentFlow(p.URL, false, 3))
	e := &engine.Engine{HTTP: testenv.LocalClient()}
	run := start(c, nodes.ModeLive, nil)
	var out engine.Outcome
	for i := 0; i < 3; i++ {
		roundTrip(t, run)
		if out = e.Execute(context.Background(), c, run); out.Status != engine.StatusQueued {
			break
		}
	}
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("%s %+v", out.Status, out.Error)
	}
	keys := p.seen()
	if len(keys) != 3 || keys[0] != "run-1:pay" || keys[1] != keys[0] || keys[2] != keys[0] {
		t.Fatalf("keys sent %q, want run-1:pay on all three attempts", keys)
	}
}

// TestNodeReachedTwiceGetsAKeyPerVisit: a node two branches lead to runs once per branch; each visit is its
// own call and must not be taken by the provider as a repeat of the other.
func TestNodeReachedTwiceGetsAKeyPerVisit(t *testing.T) {
	doc := `{"schema":1,"name":"d","nodes":[{"id":"in","type":"test.trigger"},{"id":"a","type":"test.pass"},{"id":"b","type":"test.pass"},
	 {"id":"c","type":"test.flaky","params":{"failTimes":1},"retry":{"maxAttempts":3}}],
	 "edges":[{"source":"in","target":"a"},{"source":"in","target":"b"},{"source":"a","target":"c"},{"source":"b","target":"c"}]}`
	c := compile(t, doc)
	run := start(c, nodes.ModeLive, nil)
	var keys []string
	for i := 0; i < 5; i++ {
		roundTrip(t, run)
		out := (&engine.Engine{}).Execute(context.Background(), c, run)
		for _, s := range out.Steps {
			if s.NodeID == "c" && s.Output != nil {
				keys = append(keys, s.Output.(map[string]any)["key"].(string))
			}
		}
		if out.Status == engine.StatusSucceeded {
			break
		}
	}
	if strings.Join(keys, ",") != "run-1:c,run-1:c:2" {
		t.Fatalf("keys %v, want one per visit, stable across each visit's retry", keys)
	}
}
