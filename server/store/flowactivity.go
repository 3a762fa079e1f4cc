package store

import (
	"context"
	"time"
)

// FlowActivityStore answers the flows list's questions about each flow's recent runs.
type FlowActivityStore interface {
	// FlowActivity summarises the live runs of each of flowIDs in one query: the newest run, and how many runs
	// were created at or after since and how many of those failed. Flows without live runs are absent from the
	// map; test runs never count.
	FlowActivity(ctx context.Context, flowIDs []string, since time.Time) (map[string]FlowActivity, error)
}

// FlowActivity is what the flows list shows about a flow's live runs, so a user sees at a glance which flows
// run and which fail.
type FlowActivity struct {
	FlowID string
	// LastRunID, LastStatus and LastRunAt describe the newest live run, whenever it was created.
	LastRunID  string
	LastStatus string
	LastRunAt  time.Time
	// Runs counts the live runs created at or after the window's start; Failed those of them that failed.
	Runs   int64
	Failed int64
}
