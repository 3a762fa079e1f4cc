package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/store"
)

// ok writes v as JSON with the route's success status.
func ok(c fiber.Ctx, status int, v any) error {
	return c.Status(status).JSON(v)
}

// decodeJSON reads the request body into dst, refusing malformed JSON with its line and column.
func decodeJSON(c fiber.Ctx, dst any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadRequest(CodeInvalidJSON, "the request body is empty; send JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		e := errBadRequest(CodeInvalidJSON, "invalid JSON: %s", err.Error())
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := lineCol(body, max(syn.Offset-1, 0))
			e.Details = map[string]any{"line": line, "column": col}
		}
		return e
	}
	return nil
}

func lineCol(b []byte, off int64) (int, int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	before := b[:off]
	return bytes.Count(before, []byte("\n")) + 1, int(off) - bytes.LastIndexByte(before, '\n')
}

func queryTime(c fiber.Ctx, name string) (time.Time, error) {
	s := c.Query(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errBadRequest(CodeBadRequest, "%s must be an RFC 3339 time such as 2026-11-22T08:00:00Z", name)
	}
	return t, nil
}

func queryInt(c fiber.Ctx, name string, def int) (int, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errBadRequest(CodeBadRequest, "%s must be a whole number", name)
	}
	return n, nil
}

func pathInt(c fiber.Ctx, name string) (int, error) {
	n, err := strconv.Atoi(c.Params(name))
	if err != nil || n < 1 {
		return 0, errBadRequest(CodeBadRequest, "%s must be a positive whole number", name)
	}
	return n, nil
}

// FlowResponse is a flow as the API shows it.
type FlowResponse struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	Description      string          `json:"description,omitempty"`
	Status           string          `json:"status"`
	Revision         int             `json:"revision"`
	PublishedVersion int             `json:"publishedVersion,omitempty"`
	WebhookURL       string          `json:"webhookUrl,omitempty"`
	Flow             json.RawMessage `json:"flow,omitempty"`
	CreatedAt        time.Time       `json:"createdAt"`
	UpdatedAt        time.Time       `json:"updatedAt"`
}

func flowResponse(f *store.Flow, withDoc bool) FlowResponse {
	r := FlowResponse{ID: f.ID, Name: f.Name, Description: f.Description, Status: f.Status, Revision: f.Revision,
		PublishedVersion: f.PublishedVersion, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
	if withDoc {
		r.Flow = f.Draft
	}
	if hasWebhook(f.Draft) {
		r.WebhookURL = "/hooks/" + f.ID
	}
	return r
}

// hasWebhook is a cheap look into a document for a webhook trigger (core.webhook, a payment provider's
// callback), for showing its URL.
func hasWebhook(doc json.RawMessage) bool {
	var d struct {
		Nodes []struct {
			Type    string `json:"type"`
			Version int    `json:"version"`
		} `json:"nodes"`
	}
	if json.Unmarshal(doc, &d) != nil {
		return false
	}
	for _, n := range d.Nodes {
		if r, ok := nodes.Lookup(n.Type, n.Version); ok && r.Spec.Webhook {
			return true
		}
	}
	return false
}

// VersionResponse is a published flow version.
type VersionResponse struct {
	FlowID    string          `json:"flowId"`
	Version   int             `json:"version"`
	Message   string          `json:"message,omitempty"`
	CreatedBy string          `json:"createdBy,omitempty"`
	CreatedAt time.Time       `json:"createdAt"`
	Flow      json.RawMessage `json:"flow,omitempty"`
}

func versionResponse(v *store.FlowVersion, withDoc bool) VersionResponse {
	r := VersionResponse{FlowID: v.FlowID, Version: v.Version, Message: v.Message, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt}
	if withDoc {
		r.Flow = v.Doc
	}
	return r
}

// RunResponse is a run as the API shows it.
type RunResponse struct {
	ID          string          `json:"id"`
	FlowID      string          `json:"flowId"`
	FlowVersion int             `json:"flowVersion"`
	Mode        string          `json:"mode"`
	Status      string          `json:"status"`
	TriggerNode string          `json:"triggerNode,omitempty"`
	Trigger     json.RawMessage `json:"trigger,omitempty"`
	BusinessKey string          `json:"businessKey,omitempty"`
	DedupKey    string          `json:"dedupKey,omitempty"`
	Attempt     int             `json:"attempt"`
	Error       json.RawMessage `json:"error,omitempty"`
	Response    json.RawMessage `json:"response,omitempty"`
	ReplayOf    string          `json:"replayOf,omitempty"`
	AvailableAt *time.Time      `json:"availableAt,omitempty"`
	CreatedAt   time.Time       `json:"createdAt"`
	StartedAt   *time.Time      `json:"startedAt,omitempty"`
	FinishedAt  *time.Time      `json:"finishedAt,omitempty"`
	DurationMS  *int64          `json:"durationMs,omitempty"`
	// ParentRunID names the run whose split started this one, ChildIndex its item; ChildrenOpen, on a parent
	// waiting for its children, how many have not ended.
	ParentRunID  string `json:"parentRunId,omitempty"`
	ChildIndex   *int   `json:"childIndex,omitempty"`
	ChildrenOpen int    `json:"childrenOpen,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func runResponse(r *store.Run) RunResponse {
	out := RunResponse{ID: r.ID, FlowID: r.FlowID, FlowVersion: r.FlowVersion, Mode: r.Mode, Status: r.Status,
		TriggerNode: r.TriggerNode, Trigger: r.Trigger, BusinessKey: r.BusinessKey, DedupKey: r.DedupKey,
		Attempt: r.Attempt, Error: r.Error, Response: r.Response, ReplayOf: r.ReplayOf, CreatedAt: r.CreatedAt,
		StartedAt: optTime(r.StartedAt), FinishedAt: optTime(r.FinishedAt)}
	if r.Status == store.RunQueued || r.Status == store.RunWaiting {
		out.AvailableAt = optTime(r.AvailableAt)
	}
	if r.ParentRunID != "" {
		out.ParentRunID, out.ChildIndex = r.ParentRunID, &r.ChildIndex
	}
	if r.Status == store.RunWaiting {
		out.ChildrenOpen = r.ChildrenOpen
	}
	if !r.FinishedAt.IsZero() {
		d := r.FinishedAt.Sub(r.CreatedAt).Milliseconds()
		out.DurationMS = &d
	}
	return out
}

// StepResponse is one step of a run.
type StepResponse struct {
	Seq        int             `json:"seq"`
	NodeID     string          `json:"nodeId"`
	NodeType   string          `json:"nodeType"`
	Attempt    int             `json:"attempt"`
	Status     string          `json:"status"`
	Port       string          `json:"port,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      json.RawMessage `json:"error,omitempty"`
	StartedAt  time.Time       `json:"startedAt"`
	DurationUS int64           `json:"durationUs"`
}

// RunDetail is a run with its steps.
type RunDetail struct {
	RunResponse
	Steps []StepResponse `json:"steps"`
	// Flow is the document a test run of a draft executed (it has no version to look up), so the run's page can
	// draw its graph; live runs name their version instead.
	Flow json.RawMessage `json:"flow,omitempty"`
}

func runDetail(r *store.Run, steps []store.Step) RunDetail {
	d := RunDetail{RunResponse: runResponse(r), Steps: make([]StepResponse, len(steps))}
	if r.FlowVersion == 0 && len(r.Doc) > 0 {
		d.Flow = r.Doc
	}
	for i, s := range steps {
		d.Steps[i] = StepResponse{Seq: s.Seq, NodeID: s.NodeID, NodeType: s.NodeType, Attempt: s.Attempt, Status: s.Status,
			Port: s.Port, Input: s.Input, Output: s.Output, Error: s.Error, StartedAt: s.StartedAt, DurationUS: s.DurationUS}
	}
	return d
}

// parseDoc parses and validates a flow document from a request, answering 400 with every problem (I9).
func parseDoc(body []byte) (*flows.Flow, json.RawMessage, error) {
	f, err := flows.Parse(body)
	if err != nil {
		return nil, nil, errInvalidFlow(err)
	}
	if problems := flows.Validate(f); problems != nil {
		return nil, nil, errInvalidFlow(&flows.ValidationError{Problems: problems})
	}
	canonical, err := f.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("encode flow: %w", err)
	}
	return f, canonical, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// pageWindow reads the since, until and limit query parameters every paged, time-filtered list shares; limit
// defaults to 50 and is capped at 500.
func pageWindow(c fiber.Ctx) (since, until time.Time, limit int, err error) {
	if since, err = queryTime(c, "since"); err != nil {
		return
	}
	if until, err = queryTime(c, "until"); err != nil {
		return
	}
	if limit, err = queryInt(c, "limit", 50); err != nil {
		return
	}
	return since, until, min(limit, 500), nil
}
