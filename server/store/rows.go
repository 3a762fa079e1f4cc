package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// gormStore implements Store with GORM over SQLite or Postgres.
type gormStore struct {
	dialect string
	// w takes every write. On SQLite it is a single connection, on Postgres the same pool as r.
	w *gorm.DB
	// r takes reads that need no transaction.
	r       *gorm.DB
	closers []*sql.DB
	// group commits CreateRun and SaveProgress calls together (group.go).
	group *groupCommitter
	// sealer, when set, encrypts run data at rest (seal.go).
	sealer Sealer
	// stopCheckpoints ends SQLite's background checkpoints (checkpoint.go); nil on Postgres.
	stopCheckpoints, checkpointsDone chan struct{}
}

var _ Store = (*gormStore)(nil)

func (s *gormStore) Ping(ctx context.Context) error {
	for _, db := range s.closers {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping %s: %w", s.dialect, err)
		}
	}
	return nil
}

func (s *gormStore) Close() error {
	s.group.close()
	if s.stopCheckpoints != nil {
		close(s.stopCheckpoints)
		<-s.checkpointsDone
		s.stopCheckpoints = nil
	}
	var errs []error
	for _, db := range s.closers {
		errs = append(errs, db.Close())
	}
	return errors.Join(errs...)
}

func (s *gormStore) Dialect() string { return s.dialect }

// GroupStats implements GroupStatser.
func (s *gormStore) GroupStats() GroupStats { return s.group.stats() }

// Rows: the GORM models, private to the package. Optional values are pointers so that empty maps to NULL.

type flowRow struct {
	ID               string    `gorm:"column:id;primaryKey"`
	Name             string    `gorm:"column:name"`
	Description      string    `gorm:"column:description"`
	Draft            *string   `gorm:"column:draft"`
	Revision         int       `gorm:"column:revision"`
	Status           string    `gorm:"column:status"`
	PublishedVersion int       `gorm:"column:published_version"`
	CreatedAt        time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt        time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (flowRow) TableName() string { return "flows" }

func newFlowRow(f *Flow) flowRow {
	return flowRow{
		ID:               f.ID,
		Name:             f.Name,
		Description:      f.Description,
		Draft:            nullJSON(f.Draft),
		Revision:         f.Revision,
		Status:           f.Status,
		PublishedVersion: f.PublishedVersion,
		CreatedAt:        dbTime(f.CreatedAt),
		UpdatedAt:        dbTime(f.UpdatedAt),
	}
}

func (r *flowRow) flow() Flow {
	return Flow{
		ID:               r.ID,
		Name:             r.Name,
		Description:      r.Description,
		Draft:            fromNullJSON(r.Draft),
		Revision:         r.Revision,
		Status:           r.Status,
		PublishedVersion: r.PublishedVersion,
		CreatedAt:        r.CreatedAt.UTC(),
		UpdatedAt:        r.UpdatedAt.UTC(),
	}
}

type versionRow struct {
	FlowID    string    `gorm:"column:flow_id;primaryKey"`
	Version   int       `gorm:"column:version;primaryKey;autoIncrement:false"`
	Doc       *string   `gorm:"column:doc"`
	Message   string    `gorm:"column:message"`
	CreatedBy string    `gorm:"column:created_by"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (versionRow) TableName() string { return "flow_versions" }

func newVersionRow(v *FlowVersion) versionRow {
	return versionRow{
		FlowID:    v.FlowID,
		Version:   v.Version,
		Doc:       nullJSON(v.Doc),
		Message:   v.Message,
		CreatedBy: v.CreatedBy,
		CreatedAt: dbTime(v.CreatedAt),
	}
}

func (r *versionRow) version() FlowVersion {
	return FlowVersion{
		FlowID:    r.FlowID,
		Version:   r.Version,
		Doc:       fromNullJSON(r.Doc),
		Message:   r.Message,
		CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(),
	}
}

type runRow struct {
	ID           string     `gorm:"column:id;primaryKey"`
	FlowID       string     `gorm:"column:flow_id"`
	FlowVersion  int        `gorm:"column:flow_version"`
	Doc          *string    `gorm:"column:doc"`
	Mode         string     `gorm:"column:mode"`
	Status       string     `gorm:"column:status"`
	TriggerNode  *string    `gorm:"column:trigger_node"`
	Trigger      *string    `gorm:"column:trigger_payload"`
	DedupKey     *string    `gorm:"column:dedup_key"`
	BusinessKey  *string    `gorm:"column:business_key"`
	Attempt      int        `gorm:"column:attempt"`
	Checkpoint   *string    `gorm:"column:checkpoint"`
	Error        *string    `gorm:"column:error"`
	Response     *string    `gorm:"column:response"`
	ReplayOf     *string    `gorm:"column:replay_of"`
	OrderingKey  *string    `gorm:"column:ordering_key"`
	Concurrency  int        `gorm:"column:concurrency"`
	AvailableAt  *time.Time `gorm:"column:available_at"`
	LeaseOwner   *string    `gorm:"column:lease_owner"`
	LeaseUntil   *time.Time `gorm:"column:lease_until"`
	CreatedAt    time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	StartedAt    *time.Time `gorm:"column:started_at"`
	FinishedAt   *time.Time `gorm:"column:finished_at"`
	ParentRunID  *string    `gorm:"column:parent_run_id"`
	ChildIndex   int        `gorm:"column:child_index"`
	Held         bool       `gorm:"column:held"`
	ChildrenOpen int        `gorm:"column:children_open"`
}

func (runRow) TableName() string { return "runs" }

// runListColumns are the columns ListRuns reads: all but the flow document, trigger payload and checkpoint, which
// can be large and which a list of runs does not show.
var runListColumns = []string{
	"id", "flow_id", "flow_version", "mode", "status", "trigger_node", "dedup_key", "business_key", "attempt",
	"error", "response", "replay_of", "ordering_key", "concurrency", "available_at", "lease_owner", "lease_until", "created_at", "started_at",
	"finished_at", "parent_run_id", "child_index", "held", "children_open",
}

func newRunRow(r *Run) runRow {
	return runRow{
		ID:           r.ID,
		FlowID:       r.FlowID,
		FlowVersion:  r.FlowVersion,
		Doc:          nullJSON(r.Doc),
		Mode:         r.Mode,
		Status:       r.Status,
		TriggerNode:  nullString(r.TriggerNode),
		Trigger:      nullJSON(r.Trigger),
		DedupKey:     nullString(r.DedupKey),
		BusinessKey:  nullString(r.BusinessKey),
		Attempt:      r.Attempt,
		Checkpoint:   nullJSON(r.Checkpoint),
		Error:        nullJSON(r.Error),
		Response:     nullJSON(r.Response),
		ReplayOf:     nullString(r.ReplayOf),
		OrderingKey:  nullString(r.OrderingKey),
		Concurrency:  r.Concurrency,
		AvailableAt:  nullTime(r.AvailableAt),
		LeaseOwner:   nullString(r.LeaseOwner),
		LeaseUntil:   nullTime(r.LeaseUntil),
		CreatedAt:    dbTime(r.CreatedAt),
		StartedAt:    nullTime(r.StartedAt),
		FinishedAt:   nullTime(r.FinishedAt),
		ParentRunID:  nullString(r.ParentRunID),
		ChildIndex:   r.ChildIndex,
		Held:         r.Held,
		ChildrenOpen: r.ChildrenOpen,
	}
}

func (r *runRow) run() Run {
	return Run{
		ID:           r.ID,
		FlowID:       r.FlowID,
		FlowVersion:  r.FlowVersion,
		Doc:          fromNullJSON(r.Doc),
		Mode:         r.Mode,
		Status:       r.Status,
		TriggerNode:  fromNullString(r.TriggerNode),
		Trigger:      fromNullJSON(r.Trigger),
		DedupKey:     fromNullString(r.DedupKey),
		BusinessKey:  fromNullString(r.BusinessKey),
		Attempt:      r.Attempt,
		Checkpoint:   fromNullJSON(r.Checkpoint),
		Error:        fromNullJSON(r.Error),
		Response:     fromNullJSON(r.Response),
		ReplayOf:     fromNullString(r.ReplayOf),
		OrderingKey:  fromNullString(r.OrderingKey),
		Concurrency:  r.Concurrency,
		AvailableAt:  fromNullTime(r.AvailableAt),
		LeaseOwner:   fromNullString(r.LeaseOwner),
		LeaseUntil:   fromNullTime(r.LeaseUntil),
		CreatedAt:    r.CreatedAt.UTC(),
		StartedAt:    fromNullTime(r.StartedAt),
		FinishedAt:   fromNullTime(r.FinishedAt),
		ParentRunID:  fromNullString(r.ParentRunID),
		ChildIndex:   r.ChildIndex,
		Held:         r.Held,
		ChildrenOpen: r.ChildrenOpen,
	}
}

type stepRow struct {
	RunID      string     `gorm:"column:run_id;primaryKey"`
	Seq        int        `gorm:"column:seq;primaryKey;autoIncrement:false"`
	NodeID     string     `gorm:"column:node_id"`
	NodeType   string     `gorm:"column:node_type"`
	Attempt    int        `gorm:"column:attempt"`
	Status     string     `gorm:"column:status"`
	Port       string     `gorm:"column:port"`
	Input      *string    `gorm:"column:input"`
	Output     *string    `gorm:"column:output"`
	Error      *string    `gorm:"column:error"`
	StartedAt  *time.Time `gorm:"column:started_at"`
	DurationUS int64      `gorm:"column:duration_us"`
	InputRef   int        `gorm:"column:input_ref"`
}

func (stepRow) TableName() string { return "steps" }

func newStepRow(runID string, st *Step) stepRow {
	input := nullJSON(st.Input)
	if st.InputRef > 0 {
		input = nil
	}
	return stepRow{
		RunID:      runID,
		Seq:        st.Seq,
		NodeID:     st.NodeID,
		NodeType:   st.NodeType,
		Attempt:    st.Attempt,
		Status:     st.Status,
		Port:       st.Port,
		Input:      input,
		Output:     nullJSON(st.Output),
		Error:      nullJSON(st.Error),
		StartedAt:  nullTime(st.StartedAt),
		DurationUS: st.DurationUS,
		InputRef:   st.InputRef,
	}
}

func (r *stepRow) step() Step {
	return Step{
		RunID:      r.RunID,
		Seq:        r.Seq,
		NodeID:     r.NodeID,
		NodeType:   r.NodeType,
		Attempt:    r.Attempt,
		Status:     r.Status,
		Port:       r.Port,
		Input:      fromNullJSON(r.Input),
		Output:     fromNullJSON(r.Output),
		Error:      fromNullJSON(r.Error),
		StartedAt:  fromNullTime(r.StartedAt),
		DurationUS: r.DurationUS,
		InputRef:   r.InputRef,
	}
}

type dedupRow struct {
	FlowID    string    `gorm:"column:flow_id;primaryKey"`
	DedupKey  string    `gorm:"column:dedup_key;primaryKey"`
	RunID     string    `gorm:"column:run_id"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (dedupRow) TableName() string { return "dedup_keys" }

// Value conversions. Times are stored in UTC at microsecond precision (Postgres's), so that what is read back
// equals what was written on both databases, and so that SQLite's text timestamps compare in time order.

func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := dbTime(t)
	return &v
}

func fromNullTime(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return p.UTC()
}

// timeArg is a time as an UPDATE value: NULL when zero.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return dbTime(t)
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func fromNullString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func nullJSON(raw json.RawMessage) *string {
	if len(raw) == 0 {
		return nil
	}
	s := string(raw)
	return &s
}

func fromNullJSON(p *string) json.RawMessage {
	if p == nil {
		return nil
	}
	return json.RawMessage(*p)
}

// jsonArg is a JSON document as an UPDATE value: NULL when empty.
func jsonArg(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}

// notFound maps GORM's missing-row error to ErrNotFound, naming what was missing.
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}
