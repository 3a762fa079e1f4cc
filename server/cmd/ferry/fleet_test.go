package main

// Fleet tests: real ferry processes (an API process and worker processes built from this package) on Postgres
// and Redis, put through what breaks integrations at promotion peaks: a worker killed mid-run, Redis restarted
// or flushed, the database unreachable, a thousand deliveries of one event, ordering across workers. They need
// FERRY_TEST_DATABASE_URL and FERRY_TEST_REDIS_URL (as .ci/run sets them) and redis-server on the PATH: each test
// runs its own Redis server, so restarting or flushing it touches no other test.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// fleetKey is the secret key every process of a test fleet shares.
const fleetKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

var (
	buildOnce sync.Once
	ferryBin  string
	buildErr  error
)

// binary builds this command once per test binary.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ferry-fleet-")
		if err != nil {
			buildErr = err
			return
		}
		ferryBin = filepath.Join(dir, "ferry")
		out, err := exec.Command("go", "build", "-o", ferryBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return ferryBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ferryBin != "" {
		os.RemoveAll(filepath.Dir(ferryBin))
	}
	os.Exit(code)
}

// needFleet skips when the servers a fleet needs are not configured.
func needFleet(t *testing.T) {
	t.Helper()
	testenv.Service(t, testenv.DatabaseURL, "the fleet tests")
	testenv.Service(t, testenv.RedisURL, "the fleet tests")
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("fleet tests run their own Redis and need redis-server on the PATH")
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// redisServer is a private Redis for one test, which the test may restart or flush.
type redisServer struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
	r := &redisServer{t: t, port: freePort(t)}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", r.t.TempDir())
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	testenv.WaitFor(r.t, "redis to answer", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
		if err != nil {
			return false
		}
		defer c.Close()
		_, _ = c.Write([]byte("PING\r\n"))
		buf := make([]byte, 7)
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := c.Read(buf)
		return strings.HasPrefix(string(buf[:n]), "+PONG")
	})
}

func (r *redisServer) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// restart stops Redis (losing everything: it keeps nothing on disk) and starts it again after down.
func (r *redisServer) restart(down time.Duration) {
	r.stop()
	time.Sleep(down)
	r.start()
}

func (r *redisServer) flush() {
	r.t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
	if err != nil {
		r.t.Fatalf("dial redis: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("FLUSHALL\r\n")); err != nil {
		r.t.Fatal(err)
	}
	buf := make([]byte, 5)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _ := c.Read(buf); !strings.HasPrefix(string(buf[:n]), "+OK") {
		r.t.Fatalf("FLUSHALL answered %q", buf[:n])
	}
}

// dbProxy stands between the fleet and Postgres, so a test can make the database unreachable: cut closes every
// connection and refuses new ones, as a restarting server does, without disturbing other tests that share it.
type dbProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *dbProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.mu.Unlock()
		go p.pipe(c)
	}
}

func (p *dbProxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// cut drops every connection and refuses new ones until restore.
func (p *dbProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *dbProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// viaProxy rewrites a database URL to go through p.
func viaProxy(dbURL string, p *dbProxy) string {
	at := strings.LastIndex(dbURL, "@")
	rest := dbURL[at+1:]
	slash := strings.Index(rest, "/")
	return dbURL[:at+1] + p.ln.Addr().String() + rest[slash:]
}

func hostOf(dbURL string) string {
	at := strings.LastIndex(dbURL, "@")
	rest := dbURL[at+1:]
	return rest[:strings.Index(rest, "/")]
}

// process is one running ferry.
type process struct {
	t    testing.TB
	name string
	addr string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	mu   *sync.Mutex
}

type fleet struct {
	t     *testing.T
	db    string
	redis *redisServer
	api   *process
	procs []*process
	// token is the first admin's API token, from setting the fleet up.
	token string
}

// startFleet starts an API process and n worker processes on a fresh schema and a private Redis.
func startFleet(t *testing.T, n int, extra ...string) *fleet {
	t.Helper()
	needFleet(t)
	f := &fleet{t: t, db: storetest.PostgresURL(t), redis: startRedis(t)}
	f.api = f.start("api", "api", extra...)
	f.setup()
	for i := range n {
		f.start(fmt.Sprintf("worker-%d", i+1), "worker", extra...)
	}
	return f
}

func (f *fleet) start(name, role string, extra ...string) *process {
	t := f.t
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := append([]string{"serve", "--role", role, "--addr", addr, "--database-url", f.db,
		"--redis-url", f.redis.url(), "--lease", "2s", "--shutdown-timeout", "3s", "--workers", "8",
		"--log-level", "warn", "--data-dir", t.TempDir()}, extra...)
	cmd := exec.Command(binary(t), args...)
	// The side-effect target the tests count calls at listens on the loopback address.
	cmd.Env = append(os.Environ(), "FERRY_SECRET_KEY="+fleetKey, "FERRY_ALLOWED_INTERNAL_HOSTS=127.0.0.1")
	p := &process{t: t, name: name, addr: addr, cmd: cmd, log: &bytes.Buffer{}, mu: &sync.Mutex{}}
	cmd.Stdout, cmd.Stderr = lockedWriter{p}, lockedWriter{p}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s log:\n%s", p.name, p.log.String())
			p.mu.Unlock()
		}
	})
	testenv.WaitFor(t, name+" to be ready", 30*time.Second, func() bool {
		res, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	f.procs = append(f.procs, p)
	return p
}

type lockedWriter struct{ p *process }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

// kill ends p with SIGKILL: no shutdown, leases left held, queue entries left unacknowledged.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

func (p *process) url(path string) string { return "http://" + p.addr + path }

// setup creates the first admin through the API and keeps its token.
func (f *fleet) setup() {
	f.t.Helper()
	res, err := http.Post(f.api.url("/api/v1/setup"), "application/json",
		strings.NewReader(`{"email":"it@shop.example","password":"fleet test password"}`))
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if res.StatusCode != http.StatusCreated || json.NewDecoder(res.Body).Decode(&out) != nil || out.Token == "" {
		f.t.Fatalf("setup: %d", res.StatusCode)
	}
	f.token = out.Token
}

// apiRequest calls the API process with the admin token.
func (f *fleet) apiRequest(method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, f.api.url(path), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return http.DefaultClient.Do(req)
}

// importFlow imports and publishes doc through the API process.
func (f *fleet) importFlow(doc string) string {
	f.t.Helper()
	res, err := f.apiRequest(http.MethodPost, "/api/v1/flows/import?publish=true", strings.NewReader(doc))
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated || json.Unmarshal(body, &out) != nil {
		f.t.Fatalf("import: %d %s", res.StatusCode, body)
	}
	return out.ID
}

// delivery is the answer to one webhook request.
type delivery struct {
	status int
	runID  string
	err    error
}

// deliver posts payloads to the flow's webhook with conc requests in flight and returns every answer.
func (f *fleet) deliver(flowID string, payloads [][]byte, conc int) []delivery {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	out := make([]delivery, len(payloads))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(payloads) {
					return
				}
				res, err := client.Post(f.api.url("/hooks/"+flowID), "application/json", bytes.NewReader(payloads[i]))
				if err != nil {
					out[i] = delivery{err: err}
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				out[i] = delivery{status: res.StatusCode, runID: res.Header.Get("X-Ferry-Run-Id")}
			}
		})
	}
	wg.Wait()
	return out
}

// apiRun is what the fleet tests read of a run.
type apiRun struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Error  json.RawMessage `json:"error"`
}

// runs lists every run of the flow.
func (f *fleet) runs(flowID string) []apiRun {
	f.t.Helper()
	var all []apiRun
	cursor := ""
	for {
		u := "/api/v1/runs?limit=500&flow=" + flowID
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		res, err := f.apiRequest(http.MethodGet, u, nil)
		if err != nil {
			f.t.Fatal(err)
		}
		var page struct {
			Runs       []apiRun `json:"runs"`
			NextCursor string   `json:"nextCursor"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil {
			f.t.Fatalf("list runs: %v", err)
		}
		all = append(all, page.Runs...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// settle waits until no run of the flow is queued, running or waiting, and returns the runs by id.
func (f *fleet) settle(flowID string, within time.Duration) map[string]apiRun {
	f.t.Helper()
	var byID map[string]apiRun
	testenv.WaitFor(f.t, "every run to finish", within, func() bool {
		byID = map[string]apiRun{}
		for _, r := range f.runs(flowID) {
			if r.Status == "queued" || r.Status == "running" || r.Status == "waiting" {
				return false
			}
			byID[r.ID] = r
		}
		return true
	})
	return byID
}

// target is a provider that honours idempotency keys, as Stripe does: it applies each key once and counts the
// requests that repeated a key.
type target struct {
	srv     *httptest.Server
	mu      sync.Mutex
	applied map[string]int
	delay   time.Duration
}

func newTarget(t *testing.T, delay time.Duration) *target {
	tg := &target{applied: map[string]int{}, delay: delay}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		time.Sleep(tg.delay)
		tg.mu.Lock()
		tg.applied[key]++
		tg.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *target) counts() map[string]int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	out := make(map[string]int, len(tg.applied))
	for k, v := range tg.applied {
		out[k] = v
	}
	return out
}

// asyncFlow answers 202 once the run is committed, then calls the target with an idempotency key.
func asyncFlow(targetURL, settings string) string {
	return fmt.Sprintf(`{"schema":1,"name":"fleet","settings":%s,"nodes":[
{"id":"webhook","type":"core.webhook","params":{"method":"POST","dedupKey":"trigger.body.order_id","respond":"immediately"}},
{"id":"charge","type":"core.http","params":{"method":"POST","url":%q,"bodyType":"json","body":"{{ trigger.body }}","idempotencyKey":true}}],
"edges":[{"source":"webhook","target":"charge"}]}`, settings, targetURL)
}

func orders(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"order_id":"%s-%d","amount":"12.50","currency":"CNY","seq":%d}`, prefix, i, i))
	}
	return out
}

// checkAccepted asserts I1 and I2 over a load: every delivery answered 2xx named a run, and every such run
// succeeded. It returns the accepted run ids.
func checkAccepted(t *testing.T, answers []delivery, runs map[string]apiRun, allowUnavailable bool) []string {
	t.Helper()
	var accepted []string
	for i, d := range answers {
		switch {
		case d.err == nil && d.status >= 200 && d.status < 300:
			if d.runID == "" {
				t.Fatalf("delivery %d answered %d without a run id", i, d.status)
			}
			r, ok := runs[d.runID]
			if !ok {
				t.Fatalf("delivery %d was answered %d for run %s, which does not exist (I1)", i, d.status, d.runID)
			}
			if r.Status != "succeeded" {
				t.Fatalf("run %s ended %s: %s", r.ID, r.Status, r.Error)
			}
			accepted = append(accepted, d.runID)
		case allowUnavailable && d.err == nil && d.status == http.StatusServiceUnavailable:
		default:
			t.Fatalf("delivery %d: status %d, error %v", i, d.status, d.err)
		}
	}
	return accepted
}

// TestWorkerKilledMidRun: a worker is SIGKILLed while runs are in flight; the other worker finishes every run,
// and every run's side effect reaches the provider under one idempotency key (I2, I4).
func TestWorkerKilledMidRun(t *testing.T) {
	tg := newTarget(t, 30*time.Millisecond)
	f := startFleet(t, 2)
	flowID := f.importFlow(asyncFlow(tg.srv.URL, `{}`))
	payloads := orders("kill", 400)
	done := make(chan []delivery, 1)
	go func() { done <- f.deliver(flowID, payloads, 16) }()
	// Kill the first worker once it is busy.
	testenv.WaitFor(t, "side effects to start", 20*time.Second, func() bool { return len(tg.counts()) >= 40 })
	f.procs[1].kill()
	answers := <-done
	runs := f.settle(flowID, 90*time.Second)
	accepted := checkAccepted(t, answers, runs, false)
	if len(accepted) != len(payloads) {
		t.Fatalf("%d of %d deliveries accepted", len(accepted), len(payloads))
	}
	counts := tg.counts()
	replays := 0
	for _, id := range accepted {
		n := counts[id+":charge"]
		if n == 0 {
			t.Fatalf("run %s succeeded but its side effect never reached the provider", id)
		}
		replays += n - 1
	}
	if len(counts) != len(accepted) {
		t.Fatalf("the provider saw %d idempotency keys for %d runs: a retry sent a new key", len(counts), len(accepted))
	}
	t.Logf("%d runs, %d side effects applied once each; %d requests repeated a key after the kill", len(accepted),
		len(counts), replays)
}

// TestRedisRestartAndFlush: Redis is restarted, and separately flushed, during load; every accepted run still
// completes, because the store is the truth and the sweeper re-enqueues what the queue lost (I2).
func TestRedisRestartAndFlush(t *testing.T) {
	for _, mode := range []string{"restart", "flush"} {
		t.Run(mode, func(t *testing.T) {
			tg := newTarget(t, 5*time.Millisecond)
			f := startFleet(t, 2)
			flowID := f.importFlow(asyncFlow(tg.srv.URL, `{}`))
			payloads := orders(mode, 600)
			done := make(chan []delivery, 1)
			go func() { done <- f.deliver(flowID, payloads, 16) }()
			testenv.WaitFor(t, "load to start", 20*time.Second, func() bool { return len(tg.counts()) >= 50 })
			if mode == "restart" {
				f.redis.restart(2 * time.Second)
			} else {
				f.redis.flush()
			}
			answers := <-done
			runs := f.settle(flowID, 120*time.Second)
			accepted := checkAccepted(t, answers, runs, false)
			if len(accepted) != len(payloads) {
				t.Fatalf("%d of %d deliveries accepted", len(accepted), len(payloads))
			}
		})
	}
}

// TestDatabaseOutage: the database becomes unreachable during load. The API answers 503 while it cannot commit
// (never 2xx for a run it did not save), and carries on without a restart once the database is back.
func TestDatabaseOutage(t *testing.T) {
	needFleet(t)
	proxy := startProxy(t, hostOf(os.Getenv("FERRY_TEST_DATABASE_URL")))
	tg := newTarget(t, 5*time.Millisecond)
	f := &fleet{t: t, redis: startRedis(t)}
	f.db = viaProxy(storetest.PostgresURL(t), proxy)
	f.api = f.start("api", "api")
	f.setup()
	f.start("worker-1", "worker")
	flowID := f.importFlow(asyncFlow(tg.srv.URL, `{}`))

	payloads := orders("outage", 1500)
	done := make(chan []delivery, 1)
	go func() { done <- f.deliver(flowID, payloads, 16) }()
	testenv.WaitFor(t, "load to start", 20*time.Second, func() bool { return len(tg.counts()) >= 50 })
	proxy.cut()
	time.Sleep(3 * time.Second)
	proxy.restore()
	answers := <-done

	// After the outage, without restarting anything, new deliveries are accepted again.
	after := f.deliver(flowID, orders("after", 50), 4)
	runs := f.settle(flowID, 120*time.Second)
	accepted := checkAccepted(t, answers, runs, true)
	unavailable := len(answers) - len(accepted)
	if unavailable == 0 {
		t.Fatal("no delivery was refused during a 3 s outage: the test did not exercise one")
	}
	if got := checkAccepted(t, after, runs, false); len(got) != 50 {
		t.Fatalf("after the outage %d of 50 deliveries were accepted", len(got))
	}
	t.Logf("%d deliveries accepted, %d answered 503 during the outage", len(accepted), unavailable)
}

// TestOneRunPerEvent: 1,000 concurrent deliveries of one event make one run (I3).
func TestOneRunPerEvent(t *testing.T) {
	tg := newTarget(t, 0)
	f := startFleet(t, 1)
	flowID := f.importFlow(asyncFlow(tg.srv.URL, `{}`))
	payloads := make([][]byte, 1000)
	for i := range payloads {
		payloads[i] = []byte(`{"order_id":"wx-4200001234","amount":"88.00","currency":"CNY"}`)
	}
	answers := f.deliver(flowID, payloads, 64)
	ids := map[string]bool{}
	for i, d := range answers {
		if d.err != nil || d.status >= 300 {
			t.Fatalf("delivery %d: status %d, error %v", i, d.status, d.err)
		}
		ids[d.runID] = true
	}
	runs := f.settle(flowID, 60*time.Second)
	if len(runs) != 1 || len(ids) != 1 {
		t.Fatalf("%d runs stored, %d run ids answered; want one of each", len(runs), len(ids))
	}
	if n := len(tg.counts()); n != 1 {
		t.Fatalf("the provider saw %d side effects, want 1", n)
	}
}

// orderCall is one call the ordering test's provider received.
type orderCall struct {
	order      string
	seq        int
	start, end time.Time
}

// TestOrderingAcrossWorkers: runs with one ordering key execute one at a time in arrival order across 4 worker
// processes; different keys run in parallel (D19).
func TestOrderingAcrossWorkers(t *testing.T) {
	var mu sync.Mutex
	var calls []orderCall
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			OrderID string `json:"order_id"`
			Seq     int    `json:"seq"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		c := orderCall{order: strings.SplitN(body.OrderID, "#", 2)[0], seq: body.Seq, start: time.Now()}
		time.Sleep(20 * time.Millisecond)
		c.end = time.Now()
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	f := startFleet(t, 4)
	flowID := f.importFlow(asyncFlow(srv.URL, `{"orderingKey":"split(trigger.body.order_id, '#')[0]"}`))
	// Events for 4 orders, delivered in sequence per order (as a provider sends paid, then refunded, …).
	const perKey = 8
	keys := []string{"A", "B", "C", "D"}
	for seq := range perKey {
		var batch [][]byte
		for _, k := range keys {
			batch = append(batch, []byte(fmt.Sprintf(`{"order_id":"%s#%d","seq":%d}`, k, seq, seq)))
		}
		for i, d := range f.deliver(flowID, batch, len(batch)) {
			if d.err != nil || d.status != http.StatusAccepted {
				t.Fatalf("delivery %d: %d %v", i, d.status, d.err)
			}
		}
	}
	runs := f.settle(flowID, 90*time.Second)
	for _, r := range runs {
		if r.Status != "succeeded" {
			t.Fatalf("run %s ended %s: %s", r.ID, r.Status, r.Error)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != perKey*len(keys) {
		t.Fatalf("%d calls, want %d", len(calls), perKey*len(keys))
	}
	parallel := false
	last := map[string]orderCall{}
	sort.Slice(calls, func(i, j int) bool { return calls[i].start.Before(calls[j].start) })
	for _, c := range calls {
		if prev, ok := last[c.order]; ok {
			if c.seq != prev.seq+1 {
				t.Fatalf("order %s: seq %d ran after seq %d", c.order, c.seq, prev.seq)
			}
			if c.start.Before(prev.end) {
				t.Fatalf("order %s: seq %d started before seq %d ended", c.order, c.seq, prev.seq)
			}
		} else if c.seq != 0 {
			t.Fatalf("order %s: seq %d ran first", c.order, c.seq)
		}
		last[c.order] = c
		for _, o := range calls {
			if o.order != c.order && o.start.Before(c.end) && c.start.Before(o.end) {
				parallel = true
			}
		}
	}
	if !parallel {
		t.Fatal("runs of different orders never overlapped: keys were serialised together")
	}
}

// TestGracefulShutdown: a worker told to stop (SIGTERM) while it holds slow runs finishes them within its
// shutdown timeout and exits, leaving no run behind in "running" for a lease to expire; a worker started
// afterwards does the rest, and no side effect is sent twice.
func TestGracefulShutdown(t *testing.T) {
	tg := newTarget(t, 1500*time.Millisecond)
	f := startFleet(t, 1)
	flowID := f.importFlow(asyncFlow(tg.srv.URL, `{}`))
	answers := f.deliver(flowID, orders("drain", 40), 8)
	testenv.WaitFor(t, "the worker to hold runs", 20*time.Second, func() bool {
		for _, r := range f.runs(flowID) {
			if r.Status == "running" {
				return true
			}
		}
		return false
	})
	worker := f.procs[1]
	if err := worker.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- worker.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("worker exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("worker still running 15 s after SIGTERM with a 3 s shutdown timeout")
	}
	for _, r := range f.runs(flowID) {
		if r.Status == "running" {
			t.Fatalf("run %s left running by a worker that shut down gracefully", r.ID)
		}
	}
	f.start("worker-2", "worker")
	runs := f.settle(flowID, 120*time.Second)
	if got := checkAccepted(t, answers, runs, false); len(got) != 40 {
		t.Fatalf("%d of 40 runs accepted", len(got))
	}
	for key, n := range tg.counts() {
		if n != 1 {
			t.Fatalf("side effect %s sent %d times", key, n)
		}
	}
}

// TestSplitAcrossWorkers: one run splits into 1,000 child runs that two worker processes execute, and one worker
// is killed mid-way. Every child succeeds, each child's side effect reaches the provider under its own idempotency
// key (a child the killed worker held repeats its key, never a new one), and the parent goes on once.
func TestSplitAcrossWorkers(t *testing.T) {
	tg := newTarget(t, 10*time.Millisecond)
	f := startFleet(t, 2)
	flowID := f.importFlow(fmt.Sprintf(`{"schema":1,"name":"split","nodes":[
{"id":"webhook","type":"core.webhook","params":{"method":"POST","respond":"immediately"}},
{"id":"lines","type":"core.split","params":{"items":"trigger.body.lines","key":"prev.sku","parallel":50,"maxItems":1000}},
{"id":"charge","type":"core.http","params":{"method":"POST","url":%q,"bodyType":"json","body":"{{ prev }}","idempotencyKey":true}},
{"id":"after","type":"core.set-vars","params":{"vars":[{"name":"done","expression":"prev.succeeded"}]}}],
"edges":[{"source":"webhook","target":"lines"},{"source":"lines","sourcePort":"each","target":"charge"},
{"source":"lines","sourcePort":"done","target":"after"}]}`, tg.srv.URL))
	lines := make([]any, 1000)
	for i := range lines {
		lines[i] = map[string]any{"sku": fmt.Sprintf("L-%04d", i), "qty": i%5 + 1}
	}
	body, _ := json.Marshal(map[string]any{"order_id": "SO-SPLIT", "lines": lines})
	answers := f.deliver(flowID, [][]byte{body}, 1)
	if answers[0].err != nil || answers[0].status != http.StatusAccepted || answers[0].runID == "" {
		t.Fatalf("delivery: %+v", answers[0])
	}
	parentID := answers[0].runID
	testenv.WaitFor(t, "children to start", 30*time.Second, func() bool { return len(tg.counts()) >= 100 })
	f.procs[1].kill()
	runs := f.settle(flowID, 180*time.Second)
	if p := runs[parentID]; p.Status != "succeeded" {
		t.Fatalf("parent ended %s: %s", p.Status, p.Error)
	}
	if len(runs) != 1001 {
		t.Fatalf("%d runs, want the parent and 1,000 children", len(runs))
	}
	counts := tg.counts()
	replays := 0
	for id, r := range runs {
		if id == parentID {
			continue
		}
		if r.Status != "succeeded" {
			t.Fatalf("child %s ended %s: %s", id, r.Status, r.Error)
		}
		n := counts[id+":charge"]
		if n == 0 {
			t.Fatalf("child %s succeeded but its side effect never reached the provider", id)
		}
		replays += n - 1
	}
	if len(counts) != 1000 {
		t.Fatalf("the provider saw %d idempotency keys for 1,000 children", len(counts))
	}
	res, err := f.apiRequest(http.MethodGet, "/api/v1/runs/"+parentID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var detail struct {
		Steps []struct {
			NodeID string          `json:"nodeId"`
			Status string          `json:"status"`
			Output json.RawMessage `json:"output"`
		} `json:"steps"`
	}
	if err := json.NewDecoder(res.Body).Decode(&detail); err != nil {
		t.Fatal(err)
	}
	after := 0
	for _, s := range detail.Steps {
		if s.NodeID == "after" {
			after++
		}
		if s.NodeID == "lines" && s.Status == "succeeded" && !strings.Contains(string(s.Output), `"succeeded":1000`) {
			t.Fatalf("summary %s", s.Output)
		}
	}
	if after != 1 {
		t.Fatalf("the parent went on %d times", after)
	}
	t.Logf("1,000 children on two workers, one killed: each side effect under its own key; %d requests repeated a key", replays)
}

// TestApprovalAcrossRestart: a run parks for an approval, every process is killed, and new processes take over:
// the approval decided through the new API process resumes the run once, on the approved port, with who decided.
func TestApprovalAcrossRestart(t *testing.T) {
	f := startFleet(t, 1)
	flowID := f.importFlow(`{"schema":1,"name":"approve refunds","nodes":[
{"id":"webhook","type":"core.webhook","params":{"method":"POST","respond":"immediately"}},
{"id":"ask","type":"core.approval","params":{"title":"Refund {{ trigger.body.amount }}","role":"operator"}},
{"id":"refund","type":"core.set-vars","params":{"vars":[{"name":"refunded","expression":"true"}]}},
{"id":"declined","type":"core.set-vars","params":{"vars":[{"name":"refunded","expression":"false"}]}}],
"edges":[{"source":"webhook","target":"ask"},{"source":"ask","sourcePort":"approved","target":"refund"},
{"source":"ask","sourcePort":"rejected","target":"declined"}]}`)
	answers := f.deliver(flowID, [][]byte{[]byte(`{"order_id":"R-1","amount":"800.00"}`)}, 1)
	runID := answers[0].runID
	if answers[0].err != nil || runID == "" {
		t.Fatalf("delivery: %+v", answers[0])
	}
	testenv.WaitFor(t, "the run to park for its approval", 30*time.Second, func() bool {
		for _, r := range f.runs(flowID) {
			if r.ID == runID && r.Status == "waiting" {
				return true
			}
		}
		return false
	})
	for _, p := range f.procs {
		p.kill()
	}
	f.procs = nil
	f.api = f.start("api-2", "api")
	f.start("worker-2", "worker")
	res, err := f.apiRequest(http.MethodGet, "/api/v1/reviews?status=open&kind=approval", nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			ID    string `json:"id"`
			RunID string `json:"runId"`
		} `json:"items"`
	}
	err = json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if err != nil || len(list.Items) != 1 || list.Items[0].RunID != runID {
		t.Fatalf("open approvals after the restart: %+v %v", list, err)
	}
	res, err = f.apiRequest(http.MethodPost, "/api/v1/reviews/"+list.Items[0].ID+"/decision", strings.NewReader(`{"approve":true,"comment":"checked the order"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("decision: %d", res.StatusCode)
	}
	runs := f.settle(flowID, 60*time.Second)
	if runs[runID].Status != "succeeded" {
		t.Fatalf("run ended %s: %s", runs[runID].Status, runs[runID].Error)
	}
	res, err = f.apiRequest(http.MethodGet, "/api/v1/runs/"+runID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var detail struct {
		Steps []struct {
			NodeID string          `json:"nodeId"`
			Status string          `json:"status"`
			Port   string          `json:"port"`
			Output json.RawMessage `json:"output"`
		} `json:"steps"`
	}
	if err := json.NewDecoder(res.Body).Decode(&detail); err != nil {
		t.Fatal(err)
	}
	var path []string
	decidedBy := false
	for _, s := range detail.Steps {
		path = append(path, s.NodeID+":"+s.Status+":"+s.Port)
		if s.NodeID == "ask" && s.Status == "succeeded" && strings.Contains(string(s.Output), `"by":"it@shop.example"`) {
			decidedBy = true
		}
	}
	if got := strings.Join(path, " "); got != "webhook:succeeded:main ask:waiting: ask:succeeded:approved refund:succeeded:main" || !decidedBy {
		t.Fatalf("steps %s (decided by shown: %v)", got, decidedBy)
	}
}

// TestEventAtTheTimeout: runs wait for a payment event with a short timeout, and each one's event is posted to
// the API process within milliseconds of the instant its wait times out (before, at, after), while two worker
// processes take the timeouts: every run goes one way only, once (the event resumes it, or the timeout does and
// the late event resumes nothing).
func TestEventAtTheTimeout(t *testing.T) {
	f := startFleet(t, 2)
	flowID := f.importFlow(`{"schema":1,"name":"wait for payment","nodes":[
{"id":"webhook","type":"core.webhook","params":{"method":"POST","respond":"immediately"}},
{"id":"wait","type":"core.wait-event","params":{"event":"payment.paid","key":"{{ trigger.body.order_id }}","timeout":"3s"}},
{"id":"paid","type":"core.set-vars","params":{"vars":[{"name":"way","expression":"'received'"}]}},
{"id":"late","type":"core.set-vars","params":{"vars":[{"name":"way","expression":"'timeout'"}]}}],
"edges":[{"source":"webhook","target":"wait"},{"source":"wait","sourcePort":"received","target":"paid"},
{"source":"wait","sourcePort":"timeout","target":"late"}]}`)
	const n = 20
	answers := f.deliver(flowID, orders("race", n), 8)
	type parked struct {
		Steps []struct {
			NodeID string `json:"nodeId"`
			Status string `json:"status"`
			Port   string `json:"port"`
			Output struct {
				TimeoutAt time.Time `json:"timeoutAt"`
			} `json:"output"`
		} `json:"steps"`
	}
	detail := func(runID string) parked {
		t.Helper()
		res, err := f.apiRequest(http.MethodGet, "/api/v1/runs/"+runID, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var d parked
		if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	var posted sync.WaitGroup
	for i, a := range answers {
		if a.err != nil || a.runID == "" {
			t.Fatalf("delivery %d: %+v", i, a)
		}
		var at time.Time
		testenv.WaitFor(t, "the run to park", 20*time.Second, func() bool {
			for _, s := range detail(a.runID).Steps {
				if s.NodeID == "wait" && s.Status == "waiting" {
					at = s.Output.TimeoutAt
					return true
				}
			}
			return false
		})
		posted.Add(1)
		order := fmt.Sprintf("race-%d", i)
		// Spread around the instant: a few milliseconds before it, at it, and after it.
		offset := time.Duration(i-n/2) * 3 * time.Millisecond
		time.AfterFunc(time.Until(at.Add(offset)), func() {
			defer posted.Done()
			res, err := f.apiRequest(http.MethodPost, "/api/v1/events",
				strings.NewReader(`{"name":"payment.paid","key":"`+order+`","id":"pay-`+order+`","data":{"amount":"12.50"}}`))
			if err != nil {
				t.Errorf("event for %s: %v", order, err)
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusAccepted && res.StatusCode != http.StatusCreated {
				t.Errorf("event for %s: %d", order, res.StatusCode)
			}
		})
	}
	posted.Wait()
	runs := f.settle(flowID, 60*time.Second)
	ways := map[string]int{}
	for _, a := range answers {
		if r := runs[a.runID]; r.Status != "succeeded" {
			t.Fatalf("run %s ended %s: %s", a.runID, r.Status, r.Error)
		}
		taken := 0
		var way string
		for _, s := range detail(a.runID).Steps {
			if s.NodeID == "paid" || s.NodeID == "late" {
				taken++
				way = s.NodeID
			}
		}
		if taken != 1 {
			t.Fatalf("run %s went on %d times", a.runID, taken)
		}
		ways[way]++
	}
	t.Logf("%d runs, each one way once: %d by the event, %d by the timeout", n, ways["paid"], ways["late"])
}
