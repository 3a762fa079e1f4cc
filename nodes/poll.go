package nodes

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// PollingTrigger is implemented by trigger nodes that fetch what changed at a provider on an interval (D18):
// orders changed since the last poll, records updated in a CRM. The poller keeps a cursor per flow in the
// database and asks the trigger for one page at a time; the runs a page produces and the cursor after it are
// committed together, so a poll resumes exactly where it stopped after a crash, even mid-page, with no record
// lost or run twice.
type PollingTrigger interface {
	Node
	// PollInterval is how long the poller waits after a poll that reached the end of what changed.
	PollInterval() time.Duration
	// Poll fetches the page after req.Cursor. It must not keep state between calls: everything it needs to
	// continue is in the cursor it returns.
	Poll(ctx context.Context, req *PollRequest) (*PollPage, error)
}

// PollCursor is where a polling trigger stopped. A walk fetches everything changed since From, page by page
// (Token is the provider's position within the walk: a page number, a cursor, a next URL); when it reaches the
// end, Time and ID are the newest change seen (its time, and its id as the tie-breaker) and the next walk starts
// a little before Time, so a change that became visible late is not missed (dedup keys make it run once).
type PollCursor struct {
	// Time and ID are the newest change emitted so far.
	Time time.Time `json:"time,omitzero"`
	ID   string    `json:"id,omitempty"`
	// From is where the walk in progress started; zero when no walk is in progress.
	From time.Time `json:"from,omitzero"`
	// Token is the provider's position within the walk in progress; empty means its first page.
	Token string `json:"token,omitempty"`
}

// PollRequest is one page's worth of work for a polling trigger.
type PollRequest struct {
	// Cursor is where the last committed page stopped. A zero cursor never happens: the poller starts a flow at
	// the time it was first polled (only changes from then on), or at a backfill's date.
	Cursor PollCursor
	Mode   Mode
	// Credential returns the decrypted fields of the trigger's credential; HTTP is the guarded client bound to
	// its destinations; Breakers are the process's circuit breakers.
	Credential func(ctx context.Context) (map[string]string, error)
	HTTP       *http.Client
	Breakers   *Breakers
	// Now is the poller's clock.
	Now time.Time
	// ReportUsage and RenewCredential are what a step gets as nodes.Exec's: where to report what the provider
	// said of the account's API allowance, and how to renew a credential whose token the provider refused. Nil
	// when nobody listens, or the credential cannot be renewed.
	ReportUsage     func(provider string, used, limit int64)
	RenewCredential func(ctx context.Context, refused map[string]string) (map[string]string, error)
}

// PollPage is what one poll found.
type PollPage struct {
	// Records become one run each, in order.
	Records []PolledRecord
	// Next is the cursor after this page, committed with the runs.
	Next PollCursor
	// More says another page is waiting now: the poller asks for it at once instead of waiting the interval.
	More bool
}

// PolledRecord is one new or changed record: the run it starts.
type PolledRecord struct {
	Payload map[string]any
	// DedupKey identifies this version of the record (its id and its change time), so a record seen twice (an
	// overlapping walk, a page read again after a crash) makes one run.
	DedupKey    string
	BusinessKey string
}

// PollSettings are the parameters every connector's polling trigger has: how long it waits after a poll that
// reached the end (interval), how far before the newest change seen each poll starts (overlap), and how many
// records each request asks for (pageSize). A trigger embeds them, which also gives it PollInterval.
type PollSettings struct {
	Interval, Overlap time.Duration
	PageSize          int
}

// ReadPollSettings reads a polling trigger's interval, overlap and pageSize parameters and reports each one out
// of its bounds where it is: an interval under minInterval, an overlap outside 0 to 24h, a page size outside 1 to
// maxPage (pageLabel names it in the message: "orders per page").
func ReadPollSettings(cfg *Config, minInterval time.Duration, maxPage int, pageLabel string) PollSettings {
	s := PollSettings{Interval: cfg.Duration("interval"), Overlap: cfg.Duration("overlap"), PageSize: cfg.Int("pageSize")}
	if s.Interval < minInterval {
		cfg.Fail("interval", CodeParamInvalid, fmt.Sprintf("the interval must be at least %s", minInterval))
	}
	if s.Overlap < 0 || s.Overlap > 24*time.Hour {
		cfg.Fail("overlap", CodeParamInvalid, "the overlap must be between 0 and 24h")
	}
	if s.PageSize < 1 || s.PageSize > maxPage {
		cfg.Fail("pageSize", CodeParamInvalid, fmt.Sprintf("%s must be between 1 and %d", pageLabel, maxPage))
	}
	return s
}

// PollInterval is the interval parameter.
func (s PollSettings) PollInterval() time.Duration { return s.Interval }
