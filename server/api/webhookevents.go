package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
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
	ctx := c.Context()
	runs := make([]*store.Run, len(acc.Events))
	for i, ev := range acc.Events {
		run, err := eventRun(loaded, nodeID, ev)
		if err != nil {
			return err
		}
		runs[i] = run
	}
	held, err := a.Runner.Store.CreateRuns(ctx, runs)
	if err != nil {
		return a.notAccepted(c, loaded.FlowID, err)
	}
	views := make([]WebhookAccepted, len(runs))
	ids := make([]string, len(runs))
	var entries []queue.Entry
	for i, run := range runs {
		if held[i] != "" {
			views[i], ids[i] = WebhookAccepted{RunID: held[i], Duplicate: true}, held[i]
			continue
		}
		views[i], ids[i] = WebhookAccepted{RunID: run.ID, Status: run.Status}, run.ID
		entries = append(entries, queue.Entry{RunID: run.ID, At: run.AvailableAt})
		if a.Runner.Metrics != nil {
			a.Runner.Metrics.Runs.WithLabelValues(run.FlowID, store.RunQueued).Inc()
		}
	}
	if len(entries) > 0 {
		if err := a.Runner.Queue.EnqueueBatch(ctx, entries); err != nil {
			// The runs are committed; the sweeper will find them.
			a.Logger.Warn("enqueue failed; the sweeper will pick the runs up", "flow", loaded.FlowID, "runs", len(entries), "err", err)
		}
	}
	c.Set(RunIDsHeader, strings.Join(ids, ","))
	if len(entries) == 0 {
		c.Set("X-Ferry-Duplicate", "true")
	}
	if acc.Ack != nil {
		// Providers with an acknowledgement of their own (HubSpot a 2xx) get it for a batch, as for one event,
		// duplicates included: they deliver again whatever they do not recognise.
		return writeResponse(c, acc.Ack)
	}
	answer := views[0]
	answer.Runs = views
	if len(entries) == 0 {
		answer.Duplicate = true
		return ok(c, http.StatusOK, answer)
	}
	return ok(c, http.StatusAccepted, answer)
}

// eventRun is the queued live run of one event of a batch, as runner.Accept makes the run of a single event: the
// flow's published version, the event's payload and keys, the flow's ordering key and concurrency cap.
func eventRun(loaded *runner.Loaded, nodeID string, ev nodes.Event) (*store.Run, error) {
	payload, err := json.Marshal(ev.Payload)
	if err != nil {
		return nil, fmt.Errorf("webhook: encode trigger payload: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("webhook: new run id: %w", err)
	}
	now := time.Now().UTC()
	mode := string(nodes.ModeLive)
	return &store.Run{
		ID: id.String(), FlowID: loaded.FlowID, FlowVersion: loaded.Version, Mode: mode, Status: store.RunQueued,
		TriggerNode: nodeID, Trigger: payload, DedupKey: ev.DedupKey, BusinessKey: ev.BusinessKey, Attempt: 1,
		AvailableAt: now, CreatedAt: now,
		OrderingKey: loaded.Compiled.RunOrderingKey(ev.Payload, mode), Concurrency: loaded.Compiled.Concurrency,
	}, nil
}
