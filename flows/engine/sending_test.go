package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/internal/testnodes"
	"github.com/ferry-hq/ferry/nodes"
)

const sendFlow = `{"schema":1,"name":"s","nodes":[{"id":"in","type":"test.trigger"},{"id":"prep","type":"test.pass"},
 {"id":"send","type":"test.send"},{"id":"after","type":"test.pass"},{"id":"check","type":"test.value","params":{"expr":"prev.error.code"}}],
 "edges":[{"source":"in","target":"prep"},{"source":"prep","target":"send"},{"source":"send","target":"after"},{"source":"send","sourcePort":"error","target":"check"}]}`

// TestSendingIsSavedBeforeTheRequest: a step about to send an unrepeatable request has the run saved first,
// marked as sending, with the steps before it; a run resumed from that save (its process died mid-send) fails
// the step with the unknown outcome instead of sending again.
func TestSendingIsSavedBeforeTheRequest(t *testing.T) {
	testnodes.Reset()
	c := compile(t, sendFlow)
	run := start(c, nodes.ModeLive, map[string]any{"order": "A-1"})
	var saved []byte
	var savedSteps []string
	run.Persist = func(_ context.Context, st *engine.State, steps []engine.Step) error {
		saved, _ = json.Marshal(st)
		savedSteps = nodesOf(steps)
		return nil
	}
	out := (&engine.Engine{}).Execute(context.Background(), c, run)
	if out.Status != engine.StatusSucceeded {
		t.Fatalf("%s %+v", out.Status, out.Error)
	}
	// The save held the steps before the send; the outcome only those after it.
	if !equal(savedSteps, []string{"in", "prep"}) || !equal(nodesOf(out.Steps), []string{"send", "after"}) {
		t.Fatalf("saved %v, then returned %v", savedSteps, nodesOf(out.Steps))
	}
	var crashed engine.State
	if err := json.Unmarshal(saved, &crashed); err != nil {
		t.Fatal(err)
	}
	if len(crashed.Pending) != 1 || crashed.Pending[0].Node != "send" || crashed.Pending[0].Sending == nil ||
		crashed.Pending[0].Sending.Code != "test_outcome_unknown" {
		t.Fatalf("saved state %s", saved)
	}
	for _, p := range run.State.Pending {
		if p.Sending != nil {
			t.Fatal("the mark outlived the step")
		}
	}

	// The process died after the save: a worker resumes from it.
	sends := testnodes.CallCount("send")
	resumed := &engine.Run{ID: "run-1", FlowID: "flow-1", Version: 1, Mode: nodes.ModeLive, Attempt: 1, State: &crashed}
	out = (&engine.Engine{}).Execute(context.Background(), c, resumed)
	if testnodes.CallCount("send") != sends {
		t.Fatal("the request was sent again")
	}
	if out.Status != engine.StatusSucceeded || !equal(nodesOf(out.Steps), []string{"send", "check"}) || out.Steps[1].Output != "test_outcome_unknown" {
		t.Fatalf("resumed: %s %v %+v", out.Status, nodesOf(out.Steps), out.Steps)
	}
	if out.Steps[0].Error == nil || out.Steps[0].Error.Kind != string(nodes.Permanent) {
		t.Fatalf("the send step's error: %+v", out.Steps[0].Error)
	}

	// A save that fails sends nothing, and the step is retried later.
	testnodes.Reset()
	run = start(c, nodes.ModeLive, map[string]any{"order": "A-2"})
	run.Persist = func(context.Context, *engine.State, []engine.Step) error { return errors.New("database gone") }
	out = (&engine.Engine{}).Execute(context.Background(), c, run)
	if out.Status != engine.StatusQueued || testnodes.CallCount("send") != 0 || run.State.Pending[0].Sending != nil {
		t.Fatalf("unsaved send: %s, sent %d times, pending %+v", out.Status, testnodes.CallCount("send"), run.State.Pending)
	}
}
