package loadtest

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Run statuses as the API names them.
const (
	statusQueued    = "queued"
	statusRunning   = "running"
	statusWaiting   = "waiting"
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
	statusCancelled = "cancelled"
)

// liveStatuses are the statuses of runs that have not finished: the filter of the completion wait.
var liveStatuses = strings.Join([]string{statusQueued, statusRunning, statusWaiting}, ",")

// pageSize is the largest page GET /api/v1/runs serves.
const pageSize = 500

// pollInterval is how often the completion wait asks whether runs are left.
const pollInterval = 500 * time.Millisecond

// runsResult is what the runs of the load became.
type runsResult struct {
	byStatus map[string]int64
	// endToEnd holds finished_at − created_at of every finished run.
	endToEnd     []time.Duration
	found        int64
	finished     int64
	firstCreated time.Time
	lastFinished time.Time
	// waitTimedOut is set when runs were still live when the wait ran out.
	waitTimedOut bool
	// allOfFlow is set when some accepted requests did not name their run, so every run of the flow created
	// during the load is counted rather than exactly the load's own.
	allOfFlow bool
}

// runWindow selects the load's runs from the run list: by creation time, then by id.
type runWindow struct {
	flowID       string
	since, until time.Time
	ids          map[string]struct{} // nil: every run of the flow in the time window
}

func (w runWindow) query(extra ...string) url.Values {
	q := url.Values{"flow": {w.flowID}, "limit": {strconv.Itoa(pageSize)},
		"since": {w.since.UTC().Format(time.RFC3339Nano)}, "until": {w.until.UTC().Format(time.RFC3339Nano)}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

func (w runWindow) has(id string) bool {
	if w.ids == nil {
		return true
	}
	_, ok := w.ids[id]
	return ok
}

// windowOf derives the time window of the load's runs. Run ids are UUIDv7, whose first 48 bits are the
// server's clock in milliseconds at creation, so the window comes from the server's own clock and does not
// depend on how well this machine's clock agrees with it. Runs are then matched by id, which leaves out other
// traffic on the same flow. When some accepted requests named no run, the window is taken from this machine's
// clock with a margin and every run of the flow in it is counted.
func windowOf(flowID string, load *loadResult) runWindow {
	w := runWindow{flowID: flowID}
	var lo, hi time.Time
	for _, id := range load.runIDs {
		t, ok := uuidV7Time(id)
		if !ok {
			lo, hi = time.Time{}, time.Time{}
			break
		}
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	if load.noRunID == 0 && !lo.IsZero() {
		w.ids = make(map[string]struct{}, len(load.runIDs))
		for _, id := range load.runIDs {
			w.ids[id] = struct{}{}
		}
		w.since, w.until = lo.Add(-time.Second), hi.Add(time.Second)
		return w
	}
	w.since, w.until = load.start.Add(-time.Minute), load.start.Add(load.elapsed+time.Minute)
	return w
}

// uuidV7Time is the creation time a UUIDv7 carries.
func uuidV7Time(id string) (time.Time, bool) {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Time{}, false
	}
	ms := int64(u[0])<<40 | int64(u[1])<<32 | int64(u[2])<<24 | int64(u[3])<<16 | int64(u[4])<<8 | int64(u[5])
	return time.UnixMilli(ms), true
}

// collectRuns waits until none of the load's runs is queued, running or waiting (or cfg.Wait runs out), then
// pages through them for their statuses and end-to-end latencies.
func collectRuns(ctx context.Context, cfg Config, api *apiClient, flowID string, load *loadResult) (*runsResult, error) {
	res := &runsResult{byStatus: map[string]int64{}}
	if load.accepted == 0 {
		return res, nil
	}
	w := windowOf(flowID, load)
	res.allOfFlow = w.ids == nil

	deadline := time.Now().Add(cfg.Wait)
	lastNote := time.Time{}
	for {
		live, more, err := countLive(ctx, api, w)
		if err != nil {
			return nil, fmt.Errorf("loadtest: list live runs: %w", err)
		}
		if live == 0 {
			break
		}
		if !time.Now().Before(deadline) {
			res.waitTimedOut = true
			break
		}
		if time.Since(lastNote) >= 5*time.Second {
			plus := ""
			if more {
				plus = "+"
			}
			cfg.logf("waiting for %d%s runs still queued, running or waiting", live, plus)
			lastNote = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pollInterval):
		}
	}

	q := w.query()
	for {
		page, err := api.listRuns(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("loadtest: list runs: %w", err)
		}
		for _, r := range page.Runs {
			if w.has(r.ID) {
				res.add(r)
			}
		}
		if page.NextCursor == "" {
			break
		}
		q.Set("cursor", page.NextCursor)
	}
	return res, nil
}

// countLive counts the load's runs that have not finished, reading pages only until it finds some: more
// reports that there may be others beyond the page.
func countLive(ctx context.Context, api *apiClient, w runWindow) (live int64, more bool, err error) {
	q := w.query("status", liveStatuses)
	for {
		page, err := api.listRuns(ctx, q)
		if err != nil {
			return 0, false, err
		}
		for _, r := range page.Runs {
			if w.has(r.ID) {
				live++
			}
		}
		if live > 0 || page.NextCursor == "" {
			return live, page.NextCursor != "", nil
		}
		q.Set("cursor", page.NextCursor)
	}
}

func (res *runsResult) add(r runInfo) {
	res.found++
	res.byStatus[r.Status]++
	if res.firstCreated.IsZero() || r.CreatedAt.Before(res.firstCreated) {
		res.firstCreated = r.CreatedAt
	}
	terminal := r.Status == statusSucceeded || r.Status == statusFailed || r.Status == statusCancelled
	if !terminal || r.FinishedAt == nil {
		return
	}
	res.finished++
	res.endToEnd = append(res.endToEnd, max(r.FinishedAt.Sub(r.CreatedAt), 0))
	if r.FinishedAt.After(res.lastFinished) {
		res.lastFinished = *r.FinishedAt
	}
}
