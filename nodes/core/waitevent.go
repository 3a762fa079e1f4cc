package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// WaitEventType is the node type that parks a run until an event with its key arrives, or a timeout passes.
const WaitEventType = "core.wait-event"

// WaitEventKind is the kind of the waits core.wait-event parks on: they are decided by an event with their name
// and key (POST /api/v1/events, or a run of a flow's trigger), never by a person.
const WaitEventKind = "core.event"

// Ports of core.wait-event.
const (
	PortReceived = "received"
	PortTimeout  = "timeout"
)

// FlowEventPrefix starts the name of the event every live run of a flow emits when it is accepted with a
// business key: "flow:<flowId>", keyed by the business key, with the trigger payload as data.
const FlowEventPrefix = "flow:"

// Failure codes of core.wait-event.
const (
	// CodeEventKeyEmpty fails a step whose key evaluates to nothing: it could never be matched.
	CodeEventKeyEmpty = "event_key_empty"
	// CodeEventUnreadable fails a step resumed with an event it cannot read (a damaged wait).
	CodeEventUnreadable = "event_unreadable"
)

// Bounds of core.wait-event's parameters.
const (
	maxEventName     = 200
	maxEventKey      = 500
	maxEventLookback = 24 * time.Hour
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        WaitEventType,
		Version:     1,
		Name:        "Wait for event",
		Category:    nodes.CategoryLogic,
		Description: "Waits until an event with a matching key arrives, or a timeout passes.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs: []nodes.Port{
			{ID: PortReceived, Label: "Received", Kind: nodes.PortMain},
			{ID: PortTimeout, Label: "Timed out", Kind: nodes.PortMain},
		},
		Params: []nodes.Field{
			{
				Name: "event", Label: "Event", Type: nodes.TypeString, Required: true,
				Description: "The name of the event to wait for, as posted to /api/v1/events; or flow:<flow id> to " +
					"wait for a run of that flow's trigger whose business key matches.",
				Examples: []nodes.Example{
					{Name: "Named event", Value: "payment.paid"},
					{Name: "A run of another flow", Value: "flow:payment-callback"},
				},
			},
			{
				Name: "key", Label: "Key", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "The correlation key: only an event with this key resumes the run.",
				Examples:    []nodes.Example{{Name: "Order number", Value: "{{ trigger.body.order_id }}"}},
			},
			{
				Name: "timeout", Label: "Timeout", Type: nodes.TypeDuration, Required: true,
				Description: "How long to wait before following the timeout port, such as 15m; at most 90 days.",
				Examples:    []nodes.Example{{Name: "Fifteen minutes", Value: "15m"}},
			},
			{
				Name: "lookback", Label: "Accept earlier events", Type: nodes.TypeDuration, Default: "10m", Advanced: true,
				Description: "An event with the key that arrived up to this long before the run started waiting " +
					"resumes it at once, so a callback that overtook its order is not lost; 0 takes only later " +
					"events. At most 24h.",
			},
		},
		Docs: "Parks the run and releases the worker until an event with the same name and key is delivered, " +
			"even across restarts; after the timeout the `timeout` port is followed instead. Exactly one of the " +
			"two happens, once: an event after the timeout resumes nothing, and the same event delivered twice " +
			"resumes the run once.\n\n" +
			"Events come from `POST /api/v1/events` `{name, key, data, id}`, or from another flow: every live run " +
			"accepted with a business key emits `flow:<flow id>` with that key and the trigger payload as data.\n\n" +
			"**Output:** the input (an object; any other input is under `input`) plus `event` " +
			"`{id, name, key, data, receivedAt}` on `received`, or `event: null` and `timedOut: true` on `timeout`.\n\n" +
			"**Test runs** do not wait: they follow `timeout` at once, so the path that handles a missing event " +
			"can be tried in the editor.\n\n" +
			"**Example:** order created → wait 15m for `payment.paid` keyed by the order number → on timeout, query " +
			"the payment provider before reminding the customer.",
	}, newWaitEvent)
	nodes.RegisterDecision(WaitEventKind, func(_, _ json.RawMessage) error {
		return errors.New("a wait for an event is resumed by its event (POST /api/v1/events), not by a decision")
	})
}

type waitEventNode struct {
	event    string
	key      *expression.Template
	timeout  time.Duration
	lookback time.Duration
}

func newWaitEvent(cfg *nodes.Config) (nodes.Node, error) {
	n := &waitEventNode{event: strings.TrimSpace(cfg.String("event")), key: cfg.Template("key"),
		timeout: cfg.Duration("timeout"), lookback: cfg.Duration("lookback")}
	switch {
	case n.event == "" && cfg.Has("event"):
		cfg.Fail("event", nodes.CodeParamInvalid, "name the event to wait for")
	case len(n.event) > maxEventName:
		cfg.Fail("event", nodes.CodeParamInvalid, fmt.Sprintf("an event name has at most %d characters", maxEventName))
	case n.event == FlowEventPrefix:
		cfg.Fail("event", nodes.CodeParamInvalid, "flow: must be followed by the id of the flow whose runs are awaited")
	}
	if cfg.Has("timeout") && n.timeout <= 0 {
		cfg.Fail("timeout", nodes.CodeParamInvalid, "the timeout must be longer than 0")
	}
	if n.timeout > nodes.MaxParkTimeout {
		cfg.Fail("timeout", nodes.CodeParamInvalid, "a run can wait for an event at most 90 days (2160h)")
	}
	if n.lookback > maxEventLookback {
		cfg.Fail("lookback", nodes.CodeParamInvalid, "earlier events can be accepted up to 24h back")
	}
	return n, cfg.Err()
}

// EventName is the event the node waits for; the runner reads it to know which flows' runs to emit as events.
func (n *waitEventNode) EventName() string { return n.event }

// Execute parks a live run on a wait for the event, and when the run resumes follows received with the event or
// timeout without it. A test run follows timeout at once.
func (n *waitEventNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	if x.Resume != nil {
		return n.resumed(x)
	}
	if x.Mode != nodes.ModeLive {
		return nodes.Result{Output: withEvent(x.Input, nil, true), Port: PortTimeout}, nil
	}
	key, err := n.key.EvalString(envOf(x))
	if err != nil {
		return nodes.Result{}, nodes.EvalFailed("wait for event", "key", err)
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return nodes.Result{}, nodes.NewPermanent(CodeEventKeyEmpty, errors.New("wait for event: the key is empty, so no event could match it"))
	}
	if len(key) > maxEventKey {
		return nodes.Result{}, nodes.NewPermanent(CodeEventKeyEmpty, fmt.Errorf("wait for event: the key has more than %d characters", maxEventKey))
	}
	return nodes.Result{Park: &nodes.Park{
		Kind: WaitEventKind, Title: "Waiting for " + n.event + " " + key, Timeout: n.timeout,
		Request: map[string]any{"event": n.event, "key": key},
		Event:   &nodes.ParkEvent{Name: n.event, Key: key, Lookback: n.lookback},
	}}, nil
}

func (n *waitEventNode) resumed(x *nodes.Exec) (nodes.Result, error) {
	if x.Resume.TimedOut || len(x.Resume.Decision) == 0 {
		return nodes.Result{Output: withEvent(x.Input, nil, true), Port: PortTimeout}, nil
	}
	var ev map[string]any
	if err := json.Unmarshal(x.Resume.Decision, &ev); err != nil || ev == nil {
		return nodes.Result{}, nodes.NewPermanent(CodeEventUnreadable, fmt.Errorf("wait for event: the event that resumed the run cannot be read: %v", err))
	}
	return nodes.Result{Output: withEvent(x.Input, ev, false), Port: PortReceived}, nil
}

// withEvent is the node's output: the input's fields (or the input under "input") plus the event.
func withEvent(input any, ev map[string]any, timedOut bool) map[string]any {
	out := map[string]any{}
	if m, ok := input.(map[string]any); ok {
		for k, v := range m {
			out[k] = v
		}
	} else if input != nil {
		out["input"] = input
	}
	if ev == nil {
		out["event"] = nil
	} else {
		out["event"] = ev
	}
	out["timedOut"] = timedOut
	return out
}

var _ nodes.Node = (*waitEventNode)(nil)
