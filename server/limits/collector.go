package limits

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferry-hq/ferry/nodes"
)

// BreakerCollector reports the circuit breakers to Prometheus, so an alert can say which provider endpoint is
// down before customers notice (D13, D15). It reads the breakers at scrape time: endpoints forgotten for being
// idle simply stop being reported.
type BreakerCollector struct {
	breakers *nodes.Breakers
	state    *prometheus.Desc
	rejected *prometheus.Desc
}

// NewBreakerCollector returns a collector of b's states, to register in the server's registry.
func NewBreakerCollector(b *nodes.Breakers) *BreakerCollector {
	return &BreakerCollector{
		breakers: b,
		state: prometheus.NewDesc("ferry_circuit_state",
			"Circuit state of a provider endpoint (method, scheme and host) in this process: 0 closed, 1 half-open, 2 open.",
			[]string{"endpoint"}, nil),
		rejected: prometheus.NewDesc("ferry_circuit_rejected_total",
			"Calls to a provider endpoint refused without being sent because its circuit was open, in this process.",
			[]string{"endpoint"}, nil),
	}
}

// Describe sends the descriptions of the two metrics.
func (c *BreakerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	ch <- c.rejected
}

// Collect sends the current state and rejected count of every known endpoint.
func (c *BreakerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.breakers.Status() {
		ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, float64(s.State), s.Endpoint)
		ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(s.Rejected), s.Endpoint)
	}
}

var _ prometheus.Collector = (*BreakerCollector)(nil)
