package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// responseHeaderTimeout bounds the wait for one answer: above the longest a synchronous webhook may wait for
// its Respond node (60s), so a slow answer is measured rather than cut short.
const responseHeaderTimeout = 70 * time.Second

// Error kinds of requests that got no HTTP answer. Requests answered with a status other than 2xx are counted
// under "HTTP <status>".
const (
	errTimeout   = "timeout"
	errRefused   = "connection refused"
	errReset     = "connection reset"
	errClosed    = "connection closed"
	errCancelled = "cancelled"
	errTransport = "transport error"
)

// loadResult is what the load phase measured.
type loadResult struct {
	orderPrefix string
	sent        int64
	accepted    int64
	duplicates  int64
	errors      map[string]int64
	firstError  string
	// latencies are the accept latencies of the 2xx answers.
	latencies []time.Duration
	// runIDs are the runs the accepted requests created; noRunID counts 2xx answers that named none.
	runIDs  []string
	noRunID int64
	// start is when the first request was sent (this machine's clock); elapsed runs until the last answer.
	start   time.Time
	elapsed time.Duration
}

// worker is one connection's share of the load; its fields are merged once it stops.
type worker struct {
	loadResult
	bodies *bodies
	buf    []byte
}

// bodyReader is a request body over bytes that never change.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// generator sends webhook requests from Concurrency goroutines, each on its own keep-alive connection.
type generator struct {
	transport *http.Transport
	url       *url.URL
	header    http.Header // shared, read-only
	requests  int64       // 0: until deadline
	deadline  time.Time
	issued    atomic.Int64
}

// drive sends the load cfg describes at hookURL and returns what it measured. In-flight requests are allowed
// to finish when the duration is up, so every accepted request is counted with its run.
func drive(ctx context.Context, cfg Config, hookURL string) (*loadResult, error) {
	u, err := url.Parse(hookURL)
	if err != nil {
		return nil, fmt.Errorf("loadtest: webhook URL: %w", err)
	}
	var tag [5]byte
	if _, err := rand.Read(tag[:]); err != nil {
		return nil, fmt.Errorf("loadtest: order id tag: %w", err)
	}
	orderPrefix := "bench_" + hex.EncodeToString(tag[:]) + "_"
	g := &generator{
		transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          cfg.Concurrency,
			MaxIdleConnsPerHost:   cfg.Concurrency,
			MaxConnsPerHost:       cfg.Concurrency,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: responseHeaderTimeout,
			DisableCompression:    true,
		},
		url:      u,
		header:   http.Header{"Content-Type": {"application/json"}, "User-Agent": {"ferry-bench"}},
		requests: int64(cfg.Requests),
	}
	defer g.transport.CloseIdleConnections()

	workers := make([]*worker, cfg.Concurrency)
	for i := range workers {
		workers[i] = &worker{bodies: newBodies(orderPrefix), loadResult: loadResult{errors: map[string]int64{}}}
	}
	start := time.Now()
	g.deadline = start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); g.run(ctx, w) }()
	}
	wg.Wait()
	res := &loadResult{orderPrefix: orderPrefix, start: start, elapsed: time.Since(start), errors: map[string]int64{}}
	for _, w := range workers {
		res.sent += w.sent
		res.accepted += w.accepted
		res.duplicates += w.duplicates
		res.noRunID += w.noRunID
		res.latencies = append(res.latencies, w.latencies...)
		res.runIDs = append(res.runIDs, w.runIDs...)
		for k, n := range w.errors {
			res.errors[k] += n
		}
		if res.firstError == "" {
			res.firstError = w.firstError
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// next hands out the sequence number of the next request, or false when the load is over.
func (g *generator) next(ctx context.Context) (int64, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	seq := g.issued.Add(1)
	if g.requests > 0 {
		return seq, seq <= g.requests
	}
	return seq, time.Now().Before(g.deadline)
}

func (g *generator) run(ctx context.Context, w *worker) {
	for {
		seq, ok := g.next(ctx)
		if !ok {
			return
		}
		g.send(ctx, w, w.bodies.next(seq))
	}
}

// send posts one body and records the outcome.
func (g *generator) send(ctx context.Context, w *worker, body []byte) {
	newBody := func() (io.ReadCloser, error) {
		r := &bodyReader{}
		r.Reset(body)
		return r, nil
	}
	rc, _ := newBody()
	req := (&http.Request{
		Method: http.MethodPost, URL: g.url, Host: g.url.Host, Header: g.header,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: rc, GetBody: newBody, ContentLength: int64(len(body)),
	}).WithContext(ctx)

	w.sent++
	start := time.Now()
	resp, err := g.transport.RoundTrip(req)
	if err != nil {
		w.fail(errorKind(err), err)
		return
	}
	w.buf, err = readAll(resp.Body, w.buf[:0])
	resp.Body.Close()
	latency := time.Since(start)
	if err != nil {
		w.fail(errorKind(err), err)
		return
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		w.fail("HTTP "+strconv.Itoa(resp.StatusCode), fmt.Errorf("HTTP %d: %s", resp.StatusCode, truncate(w.buf, 200)))
		return
	}
	w.accepted++
	w.latencies = append(w.latencies, latency)
	if resp.Header.Get("X-Ferry-Duplicate") == "true" {
		w.duplicates++
	}
	// Synchronous answers name the run in a header; 202 answers in the body, {"runId": …}.
	id := resp.Header.Get("X-Ferry-Run-Id")
	if id == "" {
		id = jsonString(w.buf, `"runId":"`)
	}
	if id == "" {
		w.noRunID++
		return
	}
	w.runIDs = append(w.runIDs, id)
}

func (w *worker) fail(kind string, err error) {
	w.errors[kind]++
	if w.firstError == "" {
		w.firstError = err.Error()
	}
}

// errorKind names the way a request failed without an HTTP answer.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return errCancelled
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return errRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return errReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errClosed
	}
	return errTransport
}

// readAll reads r into buf, growing it as needed, so one buffer serves every answer of a connection.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// jsonString returns the string value that follows key (which ends with the opening quote) in a compact JSON
// body, or "" when key is absent. Run ids contain no escapes.
func jsonString(body []byte, key string) string {
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
