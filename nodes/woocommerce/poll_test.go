package woocommerce

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// poller drives a polling trigger the way the scheduler does: one page at a time, the cursor committed after
// each page, runs kept once per dedup key.
type poller struct {
	t     *testing.T
	n     nodes.PollingTrigger
	req   *nodes.PollRequest
	runs  map[string]map[string]any // by dedup key
	order []string
	pages int
}

func newPoller(t *testing.T, s *standIn, params map[string]any, start time.Time) *poller {
	x := s.exec(nil)
	return &poller{t: t, n: build(t, PollType, params).(nodes.PollingTrigger), runs: map[string]map[string]any{},
		req: &nodes.PollRequest{Cursor: nodes.PollCursor{Time: start}, Mode: nodes.ModeLive, HTTP: x.HTTP, Credential: x.Credential}}
}

// step polls one page and commits it; it reports whether more is waiting.
func (p *poller) step() bool {
	p.t.Helper()
	page, err := p.n.Poll(context.Background(), p.req)
	if err != nil {
		p.t.Fatalf("poll: %v", err)
	}
	p.pages++
	for _, r := range page.Records {
		if r.Payload["provider"] != Provider || r.Payload["orderNumber"] != r.BusinessKey || r.Payload["eventId"] != r.DedupKey {
			p.t.Fatalf("record %+v", r)
		}
		if _, ok := p.runs[r.DedupKey]; !ok {
			p.runs[r.DedupKey] = r.Payload
			p.order = append(p.order, r.DedupKey)
		}
	}
	p.req.Cursor = page.Next
	return page.More
}

func (p *poller) walk() {
	for i := 0; p.step(); i++ {
		if i > 100 {
			p.t.Fatal("the walk does not end")
		}
	}
}

func at(sec int) string { return fmt.Sprintf("2026-11-20T10:%02d:%02d", sec/60, sec%60) }

// TestPollWalksChangedOrders: a walk reads every order changed since a little before the cursor, oldest first,
// moving its start forward after each full page; the cursor ends at the newest change, and the next walk
// overlaps it and starts no second run for what it sees again.
func TestPollWalksChangedOrders(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 12; i++ {
		s.orders = append(s.orders, testOrder(100+i, "processing", at(10+i)))
	}
	p := newPoller(t, s, map[string]any{"interval": "1m", "overlap": "5s", "pageSize": 5}, time.Date(2026, 11, 20, 10, 0, 10, 0, time.UTC))
	p.walk()
	if len(p.runs) != 12 || p.order[0] != "101@2026-11-20T10:00:11Z" || p.order[11] != "112@2026-11-20T10:00:22Z" {
		t.Fatalf("%d runs: %v", len(p.runs), p.order)
	}
	if c := p.req.Cursor; c.ID != "112" || !c.Time.Equal(time.Date(2026, 11, 20, 10, 0, 22, 0, time.UTC)) || c.Token != "" || !c.From.IsZero() {
		t.Fatalf("end of walk %+v", c)
	}
	first := s.received()[0].URL.Query()
	if first.Get("modified_after") != "2026-11-20T10:00:04" || first.Get("orderby") != "modified" || first.Get("order") != "asc" ||
		first.Get("dates_are_gmt") != "true" || first.Get("page") != "1" || first.Get("per_page") != "5" {
		t.Fatalf("first page asked %v", first)
	}
	// The second page starts a second before the first page's last change (10:00:15), on page 1.
	if q := s.received()[1].URL.Query(); q.Get("modified_after") != "2026-11-20T10:00:14" || q.Get("page") != "1" {
		t.Fatalf("second page asked %v", q)
	}
	// A change after the walk: the next walk overlaps the last five seconds and adds one run.
	s.orders[4]["date_modified_gmt"], s.orders[4]["status"] = at(30), "completed"
	p.walk()
	if len(p.runs) != 13 || p.order[12] != "105@2026-11-20T10:00:30Z" || p.runs[p.order[12]]["type"] != "fulfilled" {
		t.Fatalf("after the change: %v", p.order)
	}
}

// TestPollPagesWithinOneSecond: more orders changed in one second than a page holds cannot be stepped over by
// time; the walk counts pages there, and leaves none out.
func TestPollPagesWithinOneSecond(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 7; i++ {
		s.orders = append(s.orders, testOrder(200+i, "processing", at(20)))
	}
	s.orders = append(s.orders, testOrder(300, "completed", at(21)))
	p := newPoller(t, s, map[string]any{"interval": "1m", "overlap": "0s", "pageSize": 3}, time.Date(2026, 11, 20, 10, 0, 19, 0, time.UTC))
	p.walk()
	if len(p.runs) != 8 {
		t.Fatalf("%d runs: %v", len(p.runs), p.order)
	}
	var pages []string
	for _, r := range s.received() {
		pages = append(pages, r.URL.Query().Get("modified_after")+"#"+r.URL.Query().Get("page"))
	}
	if strings.Join(pages, " ") != "2026-11-20T10:00:18#1 2026-11-20T10:00:18#2 2026-11-20T10:00:18#3" {
		t.Fatalf("pages asked %v", pages)
	}
	if c := p.req.Cursor; c.ID != "300" || c.Token != "" {
		t.Fatalf("cursor %+v", c)
	}

	// Orders leave the list while a walk counts pages: the page asked for is past the end, which ends the walk
	// instead of failing every poll after it.
	p = newPoller(t, s, map[string]any{"interval": "1m", "overlap": "0s", "pageSize": 3}, time.Date(2026, 11, 20, 10, 0, 19, 0, time.UTC))
	p.step()
	p.step()
	if p.req.Cursor.Token != "3" {
		t.Fatalf("cursor %+v", p.req.Cursor)
	}
	s.orders = s.orders[4:]
	if more := p.step(); more || p.req.Cursor.Token != "" || !p.req.Cursor.From.IsZero() || p.req.Cursor.ID != "206" {
		t.Fatalf("past the end: more %v, cursor %+v", more, p.req.Cursor)
	}
	// The next walk starts from the newest change seen (a second before, modified_after being exclusive) and
	// finds the rest, order 207 of the same second included.
	p.walk()
	if _, ok := p.runs["207@2026-11-20T10:00:20Z"]; !ok || len(p.runs) != 8 {
		t.Fatalf("after the walk that ended early: %v", p.order)
	}
}

// TestPollChangesDuringAWalk: an order changed while a walk is under way moves to the end of WooCommerce's list,
// which shifts numbered pages by one; a walk that moves its start instead reads every order, and the changed
// one twice (once per version).
func TestPollChangesDuringAWalk(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 9; i++ {
		s.orders = append(s.orders, testOrder(400+i, "processing", at(30+i)))
	}
	p := newPoller(t, s, map[string]any{"interval": "1m", "overlap": "0s", "pageSize": 3}, time.Date(2026, 11, 20, 10, 0, 30, 0, time.UTC))
	if !p.step() {
		t.Fatal("the first page was the last")
	}
	s.orders[0]["date_modified_gmt"] = at(50) // order 401, already read, changes again
	p.walk()
	var ids []string
	for _, k := range p.order {
		ids = append(ids, strings.Split(k, "@")[0])
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != "401,401,402,403,404,405,406,407,408,409" {
		t.Fatalf("runs %v", p.order)
	}
}

// TestPollResumesFromTheCommittedCursor: a poller that stopped after committing a page asks for the same page
// again, with the same dedup keys, so a page read twice makes its runs once.
func TestPollResumesFromTheCommittedCursor(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 6; i++ {
		s.orders = append(s.orders, testOrder(500+i, "processing", at(40+i)))
	}
	p := newPoller(t, s, map[string]any{"interval": "1m", "overlap": "0s", "pageSize": 2}, time.Date(2026, 11, 20, 10, 0, 40, 0, time.UTC))
	p.step()
	committed := p.req.Cursor
	p.step()
	seen := len(p.runs)
	// Crash: the second page's runs were stored but the process died; it starts again from what was committed.
	p.req.Cursor = committed
	p.walk()
	if len(p.runs) != 6 || seen != 3 { // pages overlap by the second they share: 501 502, then 502 503
		t.Fatalf("runs %v", p.order)
	}
}

func TestPollBacksOffOn429(t *testing.T) {
	s := newStandIn(t)
	s.tooMany = true
	p := newPoller(t, s, map[string]any{"interval": "1m", "overlap": "0s", "pageSize": 2}, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	_, err := p.n.Poll(context.Background(), p.req)
	if e := failure(t, err, "woocommerce_rate_limited", nodes.RetryAfter); e.After != 7*time.Second {
		t.Fatalf("429 %+v", e)
	}
	for params, field := range map[string]string{"interval": "5s", "pageSize": "101", "overlap": "25h"} {
		values := map[string]any{"interval": "1m", "overlap": "0s", "pageSize": 2}
		values[params] = field
		if params == "pageSize" {
			values[params] = 101
		}
		reg, _ := nodes.Lookup(PollType, 1)
		if _, err := reg.New(nodes.NewConfig(&reg.Spec, "n1", raw(values), "cred-1")); err == nil {
			t.Errorf("%s %v accepted", params, field)
		}
	}
}
