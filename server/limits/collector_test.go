package limits_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/limits"
)

func TestBreakerCollectorReportsStatesAndRejections(t *testing.T) {
	b := nodes.NewBreakers(nodes.BreakerSettings{Failures: 2, CoolDown: time.Hour})
	for i := 0; i < 2; i++ {
		done, err := b.Allow("POST https://pay.example.com")
		if err != nil {
			t.Fatal(err)
		}
		done(nodes.CallFailed)
	}
	if _, err := b.Allow("POST https://pay.example.com"); err == nil {
		t.Fatal("open circuit let a call through")
	}
	done, _ := b.Allow("GET https://crm.example.com")
	done(nodes.CallHealthy)

	reg := prometheus.NewRegistry()
	reg.MustRegister(limits.NewBreakerCollector(b))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			got[f.GetName()+" "+m.GetLabel()[0].GetValue()] = v
		}
	}
	want := map[string]float64{
		"ferry_circuit_state POST https://pay.example.com":          2,
		"ferry_circuit_state GET https://crm.example.com":           0,
		"ferry_circuit_rejected_total POST https://pay.example.com": 1,
		"ferry_circuit_rejected_total GET https://crm.example.com":  0,
	}
	if len(got) != len(want) {
		t.Fatalf("metrics %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
