package connector

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// PageStyle is how a provider pages a list.
type PageStyle string

// Paging styles.
const (
	// PageCursor: each answer carries the cursor of the next page (at Next), sent back as CursorKey.
	PageCursor PageStyle = "cursor"
	// PageLink: the Link header's rel="next" URL is the next page.
	PageLink PageStyle = "link"
	// PageNumber: pages are numbered from FirstPage (PageKey), SizeKey records each.
	PageNumber PageStyle = "page"
	// PageOffset: OffsetKey skips that many records, SizeKey records each.
	PageOffset PageStyle = "offset"
	// PageGraphQL: a connection's pageInfo (HasNext, EndCursor) and a cursor variable (CursorKey).
	PageGraphQL PageStyle = "graphql"
	// PageNextURL: each answer carries the next page's URL in its body (at Next; Salesforce's nextRecordsUrl),
	// absolute or relative to the request's, requested as it is with the first request's headers.
	PageNextURL PageStyle = "nexturl"
)

// Pagination describes how an operation's list comes page by page.
type Pagination struct {
	Style PageStyle
	// Items points at each answer's records ("/orders", "/data/orders/nodes"); empty: the answer is the list.
	Items string
	// Next points at the next page's cursor in an answer (PageCursor), or its URL (PageNextURL); an empty or
	// missing one ends the list.
	Next string
	// HasNext and EndCursor point at a GraphQL connection's pageInfo fields (PageGraphQL).
	HasNext, EndCursor string
	// CursorIn and CursorKey say where the cursor goes (PageCursor: query, body or variable; PageGraphQL: the
	// variable CursorKey). For PageNumber and PageOffset, CursorIn InBody puts the page (or offset) and the size
	// in the JSON body instead of the query.
	CursorIn  In
	CursorKey string
	// PageKey and FirstPage number pages (PageNumber); OffsetKey counts skipped records (PageOffset).
	PageKey   string
	FirstPage int
	OffsetKey string
	// SizeKey sends the page size (in the query; in the JSON body beside a cursor or page number sent there; as a
	// variable for PageGraphQL); Size is the default and
	// MaxSize the largest the provider accepts.
	SizeKey string
	Size    int
	MaxSize int
	// TotalPages names a header giving the number of pages (WooCommerce's X-WP-TotalPages); without it a page
	// with fewer records than asked is the last (PageNumber, PageOffset).
	TotalPages string
	// More points at a boolean in each answer saying whether more records follow (Zoho's /info/more_records):
	// false ends the list even after a full page (PageNumber, PageOffset).
	More string
	// Place, when set, writes the page into the JSON body itself instead of PageKey or OffsetKey and SizeKey,
	// for providers whose paging is part of a parameter's value (Zoho's COQL query ends in LIMIT offset, size).
	// It gets a copy of the body and returns the body to send (PageNumber, PageOffset with CursorIn InBody).
	Place func(body map[string]any, pos Position, size int) (map[string]any, error)
}

// Bounds of paging parameters.
const (
	maxItemsBound = 100_000
	maxPagesBound = 10_000
)

type compiledPagination struct {
	Pagination
	items, next, hasNext, endCursor, more Pointer
	cursor                                Pointer // for body and variable cursors
}

func compilePagination(op *Operation) (*compiledPagination, error) {
	pg := op.Pagination
	c := &compiledPagination{Pagination: *pg}
	var err error
	if c.items, err = ParsePointer(pg.Items); err != nil {
		return nil, err
	}
	if c.more, err = ParsePointer(pg.More); err != nil {
		return nil, err
	}
	if pg.More != "" && pg.Style != PageNumber && pg.Style != PageOffset {
		return nil, fmt.Errorf("a more-records flag ends numbered or offset pages only")
	}
	if pg.Place != nil && ((pg.Style != PageNumber && pg.Style != PageOffset) || pg.CursorIn != InBody) {
		return nil, fmt.Errorf("a page placed by code is a numbered or offset page in a body (CursorIn InBody)")
	}
	if c.Size <= 0 {
		c.Size = 50
	}
	if c.MaxSize <= 0 {
		c.MaxSize = c.Size
	}
	switch pg.Style {
	case PageCursor:
		if pg.Next == "" || pg.CursorKey == "" {
			return nil, fmt.Errorf("cursor paging needs Next and CursorKey")
		}
		if c.next, err = ParsePointer(pg.Next); err != nil {
			return nil, err
		}
		switch pg.CursorIn {
		case InQuery:
		case InBody, InVariable:
			if c.cursor, err = ParsePointer("/" + strings.TrimPrefix(pg.CursorKey, "/")); err != nil {
				return nil, err
			}
			if pg.CursorIn == InVariable && op.GraphQL == "" {
				return nil, fmt.Errorf("a variable cursor needs a GraphQL document")
			}
		default:
			return nil, fmt.Errorf("a cursor goes in the query, the body or a variable, not %q", pg.CursorIn)
		}
	case PageGraphQL:
		if op.GraphQL == "" || pg.HasNext == "" || pg.EndCursor == "" || pg.CursorKey == "" {
			return nil, fmt.Errorf("GraphQL paging needs a document, HasNext, EndCursor and CursorKey")
		}
		if c.hasNext, err = ParsePointer(pg.HasNext); err != nil {
			return nil, err
		}
		if c.endCursor, err = ParsePointer(pg.EndCursor); err != nil {
			return nil, err
		}
		c.cursor = Pointer{strings.TrimPrefix(pg.CursorKey, "/")}
	case PageLink:
	case PageNextURL:
		if pg.Next == "" {
			return nil, fmt.Errorf("next-URL paging needs Next")
		}
		if c.next, err = ParsePointer(pg.Next); err != nil {
			return nil, err
		}
	case PageNumber:
		if pg.PageKey == "" && pg.Place == nil {
			return nil, fmt.Errorf("page-number paging needs PageKey")
		}
		if pg.CursorIn != "" && pg.CursorIn != InQuery && pg.CursorIn != InBody {
			return nil, fmt.Errorf("a page number goes in the query or the body, not %q", pg.CursorIn)
		}
		if c.FirstPage == 0 {
			c.FirstPage = 1
		}
	case PageOffset:
		if (pg.OffsetKey == "" || pg.SizeKey == "") && pg.Place == nil {
			return nil, fmt.Errorf("offset paging needs OffsetKey and SizeKey")
		}
		if pg.CursorIn != "" && pg.CursorIn != InQuery && pg.CursorIn != InBody {
			return nil, fmt.Errorf("an offset goes in the query or the body, not %q", pg.CursorIn)
		}
	default:
		return nil, fmt.Errorf("unknown paging style %q", pg.Style)
	}
	if (pg.Style == PageNumber || pg.Style == PageOffset) && pg.CursorIn == InBody && (op.Method == http.MethodGet || op.Method == http.MethodHead) {
		return nil, fmt.Errorf("a %s has no body to page in", op.Method)
	}
	return c, nil
}

// fields are the paging parameters every paginated node gets.
func (c *compiledPagination) fields() []nodes.Field {
	return PagingParams(nil, c.Style, c.Size, c.MaxSize)
}

// PagingParams are the parameters of a node that reads a list page by page: one page or all of them, the two
// bounds, the page size and where to start. showIf, when set, is added to every field's show-if conditions (the
// HTTP node shows them only once a paging style is chosen).
func PagingParams(showIf map[string][]any, style PageStyle, size, maxSize int) []nodes.Field {
	with := func(extra map[string][]any) map[string][]any {
		if len(showIf) == 0 && len(extra) == 0 {
			return nil
		}
		out := map[string][]any{}
		for k, v := range showIf {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	all := map[string][]any{"pages": {"all", "each"}}
	each := map[string][]any{"pages": {"each"}}
	startLabel := map[PageStyle]string{PageCursor: "Start at cursor", PageGraphQL: "Start at cursor", PageLink: "Start at URL", PageNextURL: "Start at URL",
		PageNumber: "Start at page", PageOffset: "Start at record"}[style]
	if startLabel == "" {
		startLabel = "Start at"
	}
	return []nodes.Field{
		{Name: "pages", TextKey: "connector.paging.pages", Label: "Pages", Type: nodes.TypeSelect, Default: "one", ShowIf: with(nil),
			Description: "One page, or every page up to the limits below. The output's next continues where it stopped. " +
				"One run per record reads every page up to the limits and runs the nodes after this one once per record, each " +
				"as a run of its own (like core.split); the run then ends here.",
			Options: []nodes.Option{
				{Value: "one", Label: "One page"},
				{Value: "all", Label: "All pages, up to the limits"},
				{Value: "each", Label: "One run per record, up to the limits"},
			}},
		{Name: "parallel", TextKey: "connector.paging.parallel", Label: "Runs at once", Type: nodes.TypeInteger, Default: 10, ShowIf: with(each),
			Description: fmt.Sprintf("With one run per record: how many of the records' runs execute at the same time (1 to %d).", nodes.MaxChildParallel)},
		{Name: "maxItems", TextKey: "connector.paging.maxItems", Label: "At most this many records", Type: nodes.TypeInteger, Default: 1000, ShowIf: with(all),
			Description: fmt.Sprintf("Stop once this many records are read (1 to %d).", maxItemsBound)},
		{Name: "maxPages", TextKey: "connector.paging.maxPages", Label: "At most this many pages", Type: nodes.TypeInteger, Default: 50, ShowIf: with(all),
			Description: fmt.Sprintf("Stop after this many requests (1 to %d).", maxPagesBound)},
		{Name: "pageSize", TextKey: "connector.paging.pageSize", Label: "Records per page", Type: nodes.TypeInteger, Default: size, Advanced: true, ShowIf: with(nil),
			Description: fmt.Sprintf("How many records each request asks for (1 to %d).", maxSize)},
		{Name: "start", TextKey: "connector.paging.start", Label: startLabel, Type: nodes.TypeString, Expression: true, Advanced: true, ShowIf: with(nil),
			Description: "Continue a list from where an earlier step stopped: its output's next.",
			Examples:    []nodes.Example{{Name: "Where the previous step stopped", Value: "{{ prev.next }}"}}},
	}
}

func (c *compiledPagination) docs() string {
	how := map[PageStyle]string{
		PageCursor:  "a cursor each answer gives for the next page",
		PageGraphQL: "the connection's pageInfo (endCursor, hasNextPage)",
		PageLink:    "the Link header's next URL",
		PageNextURL: "the next page's URL each answer gives",
		PageNumber:  "numbered pages",
		PageOffset:  "an offset and a page size",
	}[c.Style]
	return "**Pages:** the list comes in pages (" + how + "). The node reads one page, or every page up to " +
		"*At most this many records* and *At most this many pages*, and outputs `{\"items\": […], \"count\": n, " +
		"\"pages\": n, \"complete\": true|false, \"next\": …}`: `complete` is true when the list ended, and `next`, " +
		"given to *Start at* of a later step, continues where this one stopped. With *One run per record*, the nodes " +
		"after this one run once per record, each as a run of its own (*Runs at once* at a time, like `core.split`), " +
		"and the run ends at this node with their summary once they ended."
}

// pagingConfig is a node's paging parameters.
type pagingConfig struct {
	all      bool
	each     bool // one run per record
	parallel int
	maxItems int
	maxPages int
	size     int
	start    *expression.Template
}

func (c *compiledPagination) configure(cfg *nodes.Config) pagingConfig {
	mode := cfg.String("pages")
	p := pagingConfig{all: mode == "all" || mode == "each", each: mode == "each", maxItems: cfg.Int("maxItems"), maxPages: cfg.Int("maxPages"),
		size: cfg.Int("pageSize"), parallel: cfg.Int("parallel")}
	if p.maxItems < 1 || p.maxItems > maxItemsBound {
		cfg.Fail("maxItems", nodes.CodeParamInvalid, fmt.Sprintf("at most this many records must be between 1 and %d", maxItemsBound))
	}
	if p.each && p.maxItems > nodes.MaxChildRuns {
		cfg.Fail("maxItems", nodes.CodeParamInvalid, fmt.Sprintf("with one run per record, at most %d records", nodes.MaxChildRuns))
	}
	if p.each && (p.parallel < 1 || p.parallel > nodes.MaxChildParallel) {
		cfg.Fail("parallel", nodes.CodeParamInvalid, fmt.Sprintf("runs at once must be between 1 and %d", nodes.MaxChildParallel))
	}
	if p.maxPages < 1 || p.maxPages > maxPagesBound {
		cfg.Fail("maxPages", nodes.CodeParamInvalid, fmt.Sprintf("at most this many pages must be between 1 and %d", maxPagesBound))
	}
	if p.size < 1 || p.size > c.MaxSize {
		cfg.Fail("pageSize", nodes.CodeParamInvalid, fmt.Sprintf("records per page must be between 1 and %d", c.MaxSize))
	}
	p.start = cfg.Template("start")
	return p
}

// Position is where a page starts: a cursor, a URL, a page number or an offset.
type Position struct {
	Cursor string `json:"cursor,omitempty"`
	URL    string `json:"url,omitempty"`
	Page   int    `json:"page,omitempty"`
	Offset int    `json:"offset,omitempty"`
}

// Paging reads a list page by page within a node's bounds: one page, or every page up to a number of records
// and of pages. The connector runtime pages its operations with it, and the HTTP node its requests.
type Paging struct {
	p    *compiledPagination
	cfg  pagingConfig
	code string
}

// NewPaging checks a paging description and reads the PagingParams of a node from cfg (problems go to cfg);
// failure codes are prefixed with who ("http" gives http_response_invalid).
func NewPaging(cfg *nodes.Config, pg Pagination, who string) *Paging {
	cp, err := compilePagination(&Operation{Pagination: &pg})
	if err != nil {
		cfg.Fail("pagination", nodes.CodeParamInvalid, err.Error())
		return nil
	}
	return &Paging{p: cp, cfg: cp.configure(cfg), code: who}
}

// Fetch sends the request for the page at pos asking for size records, and returns the answer with the request
// as a failure shows it.
type Fetch func(ctx context.Context, pos Position, size int) (*Answer, map[string]any, error)

// Run reads the pages fetch gives, starting where the start parameter says, and outputs
// {items, count, pages, complete, next}.
func (pg *Paging) Run(ctx context.Context, env map[string]any, fetch Fetch) (map[string]any, error) {
	pc, cfg := pg.p, pg.cfg
	pos, err := pg.startPosition(env)
	if err != nil {
		return nil, err
	}
	items := []any{}
	pages := 0
	complete := false
	var next *Position
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		size := cfg.size
		if cfg.all && pc.shrinks() {
			size = min(size, cfg.maxItems-len(items))
		}
		a, shown, err := fetch(ctx, pos, size)
		if err != nil {
			return nil, err
		}
		raw, ok := pc.items.Get(a.JSON)
		list, isList := raw.([]any)
		if !ok || (!isList && raw != nil) {
			return nil, nodes.WithDetails(nodes.NewPermanent(pg.code+"_response_invalid",
				fmt.Errorf("%s: the answer has no list of records at %q", pg.code, pc.Items)), detailsOf(a, shown))
		}
		items = append(items, list...)
		pages++
		next = pc.nextPosition(a, pos, len(list), size)
		if next == nil {
			complete = true
			break
		}
		if !cfg.all || pages >= cfg.maxPages || len(items) >= cfg.maxItems {
			break
		}
		pos = *next
	}
	out := map[string]any{"pages": int64(pages), "complete": complete}
	if cfg.all && len(items) > cfg.maxItems {
		// The last page went past the bound (its size could not be lowered): the list is cut, and continuing
		// from next would skip the records cut, so there is no next.
		items, next = items[:cfg.maxItems], nil
	}
	out["items"], out["count"] = items, int64(len(items))
	out["next"] = nil
	if !complete && next != nil {
		out["next"] = next.text(pc.Style)
	}
	return out, nil
}

// Resumed is the result of a node that gave its records to one run each, once those runs have ended: their
// summary, following no edge (the run ends at the node). It is false when the node's step did not wait for them.
func (pg *Paging) Resumed(x *nodes.Exec) (nodes.Result, bool) {
	if pg == nil || !pg.cfg.each || x.Resume == nil {
		return nodes.Result{}, false
	}
	summary := map[string]any{}
	if len(x.Resume.Decision) > 0 && json.Unmarshal(x.Resume.Decision, &summary) != nil {
		summary = map[string]any{}
	}
	if x.Resume.TimedOut {
		summary["timedOut"] = true
	}
	return nodes.Result{Output: summary, Port: nodes.PortEnd}, true
}

// Result is what a node outputs for the pages Run read: the list, or, with one run per record, child runs for
// the records (in a test run, which cannot start runs, the first record goes on in the run itself).
func (pg *Paging) Result(x *nodes.Exec, out map[string]any, err error) (nodes.Result, error) {
	if err != nil || !pg.cfg.each {
		return nodes.Result{Output: out}, err
	}
	items, _ := out["items"].([]any)
	if len(items) == 0 {
		return nodes.Result{Output: map[string]any{"total": 0, "succeeded": 0, "failed": 0, "cancelled": 0, "children": []any{}},
			Port: nodes.PortEnd}, nil
	}
	if x.Mode != nodes.ModeLive {
		return nodes.Result{Output: items[0]}, nil
	}
	keys := make([]string, len(items))
	for i := range items {
		keys[i] = strconv.Itoa(i)
	}
	return nodes.Result{Split: &nodes.Split{Port: nodes.DefaultPort, Items: items, Keys: keys, Parallel: pg.cfg.parallel}}, nil
}

// Query moves a request URL to pos, asking for size records, for paging styles that live in the query: the next
// URL of a Link header as it is, else the page, offset, cursor and size parameters set.
func (pg *Paging) Query(u *url.URL, pos Position, size int) *url.URL {
	if pos.URL != "" {
		if next, err := url.Parse(pos.URL); err == nil {
			// A next URL may be relative to the request's (Salesforce's "/services/data/…/query/01g…-2000").
			return u.ResolveReference(next)
		}
	}
	pc := pg.p
	out := *u
	q := out.Query()
	if pc.SizeKey != "" {
		q.Set(pc.SizeKey, strconv.Itoa(size))
	}
	switch pc.Style {
	case PageNumber:
		q.Set(pc.PageKey, strconv.Itoa(pos.Page))
	case PageOffset:
		q.Set(pc.OffsetKey, strconv.Itoa(pos.Offset))
	case PageCursor:
		if pos.Cursor != "" {
			q.Set(pc.CursorKey, pos.Cursor)
		}
	}
	out.RawQuery = q.Encode()
	return &out
}

// shrinks reports whether the last page may ask for fewer records than the others without shifting the list.
func (c *compiledPagination) shrinks() bool {
	return c.SizeKey != "" && (c.Style == PageCursor || c.Style == PageGraphQL || c.Style == PageOffset)
}

// startPosition is where the list starts: the start parameter, or the beginning.
func (pg *Paging) startPosition(env map[string]any) (Position, error) {
	pc := pg.p
	pos := Position{Page: pc.FirstPage}
	if pg.cfg.start == nil {
		return pos, nil
	}
	s, err := pg.cfg.start.EvalString(env)
	if err != nil {
		return pos, nodes.EvalFailed(pg.code, "start", err)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return pos, nil
	}
	bad := func(what string) error {
		return nodes.NewPermanent(pg.code+"_request_invalid", fmt.Errorf("%s: start: %q is not %s", pg.code, s, what))
	}
	switch pc.Style {
	case PageCursor, PageGraphQL:
		pos.Cursor = s
	case PageLink:
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() {
			return pos, bad("a URL")
		}
		pos.URL = s
	case PageNextURL:
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() && !strings.HasPrefix(u.Path, "/") || u.Host != "" && !u.IsAbs() {
			return pos, bad("a URL or an absolute path")
		}
		pos.URL = s
	case PageNumber:
		p, err := strconv.Atoi(s)
		if err != nil || p < 0 {
			return pos, bad("a page number")
		}
		pos.Page = p
	case PageOffset:
		o, err := strconv.Atoi(s)
		if err != nil || o < 0 {
			return pos, bad("a record number")
		}
		pos.Offset = o
	}
	return pos, nil
}

// paginate reads an operation's pages.
func (n *node) paginate(ctx context.Context, x *nodes.Exec, fields map[string]string, first *request) (nodes.Result, error) {
	pg := &Paging{p: n.c.page, cfg: n.paging, code: n.c.p.Name}
	out, err := pg.Run(ctx, envOf(x), func(ctx context.Context, pos Position, size int) (*Answer, map[string]any, error) {
		r, err := n.pageRequest(first, pos, size)
		if err != nil {
			return nil, nil, err
		}
		a, err := n.send(ctx, x, fields, r)
		if err != nil {
			return nil, nil, err
		}
		return a, r.shown(), nil
	})
	return pg.Result(x, out, err)
}

// pageRequest is the first request moved to pos, asking for size records.
func (n *node) pageRequest(first *request, pos Position, size int) (*request, error) {
	pc := n.c.page
	r := first.clone()
	if pc.CursorIn != InBody && pc.CursorIn != InVariable && pc.Style != PageGraphQL {
		r.url = (&Paging{p: pc}).Query(r.url, pos, size)
		return r, nil
	}
	switch pc.Style {
	case PageNumber, PageOffset:
		// Providers that take every parameter in a JSON body (Youzan) take the page there too.
		r.jsonBody = copyMap(r.jsonBody)
		if pc.Place != nil {
			body, err := pc.Place(r.jsonBody, pos, size)
			if err != nil {
				return nil, n.invalid("%v", err)
			}
			r.jsonBody = body
			if err := r.encodeJSON(); err != nil {
				return nil, n.invalid("encode the body: %v", err)
			}
			return r, nil
		}
		if pc.Style == PageNumber {
			r.jsonBody[pc.PageKey] = int64(pos.Page)
		} else {
			r.jsonBody[pc.OffsetKey] = int64(pos.Offset)
		}
		if pc.SizeKey != "" {
			r.jsonBody[pc.SizeKey] = int64(size)
		}
		if err := r.encodeJSON(); err != nil {
			return nil, n.invalid("encode the body: %v", err)
		}
		return r, nil
	case PageCursor:
		if pos.Cursor != "" {
			switch pc.CursorIn {
			case InBody:
				r.jsonBody = pc.cursor.Set(copyMap(r.jsonBody), pos.Cursor)
			case InVariable:
				r.vars = pc.cursor.Set(copyMap(r.vars), pos.Cursor)
			}
		}
		switch {
		case pc.SizeKey != "" && pc.CursorIn == InBody:
			// A provider taking the cursor in a JSON body (HubSpot's search) takes the page size beside it.
			r.jsonBody = Pointer{pc.SizeKey}.Set(copyMap(r.jsonBody), int64(size))
		case pc.SizeKey != "":
			q := r.url.Query()
			q.Set(pc.SizeKey, strconv.Itoa(size))
			r.url.RawQuery = q.Encode()
		}
	case PageGraphQL:
		vars := copyMap(r.vars)
		if pos.Cursor != "" {
			vars = pc.cursor.Set(vars, pos.Cursor)
		}
		if pc.SizeKey != "" {
			vars = Pointer{pc.SizeKey}.Set(vars, int64(size))
		}
		r.vars = vars
	}
	if err := r.encode(n.c); err != nil {
		return nil, n.invalid("encode the body: %v", err)
	}
	return r, nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// detailsOf is what a failure keeps of an exchange the runtime did not classify itself.
func detailsOf(a *Answer, shown map[string]any) map[string]any {
	d := map[string]any{"status": a.Status, "request": shown}
	switch {
	case a.JSON != nil && len(a.Body) <= detailJSONBytes:
		d["body"] = a.JSON
	case len(a.Body) > 0:
		d["body"] = truncate(string(a.Body), detailBytes)
	}
	return d
}

var linkNext = regexp.MustCompile(`<([^>]+)>\s*;[^,]*\brel="?next"?`)

// nextPosition is where the page after the one answered by a starts, or nil when that was the last page.
func (c *compiledPagination) nextPosition(a *Answer, pos Position, got, asked int) *Position {
	if len(c.more) > 0 {
		if more, ok := c.more.Get(a.JSON); ok {
			if b, isBool := more.(bool); isBool && !b {
				return nil
			}
		}
	}
	switch c.Style {
	case PageCursor:
		v, _ := c.next.Get(a.JSON)
		s := cursorText(v)
		if s == "" || s == pos.Cursor {
			return nil
		}
		return &Position{Cursor: s}
	case PageGraphQL:
		more, _ := c.hasNext.Get(a.JSON)
		end, _ := c.endCursor.Get(a.JSON)
		if b, _ := more.(bool); !b || cursorText(end) == "" {
			return nil
		}
		return &Position{Cursor: cursorText(end)}
	case PageNextURL:
		v, _ := c.next.Get(a.JSON)
		s := cursorText(v)
		if s == "" || s == pos.URL {
			return nil
		}
		return &Position{URL: s}
	case PageLink:
		m := linkNext.FindStringSubmatch(strings.Join(a.Header.Values("Link"), ","))
		if m == nil {
			return nil
		}
		return &Position{URL: m[1]}
	case PageNumber:
		if c.TotalPages != "" {
			if total, err := strconv.Atoi(a.Header.Get(c.TotalPages)); err == nil {
				if pos.Page >= total+c.FirstPage-1 {
					return nil
				}
				return &Position{Page: pos.Page + 1}
			}
		}
		if got == 0 || got < asked {
			return nil
		}
		return &Position{Page: pos.Page + 1}
	case PageOffset:
		if got == 0 || got < asked {
			return nil
		}
		return &Position{Offset: pos.Offset + got}
	}
	return nil
}

func cursorText(v any) string {
	switch c := v.(type) {
	case nil:
		return ""
	case string:
		return c
	}
	return expression.Stringify(v)
}

// text is the position as the output's next shows it and the start parameter reads it.
func (p Position) text(style PageStyle) any {
	switch style {
	case PageLink, PageNextURL:
		return p.URL
	case PageNumber:
		return int64(p.Page)
	case PageOffset:
		return int64(p.Offset)
	}
	return p.Cursor
}

// NewPager checks a paging description for a caller that pages by itself, one page per call (a polling
// trigger keeps its position in its cursor): size is the page size it asks for.
func NewPager(pg Pagination, size int, who string) (*Paging, error) {
	cp, err := compilePagination(&Operation{Pagination: &pg})
	if err != nil {
		return nil, err
	}
	if size < 1 {
		size = cp.Size
	}
	return &Paging{p: cp, cfg: pagingConfig{size: size, maxItems: maxItemsBound, maxPages: maxPagesBound}, code: who}, nil
}

// Size is the page size the pager asks for.
func (pg *Paging) Size() int { return pg.cfg.size }

// First is where a list starts.
func (pg *Paging) First() Position { return Position{Page: pg.p.FirstPage} }

// Items returns the records of one page's answer, or a permanent failure when the answer has no list where the
// description says.
func (pg *Paging) Items(a *Answer, shown map[string]any) ([]any, error) {
	raw, ok := pg.p.items.Get(a.JSON)
	list, isList := raw.([]any)
	if !ok || (!isList && raw != nil) {
		return nil, nodes.WithDetails(nodes.NewPermanent(pg.code+"_response_invalid",
			fmt.Errorf("%s: the answer has no list of records at %q", pg.code, pg.p.Items)), detailsOf(a, shown))
	}
	return list, nil
}

// Next is where the page after the one answered by a starts, or nil when that was the last.
func (pg *Paging) Next(a *Answer, pos Position, got int) *Position {
	return pg.p.nextPosition(a, pos, got, pg.cfg.size)
}

// Token writes a position for a cursor; ParseToken reads it back.
func (p Position) Token() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// ParseToken reads a position written by Token.
func ParseToken(s string) (Position, error) {
	var p Position
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return Position{}, fmt.Errorf("connector: the page position %q does not read: %w", s, err)
	}
	return p, nil
}
