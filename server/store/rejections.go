package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// WebhookRejection is a webhook call a flow's trigger refused, recorded for admins: when, why (the stable code
// and message the caller got), from where, and how large the body was. The body itself is not kept.
type WebhookRejection struct {
	ID         string
	FlowID     string
	ReceivedAt time.Time
	Status     int
	Code       string
	Message    string
	RemoteIP   string
	BodyBytes  int
}

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
	RecordWebhookRejection(ctx context.Context, r *WebhookRejection) error
	ListWebhookRejections(ctx context.Context, f RejectionFilter) (RejectionPage, error)
}

type rejectionRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	FlowID     string    `gorm:"column:flow_id"`
	ReceivedAt time.Time `gorm:"column:received_at"`
	Status     int       `gorm:"column:status"`
	Code       string    `gorm:"column:code"`
	Message    string    `gorm:"column:message"`
	RemoteIP   string    `gorm:"column:remote_ip"`
	BodyBytes  int       `gorm:"column:body_bytes"`
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
	row := rejectionRow{ID: r.ID, FlowID: r.FlowID, ReceivedAt: dbTime(r.ReceivedAt), Status: r.Status, Code: r.Code,
		Message: msg, RemoteIP: r.RemoteIP, BodyBytes: r.BodyBytes}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		return insertError(err, "record webhook rejection")
	}
	return nil
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
			Code: r.Code, Message: r.Message, RemoteIP: r.RemoteIP, BodyBytes: r.BodyBytes}
	}
	return page, nil
}
