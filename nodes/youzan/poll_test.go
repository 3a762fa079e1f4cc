package youzan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// TestPollWalksChangedTrades: the polling trigger asks for the window from a little before its cursor to the
// time the walk began, in Shanghai time, walks its pages, emits each trade as the normalised event keyed by
// number and update time, and ends the walk at the window's end; the next walk overlaps it and finds the same
// trades under the same keys.
func TestPollWalksChangedTrades(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 12; i++ {
		s.trades = append(s.trades, testTrade(i, fmt.Sprintf("2026-11-20 18:00:%02d", 10+i)))
	}
	n := build(t, PollType, map[string]any{"interval": "1m", "overlap": "5s", "pageSize": 5}).(*pollNode)
	x := s.exec(nil, nil)
	clock := time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC) // 18:01:00 in Shanghai
	req := &nodes.PollRequest{Cursor: nodes.PollCursor{Time: time.Date(2026, 11, 20, 10, 0, 10, 0, time.UTC)}, Mode: nodes.ModeLive,
		HTTP: x.HTTP, Credential: x.Credential, Now: clock}
	seen := map[string]bool{}
	pages := 0
	for {
		res, err := n.Poll(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range res.Records {
			if r.Payload["provider"] != "youzan" || r.Payload["orderNumber"] != r.BusinessKey || seen[r.DedupKey] {
				t.Fatalf("record %+v", r)
			}
			seen[r.DedupKey] = true
		}
		if !res.More {
			if !res.Next.Time.Equal(clock) || res.Next.Token != "" || !res.Next.From.IsZero() {
				t.Fatalf("end of walk %+v", res.Next)
			}
			req.Cursor = res.Next
			break
		}
		if res.Next.Token == "" || !res.Next.From.Equal(time.Date(2026, 11, 20, 10, 0, 5, 0, time.UTC)) {
			t.Fatalf("walk in progress %+v", res.Next)
		}
		req.Cursor = res.Next
	}
	if len(seen) != 12 || pages != 3 || !seen["E20261120000000040500001@2026-11-20T10:00:11Z"] {
		t.Fatalf("%d pages: %v", pages, seen)
	}
	_, bodies := s.received()
	if bodies[0]["start_update"] != "2026-11-20 18:00:05" || bodies[0]["end_update"] != "2026-11-20 18:01:00" || bodies[2]["page_no"].(fmt.Stringer).String() != "3" {
		t.Fatalf("first walk asked %v / %v", bodies[0], bodies[2])
	}
	// The next walk starts 5 s before the last one's end: the trades changed since, and nothing else.
	s.mu.Lock()
	s.trades = append(s.trades, testTrade(13, "2026-11-20 18:01:30"))
	s.mu.Unlock()
	req.Now = clock.Add(time.Minute)
	res, err := n.Poll(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || res.Records[0].DedupKey != "E20261120000000040500013@2026-11-20T10:01:30Z" || res.More {
		t.Fatalf("second walk: %+v", res)
	}
}

// TestPollReadsAWindowAgainWhenItMoves: a total that changes between pages means trades moved between them: the
// window is read again from its first page, the same window.
func TestPollReadsAWindowAgainWhenItMoves(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 8; i++ {
		s.trades = append(s.trades, testTrade(i, fmt.Sprintf("2026-11-20 18:00:%02d", 10+i)))
	}
	n := build(t, PollType, map[string]any{"interval": "1m", "overlap": "0s", "pageSize": 5}).(*pollNode)
	x := s.exec(nil, nil)
	req := &nodes.PollRequest{Cursor: nodes.PollCursor{Time: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}, Mode: nodes.ModeLive,
		HTTP: x.HTTP, Credential: x.Credential, Now: time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)}
	first, err := n.Poll(context.Background(), req)
	if err != nil || len(first.Records) != 5 || !first.More {
		t.Fatalf("first page %+v %v", first, err)
	}
	s.mu.Lock()
	s.totalDrift = -1
	s.mu.Unlock()
	req.Cursor = first.Next
	again, err := n.Poll(context.Background(), req)
	if err != nil || len(again.Records) != 0 || !again.More || again.Next.Token == first.Next.Token || !again.Next.From.Equal(first.Next.From) {
		t.Fatalf("after the total moved %+v %v", again, err)
	}
	req.Cursor = again.Next
	res, err := n.Poll(context.Background(), req)
	if err != nil || len(res.Records) != 5 || !res.More {
		t.Fatalf("the window read again %+v %v", res, err)
	}
	_, bodies := s.received()
	if last := bodies[len(bodies)-1]; last["page_no"].(fmt.Stringer).String() != "1" || last["end_update"] != "2026-11-20 18:01:00" {
		t.Fatalf("asked %v", last)
	}
}

// TestPollWindowIsAtMostThreeMonths: a backfill from long ago is read in windows Youzan accepts, one after the
// other at once.
func TestPollWindowIsAtMostThreeMonths(t *testing.T) {
	s := newStandIn(t)
	s.trades = []map[string]any{testTrade(1, "2026-02-01 10:00:00")}
	n := build(t, PollType, map[string]any{"interval": "1m", "overlap": "0s", "pageSize": 5}).(*pollNode)
	x := s.exec(nil, nil)
	req := &nodes.PollRequest{Cursor: nodes.PollCursor{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, Mode: nodes.ModeLive,
		HTTP: x.HTTP, Credential: x.Credential, Now: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	res, err := n.Poll(context.Background(), req)
	if err != nil || len(res.Records) != 1 || !res.More || !res.Next.Time.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("first window %+v %v", res, err)
	}
	_, bodies := s.received()
	if bodies[0]["start_update"] != "2026-01-01 08:00:00" || bodies[0]["end_update"] != "2026-04-01 08:00:00" {
		t.Fatalf("window %v", bodies[0])
	}
}

func TestPollParameters(t *testing.T) {
	reg, _ := nodes.Lookup(PollType, 1)
	_, err := reg.New(nodes.NewConfig(&reg.Spec, "n1", map[string]json.RawMessage{"interval": json.RawMessage(`"5s"`), "pageSize": json.RawMessage(`500`)}, "cred-1"))
	if err == nil {
		t.Fatal("a 5 s interval and 500 trades a page were accepted")
	}
}

// TestPollHalvesABusyWindow: a window with more trades than Youzan lists (100 pages) is halved before any is
// read; the second half is the next walk's.
func TestPollHalvesABusyWindow(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 120; i++ {
		s.trades = append(s.trades, testTrade(i, fmt.Sprintf("2026-11-20 1%d:%02d:00", 2+i/60, i%60)))
	}
	n := build(t, PollType, map[string]any{"interval": "1m", "overlap": "0s", "pageSize": 1}).(*pollNode)
	x := s.exec(nil, nil)
	req := &nodes.PollRequest{Cursor: nodes.PollCursor{Time: time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC)}, Mode: nodes.ModeLive,
		HTTP: x.HTTP, Credential: x.Credential, Now: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)}
	res, err := n.Poll(context.Background(), req)
	if err != nil || len(res.Records) != 0 || !res.More || !res.Next.From.Equal(req.Cursor.Time) {
		t.Fatalf("busy window %+v %v", res, err)
	}
	// 120 trades from 12:01 to 14:00 Shanghai time, 100 listable with one a page: 12:00–16:00 is halved to
	// 12:00–14:00, still too many, then to 12:00–13:00, which holds 59.
	req.Cursor = res.Next
	res, err = n.Poll(context.Background(), req)
	if err != nil || len(res.Records) != 0 || !res.More {
		t.Fatalf("the first half %+v %v", res, err)
	}
	req.Cursor = res.Next
	res, err = n.Poll(context.Background(), req)
	if err != nil || len(res.Records) != 1 || !res.More {
		t.Fatalf("the first quarter %+v %v", res, err)
	}
	_, bodies := s.received()
	want := [][2]string{{"2026-11-20 12:00:00", "2026-11-20 16:00:00"}, {"2026-11-20 12:00:00", "2026-11-20 14:00:00"}, {"2026-11-20 12:00:00", "2026-11-20 13:00:00"}}
	for i, w := range want {
		if bodies[i]["start_update"] != w[0] || bodies[i]["end_update"] != w[1] {
			t.Fatalf("window %d: %v, want %v", i, bodies[i], w)
		}
	}
}

// TestConnectionTest: the credential's test obtains a token for the shop and says so; a wrong secret fails
// with Youzan's answer.
func TestConnectionTest(t *testing.T) {
	s := newStandIn(t)
	x := s.exec(nil, nil)
	msg, err := testConnection(context.Background(), s.fields(), x.Client())
	if err != nil || !strings.Contains(msg, "token for shop 42583152") {
		t.Fatalf("%q %v", msg, err)
	}
	wrong := s.fields()
	wrong[FieldClientSecret] = "nope"
	if _, err := testConnection(context.Background(), wrong, x.Client()); err == nil || !strings.Contains(err.Error(), "应用信息错误") {
		t.Fatalf("wrong secret: %v", err)
	}
}
