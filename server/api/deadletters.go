package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/store"
)

func init() {
	routeGroups = append(routeGroups, (*API).deadLetterRoutes)
	schemaGroups = append(schemaGroups, deadLetterSchemas)
}

// maxBulkRetry caps the runs one bulk retry touches: the ids a caller may send, and the runs a filter retries
// before answering with a cursor to go on from.
const maxBulkRetry = 500

// bulkRetryWorkers is how many runs of a bulk retry are retried at once.
const bulkRetryWorkers = 8

// CodeRetryBatchTooLarge is the error code of a bulk retry naming more runs than one request may retry.
const CodeRetryBatchTooLarge = "retry_batch_too_large"

func (a *API) deadLetterRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/dead-letters", Permission: PermRunsRead, Tag: "runs",
			Summary:  "Dead letters: live runs that failed after their retries ran out and were not retried since, newest first, with the failed node and its attempts",
			Response: "DeadLetterList", Query: []QueryParam{{"flow", "flow id"}, {"code", "the run error's code, such as http_client_error"},
				{"since", "RFC 3339 time, inclusive"}, {"until", "RFC 3339 time, exclusive"},
				{"cursor", "nextCursor of the previous page (with a code filter a page may hold fewer runs than the limit)"}, {"limit", "page size, at most 500"}},
			Handler: a.listDeadLetters},
		{Method: "POST", Path: "/api/v1/runs/retry", Permission: PermRunsOperate, Tag: "runs",
			Summary: "Retry many failed runs from their failed steps: up to 500 ids, or the dead letters matching a filter (500 at a time, continue with nextCursor); answers each run's outcome",
			Request: "BulkRetryRequest", Response: "BulkRetryResult", Handler: a.bulkRetry},
	}
}

func deadLetterSchemas() map[string]any {
	filter := obj(map[string]any{"flow": str, "code": str, "since": when, "until": when})
	return map[string]any{
		"DeadLetter": map[string]any{"allOf": []any{ref("Run"), obj(map[string]any{"failedNode": str, "attempts": integer,
			"errorCode": str, "errorMessage": str}, "attempts")}},
		"DeadLetterList": obj(map[string]any{"deadLetters": list(ref("DeadLetter")), "nextCursor": str}, "deadLetters"),
		"BulkRetryRequest": obj(map[string]any{"ids": list(str), "filter": filter,
			"cursor": map[string]any{"type": "string", "description": "with filter: nextCursor of the previous answer"}}),
		"BulkRetryResult": obj(map[string]any{
			"results": list(obj(map[string]any{"id": str, "ok": boolean, "status": str,
				"error": obj(map[string]any{"code": str, "message": str}, "code", "message")}, "id", "ok")),
			"retried": integer, "failed": integer, "nextCursor": str}, "results", "retried", "failed"),
	}
}

// DeadLetterView is a dead letter as the API shows it: the run, plus its failure spelled out for the list.
type DeadLetterView struct {
	RunResponse
	FailedNode   string `json:"failedNode,omitempty"`
	Attempts     int    `json:"attempts"`
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

func (a *API) listDeadLetters(c fiber.Ctx) error {
	f := store.DeadLetterFilter{FlowID: c.Query("flow"), Code: strings.TrimSpace(c.Query("code")), Cursor: c.Query("cursor")}
	var err error
	if f.Since, f.Until, f.Limit, err = pageWindow(c); err != nil {
		return err
	}
	page, err := a.Store.ListDeadLetters(c.Context(), f)
	if err != nil {
		return err
	}
	out := make([]DeadLetterView, len(page.DeadLetters))
	for i := range page.DeadLetters {
		d := &page.DeadLetters[i]
		v := DeadLetterView{RunResponse: runResponse(&d.Run), FailedNode: d.FailedNode, Attempts: d.Attempts}
		a.maskRun(&v.RunResponse)
		if e := a.errorView(d.Error); e != nil {
			v.ErrorCode, v.ErrorMessage = e.Code, e.Message
		}
		out[i] = v
	}
	return ok(c, http.StatusOK, fiber.Map{"deadLetters": out, "nextCursor": page.NextCursor})
}

// BulkRetryRequest names the runs to retry: either ids, or a filter over dead letters (with the cursor of a
// previous answer to continue).
type BulkRetryRequest struct {
	IDs    []string         `json:"ids"`
	Filter *BulkRetryFilter `json:"filter"`
	Cursor string           `json:"cursor"`
}

// BulkRetryFilter selects dead letters like GET /api/v1/dead-letters does.
type BulkRetryFilter struct {
	Flow  string `json:"flow"`
	Code  string `json:"code"`
	Since string `json:"since"`
	Until string `json:"until"`
}

// BulkRetryOutcome is what happened to one run: retried (with its new status), or why not.
type BulkRetryOutcome struct {
	ID     string        `json:"id"`
	OK     bool          `json:"ok"`
	Status string        `json:"status,omitempty"`
	Error  *RunErrorView `json:"error,omitempty"`
}

func (a *API) bulkRetry(c fiber.Ctx) error {
	var req BulkRetryRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ids, next, err := a.bulkRetryTargets(c, &req)
	if err != nil {
		return err
	}
	ctx := c.Context()
	results := make([]BulkRetryOutcome, len(ids))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(bulkRetryWorkers, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] = a.retryOne(ctx, ids[i])
			}
		}()
	}
	for i := range ids {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	retried, failed := []string{}, []string{}
	for _, r := range results {
		if r.OK {
			retried = append(retried, r.ID)
		} else {
			failed = append(failed, r.ID)
		}
	}
	detail := map[string]any{"ids": ids, "retried": retried, "notRetried": failed}
	if req.Filter != nil {
		detail["filter"] = req.Filter
	}
	a.audit(c, "run.retry_bulk", "run", "", detail)
	return ok(c, http.StatusOK, fiber.Map{"results": results, "retried": len(retried), "failed": len(failed), "nextCursor": next})
}

// bulkRetryTargets validates the request and returns the run ids to retry, and with a filter the cursor to
// continue from when more dead letters match than one call retries.
func (a *API) bulkRetryTargets(c fiber.Ctx, req *BulkRetryRequest) ([]string, string, error) {
	switch {
	case len(req.IDs) > 0 && req.Filter != nil:
		return nil, "", errBadRequest(CodeBadRequest, "send either ids or filter, not both")
	case len(req.IDs) > maxBulkRetry:
		return nil, "", &Error{Status: http.StatusBadRequest, Code: CodeRetryBatchTooLarge,
			Message: "at most 500 runs can be retried at once; send the rest in another request", Details: map[string]any{"max": maxBulkRetry, "got": len(req.IDs)}}
	case len(req.IDs) > 0:
		if req.Cursor != "" {
			return nil, "", errBadRequest(CodeBadRequest, "cursor goes with filter, not with ids")
		}
		seen := make(map[string]bool, len(req.IDs))
		ids := make([]string, 0, len(req.IDs))
		for i, id := range req.IDs {
			id = strings.TrimSpace(id)
			if id == "" {
				return nil, "", &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "ids must not be empty", Details: map[string]any{"field": "ids", "index": i}}
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		return ids, "", nil
	case req.Filter == nil:
		return nil, "", errBadRequest(CodeBadRequest, "send ids (up to 500 run ids) or filter ({flow, code, since, until})")
	}
	f := store.DeadLetterFilter{FlowID: req.Filter.Flow, Code: strings.TrimSpace(req.Filter.Code), Cursor: req.Cursor, Limit: maxBulkRetry}
	for name, v := range map[string]struct {
		s string
		t *time.Time
	}{"since": {req.Filter.Since, &f.Since}, "until": {req.Filter.Until, &f.Until}} {
		if v.s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v.s)
		if err != nil {
			return nil, "", &Error{Status: http.StatusBadRequest, Code: CodeBadRequest,
				Message: "filter." + name + " must be an RFC 3339 time such as 2026-11-22T08:00:00Z", Details: map[string]any{"field": "filter." + name}}
		}
		*v.t = t
	}
	var ids []string
	for len(ids) < maxBulkRetry {
		f.Limit = maxBulkRetry - len(ids)
		page, err := a.Store.ListDeadLetters(c.Context(), f)
		if err != nil {
			return nil, "", err
		}
		for _, d := range page.DeadLetters {
			ids = append(ids, d.ID)
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	return ids, f.Cursor, nil
}

// retryOne retries one run through the same path as POST /api/v1/runs/:id/retry and reports the outcome.
func (a *API) retryOne(ctx context.Context, id string) BulkRetryOutcome {
	run, err := a.Runner.RetryFailed(ctx, id)
	if err == nil {
		return BulkRetryOutcome{ID: id, OK: true, Status: run.Status}
	}
	var e *Error
	if errors.As(fromStore(err, "run"), &e) {
		if e.Code == CodeRunState {
			e = &Error{Code: CodeRunState, Message: "the run is no longer failed (retried, replayed or cancelled since), or has no failed step to retry from"}
		}
		return BulkRetryOutcome{ID: id, Error: &RunErrorView{Code: e.Code, Message: e.Message}}
	}
	a.Logger.Error("bulk retry", "run", id, "err", err)
	return BulkRetryOutcome{ID: id, Error: &RunErrorView{Code: CodeInternal, Message: "internal error; see the server log"}}
}
