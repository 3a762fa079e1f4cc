package core

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/nodes"
)

// build constructs a node the way the engine does: the registered spec, NewConfig over JSON params, then the
// registered constructor.
func build(t testing.TB, typ, params, credential string) (nodes.Node, error) {
	t.Helper()
	return nodetest.New(t, typ, 1, params, credential)
}

// mustBuild builds a node whose parameters must be accepted.
func mustBuild(t testing.TB, typ, params string) nodes.Node {
	t.Helper()
	return nodetest.MustNew(t, typ, 1, params, "")
}

// wantProblem checks that building failed with a problem of code at field.
func wantProblem(t *testing.T, err error, field, code string) nodes.Problem {
	t.Helper()
	var ce *nodes.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want a *nodes.ConfigError with %s at %s", err, code, field)
	}
	for _, p := range ce.Problems {
		if p.Field == field && p.Code == code {
			return p
		}
	}
	t.Fatalf("problems = %+v, want %s at %s", ce.Problems, code, field)
	return nodes.Problem{}
}

// env is the environment the engine builds for a step.
func env(trigger, prev any) map[string]any {
	return map[string]any{
		"trigger": trigger,
		"prev":    prev,
		"nodes":   map[string]any{},
		"vars":    map[string]any{},
		"env":     "live",
		"run":     map[string]any{"id": "run1", "flowId": "flow1", "version": 1, "attempt": 1},
	}
}

func run(t *testing.T, n nodes.Node, input any) (nodes.Result, error) {
	t.Helper()
	return n.Execute(context.Background(), &nodes.Exec{Input: input, Env: env(input, input), RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive})
}

// wantFailure checks the kind and code of a step failure.
func wantFailure(t *testing.T, err error, kind nodes.Kind, code string) *nodes.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %s", kind, code)
	}
	e := nodes.Classify(err)
	if e.Kind != kind || e.Code != code {
		t.Fatalf("failure = %s %s (%v), want %s %s", e.Kind, e.Code, err, kind, code)
	}
	return e
}

// setNow fixes the package clock for one test.
func setNow(t *testing.T, at time.Time) {
	t.Helper()
	prev := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = prev })
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
