package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// startFerry serves a whole Ferry (the real wiring of server/app, workers included) on a port-0 listener over
// a private database, and returns its base URL.
func startFerry(t *testing.T, b storetest.Backend) string {
	t.Helper()
	cfg, err := app.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.DatabaseURL, cfg.LogLevel, cfg.Workers = b.DataDir, b.URL, "error", 4
	if b.URL != "" {
		cfg.SecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	}
	cfg.AllowedInternalHosts = "127.0.0.1" // the echo server
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	url := "http://" + ln.Addr().String()
	u, err := a.Auth.CreateUser(context.Background(), "bench@example.com", "", "a long enough secret", auth.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := a.Auth.CreateToken(context.Background(), &auth.Principal{Kind: "session", UserID: u.ID, Email: u.Email, Role: auth.RoleAdmin},
		"bench", auth.RoleAdmin, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	tokensMu.Lock()
	tokens[url] = tok
	tokensMu.Unlock()
	return url
}

// tokens holds an admin API token for each server started by startFerry.
var (
	tokensMu sync.Mutex
	tokens   = map[string]string{}
)

func apiToken(url string) string {
	tokensMu.Lock()
	defer tokensMu.Unlock()
	return tokens[url]
}

// each runs body against a fresh server on every available store (SQLite always, Postgres when configured).
func each(t *testing.T, body func(t *testing.T, url string)) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			t.Run(b.Name, func(t *testing.T) { body(t, startFerry(t, b)) })
		})
	}
}

// checkConsistent asserts what every clean benchmark of n requests must show: each request accepted, one
// succeeded run per accepted request, no errors, ordered percentiles and a measured server.
func checkConsistent(t *testing.T, rep *Report, n int64) {
	t.Helper()
	var out strings.Builder
	rep.Print(&out)
	t.Logf("report:\n%s", out.String())
	if rep.Sent != n || rep.Accepted != n {
		t.Errorf("sent %d, accepted %d; want %d each", rep.Sent, rep.Accepted, n)
	}
	if len(rep.Errors) != 0 || rep.FirstError != "" || rep.Duplicates != 0 {
		t.Errorf("errors %v (%s), duplicates %d", rep.Errors, rep.FirstError, rep.Duplicates)
	}
	if rep.Runs[statusSucceeded] != rep.Accepted || rep.RunsFound != rep.Accepted || rep.RunsFinished != rep.Accepted {
		t.Errorf("runs %v (found %d, finished %d) for %d accepted", rep.Runs, rep.RunsFound, rep.RunsFinished, rep.Accepted)
	}
	if rep.WaitTimedOut || rep.CountedAllRunsOfFlow {
		t.Errorf("wait timed out %v, counted all runs of the flow %v", rep.WaitTimedOut, rep.CountedAllRunsOfFlow)
	}
	for name, p := range map[string]Percentiles{"accept": rep.AcceptLatency, "end-to-end": rep.EndToEndLatency} {
		if int64(p.Count) != n || p.P50 <= 0 || p.P50 > p.P95 || p.P95 > p.P99 || p.P99 > p.Max {
			t.Errorf("%s latency not ordered or incomplete: %+v", name, p)
		}
	}
	if rep.AcceptedPerSec <= 0 || rep.CompletedPerSec <= 0 || rep.LoadDuration <= 0 || rep.CompletionSpan <= 0 {
		t.Errorf("rates %.1f/%.1f over %v/%v", rep.AcceptedPerSec, rep.CompletedPerSec, rep.LoadDuration, rep.CompletionSpan)
	}
	if rep.RSS.Before == 0 || rep.RSS.Peak == 0 || rep.RSS.After == 0 || rep.RSS.Peak < rep.RSS.Before || rep.RSS.Peak < rep.RSS.After {
		t.Errorf("RSS %+v", rep.RSS)
	}
}

func TestBenchSync(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		rep, err := Run(ctx, Config{URL: url, APIToken: apiToken(url), Mode: ModeSync, Requests: 300, Concurrency: 8, Wait: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.FlowCreated || rep.Mode != ModeSync {
			t.Errorf("flow created %v, mode %s", rep.FlowCreated, rep.Mode)
		}
		checkConsistent(t, rep, 300)

		// Again on the same, now existing flow: only this benchmark's runs are counted, not the 300 before.
		again, err := Run(ctx, Config{URL: url, APIToken: apiToken(url), FlowID: rep.FlowID, Requests: 100, Concurrency: 4, Wait: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if again.FlowCreated || again.Mode != ModeSync || again.OrderIDPrefix == rep.OrderIDPrefix {
			t.Errorf("second benchmark: created %v, mode %s, prefix %s", again.FlowCreated, again.Mode, again.OrderIDPrefix)
		}
		checkConsistent(t, again, 100)
	})
}

func TestBenchAsync(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		rep, err := Run(context.Background(), Config{URL: url, APIToken: apiToken(url), Mode: ModeAsync, Requests: 300, Concurrency: 8, Wait: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Mode != ModeAsync {
			t.Errorf("mode %s", rep.Mode)
		}
		checkConsistent(t, rep, 300)
	})
}

// TestBenchDuration runs for a time instead of a number of requests.
func TestBenchDuration(t *testing.T) {
	url := startFerry(t, storetest.Backend{Name: "sqlite", DataDir: t.TempDir()})
	rep, err := Run(context.Background(), Config{URL: url, APIToken: apiToken(url), Mode: ModeAsync, Duration: 500 * time.Millisecond, Concurrency: 4, Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent == 0 {
		t.Fatal("nothing was sent")
	}
	if rep.LoadDuration < 500*time.Millisecond || rep.LoadDuration > 10*time.Second {
		t.Errorf("load lasted %v for a 500ms duration", rep.LoadDuration)
	}
	checkConsistent(t, rep, rep.Sent)
}

// TestBenchEcho: the + HTTP call variant POSTs each mapped, tagged order to the echo server once.
func TestBenchEcho(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		var calls, bad atomic.Int64
		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			var order map[string]any
			body, _ := io.ReadAll(r.Body)
			if r.Method != http.MethodPost || json.Unmarshal(body, &order) != nil || order["tier"] != "high" ||
				order["amount_cents"] != 14999.0 || !strings.HasPrefix(order["order_id"].(string), "bench_") {
				bad.Add(1)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(append(append([]byte(`{"ok":true,"echo":`), body...), '}'))
		}))
		defer echo.Close()
		rep, err := Run(context.Background(), Config{URL: url, APIToken: apiToken(url), Mode: ModeSync, EchoURL: echo.URL + "/echo",
			Requests: 300, Concurrency: 8, Wait: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		checkConsistent(t, rep, 300)
		if calls.Load() != 300 || bad.Load() != 0 {
			t.Errorf("echo server got %d calls (%d unexpected), want 300", calls.Load(), bad.Load())
		}
	})
}

// TestReferenceFlowAnswers: the published reference flows answer with the mapped order, amounts in exact
// minor units, the tier from the condition.
func TestReferenceFlowAnswers(t *testing.T) {
	url := startFerry(t, storetest.Backend{Name: "sqlite", DataDir: t.TempDir()})
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer echo.Close()
	api := newAPIClient(url, apiToken(url))
	ctx := context.Background()
	post := func(flowID string, body []byte) (int, http.Header, map[string]any) {
		t.Helper()
		res, err := http.Post(url+"/hooks/"+flowID, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, res.Header, m
	}
	b := newBodies("ord_")
	for _, echoURL := range []string{"", echo.URL} {
		doc, err := referenceFlow(ModeSync, echoURL)
		if err != nil {
			t.Fatal(err)
		}
		id, err := api.importFlow(ctx, doc)
		if err != nil {
			t.Fatal(err)
		}
		body := b.next(1)
		status, header, got := post(id, body)
		want := map[string]any{"order_id": "ord_1", "email": "ada.lovelace@example.com", "customer_name": "Ada Lovelace",
			"amount_cents": 14999.0, "currency": "EUR", "item_count": 2.0, "tier": "high"}
		if status != 200 || header.Get("X-Ferry-Run-Id") == "" || !equalJSON(got, want) {
			t.Errorf("echo %q: %d %v, want 200 %v", echoURL, status, got, want)
		}
		// Half a cent rounds up to 100.00 exactly, which is not over 100: standard.
		cheap := bytes.Replace(b.next(2), []byte(`"amount":149.99`), []byte(`"amount":99.995`), 1)
		if _, _, got := post(id, cheap); got["amount_cents"] != 10000.0 || got["tier"] != "standard" {
			t.Errorf("echo %q: 99.995 EUR gave %v", echoURL, got)
		}
		// The same order again is a duplicate with the same answer, not a second run.
		if _, header, again := post(id, body); header.Get("X-Ferry-Duplicate") != "true" || !equalJSON(again, want) {
			t.Errorf("echo %q: redelivery gave %v %v", echoURL, header, again)
		}
	}

	doc, err := referenceFlow(ModeAsync, "")
	if err != nil {
		t.Fatal(err)
	}
	id, err := api.importFlow(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, got := post(id, b.next(3)); status != 202 || got["runId"] == "" {
		t.Errorf("async: %d %v, want 202 with a run id", status, got)
	}
}

func equalJSON(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestBenchCountsRefusals: requests the webhook refuses are errors by status, and create no runs.
func TestBenchCountsRefusals(t *testing.T) {
	url := startFerry(t, storetest.Backend{Name: "sqlite", DataDir: t.TempDir()})
	doc, _ := referenceFlow(ModeSync, "")
	doc = bytes.Replace(doc, []byte(`"method":"POST"`), []byte(`"method":"GET"`), 1)
	id, err := newAPIClient(url, apiToken(url)).importFlow(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{URL: url, APIToken: apiToken(url), FlowID: id, Requests: 50, Concurrency: 4, Wait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 50 || rep.Accepted != 0 || rep.Errors["HTTP 405"] != 50 || rep.RunsFound != 0 || !strings.Contains(rep.FirstError, "405") {
		t.Errorf("sent %d accepted %d errors %v runs %d first %q", rep.Sent, rep.Accepted, rep.Errors, rep.RunsFound, rep.FirstError)
	}
}

// TestBenchRefusesUnpublishedFlow: an existing flow must be published, or its webhook would refuse the load.
func TestBenchRefusesUnpublishedFlow(t *testing.T) {
	url := startFerry(t, storetest.Backend{Name: "sqlite", DataDir: t.TempDir()})
	doc, _ := referenceFlow(ModeSync, "")
	var f flowInfo
	if err := newAPIClient(url, apiToken(url)).do(context.Background(), http.MethodPost, "/api/v1/flows", doc, &f); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), Config{URL: url, APIToken: apiToken(url), FlowID: f.ID, Requests: 1})
	if err == nil || !strings.Contains(err.Error(), "not published") {
		t.Errorf("unpublished flow: %v", err)
	}
	_, err = Run(context.Background(), Config{URL: url, APIToken: apiToken(url), FlowID: "no-such-flow", Requests: 1})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown flow: %v", err)
	}
}
