// Package metrics holds Ferry's Prometheus collectors in one registry, so the runner, the API and the queue
// report into the same /metrics page and tests can read them without global state.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the collectors Ferry exports.
type Metrics struct {
	Registry *prometheus.Registry
	// Runs counts runs reaching a status (terminal, waiting, or queued for retry), by flow.
	Runs *prometheus.CounterVec
	// Steps times node executions by node type and step status.
	Steps *prometheus.HistogramVec
	// Webhooks counts webhook requests by flow and answer code.
	Webhooks *prometheus.CounterVec
	// WebhookRejections counts webhook calls a trigger refused, by flow and refusal code (a spike of
	// signature failures is someone forging callbacks).
	WebhookRejections *prometheus.CounterVec
	// APIUsage and APILimit are what a provider last said of a credential's API allowance (Salesforce's
	// Sforce-Limit-Info): requests used and the allowance, by provider and credential id.
	APIUsage, APILimit *prometheus.GaugeVec
}

// New registers Ferry's collectors plus the Go runtime and process collectors. depth, when not nil, is read at
// every scrape to report the queue depth.
func New(depth func(ctx context.Context) (int64, error)) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_runs_total", Help: "Runs that reached a status, by flow and status.",
		}, []string{"flow", "status"}),
		Steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ferry_step_duration_seconds", Help: "Time spent executing one step, by node type and status.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 30},
		}, []string{"node_type", "status"}),
		Webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_webhook_requests_total", Help: "Webhook requests, by flow and HTTP status of the answer.",
		}, []string{"flow", "code"}),
		WebhookRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_webhook_rejections_total", Help: "Webhook calls a trigger refused, by flow and refusal code.",
		}, []string{"flow", "code"}),
		APIUsage: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_provider_api_usage", Help: "API requests a provider last said the credential's account used of its allowance, by provider and credential.",
		}, []string{"provider", "credential"}),
		APILimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_provider_api_limit", Help: "The API allowance a provider last said the credential's account has, by provider and credential.",
		}, []string{"provider", "credential"}),
	}
	reg.MustRegister(m.Runs, m.Steps, m.Webhooks, m.WebhookRejections, m.APIUsage, m.APILimit,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if depth != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ferry_queue_depth", Help: "Run ids waiting in the queue, due or delayed.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := depth(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	return m
}

// WatchCredentials exports how many credentials are in each status that needs someone (a refused OAuth2
// renewal, a key that cannot open them), read at every scrape, so monitoring can alert on it:
// ferry_credentials_attention{status="reauthorize"} > 0.
func (m *Metrics) WatchCredentials(statuses func(ctx context.Context) (map[string]int, error)) {
	m.Registry.MustRegister(&credentialCollector{statuses: statuses, desc: prometheus.NewDesc("ferry_credentials_attention",
		"Credentials that need an admin, by status (reauthorize, failing, authorize, unreadable).", []string{"status"}, nil)})
}

type credentialCollector struct {
	statuses func(ctx context.Context) (map[string]int, error)
	desc     *prometheus.Desc
}

func (c *credentialCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *credentialCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.statuses(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), status)
	}
}

// WatchReviews exports how many runs wait for a person's decision (CRM reviews, ambiguous matches), read at every
// scrape, so monitoring can alert when reviews pile up: ferry_reviews_open > 0 for an hour.
func (m *Metrics) WatchReviews(open func(ctx context.Context) (int64, error)) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ferry_reviews_open", Help: "Reviews waiting for a person's decision (runs parked for a person); -1 when the store cannot say.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := open(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// ObserveUsage records what a provider said of a credential's API allowance.
func (m *Metrics) ObserveUsage(credentialID, provider string, used, limit int64) {
	m.APIUsage.WithLabelValues(provider, credentialID).Set(float64(used))
	m.APILimit.WithLabelValues(provider, credentialID).Set(float64(limit))
}

// ObserveStep records one step's duration.
func (m *Metrics) ObserveStep(nodeType, status string, d time.Duration) {
	m.Steps.WithLabelValues(nodeType, status).Observe(d.Seconds())
}
