package api

import (
	"net/http"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/store"
)

var runStatuses = map[string]bool{store.RunQueued: true, store.RunRunning: true, store.RunWaiting: true,
	store.RunSucceeded: true, store.RunFailed: true, store.RunCancelled: true}

func (a *API) listRuns(c fiber.Ctx) error {
	f := store.RunFilter{FlowID: c.Query("flow"), ParentRunID: c.Query("parent"), Status: splitList(c.Query("status")), Mode: c.Query("mode"),
		BusinessKey: c.Query("businessKey"), Cursor: c.Query("cursor")}
	for _, s := range f.Status {
		if !runStatuses[s] {
			return errBadRequest(CodeBadRequest, "unknown run status %q; use queued, running, waiting, succeeded, failed or cancelled", s)
		}
	}
	if f.Mode != "" && f.Mode != "live" && f.Mode != "test" {
		return errBadRequest(CodeBadRequest, "mode must be live or test")
	}
	var err error
	if f.Since, f.Until, f.Limit, err = pageWindow(c); err != nil {
		return err
	}
	page, err := a.Store.ListRuns(c.Context(), f)
	if err != nil {
		return err
	}
	out := make([]RunResponse, len(page.Runs))
	for i := range page.Runs {
		out[i] = runResponse(&page.Runs[i])
		a.maskRun(&out[i])
	}
	return ok(c, http.StatusOK, fiber.Map{"runs": out, "nextCursor": page.NextCursor})
}

func (a *API) getRun(c fiber.Ctx) error {
	run, err := a.Store.GetRun(c.Context(), c.Params("id"))
	if err != nil {
		return fromStore(err, "run")
	}
	steps, err := a.Store.ListSteps(c.Context(), run.ID)
	if err != nil {
		return err
	}
	d, err := a.detailView(c, run, steps)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, d)
}

func (a *API) retryRun(c fiber.Ctx) error {
	run, err := a.Runner.RetryFailed(c.Context(), c.Params("id"))
	if err != nil {
		return fromStore(err, "run")
	}
	return a.answerRun(c, http.StatusAccepted, run)
}

func (a *API) replayRun(c fiber.Ctx) error {
	run, err := a.Runner.Replay(c.Context(), c.Params("id"), c.Query("current") == "true")
	if err != nil {
		return fromStore(err, "run")
	}
	return a.answerRun(c, http.StatusAccepted, run)
}

func (a *API) cancelRun(c fiber.Ctx) error {
	run, err := a.Runner.Cancel(c.Context(), c.Params("id"))
	if err != nil {
		return fromStore(err, "run")
	}
	return a.answerRun(c, http.StatusOK, run)
}

// answerRun answers with run as the caller may see it.
func (a *API) answerRun(c fiber.Ctx, status int, run *store.Run) error {
	v, err := a.runView(c, run)
	if err != nil {
		return err
	}
	return ok(c, status, v)
}
