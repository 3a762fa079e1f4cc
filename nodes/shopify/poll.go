package shopify

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// PollType is the node type of the trigger that polls a store for changed orders, for stores whose webhooks
// cannot be used (a private network, an app without webhook scopes) and for backfills from a date.
const PollType = "shopify.orders.poll"

// Bounds of the polling trigger.
const (
	minPollInterval = 10 * time.Second
	maxPollPage     = 30 // the orders query's cost stays under Shopify's single-query limit
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: PollType, Version: 1, Name: "Shopify: orders changed", Category: nodes.CategoryShops, Trigger: true, Polling: true,
		Description: "Polls the store for orders changed since the last poll and starts one run per change, as the normalised shop order event.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Order", Kind: nodes.PortMain}},
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "interval", Label: "Interval", Type: nodes.TypeDuration, Default: "1m",
				Description: "How long to wait after a poll that reached the end of the changes (at least 10s)."},
			{Name: "overlap", Label: "Overlap", Type: nodes.TypeDuration, Default: "2m", Advanced: true,
				Description: "Each poll starts this long before the newest change seen, so an order Shopify shows late is " +
					"not missed; an order seen twice unchanged starts one run."},
			{Name: "pageSize", Label: "Orders per page", Type: nodes.TypeInteger, Default: 20, Advanced: true,
				Description: fmt.Sprintf("How many orders each request asks for (1 to %d, to keep the query's cost under Shopify's limit).", maxPollPage)},
		},
		Docs: "Polls the Admin API (" + APIVersion + ") for orders updated since a little before the newest change seen " +
			"(`orders(query: \"updated_at:>='…'\", sortKey: UPDATED_AT)`, pages through `pageInfo`), and starts one run per " +
			"changed order. The cursor (the newest update time and order id, and the page cursor of a walk in progress) is " +
			"committed with the runs, so a poll resumes where it stopped; an order's id and update time are its run's " +
			"dedup key. Shopify's cost throttling waits as long as the bucket needs. A new flow starts with the changes " +
			"from its first poll; an admin can reset the cursor or backfill from a date.\n\n" + shop.Docs,
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

// Poll fetches the page of changed orders after the cursor.
func (n *pollNode) Poll(ctx context.Context, req *nodes.PollRequest) (*nodes.PollPage, error) {
	cur := req.Cursor
	from := cur.From
	if from.IsZero() {
		from = cur.Time.Add(-n.Overlap)
	}
	x := &nodes.Exec{Mode: req.Mode, HTTP: req.HTTP, Breakers: req.Breakers, Credential: req.Credential}
	a, err := provider.Query(ctx, x, graphQLPath, OrdersChangedQuery, ChangedSinceVariables(from, cur.Token, n.PageSize))
	if err != nil {
		return nil, err
	}
	list, _ := a.Get("/data/orders/nodes").([]any)
	page := &nodes.PollPage{Records: make([]nodes.PolledRecord, 0, len(list))}
	newest := Watermark{UpdatedAt: cur.Time}
	if id, err := strconv.ParseUint(cur.ID, 10, 64); err == nil {
		newest.ID = id
	}
	for i, raw := range list {
		order, ok := raw.(map[string]any)
		if !ok {
			return nil, nodes.NewPermanent("shopify_response_invalid", fmt.Errorf("shopify: changed order %d is not an object", i))
		}
		e, err := OrderEvent(order)
		if err != nil {
			return nil, nodes.NewPermanent("shopify_response_invalid", err)
		}
		mark, err := WatermarkOf(order)
		if err != nil {
			return nil, nodes.NewPermanent("shopify_response_invalid", err)
		}
		page.Records = append(page.Records, nodes.PolledRecord{Payload: e.Payload(), DedupKey: e.EventID, BusinessKey: e.OrderNumber})
		if after, _ := newest.After(order); after {
			newest = mark
		}
	}
	page.Next = nodes.PollCursor{Time: newest.UpdatedAt, ID: strconv.FormatUint(newest.ID, 10)}
	if more, _ := a.Get("/data/orders/pageInfo/hasNextPage").(bool); more {
		end, _ := a.Get("/data/orders/pageInfo/endCursor").(string)
		if end != "" {
			page.Next.From, page.Next.Token, page.More = from, end, true
		}
	}
	return page, nil
}

var (
	_ nodes.Node           = (*pollNode)(nil)
	_ nodes.PollingTrigger = (*pollNode)(nil)
)
