package salesforce

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// poller drives the trigger the way the scheduler does: one page at a time, the cursor committed after each
// page, runs kept once per dedup key.
type poller struct {
	t     *testing.T
	n     nodes.PollingTrigger
	req   *nodes.PollRequest
	runs  map[string]map[string]any
	order []string
}

func newPoller(t *testing.T, s *standIn, params map[string]any, start time.Time) *poller {
	x := s.exec(nil, nil)
	return &poller{t: t, n: build(t, PollType, params).(nodes.PollingTrigger), runs: map[string]map[string]any{},
		req: &nodes.PollRequest{Cursor: nodes.PollCursor{Time: start}, Mode: nodes.ModeLive, HTTP: x.HTTP, Credential: x.Credential}}
}

// drain polls until no page is waiting.
func (p *poller) drain() {
	p.t.Helper()
	for range 50 {
		page, err := p.n.Poll(context.Background(), p.req)
		if err != nil {
			p.t.Fatalf("poll: %v", err)
		}
		for _, r := range page.Records {
			if _, seen := p.runs[r.DedupKey]; !seen {
				p.runs[r.DedupKey] = r.Payload
				p.order = append(p.order, r.Payload["id"].(string))
			}
		}
		p.req.Cursor = page.Next
		if !page.More {
			return
		}
	}
	p.t.Fatal("the walk does not end")
}

func TestPollWalksChangesBySystemModstampAndID(t *testing.T) {
	s := newStandIn(t)
	start := s.clock
	// Five accounts changed in the same second (a bulk update), then two more.
	stamp := s.tick()
	for i := range 5 {
		s.nextID++
		s.objects["Account"] = append(s.objects["Account"], record{"Id": "001xx00000000000" + string(rune('A'+i)) + "0", "Name": "Bulk", "SystemModstamp": stamp})
	}
	s.insert("Account", map[string]any{"Name": "Later 1", "Industry": "Retail"})
	s.insert("Account", map[string]any{"Name": "Later 2", "Industry": "Food"})
	p := newPoller(t, s, map[string]any{"sObject": "Account", "fields": "Name, Industry", "pageSize": 2, "overlap": "1m"}, start)
	var usage int64
	p.req.ReportUsage = func(provider string, used, limit int64) { usage = used }
	p.drain()
	if usage != s.used {
		t.Errorf("usage reported %d, the org counted %d", usage, s.used)
	}
	if len(p.order) != 7 || p.order[0] != "001xx00000000000A0" || p.order[6] != "001xx0000000000007" {
		t.Fatalf("runs %v", p.order)
	}
	rec := p.runs["salesforce:Account:001xx0000000000007:"+p.req.Cursor.Time.Format(time.RFC3339Nano)]
	if rec == nil || rec["sObject"] != "Account" || rec["record"].(map[string]any)["Industry"] != "Food" || rec["record"].(map[string]any)["attributes"] != nil {
		t.Fatalf("payload %v (cursor %+v)", rec, p.req.Cursor)
	}
	for _, q := range s.sent() {
		if !strings.HasPrefix(q, "GET /services/data/v62.0/query?q=SELECT+Id%2C+SystemModstamp%2C+Name%2C+Industry+FROM+Account+WHERE+") {
			t.Errorf("query %s", q)
		}
	}
	// Polling again sees the overlap again, but starts no run; a record changed since starts one.
	p.drain()
	if len(p.order) != 7 {
		t.Errorf("an unchanged record ran again: %v", p.order)
	}
	s.mu.Lock()
	s.write(s.objects["Account"][0], map[string]any{"Name": "Bulk, renamed"})
	s.mu.Unlock()
	p.drain()
	if len(p.order) != 8 || p.order[7] != "001xx00000000000A0" {
		t.Errorf("a changed record: %v", p.order)
	}
	// A condition narrows every poll.
	q := newPoller(t, s, map[string]any{"sObject": "Account", "where": "Industry = 'Food'"}, start)
	q.drain()
	if len(q.order) != 1 || q.order[0] != "001xx0000000000007" {
		t.Errorf("condition: %v", q.order)
	}
}

func TestPollParametersAreChecked(t *testing.T) {
	reg, _ := nodes.Lookup(PollType, 1)
	for _, params := range []string{`{"sObject": "Account where"}`, `{"sObject": "Account", "fields": "Name; DELETE"}`,
		`{"sObject": "Account", "interval": "1s"}`, `{"sObject": "Account", "pageSize": 2001}`} {
		if _, err := reg.New(nodes.NewConfig(&reg.Spec, "n1", rawParams(t, params), "cred-1")); err == nil {
			t.Errorf("%s accepted", params)
		}
	}
}

func rawParams(t *testing.T, s string) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatal(err)
	}
	return out
}
