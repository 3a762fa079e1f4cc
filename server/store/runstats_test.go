package store

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRunStats checks the dashboard's grouped queries and the dead-letter list on
// both databases with the same known runs, counts and buckets compared exactly. Run data is sealed, as it is by
// default, so error codes are read the way production reads them.
func TestRunStats(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) Store) {
		t.Run("RunStats", func(t *testing.T) { testRunStats(t, open(t)) })
		t.Run("DeadLetters", func(t *testing.T) { testDeadLetters(t, open(t)) })
	})
}

// statsFixture is the known data: two flows with runs inside, before and after a one-hour window starting at
// 10:00 UTC, and a backlog created after it.
type statsFixture struct {
	orders, refunds string
	// ids of the live failed runs, oldest first: refunds 09:00, orders 10:01, refunds 10:30:15, orders 10:59:59.
	failed []string
}

var statsDay = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func at(hms string) time.Time {
	d, err := time.Parse("15:04:05.999999", hms)
	if err != nil {
		panic(err)
	}
	return statsDay.Add(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute +
		time.Duration(d.Second())*time.Second + time.Duration(d.Nanosecond()))
}

func seedStats(t *testing.T, s Store) statsFixture {
	t.Helper()
	s.(SealerSetter).SetSealer(newGCMSealer(t))
	fx := statsFixture{orders: newFlow(t, s, "Orders").ID, refunds: newFlow(t, s, "Refunds").ID}
	add := func(flow, mode, status, created string, errJSON string, steps []Step) string {
		t.Helper()
		r := &Run{ID: newRunID(t), FlowID: flow, FlowVersion: 1, Mode: mode, Status: status, CreatedAt: at(created),
			BusinessKey: "BK-" + created}
		if errJSON != "" {
			r.Error = json.RawMessage(errJSON)
		}
		if status == RunFailed || status == RunSucceeded || status == RunCancelled {
			r.FinishedAt = at(created).Add(time.Second)
		}
		if err := s.CreateRun(t.Context(), r, steps); err != nil {
			t.Fatalf("create run: %v", err)
		}
		return r.ID
	}
	failedSteps := []Step{{NodeID: "in", Status: StepSucceeded, Attempt: 1}, {NodeID: "call", Status: StepFailed, Attempt: 1},
		{NodeID: "call", Status: StepFailed, Attempt: 2}, {NodeID: "call", Status: StepFailed, Attempt: 3}}
	// Created in time order so that the UUIDv7 ids order like the creation times.
	fx.failed = append(fx.failed, add(fx.refunds, "live", RunFailed, "09:00:00", `{"code":"timeout","message":"no answer","nodeId":"pay"}`, nil))
	add(fx.orders, "live", RunSucceeded, "09:59:59.999999", "", nil)
	add(fx.orders, "live", RunSucceeded, "10:00:00", "", nil)
	add(fx.orders, "live", RunSucceeded, "10:00:59.999999", "", nil)
	fx.failed = append(fx.failed, add(fx.orders, "live", RunFailed, "10:01:00", `{"code":"http_client_error","message":"deal stage unknown","nodeId":"call"}`, failedSteps))
	add(fx.orders, "test", RunFailed, "10:05:00", `{"code":"http_client_error","message":"test","nodeId":"call"}`, nil)
	add(fx.refunds, "live", RunCancelled, "10:10:00", "", nil)
	fx.failed = append(fx.failed, add(fx.refunds, "live", RunFailed, "10:30:15", `{"code":"http_client_error","message":"card declined","nodeId":"pay"}`, nil))
	fx.failed = append(fx.failed, add(fx.orders, "live", RunFailed, "10:59:59", `{"code":"timeout","message":"gateway timeout","nodeId":"call"}`, nil))
	add(fx.orders, "live", RunSucceeded, "11:00:00", "", nil)
	// The backlog, seen at 12:30.
	add(fx.orders, "live", RunQueued, "12:00:00", "", nil)
	q2 := &Run{ID: newRunID(t), FlowID: fx.orders, FlowVersion: 1, Mode: "live", Status: RunQueued, CreatedAt: at("12:05:00"), AvailableAt: at("12:10:00")}
	q3 := &Run{ID: newRunID(t), FlowID: fx.orders, FlowVersion: 1, Mode: "live", Status: RunQueued, CreatedAt: at("12:06:00"), AvailableAt: at("13:00:00")}
	w := &Run{ID: newRunID(t), FlowID: fx.refunds, FlowVersion: 1, Mode: "live", Status: RunWaiting, CreatedAt: at("12:07:00"), AvailableAt: at("14:00:00")}
	for _, r := range []*Run{q2, q3, w} {
		if err := s.CreateRun(t.Context(), r, nil); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

func testRunStats(t *testing.T, s Store) {
	fx := seedStats(t, s)
	st, err := s.RunStats(t.Context(), StatsQuery{Since: at("10:00:00"), Until: at("11:00:00"), Bucket: time.Minute, Now: at("12:30:00")})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Buckets) != 60 {
		t.Fatalf("%d buckets, want 60", len(st.Buckets))
	}
	want := map[int]map[string]int64{0: {RunSucceeded: 2}, 1: {RunFailed: 1}, 10: {RunCancelled: 1}, 30: {RunFailed: 1}, 59: {RunFailed: 1}}
	for i, b := range st.Buckets {
		if !b.Start.Equal(at("10:00:00").Add(time.Duration(i) * time.Minute)) {
			t.Errorf("bucket %d starts at %v", i, b.Start)
		}
		var total int64
		for _, n := range want[i] {
			total += n
		}
		if b.Total != total || len(b.ByStatus) != len(want[i]) {
			t.Errorf("bucket %d: %d runs %v, want %v", i, b.Total, b.ByStatus, want[i])
			continue
		}
		for status, n := range want[i] {
			if b.ByStatus[status] != n {
				t.Errorf("bucket %d: %s %d, want %d", i, status, b.ByStatus[status], n)
			}
		}
	}
	if got := st.ByStatus; len(got) != 3 || got[RunSucceeded] != 2 || got[RunFailed] != 3 || got[RunCancelled] != 1 {
		t.Errorf("by status %v", got)
	}

	if len(st.Failures) != 2 {
		t.Fatalf("failures %+v", st.Failures)
	}
	f0, f1 := st.Failures[0], st.Failures[1]
	if f0.FlowID != fx.orders || f0.FlowName != "Orders" || f0.Failed != 2 || f0.LastRunID != fx.failed[3] ||
		!f0.LastAt.Equal(at("10:59:59")) || parseRunError(f0.LastError).Code != "timeout" || !strings.Contains(string(f0.LastError), "gateway timeout") {
		t.Errorf("orders failures %+v (%s)", f0, f0.LastError)
	}
	if f1.FlowID != fx.refunds || f1.Failed != 1 || f1.LastRunID != fx.failed[2] || parseRunError(f1.LastError).Code != "http_client_error" {
		t.Errorf("refunds failures %+v (%s)", f1, f1.LastError)
	}

	if st.DeadLetterTotal != 4 || len(st.DeadLetters) != 2 {
		t.Fatalf("dead letters %d %+v", st.DeadLetterTotal, st.DeadLetters)
	}
	// Equal counts: the flow with the older dead letter comes first.
	d0, d1 := st.DeadLetters[0], st.DeadLetters[1]
	if d0.FlowID != fx.refunds || d0.FlowName != "Refunds" || d0.Count != 2 || !d0.Oldest.Equal(at("09:00:00")) {
		t.Errorf("refunds dead letters %+v", d0)
	}
	if d1.FlowID != fx.orders || d1.Count != 2 || !d1.Oldest.Equal(at("10:01:00")) {
		t.Errorf("orders dead letters %+v", d1)
	}

	wantBacklog := Backlog{Queued: 2, Delayed: 1, Waiting: 1, OldestQueued: at("12:00:00")}
	if b := st.Backlog; b.Queued != wantBacklog.Queued || b.Delayed != wantBacklog.Delayed || b.Waiting != wantBacklog.Waiting ||
		b.Running != 0 || !b.OldestQueued.Equal(wantBacklog.OldestQueued) {
		t.Errorf("backlog %+v, want %+v", b, wantBacklog)
	}

	// A coarser window: 15-minute buckets over the two hours from 09:00.
	st, err = s.RunStats(t.Context(), StatsQuery{Since: at("09:00:00"), Until: at("11:00:00"), Bucket: 15 * time.Minute, Now: at("12:30:00"), TopFlows: 1})
	if err != nil {
		t.Fatal(err)
	}
	var totals []int64
	for _, b := range st.Buckets {
		totals = append(totals, b.Total)
	}
	if got, want := jsonString(totals), "[1,0,0,1,4,0,1,1]"; got != want {
		t.Errorf("15-minute buckets %s, want %s", got, want)
	}
	if len(st.Failures) != 1 || st.Failures[0].FlowID != fx.orders || len(st.DeadLetters) != 1 || st.DeadLetterTotal != 4 {
		t.Errorf("top 1: failures %+v, dead letters %+v of %d", st.Failures, st.DeadLetters, st.DeadLetterTotal)
	}

	if _, err := s.RunStats(t.Context(), StatsQuery{Since: at("10:00:00"), Until: at("10:00:00"), Bucket: time.Minute}); err == nil {
		t.Error("an empty window was accepted")
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func testDeadLetters(t *testing.T, s Store) {
	fx := seedStats(t, s)
	ids := func(p DeadLetterPage) []string {
		out := []string{}
		for _, d := range p.DeadLetters {
			out = append(out, d.ID)
		}
		return out
	}
	list := func(f DeadLetterFilter) DeadLetterPage {
		t.Helper()
		p, err := s.ListDeadLetters(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	all := list(DeadLetterFilter{})
	if got, want := ids(all), []string{fx.failed[3], fx.failed[2], fx.failed[1], fx.failed[0]}; jsonString(got) != jsonString(want) || all.NextCursor != "" {
		t.Fatalf("all dead letters %v (next %q), want %v", got, all.NextCursor, want)
	}
	d := all.DeadLetters[2]
	if d.FailedNode != "call" || d.Attempts != 3 || d.BusinessKey != "BK-10:01:00" || parseRunError(d.Error).Code != "http_client_error" {
		t.Errorf("dead letter %+v (%s)", d, d.Error)
	}
	if all.DeadLetters[0].Attempts != 0 || all.DeadLetters[0].FailedNode != "call" {
		t.Errorf("a run without recorded steps: %+v", all.DeadLetters[0])
	}

	if got := ids(list(DeadLetterFilter{FlowID: fx.refunds})); jsonString(got) != jsonString([]string{fx.failed[2], fx.failed[0]}) {
		t.Errorf("by flow %v", got)
	}
	if got := ids(list(DeadLetterFilter{Since: at("10:00:00"), Until: at("10:59:59")})); jsonString(got) != jsonString([]string{fx.failed[2], fx.failed[1]}) {
		t.Errorf("by time %v", got)
	}
	if got := ids(list(DeadLetterFilter{Code: "timeout"})); jsonString(got) != jsonString([]string{fx.failed[3], fx.failed[0]}) {
		t.Errorf("by code %v", got)
	}

	// Pages of one, with and without a code filter, walk every match once.
	for _, code := range []string{"", "http_client_error"} {
		var walked []string
		cursor := ""
		for range 10 {
			p := list(DeadLetterFilter{Code: code, Limit: 1, Cursor: cursor})
			walked = append(walked, ids(p)...)
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		want := []string{fx.failed[3], fx.failed[2], fx.failed[1], fx.failed[0]}
		if code != "" {
			want = []string{fx.failed[2], fx.failed[1]}
		}
		if jsonString(walked) != jsonString(want) {
			t.Errorf("pages with code %q: %v, want %v", code, walked, want)
		}
	}

	// A retried run is no longer a dead letter.
	one := 1
	if err := s.Transition(t.Context(), fx.failed[1], []string{RunFailed}, RunQueued, RunUpdate{Attempt: &one, ClearError: true}); err != nil {
		t.Fatal(err)
	}
	if got := ids(list(DeadLetterFilter{FlowID: fx.orders})); jsonString(got) != jsonString([]string{fx.failed[3]}) {
		t.Errorf("after a retry %v", got)
	}
}
