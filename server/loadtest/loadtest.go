// Package loadtest is Ferry's capacity benchmark, `ferry bench`. IT runs it against a server before promoting
// a release to it: it publishes the reference flow (or uses a published flow it is given), drives webhook load
// at it, waits until every accepted run has finished, and reports throughput, accept and end-to-end latency,
// runs by status and the server's memory. Everything goes through the public HTTP API, so the figures are the
// ones a shop or payment provider would see.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Webhook modes of the reference flow.
const (
	// ModeSync makes the caller wait for the flow's Respond node: the answer carries the mapped order.
	ModeSync = "sync"
	// ModeAsync answers 202 as soon as the run is committed; workers execute it afterwards.
	ModeAsync = "async"
)

// Defaults of Config, the same as the flags of `ferry bench`.
const (
	DefaultConcurrency = 32
	DefaultDuration    = 20 * time.Second
	DefaultWait        = 5 * time.Minute
)

// Config describes one benchmark.
type Config struct {
	// URL is the Ferry server's base URL, such as http://127.0.0.1:8080.
	URL string
	// FlowID names an existing published flow with a webhook trigger to load; empty creates and publishes the
	// reference flow. The webhook of an existing flow decides whether it answers synchronously.
	FlowID string
	// Mode is ModeSync (the default) or ModeAsync, for the reference flow.
	Mode string
	// EchoURL, when set, adds to the reference flow a POST of the mapped order to this URL before the answer
	// (the "+ HTTP call" variant).
	EchoURL string
	// Concurrency is how many requests are in flight at once, each on its own keep-alive connection.
	Concurrency int
	// Duration is how long load is driven when Requests is 0.
	Duration time.Duration
	// Requests, when above 0, sends exactly this many requests instead of running for Duration.
	Requests int
	// Wait bounds the wait for accepted runs that are still queued, running or waiting after the load; 0
	// reports at once on whatever has finished.
	Wait time.Duration
	// APIToken, when set, is sent as "Authorization: Bearer" to the API and /metrics. Webhook requests never
	// carry it: they are public, and their headers are stored with every run.
	APIToken string
	// Progress receives a line per phase for the operator; nil keeps quiet.
	Progress io.Writer
}

// withDefaults fills zero fields with the defaults and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		return c, errors.New("loadtest: the server URL is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("loadtest: %q is not an http:// or https:// URL", c.URL)
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.Mode == "" {
		c.Mode = ModeSync
	}
	if c.Mode != ModeSync && c.Mode != ModeAsync {
		return c, fmt.Errorf("loadtest: mode must be %s or %s, not %q", ModeSync, ModeAsync, c.Mode)
	}
	if c.EchoURL != "" {
		if c.FlowID != "" {
			return c, errors.New("loadtest: an echo URL changes the reference flow; it cannot be used with an existing flow")
		}
		u, err := url.Parse(c.EchoURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("loadtest: echo URL %q is not an http:// or https:// URL", c.EchoURL)
		}
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Concurrency < 1 {
		return c, errors.New("loadtest: concurrency must be at least 1")
	}
	if c.Requests < 0 {
		return c, errors.New("loadtest: requests must not be negative")
	}
	if c.Requests == 0 && c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Requests == 0 && c.Duration < 0 {
		return c, errors.New("loadtest: duration must be positive")
	}
	if c.Wait < 0 {
		return c, errors.New("loadtest: wait must not be negative")
	}
	return c, nil
}

func (c Config) logf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "bench: "+format+"\n", args...)
	}
}

// Run benchmarks the server named by cfg and reports what it measured. It fails only when the benchmark
// cannot be set up (server unreachable, flow refused or not published) or ctx ends; failed requests and failed
// runs are measurements and go into the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	api := newAPIClient(cfg.URL, cfg.APIToken)
	defer api.close()

	rep := &Report{URL: cfg.URL, Concurrency: cfg.Concurrency, EchoURL: cfg.EchoURL}
	if cfg.FlowID == "" {
		doc, err := referenceFlow(cfg.Mode, cfg.EchoURL)
		if err != nil {
			return nil, err
		}
		id, err := api.importFlow(ctx, doc)
		if err != nil {
			return nil, fmt.Errorf("loadtest: publish the reference flow: %w", err)
		}
		rep.FlowID, rep.FlowCreated, rep.Mode = id, true, cfg.Mode
		variant := ""
		if cfg.EchoURL != "" {
			variant = ", + HTTP call to " + cfg.EchoURL
		}
		cfg.logf("published the reference flow %s (%s%s)", id, cfg.Mode, variant)
	} else {
		mode, err := api.publishedMode(ctx, cfg.FlowID)
		if err != nil {
			return nil, fmt.Errorf("loadtest: flow %s: %w", cfg.FlowID, err)
		}
		rep.FlowID, rep.Mode = cfg.FlowID, mode
		cfg.logf("using the published flow %s (%s)", cfg.FlowID, mode)
	}

	rss := newRSSWatch(api)
	rep.RSS.Before = rss.sample(ctx)

	if cfg.Requests > 0 {
		cfg.logf("sending %d requests over %d connections", cfg.Requests, cfg.Concurrency)
	} else {
		cfg.logf("sending requests over %d connections for %s", cfg.Concurrency, cfg.Duration)
	}
	stopSampling := rss.every(ctx, time.Second)
	load, err := drive(ctx, cfg, cfg.URL+"/hooks/"+rep.FlowID)
	if err != nil {
		stopSampling()
		return nil, err
	}
	rep.addLoad(load)
	cfg.logf("sent %d requests in %s: %d accepted", load.sent, load.elapsed.Round(time.Millisecond), load.accepted)

	runs, err := collectRuns(ctx, cfg, api, rep.FlowID, load)
	stopSampling()
	if err != nil {
		return nil, err
	}
	rep.addRuns(runs)
	rep.RSS.After = rss.sample(ctx)
	rep.RSS.Peak = rss.peak()
	rep.RSS.Problem = rss.failure()
	if rep.WaitTimedOut {
		cfg.logf("runs were still live after %s", cfg.Wait)
	}
	return rep, nil
}
