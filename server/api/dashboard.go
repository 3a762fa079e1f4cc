package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/store"
)

func init() {
	routeGroups = append(routeGroups, (*API).dashboardRoutes)
	schemaGroups = append(schemaGroups, dashboardSchemas)
}

// dashboardWindows are the windows the dashboard offers, each with a bucket size that keeps the chart between
// 60 and 100 bars.
var dashboardWindows = map[string]struct{ span, bucket time.Duration }{
	"1h":  {time.Hour, time.Minute},
	"24h": {24 * time.Hour, 15 * time.Minute},
	"7d":  {7 * 24 * time.Hour, 2 * time.Hour},
}

// queueDepthTimeout bounds the queue depth read, so a slow Redis delays the dashboard by at most this.
const queueDepthTimeout = 2 * time.Second

func (a *API) dashboardRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/dashboard", Permission: PermRunsRead, Tag: "runs",
			Summary:  "Live runs over a window (runs per bucket, totals by status, success rate, failures by flow), dead letters by flow, the backlog and the queue depth",
			Response: "Dashboard", Query: []QueryParam{{"window", "1h (per-minute buckets, the default), 24h (15 minutes) or 7d (2 hours)"}},
			Handler: a.dashboard},
	}
}

func dashboardSchemas() map[string]any {
	counts := map[string]any{"type": "object", "additionalProperties": integer}
	errView := obj(map[string]any{"code": str, "message": str, "nodeId": str})
	return map[string]any{
		"Dashboard": obj(map[string]any{
			"window": str, "bucketSeconds": integer, "since": when, "until": when, "generatedAt": when,
			"buckets": list(obj(map[string]any{"start": when, "total": integer, "byStatus": counts}, "start", "total", "byStatus")),
			"totals": obj(map[string]any{"runs": integer, "byStatus": counts, "finished": integer, "succeeded": integer, "failed": integer,
				"successRate": map[string]any{"type": []string{"number", "null"}, "description": "succeeded / finished (succeeded, failed or cancelled); null when none finished"}},
				"runs", "byStatus", "finished", "successRate"),
			"failures": list(obj(map[string]any{"flowId": str, "flowName": str, "failed": integer, "lastRunId": str, "lastAt": when, "lastError": errView},
				"flowId", "failed")),
			"deadLetters": obj(map[string]any{"total": integer, "byFlow": list(obj(map[string]any{"flowId": str, "flowName": str, "count": integer,
				"oldestAt": when}, "flowId", "count"))}, "total", "byFlow"),
			"backlog": obj(map[string]any{"queued": integer, "delayed": integer, "waiting": integer, "running": integer,
				"oldestQueuedAt": when, "oldestQueuedAgeSeconds": integer}, "queued", "delayed", "waiting", "running"),
			"queue": obj(map[string]any{"depth": map[string]any{"type": []string{"integer", "null"}}, "error": str}, "depth"),
		}, "window", "bucketSeconds", "since", "until", "buckets", "totals", "failures", "deadLetters", "backlog", "queue"),
	}
}

// DashboardResponse is the dashboard's answer.
type DashboardResponse struct {
	Window        string          `json:"window"`
	BucketSeconds int64           `json:"bucketSeconds"`
	Since         time.Time       `json:"since"`
	Until         time.Time       `json:"until"`
	GeneratedAt   time.Time       `json:"generatedAt"`
	Buckets       []BucketView    `json:"buckets"`
	Totals        TotalsView      `json:"totals"`
	Failures      []FailureView   `json:"failures"`
	DeadLetters   DeadLettersView `json:"deadLetters"`
	Backlog       BacklogView     `json:"backlog"`
	Queue         QueueView       `json:"queue"`
}

// BucketView is one bar of the runs-over-time chart.
type BucketView struct {
	Start    time.Time        `json:"start"`
	Total    int64            `json:"total"`
	ByStatus map[string]int64 `json:"byStatus"`
}

// TotalsView sums the window's live runs; SuccessRate is nil when none finished.
type TotalsView struct {
	Runs        int64            `json:"runs"`
	ByStatus    map[string]int64 `json:"byStatus"`
	Finished    int64            `json:"finished"`
	Succeeded   int64            `json:"succeeded"`
	Failed      int64            `json:"failed"`
	SuccessRate *float64         `json:"successRate"`
}

// RunErrorView is a run's error as lists show it, with personal data masked.
type RunErrorView struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	NodeID  string `json:"nodeId,omitempty"`
}

// FailureView is one flow's failures in the window.
type FailureView struct {
	FlowID    string        `json:"flowId"`
	FlowName  string        `json:"flowName,omitempty"`
	Failed    int64         `json:"failed"`
	LastRunID string        `json:"lastRunId,omitempty"`
	LastAt    *time.Time    `json:"lastAt,omitempty"`
	LastError *RunErrorView `json:"lastError,omitempty"`
}

// DeadLettersView counts dead letters now, by flow.
type DeadLettersView struct {
	Total  int64              `json:"total"`
	ByFlow []DeadLetterByFlow `json:"byFlow"`
}

// DeadLetterByFlow is one flow's dead letters.
type DeadLetterByFlow struct {
	FlowID   string     `json:"flowId"`
	FlowName string     `json:"flowName,omitempty"`
	Count    int64      `json:"count"`
	OldestAt *time.Time `json:"oldestAt,omitempty"`
}

// BacklogView is the unfinished work now: queued and ready, delayed (retry backoff, rate-limit parks), waiting
// (delays and other waits) and running.
type BacklogView struct {
	Queued                 int64      `json:"queued"`
	Delayed                int64      `json:"delayed"`
	Waiting                int64      `json:"waiting"`
	Running                int64      `json:"running"`
	OldestQueuedAt         *time.Time `json:"oldestQueuedAt,omitempty"`
	OldestQueuedAgeSeconds *int64     `json:"oldestQueuedAgeSeconds,omitempty"`
}

// QueueView is the depth of the queue in use (in-process or Redis); Depth is nil with Error set when the queue
// did not answer, so the rest of the dashboard still shows.
type QueueView struct {
	Depth *int64 `json:"depth"`
	Error string `json:"error,omitempty"`
}

func (a *API) dashboard(c fiber.Ctx) error {
	window := c.Query("window", "1h")
	w, found := dashboardWindows[window]
	if !found {
		return errBadRequest(CodeBadRequest, "window must be 1h, 24h or 7d")
	}
	now := time.Now().UTC()
	until := now.Truncate(w.bucket).Add(w.bucket)
	since := until.Add(-w.span)
	st, err := a.Store.RunStats(c.Context(), store.StatsQuery{Since: since, Until: until, Bucket: w.bucket, Now: now})
	if err != nil {
		return err
	}
	out := DashboardResponse{Window: window, BucketSeconds: int64(w.bucket / time.Second), Since: since, Until: until, GeneratedAt: now,
		Buckets: make([]BucketView, len(st.Buckets)), Failures: make([]FailureView, len(st.Failures)),
		DeadLetters: DeadLettersView{Total: st.DeadLetterTotal, ByFlow: make([]DeadLetterByFlow, len(st.DeadLetters))}}
	for i, b := range st.Buckets {
		out.Buckets[i] = BucketView{Start: b.Start, Total: b.Total, ByStatus: b.ByStatus}
	}
	out.Totals = TotalsView{ByStatus: st.ByStatus, Succeeded: st.ByStatus[store.RunSucceeded], Failed: st.ByStatus[store.RunFailed]}
	for _, n := range st.ByStatus {
		out.Totals.Runs += n
	}
	out.Totals.Finished = out.Totals.Succeeded + out.Totals.Failed + st.ByStatus[store.RunCancelled]
	if out.Totals.Finished > 0 {
		rate := float64(out.Totals.Succeeded) / float64(out.Totals.Finished)
		out.Totals.SuccessRate = &rate
	}
	for i, f := range st.Failures {
		out.Failures[i] = FailureView{FlowID: f.FlowID, FlowName: f.FlowName, Failed: f.Failed, LastRunID: f.LastRunID,
			LastAt: optTime(f.LastAt), LastError: a.errorView(f.LastError)}
	}
	for i, d := range st.DeadLetters {
		out.DeadLetters.ByFlow[i] = DeadLetterByFlow{FlowID: d.FlowID, FlowName: d.FlowName, Count: d.Count, OldestAt: optTime(d.Oldest)}
	}
	b := st.Backlog
	out.Backlog = BacklogView{Queued: b.Queued, Delayed: b.Delayed, Waiting: b.Waiting, Running: b.Running}
	if !b.OldestQueued.IsZero() {
		age := int64(max(now.Sub(b.OldestQueued), 0) / time.Second)
		out.Backlog.OldestQueuedAt, out.Backlog.OldestQueuedAgeSeconds = optTime(b.OldestQueued), &age
	}
	out.Queue = a.queueDepth(c.Context())
	return ok(c, http.StatusOK, out)
}

// queueDepth reads the depth of the queue the runner uses, the same number /metrics reports.
func (a *API) queueDepth(ctx context.Context) QueueView {
	if a.Runner == nil || a.Runner.Queue == nil {
		return QueueView{Error: "this process has no queue"}
	}
	ctx, cancel := context.WithTimeout(ctx, queueDepthTimeout)
	defer cancel()
	n, err := a.Runner.Queue.Depth(ctx)
	if err != nil {
		a.Logger.Warn("dashboard: queue depth", "err", err)
		return QueueView{Error: err.Error()}
	}
	return QueueView{Depth: &n}
}

// errorView reads a run's error for a list, masking personal data in it; nil when there is none.
func (a *API) errorView(raw json.RawMessage) *RunErrorView {
	if len(raw) == 0 {
		return nil
	}
	masked := a.maskRaw(raw)
	var e RunErrorView
	if err := json.Unmarshal(masked, &e); err != nil {
		return &RunErrorView{Message: string(masked)}
	}
	return &e
}
