package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// WebhookRejection is a webhook call a flow's trigger refused, recorded for admins: when, why (the stable code
// and message the caller got), from where, and how large the body was. The body itself is not kept. Calls
// refused for the same reason from the same address share one row while they keep coming (RejectionWindow
// apart at most): Repeats counts them and LastAt is the latest, so a flood is one row, not one per call.
type WebhookRejection struct {
	ID         string
	FlowID     string
	ReceivedAt time.Time
	Status     int
	Code       string
	Message    string
	RemoteIP   string
	BodyBytes  int
	Repeats    int
	LastAt     time.Time
}

// RejectionWindow is how long after the latest refused call of a flow, address and code another one is counted
// in the same row.
const RejectionWindow = 10 * time.Minute

// RejectionFilter narrows ListWebhookRejections; newest first, continuing after Cursor.
type RejectionFilter struct {
	FlowID string
	Code   string
	Cursor string
	Limit  int
}

// RejectionPage is one page of ListWebhookRejections.
type RejectionPage struct {
	Rejections []WebhookRejection
	NextCursor string
}

// RejectionStore keeps refused webhook calls.
type RejectionStore interface {
	// RecordWebhookRejection adds r, or counts it in the row of the same flow, address and code whose latest call
	// was at most RejectionWindow before it (r.ID then names that row).
	RecordWebhookRejection(ctx context.Context, r *WebhookRejection) error
	ListWebhookRejections(ctx context.Context, f RejectionFilter) (RejectionPage, error)
	// PruneWebhookRejections deletes each flow's oldest rows beyond the newest keepPerFlow, at most limit rows in
	// all, and returns how many it deleted.
	PruneWebhookRejections(ctx context.Context, keepPerFlow, limit int) (int64, error)
}

type rejectionRow struct {
	ID         string     `gorm:"column:id;primaryKey"`
	FlowID     string     `gorm:"column:flow_id"`
	ReceivedAt time.Time  `gorm:"column:received_at"`
	Status     int        `gorm:"column:status"`
	Code       string     `gorm:"column:code"`
	Message    string     `gorm:"column:message"`
	RemoteIP   string     `gorm:"column:remote_ip"`
	BodyBytes  int        `gorm:"column:body_bytes"`
	Repeats    int        `gorm:"column:repeats"`
	LastAt     *time.Time `gorm:"column:last_at"`
}

func (rejectionRow) TableName() string { return "webhook_rejections" }

// maxRejectionMessage bounds a stored message: the caller controls part of it.
const maxRejectionMessage = 500

func (s *gormStore) RecordWebhookRejection(ctx context.Context, r *WebhookRejection) error {
	if r.ID == "" || r.FlowID == "" {
		return errors.New("store: webhook rejection needs an id and a flow")
	}
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = time.Now()
	}
	msg := r.Message
	if len(msg) > maxRejectionMessage {
		msg = msg[:maxRejectionMessage]
	}
	at := dbTime(r.ReceivedAt)
	// The latest row of the same source and reason, if its last call is recent enough, counts this one too. Two
	// calls racing past this look-up make two rows, which is harmless: the point is a bound, not exactness.
	var recent []rejectionRow
	if err := s.w.WithContext(ctx).Where("flow_id = ? AND remote_ip = ? AND code = ?", r.FlowID, r.RemoteIP, r.Code).
		Order("id DESC").Limit(1).Find(&recent).Error; err != nil {
		return fmt.Errorf("store: record webhook rejection: %w", err)
	}
	if len(recent) == 1 {
		last := recent[0].ReceivedAt
		if recent[0].LastAt != nil {
			last = *recent[0].LastAt
		}
		if !last.Before(at.Add(-RejectionWindow)) {
			res := s.w.WithContext(ctx).Model(&rejectionRow{}).Where("id = ?", recent[0].ID).
				Updates(map[string]any{"repeats": gorm.Expr("repeats + 1"), "last_at": at})
			if res.Error != nil {
				return fmt.Errorf("store: count webhook rejection: %w", res.Error)
			}
			if res.RowsAffected == 1 {
				r.ID = recent[0].ID
				return nil
			}
		}
	}
	row := rejectionRow{ID: r.ID, FlowID: r.FlowID, ReceivedAt: at, Status: r.Status, Code: r.Code,
		Message: msg, RemoteIP: r.RemoteIP, BodyBytes: r.BodyBytes, Repeats: 1, LastAt: &at}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		return insertError(err, "record webhook rejection")
	}
	return nil
}

func (s *gormStore) PruneWebhookRejections(ctx context.Context, keepPerFlow, limit int) (int64, error) {
	if keepPerFlow < 0 || limit <= 0 {
		return 0, errors.New("store: prune webhook rejections: keep must not be negative and limit must be positive")
	}
	var flows []string
	if err := s.r.WithContext(ctx).Model(&rejectionRow{}).Group("flow_id").Having("COUNT(*) > ?", keepPerFlow).
		Pluck("flow_id", &flows).Error; err != nil {
		return 0, fmt.Errorf("store: prune webhook rejections: %w", err)
	}
	var total int64
	for _, flow := range flows {
		var boundary []string
		if err := s.r.WithContext(ctx).Model(&rejectionRow{}).Where("flow_id = ?", flow).Order("id DESC").
			Offset(keepPerFlow).Limit(1).Pluck("id", &boundary).Error; err != nil {
			return total, fmt.Errorf("store: prune webhook rejections of flow %s: %w", flow, err)
		}
		if len(boundary) == 0 {
			continue
		}
		var ids []string
		if err := s.r.WithContext(ctx).Model(&rejectionRow{}).Where("flow_id = ? AND id <= ?", flow, boundary[0]).
			Order("id").Limit(limit-int(total)).Pluck("id", &ids).Error; err != nil {
			return total, fmt.Errorf("store: prune webhook rejections of flow %s: %w", flow, err)
		}
		if len(ids) == 0 {
			continue
		}
		res := s.w.WithContext(ctx).Where("flow_id = ? AND id IN ?", flow, ids).Delete(&rejectionRow{})
		if res.Error != nil {
			return total, fmt.Errorf("store: prune webhook rejections of flow %s: %w", flow, res.Error)
		}
		total += res.RowsAffected
		if total >= int64(limit) {
			break
		}
	}
	return total, nil
}

func (s *gormStore) ListWebhookRejections(ctx context.Context, f RejectionFilter) (RejectionPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultRunPage
	}
	limit = min(limit, maxRunPage)
	q := s.r.WithContext(ctx).Model(&rejectionRow{})
	if f.FlowID != "" {
		q = q.Where("flow_id = ?", f.FlowID)
	}
	if f.Code != "" {
		q = q.Where("code = ?", f.Code)
	}
	if f.Cursor != "" {
		q = q.Where("id < ?", f.Cursor)
	}
	var rows []rejectionRow
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return RejectionPage{}, fmt.Errorf("store: list webhook rejections: %w", err)
	}
	var page RejectionPage
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = rows[limit-1].ID
	}
	page.Rejections = make([]WebhookRejection, len(rows))
	for i, r := range rows {
		page.Rejections[i] = WebhookRejection{ID: r.ID, FlowID: r.FlowID, ReceivedAt: r.ReceivedAt.UTC(), Status: r.Status,
			Code: r.Code, Message: r.Message, RemoteIP: r.RemoteIP, BodyBytes: r.BodyBytes, Repeats: max(r.Repeats, 1),
			LastAt: fromNullTime(r.LastAt)}
		if page.Rejections[i].LastAt.IsZero() {
			page.Rejections[i].LastAt = page.Rejections[i].ReceivedAt
		}
	}
	return page, nil
}
