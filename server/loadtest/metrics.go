package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssMetric is the Prometheus process collector's resident memory gauge, served by Ferry's /metrics.
const rssMetric = "process_resident_memory_bytes"

// rssWatch reads the server's resident memory from /metrics and remembers the highest value seen.
type rssWatch struct {
	api     *apiClient
	mu      sync.Mutex
	highest uint64
	problem string // why a sample failed, the first time one did
}

func newRSSWatch(api *apiClient) *rssWatch { return &rssWatch{api: api} }

// sample reads the server's resident memory in bytes now; 0 when /metrics does not tell.
func (w *rssWatch) sample(ctx context.Context) uint64 {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := w.api.raw(ctx, http.MethodGet, "/metrics", nil)
	var v uint64
	if err == nil {
		v, err = parseRSS(raw)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.problem == "" {
			w.problem = err.Error()
		}
		return 0
	}
	w.highest = max(w.highest, v)
	return v
}

// every samples every interval until the returned stop is called.
func (w *rssWatch) every(ctx context.Context, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.sample(ctx)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// peak is the highest resident memory sampled so far.
func (w *rssWatch) peak() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.highest
}

// failure says why memory could not be read, or "" when every sample succeeded.
func (w *rssWatch) failure() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.problem
}

// parseRSS finds the resident memory gauge in a Prometheus text exposition.
func parseRSS(exposition []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, rssMetric)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		if rest[0] == '{' {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				continue
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		f, err := strconv.ParseFloat(fields[0], 64)
		if err != nil || f < 0 {
			return 0, errors.New("unreadable " + rssMetric + " value " + strconv.Quote(fields[0]))
		}
		return uint64(f), nil
	}
	return 0, errors.New("/metrics has no " + rssMetric + " (the process collector reports it on Linux)")
}
