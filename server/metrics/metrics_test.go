package metrics

import "testing"

func TestObserveUsageExportsGaugesByCredential(t *testing.T) {
	m := New(nil)
	m.ObserveUsage("cred-1", "salesforce", 18, 15000)
	m.ObserveUsage("cred-1", "salesforce", 19, 15000)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["provider"] == "salesforce" && labels["credential"] == "cred-1" {
				got[f.GetName()] = metric.GetGauge().GetValue()
			}
		}
	}
	if got["ferry_provider_api_usage"] != 19 || got["ferry_provider_api_limit"] != 15000 {
		t.Errorf("gauges %v", got)
	}
}
