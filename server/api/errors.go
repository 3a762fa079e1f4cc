// Package api is Ferry's HTTP interface: the REST API under /api/v1, webhooks under /hooks, health, readiness
// and metrics. Every route is declared once in router.go with the permission it needs; every handler has the
// same shape (decode → validate → runner/store → one response helper), and every failure leaves as an *Error
// with a stable code.
package api

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/internal/names"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// Error is the one error type handlers return. It becomes {"error": {...}} with Status as the HTTP status.
type Error struct {
	Status   int             `json:"-"`
	Code     string          `json:"code"`
	Message  string          `json:"message"`
	Problems []nodes.Problem `json:"problems,omitempty"`
	Details  map[string]any  `json:"details,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Stable API error codes that are not flow problem codes.
const (
	CodeBadRequest     = "bad_request"
	CodeInvalidJSON    = "invalid_json"
	CodeNotFound       = "not_found"
	CodeFlowInvalid    = "flow_invalid"
	CodeConflict       = "conflict"
	CodeNotPublished   = "flow_not_published"
	CodeRunState       = "run_state_conflict"
	CodeInternal       = "internal_error"
	CodeUnavailable    = "unavailable"
	CodeBodyTooLarge   = "body_too_large"
	CodeMethodNotAllow = "method_not_allowed"
	// CodeRunFailed is a synchronous webhook's answer when its run failed without a code of its own.
	CodeRunFailed = "run_failed"
)

func errBadRequest(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func errNotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: what + " not found"}
}

// errInvalidFlow reports a document that failed to parse or validate, with every problem.
func errInvalidFlow(err error) *Error {
	problems := flows.Problems(err)
	code := CodeFlowInvalid
	if len(problems) == 1 {
		code = problems[0].Code
	}
	msg := "the flow has problems"
	if len(problems) > 0 {
		msg = problems[0].Message
		if len(problems) > 1 {
			more := "problems"
			if len(problems) == 2 {
				more = "problem"
			}
			msg = fmt.Sprintf("%s (and %d more %s)", msg, len(problems)-1, more)
		}
	}
	return &Error{Status: http.StatusBadRequest, Code: code, Message: msg, Problems: problems}
}

// fromStore maps repository and runner errors to API errors.
func fromStore(err error, what string) error {
	var dup *store.DuplicateRunError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return errNotFound(what)
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: what + " was changed by someone else; reload and try again"}
	case errors.Is(err, runner.ErrNotPublished):
		return &Error{Status: http.StatusConflict, Code: CodeNotPublished, Message: "the flow has no published version or is paused"}
	case errors.Is(err, runner.ErrNotRetryable):
		return &Error{Status: http.StatusConflict, Code: CodeRunState, Message: "the run is not in a state that allows this"}
	case errors.As(err, &dup):
		return &Error{Status: http.StatusConflict, Code: "duplicate_event", Message: "this trigger event already has a run", Details: map[string]any{"runId": dup.RunID}}
	case flows.Problems(err) != nil:
		return errInvalidFlow(err)
	}
	return err
}

// handleError is Fiber's error handler: it writes every error in the one shape, hiding internal details.
func (a *API) handleError(c fiber.Ctx, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		var fe *fiber.Error
		var ne *names.Error
		switch {
		case errors.As(err, &ne):
			// A refused name has the same code wherever it was given (flows report theirs as problems).
			e = &Error{Status: http.StatusBadRequest, Code: names.Code, Message: ne.Error(), Details: map[string]any{"field": "name"}}
		case errors.As(err, &fe):
			e = &Error{Status: fe.Code, Code: fiberCode(fe.Code), Message: fe.Message}
		default:
			a.Logger.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
			e = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; see the server log"}
			if unavailable(err) {
				c.Set("Retry-After", retryAfterSeconds)
				e = &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the database is unavailable; try again shortly"}
			}
		}
	}
	return c.Status(e.Status).JSON(fiber.Map{"error": e})
}

// unavailable reports errors that mean the database cannot be reached, which deserve a 503 (a caller should
// retry) rather than a 500.
func unavailable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, driver.ErrBadConn)
}

func fiberCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusRequestEntityTooLarge:
		return CodeBodyTooLarge
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllow
	case http.StatusBadRequest:
		return CodeBadRequest
	}
	return fmt.Sprintf("http_%d", status)
}
