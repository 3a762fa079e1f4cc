package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, v := range ms {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func seq(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Millisecond
	}
	return out
}

// TestPercentile: nearest rank, always one of the samples.
func TestPercentile(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample is every percentile", durations(7), 99, 7 * ms},
		{"p0 is the smallest", seq(10), 0, 1 * ms},
		{"p50 of 1..100", seq(100), 50, 50 * ms},
		{"p95 of 1..100", seq(100), 95, 95 * ms},
		{"p99 of 1..100", seq(100), 99, 99 * ms},
		{"p100 is the largest", seq(100), 100, 100 * ms},
		{"p50 of 1..10", seq(10), 50, 5 * ms},
		{"p95 of 1..10 rounds the rank up", seq(10), 95, 10 * ms},
		{"p99 of 1..1000", seq(1000), 99, 990 * ms},
		{"p99.9 of 1..1000", seq(1000), 99.9, 999 * ms},
		{"p50 of an even pair is the lower", durations(1, 2), 50, 1 * ms},
		{"p51 of an even pair is the upper", durations(1, 2), 51, 2 * ms},
	}
	for _, c := range cases {
		if got := percentile(c.sorted, c.p); got != c.want {
			t.Errorf("%s: percentile(p%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

// TestSummarize sorts the samples itself and gives ordered percentiles.
func TestSummarize(t *testing.T) {
	values := seq(1000)
	rand.Shuffle(len(values), func(i, j int) { values[i], values[j] = values[j], values[i] })
	p := summarize(values)
	want := Percentiles{Count: 1000, P50: 500 * time.Millisecond, P95: 950 * time.Millisecond,
		P99: 990 * time.Millisecond, Max: 1000 * time.Millisecond}
	if p != want {
		t.Errorf("summarize = %+v, want %+v", p, want)
	}
	if (summarize(nil) != Percentiles{}) {
		t.Errorf("summarize(nil) = %+v, want zero", summarize(nil))
	}
}

// TestBodies: every body is the reference payload with only the order id changed, and bodies stay intact
// after many more are written (the transport may still read one after its request returned).
func TestBodies(t *testing.T) {
	var ref map[string]any
	if err := json.Unmarshal(payload, &ref); err != nil {
		t.Fatal(err)
	}
	b := newBodies("bench_t_")
	var kept [][]byte
	for i := int64(1); i <= 1000; i++ { // several slabs
		kept = append(kept, b.next(i))
	}
	for i, body := range kept {
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %d is not JSON: %v\n%s", i+1, err, body)
		}
		if want := orderID("bench_t_", int64(i+1)); got["order_id"] != want {
			t.Fatalf("body %d: order_id %v, want %s", i+1, got["order_id"], want)
		}
		got["order_id"] = ref["order_id"]
		a, _ := json.Marshal(got)
		r, _ := json.Marshal(ref)
		if !bytes.Equal(a, r) {
			t.Fatalf("body %d differs from the payload beyond the order id:\n%s", i+1, body)
		}
		if cap(body) != len(body) {
			t.Fatalf("body %d can be appended to in place", i+1)
		}
	}
	if n := len(kept[0]); n < 550 || n > 650 {
		t.Errorf("body is %d bytes, want about 590", n)
	}
}

func TestParseRSS(t *testing.T) {
	cases := []struct {
		text string
		want uint64
		ok   bool
	}{
		{"# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 3.6491264e+07\n", 36491264, true},
		{"process_resident_memory_bytes_total 5\nprocess_resident_memory_bytes 1024\n", 1024, true},
		{`process_resident_memory_bytes{instance="a"} 2048 1700000000000` + "\n", 2048, true},
		{"go_goroutines 12\n", 0, false},
		{"process_resident_memory_bytes NaN-ish\n", 0, false},
	}
	for _, c := range cases {
		got, err := parseRSS([]byte(c.text))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseRSS(%q) = %d, %v; want %d, ok %v", c.text, got, err, c.want, c.ok)
		}
	}
}

// TestWindowOf: the window comes from the run ids' own timestamps, and runs are matched by id, unless some
// answers named no run.
func TestWindowOf(t *testing.T) {
	var ids []string
	for range 3 {
		ids = append(ids, uuid.Must(uuid.NewV7()).String())
		time.Sleep(2 * time.Millisecond)
	}
	first, _ := uuidV7Time(ids[0])
	last, _ := uuidV7Time(ids[2])
	if d := time.Since(first); d < 0 || d > time.Minute {
		t.Fatalf("uuidV7Time(%s) = %v, not about now", ids[0], first)
	}
	load := &loadResult{runIDs: []string{ids[1], ids[2], ids[0]}, accepted: 3, start: time.Now(), elapsed: time.Second}
	w := windowOf("f", load)
	if w.ids == nil || !w.has(ids[0]) || w.has("other") {
		t.Fatalf("window does not match by id: %+v", w)
	}
	if w.since.After(first) || !w.until.After(last) {
		t.Errorf("window [%v, %v) does not hold [%v, %v]", w.since, w.until, first, last)
	}
	q := w.query("status", liveStatuses)
	if q.Get("flow") != "f" || q.Get("status") != "queued,running,waiting" || q.Get("limit") != "500" || q.Get("since") == "" {
		t.Errorf("query = %v", q)
	}

	load.noRunID = 1
	w = windowOf("f", load)
	if w.ids != nil || !w.has("anything") {
		t.Errorf("with answers that named no run, every run of the flow in the window counts: %+v", w)
	}
	if _, ok := uuidV7Time(uuid.NewString()); ok {
		t.Error("a random (v4) UUID was read as carrying a time")
	}
}

func TestJSONString(t *testing.T) {
	body := []byte(`{"runId":"01a2-ff","status":"queued"}`)
	if got := jsonString(body, `"runId":"`); got != "01a2-ff" {
		t.Errorf("runId = %q", got)
	}
	if got := jsonString(body, `"nope":"`); got != "" {
		t.Errorf("missing key = %q", got)
	}
}

func TestErrorKind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = http.Get("http://" + addr + "/")
	if got := errorKind(err); got != errRefused {
		t.Errorf("closed port: %q (%v)", got, err)
	}
	if got := errorKind(context.Canceled); got != errCancelled {
		t.Errorf("cancelled: %q", got)
	}
	if got := errorKind(context.DeadlineExceeded); got != errTimeout {
		t.Errorf("deadline: %q", got)
	}
	if got := errorKind(errors.New("odd")); got != errTransport {
		t.Errorf("other: %q", got)
	}
}

func TestConfigChecks(t *testing.T) {
	bad := []Config{
		{},
		{URL: "ftp://x"},
		{URL: "http://x", Mode: "later"},
		{URL: "http://x", FlowID: "f", EchoURL: "http://e"},
		{URL: "http://x", EchoURL: "nope"},
		{URL: "http://x", Concurrency: -1},
		{URL: "http://x", Requests: -5},
		{URL: "http://x", Wait: -time.Second},
	}
	for _, c := range bad {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%+v was accepted", c)
		}
	}
	c, err := Config{URL: "http://127.0.0.1:8080/"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "http://127.0.0.1:8080" || c.Mode != ModeSync || c.Concurrency != DefaultConcurrency || c.Duration != DefaultDuration {
		t.Errorf("defaults: %+v", c)
	}
}

// TestReferenceFlowVariants: the mode switches the webhook's respond parameter and the echo URL lands in the
// HTTP step.
func TestReferenceFlowVariants(t *testing.T) {
	for _, c := range []struct{ mode, echo string }{{ModeSync, ""}, {ModeAsync, ""}, {ModeSync, "http://127.0.0.1:1/x"}} {
		doc, err := referenceFlow(c.mode, c.echo)
		if err != nil {
			t.Fatal(err)
		}
		mode, err := webhookMode(doc)
		if err != nil || mode != c.mode {
			t.Errorf("%s: the document's webhook is %s (%v)", c.mode, mode, err)
		}
		if c.echo != "" && !strings.Contains(string(doc), c.echo) {
			t.Errorf("the echo URL is not in the document: %s", doc)
		}
	}
}

func TestReportOutput(t *testing.T) {
	r := &Report{URL: "http://x", FlowID: "f", FlowCreated: true, Mode: ModeSync, Concurrency: 2, OrderIDPrefix: "bench_1_",
		LoadDuration: 2 * time.Second, Sent: 1200, Accepted: 1198, Errors: map[string]int64{"HTTP 503": 1, errTimeout: 1},
		AcceptedPerSec: 599, CompletedPerSec: 598.44, AcceptLatency: summarize(seq(100)), EndToEndLatency: summarize(seq(10)),
		Runs: map[string]int64{statusSucceeded: 1197, statusFailed: 1}, RunsFound: 1198, RunsFinished: 1198,
		CompletionSpan: 2 * time.Second, RSS: Memory{Before: 40 * MB, Peak: 90 * MB, After: 80 * MB}}
	var out strings.Builder
	r.Print(&out)
	for _, want := range []string{"sent 1,200", "accepted (2xx) 1,198", "errors 2 (HTTP 503: 1, timeout: 1)",
		"accepted 599.0/s", "completed 598.4/s", "p50 50.00 ms", "p99 99.00 ms", "succeeded 1,197   failed 1",
		"before 40.0 MB   peak 90.0 MB   after 80.0 MB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m["loadSeconds"] != 2.0 || m["acceptLatency"].(map[string]any)["p95Ms"] != 95.0 || m["rss"].(map[string]any)["peakMb"] != 90.0 ||
		m["sent"] != 1200.0 {
		t.Errorf("JSON report: %s", raw)
	}
}
