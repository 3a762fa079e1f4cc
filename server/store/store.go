// Package store keeps flows, flow versions, runs, steps and dedup keys in SQLite (embedded mode) or Postgres,
// through GORM. The database is the truth about every run: the queue only carries run ids.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned when the requested row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a conditional update finds the row in another state than expected (a run that
// is no longer queued, a draft saved by someone else since it was read).
var ErrConflict = errors.New("store: conflict")

// DuplicateRunError is returned by CreateRun when the flow already has a run for the dedup key (I3).
type DuplicateRunError struct {
	RunID string
}

func (e *DuplicateRunError) Error() string { return "store: duplicate trigger event, run " + e.RunID }

// Flow status values.
const (
	FlowDraft     = "draft"
	FlowPublished = "published"
	FlowPaused    = "paused"
)

// Flow is an editable flow: its draft document and, once published, the version live triggers run.
type Flow struct {
	ID          string
	Name        string
	Description string
	// Draft is the flow JSON being edited.
	Draft json.RawMessage
	// Revision increases with every save of the draft, for optimistic locking.
	Revision int
	Status   string
	// PublishedVersion is the version live triggers run; 0 when never published.
	PublishedVersion int
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// FlowVersion is an immutable published snapshot of a flow (I8).
type FlowVersion struct {
	FlowID    string
	Version   int
	Doc       json.RawMessage
	Message   string
	CreatedBy string
	CreatedAt time.Time
}

// FlowFilter narrows ListFlows.
type FlowFilter struct {
	Search string // substring of the name, case-insensitive
	Status string
	Limit  int
}

// Run status values. Queued, running and waiting are live; the rest are terminal.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunWaiting   = "waiting"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunCancelled = "cancelled"
)

// Run is one execution of a flow version.
type Run struct {
	ID     string
	FlowID string
	// FlowVersion is the published version the run executes; 0 for a test run of a draft, whose document is
	// then kept in Doc.
	FlowVersion int
	Doc         json.RawMessage
	Mode        string // "live" or "test"
	Status      string
	TriggerNode string
	Trigger     json.RawMessage
	DedupKey    string // empty: no dedup
	BusinessKey string
	Attempt     int
	// Checkpoint is the engine's state needed to resume: pending steps, node outputs, variables.
	Checkpoint json.RawMessage
	// Error is set when the run failed: {code, message, nodeId}.
	Error json.RawMessage
	// Response is the answer a synchronous trigger got (core.respond).
	Response json.RawMessage
	// ReplayOf names the run whose trigger payload this run replays.
	ReplayOf string
	// OrderingKey, when set, makes the run wait for every earlier live run of its flow with the same key.
	OrderingKey string
	// Concurrency caps the flow's runs executing at once (from the flow version's settings); 0: no cap.
	Concurrency int
	// AvailableAt is when a queued or waiting run may next be claimed (retry backoff, delay); zero: at once.
	AvailableAt time.Time
	LeaseOwner  string
	LeaseUntil  time.Time
	CreatedAt   time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	// ParentRunID names the run whose core.split started this one as a child (one run per item); ChildIndex is
	// the item's place. Held children are not claimable until a sibling ends and the store releases them, so
	// no more of a parent's children execute at once than its split allows.
	ParentRunID string
	ChildIndex  int
	Held        bool
	// ChildrenOpen, on a parent, counts its children that have not ended; the last to end queues the parent.
	ChildrenOpen int
	// Wait, for CreateRun only, is the wait a run that executed before it was first stored (a synchronous
	// webhook's run) parked on; it is inserted with the run. Reading a run leaves it nil.
	Wait *Wait
	// Starts, for CreateRun only, are queued runs the run starts as it is stored (the dead-letter triggers of
	// a run that failed before it was first stored), inserted in the same transaction; see Progress.Starts.
	Starts []*Run
}

// Terminal reports whether the run has finished for good.
func (r *Run) Terminal() bool {
	return r.Status == RunSucceeded || r.Status == RunFailed || r.Status == RunCancelled
}

// Step status values.
const (
	StepSucceeded = "succeeded"
	StepFailed    = "failed"
	StepDryRun    = "dry_run"
	StepWaiting   = "waiting"
)

// Step is one node execution within a run; a retried node has one step per attempt.
type Step struct {
	RunID      string
	Seq        int // order within the run, from 1
	NodeID     string
	NodeType   string
	Attempt    int
	Status     string
	Port       string
	Input      json.RawMessage
	Output     json.RawMessage
	Error      json.RawMessage
	StartedAt  time.Time
	DurationUS int64
	// InputRef, when set, says the step's input is the Output of the step with that Seq in the same run (the
	// step itself, for a trigger), so the same JSON is not stored twice. CreateRun and SaveProgress then ignore
	// Input; ListSteps fills it back in.
	InputRef int
}

// RunFilter narrows ListRuns. Results are newest first; Cursor continues after the last run of a page.
type RunFilter struct {
	FlowID string
	// ParentRunID lists the children of that run (core.split).
	ParentRunID string
	Status      []string
	Mode        string
	BusinessKey string
	Since       time.Time // created at or after
	Until       time.Time // created before
	Cursor      string
	Limit       int
}

// RunPage is one page of ListRuns; NextCursor is empty on the last page.
type RunPage struct {
	Runs       []Run
	NextCursor string
}

// Progress is what a worker writes after executing part of a run: the run's new state and the steps it added,
// in one transaction, only while it still holds the lease.
type Progress struct {
	RunID       string
	LeaseOwner  string
	Status      string
	Attempt     int
	Checkpoint  json.RawMessage
	Error       json.RawMessage
	Response    json.RawMessage // written only when set: an answer already given is never withdrawn
	AvailableAt time.Time       // for queued (retry) and waiting runs; zero: claimable at once
	FinishedAt  time.Time       // for terminal runs; zero: now
	Steps       []Step
	// Wait, with Status waiting, is the wait a step parked the run on (a person's decision), inserted in the
	// same transaction, so a parked run always has its wait and a wait always its parked run.
	Wait *Wait
	// Children, with Status waiting, are the child runs of a split (core.split), one per item in item order,
	// started in the same transaction: a child whose dedup key an earlier child of the run holds is not created
	// again, and one that failed or was cancelled is queued again instead (retrying the parent retries only its
	// failed children). ChildParallel children at most are claimable; the others are held until siblings end.
	// The run waits for the children so opened; with none (every item succeeded before) it is queued at once.
	Children      []*Run
	ChildParallel int
	// ParentRunID, for a child run reaching a terminal status, names its parent: the save counts the child as
	// ended on the parent, releases the next held sibling and, when it was the last, queues the parent, all in
	// the same transaction.
	ParentRunID string
	// Woken, when set, receives the runs the save made claimable (children it opened, a released sibling, the
	// parent), which the caller enqueues.
	Woken *[]string
	// Starts are queued runs this progress starts, inserted in the same transaction only if the progress is
	// applied: the runs of the dead-letter triggers watching a run that failed for good, so a failure is never
	// recorded without them. A start whose dedup key is taken is skipped. Saving does not enqueue them.
	Starts []*Run
}

// Store is the persistence Ferry needs. Both implementations (SQLite, Postgres) pass one conformance suite.
type Store interface {
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Close releases the connections.
	Close() error
	// Dialect is "sqlite" or "postgres".
	Dialect() string

	CreateFlow(ctx context.Context, f *Flow) error
	GetFlow(ctx context.Context, id string) (*Flow, error)
	ListFlows(ctx context.Context, filter FlowFilter) ([]Flow, error)
	// SaveDraft replaces the draft (and name/description) if the flow's revision is still expectRevision
	// (0: don't check), and bumps the revision; ErrConflict otherwise.
	SaveDraft(ctx context.Context, f *Flow, expectRevision int) error
	// SetFlowStatus switches a published flow between published and paused.
	SetFlowStatus(ctx context.Context, id, status string) error
	// DeleteFlow removes a flow with its versions, runs, steps and dedup keys.
	DeleteFlow(ctx context.Context, id string) error
	// Publish stores doc as the next version, makes it the published one, and returns it, atomically.
	Publish(ctx context.Context, flowID string, doc json.RawMessage, message, by string) (*FlowVersion, error)
	// Republish makes an existing older version the published one again (rollback, I8).
	Republish(ctx context.Context, flowID string, version int) error
	GetVersion(ctx context.Context, flowID string, version int) (*FlowVersion, error)
	ListVersions(ctx context.Context, flowID string) ([]FlowVersion, error)
	// ImportFlow creates a flow and, when version is non-nil, its first published version, all or nothing.
	ImportFlow(ctx context.Context, f *Flow, version *FlowVersion) error
	// PublishedFlows lists every flow whose status is published, with its published version document.
	PublishedFlows(ctx context.Context) ([]FlowVersion, error)

	// CreateRun inserts a run; with a dedup key already used for the flow it returns *DuplicateRunError and
	// inserts nothing. Steps, when given, are inserted in the same transaction (synchronous webhooks).
	CreateRun(ctx context.Context, r *Run, steps []Step) error
	// CreateRuns inserts the runs of a webhook request that carries several events, all in one transaction or
	// none. A run whose dedup key is already used for its flow (or by an earlier run of the same call) is not
	// inserted: held[i] is the id of the run holding runs[i]'s key, empty when runs[i] was inserted.
	CreateRuns(ctx context.Context, runs []*Run) (held []string, err error)
	GetRun(ctx context.Context, id string) (*Run, error)
	// ListRuns pages through runs newest first (by id: run ids are UUIDv7, generated with uuid.NewV7). Listed
	// runs leave out the large columns, Doc, Trigger and Checkpoint, which stay nil; GetRun has them.
	ListRuns(ctx context.Context, filter RunFilter) (RunPage, error)
	ListSteps(ctx context.Context, runID string) ([]Step, error)
	// ClaimRun moves a queued or waiting run whose AvailableAt has passed, or a running run whose lease has
	// expired, to running under owner's lease; ErrConflict when it is not claimable.
	ClaimRun(ctx context.Context, id, owner string, leaseUntil time.Time) (*Run, error)
	// ExtendLease pushes the lease of a run the owner holds; ErrConflict when the lease was lost.
	ExtendLease(ctx context.Context, id, owner string, leaseUntil time.Time) error
	// SaveProgress applies p if p.LeaseOwner still holds the run's lease; ErrConflict otherwise.
	SaveProgress(ctx context.Context, p Progress) error
	// Transition moves a run from one of the from statuses to status `to`, setting the given fields
	// (cancel, retry from the failed step); ErrConflict when the run is in another status.
	Transition(ctx context.Context, id string, from []string, to string, set RunUpdate) error
	// DueRuns returns ids of runs that should be (re)enqueued: queued or waiting runs with AvailableAt at or
	// before q.Now and no live lease, and running runs whose lease expired before q.Now, oldest id first.
	DueRuns(ctx context.Context, q DueQuery) ([]string, error)
	// WakeRuns returns ids of runs of flowID (with orderingKey, when set) that are claimable now, oldest first:
	// after a run of an ordered or capped flow stops running, the runs it held back are enqueued again.
	WakeRuns(ctx context.Context, flowID, orderingKey string, limit int) ([]string, error)
	// PruneRuns deletes up to q.Limit finished runs of q.FlowID (with their steps and dedup keys) created before
	// q.Before or older than the q.Keep newest runs of the flow, oldest first, in one short transaction, and
	// returns how many it deleted. Callers repeat it until it returns fewer than the limit.
	PruneRuns(ctx context.Context, q PruneQuery) (int64, error)
	// CountRuns counts runs by status, for metrics and readiness.
	CountRuns(ctx context.Context, status string) (int64, error)

	CredentialStore
	AuthStore
	RejectionStore
	StatsStore
	FlowActivityStore
	SettingsStore
	TestSecretStore
	PollStore
	WaitStore
	RotationStore
	EventStore
}

// DueQuery narrows DueRuns. The sweeper pages through every due run with After at start, and between full
// sweeps looks only at runs that became due since its last look (Since), so that a backlog waiting in the queue
// is not enqueued again every few seconds.
type DueQuery struct {
	Now time.Time
	// Since, when set, keeps only runs that became due after it: AvailableAt (queued, waiting) or LeaseUntil
	// (running) later than Since. Runs with no AvailableAt have been due forever and are left to full sweeps.
	Since time.Time
	// After continues a full sweep after this run id.
	After string
	// Expired, when set, keeps only running runs whose lease expired; Waiting keeps only queued and waiting runs.
	// Neither: both kinds.
	Expired, Waiting bool
	// Limit caps the page; 0 means 100.
	Limit int
}

// PruneQuery selects finished runs to delete; a zero Before and a zero Keep select none.
type PruneQuery struct {
	FlowID string
	// Mode, when set, limits the query to runs of that mode ("test"): only they are counted for Keep and
	// deleted, so bounding a flow's test runs never touches its live runs.
	Mode   string
	Before time.Time
	Keep   int
	Limit  int
}

// RunUpdate is the set of run fields Transition may change; nil fields stay as they are. A pointer to the zero
// time clears AvailableAt or FinishedAt; an empty non-nil Checkpoint clears it. A move to a terminal status with
// FinishedAt nil stamps the finish time unless one is recorded.
type RunUpdate struct {
	Attempt     *int
	Checkpoint  json.RawMessage
	Error       json.RawMessage
	AvailableAt *time.Time
	FinishedAt  *time.Time
	// ClearLease drops the lease owner and expiry.
	ClearLease bool
	// ClearError sets the error to null.
	ClearError bool
}
