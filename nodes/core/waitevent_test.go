package core

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

func TestWaitEventParksOnItsKey(t *testing.T) {
	n := mustBuild(t, WaitEventType, `{"event": "payment.paid", "key": "{{ prev.order_id }}", "timeout": "15m", "lookback": "2m"}`)
	res, err := run(t, n, map[string]any{"order_id": "A-17"})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Park
	if p == nil || p.Kind != WaitEventKind || p.Timeout != 15*time.Minute || p.Event == nil ||
		*p.Event != (nodes.ParkEvent{Name: "payment.paid", Key: "A-17", Lookback: 2 * time.Minute}) {
		t.Fatalf("park = %+v", p)
	}
	if got, _ := json.Marshal(p.Request); string(got) != `{"event":"payment.paid","key":"A-17"}` {
		t.Fatalf("request = %s", got)
	}
	// A numeric order number is the key as people write it, as a posted event carries it.
	res, err = run(t, n, map[string]any{"order_id": float64(1000000)})
	if err != nil || res.Park == nil || res.Park.Event.Key != "1000000" {
		t.Fatalf("numeric key: %+v %v", res.Park, err)
	}
	if err := nodes.CheckDecision(WaitEventKind, nil, json.RawMessage(`{}`)); err == nil {
		t.Fatal("a person could decide a wait for an event")
	}
	if ev, ok := n.(interface{ EventName() string }); !ok || ev.EventName() != "payment.paid" {
		t.Fatal("the node does not tell which event it waits for")
	}
}

func TestWaitEventResumes(t *testing.T) {
	n := mustBuild(t, WaitEventType, `{"event": "flow:payments", "key": "{{ prev.order_id }}", "timeout": "1h"}`)
	input := map[string]any{"order_id": "A-17"}
	exec := func(r *nodes.Resume, mode nodes.Mode) nodes.Result {
		t.Helper()
		res, err := n.Execute(context.Background(), &nodes.Exec{Input: input, Env: env(input, input), Mode: mode, Resume: r, Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ev := `{"id":"e1","name":"flow:payments","key":"A-17","data":{"paid":true},"receivedAt":"2026-12-08T01:00:00Z"}`
	res := exec(&nodes.Resume{WaitID: "w1", Decision: json.RawMessage(ev)}, nodes.ModeLive)
	out, _ := json.Marshal(res.Output)
	if res.Port != PortReceived || res.Park != nil ||
		string(out) != `{"event":{"data":{"paid":true},"id":"e1","key":"A-17","name":"flow:payments","receivedAt":"2026-12-08T01:00:00Z"},"order_id":"A-17","timedOut":false}` {
		t.Fatalf("received: %s %s", res.Port, out)
	}
	res = exec(&nodes.Resume{WaitID: "w1", TimedOut: true}, nodes.ModeLive)
	out, _ = json.Marshal(res.Output)
	if res.Port != PortTimeout || string(out) != `{"event":null,"order_id":"A-17","timedOut":true}` {
		t.Fatalf("timed out: %s %s", res.Port, out)
	}
	// A test run does not wait: it takes the timeout path at once.
	res = exec(nil, nodes.ModeTest)
	if res.Port != PortTimeout || res.Park != nil {
		t.Fatalf("test run: %+v", res)
	}
	_, err := n.Execute(context.Background(), &nodes.Exec{Input: input, Env: env(input, input), Mode: nodes.ModeLive,
		Resume: &nodes.Resume{WaitID: "w1", Decision: json.RawMessage(`[1`)}})
	wantFailure(t, err, nodes.Permanent, CodeEventUnreadable)
}

func TestWaitEventRefusesBadParams(t *testing.T) {
	for _, tc := range []struct{ params, field string }{
		{`{"event": "", "key": "k", "timeout": "1m"}`, "event"},
		{`{"event": "flow:", "key": "k", "timeout": "1m"}`, "event"},
		{`{"event": "e", "key": "k", "timeout": "0s"}`, "timeout"},
		{`{"event": "e", "key": "k", "timeout": "2200h"}`, "timeout"},
		{`{"event": "e", "key": "k", "timeout": "1m", "lookback": "25h"}`, "lookback"},
	} {
		_, err := build(t, WaitEventType, tc.params, "")
		wantProblem(t, err, tc.field, nodes.CodeParamInvalid)
	}
	_, err := build(t, WaitEventType, `{"event": "e", "key": "{{ prev. }}", "timeout": "1m"}`, "")
	if err == nil {
		t.Fatal("a key that does not compile was accepted")
	}
	n := mustBuild(t, WaitEventType, `{"event": "e", "key": "{{ prev.missing ?? '' }}", "timeout": "1m"}`)
	_, err = run(t, n, map[string]any{})
	wantFailure(t, err, nodes.Permanent, CodeEventKeyEmpty)
}
