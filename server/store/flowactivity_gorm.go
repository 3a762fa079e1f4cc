package store

import (
	"context"
	"fmt"
	"time"
)

// FlowActivity reads every listed flow's newest live run and its failure count over the window in one statement:
// the newest run comes from the (flow_id, id) index, since run ids are UUIDv7 and sort by creation, and the window
// counts are grouped separately over created_at, so a long history outside the window is not counted row by row.
func (s *gormStore) FlowActivity(ctx context.Context, flowIDs []string, since time.Time) (map[string]FlowActivity, error) {
	out := make(map[string]FlowActivity, len(flowIDs))
	if len(flowIDs) == 0 {
		return out, nil
	}
	since = dbTime(since)
	var rows []struct {
		FlowID     string    `gorm:"column:flow_id"`
		LastRunID  string    `gorm:"column:last_run_id"`
		LastStatus string    `gorm:"column:last_status"`
		LastRunAt  time.Time `gorm:"column:last_run_at"`
		Runs       int64     `gorm:"column:runs"`
		Failed     int64     `gorm:"column:failed"`
	}
	err := s.r.WithContext(ctx).Raw(`SELECT l.flow_id, r.id AS last_run_id, r.status AS last_status,
			r.created_at AS last_run_at, COALESCE(w.runs, 0) AS runs, COALESCE(w.failed, 0) AS failed
		FROM (SELECT flow_id, MAX(id) AS last_id FROM runs
			WHERE mode = 'live' AND flow_id IN ? GROUP BY flow_id) l
		JOIN runs r ON r.id = l.last_id
		LEFT JOIN (SELECT flow_id, COUNT(*) AS runs, SUM(CASE WHEN status = ? THEN 1 ELSE 0 END) AS failed FROM runs
			WHERE mode = 'live' AND flow_id IN ? AND created_at >= ? GROUP BY flow_id) w ON w.flow_id = l.flow_id`,
		flowIDs, RunFailed, flowIDs, since).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: flow activity: %w", err)
	}
	for _, r := range rows {
		out[r.FlowID] = FlowActivity{FlowID: r.FlowID, LastRunID: r.LastRunID, LastStatus: r.LastStatus,
			LastRunAt: r.LastRunAt.UTC(), Runs: r.Runs, Failed: r.Failed}
	}
	return out, nil
}
