package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/store"
)

// WebhookAccepted is the answer to an asynchronous webhook once its run is committed. For a request that
// carries several events, Runs names each event's run in the order of the events (a duplicate names the run
// that already has the event); RunID and Status are then the first event's, and Duplicate says that every
// event was a duplicate.
type WebhookAccepted struct {
	RunID     string            `json:"runId"`
	Status    string            `json:"status"`
	Duplicate bool              `json:"duplicate,omitempty"`
	Runs      []WebhookAccepted `json:"runs,omitempty"`
}

// webhook serves /hooks/{flowId}: the trigger verifies and parses the request, the run is committed, and only
// then is the caller answered (I1). With test set, it runs the draft in test mode instead.
func (a *API) webhook(test bool) fiber.Handler {
	return func(c fiber.Ctx) error {
		flowID := c.Params("flowId")
		code := http.StatusInternalServerError
		label := flowID
		defer func() {
			if a.Metrics != nil {
				a.Metrics.Webhooks.WithLabelValues(label, strconv.Itoa(code)).Inc()
			}
		}()
		err := a.serveWebhook(c, flowID, test)
		if err == error(errNoFlow) {
			// Ids nobody created would grow the metrics without bound: they are counted together.
			label = "unknown"
		}
		code = c.Response().StatusCode()
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				code = e.Status
			}
		}
		return err
	}
}

func (a *API) serveWebhook(c fiber.Ctx, flowID string, test bool) error {
	ctx := c.Context()
	var loaded *runner.Loaded
	mode := nodes.ModeLive
	if test {
		f, err := a.Store.GetFlow(ctx, flowID)
		if errors.Is(err, store.ErrNotFound) {
			return errWebhookNotFound()
		}
		if err != nil {
			return err
		}
		if loaded, err = runner.Compile(f.ID, 0, f.Draft); err != nil {
			return fromStore(err, "flow")
		}
		mode = nodes.ModeTest
	} else {
		f, l, err := a.Runner.Published(ctx, flowID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return errWebhookNotFound()
		case errors.Is(err, runner.ErrNotPublished) && f != nil && f.Status == store.FlowPaused:
			// 503 makes providers deliver again later instead of dropping the event.
			c.Set("Retry-After", "60")
			return &Error{Status: http.StatusServiceUnavailable, Code: "flow_paused", Message: "the flow is paused; deliver again later"}
		case errors.Is(err, runner.ErrNotPublished):
			// A draft answers as if it did not exist: an anonymous caller learns nothing of flows not yet live.
			return errWebhookNotFound()
		case err != nil:
			return a.notAccepted(c, flowID, err)
		}
		loaded = l
	}
	wh := loaded.Compiled.Webhook
	if wh == nil {
		return &Error{Status: http.StatusNotFound, Code: CodeWebhookNotFound, Message: "the flow has no webhook trigger"}
	}
	trigger := wh.Impl.(nodes.WebhookTrigger)
	query, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	header := http.Header{}
	for k, vs := range c.GetReqHeaders() {
		if strings.EqualFold(k, TestSecretHeader) {
			// The test secret opens the test webhook; it must not reach run data, which more people may read.
			continue
		}
		header[http.CanonicalHeaderKey(k)] = vs
	}
	var outbound *http.Client
	if a.Runner != nil && a.Runner.Engine != nil {
		outbound = a.Runner.Engine.HTTP
	}
	if wh.Def.Credential != "" && a.Credentials != nil {
		// A trigger that calls its provider back (PayPal's signature check) sends the credential: only to
		// where it may go.
		outbound = egress.Bind(outbound, a.Credentials.Binding(wh.Def.Credential, mode))
	}
	req := &nodes.WebhookRequest{Method: c.Method(), Header: header, Query: query, Body: c.Body(), RemoteIP: c.IP(), Mode: mode, HTTP: outbound,
		Credential: func(ctx context.Context) (map[string]string, error) {
			if wh.Def.Credential == "" {
				return nil, nodes.ErrNoCredential
			}
			if a.Credentials == nil {
				return nil, errors.New("no credential store")
			}
			return a.Credentials.ResolveForVerification(ctx, wh.Def.Credential, mode)
		}}
	acc, err := trigger.Accept(ctx, req)
	if err != nil {
		var we *nodes.WebhookError
		if errors.As(err, &we) {
			if !test {
				a.recordRejection(c, flowID, we)
			}
			return a.refuse(c, flowID, we)
		}
		return err
	}
	if acc.Skip {
		c.Set("X-Ferry-Skipped", "true")
		if acc.Ack != nil {
			return writeResponse(c, acc.Ack)
		}
		return c.SendStatus(http.StatusOK)
	}
	if len(acc.Events) > nodes.MaxEvents {
		we := &nodes.WebhookError{Status: http.StatusRequestEntityTooLarge, Code: nodes.CodeTooManyEvents,
			Err: fmt.Errorf("the request carries %d events, more than the %d one request may start runs for", len(acc.Events), nodes.MaxEvents)}
		if !test {
			a.recordRejection(c, flowID, we)
		}
		return a.refuse(c, flowID, we)
	}
	if n := len(acc.Events); n > 0 {
		c.Set(EventsHeader, strconv.Itoa(n))
	}
	if len(acc.Events) > 1 && !test {
		return a.acceptEvents(c, loaded, wh.Def.ID, acc)
	}
	if len(acc.Events) > 0 {
		// One event, or the first of a batch sent to the test webhook: the editor shows one run with its steps
		// and keeps its trigger as the sample a flow is mapped from, which must have the shape of one event.
		first := acc.Events[0]
		acc.Payload, acc.DedupKey, acc.BusinessKey = first.Payload, first.DedupKey, first.BusinessKey
	}
	t := runner.Trigger{Flow: loaded, Node: wh.Def.ID, Payload: acc.Payload, DedupKey: acc.DedupKey, BusinessKey: acc.BusinessKey, Mode: mode}
	if test {
		t.DedupKey = ""
		res, err := a.Runner.RunNow(ctx, t, a.Runner.TestTimeout)
		if err != nil {
			return err
		}
		d, err := a.detailView(c, res.Run, res.Steps)
		if err != nil {
			return err
		}
		return ok(c, http.StatusOK, d)
	}
	if acc.Sync {
		res, err := a.Runner.RunNow(ctx, t, acc.Timeout)
		var dup *store.DuplicateRunError
		if errors.As(err, &dup) {
			return a.answerDuplicate(c, dup.RunID, acc.Ack)
		}
		if err != nil {
			return a.notAccepted(c, flowID, err)
		}
		return a.answerSync(c, res)
	}
	run, err := a.Runner.Accept(ctx, t)
	var dup *store.DuplicateRunError
	if errors.As(err, &dup) {
		return a.answerDuplicate(c, dup.RunID, acc.Ack)
	}
	if err != nil {
		return a.notAccepted(c, flowID, err)
	}
	c.Set("X-Ferry-Run-Id", run.ID)
	if acc.Ack != nil {
		return writeResponse(c, acc.Ack)
	}
	return ok(c, http.StatusAccepted, WebhookAccepted{RunID: run.ID, Status: run.Status})
}

// answerSync answers a synchronous webhook from its committed run: the respond node's answer if it ran,
// else a summary of the run.
func (a *API) answerSync(c fiber.Ctx, res *runner.Result) error {
	c.Set("X-Ferry-Run-Id", res.Run.ID)
	if res.Response != nil {
		return writeResponse(c, res.Response)
	}
	switch res.Run.Status {
	case store.RunFailed:
		// The run's error may quote what a step met inside the network (an address, a connection error, a
		// partner's answer): the caller gets its code, the run keeps the rest for people who may read runs.
		var cause struct {
			Code   string `json:"code"`
			NodeID string `json:"nodeId"`
		}
		_ = json.Unmarshal(res.Run.Error, &cause)
		if cause.Code == "" {
			cause.Code = CodeRunFailed
		}
		message := "the run failed; the details are in the run"
		if cause.NodeID != "" {
			message = "the run failed at step " + strconv.Quote(cause.NodeID) + "; the details are in the run"
		}
		return c.Status(http.StatusInternalServerError).JSON(fiber.Map{"runId": res.Run.ID, "status": res.Run.Status,
			"error": fiber.Map{"code": cause.Code, "message": message, "nodeId": cause.NodeID}})
	case store.RunSucceeded, store.RunCancelled:
		return ok(c, http.StatusOK, WebhookAccepted{RunID: res.Run.ID, Status: res.Run.Status})
	}
	return ok(c, http.StatusAccepted, WebhookAccepted{RunID: res.Run.ID, Status: res.Run.Status})
}

// answerDuplicate answers a repeated delivery: with the original run's response when it had one, so a
// provider that retries a synchronous webhook gets the same answer, else 200 naming the original run.
func (a *API) answerDuplicate(c fiber.Ctx, runID string, ack *nodes.Response) error {
	c.Set("X-Ferry-Run-Id", runID)
	c.Set("X-Ferry-Duplicate", "true")
	run, err := a.Store.GetRun(c.Context(), runID)
	if err == nil && len(run.Response) > 0 {
		var r nodes.Response
		if json.Unmarshal(run.Response, &r) == nil {
			return writeResponse(c, &r)
		}
	}
	if ack != nil {
		// A provider that delivers an event again expects the same acknowledgement (Alipay's "success"), or it
		// keeps delivering.
		return writeResponse(c, ack)
	}
	status := ""
	if run != nil {
		status = run.Status
	}
	return ok(c, http.StatusOK, WebhookAccepted{RunID: runID, Status: status, Duplicate: true})
}

// writeResponse writes a flow-defined answer: JSON for structured bodies, text for strings.
func writeResponse(c fiber.Ctx, r *nodes.Response) error {
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	for k, v := range r.Headers {
		c.Set(k, v)
	}
	switch b := r.Body.(type) {
	case nil:
		return c.SendStatus(status)
	case string:
		if c.GetRespHeader("Content-Type") == "" {
			c.Set("Content-Type", "text/plain; charset=utf-8")
		}
		return c.Status(status).SendString(b)
	default:
		if ct := c.GetRespHeader("Content-Type"); ct != "" {
			raw, err := json.Marshal(b)
			if err != nil {
				return err
			}
			return c.Status(status).Send(raw)
		}
		return c.Status(status).JSON(b)
	}
}

// notAccepted answers a delivery whose run could not be committed (the database is down or refused it): 503 with
// Retry-After, which every provider treats as "deliver again later". Nothing was acknowledged, so nothing is
// lost (I1). The cause is logged, never answered.
func (a *API) notAccepted(c fiber.Ctx, flowID string, err error) error {
	a.Logger.Warn("webhook not accepted: the run could not be committed", "flow", flowID, "err", err)
	c.Set("Retry-After", retryAfterSeconds)
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: "the delivery could not be recorded; deliver it again shortly"}
}

// retryAfterSeconds is what a 503 to a webhook caller asks it to wait before delivering again.
const retryAfterSeconds = "5"

// refuse answers a call the webhook trigger refused. A refusal of the call itself (4xx: a bad signature, a
// stale timestamp, a malformed body) says what was wrong, which is what the sender needs to fix it. A failure
// on Ferry's side (5xx: the vault, the provider's verification API, the trigger's credential) must not tell an
// anonymous caller about Ferry's insides (internal URLs, network and database errors): the caller gets the
// trigger's stable code, a generic message and, for 503, Retry-After; the cause goes to the log with the flow.
// Providers that expect their own failure answer (Alipay's "fail") get it either way.
func (a *API) refuse(c fiber.Ctx, flowID string, we *nodes.WebhookError) error {
	message := ""
	if we.Err != nil {
		message = we.Err.Error()
	}
	if we.Status >= http.StatusInternalServerError {
		a.Logger.Warn("webhook not accepted: the trigger could not process the call", "flow", flowID, "code", we.Code,
			"status", we.Status, "err", we.Err)
		message = "the delivery could not be processed; an administrator can find why in Ferry's log"
		if we.Status == http.StatusServiceUnavailable {
			c.Set("Retry-After", retryAfterSeconds)
			message = "the delivery could not be processed right now; deliver it again shortly"
		}
	}
	if we.Answer != nil {
		c.Set("X-Ferry-Error-Code", we.Code)
		return writeResponse(c, we.Answer)
	}
	return &Error{Status: we.Status, Code: we.Code, Message: message}
}

// rejectionLog bounds how many refused webhook calls a process records per second, so a flood of forged calls
// cannot turn into a flood of writes; calls beyond it are only counted.
var rejectionLog = rate.NewLimiter(50, 100)

// recordRejection keeps a refused webhook call for admins (GET /api/v1/webhook-rejections): when, why, from
// where. The body is not kept.
func (a *API) recordRejection(c fiber.Ctx, flowID string, we *nodes.WebhookError) {
	if a.Metrics != nil {
		a.Metrics.WebhookRejections.WithLabelValues(flowID, we.Code).Inc()
	}
	if !rejectionLog.Allow() {
		return
	}
	id, err := uuid.NewV7()
	if err != nil {
		return
	}
	r := &store.WebhookRejection{ID: id.String(), FlowID: flowID, Status: we.Status, Code: we.Code, Message: we.Err.Error(),
		RemoteIP: c.IP(), BodyBytes: len(c.Body())}
	if err := a.Store.RecordWebhookRejection(context.WithoutCancel(c.Context()), r); err != nil {
		a.Logger.Warn("recording a refused webhook call failed", "flow", flowID, "code", we.Code, "err", err)
	}
}

// RejectionView is a refused webhook call as the API shows it.
type RejectionView struct {
	ID         string    `json:"id"`
	FlowID     string    `json:"flowId"`
	ReceivedAt time.Time `json:"receivedAt"`
	Status     int       `json:"status"`
	Code       string    `json:"code"`
	Message    string    `json:"message"`
	RemoteIP   string    `json:"remoteIp,omitempty"`
	BodyBytes  int       `json:"bodyBytes"`
	// Count is how many calls this row stands for: refusals of the same flow, address and code that kept
	// coming share one row; LastAt is the latest of them.
	Count  int       `json:"count"`
	LastAt time.Time `json:"lastAt"`
}

func (a *API) listRejections(c fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 50)
	if err != nil {
		return err
	}
	page, err := a.Store.ListWebhookRejections(c.Context(), store.RejectionFilter{FlowID: c.Query("flow"), Code: c.Query("code"),
		Cursor: c.Query("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	out := make([]RejectionView, len(page.Rejections))
	for i, r := range page.Rejections {
		out[i] = RejectionView{ID: r.ID, FlowID: r.FlowID, ReceivedAt: r.ReceivedAt, Status: r.Status, Code: r.Code, Message: r.Message,
			RemoteIP: r.RemoteIP, BodyBytes: r.BodyBytes, Count: r.Repeats, LastAt: r.LastAt}
	}
	return ok(c, http.StatusOK, fiber.Map{"rejections": out, "nextCursor": page.NextCursor})
}
