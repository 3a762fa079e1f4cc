package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
)

// changesAPI lists records changed after updated_after, oldest first (by change time, then id), in pages of
// per_page numbered from 1, and keeps every query it got.
type changesAPI struct {
	*httptest.Server
	mu      sync.Mutex
	records []map[string]any
	queries []string
}

func newChangesAPI(t *testing.T) *changesAPI {
	a := &changesAPI{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		a.mu.Lock()
		defer a.mu.Unlock()
		a.queries = append(a.queries, r.URL.RawQuery)
		if r.Header.Get("Authorization") != "Bearer erp-token" {
			w.WriteHeader(401)
			return
		}
		after, err := time.Parse(time.RFC3339, q.Get("updated_after"))
		if err != nil {
			w.WriteHeader(400)
			return
		}
		var out []map[string]any
		for _, rec := range a.records {
			t, _ := time.Parse(time.RFC3339, rec["updated_at"].(string))
			if t.After(after) {
				out = append(out, rec)
			}
		}
		sort.SliceStable(out, func(i, j int) bool {
			if out[i]["updated_at"] != out[j]["updated_at"] {
				return out[i]["updated_at"].(string) < out[j]["updated_at"].(string)
			}
			return out[i]["id"].(string) < out[j]["id"].(string)
		})
		page, _ := strconv.Atoi(q.Get("page"))
		size, _ := strconv.Atoi(q.Get("per_page"))
		start := min((page-1)*size, len(out))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"data": out[start:min(start+size, len(out))]})
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *changesAPI) put(id, updated, number string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.records {
		if r["id"] == id {
			r["updated_at"] = updated
			return
		}
	}
	a.records = append(a.records, map[string]any{"id": id, "updated_at": updated, "number": number})
}

func pollTrigger(t *testing.T, url string) nodes.PollingTrigger {
	t.Helper()
	n, err := build(t, PollType, mustJSON(t, map[string]any{"url": url, "sinceParam": "updated_after", "itemsPath": "/data",
		"businessKeyPath": "/number", "pagination": "page", "sizeParam": "per_page", "pageSize": 2, "overlap": "1m"}), "erp")
	if err != nil {
		t.Fatal(err)
	}
	return n.(nodes.PollingTrigger)
}

// TestPollWalksThePagesOfChanges: a walk from a little before the newest change reads every page, keeps where it
// is in the cursor, and ends with the newest change seen; the next walk starts from there.
func TestPollWalksThePagesOfChanges(t *testing.T) {
	api := newChangesAPI(t)
	for i := 1; i <= 5; i++ {
		api.put(fmt.Sprintf("o%d", i), fmt.Sprintf("2026-12-01T10:0%d:00Z", i), fmt.Sprintf("#100%d", i))
	}
	trig := pollTrigger(t, api.URL+"/orders?sort=updated_at")
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	req := &nodes.PollRequest{Cursor: nodes.PollCursor{Time: start}, Mode: nodes.ModeLive, HTTP: testenv.LocalClient(),
		Credential: func(context.Context) (map[string]string, error) { return map[string]string{"token": "erp-token"}, nil }}
	var got []string
	for page := 0; ; page++ {
		res, err := trig.Poll(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Records {
			got = append(got, r.BusinessKey+" "+r.DedupKey)
		}
		if !res.More {
			if !res.Next.From.IsZero() || res.Next.Token != "" || res.Next.ID != "o5" || !res.Next.Time.Equal(start.Add(5*time.Minute)) {
				t.Fatalf("the end of the walk: %+v", res.Next)
			}
			break
		}
		if !res.Next.From.Equal(start.Add(-time.Minute)) || res.Next.Token == "" {
			t.Fatalf("page %d: the walk in progress %+v", page, res.Next)
		}
		req.Cursor = res.Next
	}
	want := []string{"#1001 o1@2026-12-01T10:01:00Z", "#1002 o2@2026-12-01T10:02:00Z", "#1003 o3@2026-12-01T10:03:00Z",
		"#1004 o4@2026-12-01T10:04:00Z", "#1005 o5@2026-12-01T10:05:00Z"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records %v", got)
	}
	// Every page of the walk asked for the same changes: from a minute before the start.
	for i, q := range api.queries {
		if want := fmt.Sprintf("page=%d&per_page=2&sort=updated_at&updated_after=2026-12-01T09%%3A59%%3A00Z", i+1); q != want {
			t.Fatalf("page %d asked %s, want %s", i+1, q, want)
		}
	}
	// The next walk starts a minute before the newest change: o5 comes again (the same dedup key), o3 changed.
	api.put("o3", "2026-12-01T10:06:00Z", "")
	req.Cursor = nodes.PollCursor{Time: start.Add(5 * time.Minute), ID: "o5"}
	res, err := trig.Poll(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 2 || res.Records[0].DedupKey != "o5@2026-12-01T10:05:00Z" || res.Records[1].DedupKey != "o3@2026-12-01T10:06:00Z" {
		t.Fatalf("second walk %+v", res.Records)
	}
	if last := api.queries[len(api.queries)-1]; last != "page=1&per_page=2&sort=updated_at&updated_after=2026-12-01T10%3A04%3A00Z" {
		t.Fatalf("second walk asked %s", last)
	}
}

func TestPollRefusesRecordsItCannotIdentify(t *testing.T) {
	api := newChangesAPI(t)
	api.records = append(api.records, map[string]any{"updated_at": "2026-12-01T10:01:00Z"})
	trig := pollTrigger(t, api.URL+"/orders")
	_, err := trig.Poll(context.Background(), &nodes.PollRequest{Cursor: nodes.PollCursor{Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		HTTP: testenv.LocalClient(), Credential: func(context.Context) (map[string]string, error) { return map[string]string{"token": "erp-token"}, nil }})
	if e := nodes.Classify(err); e.Code != CodePollRecordInvalid || e.Kind != nodes.Permanent {
		t.Fatalf("%+v", e)
	}
	for name, params := range map[string]map[string]any{
		"no since parameter":  {"url": api.URL},
		"interval too short":  {"url": api.URL, "sinceParam": "s", "interval": "10ms"},
		"id not a pointer":    {"url": api.URL, "sinceParam": "s", "idPath": "id"},
		"cursor without next": {"url": api.URL, "sinceParam": "s", "pagination": "cursor", "cursorParam": "c"},
	} {
		if _, err := build(t, PollType, mustJSON(t, params), ""); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
