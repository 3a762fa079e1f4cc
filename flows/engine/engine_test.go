package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/internal/testnodes"
	"github.com/ferry-hq/ferry/nodes"
)

func compile(t *testing.T, doc string) *flows.Compiled {
	t.Helper()
	f, err := flows.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func start(c *flows.Compiled, mode nodes.Mode, payload any) *engine.Run {
	return &engine.Run{ID: "run-1", FlowID: "flow-1", Version: 1, Mode: mode, Attempt: 1, Trigger: payload,
		State: engine.NewState(c, c.Triggers[0].Def.ID, payload)}
}

func nodesOf(steps []engine.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.NodeID
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const branching = `{"schema":1,"name":"b","nodes":[
 {"id":"in","type":"test.trigger"},
 {"id":"check","type":"test.branch","params":{"cond":"trigger.amount > 100"}},
 {"id":"big","type":"test.value","params":{"expr":"{'tier': 'high', 'order': nodes.in.order}"}},
 {"id":"small","type":"test.value","params":{"expr":"{'tier': 'standard', 'order': prev.order}"}}],
 "edges":[{"source":"in","target":"check"},{"source":"check","sourcePort":"yes","target":"big"},{"source":"check","sourcePort":"no","target":"small"}]}`

func TestPortsChooseTheBranch(t *testing.T) {
	c := compile(t, branching)
	e := &engine.Engine{}
	for _, tc := range []struct {
		amount int
		path   []string
		tier   string
	}{{150, []string{"in", "check", "big"}, "high"}, {20, []string{"in", "check", "small"}, "standard"}} {
		run := start(c, nodes.ModeLive, map[string]any{"amount": tc.amount, "order": "A-1"})
		out := e.Execute(context.Background(), c, run)
		if out.Status != engine.StatusSucceeded {
			t.Fatalf("status %s: %+v", out.Status, out.Error)
		}
		if got := nodesOf(out.Steps); !equal(got, tc.path) {
			t.Errorf("amount %d: path %v, want %v", tc.amount, got, tc.path)
		}
		last := out.Steps[len(out.Steps)-1].Output.(map[string]any)
		if last["tier"] != tc.tier || last["order"] != "A-1" {
			t.Errorf("output %v", last)
		}
		if out.Steps[1].Port != map[bool]string{true: "yes", false: "no"}[tc.amount > 100] {
			t.Errorf("port %q", out.Steps[1].Port)
		}
	}
}

const flakyFlow = `{"schema":1,"name":"f","nodes":[
 {"id":"in","type":"test.trigger"},
 {"id":"call","type":"test.flaky","params":{"kind":"%s","failTimes":%d},"retry":{"maxAttempts":3,"backoff":"10s"}},
 {"id":"after","type":"test.pass"}],
 "edges":[{"source":"in","target":"call"},{"source":"call","target":"after"}]}`

func flaky(kind string, fails int) string { return fmt.Sprintf(flakyFlow, kind, fails) }

func TestRetryableFailureIsRetriedLaterNotInPlace(t *testing.T) {
	c := compile(t, flaky("retryable", 2))
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	e := &engine.Engine{Now: func() time.Time { return now }}
	run := start(c, nodes.ModeLive, map[string]any{})

	out := e.Execute(context.Background(), c, run)
	if out.Status != engine.StatusQueued {
		t.Fatalf("first attempt: status %s", out.Status)
	}
	if d := out.AvailableAt.Sub(now); d < 8*time.Second || d > 12*time.Second {
		t.Errorf("retry delay %s, want about 10s", d)
	}
	if got := nodesOf(out.Steps); !equal(got, []string{"in", "call"}) || out.Steps[1].Status != engine.StepFailed {
		t.Errorf("steps %v", out.Steps)
	}
	// Resume from the checkpoint, as a worker would after the delay.
	var st engine.State
	b, _ := json.Marshal(run.State)
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	run.State = &st
	out = e.Execute(context.Background(), c, run)
	if out.Status != engine.StatusQueued || out.Steps[0].Attempt != 2 {
		t.Fatalf("second attempt: %s %+v", out.Status, out.Steps)
	}
	out = e.Execute(context.Background(), c, run)
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("third attempt: %s %+v", out.Status, out.Error)
	}
	if out.Steps[0].Attempt != 3 || out.Steps[0].Output.(map[string]any)["key"] != "run-1:call" {
		t.Errorf("third attempt step %+v", out.Steps[0])
	}
	if got := nodesOf(out.Steps); !equal(got, []string{"call", "after"}) {
		t.Errorf("resumed path %v", got)
	}
}

func TestIdempotencyKeyIsStableAcrossAttempts(t *testing.T) {
	c := compile(t, flaky("retryable", 1))
	e := &engine.Engine{}
	run := start(c, nodes.ModeLive, nil)
	keys := map[string]bool{}
	for i := 0; i < 3; i++ {
		out := e.Execute(context.Background(), c, run)
		for _, s := range out.Steps {
			if s.NodeID == "call" && s.Output != nil {
				keys[s.Output.(map[string]any)["key"].(string)] = true
			}
		}
		if out.Status == engine.StatusSucceeded {
			break
		}
	}
	if len(keys) != 1 || !keys["run-1:call"] {
		t.Errorf("keys %v", keys)
	}
}

func TestExhaustedRetriesFailAndKeepTheStepForRetry(t *testing.T) {
	c := compile(t, flaky("retryable", 10))
	e := &engine.Engine{}
	run := start(c, nodes.ModeLive, nil)
	var out engine.Outcome
	for i := 0; i < 3; i++ {
		out = e.Execute(context.Background(), c, run)
	}
	if out.Status != engine.StatusFailed || out.Error.Code != "unavailable" || out.Error.NodeID != "call" {
		t.Fatalf("want failure at call, got %s %+v", out.Status, out.Error)
	}
	if len(run.State.Pending) != 1 || run.State.Pending[0].Node != "call" || run.State.Pending[0].Attempt != 1 {
		t.Errorf("failed step should stay pending with a fresh attempt: %+v", run.State.Pending)
	}
}

func TestPermanentFailureSkipsRetries(t *testing.T) {
	c := compile(t, flaky("permanent", 1))
	out := (&engine.Engine{}).Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status != engine.StatusFailed || out.Error.Kind != "permanent" {
		t.Fatalf("%s %+v", out.Status, out.Error)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	c := compile(t, flaky("retryafter", 1))
	now := time.Now()
	out := (&engine.Engine{Now: func() time.Time { return now }}).Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status != engine.StatusQueued || out.AvailableAt.Sub(now) != 42*time.Second {
		t.Fatalf("%s after %s", out.Status, out.AvailableAt.Sub(now))
	}
}

func TestCancelOutcomeStopsTheRun(t *testing.T) {
	c := compile(t, flaky("cancel", 1))
	out := (&engine.Engine{}).Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status != engine.StatusCancelled {
		t.Fatalf("%s", out.Status)
	}
}

func TestErrorPortCatchesFailure(t *testing.T) {
	doc := `{"schema":1,"name":"e","nodes":[
	 {"id":"in","type":"test.trigger"},
	 {"id":"call","type":"test.flaky","params":{"kind":"permanent","failTimes":5}},
	 {"id":"ok","type":"test.pass"},
	 {"id":"review","type":"test.value","params":{"expr":"prev.error.code + ':' + prev.input.order"}}],
	 "edges":[{"source":"in","target":"call"},{"source":"call","target":"ok"},{"source":"call","sourcePort":"error","target":"review"}]}`
	c := compile(t, doc)
	out := (&engine.Engine{}).Execute(context.Background(), c, start(c, nodes.ModeLive, map[string]any{"order": "A-7"}))
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("%s %+v", out.Status, out.Error)
	}
	if got := nodesOf(out.Steps); !equal(got, []string{"in", "call", "review"}) {
		t.Fatalf("path %v", got)
	}
	if v := out.Steps[2].Output; v != "rejected:A-7" {
		t.Errorf("review saw %v", v)
	}
}

func TestWaitParksTheRun(t *testing.T) {
	doc := `{"schema":1,"name":"w","nodes":[{"id":"in","type":"test.trigger"},{"id":"wait","type":"test.wait","params":{"duration":"2h"}},{"id":"after","type":"test.pass"}],
	 "edges":[{"source":"in","target":"wait"},{"source":"wait","target":"after"}]}`
	c := compile(t, doc)
	run := start(c, nodes.ModeLive, nil)
	out := (&engine.Engine{}).Execute(context.Background(), c, run)
	if out.Status != engine.StatusWaiting || time.Until(out.AvailableAt) < time.Hour {
		t.Fatalf("%s until %s", out.Status, out.AvailableAt)
	}
	if len(run.State.Pending) != 1 || run.State.Pending[0].Node != "after" {
		t.Fatalf("pending %+v", run.State.Pending)
	}
	out = (&engine.Engine{}).Execute(context.Background(), c, run)
	if out.Status != engine.StatusSucceeded || len(out.Steps) != 1 || out.Steps[0].NodeID != "after" {
		t.Fatalf("resume: %s %v", out.Status, nodesOf(out.Steps))
	}
	// Test runs do not wait.
	out = (&engine.Engine{}).Execute(context.Background(), c, start(c, nodes.ModeTest, nil))
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("test run waited: %s", out.Status)
	}
}

func TestTestRunsDryRunSideEffects(t *testing.T) {
	testnodes.Reset()
	doc := `{"schema":1,"name":"d","nodes":[{"id":"in","type":"test.trigger"},{"id":"send","type":"test.effect"}],"edges":[{"source":"in","target":"send"}]}`
	c := compile(t, doc)
	out := (&engine.Engine{}).Execute(context.Background(), c, start(c, nodes.ModeTest, map[string]any{"x": 1}))
	if out.Status != engine.StatusSucceeded || out.Steps[1].Status != engine.StepDryRun {
		t.Fatalf("%s %+v", out.Status, out.Steps)
	}
	if testnodes.CallCount("send") != 0 {
		t.Error("side effect executed in a test run")
	}
	if got := out.Steps[1].Output.(map[string]any)["wouldSend"]; got.(map[string]any)["x"] != 1 {
		t.Errorf("dry run output %v", got)
	}
	out = (&engine.Engine{}).Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Steps[1].Status != engine.StepSucceeded || testnodes.CallCount("send") != 1 {
		t.Errorf("live run should execute the side effect")
	}
}

func TestTestRunsDoNotRetry(t *testing.T) {
	c := compile(t, flaky("retryable", 1))
	out := (&engine.Engine{}).Execute(context.Background(), c, start(c, nodes.ModeTest, nil))
	if out.Status != engine.StatusFailed {
		t.Fatalf("%s", out.Status)
	}
}

func TestStopHandsTheStepBack(t *testing.T) {
	doc := `{"schema":1,"name":"s","nodes":[{"id":"in","type":"test.trigger"},{"id":"slow","type":"test.slow"}],"edges":[{"source":"in","target":"slow"}]}`
	c := compile(t, doc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	run := start(c, nodes.ModeLive, nil)
	out := (&engine.Engine{}).Execute(ctx, c, run)
	if out.Status != engine.StatusQueued {
		t.Fatalf("%s", out.Status)
	}
	if len(run.State.Pending) != 1 || run.State.Pending[0].Node != "slow" || run.State.Seq != 1 {
		t.Errorf("the interrupted step must stay pending and unrecorded: %+v seq %d", run.State.Pending, run.State.Seq)
	}
}

func TestMaxSteps(t *testing.T) {
	doc := `{"schema":1,"name":"m","settings":{"maxSteps":2},"nodes":[{"id":"in","type":"test.trigger"},{"id":"a","type":"test.pass"},{"id":"b","type":"test.pass"}],
	 "edges":[{"source":"in","target":"a"},{"source":"a","target":"b"}]}`
	c := compile(t, doc)
	out := (&engine.Engine{}).Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if out.Status != engine.StatusFailed || out.Error.Code != engine.CodeTooManySteps {
		t.Fatalf("%s %+v", out.Status, out.Error)
	}
}

func TestFanOutRunsEveryTargetInEdgeOrder(t *testing.T) {
	doc := `{"schema":1,"name":"fan","nodes":[{"id":"in","type":"test.trigger"},{"id":"a","type":"test.pass"},{"id":"b","type":"test.pass"},{"id":"c","type":"test.pass"}],
	 "edges":[{"source":"in","target":"b"},{"source":"in","target":"a"},{"source":"a","target":"c"}]}`
	c := compile(t, doc)
	out := (&engine.Engine{}).Execute(context.Background(), c, start(c, nodes.ModeLive, nil))
	if got := nodesOf(out.Steps); !equal(got, []string{"in", "b", "a", "c"}) {
		t.Fatalf("order %v", got)
	}
}

func TestVarsAndSettings(t *testing.T) {
	doc := `{"schema":1,"name":"v","settings":{"vars":{"region":"CN"}},"nodes":[{"id":"in","type":"test.trigger"},{"id":"a","type":"test.value","params":{"expr":"vars.region + ':' + env + ':' + run.id"}}],
	 "edges":[{"source":"in","target":"a"}]}`
	c := compile(t, doc)
	out := (&engine.Engine{}).Execute(context.Background(), c, start(c, nodes.ModeTest, nil))
	if v := out.Steps[1].Output; v != "CN:test:run-1" {
		t.Fatalf("got %v", v)
	}
}
