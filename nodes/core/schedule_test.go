package core

import (
	"reflect"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

func TestScheduleNext(t *testing.T) {
	after := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC) // a Thursday
	tests := []struct {
		name, params string
		want         time.Time
	}{
		{"daily at nine in Shanghai", `{"cron": "0 9 * * *", "timezone": "Asia/Shanghai"}`,
			time.Date(2026, time.January, 1, 1, 0, 0, 0, time.UTC)},
		{"daily at nine in UTC by default", `{"cron": "0 9 * * *"}`,
			time.Date(2026, time.January, 1, 9, 0, 0, 0, time.UTC)},
		{"every five minutes", `{"cron": "*/5 * * * *"}`, after.Add(5 * time.Minute)},
		{"with seconds", `{"cron": "*/30 * * * * *"}`, after.Add(30 * time.Second)},
		{"weekdays", `{"cron": "30 18 * * 1-5", "timezone": "Europe/London"}`,
			time.Date(2026, time.January, 1, 18, 30, 0, 0, time.UTC)},
		{"hourly", `{"cron": "@hourly"}`, after.Add(time.Hour)},
		{"every", `{"cron": "@every 15m", "timezone": "Asia/Tokyo"}`, after.Add(15 * time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := mustBuild(t, ScheduleType, tc.params).(nodes.ScheduleTrigger)
			got := n.Next(after)
			if !got.Equal(tc.want) {
				t.Fatalf("Next = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestScheduleNextFollowsDaylightSaving(t *testing.T) {
	n := mustBuild(t, ScheduleType, `{"cron": "0 9 * * *", "timezone": "America/New_York"}`).(nodes.ScheduleTrigger)
	winter := n.Next(time.Date(2026, time.January, 10, 0, 0, 0, 0, time.UTC))
	summer := n.Next(time.Date(2026, time.July, 10, 0, 0, 0, 0, time.UTC))
	if winter.UTC().Hour() != 14 || summer.UTC().Hour() != 13 {
		t.Fatalf("09:00 New York = %s and %s in UTC, want 14:00 and 13:00", winter.UTC(), summer.UTC())
	}
	if winter.Location().String() != "America/New_York" {
		t.Fatalf("Next is in %s, want the trigger's zone", winter.Location())
	}
}

func TestScheduleConfig(t *testing.T) {
	tests := []struct {
		name, params, field, code string
	}{
		{"missing cron", `{}`, "cron", nodes.CodeParamRequired},
		{"too few fields", `{"cron": "0 9 *"}`, "cron", nodes.CodeParamInvalid},
		{"out of range", `{"cron": "0 25 * * *"}`, "cron", nodes.CodeParamInvalid},
		{"unknown descriptor", `{"cron": "@fortnightly"}`, "cron", nodes.CodeParamInvalid},
		{"never fires", `{"cron": "0 0 30 2 *"}`, "cron", nodes.CodeParamInvalid},
		{"zone inside cron", `{"cron": "CRON_TZ=Asia/Tokyo 0 9 * * *"}`, "cron", nodes.CodeParamInvalid},
		{"unknown zone", `{"cron": "@hourly", "timezone": "Mars/Olympus"}`, "timezone", nodes.CodeParamInvalid},
		{"server zone", `{"cron": "@hourly", "timezone": "Local"}`, "timezone", nodes.CodeParamInvalid},
		{"cron not text", `{"cron": 5}`, "cron", nodes.CodeParamInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, ScheduleType, tc.params, "")
			wantProblem(t, err, tc.field, tc.code)
		})
	}
}

func TestScheduleExecute(t *testing.T) {
	n := mustBuild(t, ScheduleType, `{"cron": "@hourly", "timezone": "Asia/Shanghai"}`)
	tick := map[string]any{"scheduledAt": "2026-01-01T01:00:00Z", "firedAt": "2026-01-01T01:00:00.0123Z"}
	res, err := run(t, n, tick)
	if err != nil || !reflect.DeepEqual(res.Output, tick) {
		t.Fatalf("Execute = %+v, %v; want the tick unchanged", res, err)
	}
	setNow(t, time.Date(2026, time.January, 1, 1, 0, 0, 0, time.UTC))
	res, err = run(t, n, nil)
	want := map[string]any{"scheduledAt": "2026-01-01T09:00:00+08:00", "timezone": "Asia/Shanghai"}
	if err != nil || !reflect.DeepEqual(res.Output, want) {
		t.Fatalf("Execute without a tick = %+v, %v; want %v", res.Output, err, want)
	}
}
