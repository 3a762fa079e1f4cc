package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/runner"
)

// Events resume runs parked by core.wait-event: a system that learns of a business event (a payment callback
// handled elsewhere, a parcel delivered) posts it with the key the waiting runs correlate on.

// CodeEventInvalid refuses an event without a name or key, with data that is not JSON or too large.
const CodeEventInvalid = "event_invalid"

// EventRequest is an event posted to the API.
type EventRequest struct {
	// ID identifies the event so that a second delivery is recognised; optional.
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Key  string          `json:"key"`
	Data json.RawMessage `json:"data"`
}

// EventResponse says what delivering the event did.
type EventResponse struct {
	ID string `json:"id"`
	// Resumed lists the runs the event resumed; empty when none waited (or their waits had timed out).
	Resumed []string `json:"resumed"`
	// Duplicate is set when the event (same name and id) was delivered before; nothing was resumed again.
	Duplicate bool `json:"duplicate"`
}

func (a *API) postEvent(c fiber.Ctx) error {
	var req EventRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	for field, v := range map[string]string{"name": req.Name, "key": req.Key} {
		if v == "" {
			e := errBadRequest(CodeEventInvalid, "%s is required", field)
			e.Details = map[string]any{"field": field}
			return e
		}
	}
	if string(req.Data) == "null" {
		req.Data = nil
	}
	d, err := a.Runner.DeliverEvent(c.Context(), runner.Event{ID: req.ID, Name: req.Name, Key: req.Key, Data: req.Data})
	if errors.Is(err, runner.ErrEventInvalid) {
		return errBadRequest(CodeEventInvalid, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, EventResponse{ID: d.ID, Resumed: d.Resumed, Duplicate: d.Duplicate})
}
