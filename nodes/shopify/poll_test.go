package shopify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// TestPollWalksChangedOrders: the polling trigger walks the store's changed orders from a little before its
// cursor, page by page through the connection's cursor, emits each as the normalised shop event keyed by id and
// update time, and ends the walk at the newest order seen; the next walk overlaps it and finds only what changed.
func TestPollWalksChangedOrders(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 12; i++ {
		s.orders = append(s.orders, testOrder(i, fmt.Sprintf("2026-11-20T10:00:%02dZ", 10+i)))
	}
	n, err := build(t, PollType, map[string]any{"interval": "1m", "overlap": "5s", "pageSize": 5}).(*pollNode), error(nil)
	if err != nil || n == nil {
		t.Fatalf("build: %v", err)
	}
	x := s.exec(nil)
	req := &nodes.PollRequest{Cursor: nodes.PollCursor{Time: time.Date(2026, 11, 20, 10, 0, 10, 0, time.UTC)}, Mode: nodes.ModeLive,
		HTTP: x.HTTP, Credential: x.Credential}
	var seen []string
	pages := 0
	for {
		res, err := n.Poll(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range res.Records {
			if r.Payload["provider"] != "shopify" || r.Payload["orderNumber"] != r.BusinessKey {
				t.Fatalf("record %+v", r)
			}
			seen = append(seen, r.BusinessKey+" "+r.DedupKey)
		}
		if !res.More {
			if res.Next.ID != "5012" || !res.Next.Time.Equal(time.Date(2026, 11, 20, 10, 0, 22, 0, time.UTC)) || res.Next.Token != "" {
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
	if len(seen) != 12 || pages != 3 || seen[0] != "#1001 gid://shopify/Order/5001@2026-11-20T10:00:11Z" {
		t.Fatalf("%d pages: %v", pages, seen)
	}
	// The next walk starts 5 s before the newest change (Shopify's filter includes that second): orders 7 to 12
	// again, in a first page of five, with the same dedup keys.
	res, err := n.Poll(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 5 || res.Records[0].DedupKey != "gid://shopify/Order/5007@2026-11-20T10:00:17Z" || !res.More {
		t.Fatalf("overlapping walk: %d records, first %s, more %v", len(res.Records), res.Records[0].DedupKey, res.More)
	}
	_, vars := s.received()
	if last := vars[len(vars)-1]; last["query"] != "updated_at:>='2026-11-20T10:00:17Z'" || last["first"] != 5.0 {
		t.Fatalf("the overlapping walk asked %v", last)
	}
}
