package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
)

// startEmbedded starts ferry in embedded mode (SQLite in dir, the in-process queue) and waits until it answers.
func startEmbedded(t testing.TB, name, dir string) *process {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(binary(t), "serve", "--addr", addr, "--data-dir", dir, "--log-level", "warn", "--workers", "8")
	// The stand-in shop listens on the loopback address.
	cmd.Env = append(os.Environ(), "FERRY_ALLOWED_INTERNAL_HOSTS=127.0.0.1")
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
	return p
}

// shop lists n orders changed after updated_after, oldest first, in pages of per_page; hold, when set, is
// called with each page number before the page is answered.
type shop struct {
	*httptest.Server
	n    int
	base time.Time
	mu   sync.Mutex
	hold func(page int, answered bool)
}

func newShop(t testing.TB, n int) *shop {
	s := &shop{n: n, base: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer shop-token" {
			w.WriteHeader(401)
			return
		}
		after, err := time.Parse(time.RFC3339, r.URL.Query().Get("updated_after"))
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		size, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if err != nil || page < 1 || size < 1 {
			w.WriteHeader(400)
			return
		}
		s.mu.Lock()
		hold := s.hold
		s.mu.Unlock()
		if hold != nil {
			hold(page, false)
		}
		// Order i changed at base + i seconds; those after the asked time, in pages.
		first := max(int(after.Sub(s.base)/time.Second)+1, 0)
		var list []map[string]any
		for i := first + (page-1)*size; i < s.n && len(list) < size; i++ {
			list = append(list, map[string]any{"id": strconv.Itoa(i), "number": fmt.Sprintf("SO-%05d", i),
				"updated_at": s.base.Add(time.Duration(i) * time.Second).Format(time.RFC3339)})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if hold != nil {
			hold(page, true)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *shop) setHold(h func(page int, answered bool)) {
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
}

// call makes an API request with token and decodes the answer into out (when not nil).
func call(t testing.TB, p *process, token, method, path, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, p.url(path), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// TestPollingSurvivesKill: a backfill of 600 orders in pages of 50 is killed with SIGKILL twice, once while a
// page's request is in flight and once just after a page was answered, and each time the process starts again on
// the same data. Every order ends up run exactly once: nothing lost, nothing twice.
func TestPollingSurvivesKill(t *testing.T) {
	const orders, pageSize = 600, 50
	dir := t.TempDir()
	p := startEmbedded(t, "first", dir)
	var setup struct {
		Token string `json:"token"`
	}
	call(t, p, "", "POST", "/api/v1/setup", `{"email":"it@shop.example","password":"polling kill test password"}`, 201, &setup)
	tok := setup.Token
	s := newShop(t, orders)
	var cred struct {
		ID string `json:"id"`
	}
	call(t, p, tok, "POST", "/api/v1/credentials", fmt.Sprintf(`{"name":"Shop","type":"http.bearer","allowedDestinations":[%q],"live":{"token":"shop-token"}}`, s.URL), 201, &cred)
	var flow struct {
		ID string `json:"id"`
	}
	doc := fmt.Sprintf(`{"schema":1,"name":"orders","nodes":[{"id":"shop","type":"core.poll","credential":%q,"params":{
	  "url":"%s/orders","interval":"1s","overlap":"0s","sinceParam":"updated_after","businessKeyPath":"/number",
	  "pagination":"page","sizeParam":"per_page","pageSize":%d}}],"edges":[]}`, cred.ID, s.URL, pageSize)
	call(t, p, tok, "POST", "/api/v1/flows/import?publish=true", doc, 201, &flow)

	// The first kill lands while page 4's request waits for its answer.
	inFlight, killed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.setHold(func(page int, answered bool) {
		if page == 4 && !answered {
			once.Do(func() { close(inFlight); <-killed })
		}
	})
	testenv.WaitFor(t, "the first poll to make the cursor", 20*time.Second, func() bool {
		var polls struct {
			Polls []any `json:"polls"`
		}
		call(t, p, tok, "GET", "/api/v1/flows/"+flow.ID+"/polling", "", 200, &polls)
		return len(polls.Polls) == 1
	})
	call(t, p, tok, "POST", "/api/v1/flows/"+flow.ID+"/polling/shop/backfill", `{"since":"2026-10-31T00:00:00Z"}`, 200, nil)
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("the backfill never reached page 4")
	}
	p.kill()
	close(killed)

	// The second kill lands just after page 9 of the resumed walk was answered: its commit may or may not have
	// happened.
	answered := make(chan struct{})
	var once2 sync.Once
	s.setHold(func(page int, done bool) {
		if page == 9 && done {
			once2.Do(func() { close(answered) })
		}
	})
	p = startEmbedded(t, "second", dir)
	select {
	case <-answered:
	case <-time.After(30 * time.Second):
		t.Fatal("the resumed walk never reached page 9")
	}
	p.kill()
	s.setHold(nil)

	p = startEmbedded(t, "third", dir)
	seen := map[string]int{}
	testenv.WaitFor(t, "a run for every order", 60*time.Second, func() bool {
		seen = map[string]int{}
		cursor := ""
		for {
			var page struct {
				Runs []struct {
					BusinessKey string `json:"businessKey"`
					Status      string `json:"status"`
				} `json:"runs"`
				NextCursor string `json:"nextCursor"`
			}
			call(t, p, tok, "GET", "/api/v1/runs?limit=500&flow="+flow.ID+"&cursor="+cursor, "", 200, &page)
			for _, r := range page.Runs {
				seen[r.BusinessKey]++
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		return len(seen) >= orders
	})
	for i := range orders {
		key := fmt.Sprintf("SO-%05d", i)
		if seen[key] != 1 {
			t.Errorf("order %s ran %d times", key, seen[key])
		}
	}
	if len(seen) != orders {
		t.Errorf("%d distinct orders ran, want %d", len(seen), orders)
	}
}

// rss reads a process's resident memory in bytes from /proc.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkPollBackfill measures a backfill of 100,000 changed orders from a stand-in shop into runs, on an
// embedded ferry (SQLite, the in-process queue): records per second from the backfill request until the last
// page is committed, runs finished per second until the last of them has run, and how much the process's
// resident memory grew meanwhile. The poller waits while the queue holds FERRY_POLL_MAX_BACKLOG runs, so with
// the default both rates are the speed runs execute at; set it to -1 in the environment to see how fast pages
// alone become runs. Run it once:
//
//	go test -run '^$' -bench PollBackfill -benchtime 1x ./server/cmd/ferry/
func BenchmarkPollBackfill(b *testing.B) {
	const orders, pageSize = 100_000, 250
	for b.Loop() {
		benchBackfill(b, orders, pageSize)
	}
}

// finished is the number of runs that succeeded, read from the process's metrics.
func finished(t testing.TB, p *process, token string) int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url("/metrics"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %d %s", res.StatusCode, body)
	}
	var n int64
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "ferry_runs_total{") && strings.Contains(line, `status="succeeded"`) {
			f, _ := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndexByte(line, ' ')+1:]), 64)
			n += int64(f)
		}
	}
	return n
}

func benchBackfill(b *testing.B, orders, pageSize int) {
	dir := b.TempDir()
	p := startEmbedded(b, "bench", dir)
	var setup struct {
		Token string `json:"token"`
	}
	call(b, p, "", "POST", "/api/v1/setup", `{"email":"it@shop.example","password":"polling benchmark password"}`, 201, &setup)
	tok := setup.Token
	s := newShop(b, orders)
	var cred, flow struct {
		ID string `json:"id"`
	}
	call(b, p, tok, "POST", "/api/v1/credentials", fmt.Sprintf(`{"name":"Shop","type":"http.bearer","allowedDestinations":[%q],"live":{"token":"shop-token"}}`, s.URL), 201, &cred)
	doc := fmt.Sprintf(`{"schema":1,"name":"orders","nodes":[{"id":"shop","type":"core.poll","credential":%q,"params":{
	  "url":"%s/orders","interval":"1s","overlap":"0s","sinceParam":"updated_after","businessKeyPath":"/number",
	  "pagination":"page","sizeParam":"per_page","pageSize":%d}}],"edges":[]}`, cred.ID, s.URL, pageSize)
	call(b, p, tok, "POST", "/api/v1/flows/import?publish=true", doc, 201, &flow)
	total := func() int64 {
		var polls struct {
			Polls []struct {
				TotalCount int64 `json:"totalCount"`
			} `json:"polls"`
		}
		call(b, p, tok, "GET", "/api/v1/flows/"+flow.ID+"/polling", "", 200, &polls)
		if len(polls.Polls) == 0 {
			return -1
		}
		return polls.Polls[0].TotalCount
	}
	testenv.WaitFor(b, "the first poll", 30*time.Second, func() bool { return total() == 0 })
	pid := p.cmd.Process.Pid
	// The setup's password hash is returned to the system a second after it; measure from a settled process.
	var before int64
	var sampled time.Time
	testenv.WaitFor(b, "the process's memory to settle", 30*time.Second, func() bool {
		if time.Since(sampled) < 500*time.Millisecond {
			return false // compare samples half a second apart
		}
		last := before
		before, sampled = rss(pid), time.Now()
		return last > 0 && before-last < 1<<20 && last-before < 1<<20
	})
	peak := before
	start := time.Now()
	call(b, p, tok, "POST", "/api/v1/flows/"+flow.ID+"/polling/shop/backfill", `{"since":"2026-10-31T00:00:00Z"}`, 200, nil)
	testenv.WaitFor(b, "every order polled", 10*time.Minute, func() bool {
		peak = max(peak, rss(pid))
		return total() >= int64(orders)
	})
	elapsed := time.Since(start)
	testenv.WaitFor(b, "every run finished", 10*time.Minute, func() bool {
		peak = max(peak, rss(pid))
		return finished(b, p, tok) >= int64(orders)
	})
	done := time.Since(start)
	b.ReportMetric(float64(orders)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(orders)/done.Seconds(), "runs-finished/s")
	b.ReportMetric(float64(before)/(1<<20), "MB-rss-before")
	b.ReportMetric(float64(peak-before)/(1<<20), "MB-rss-growth")
	b.Logf("%d orders polled in %s (%.0f records/s), their runs finished in %s (%.0f/s); RSS %.1f MB before, %.1f MB at the peak",
		orders, elapsed.Round(time.Millisecond), float64(orders)/elapsed.Seconds(), done.Round(time.Millisecond),
		float64(orders)/done.Seconds(), float64(before)/(1<<20), float64(peak)/(1<<20))
	p.kill()
}
