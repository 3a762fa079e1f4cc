package stripe

import (
	"context"
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
	return nodetest.MustNew(t, typ, 1, params, "cred1")
}

func wantProblem(t *testing.T, err error, field, code string) {
	t.Helper()
	var ce *nodes.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want a *nodes.ConfigError with %s at %s", err, code, field)
	}
	for _, p := range ce.Problems {
		if p.Field == field && p.Code == code {
			return
		}
	}
	t.Fatalf("problems = %+v, want %s at %s", ce.Problems, code, field)
}

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

func credFunc(fields map[string]string, err error) func(context.Context) (map[string]string, error) {
	return func(context.Context) (map[string]string, error) { return fields, err }
}

func wantWebhookError(t *testing.T, err error, status int, code string) *nodes.WebhookError {
	t.Helper()
	var we *nodes.WebhookError
	if !errors.As(err, &we) {
		t.Fatalf("error = %v, want *nodes.WebhookError %d %s", err, status, code)
	}
	if we.Status != status || we.Code != code {
		t.Fatalf("rejection = %d %s (%v), want %d %s", we.Status, we.Code, we.Err, status, code)
	}
	return we
}
