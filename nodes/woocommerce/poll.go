package woocommerce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// PollType is the node type of the trigger that polls a store for changed orders, for stores whose webhooks
// cannot reach Ferry (a private network, a host that blocks outgoing requests) and for backfills from a date.
const PollType = "woocommerce.orders.poll"

// Bounds of the polling trigger.
const (
	minPollInterval = 10 * time.Second
	maxPollPage     = 100 // the REST API's largest per_page
)

// ordersPages is how the orders list pages: numbered pages, X-WP-TotalPages saying how many there are.
var ordersPages = connector.Pagination{Style: connector.PageNumber, PageKey: "page", SizeKey: "per_page", Size: 20, MaxSize: maxPollPage,
	TotalPages: "X-WP-TotalPages"}

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: PollType, Version: 1, Name: "WooCommerce: orders changed", Category: nodes.CategoryShops, Trigger: true, Polling: true,
		Description: "Polls the store for orders changed since the last poll and starts one run per change, as the normalised shop order event.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Order", Kind: nodes.PortMain}},
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "interval", Label: "Interval", Type: nodes.TypeDuration, Default: "1m",
				Description: "How long to wait after a poll that reached the end of the changes (at least 10s)."},
			{Name: "overlap", Label: "Overlap", Type: nodes.TypeDuration, Default: "2m", Advanced: true,
				Description: "Each poll starts this long before the newest change seen, so an order saved late (a slow " +
					"payment callback, a clock off by a little) is not missed; an order seen twice unchanged starts one run."},
			{Name: "pageSize", Label: "Orders per page", Type: nodes.TypeInteger, Default: 20, Advanced: true,
				Description: fmt.Sprintf("How many orders each request asks for (1 to %d).", maxPollPage)},
		},
		Docs: "Polls `GET /wp-json/wc/v3/orders?modified_after=…&dates_are_gmt=true&orderby=modified&order=asc&page=…&per_page=…` " +
			"for orders modified since a little before the newest change seen (the overlap, and a second more: " +
			"`modified_after` is exclusive), and starts one run per changed order " +
			"(the type from its status, created for an order not changed since it was placed). The cursor (the newest " +
			"`date_modified_gmt` and order id, and the position of a walk in progress) is committed with the runs, so a " +
			"poll resumes where it stopped; the order's id and `date_modified_gmt` are its run's dedup key.\n\n" +
			"**Walk:** WooCommerce compares `modified_after` exclusively and in whole seconds, and moves an order changed " +
			"during a walk to the end of the list, which shifts numbered pages. So a walk does not count pages while it " +
			"can move its start: after a full page it asks again from one second before the last order's change (the " +
			"orders seen again are dropped by their dedup keys), and counts pages (`page=2`, …, to `X-WP-TotalPages`) " +
			"only while a whole page changed in the same second. A 429 with `Retry-After` (a host's limiter) waits as " +
			"asked. A new flow starts with the changes from its first poll; an admin can reset the cursor or backfill " +
			"from a date.\n\n" + shop.Docs,
	}, newPoll)
}

type pollNode struct {
	nodes.PollSettings
}

func newPoll(cfg *nodes.Config) (nodes.Node, error) {
	n := &pollNode{PollSettings: nodes.ReadPollSettings(cfg, minPollInterval, maxPollPage, "orders per page")}
	return n, cfg.Err()
}

// Execute passes the polled order event on: the run's trigger payload.
func (n *pollNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// ChangedQuery is the orders list query for the page of size orders modified after since, oldest change first.
func ChangedQuery(since time.Time, page, size int) url.Values {
	return url.Values{"modified_after": {ModifiedAfter(since)}, "dates_are_gmt": {"true"}, "orderby": {"modified"},
		"order": {"asc"}, "page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(size)}}
}

// Poll fetches the page of changed orders after the cursor. cur.From is where the walk in progress asks from and
// cur.Token its page number (empty: the first).
func (n *pollNode) Poll(ctx context.Context, req *nodes.PollRequest) (*nodes.PollPage, error) {
	cur := req.Cursor
	from := cur.From
	if from.IsZero() {
		// modified_after is exclusive and counts whole seconds: a second more, so an order changed in the
		// second of the newest one seen, after it was read, is in the walk even without an overlap.
		from = cur.Time.Add(-n.Overlap - time.Second)
	}
	page := 1
	if cur.Token != "" {
		p, err := strconv.Atoi(cur.Token)
		if err != nil || p < 1 {
			return nil, nodes.NewPermanent("woocommerce_cursor_invalid", fmt.Errorf("woocommerce: the cursor's page %q is not a page number", cur.Token))
		}
		page = p
	}
	pager, err := connector.NewPager(ordersPages, n.PageSize, Provider)
	if err != nil {
		return nil, err
	}
	x := &nodes.Exec{Mode: req.Mode, HTTP: req.HTTP, Breakers: req.Breakers, Credential: req.Credential}
	a, err := provider.Call(ctx, x, http.MethodGet, "/orders", ChangedQuery(from, page, n.PageSize), nil)
	if page > 1 && pastTheEnd(err) {
		// Orders left the list while the walk counted pages (trashed, changed again): the page asked for is past
		// the end, so the walk is over. Whatever moved is found by the next walk, from the newest change seen.
		return &nodes.PollPage{Next: nodes.PollCursor{Time: cur.Time, ID: cur.ID}}, nil
	}
	if err != nil {
		return nil, err
	}
	list, err := pager.Items(a, nil)
	if err != nil {
		return nil, err
	}
	out := &nodes.PollPage{Records: make([]nodes.PolledRecord, 0, len(list))}
	newest := Watermark{Modified: cur.Time}
	if id, err := strconv.ParseUint(cur.ID, 10, 64); err == nil {
		newest.ID = id
	}
	var first, last time.Time
	for i, raw := range list {
		order, ok := raw.(map[string]any)
		if !ok {
			return nil, nodes.NewPermanent(CodeResponseInvalid, fmt.Errorf("woocommerce: changed order %d is not an object", i))
		}
		mark, err := WatermarkOf(order)
		if err != nil {
			return nil, nodes.NewPermanent(CodeResponseInvalid, err)
		}
		e, err := OrderEvent("", mark.Key(), order)
		if err != nil {
			return nil, nodes.NewPermanent(CodeResponseInvalid, err)
		}
		out.Records = append(out.Records, nodes.PolledRecord{Payload: e.Payload(), DedupKey: e.EventID, BusinessKey: e.OrderNumber})
		if mark.After(newest) {
			newest = mark
		}
		if mark.Modified.After(last) {
			last = mark.Modified
		}
		if first.IsZero() || mark.Modified.Before(first) {
			first = mark.Modified
		}
	}
	out.Next = nodes.PollCursor{Time: newest.Modified, ID: strconv.FormatUint(newest.ID, 10)}
	if pager.Next(a, connector.Position{Page: page}, len(list)) == nil {
		return out, nil // the walk reached the end; the next starts from newest, less the overlap
	}
	out.More = true
	if first.Equal(last) {
		// The whole page changed in one second: moving the start cannot step past it, only the page number can.
		out.Next.From, out.Next.Token = from, strconv.Itoa(page+1)
		return out, nil
	}
	// Move the start to a second before the page's last change instead of counting pages, so what changes
	// during the walk cannot shift a page onto orders not yet read. It moves forward: the page's first change is
	// after from, and its last a second or more after that.
	out.Next.From = last.Add(-time.Second)
	return out, nil
}

// pastTheEnd reports whether err is WordPress refusing a page number beyond the last page
// (400 rest_post_invalid_page_number), which a walk counting pages meets when orders leave the list under it.
func pastTheEnd(err error) bool {
	if err == nil {
		return false
	}
	e := nodes.Classify(err)
	details, _ := e.Details.(map[string]any)
	body, _ := details["body"].(map[string]any)
	return e.Code == "woocommerce_invalid_request" && body["code"] == "rest_post_invalid_page_number"
}

// Watermark is where a reader of changed orders stopped: the last order's date_modified_gmt and its id, the
// tie-breaker among orders changed in the same second.
type Watermark struct {
	Modified time.Time
	ID       uint64
}

// After reports whether w comes after o in the order the changes are listed.
func (w Watermark) After(o Watermark) bool {
	if !w.Modified.Equal(o.Modified) {
		return w.Modified.After(o.Modified)
	}
	return w.ID > o.ID
}

// Key is the dedup key of this version of the order: its id and change time.
func (w Watermark) Key() string {
	return strconv.FormatUint(w.ID, 10) + "@" + w.Modified.Format(time.RFC3339)
}

// WatermarkOf is an order's own position in the list of changes.
func WatermarkOf(order map[string]any) (Watermark, error) {
	t, ok := parseGMT(str(order["date_modified_gmt"]))
	if !ok {
		return Watermark{}, fmt.Errorf("woocommerce: the order's date_modified_gmt %q is not a time", str(order["date_modified_gmt"]))
	}
	id, err := strconv.ParseUint(str(order["id"]), 10, 64)
	if err != nil || id == 0 {
		return Watermark{}, fmt.Errorf("woocommerce: the order's id %q is not a number", str(order["id"]))
	}
	return Watermark{Modified: t, ID: id}, nil
}

var (
	_ nodes.Node           = (*pollNode)(nil)
	_ nodes.PollingTrigger = (*pollNode)(nil)
)
