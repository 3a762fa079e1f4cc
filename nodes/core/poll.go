package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// PollType is the node type of the generic polling trigger: any REST API that lists records changed since a
// time, for the systems that have no connector and send no webhooks (a home-grown CRM, an ERP).
const PollType = "core.poll"

// Stable failure codes of core.poll.
const (
	// CodePollRecordInvalid: a record has no id, or no change time that reads as a time.
	CodePollRecordInvalid = "poll_record_invalid"
)

// Formats the time a poll sends for "changed since".
const (
	sinceRFC3339 = "rfc3339"
	sinceUnix    = "unix"
	sinceUnixMS  = "unixms"
)

// Bounds of core.poll's timing.
const (
	minPollInterval = time.Second
	maxPollOverlap  = 24 * time.Hour
)

func init() {
	paged := map[string][]any{"pagination": {pagingLink, pagingCursor, pagingPage, pagingOffset}}
	nodes.MustRegister(nodes.Spec{
		Type:        PollType,
		Version:     1,
		Name:        "Poll for changes",
		Category:    nodes.CategoryTrigger,
		Description: "Asks an API on an interval for the records changed since the last poll and starts one run per change.",
		Trigger:     true,
		Polling:     true,
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Record", Kind: nodes.PortMain}},
		Credentials: []string{CredentialHTTPAPIKey, CredentialHTTPBearer, CredentialHTTPBasic, CredentialOAuth2AuthCode, CredentialOAuth2Client},
		Params: []nodes.Field{
			{Name: "url", Label: "URL", Type: nodes.TypeString, Required: true,
				Description: "The list of records, sorted by change time, oldest first (add the API's sort parameters here).",
				Examples:    []nodes.Example{{Name: "Orders by modification", Value: "https://erp.example.com/api/orders?sort=updated_at&order=asc"}}},
			{Name: "interval", Label: "Interval", Type: nodes.TypeDuration, Default: "1m",
				Description: "How long to wait after a poll that reached the end of the changes."},
			{Name: "sinceParam", Label: "Changed-since parameter", Type: nodes.TypeString, Required: true,
				Description: "The query parameter that asks for records changed after a time.",
				Examples:    []nodes.Example{{Name: "updated_after", Value: "updated_after"}, {Name: "modified_after", Value: "modified_after"}}},
			{Name: "sinceFormat", Label: "Time format", Type: nodes.TypeSelect, Default: sinceRFC3339,
				Description: "How the API writes times, in the parameter and in the records.",
				Options: []nodes.Option{
					{Value: sinceRFC3339, Label: "RFC 3339", Description: "2026-12-01T09:30:00Z"},
					{Value: sinceUnix, Label: "Unix seconds", Description: "1764581400"},
					{Value: sinceUnixMS, Label: "Unix milliseconds", Description: "1764581400000"},
				}},
			{Name: "overlap", Label: "Overlap", Type: nodes.TypeDuration, Default: "5m", Advanced: true,
				Description: "Each poll starts this long before the newest change seen, so a change the API shows late " +
					"is not missed; changes seen twice start one run."},
			{Name: "itemsPath", Label: "Records at", Type: nodes.TypeString,
				Description: "Where the answer's list of records is, as a JSON pointer; empty when the answer is the list.",
				Examples:    []nodes.Example{{Name: "A data array", Value: "/data"}}},
			{Name: "idPath", Label: "Record id at", Type: nodes.TypeString, Default: "/id",
				Description: "Where each record's id is, as a JSON pointer into the record."},
			{Name: "updatedPath", Label: "Change time at", Type: nodes.TypeString, Default: "/updated_at",
				Description: "Where each record's last change time is, as a JSON pointer into the record."},
			{Name: "businessKeyPath", Label: "Business key at", Type: nodes.TypeString,
				Description: "Where the value runs are searched by is (an order number), as a JSON pointer; empty: the id.",
				Examples:    []nodes.Example{{Name: "Order number", Value: "/number"}}},
			{Name: "pagination", Label: "Pagination", Type: nodes.TypeSelect, Default: pagingNone,
				Description: "How the API pages the list of changes; each poll reads the pages one after another.",
				Options: []nodes.Option{
					{Value: pagingNone, Label: "None", Description: "One request returns every change."},
					{Value: pagingLink, Label: "Link header", Description: "Follow the Link header's rel=\"next\" URL."},
					{Value: pagingCursor, Label: "Cursor", Description: "Each answer gives the next page's cursor, sent back as a query parameter."},
					{Value: pagingPage, Label: "Page number", Description: "Pages numbered from 1 in a query parameter."},
					{Value: pagingOffset, Label: "Offset", Description: "A query parameter skips that many records."},
				}},
			{Name: "nextPath", Label: "Next cursor at", Type: nodes.TypeString, Required: true, ShowIf: map[string][]any{"pagination": {pagingCursor}},
				Description: "Where the next page's cursor is in an answer, as a JSON pointer."},
			{Name: "cursorParam", Label: "Cursor parameter", Type: nodes.TypeString, Required: true, ShowIf: map[string][]any{"pagination": {pagingCursor}},
				Description: "The query parameter the cursor is sent in."},
			{Name: "pageParam", Label: "Page parameter", Type: nodes.TypeString, Default: "page", ShowIf: map[string][]any{"pagination": {pagingPage}},
				Description: "The query parameter that numbers pages, from 1."},
			{Name: "offsetParam", Label: "Offset parameter", Type: nodes.TypeString, Default: "offset", ShowIf: map[string][]any{"pagination": {pagingOffset}},
				Description: "The query parameter that skips records."},
			{Name: "sizeParam", Label: "Page size parameter", Type: nodes.TypeString, ShowIf: map[string][]any{"pagination": {pagingCursor, pagingPage, pagingOffset}},
				Description: "The query parameter that asks for the page size.",
				Examples:    []nodes.Example{{Name: "limit", Value: "limit"}, {Name: "per_page", Value: "per_page"}}},
			{Name: "pageSize", Label: "Records per page", Type: nodes.TypeInteger, Default: 100, ShowIf: paged,
				Description: fmt.Sprintf("How many records each request asks for (1 to %d).", maxHTTPPageSize)},
			{Name: "timeout", Label: "Timeout", Type: nodes.TypeDuration, Default: "30s", Advanced: true,
				Description: "Time allowed for each request, at most 5m."},
		},
		Docs: "Polls an API for what changed, for systems that send no webhooks. The poller keeps a cursor for the " +
			"flow in the database: the newest change seen (its time and id) and, during a walk through the pages, " +
			"where the walk is. Each poll asks for the records changed since a little before the newest change seen " +
			"(*Overlap*), page by page; the runs of each page and the cursor after it are committed together, so a " +
			"poll resumes exactly where it stopped after a crash, and a change seen twice (the overlap, a page read " +
			"again) starts one run: the dedup key is the record's id and change time.\n\n" +
			"A new flow starts with the changes from the moment it is first polled; an admin can reset the cursor or " +
			"backfill from a date (`POST /api/v1/flows/{id}/polling/{node}/backfill`). A 429 or a quota answer waits " +
			"as long as the API asks; other failures wait longer after each one, up to an hour, and show on the trigger.\n\n" +
			"**Output:** the record as the API gave it, one run each; `trigger` in expressions.\n\n" +
			"The API must sort by change time, oldest first: with page numbers, a record changed during a walk moves " +
			"and the next walk finds it again; prefer cursors where the API has them.",
	}, newPoll)
}

type pollNode struct {
	base            *url.URL
	interval        time.Duration
	overlap         time.Duration
	sinceParam      string
	sinceFormat     string
	idPath          connector.Pointer
	updatedPath     connector.Pointer
	businessKeyPath connector.Pointer
	pager           *connector.Paging
	noNext          bool // the API does not page: one request per poll
	fetch           *httpNode
}

func newPoll(cfg *nodes.Config) (nodes.Node, error) {
	n := &pollNode{
		interval: cfg.Duration("interval"), overlap: cfg.Duration("overlap"),
		sinceParam: strings.TrimSpace(cfg.String("sinceParam")), sinceFormat: cfg.String("sinceFormat"),
		fetch: &httpNode{method: http.MethodGet, timeout: cfg.Duration("timeout"), responseType: "json", hasCredential: cfg.Credential != ""},
	}
	if u, err := parseRequestURL(cfg.String("url")); err != nil {
		cfg.Fail("url", nodes.CodeParamInvalid, err.Error())
	} else {
		n.base = u
	}
	if n.interval < minPollInterval {
		cfg.Fail("interval", nodes.CodeParamInvalid, fmt.Sprintf("the interval must be at least %s", minPollInterval))
	}
	if n.overlap < 0 || n.overlap > maxPollOverlap {
		cfg.Fail("overlap", nodes.CodeParamInvalid, fmt.Sprintf("the overlap must be between 0 and %s", maxPollOverlap))
	}
	if n.fetch.timeout <= 0 || n.fetch.timeout > maxHTTPTimeout {
		cfg.Fail("timeout", nodes.CodeParamInvalid, "timeout must be more than 0 and at most 5m")
	}
	pointer := func(name string, required bool) connector.Pointer {
		s := strings.TrimSpace(cfg.String(name))
		if s == "" && !required {
			return nil
		}
		p, err := connector.ParsePointer(s)
		if err != nil || (required && len(p) == 0) {
			cfg.Fail(name, nodes.CodeParamInvalid, fmt.Sprintf("%q is not a JSON pointer such as /id", s))
		}
		return p
	}
	n.idPath, n.updatedPath, n.businessKeyPath = pointer("idPath", true), pointer("updatedPath", true), pointer("businessKeyPath", false)
	style := cfg.String("pagination")
	pg := connector.Pagination{Style: connector.PageStyle(style), Items: strings.TrimSpace(cfg.String("itemsPath")),
		Next: strings.TrimSpace(cfg.String("nextPath")), CursorIn: connector.InQuery, CursorKey: strings.TrimSpace(cfg.String("cursorParam")),
		PageKey: strings.TrimSpace(cfg.String("pageParam")), OffsetKey: strings.TrimSpace(cfg.String("offsetParam")),
		SizeKey: strings.TrimSpace(cfg.String("sizeParam")), Size: 100, MaxSize: maxHTTPPageSize}
	if style == pagingNone || style == "" {
		// One request returns every change: paged as a link list that has no next, so the answer is read the same way.
		pg = connector.Pagination{Style: connector.PageLink, Items: pg.Items}
	}
	size := cfg.Int("pageSize")
	if size < 1 || size > maxHTTPPageSize {
		cfg.Fail("pageSize", nodes.CodeParamInvalid, fmt.Sprintf("records per page must be between 1 and %d", maxHTTPPageSize))
	}
	pager, err := connector.NewPager(pg, size, "http")
	if err != nil {
		cfg.Fail("pagination", nodes.CodeParamInvalid, err.Error())
	}
	n.pager = pager
	n.noNext = style == pagingNone || style == ""
	return n, cfg.Err()
}

// Execute passes the polled record on: the run's trigger payload.
func (n *pollNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// PollInterval is the interval parameter.
func (n *pollNode) PollInterval() time.Duration { return n.interval }

// Poll fetches the page after the cursor: the first page of a walk from a little before the newest change seen,
// or the next page of the walk in progress.
func (n *pollNode) Poll(ctx context.Context, req *nodes.PollRequest) (*nodes.PollPage, error) {
	cur := req.Cursor
	from := cur.From
	if from.IsZero() {
		from = cur.Time.Add(-n.overlap)
	}
	pos := n.pager.First()
	if cur.Token != "" {
		p, err := connector.ParseToken(cur.Token)
		if err != nil {
			return nil, nodes.NewPermanent("poll_cursor_invalid", err)
		}
		pos = p
	}
	u := *n.base
	q := u.Query()
	q.Set(n.sinceParam, n.formatTime(from))
	u.RawQuery = q.Encode()
	x := &nodes.Exec{Mode: req.Mode, HTTP: req.HTTP, Breakers: req.Breakers, Credential: req.Credential}
	r := &httpRequest{method: http.MethodGet, header: http.Header{"Accept": {"application/json"}},
		redactHeaders: map[string]bool{"Authorization": true, "Proxy-Authorization": true}}
	r.url = n.pager.Query(&u, pos, n.pager.Size())
	if err := n.applyCredential(ctx, x, r); err != nil {
		return nil, err
	}
	a, err := n.fetch.exchange(ctx, x, r)
	if err != nil {
		return nil, err
	}
	answer := &connector.Answer{Status: a.status, Header: a.header, Body: a.raw, JSON: a.parsed}
	list, err := n.pager.Items(answer, r.summary())
	if err != nil {
		return nil, err
	}
	page := &nodes.PollPage{Records: make([]nodes.PolledRecord, 0, len(list))}
	newest := nodes.PollCursor{Time: cur.Time, ID: cur.ID}
	for i, item := range list {
		rec, ok := item.(map[string]any)
		if !ok {
			return nil, nodes.NewPermanent(CodePollRecordInvalid, fmt.Errorf("poll: record %d is %s, not an object", i, describe(item)))
		}
		id, changed, err := n.identify(rec)
		if err != nil {
			return nil, nodes.WithDetails(nodes.NewPermanent(CodePollRecordInvalid, fmt.Errorf("poll: record %d: %w", i, err)), map[string]any{"record": rec})
		}
		key := id
		if len(n.businessKeyPath) > 0 {
			if v, ok := n.businessKeyPath.Get(rec); ok && v != nil {
				key = expression.Stringify(v)
			}
		}
		page.Records = append(page.Records, nodes.PolledRecord{Payload: rec, DedupKey: id + "@" + changed.UTC().Format(time.RFC3339Nano), BusinessKey: key})
		if changed.After(newest.Time) || (changed.Equal(newest.Time) && id > newest.ID) {
			newest.Time, newest.ID = changed, id
		}
	}
	var next *connector.Position
	if !n.noNext {
		next = n.pager.Next(answer, pos, len(list))
	}
	page.Next = newest
	if next != nil {
		page.Next.From, page.Next.Token, page.More = from, next.Token(), true
	}
	return page, nil
}

// identify reads a record's id and change time.
func (n *pollNode) identify(rec map[string]any) (string, time.Time, error) {
	idv, ok := n.idPath.Get(rec)
	if !ok || idv == nil || expression.Stringify(idv) == "" {
		return "", time.Time{}, fmt.Errorf("no id at %s", n.idPath)
	}
	tv, ok := n.updatedPath.Get(rec)
	if !ok || tv == nil {
		return "", time.Time{}, fmt.Errorf("no change time at %s", n.updatedPath)
	}
	t, err := n.parseTime(tv)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("change time at %s: %w", n.updatedPath, err)
	}
	return expression.Stringify(idv), t, nil
}

func (n *pollNode) formatTime(t time.Time) string {
	switch n.sinceFormat {
	case sinceUnix:
		return strconv.FormatInt(t.Unix(), 10)
	case sinceUnixMS:
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	return t.UTC().Format(time.RFC3339)
}

func (n *pollNode) parseTime(v any) (time.Time, error) {
	if s, ok := v.(string); ok && n.sinceFormat == sinceRFC3339 {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
		}
		return t, nil
	}
	i, err := toInteger(v)
	if err != nil {
		return time.Time{}, errors.New("not a time in the chosen format")
	}
	if n.sinceFormat == sinceUnixMS {
		return time.UnixMilli(i), nil
	}
	return time.Unix(i, 0), nil
}

// applyCredential puts the trigger's credential on the request as core.http does, after checking that it may
// go there.
func (n *pollNode) applyCredential(ctx context.Context, x *nodes.Exec, r *httpRequest) error {
	cred, err := x.Credential(ctx)
	switch {
	case errors.Is(err, nodes.ErrNoCredential):
		return nil
	case err != nil:
		var typed *nodes.Error
		if errors.As(err, &typed) {
			return fmt.Errorf("poll: load credential: %w", err)
		}
		return nodes.NewRetryable(CodeHTTPCredentialUnavailable, fmt.Errorf("poll: load credential: %w", err))
	}
	if err := egress.CheckDestination(ctx, x.Client(), r.url); err != nil {
		return fmt.Errorf("poll: %w", err)
	}
	query := r.url.Query()
	if err := applyCredential(r, query, cred); err != nil {
		return err
	}
	r.url.RawQuery = query.Encode()
	return nil
}

var (
	_ nodes.Node           = (*pollNode)(nil)
	_ nodes.PollingTrigger = (*pollNode)(nil)
)
