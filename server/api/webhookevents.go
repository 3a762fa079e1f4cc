package api

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/runner"
)

// EventsHeader tells the caller of a webhook how many events its request carried, when the trigger counts
// events (HubSpot's batches). The test webhook runs only the first of them.
const EventsHeader = "X-Ferry-Events"

// RunIDsHeader names the run of each event of a request that carried several, in the order of the events, so a
// caller whose provider expects its own acknowledgement (no Ferry answer body) can still find them.
const RunIDsHeader = "X-Ferry-Run-Ids"

// acceptEvents serves a verified request that carries several events: one queued run per event, committed
// together (all or none) before the caller is answered (I1). An event whose dedup key an earlier run holds
// starts no second run (I3) while the batch's other events do. If the commit fails nothing was created and the
// caller gets 503, so the provider delivers the whole batch again.
func (a *API) acceptEvents(c fiber.Ctx, loaded *runner.Loaded, nodeID string, acc *nodes.Accepted) error {
	ts := make([]runner.Trigger, len(acc.Events))
	for i, ev := range acc.Events {
		ts[i] = runner.Trigger{Flow: loaded, Node: nodeID, Payload: ev.Payload, DedupKey: ev.DedupKey,
			BusinessKey: ev.BusinessKey, Mode: nodes.ModeLive}
	}
	accepted, err := a.Runner.AcceptMany(c.Context(), ts)
	if err != nil {
		return a.notAccepted(c, loaded.FlowID, err)
	}
	views := make([]WebhookAccepted, len(accepted))
	ids := make([]string, len(accepted))
	created := 0
	for i, ac := range accepted {
		if ac.Run == nil {
			views[i], ids[i] = WebhookAccepted{RunID: ac.Duplicate, Duplicate: true}, ac.Duplicate
			continue
		}
		views[i], ids[i] = WebhookAccepted{RunID: ac.Run.ID, Status: ac.Run.Status}, ac.Run.ID
		created++
	}
	c.Set(RunIDsHeader, strings.Join(ids, ","))
	if created == 0 {
		c.Set("X-Ferry-Duplicate", "true")
	}
	if acc.Ack != nil {
		// Providers with an acknowledgement of their own (HubSpot a 2xx) get it for a batch, as for one event,
		// duplicates included: they deliver again whatever they do not recognise.
		return writeResponse(c, acc.Ack)
	}
	answer := views[0]
	answer.Runs = views
	if created == 0 {
		answer.Duplicate = true
		return ok(c, http.StatusOK, answer)
	}
	return ok(c, http.StatusAccepted, answer)
}
