package youzan

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// PollType is the node type of the trigger that polls a shop for changed trades, for apps without a push URL
// and for backfills from a date.
const PollType = "youzan.trades.poll"

// Bounds of the polling trigger, from youzan.trades.sold.get's documented limits: at most 100 trades a page, at
// most page 100, windows of at most three months.
const (
	minPollInterval = 30 * time.Second // Youzan's lists lag its changes; it advises polling no faster
	maxPollPage     = 100
	maxPageNo       = 100
	maxWindow       = 90 * 24 * time.Hour
	// maxRestarts bounds how often one window is read again because its total changed while it was read.
	maxRestarts = 3
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: PollType, Version: 1, Name: "Youzan: trades changed", Category: nodes.CategoryShops, Trigger: true, Polling: true,
		Description: "Polls the shop for trades changed since the last poll and starts one run per change, as the normalised shop order event.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Trade", Kind: nodes.PortMain}},
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "interval", Label: "Interval", Type: nodes.TypeDuration, Default: "1m",
				Description: "How long to wait after a poll that reached the end of the changes (at least 30s: Youzan's lists lag its changes)."},
			{Name: "overlap", Label: "Overlap", Type: nodes.TypeDuration, Default: "2m", Advanced: true,
				Description: "Each poll starts this long before the end of the last one, so a trade Youzan lists late is not " +
					"missed; a trade seen twice unchanged starts one run."},
			{Name: "pageSize", Label: "Trades per page", Type: nodes.TypeInteger, Default: 50, Advanced: true,
				Description: fmt.Sprintf("How many trades each request asks for (1 to %d).", maxPollPage)},
		},
		Docs: "Polls `" + APITradesSold + "` " + VersionTrades + " for the trades updated in a window (`start_update` a little " +
			"before where the last poll ended, `end_update` the time the walk began, both in Shanghai time), page by page " +
			"(`page_no`, `page_size`), and starts one run per changed trade. The cursor (where the last walk ended, the newest " +
			"trade's number as tie-breaker, and the window and page of a walk in progress) is committed with the runs, so a " +
			"poll resumes where it stopped; a trade's number and update time are its run's dedup key. Youzan says trades that " +
			"change while a window is read move between its pages, so a window whose total changes is read again from its " +
			"first page (dedup keys keep the runs single); a window with more trades than Youzan lists (100 pages) is halved, " +
			"and none is longer than three months. Youzan's rate-limit answers wait instead of failing. A new flow starts " +
			"with the changes from its first poll; an admin can reset the cursor or backfill from a date.\n\n" + shop.Docs,
	}, newPoll)
}

type pollNode struct {
	nodes.PollSettings
}

func newPoll(cfg *nodes.Config) (nodes.Node, error) {
	n := &pollNode{PollSettings: nodes.ReadPollSettings(cfg, minPollInterval, maxPollPage, "trades per page")}
	return n, cfg.Err()
}

// Execute passes the polled trade event on: the run's trigger payload.
func (n *pollNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// walk is a walk in progress, kept in the cursor's token: the window's end, the page to read next, the total the
// first page gave and how often the window was read again.
type walk struct {
	End      time.Time `json:"end"`
	Page     int       `json:"page"`
	Total    int64     `json:"total"`
	Restarts int       `json:"restarts,omitempty"`
}

// Poll fetches the page of changed trades after the cursor.
func (n *pollNode) Poll(ctx context.Context, req *nodes.PollRequest) (*nodes.PollPage, error) {
	cur := req.Cursor
	from := cur.From
	clock := req.Now
	if clock.IsZero() {
		clock = time.Now()
	}
	w := walk{Page: 1, Total: -1}
	if from.IsZero() || cur.Token == "" {
		from = cur.Time.Add(-n.Overlap).Truncate(time.Second)
		w.End = clock.Truncate(time.Second)
		if w.End.Sub(from) > maxWindow {
			w.End = from.Add(maxWindow)
		}
	} else if err := json.Unmarshal([]byte(cur.Token), &w); err != nil || w.Page < 1 || w.End.IsZero() {
		return nil, nodes.NewPermanent("youzan_cursor_invalid", fmt.Errorf("youzan: the poll cursor's walk %q does not read", cur.Token))
	}
	if !w.End.After(from) {
		// Nothing can have changed in an empty window (a clock that went back): start the next poll here.
		return &nodes.PollPage{Next: nodes.PollCursor{Time: cur.Time, ID: cur.ID}}, nil
	}
	x := &nodes.Exec{Mode: req.Mode, HTTP: req.HTTP, Breakers: req.Breakers, Credential: req.Credential}
	a, err := provider.Call(ctx, x, http.MethodPost, apiPath(APITradesSold, VersionTrades), nil, map[string]any{
		"start_update": FormatTime(from), "end_update": FormatTime(w.End), "page_no": int64(w.Page), "page_size": int64(n.PageSize)})
	if err != nil {
		return nil, err
	}
	list, _ := a.Get("/data/full_order_info_list").([]any)
	total, _ := integer(a.Get("/data/total_results"))
	restart := func(w walk) (*nodes.PollPage, error) {
		tok, _ := json.Marshal(w)
		return &nodes.PollPage{Next: nodes.PollCursor{Time: cur.Time, ID: cur.ID, From: from, Token: string(tok)}, More: true}, nil
	}
	if limit := int64(min(maxPageNo*n.PageSize, 10000)); total > limit {
		// More trades than Youzan lists in one window: halve it (the second half is the next walk's).
		half := w.End.Sub(from) / 2
		if half < time.Second {
			return nil, nodes.NewPermanent("youzan_window_too_busy", fmt.Errorf("youzan: %d trades changed in the second after %s, more than Youzan lists", total, FormatTime(from)))
		}
		return restart(walk{End: from.Add(half).Truncate(time.Second), Page: 1, Total: -1})
	}
	if w.Total >= 0 && total != w.Total && w.Restarts < maxRestarts {
		// Trades left the window while it was read, so the pages moved: read it again from the first page.
		return restart(walk{End: w.End, Page: 1, Total: -1, Restarts: w.Restarts + 1})
	}
	page := &nodes.PollPage{Records: make([]nodes.PolledRecord, 0, len(list))}
	newestTime, newestID := cur.Time, cur.ID
	for i, raw := range list {
		item, _ := raw.(map[string]any)
		info, ok := item["full_order_info"].(map[string]any)
		if !ok {
			return nil, nodes.NewPermanent("youzan_response_invalid", fmt.Errorf("youzan: changed trade %d has no full_order_info", i))
		}
		e, err := PolledEvent(info)
		if err != nil {
			return nil, nodes.NewPermanent("youzan_response_invalid", err)
		}
		page.Records = append(page.Records, nodes.PolledRecord{Payload: e.Payload(), DedupKey: e.EventID, BusinessKey: e.OrderNumber})
		t, _ := time.Parse(time.RFC3339, e.Time)
		if t.After(newestTime) || (t.Equal(newestTime) && e.OrderID > newestID) {
			newestTime, newestID = t, e.OrderID
		}
	}
	if len(list) == n.PageSize && w.Page < maxPageNo && (total == 0 || int64(w.Page*n.PageSize) < total) {
		// A full page of a window Youzan counts as larger (or does not count) has a page after it.
		next := walk{End: w.End, Page: w.Page + 1, Total: total, Restarts: w.Restarts}
		tok, _ := json.Marshal(next)
		page.Next, page.More = nodes.PollCursor{Time: newestTime, ID: newestID, From: from, Token: string(tok)}, true
		return page, nil
	}
	// The window is read: the next walk starts a little before its end, whether or not a trade changed in it
	// (a quiet window must not hold the cursor back).
	page.Next = nodes.PollCursor{Time: w.End}
	if newestTime.Equal(w.End) {
		page.Next.ID = newestID
	}
	if clock.Sub(w.End) > n.Overlap {
		// A window cut to three months, or halved, ended before now: the rest follows at once.
		page.More = true
	}
	return page, nil
}

var (
	_ nodes.Node           = (*pollNode)(nil)
	_ nodes.PollingTrigger = (*pollNode)(nil)
)
