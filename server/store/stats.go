package store

import (
	"context"
	"encoding/json"
	"time"
)

// StatsStore answers the dashboard's questions about runs: how many, how they ended, where they failed.
type StatsStore interface {
	// RunStats summarises live runs created in [q.Since, q.Until) in buckets of q.Bucket, with totals by status
	// and failures by flow, plus what is true now whatever the window: dead letters by flow and the backlog of
	// queued, waiting and running runs. Each part is one grouped query.
	RunStats(ctx context.Context, q StatsQuery) (*RunStats, error)
	// ListDeadLetters pages through dead letters (failed live runs) newest first. The error code filter is
	// applied after the run's error is read (errors are sealed at rest, so the database cannot compare them): a
	// page may then hold fewer runs than the limit while NextCursor still says there are more to look at.
	ListDeadLetters(ctx context.Context, f DeadLetterFilter) (DeadLetterPage, error)
}

// StatsQuery is the window RunStats looks at. Since and Until should be multiples of Bucket so buckets line up
// with wall-clock minutes and hours.
type StatsQuery struct {
	Since, Until time.Time
	Bucket       time.Duration
	// Now decides which queued runs are delayed (available later) and how old the oldest ready one is; zero: now.
	Now time.Time
	// TopFlows caps the failure and dead-letter lists; 0 means 20.
	TopFlows int
}

// RunStats is the dashboard's picture of runs.
type RunStats struct {
	// Buckets cover the window in order, zero-filled, each counting the live runs created in it by status.
	Buckets []RunBucket
	// ByStatus counts the window's live runs by their current status.
	ByStatus map[string]int64
	// Failures lists flows with failed live runs created in the window, most failures first.
	Failures []FlowFailures
	// DeadLetters lists flows with dead letters now (failed live runs, whenever created), most first.
	DeadLetters []FlowDeadLetters
	// DeadLetterTotal counts every dead letter, including flows beyond the TopFlows cut.
	DeadLetterTotal int64
	Backlog         Backlog
}

// RunBucket counts the live runs created in [Start, Start+bucket) by current status.
type RunBucket struct {
	Start    time.Time
	Total    int64
	ByStatus map[string]int64
}

// FlowFailures is one flow's failed runs in the window, with the newest failure's error so the dashboard can
// say what is going wrong without opening each run.
type FlowFailures struct {
	FlowID   string
	FlowName string
	Failed   int64
	// LastRunID is the newest failed run; LastError its error ({code, message, nodeId}) and LastAt its creation.
	LastRunID string
	LastError json.RawMessage
	LastAt    time.Time
}

// FlowDeadLetters is how many dead letters a flow has and since when.
type FlowDeadLetters struct {
	FlowID   string
	FlowName string
	Count    int64
	// Oldest is the creation time of the flow's oldest dead letter.
	Oldest time.Time
}

// Backlog is the work not finished now, whatever mode. Queued runs whose AvailableAt is still ahead (retry
// backoff, rate-limit parks) are Delayed, not Queued; Waiting runs are parked by a delay or another wait.
type Backlog struct {
	Queued  int64
	Delayed int64
	Waiting int64
	Running int64
	// OldestQueued is the creation time of the oldest run queued and ready to claim; zero when there is none.
	OldestQueued time.Time
}

// DeadLetterFilter narrows ListDeadLetters.
type DeadLetterFilter struct {
	FlowID string
	// Code keeps runs whose error has this code.
	Code  string
	Since time.Time // created at or after
	Until time.Time // created before
	// Cursor continues after the last run looked at by the previous page.
	Cursor string
	Limit  int
}

// DeadLetter is a failed live run with what the dead-letter view shows about its failure.
type DeadLetter struct {
	Run
	// FailedNode is the node the run failed at (from its error); Attempts counts the failed steps of that node.
	FailedNode string
	Attempts   int
}

// DeadLetterPage is one page of ListDeadLetters; NextCursor is empty when nothing is left to look at.
type DeadLetterPage struct {
	DeadLetters []DeadLetter
	NextCursor  string
}
