package core

import (
	"context"
	"fmt"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// DelayType is the node type that parks a run for a while.
const DelayType = "core.delay"

// CodeDelayUntilInvalid is the failure code of a delay whose target time cannot be read.
const CodeDelayUntilInvalid = "delay_until_invalid"

// maxDelay keeps a typo ("1000h" for "100h") from parking a run for years.
const maxDelay = 366 * 24 * time.Hour

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        DelayType,
		Version:     1,
		Name:        "Delay",
		Category:    nodes.CategoryLogic,
		Description: "Waits for a while, or until a time, before going on.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Then", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{
				Name: "mode", Label: "Wait", Type: nodes.TypeSelect, Default: "duration",
				Options: []nodes.Option{
					{Value: "duration", Label: "For a duration"},
					{Value: "until", Label: "Until a time"},
				},
			},
			{
				Name: "duration", Label: "Duration", Type: nodes.TypeDuration, Required: true,
				Description: "How long to wait, such as 10m or 1h30m; at most 366 days.",
				ShowIf:      map[string][]any{"mode": {"duration"}},
				Examples:    []nodes.Example{{Name: "Ten minutes", Value: "10m"}, {Name: "One day", Value: "24h"}},
			},
			{
				Name: "until", Label: "Until", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "The time to wait for: RFC 3339 text, a date, Unix seconds or milliseconds, or an " +
					"expression giving one. Times without a zone are UTC; a time already past does not wait.",
				ShowIf: map[string][]any{"mode": {"until"}},
				Examples: []nodes.Example{
					{Name: "Fixed time", Value: "2026-11-11T00:00:00+08:00"},
					{Name: "From the payload", Value: "{{ trigger.body.ship_after }}"},
				},
			},
		},
		Docs: "Parks the run and releases the worker; the run goes on when the time comes, even across " +
			"restarts.\n\n" +
			"**Output:** the input, unchanged.\n\n" +
			"**Example:** wait `24h` after an order is paid, then send a review request.",
	}, newDelay)
}

type delayNode struct {
	duration time.Duration
	until    *expression.Template // nil in duration mode
}

func newDelay(cfg *nodes.Config) (nodes.Node, error) {
	n := &delayNode{}
	if cfg.String("mode") == "until" {
		n.until = cfg.Template("until")
		if n.until != nil && n.until.Static() {
			s, _ := n.until.EvalString(nil)
			if _, err := toTime(s); err != nil {
				cfg.Fail("until", nodes.CodeParamInvalid, err.Error())
			}
		}
	} else {
		n.duration = cfg.Duration("duration")
		if n.duration > maxDelay {
			cfg.Fail("duration", nodes.CodeParamInvalid, "a delay can be at most 366 days (8784h)")
		}
	}
	return n, cfg.Err()
}

// Execute asks the engine to park the run until the target time; a target already past continues at once.
func (n *delayNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	t := now()
	if n.until == nil {
		return nodes.Result{Output: x.Input, WaitUntil: t.Add(n.duration).UTC()}, nil
	}
	v, err := n.until.Eval(envOf(x))
	if err != nil {
		return nodes.Result{}, nodes.EvalFailed("delay", "until", err)
	}
	until, err := toTime(v)
	if err != nil {
		return nodes.Result{}, nodes.NewPermanent(CodeDelayUntilInvalid, fmt.Errorf("delay: until: %w", err))
	}
	if !until.After(t) {
		return nodes.Result{Output: x.Input}, nil
	}
	if until.Sub(t) > maxDelay {
		return nodes.Result{}, nodes.NewPermanent(CodeDelayUntilInvalid, fmt.Errorf("delay: until %s is more than 366 days away", formatTime(until)))
	}
	return nodes.Result{Output: x.Input, WaitUntil: until.UTC()}, nil
}

var _ nodes.Node = (*delayNode)(nil)
