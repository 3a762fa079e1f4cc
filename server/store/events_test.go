package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// parkOnEvent creates a run, claims it and parks it on a wait for the event (name, key) timing out at timeout;
// since, when set, lets an earlier event decide the wait at once. It returns the run and the wait's id.
func parkOnEvent(t *testing.T, s Store, flowID, name, key string, timeout, since time.Time) (*Run, string) {
	t.Helper()
	ctx := t.Context()
	r := createRun(t, s, queuedRun(t, flowID))
	_, err := s.ClaimRun(ctx, r.ID, "w1", time.Now().Add(time.Minute))
	mustOK(t, err, "claim")
	waitID := newRunID(t)
	mustOK(t, s.SaveProgress(ctx, Progress{
		RunID: r.ID, LeaseOwner: "w1", Status: RunWaiting, Attempt: 1, AvailableAt: timeout,
		Checkpoint: json.RawMessage(`{"pending":[{"node":"wait","wait":"` + waitID + `"}]}`),
		Steps:      []Step{{Seq: 1, NodeID: "wait", Status: StepWaiting, Output: json.RawMessage(`{}`)}},
		Wait: &Wait{ID: waitID, FlowID: flowID, NodeID: "wait", NodeType: "core.wait-event", Kind: "core.event",
			Request: json.RawMessage(`{}`), TimeoutAt: timeout, EventName: name, EventKey: key, EventSince: since},
	}), "park")
	return r, waitID
}

func wantWait(t *testing.T, s Store, id, status string) *Wait {
	t.Helper()
	w, err := s.GetWait(t.Context(), id)
	mustOK(t, err, "get wait")
	if w.Status != status {
		t.Fatalf("wait %s is %s, want %s", id, w.Status, status)
	}
	return w
}

func runIDs(rs []Resumed) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.RunID)
	}
	return out
}

func testEvents(t *testing.T, s Store) {
	ctx := t.Context()
	s.(*gormStore).SetSealer(newGCMSealer(t))
	f := newFlow(t, s, "events")
	hour := time.Now().Add(time.Hour)

	// Nobody waits yet: the event is kept.
	d, err := s.DeliverEvent(ctx, Event{ID: "e0", Name: "payment.paid", Key: "B-2", Data: json.RawMessage(`{"early":true}`)})
	mustOK(t, err, "deliver e0")
	if d.Duplicate || len(d.Resumed) != 0 {
		t.Fatalf("e0: %+v", d)
	}
	var raw eventRow
	mustOK(t, s.(*gormStore).r.Take(&raw, "id = ?", "e0").Error, "read e0")
	if raw.Data == nil || !strings.HasPrefix(*raw.Data, sealedPrefix) {
		t.Fatalf("event data is not sealed: %v", raw.Data)
	}
	// A wait with a lookback takes it as it parks; one without does not.
	rb, wb := parkOnEvent(t, s, f.ID, "payment.paid", "B-2", hour, time.Now().Add(-time.Minute))
	w := wantWait(t, s, wb, WaitDecided)
	var ev map[string]any
	if err := json.Unmarshal(w.Decision, &ev); err != nil || ev["id"] != "e0" || ev["key"] != "B-2" ||
		fmt.Sprint(ev["data"]) != "map[early:true]" || w.DecidedBy != "event:e0" {
		t.Fatalf("decision taken at park: %s %v", w.Decision, err)
	}
	if got := getRun(t, s, rb.ID); got.Status != RunQueued || got.AvailableAt.After(time.Now()) {
		t.Fatalf("run that took an earlier event: %+v", got)
	}
	_, wb2 := parkOnEvent(t, s, f.ID, "payment.paid", "B-2", hour, time.Time{})
	wantWait(t, s, wb2, WaitOpen)
	_, wbOld := parkOnEvent(t, s, f.ID, "payment.paid", "B-2", hour, time.Now().Add(time.Millisecond))
	wantWait(t, s, wbOld, WaitOpen) // the event is older than its window

	// Two runs wait for A-1: one event resumes both, once; other names and keys are left alone.
	ra1, wa1 := parkOnEvent(t, s, f.ID, "payment.paid", "A-1", hour, time.Time{})
	ra2, wa2 := parkOnEvent(t, s, f.ID, "payment.paid", "A-1", hour, time.Time{})
	_, wOtherKey := parkOnEvent(t, s, f.ID, "payment.paid", "A-2", hour, time.Time{})
	_, wOtherName := parkOnEvent(t, s, f.ID, "refund.done", "A-1", hour, time.Time{})
	d, err = s.DeliverEvent(ctx, Event{ID: "e1", Name: "payment.paid", Key: "A-1", Data: json.RawMessage(`{"amount":"1.00"}`)})
	mustOK(t, err, "deliver e1")
	if d.Duplicate || fmt.Sprint(runIDs(d.Resumed)) != fmt.Sprint([]string{ra1.ID, ra2.ID}) || d.Resumed[0].WaitID != wa1 || d.Resumed[0].FlowID != f.ID {
		t.Fatalf("e1 resumed %+v, want %s and %s", d, ra1.ID, ra2.ID)
	}
	for _, id := range []string{ra1.ID, ra2.ID} {
		if got := getRun(t, s, id); got.Status != RunQueued {
			t.Fatalf("resumed run %s is %s", id, got.Status)
		}
	}
	w = wantWait(t, s, wa2, WaitDecided)
	if err := json.Unmarshal(w.Decision, &ev); err != nil || ev["id"] != "e1" || ev["name"] != "payment.paid" || fmt.Sprint(ev["data"]) != "map[amount:1.00]" {
		t.Fatalf("decision: %s", w.Decision)
	}
	wantWait(t, s, wOtherKey, WaitOpen)
	wantWait(t, s, wOtherName, WaitOpen)

	// The same event again: a duplicate, nothing resumed. Another event for the same key finds no open wait.
	d, err = s.DeliverEvent(ctx, Event{ID: "e1", Name: "payment.paid", Key: "A-1"})
	mustOK(t, err, "deliver e1 again")
	if !d.Duplicate || len(d.Resumed) != 0 {
		t.Fatalf("e1 again: %+v", d)
	}
	d, err = s.DeliverEvent(ctx, Event{ID: "e2", Name: "payment.paid", Key: "A-1"})
	mustOK(t, err, "deliver e2")
	if d.Duplicate || len(d.Resumed) != 0 {
		t.Fatalf("e2: %+v", d)
	}

	// A wait whose timeout has passed takes no event, even before its worker closed it.
	rl, wl := parkOnEvent(t, s, f.ID, "payment.paid", "L-1", time.Now().Add(-time.Millisecond), time.Time{})
	d, err = s.DeliverEvent(ctx, Event{ID: "e3", Name: "payment.paid", Key: "L-1"})
	mustOK(t, err, "deliver e3")
	if len(d.Resumed) != 0 {
		t.Fatalf("a late event resumed %+v", d)
	}
	wantWait(t, s, wl, WaitOpen)
	if got := getRun(t, s, rl.ID); got.Status != RunWaiting {
		t.Fatalf("late event moved the run: %s", got.Status)
	}
	// An event in the very instant of the timeout is late too: at that instant the worker closes the wait as
	// timed out (it times out when now is not before the timeout), so exactly one path is taken.
	at := micro(time.Now().Add(time.Minute))
	_, ws := parkOnEvent(t, s, f.ID, "payment.paid", "S-1", at, time.Time{})
	d, err = s.DeliverEvent(ctx, Event{ID: "e5", Name: "payment.paid", Key: "S-1", ReceivedAt: at})
	mustOK(t, err, "deliver e5")
	if len(d.Resumed) != 0 {
		t.Fatalf("an event at the timeout resumed %+v", d)
	}
	d, err = s.DeliverEvent(ctx, Event{ID: "e6", Name: "payment.paid", Key: "S-1", ReceivedAt: at.Add(-time.Microsecond)})
	mustOK(t, err, "deliver e6")
	if len(d.Resumed) != 1 {
		t.Fatalf("an event just before the timeout resumed %+v", d)
	}
	wantWait(t, s, ws, WaitDecided)
	// A run that is no longer waiting (claimed by the worker timing it out) is left to that worker.
	rc, wc := parkOnEvent(t, s, f.ID, "payment.paid", "C-1", hour, time.Time{})
	mustOK(t, s.Transition(ctx, rc.ID, []string{RunWaiting}, RunRunning, RunUpdate{}), "take the run")
	d, err = s.DeliverEvent(ctx, Event{ID: "e4", Name: "payment.paid", Key: "C-1"})
	mustOK(t, err, "deliver e4")
	if len(d.Resumed) != 0 {
		t.Fatalf("an event resumed a running run: %+v", d)
	}
	wantWait(t, s, wc, WaitOpen)

	// A due wait takes an event that was never delivered, under its run's lease: the run is left as it is.
	rt, wt := parkOnEvent(t, s, f.ID, "flow:payments", "T-1", hour, time.Time{})
	mustOK(t, s.TakeEvent(ctx, wt, Event{ID: "run-9", Name: "flow:payments", Key: "T-1", Data: json.RawMessage(`{"paid":true}`), ReceivedAt: time.Now()}), "take event")
	w = wantWait(t, s, wt, WaitDecided)
	if !strings.Contains(string(w.Decision), `"id":"run-9"`) || !strings.Contains(string(w.Decision), `"data":{"paid":true}`) {
		t.Fatalf("taken: %s", w.Decision)
	}
	if got := getRun(t, s, rt.ID); got.Status != RunWaiting {
		t.Fatalf("taking an event moved the run: %s", got.Status)
	}
	mustErr(t, s.TakeEvent(ctx, wt, Event{ID: "run-10", Name: "flow:payments", Key: "T-1"}), ErrConflict, "take for a closed wait")
	if d, err := s.DeliverEvent(ctx, Event{ID: "run-9", Name: "flow:payments", Key: "T-1"}); err != nil || !d.Duplicate {
		t.Fatalf("the taken event was not stored: %+v %v", d, err)
	}

	// Waits for events are listed apart from the reviews people decide, and not counted with them.
	evWaits, err := s.ListWaits(ctx, WaitFilter{Events: true, Limit: 200})
	mustOK(t, err, "list event waits")
	reviews, err := s.ListWaits(ctx, WaitFilter{})
	mustOK(t, err, "list reviews")
	if len(evWaits) != 11 || len(reviews) != 0 || evWaits[0].EventName != "flow:payments" || evWaits[0].EventKey != "T-1" {
		t.Fatalf("%d event waits (first %+v), %d reviews", len(evWaits), evWaits[0], len(reviews))
	}
	if n, _ := s.CountWaits(ctx, ""); n != 0 {
		t.Fatalf("event waits counted as reviews: %d", n)
	}

	// Bad events change nothing.
	for _, e := range []Event{{ID: "", Name: "n", Key: "k"}, {ID: "x", Name: "", Key: "k"}, {ID: "x", Name: "n", Key: ""},
		{ID: "x", Name: "n", Key: "k", Data: json.RawMessage(`{`)}, {ID: "x", Name: strings.Repeat("n", MaxEventName+1), Key: "k"}} {
		if _, err := s.DeliverEvent(ctx, e); err == nil {
			t.Fatalf("event %+v accepted", e)
		}
	}
	n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour), 2)
	mustOK(t, err, "prune events")
	if n != 2 {
		t.Fatalf("pruned %d events, want a batch of 2", n)
	}
}

// testEventParkRace delivers an event while a run parks on a wait for it with a lookback, many times at once:
// whichever commits first, the wait ends decided by the event; it is never left open with its event stored.
func testEventParkRace(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "event race")
	const n = 12
	type parked struct{ run, wait string }
	got := make([]parked, n)
	var wg sync.WaitGroup
	for i := range n {
		key := fmt.Sprint("R-", i)
		wg.Add(2)
		go func() {
			defer wg.Done()
			r, w := parkOnEvent(t, s, f.ID, "race", key, time.Now().Add(time.Hour), time.Now().Add(-time.Minute))
			got[i] = parked{r.ID, w}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.DeliverEvent(ctx, Event{ID: key, Name: "race", Key: key}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, p := range got {
		if p.wait == "" {
			t.Fatalf("park %d failed", i)
		}
		w := wantWait(t, s, p.wait, WaitDecided)
		if !strings.Contains(string(w.Decision), fmt.Sprintf(`"id":"R-%d"`, i)) {
			t.Fatalf("wait %d decided by %s", i, w.Decision)
		}
		if r := getRun(t, s, p.run); r.Status != RunQueued {
			t.Fatalf("run %d is %s", i, r.Status)
		}
	}
}
