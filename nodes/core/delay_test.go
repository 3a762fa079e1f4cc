package core

import (
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

func TestDelay(t *testing.T) {
	at := time.Date(2026, time.November, 22, 8, 0, 0, 0, time.UTC)
	setNow(t, at)
	tests := []struct {
		name   string
		params string
		input  any
		want   time.Time // zero: no wait
	}{
		{"duration", `{"duration": "10m"}`, nil, at.Add(10 * time.Minute)},
		{"explicit duration mode", `{"mode": "duration", "duration": "1h30m"}`, nil, at.Add(90 * time.Minute)},
		{"fixed time with zone", `{"mode": "until", "until": "2026-11-22T18:00:00+08:00"}`, nil, at.Add(2 * time.Hour)},
		{"time from data", `{"mode": "until", "until": "{{ prev.ship_after }}"}`, map[string]any{"ship_after": "2026-11-23"}, at.Add(16 * time.Hour)},
		{"unix seconds", `{"mode": "until", "until": "{{ prev.at }}"}`, map[string]any{"at": at.Add(time.Minute).Unix()}, at.Add(time.Minute)},
		{"unix milliseconds", `{"mode": "until", "until": "{{ prev.at }}"}`, map[string]any{"at": at.Add(time.Second).UnixMilli()}, at.Add(time.Second)},
		{"time value", `{"mode": "until", "until": "{{ prev.at }}"}`, map[string]any{"at": at.Add(time.Hour)}, at.Add(time.Hour)},
		{"past time does not wait", `{"mode": "until", "until": "2026-01-01T00:00:00Z"}`, nil, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t, mustBuild(t, DelayType, tc.params), tc.input)
			if err != nil {
				t.Fatal(err)
			}
			if !res.WaitUntil.Equal(tc.want) {
				t.Fatalf("WaitUntil = %s, want %s", res.WaitUntil, tc.want)
			}
			if res.Output == nil && tc.input != nil {
				t.Fatal("the input was not passed on")
			}
		})
	}
}

func TestDelayFailures(t *testing.T) {
	setNow(t, time.Date(2026, time.November, 22, 8, 0, 0, 0, time.UTC))
	n := mustBuild(t, DelayType, `{"mode": "until", "until": "{{ prev.at }}"}`)
	for _, input := range []any{map[string]any{"at": "next tuesday"}, map[string]any{"at": true}, map[string]any{"at": "2030-01-01T00:00:00Z"}} {
		_, err := run(t, n, input)
		wantFailure(t, err, nodes.Permanent, CodeDelayUntilInvalid)
	}
	_, err := run(t, n, map[string]any{})
	wantFailure(t, err, nodes.Permanent, CodeDelayUntilInvalid)
	_, err = run(t, mustBuild(t, DelayType, `{"mode": "until", "until": "{{ prev.a.b }}"}`), map[string]any{})
	wantFailure(t, err, nodes.Permanent, "expression_failed")

	for _, tc := range []struct{ params, field, code string }{
		{`{}`, "duration", nodes.CodeParamRequired},
		{`{"duration": "soon"}`, "duration", nodes.CodeParamInvalid},
		{`{"duration": "-5m"}`, "duration", nodes.CodeParamInvalid},
		{`{"duration": "9000h"}`, "duration", nodes.CodeParamInvalid},
		{`{"mode": "until"}`, "until", nodes.CodeParamRequired},
		{`{"mode": "until", "until": "tomorrow"}`, "until", nodes.CodeParamInvalid},
		{`{"mode": "later"}`, "mode", nodes.CodeParamInvalid},
	} {
		_, err := build(t, DelayType, tc.params, "")
		wantProblem(t, err, tc.field, tc.code)
	}
	// The hidden field is not required.
	mustBuild(t, DelayType, `{"mode": "until", "until": "2026-12-01"}`)
}
