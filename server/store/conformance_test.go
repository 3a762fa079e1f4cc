package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// runConformance is the one suite both implementations must pass. open returns a store on the calling test's own
// empty database; called again within the same test it reopens that database.
func runConformance(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Basics", func(t *testing.T) { testBasics(t, open) })
	t.Run("Migrations", func(t *testing.T) { testMigrationsIdempotent(t, open) })
	t.Run("CreateFlow", func(t *testing.T) { testCreateFlow(t, open(t)) })
	t.Run("ListFlows", func(t *testing.T) { testListFlows(t, open(t)) })
	t.Run("SaveDraft", func(t *testing.T) { testSaveDraft(t, open(t)) })
	t.Run("SetFlowStatus", func(t *testing.T) { testSetFlowStatus(t, open(t)) })
	t.Run("Publish", func(t *testing.T) { testPublish(t, open(t)) })
	t.Run("ConcurrentPublish", func(t *testing.T) { testConcurrentPublish(t, open(t)) })
	t.Run("Republish", func(t *testing.T) { testRepublish(t, open(t)) })
	t.Run("ImportFlow", func(t *testing.T) { testImportFlow(t, open(t)) })
	t.Run("PublishedFlows", func(t *testing.T) { testPublishedFlows(t, open(t)) })
	t.Run("DeleteFlow", func(t *testing.T) { testDeleteFlow(t, open(t)) })
	t.Run("CreateRun", func(t *testing.T) { testCreateRun(t, open(t)) })
	t.Run("JSONRoundTrip", func(t *testing.T) { testJSONRoundTrip(t, open(t)) })
	t.Run("Dedup", func(t *testing.T) { testDedup(t, open(t)) })
	t.Run("ConcurrentDedup", func(t *testing.T) { testConcurrentDedup(t, open(t)) })
	t.Run("CreateRuns", func(t *testing.T) { testCreateRuns(t, open(t)) })
	t.Run("ConcurrentCreateRuns", func(t *testing.T) { testConcurrentCreateRuns(t, open(t)) })
	t.Run("ConcurrentMixedCreates", func(t *testing.T) { testConcurrentMixedCreates(t, open(t)) })
	t.Run("ListRuns", func(t *testing.T) { testListRuns(t, open(t)) })
	t.Run("ClaimRun", func(t *testing.T) { testClaimRun(t, open(t)) })
	t.Run("ConcurrentClaim", func(t *testing.T) { testConcurrentClaim(t, open(t)) })
	t.Run("OrderingKey", func(t *testing.T) { testOrderingKey(t, open(t)) })
	t.Run("ConcurrencyCap", func(t *testing.T) { testConcurrencyCap(t, open(t)) })
	t.Run("ExtendLease", func(t *testing.T) { testExtendLease(t, open(t)) })
	t.Run("SaveProgress", func(t *testing.T) { testSaveProgress(t, open(t)) })
	t.Run("Transition", func(t *testing.T) { testTransition(t, open(t)) })
	t.Run("DueRuns", func(t *testing.T) { testDueRuns(t, open(t)) })
	t.Run("CountRuns", func(t *testing.T) { testCountRuns(t, open(t)) })
	t.Run("PruneRuns", func(t *testing.T) { testPruneRuns(t, open(t)) })
	t.Run("PruneTestRuns", func(t *testing.T) { testPruneTestRuns(t, open(t)) })
	t.Run("TestSecrets", func(t *testing.T) { testTestSecrets(t, open(t)) })
	t.Run("PollCursors", func(t *testing.T) { testPollCursors(t, open(t)) })
	t.Run("PollCommitsRace", func(t *testing.T) { testPollCommitsRace(t, open(t)) })
	t.Run("Waits", func(t *testing.T) { testWaits(t, open(t)) })
	t.Run("WaitDecisionRace", func(t *testing.T) { testWaitDecisionRace(t, open(t)) })
	t.Run("Events", func(t *testing.T) { testEvents(t, open(t)) })
	t.Run("EventParkRace", func(t *testing.T) { testEventParkRace(t, open(t)) })
	t.Run("StepInputRefs", func(t *testing.T) { testStepInputRefs(t, open(t)) })
	t.Run("AuthStore", func(t *testing.T) { testAuthStore(t, open(t)) })
	t.Run("Throttles", func(t *testing.T) { testThrottles(t, open(t)) })
	t.Run("AnonymousAuditBound", func(t *testing.T) { testAnonymousAuditBound(t, open(t)) })
	t.Run("WebhookRejectionBounds", func(t *testing.T) { testWebhookRejectionBounds(t, open(t)) })
	t.Run("Credentials", func(t *testing.T) { testCredentials(t, open(t)) })
}

// Fixtures.

func newFlow(t *testing.T, s Store, name string) *Flow {
	t.Helper()
	f := &Flow{Name: name, Draft: json.RawMessage(`{"nodes":[]}`)}
	if err := s.CreateFlow(t.Context(), f); err != nil {
		t.Fatalf("create flow: %v", err)
	}
	return f
}

func newRunID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// queuedRun is a minimal live run of flow, not yet stored.
func queuedRun(t *testing.T, flowID string) *Run {
	return &Run{
		ID:          newRunID(t),
		FlowID:      flowID,
		FlowVersion: 1,
		Mode:        "live",
		Status:      RunQueued,
		TriggerNode: "webhook",
		Trigger:     json.RawMessage(`{"order":"A-1"}`),
	}
}

func createRun(t *testing.T, s Store, r *Run, steps ...Step) *Run {
	t.Helper()
	if err := s.CreateRun(t.Context(), r, steps); err != nil {
		t.Fatalf("create run: %v", err)
	}
	return r
}

func getRun(t *testing.T, s Store, id string) *Run {
	t.Helper()
	r, err := s.GetRun(t.Context(), id)
	if err != nil {
		t.Fatalf("get run %s: %v", id, err)
	}
	return r
}

func mustErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func mustOK(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// micro is a time as the store keeps it: UTC, microseconds.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}

// Tests.

func testBasics(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	mustOK(t, s.Ping(t.Context()), "ping")
	if d := s.Dialect(); d != DialectSQLite && d != DialectPostgres {
		t.Errorf("Dialect() = %q", d)
	}
}

func testMigrationsIdempotent(t *testing.T, open func(t *testing.T) Store) {
	first := open(t)
	f := newFlow(t, first, "survives reopen")
	mustOK(t, first.Close(), "close")
	second := open(t) // same database: the migrations run again and must change nothing
	got, err := second.GetFlow(t.Context(), f.ID)
	mustOK(t, err, "get flow after reopen")
	if got.Name != f.Name {
		t.Errorf("name after reopen = %q", got.Name)
	}
	third := open(t)
	mustOK(t, third.Ping(t.Context()), "ping third")
}

func testCreateFlow(t *testing.T, s Store) {
	ctx := t.Context()
	f := &Flow{Name: "Stripe → HubSpot", Description: "sync paid invoices", Draft: json.RawMessage(`{"a":1}`)}
	mustOK(t, s.CreateFlow(ctx, f), "create")
	if f.ID == "" || f.Status != FlowDraft || f.Revision != 1 || f.PublishedVersion != 0 {
		t.Fatalf("defaults not filled: %+v", f)
	}
	if f.CreatedAt.IsZero() || !f.UpdatedAt.Equal(f.CreatedAt) {
		t.Errorf("times not filled: created %v updated %v", f.CreatedAt, f.UpdatedAt)
	}
	got, err := s.GetFlow(ctx, f.ID)
	mustOK(t, err, "get")
	if !reflect.DeepEqual(got, f) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, f)
	}

	created := time.Date(2024, 11, 11, 0, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
	g := &Flow{ID: "explicit-id", Name: "no draft", CreatedAt: created}
	mustOK(t, s.CreateFlow(ctx, g), "create with id")
	got, err = s.GetFlow(ctx, "explicit-id")
	mustOK(t, err, "get explicit")
	if got.Draft != nil {
		t.Errorf("empty draft read back as %q, want nil", got.Draft)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, micro(created))

	mustErr(t, s.CreateFlow(ctx, &Flow{ID: "explicit-id", Name: "again"}), ErrConflict, "duplicate id")
	_, err = s.GetFlow(ctx, "no-such-flow")
	mustErr(t, err, ErrNotFound, "get unknown")
}

func testListFlows(t *testing.T, s Store) {
	ctx := t.Context()
	a := newFlow(t, s, "Alipay notify")
	b := newFlow(t, s, "ALIPAY refunds")
	newFlow(t, s, "WeChat Pay 100%_done")
	_, err := s.Publish(ctx, b.ID, json.RawMessage(`{}`), "", "")
	mustOK(t, err, "publish")

	names := func(fs []Flow) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
		}
		sort.Strings(out)
		return out
	}
	all, err := s.ListFlows(ctx, FlowFilter{})
	mustOK(t, err, "list all")
	if len(all) != 3 {
		t.Fatalf("list all: %d flows", len(all))
	}
	got, err := s.ListFlows(ctx, FlowFilter{Search: "alipay"})
	mustOK(t, err, "search")
	if want := []string{"ALIPAY refunds", "Alipay notify"}; !reflect.DeepEqual(names(got), want) {
		t.Errorf("search alipay = %v, want %v", names(got), want)
	}
	got, err = s.ListFlows(ctx, FlowFilter{Search: "%_"})
	mustOK(t, err, "search wildcards")
	if want := []string{"WeChat Pay 100%_done"}; !reflect.DeepEqual(names(got), want) {
		t.Errorf("search %%_ = %v, want %v (wildcards must match literally)", names(got), want)
	}
	got, err = s.ListFlows(ctx, FlowFilter{Status: FlowPublished})
	mustOK(t, err, "status")
	if len(got) != 1 || got[0].ID != b.ID {
		t.Errorf("published flows = %v", names(got))
	}
	got, err = s.ListFlows(ctx, FlowFilter{Search: "alipay", Status: FlowDraft})
	mustOK(t, err, "search+status")
	if len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("draft alipay flows = %v", names(got))
	}
	got, err = s.ListFlows(ctx, FlowFilter{Limit: 2})
	mustOK(t, err, "limit")
	if len(got) != 2 {
		t.Errorf("limit 2 returned %d", len(got))
	}
}

func testSaveDraft(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "draft")
	before := f.UpdatedAt

	edit := *f
	edit.Name = "renamed"
	edit.Description = "now with a condition"
	edit.Draft = json.RawMessage(`{"nodes":[{"id":"n1"}]}`)
	mustOK(t, s.SaveDraft(ctx, &edit, 1), "save at revision 1")
	if edit.Revision != 2 {
		t.Errorf("revision after save = %d, want 2", edit.Revision)
	}
	if edit.UpdatedAt.Before(before) {
		t.Errorf("UpdatedAt went back: %v < %v", edit.UpdatedAt, before)
	}
	got, err := s.GetFlow(ctx, f.ID)
	mustOK(t, err, "get")
	if got.Name != "renamed" || got.Description != "now with a condition" || string(got.Draft) != string(edit.Draft) ||
		got.Revision != 2 || !got.UpdatedAt.Equal(edit.UpdatedAt) || !got.CreatedAt.Equal(f.CreatedAt) {
		t.Errorf("after save: %+v", got)
	}

	stale := *f // still at revision 1
	stale.Name = "lost update"
	mustErr(t, s.SaveDraft(ctx, &stale, 1), ErrConflict, "save at stale revision")
	got, _ = s.GetFlow(ctx, f.ID)
	if got.Name != "renamed" || got.Revision != 2 {
		t.Errorf("conflicting save changed the flow: %+v", got)
	}

	force := *got
	force.Draft = nil
	mustOK(t, s.SaveDraft(ctx, &force, 0), "save without check")
	if force.Revision != 3 || force.Draft != nil {
		t.Errorf("unchecked save: revision %d draft %q", force.Revision, force.Draft)
	}
	mustErr(t, s.SaveDraft(ctx, &Flow{ID: "no-such-flow"}, 0), ErrNotFound, "save unknown")
	mustErr(t, s.SaveDraft(ctx, &Flow{ID: "no-such-flow"}, 4), ErrNotFound, "save unknown with revision")
}

func testSetFlowStatus(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "status")
	mustErr(t, s.SetFlowStatus(ctx, f.ID, FlowPaused), ErrConflict, "pause a never published flow")
	_, err := s.Publish(ctx, f.ID, json.RawMessage(`{}`), "", "")
	mustOK(t, err, "publish")
	mustOK(t, s.SetFlowStatus(ctx, f.ID, FlowPaused), "pause")
	got, _ := s.GetFlow(ctx, f.ID)
	if got.Status != FlowPaused || got.PublishedVersion != 1 {
		t.Errorf("paused flow: status %q version %d", got.Status, got.PublishedVersion)
	}
	mustOK(t, s.SetFlowStatus(ctx, f.ID, FlowPublished), "resume")
	got, _ = s.GetFlow(ctx, f.ID)
	if got.Status != FlowPublished {
		t.Errorf("resumed flow: status %q", got.Status)
	}
	if err := s.SetFlowStatus(ctx, f.ID, FlowDraft); err == nil {
		t.Error("status draft accepted")
	}
	mustErr(t, s.SetFlowStatus(ctx, "no-such-flow", FlowPaused), ErrNotFound, "unknown flow")
}

func testPublish(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "publish")
	doc1 := json.RawMessage(`{"nodes":[{"id":"a","params":{"amount":{"minor":1999,"currency":"CNY"}}}]}`)
	v1, err := s.Publish(ctx, f.ID, doc1, "first", "alice")
	mustOK(t, err, "publish 1")
	if v1.Version != 1 || v1.FlowID != f.ID || v1.Message != "first" || v1.CreatedBy != "alice" ||
		string(v1.Doc) != string(doc1) || v1.CreatedAt.IsZero() {
		t.Errorf("version 1: %+v", v1)
	}
	v2, err := s.Publish(ctx, f.ID, json.RawMessage(`{"nodes":[]}`), "second", "bob")
	mustOK(t, err, "publish 2")
	if v2.Version != 2 {
		t.Errorf("second publish got version %d", v2.Version)
	}
	got1, err := s.GetVersion(ctx, f.ID, 1)
	mustOK(t, err, "get version 1")
	if !reflect.DeepEqual(got1, v1) {
		t.Errorf("version 1 changed (I8):\n got %+v\nwant %+v", got1, v1)
	}
	// Nothing can rewrite a published version, not even SQL from inside the store (I8).
	if gs, ok := s.(*gormStore); ok {
		err := gs.w.WithContext(ctx).Exec("UPDATE flow_versions SET doc = ? WHERE flow_id = ? AND version = 1",
			`{"tampered":true}`, f.ID).Error
		if err == nil {
			t.Error("UPDATE of a published version succeeded")
		}
		if got, _ := s.GetVersion(ctx, f.ID, 1); string(got.Doc) != string(doc1) {
			t.Errorf("version 1 rewritten to %s", got.Doc)
		}
	}
	flow, _ := s.GetFlow(ctx, f.ID)
	if flow.Status != FlowPublished || flow.PublishedVersion != 2 {
		t.Errorf("flow after publish: status %q version %d", flow.Status, flow.PublishedVersion)
	}
	if flow.Revision != f.Revision || string(flow.Draft) != string(f.Draft) {
		t.Errorf("publish touched the draft: %+v", flow)
	}
	versions, err := s.ListVersions(ctx, f.ID)
	mustOK(t, err, "list versions")
	if len(versions) != 2 || versions[0].Version != 2 || versions[1].Version != 1 {
		t.Errorf("list versions = %+v", versions)
	}
	none, err := s.ListVersions(ctx, "no-such-flow")
	mustOK(t, err, "list versions of unknown flow")
	if len(none) != 0 {
		t.Errorf("unknown flow has %d versions", len(none))
	}

	_, err = s.Publish(ctx, "no-such-flow", doc1, "", "")
	mustErr(t, err, ErrNotFound, "publish unknown flow")
	if _, err := s.Publish(ctx, f.ID, nil, "", ""); err == nil {
		t.Error("publish of an empty document accepted")
	}
	_, err = s.GetVersion(ctx, f.ID, 3)
	mustErr(t, err, ErrNotFound, "get unknown version")
}

func testConcurrentPublish(t *testing.T, s Store) {
	f := newFlow(t, s, "concurrent publish")
	const n = 5
	var wg sync.WaitGroup
	start := make(chan struct{})
	versions := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			v, err := s.Publish(t.Context(), f.ID, json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)), "", "")
			errs[i] = err
			if err == nil {
				versions[i] = v.Version
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		mustOK(t, err, fmt.Sprintf("publish %d", i))
	}
	slices.Sort(versions)
	if want := []int{1, 2, 3, 4, 5}; !slices.Equal(versions, want) {
		t.Fatalf("versions = %v, want %v", versions, want)
	}
	flow, _ := s.GetFlow(t.Context(), f.ID)
	if flow.PublishedVersion != 5 {
		t.Errorf("published version = %d, want 5", flow.PublishedVersion)
	}
}

func testRepublish(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "rollback")
	v1, _ := s.Publish(ctx, f.ID, json.RawMessage(`{"v":1}`), "", "")
	_, _ = s.Publish(ctx, f.ID, json.RawMessage(`{"v":2}`), "", "")
	mustOK(t, s.SetFlowStatus(ctx, f.ID, FlowPaused), "pause")
	mustOK(t, s.Republish(ctx, f.ID, 1), "republish 1")
	flow, _ := s.GetFlow(ctx, f.ID)
	if flow.PublishedVersion != 1 || flow.Status != FlowPublished {
		t.Errorf("after rollback: version %d status %q", flow.PublishedVersion, flow.Status)
	}
	got, _ := s.GetVersion(ctx, f.ID, 1)
	if !reflect.DeepEqual(got, v1) {
		t.Errorf("republish changed version 1: %+v", got)
	}
	mustErr(t, s.Republish(ctx, f.ID, 7), ErrNotFound, "republish unknown version")
	mustErr(t, s.Republish(ctx, "no-such-flow", 1), ErrNotFound, "republish unknown flow")
	flow, _ = s.GetFlow(ctx, f.ID)
	if flow.PublishedVersion != 1 {
		t.Errorf("failed republish changed the published version to %d", flow.PublishedVersion)
	}
}

func testImportFlow(t *testing.T, s Store) {
	ctx := t.Context()
	doc := json.RawMessage(`{"schema":1,"nodes":[{"id":"w","type":"core.webhook"}]}`)
	f := &Flow{ID: "imported", Name: "template", Draft: doc}
	v := &FlowVersion{Doc: doc, Message: "imported", CreatedBy: "it"}
	mustOK(t, s.ImportFlow(ctx, f, v), "import")
	if f.Status != FlowPublished || f.PublishedVersion != 1 || v.FlowID != "imported" || v.Version != 1 {
		t.Errorf("import result: flow %+v version %+v", f, v)
	}
	got, err := s.GetFlow(ctx, "imported")
	mustOK(t, err, "get imported")
	if !reflect.DeepEqual(got, f) {
		t.Errorf("imported flow:\n got %+v\nwant %+v", got, f)
	}
	gv, err := s.GetVersion(ctx, "imported", 1)
	mustOK(t, err, "get imported version")
	if !reflect.DeepEqual(gv, v) {
		t.Errorf("imported version:\n got %+v\nwant %+v", gv, v)
	}

	draftOnly := &Flow{Name: "draft only"}
	mustOK(t, s.ImportFlow(ctx, draftOnly, nil), "import without version")
	got, _ = s.GetFlow(ctx, draftOnly.ID)
	if got.Status != FlowDraft || got.PublishedVersion != 0 {
		t.Errorf("draft import: %+v", got)
	}

	// A failing import (the id is taken) leaves nothing behind: no second flow, no new version.
	again := &Flow{ID: "imported", Name: "clash"}
	err = s.ImportFlow(ctx, again, &FlowVersion{Version: 2, Doc: json.RawMessage(`{"clash":true}`)})
	mustErr(t, err, ErrConflict, "import duplicate id")
	got, _ = s.GetFlow(ctx, "imported")
	if got.Name != "template" || got.PublishedVersion != 1 {
		t.Errorf("failed import changed the flow: %+v", got)
	}
	versions, _ := s.ListVersions(ctx, "imported")
	if len(versions) != 1 {
		t.Errorf("failed import left %d versions", len(versions))
	}
	all, _ := s.ListFlows(ctx, FlowFilter{})
	if len(all) != 2 {
		t.Errorf("%d flows after a failed import, want 2", len(all))
	}
}

func testPublishedFlows(t *testing.T, s Store) {
	ctx := t.Context()
	none, err := s.PublishedFlows(ctx)
	mustOK(t, err, "published flows of an empty store")
	if len(none) != 0 {
		t.Errorf("empty store has %d published flows", len(none))
	}
	a := newFlow(t, s, "a")
	b := newFlow(t, s, "b")
	c := newFlow(t, s, "c")
	newFlow(t, s, "draft")
	_, _ = s.Publish(ctx, a.ID, json.RawMessage(`{"a":1}`), "", "")
	_, _ = s.Publish(ctx, a.ID, json.RawMessage(`{"a":2}`), "", "")
	mustOK(t, s.Republish(ctx, a.ID, 1), "rollback a")
	_, _ = s.Publish(ctx, b.ID, json.RawMessage(`{"b":1}`), "", "")
	_, _ = s.Publish(ctx, c.ID, json.RawMessage(`{"c":1}`), "", "")
	mustOK(t, s.SetFlowStatus(ctx, c.ID, FlowPaused), "pause c")

	got, err := s.PublishedFlows(ctx)
	mustOK(t, err, "published flows")
	byFlow := map[string]FlowVersion{}
	for _, v := range got {
		byFlow[v.FlowID] = v
	}
	if len(got) != 2 || len(byFlow) != 2 {
		t.Fatalf("published flows = %+v, want a and b", got)
	}
	if v := byFlow[a.ID]; v.Version != 1 || string(v.Doc) != `{"a":1}` {
		t.Errorf("flow a runs %+v, want version 1", v)
	}
	if v := byFlow[b.ID]; v.Version != 1 || string(v.Doc) != `{"b":1}` {
		t.Errorf("flow b runs %+v", v)
	}
}

func testDeleteFlow(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "to delete")
	keep := newFlow(t, s, "to keep")
	_, _ = s.Publish(ctx, f.ID, json.RawMessage(`{}`), "", "")
	r := queuedRun(t, f.ID)
	r.DedupKey = "evt_1"
	createRun(t, s, r, Step{Seq: 1, NodeID: "w", Status: StepSucceeded})
	other := createRun(t, s, queuedRun(t, keep.ID))

	mustOK(t, s.DeleteFlow(ctx, f.ID), "delete")
	_, err := s.GetFlow(ctx, f.ID)
	mustErr(t, err, ErrNotFound, "get deleted flow")
	_, err = s.GetVersion(ctx, f.ID, 1)
	mustErr(t, err, ErrNotFound, "get version of deleted flow")
	_, err = s.GetRun(ctx, r.ID)
	mustErr(t, err, ErrNotFound, "get run of deleted flow")
	steps, err := s.ListSteps(ctx, r.ID)
	mustOK(t, err, "list steps of deleted run")
	if len(steps) != 0 {
		t.Errorf("%d steps survived the delete", len(steps))
	}
	getRun(t, s, other.ID)
	mustErr(t, s.DeleteFlow(ctx, f.ID), ErrNotFound, "delete twice")

	// The dedup key went with the flow: a flow created again under the same id starts afresh.
	mustOK(t, s.CreateFlow(ctx, &Flow{ID: f.ID, Name: "reborn"}), "recreate")
	again := queuedRun(t, f.ID)
	again.DedupKey = "evt_1"
	mustOK(t, s.CreateRun(ctx, again, nil), "reuse dedup key after delete")
}

func testCreateRun(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "runs")
	base := time.Date(2025, 3, 1, 9, 30, 0, 987654321, time.FixedZone("CST", 8*3600))
	r := &Run{
		ID:          newRunID(t),
		FlowID:      f.ID,
		FlowVersion: 0,
		Doc:         json.RawMessage(`{"nodes":[{"id":"m","type":"core.map"}]}`),
		Mode:        "test",
		Status:      RunSucceeded,
		TriggerNode: "webhook",
		Trigger:     json.RawMessage(`{"out_trade_no":"T20250301","total_amount":"19.99"}`),
		DedupKey:    "alipay:T20250301",
		BusinessKey: "T20250301",
		Attempt:     2,
		Checkpoint:  json.RawMessage(`{"pending":[]}`),
		Error:       json.RawMessage(`{"code":"x","message":"y","nodeId":"m"}`),
		Response:    json.RawMessage(`"success"`),
		ReplayOf:    "some-earlier-run",
		AvailableAt: base,
		LeaseOwner:  "worker-1",
		LeaseUntil:  base.Add(time.Minute),
		CreatedAt:   base.Add(-time.Second),
		StartedAt:   base.Add(time.Millisecond),
		FinishedAt:  base.Add(2 * time.Second),
	}
	steps := []Step{
		{Seq: 1, NodeID: "w", NodeType: "core.webhook", Attempt: 1, Status: StepSucceeded, Port: "out",
			Output: json.RawMessage(`{"ok":true}`), StartedAt: base, DurationUS: 120},
		{Seq: 2, NodeID: "m", NodeType: "core.map", Attempt: 1, Status: StepFailed,
			Input: json.RawMessage(`[1,2]`), Error: json.RawMessage(`{"code":"bad"}`), DurationUS: 7},
	}
	want := *r
	createRun(t, s, r, steps...)
	got := getRun(t, s, r.ID)
	for _, tm := range []*time.Time{&want.AvailableAt, &want.LeaseUntil, &want.CreatedAt, &want.StartedAt,
		&want.FinishedAt} {
		*tm = micro(*tm)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("run round trip:\n got %+v\nwant %+v", *got, want)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, micro(base.Add(-time.Second)))
	sameTime(t, "LeaseUntil", got.LeaseUntil, micro(base.Add(time.Minute)))

	gotSteps, err := s.ListSteps(ctx, r.ID)
	mustOK(t, err, "list steps")
	if len(gotSteps) != 2 {
		t.Fatalf("%d steps", len(gotSteps))
	}
	for i := range steps {
		w := steps[i]
		w.RunID = r.ID
		w.StartedAt = micro(w.StartedAt)
		if w.StartedAt.Equal(micro(time.Time{})) {
			w.StartedAt = time.Time{}
		}
		if !reflect.DeepEqual(gotSteps[i], w) {
			t.Errorf("step %d:\n got %+v\nwant %+v", i, gotSteps[i], w)
		}
	}

	// The empty run: every optional field empty comes back empty, JSON as nil, times as zero.
	bare := &Run{ID: newRunID(t), FlowID: f.ID, Status: RunQueued}
	createRun(t, s, bare)
	if bare.CreatedAt.IsZero() {
		t.Error("CreatedAt not filled in")
	}
	got = getRun(t, s, bare.ID)
	if got.Doc != nil || got.Trigger != nil || got.Checkpoint != nil || got.Error != nil || got.Response != nil {
		t.Errorf("empty JSON read back non-nil: %+v", got)
	}
	if !got.AvailableAt.IsZero() || !got.LeaseUntil.IsZero() || !got.StartedAt.IsZero() ||
		!got.FinishedAt.IsZero() {
		t.Errorf("zero times read back set: %+v", got)
	}
	if got.DedupKey != "" || got.BusinessKey != "" || got.LeaseOwner != "" || got.ReplayOf != "" {
		t.Errorf("empty strings read back set: %+v", got)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, bare.CreatedAt)

	mustErr(t, s.CreateRun(ctx, &Run{ID: bare.ID, FlowID: f.ID, Status: RunQueued}, nil), ErrConflict,
		"duplicate run id")
	mustErr(t, s.CreateRun(ctx, &Run{ID: newRunID(t), FlowID: "no-such-flow", Status: RunQueued}, nil),
		ErrNotFound, "run of an unknown flow")
	_, err = s.GetRun(ctx, newRunID(t))
	mustErr(t, err, ErrNotFound, "get unknown run")
	none, err := s.ListSteps(ctx, newRunID(t))
	mustOK(t, err, "steps of unknown run")
	if len(none) != 0 {
		t.Errorf("unknown run has %d steps", len(none))
	}
}

func testJSONRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	// Key order, spacing, unicode, escapes, big integers and deep nesting must come back byte for byte.
	doc := json.RawMessage(`{"z":1, "a":{"b":[1,{"c":"订单 №42 \u00e9\n"},null,true],"n":12345678901234567890},` +
		`"deep":{"l1":{"l2":{"l3":{"l4":{"l5":["x"]}}}}},"money":{"minor":"1999","currency":"CNY"}}`)
	f := &Flow{Name: "json", Draft: doc}
	mustOK(t, s.CreateFlow(ctx, f), "create")
	got, _ := s.GetFlow(ctx, f.ID)
	if string(got.Draft) != string(doc) {
		t.Errorf("draft:\n got %s\nwant %s", got.Draft, doc)
	}
	v, err := s.Publish(ctx, f.ID, doc, "", "")
	mustOK(t, err, "publish")
	gv, _ := s.GetVersion(ctx, f.ID, v.Version)
	if string(gv.Doc) != string(doc) {
		t.Errorf("version doc:\n got %s\nwant %s", gv.Doc, doc)
	}
	r := queuedRun(t, f.ID)
	r.Trigger = doc
	r.Checkpoint = json.RawMessage(`{"outputs":` + string(doc) + `}`)
	createRun(t, s, r, Step{Seq: 1, NodeID: "n", Input: doc, Output: json.RawMessage(`[]`)})
	gr := getRun(t, s, r.ID)
	if string(gr.Trigger) != string(doc) || string(gr.Checkpoint) != string(r.Checkpoint) {
		t.Errorf("run JSON changed: trigger %s checkpoint %s", gr.Trigger, gr.Checkpoint)
	}
	var parsed map[string]any
	mustOK(t, json.Unmarshal(gr.Trigger, &parsed), "trigger is still JSON")
	steps, _ := s.ListSteps(ctx, r.ID)
	if len(steps) != 1 || string(steps[0].Input) != string(doc) || string(steps[0].Output) != `[]` {
		t.Errorf("step JSON changed: %+v", steps)
	}
}

func testDedup(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "dedup")
	g := newFlow(t, s, "other flow")
	first := queuedRun(t, f.ID)
	first.DedupKey = "evt_123"
	createRun(t, s, first)

	second := queuedRun(t, f.ID)
	second.DedupKey = "evt_123"
	err := s.CreateRun(ctx, second, []Step{{Seq: 1, NodeID: "w"}})
	var dup *DuplicateRunError
	if !errors.As(err, &dup) {
		t.Fatalf("second delivery: got %v, want *DuplicateRunError", err)
	}
	if dup.RunID != first.ID {
		t.Errorf("duplicate names run %s, want %s", dup.RunID, first.ID)
	}
	_, err = s.GetRun(ctx, second.ID)
	mustErr(t, err, ErrNotFound, "duplicate run must not be stored")
	if steps, _ := s.ListSteps(ctx, second.ID); len(steps) != 0 {
		t.Errorf("duplicate delivery stored %d steps", len(steps))
	}

	// The same key on another flow, and runs without keys, are distinct events.
	elsewhere := queuedRun(t, g.ID)
	elsewhere.DedupKey = "evt_123"
	createRun(t, s, elsewhere)
	createRun(t, s, queuedRun(t, f.ID))
	createRun(t, s, queuedRun(t, f.ID))
	n, _ := s.CountRuns(ctx, "")
	if n != 4 {
		t.Errorf("%d runs, want 4", n)
	}
}

func testConcurrentDedup(t *testing.T, s Store) {
	// Several rounds, since a race window may not open every time.
	for round := range 3 {
		f := newFlow(t, s, fmt.Sprintf("concurrent dedup %d", round))
		concurrentDedupRound(t, s, f)
	}
}

// concurrentDedupRound delivers one event to f 50 times at once (I3).
func concurrentDedupRound(t *testing.T, s Store, f *Flow) {
	const n = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		r := queuedRun(t, f.ID)
		r.DedupKey = "wxpay:4200001234"
		ids[i] = r.ID
		wg.Go(func() {
			<-start
			errs[i] = s.CreateRun(t.Context(), r, []Step{{Seq: 1, NodeID: "w", Status: StepSucceeded}})
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, err := range errs {
		if err == nil {
			if winner != "" {
				t.Fatalf("two runs created for one event: %s and %s", winner, ids[i])
			}
			winner = ids[i]
		}
	}
	if winner == "" {
		t.Fatalf("no run created; first error: %v", errs[0])
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		var dup *DuplicateRunError
		if !errors.As(err, &dup) {
			t.Errorf("delivery %d: got %v, want *DuplicateRunError", i, err)
		} else if dup.RunID != winner {
			t.Errorf("delivery %d: duplicate names %s, want %s", i, dup.RunID, winner)
		}
	}
	page, _ := s.ListRuns(t.Context(), RunFilter{FlowID: f.ID})
	if len(page.Runs) != 1 {
		t.Errorf("%d runs stored, want 1", len(page.Runs))
	}
	if steps, _ := s.ListSteps(t.Context(), winner); len(steps) != 1 {
		t.Errorf("winner has %d steps, want 1", len(steps))
	}
}

// testCreateRuns: the runs of one request with several events are created together; an event seen before (or
// twice in the batch) is not created again while the others are; a batch the database refuses creates nothing
// and claims no key.
func testCreateRuns(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "batch")
	earlier := queuedRun(t, f.ID)
	earlier.DedupKey = "hubspot:1002"
	createRun(t, s, earlier)

	keys := []string{"hubspot:1001", "hubspot:1002", "hubspot:1003", "hubspot:1001", ""}
	runs := make([]*Run, len(keys))
	for i, k := range keys {
		runs[i] = queuedRun(t, f.ID)
		runs[i].DedupKey, runs[i].BusinessKey = k, fmt.Sprintf("obj-%d", i)
	}
	held, err := s.CreateRuns(ctx, runs)
	mustOK(t, err, "create runs")
	want := []string{"", earlier.ID, "", runs[0].ID, ""}
	if !slices.Equal(held, want) {
		t.Fatalf("held = %v, want %v", held, want)
	}
	for i, r := range runs {
		got, err := s.GetRun(ctx, r.ID)
		if want[i] != "" {
			mustErr(t, err, ErrNotFound, fmt.Sprintf("duplicate event %d must not be stored", i))
			continue
		}
		mustOK(t, err, fmt.Sprintf("get run %d", i))
		if got.DedupKey != keys[i] || got.BusinessKey != r.BusinessKey || got.Status != RunQueued || string(got.Trigger) != `{"order":"A-1"}` {
			t.Errorf("run %d stored as %+v", i, got)
		}
		sameTime(t, "created at", got.CreatedAt, micro(r.CreatedAt))
	}
	page, _ := s.ListRuns(ctx, RunFilter{FlowID: f.ID})
	if len(page.Runs) != 4 {
		t.Errorf("%d runs, want 4 (the earlier one and three new)", len(page.Runs))
	}

	// The same batch again: every event is a duplicate, nothing is created.
	again := make([]*Run, 3)
	for i, k := range []string{"hubspot:1001", "hubspot:1002", "hubspot:1003"} {
		again[i] = queuedRun(t, f.ID)
		again[i].DedupKey = k
	}
	held, err = s.CreateRuns(ctx, again)
	mustOK(t, err, "create runs again")
	if !slices.Equal(held, []string{runs[0].ID, earlier.ID, runs[2].ID}) {
		t.Errorf("redelivery held = %v", held)
	}

	// A batch with a run the database refuses (its id is taken) is refused whole: its other run is not created
	// and its key stays free.
	fresh := queuedRun(t, f.ID)
	fresh.DedupKey = "hubspot:2001"
	clash := queuedRun(t, f.ID)
	clash.ID, clash.DedupKey = runs[2].ID, "hubspot:2002"
	if _, err := s.CreateRuns(ctx, []*Run{fresh, clash}); err == nil {
		t.Fatal("a batch with a taken run id was created")
	}
	_, err = s.GetRun(ctx, fresh.ID)
	mustErr(t, err, ErrNotFound, "a refused batch must create none of its runs")
	retry := queuedRun(t, f.ID)
	retry.DedupKey = "hubspot:2001"
	createRun(t, s, retry)

	if held, err := s.CreateRuns(ctx, nil); err != nil || held != nil {
		t.Errorf("empty batch: %v %v", held, err)
	}
	if _, err := s.CreateRuns(ctx, []*Run{{ID: newRunID(t)}}); err == nil {
		t.Error("a run without a flow was accepted")
	}
}

// testConcurrentCreateRuns: a provider's retry racing its first delivery of the same batch (I3): each event has
// exactly one run, and every delivery names it.
func testConcurrentCreateRuns(t *testing.T, s Store) {
	f := newFlow(t, s, "concurrent batches")
	const deliveries, events = 8, 5
	held := make([][]string, deliveries)
	batches := make([][]*Run, deliveries)
	errs := make([]error, deliveries)
	for d := range deliveries {
		for e := range events {
			r := queuedRun(t, f.ID)
			r.DedupKey = fmt.Sprintf("hubspot:%d", 3000+e)
			batches[d] = append(batches[d], r)
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for d := range deliveries {
		wg.Go(func() {
			<-start
			held[d], errs[d] = s.CreateRuns(t.Context(), batches[d])
		})
	}
	close(start)
	wg.Wait()
	owner := make([]string, events)
	for d := range deliveries {
		mustOK(t, errs[d], fmt.Sprintf("delivery %d", d))
		for e := range events {
			id := held[d][e]
			if id == "" {
				id = batches[d][e].ID
			}
			if owner[e] == "" {
				owner[e] = id
			} else if owner[e] != id {
				t.Errorf("event %d has runs %s and %s", e, owner[e], id)
			}
		}
	}
	page, _ := s.ListRuns(t.Context(), RunFilter{FlowID: f.ID})
	if len(page.Runs) != events {
		t.Errorf("%d runs stored, want %d", len(page.Runs), events)
	}
}

func testListRuns(t *testing.T, s Store) {
	ctx := t.Context()
	a := newFlow(t, s, "a")
	b := newFlow(t, s, "b")
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var aFailed []string // ids of flow a's failed runs, oldest first
	var all []string
	for i := range 30 {
		flow := a.ID
		if i%3 == 2 {
			flow = b.ID
		}
		r := queuedRun(t, flow)
		r.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		r.Doc = json.RawMessage(`{"big":"doc"}`)
		r.Checkpoint = json.RawMessage(`{"big":"checkpoint"}`)
		r.Error = json.RawMessage(`{"code":"e"}`)
		switch i % 4 {
		case 0, 1:
			r.Status = RunFailed
		case 2:
			r.Status = RunSucceeded
		case 3:
			r.Status = RunCancelled
		}
		if i%5 == 0 {
			r.Mode = "test"
		}
		r.BusinessKey = fmt.Sprintf("order-%d", i%7)
		createRun(t, s, r)
		all = append(all, r.ID)
		if flow == a.ID && (r.Status == RunFailed || r.Status == RunCancelled) {
			aFailed = append(aFailed, r.ID)
		}
	}
	slices.Reverse(aFailed)
	slices.Reverse(all)

	// Three pages of flow a's failed and cancelled runs, newest first.
	filter := RunFilter{FlowID: a.ID, Status: []string{RunFailed, RunCancelled}, Limit: 6}
	var got []string
	pages := 0
	for {
		page, err := s.ListRuns(ctx, filter)
		mustOK(t, err, "list page")
		pages++
		for _, r := range page.Runs {
			got = append(got, r.ID)
			if r.FlowID != a.ID || (r.Status != RunFailed && r.Status != RunCancelled) {
				t.Errorf("run outside the filter: %+v", r)
			}
			if r.Doc != nil || r.Checkpoint != nil || r.Trigger != nil {
				t.Errorf("list loaded large columns: %+v", r)
			}
			if string(r.Error) != `{"code":"e"}` || r.BusinessKey == "" || r.CreatedAt.IsZero() {
				t.Errorf("list lost small columns: %+v", r)
			}
		}
		if page.NextCursor == "" {
			break
		}
		if len(page.Runs) != filter.Limit {
			t.Fatalf("page %d has %d runs and a cursor", pages, len(page.Runs))
		}
		filter.Cursor = page.NextCursor
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(aFailed) <= 2*filter.Limit || len(aFailed) > 3*filter.Limit {
		t.Fatalf("fixture has %d matching runs, want three pages of %d", len(aFailed), filter.Limit)
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	if !slices.Equal(got, aFailed) {
		t.Errorf("paged ids:\n got %v\nwant %v", got, aFailed)
	}

	// An exact page: the last page has no cursor even when full.
	page, err := s.ListRuns(ctx, RunFilter{Limit: 30})
	mustOK(t, err, "exact page")
	if len(page.Runs) != 30 || page.NextCursor != "" {
		t.Errorf("limit 30 of 30: %d runs, cursor %q", len(page.Runs), page.NextCursor)
	}
	page, _ = s.ListRuns(ctx, RunFilter{})
	if len(page.Runs) != 30 {
		t.Errorf("default limit returned %d of 30", len(page.Runs))
	}
	var ids []string
	for _, r := range page.Runs {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, all) {
		t.Error("unfiltered list is not newest first")
	}

	check := func(what string, f RunFilter, want func(i int) bool) {
		t.Helper()
		page, err := s.ListRuns(ctx, f)
		mustOK(t, err, what)
		var wantIDs []string
		for j, id := range all { // all is newest first: index j is run 29-j
			if want(29 - j) {
				wantIDs = append(wantIDs, id)
			}
		}
		var gotIDs []string
		for _, r := range page.Runs {
			gotIDs = append(gotIDs, r.ID)
		}
		if !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("%s:\n got %v\nwant %v", what, gotIDs, wantIDs)
		}
	}
	check("business key", RunFilter{BusinessKey: "order-3"}, func(i int) bool { return i%7 == 3 })
	check("mode", RunFilter{Mode: "test"}, func(i int) bool { return i%5 == 0 })
	check("since/until", RunFilter{Since: t0.Add(10 * time.Minute), Until: t0.Add(20 * time.Minute)},
		func(i int) bool { return i >= 10 && i < 20 })
	check("since in another zone", RunFilter{Since: t0.Add(25 * time.Minute).In(time.FixedZone("CST", 8*3600))},
		func(i int) bool { return i >= 25 })
	check("flow b succeeded", RunFilter{FlowID: b.ID, Status: []string{RunSucceeded}},
		func(i int) bool { return i%3 == 2 && i%4 == 2 })
	check("nothing", RunFilter{BusinessKey: "no-such-order"}, func(int) bool { return false })
}

func testClaimRun(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "claim")
	r := createRun(t, s, queuedRun(t, f.ID))
	lease := time.Now().Add(time.Minute)
	claimed, err := s.ClaimRun(ctx, r.ID, "w1", lease)
	mustOK(t, err, "claim")
	if claimed.Status != RunRunning || claimed.LeaseOwner != "w1" || claimed.StartedAt.IsZero() {
		t.Errorf("claimed run: %+v", claimed)
	}
	sameTime(t, "LeaseUntil", claimed.LeaseUntil, micro(lease))
	if string(claimed.Trigger) != string(r.Trigger) {
		t.Errorf("claim returned trigger %s", claimed.Trigger)
	}
	_, err = s.ClaimRun(ctx, r.ID, "w2", lease)
	mustErr(t, err, ErrConflict, "claim of a leased run")

	// An expired lease can be taken over; the start time stays the first one.
	expired := createRun(t, s, queuedRun(t, f.ID))
	first, err := s.ClaimRun(ctx, expired.ID, "w1", time.Now().Add(-time.Second))
	mustOK(t, err, "claim with a lease already over")
	second, err := s.ClaimRun(ctx, expired.ID, "w2", lease)
	mustOK(t, err, "take over an expired lease")
	if second.LeaseOwner != "w2" || !second.StartedAt.Equal(first.StartedAt) {
		t.Errorf("take-over: owner %q started %v, first started %v", second.LeaseOwner, second.StartedAt,
			first.StartedAt)
	}

	later := queuedRun(t, f.ID)
	later.AvailableAt = time.Now().Add(time.Hour)
	createRun(t, s, later)
	_, err = s.ClaimRun(ctx, later.ID, "w1", lease)
	mustErr(t, err, ErrConflict, "claim before AvailableAt")

	waiting := queuedRun(t, f.ID)
	waiting.Status = RunWaiting
	waiting.AvailableAt = time.Now().Add(-time.Second)
	createRun(t, s, waiting)
	_, err = s.ClaimRun(ctx, waiting.ID, "w1", lease)
	mustOK(t, err, "claim a waiting run that is due")

	done := queuedRun(t, f.ID)
	done.Status = RunSucceeded
	createRun(t, s, done)
	_, err = s.ClaimRun(ctx, done.ID, "w1", lease)
	mustErr(t, err, ErrConflict, "claim a finished run")
	_, err = s.ClaimRun(ctx, newRunID(t), "w1", lease)
	mustErr(t, err, ErrNotFound, "claim an unknown run")
}

func testConcurrentClaim(t *testing.T, s Store) {
	f := newFlow(t, s, "concurrent claim")
	r := createRun(t, s, queuedRun(t, f.ID))
	const n = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.ClaimRun(t.Context(), r.ID, fmt.Sprintf("w%d", i), time.Now().Add(time.Minute))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("workers %d and %d both claimed the run", winner, i)
			}
			winner = i
		case !errors.Is(err, ErrConflict):
			t.Errorf("worker %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("nobody claimed the run")
	}
	if got := getRun(t, s, r.ID); got.LeaseOwner != fmt.Sprintf("w%d", winner) {
		t.Errorf("lease owner %q, winner w%d", got.LeaseOwner, winner)
	}
}

func testExtendLease(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "lease")
	r := createRun(t, s, queuedRun(t, f.ID))
	_, err := s.ClaimRun(ctx, r.ID, "w1", time.Now().Add(time.Minute))
	mustOK(t, err, "claim")
	later := time.Now().Add(10 * time.Minute)
	mustOK(t, s.ExtendLease(ctx, r.ID, "w1", later), "extend")
	sameTime(t, "LeaseUntil", getRun(t, s, r.ID).LeaseUntil, micro(later))
	mustErr(t, s.ExtendLease(ctx, r.ID, "w2", later), ErrConflict, "extend someone else's lease")
	mustErr(t, s.ExtendLease(ctx, newRunID(t), "w1", later), ErrConflict, "extend on an unknown run")
}

func testSaveProgress(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "progress")
	rr := queuedRun(t, f.ID)
	rr.Response = json.RawMessage(`{"ack":"success"}`)
	r := createRun(t, s, rr)
	_, err := s.ClaimRun(ctx, r.ID, "w1", time.Now().Add(time.Minute))
	mustOK(t, err, "claim")

	// A checkpoint while running keeps the lease.
	mustOK(t, s.SaveProgress(ctx, Progress{
		RunID: r.ID, LeaseOwner: "w1", Status: RunRunning, Attempt: 1,
		Checkpoint: json.RawMessage(`{"next":"m"}`),
		Steps:      []Step{{Seq: 1, NodeID: "w", Status: StepSucceeded, Output: json.RawMessage(`{}`)}},
	}), "checkpoint")
	got := getRun(t, s, r.ID)
	if got.Status != RunRunning || got.LeaseOwner != "w1" || got.Attempt != 1 ||
		string(got.Checkpoint) != `{"next":"m"}` || string(got.Response) != `{"ack":"success"}` {
		t.Errorf("after checkpoint: %+v", got)
	}

	// A stale owner writes nothing at all, and starts nothing.
	before := getRun(t, s, r.ID)
	alerts := newFlow(t, s, "alerts")
	staleStart := queuedRun(t, alerts.ID)
	err = s.SaveProgress(ctx, Progress{
		RunID: r.ID, LeaseOwner: "w-old", Status: RunFailed, Attempt: 9,
		Checkpoint: json.RawMessage(`{"stale":true}`),
		Steps:      []Step{{Seq: 2, NodeID: "stale", Status: StepSucceeded}},
		Starts:     []*Run{staleStart},
	})
	mustErr(t, err, ErrConflict, "stale lease owner")
	if after := getRun(t, s, r.ID); !reflect.DeepEqual(after, before) {
		t.Errorf("stale save changed the run:\n got %+v\nwant %+v", after, before)
	}
	if steps, _ := s.ListSteps(ctx, r.ID); len(steps) != 1 {
		t.Errorf("stale save added steps: %d", len(steps))
	}
	if _, err := s.GetRun(ctx, staleStart.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("stale save started a run: %v", err)
	}

	// A retry goes back to the queue: the lease is released and the run is due at AvailableAt.
	retryAt := time.Now().Add(30 * time.Second)
	mustOK(t, s.SaveProgress(ctx, Progress{
		RunID: r.ID, LeaseOwner: "w1", Status: RunQueued, Attempt: 2,
		Checkpoint: json.RawMessage(`{"next":"m"}`), Error: json.RawMessage(`{"code":"timeout"}`),
		AvailableAt: retryAt,
		Steps:       []Step{{NodeID: "m", Attempt: 1, Status: StepFailed}}, // numbered after the last step
	}), "requeue")
	got = getRun(t, s, r.ID)
	if got.Status != RunQueued || got.LeaseOwner != "" || !got.LeaseUntil.IsZero() || got.Attempt != 2 ||
		string(got.Error) != `{"code":"timeout"}` {
		t.Errorf("after requeue: %+v", got)
	}
	sameTime(t, "AvailableAt", got.AvailableAt, micro(retryAt))
	steps, _ := s.ListSteps(ctx, r.ID)
	if len(steps) != 2 || steps[1].Seq != 2 || steps[1].NodeID != "m" {
		t.Errorf("steps after requeue: %+v", steps)
	}
	mustErr(t, s.SaveProgress(ctx, Progress{RunID: r.ID, LeaseOwner: "w1", Status: RunRunning}), ErrConflict,
		"save after releasing the lease")

	// Finishing clears the lease and error, stamps FinishedAt, keeps the response.
	_, err = s.ClaimRun(ctx, r.ID, "w2", time.Now().Add(time.Minute))
	mustErr(t, err, ErrConflict, "claim before the retry is due")
	mustOK(t, s.Transition(ctx, r.ID, []string{RunQueued}, RunQueued, RunUpdate{AvailableAt: &time.Time{}}),
		"make the retry due now")
	_, err = s.ClaimRun(ctx, r.ID, "w2", time.Now().Add(time.Minute))
	mustOK(t, err, "claim the retry")
	finished := time.Now()
	mustOK(t, s.SaveProgress(ctx, Progress{
		RunID: r.ID, LeaseOwner: "w2", Status: RunSucceeded, Attempt: 2, FinishedAt: finished,
		Steps: []Step{{Seq: 3, NodeID: "m", Attempt: 2, Status: StepSucceeded},
			{Seq: 4, NodeID: "r", Status: StepSucceeded}},
	}), "finish")
	got = getRun(t, s, r.ID)
	if got.Status != RunSucceeded || got.LeaseOwner != "" || !got.LeaseUntil.IsZero() || got.Error != nil ||
		got.Checkpoint != nil || string(got.Response) != `{"ack":"success"}` {
		t.Errorf("after finish: %+v", got)
	}
	sameTime(t, "FinishedAt", got.FinishedAt, micro(finished))
	if steps, _ := s.ListSteps(ctx, r.ID); len(steps) != 4 {
		t.Errorf("%d steps after finish, want 4", len(steps))
	}
	mustErr(t, s.SaveProgress(ctx, Progress{RunID: r.ID, LeaseOwner: "w2", Status: RunFailed}), ErrConflict,
		"save after finishing")

	// Waiting parks the run with no lease; a terminal save without FinishedAt uses now.
	w := createRun(t, s, queuedRun(t, f.ID))
	_, _ = s.ClaimRun(ctx, w.ID, "w1", time.Now().Add(time.Minute))
	mustOK(t, s.SaveProgress(ctx, Progress{RunID: w.ID, LeaseOwner: "w1", Status: RunWaiting,
		Response: json.RawMessage(`{"status":202}`)}), "wait")
	got = getRun(t, s, w.ID)
	if got.Status != RunWaiting || got.LeaseOwner != "" || !got.AvailableAt.IsZero() ||
		string(got.Response) != `{"status":202}` {
		t.Errorf("waiting run: %+v", got)
	}
	_, err = s.ClaimRun(ctx, w.ID, "w1", time.Now().Add(time.Minute))
	mustOK(t, err, "resume waiting run")
	// Failing starts the runs given, in the same commit; one whose dedup key is taken is skipped.
	taken := queuedRun(t, alerts.ID)
	taken.DedupKey = "deadletter:taken"
	createRun(t, s, taken)
	start, dup := queuedRun(t, alerts.ID), queuedRun(t, alerts.ID)
	start.DedupKey, dup.DedupKey = "deadletter:"+w.ID, "deadletter:taken"
	mustOK(t, s.SaveProgress(ctx, Progress{RunID: w.ID, LeaseOwner: "w1", Status: RunFailed,
		Error: json.RawMessage(`{"code":"rejected"}`), Starts: []*Run{start, dup}}), "fail")
	if got = getRun(t, s, w.ID); got.FinishedAt.IsZero() || got.Status != RunFailed {
		t.Errorf("failed run: %+v", got)
	}
	if got := getRun(t, s, start.ID); got.Status != RunQueued || got.DedupKey != start.DedupKey {
		t.Errorf("started run: %+v", got)
	}
	if _, err := s.GetRun(ctx, dup.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("a start whose dedup key was taken was created: %v", err)
	}
	if err := s.SaveProgress(ctx, Progress{RunID: w.ID, LeaseOwner: "w1", Status: "bogus"}); err == nil {
		t.Error("unknown status accepted")
	}
}

func testTransition(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "transition")
	failed := queuedRun(t, f.ID)
	failed.Status = RunFailed
	failed.Attempt = 3
	failed.Error = json.RawMessage(`{"code":"boom"}`)
	failed.Checkpoint = json.RawMessage(`{"at":"m"}`)
	failed.FinishedAt = time.Now()
	createRun(t, s, failed)

	// Retry from the failed step.
	attempt := 0
	now := time.Now()
	mustOK(t, s.Transition(ctx, failed.ID, []string{RunFailed}, RunQueued, RunUpdate{
		Attempt: &attempt, AvailableAt: &now, FinishedAt: &time.Time{}, ClearError: true, ClearLease: true,
	}), "retry")
	got := getRun(t, s, failed.ID)
	if got.Status != RunQueued || got.Attempt != 0 || got.Error != nil || !got.FinishedAt.IsZero() ||
		string(got.Checkpoint) != `{"at":"m"}` {
		t.Errorf("after retry: %+v", got)
	}
	sameTime(t, "AvailableAt", got.AvailableAt, micro(now))
	mustErr(t, s.Transition(ctx, failed.ID, []string{RunFailed}, RunQueued, RunUpdate{}), ErrConflict,
		"retry a queued run")
	mustErr(t, s.Transition(ctx, newRunID(t), []string{RunFailed}, RunQueued, RunUpdate{}), ErrNotFound,
		"transition an unknown run")

	// Cancel a live run: nil fields stay, the finish time is stamped.
	mustOK(t, s.Transition(ctx, failed.ID, []string{RunQueued, RunRunning, RunWaiting}, RunCancelled, RunUpdate{
		Error: json.RawMessage(`{"code":"cancelled"}`), ClearLease: true,
	}), "cancel")
	got = getRun(t, s, failed.ID)
	if got.Status != RunCancelled || string(got.Error) != `{"code":"cancelled"}` || got.FinishedAt.IsZero() ||
		string(got.Checkpoint) != `{"at":"m"}` || got.Attempt != 0 {
		t.Errorf("after cancel: %+v", got)
	}
	if !got.Terminal() {
		t.Error("cancelled run is not terminal")
	}
	if err := s.Transition(ctx, failed.ID, nil, RunQueued, RunUpdate{}); err == nil {
		t.Error("transition without from statuses accepted")
	}
}

func testDueRuns(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "due")
	now := time.Now()
	mk := func(status string, avail time.Time, owner string, lease time.Time) string {
		r := queuedRun(t, f.ID)
		r.Status, r.AvailableAt, r.LeaseOwner, r.LeaseUntil = status, avail, owner, lease
		return createRun(t, s, r).ID
	}
	queuedDue := mk(RunQueued, now.Add(-time.Minute), "", time.Time{})
	queuedNow := mk(RunQueued, time.Time{}, "", time.Time{})
	mk(RunQueued, now.Add(time.Minute), "", time.Time{})
	waitingDue := mk(RunWaiting, now.Add(-time.Second), "", time.Time{})
	mk(RunWaiting, now.Add(time.Hour), "", time.Time{})
	mk(RunQueued, now.Add(-time.Minute), "w1", now.Add(time.Minute)) // leased: a claim in flight
	runningExpired := mk(RunRunning, time.Time{}, "w1", now.Add(-time.Second))
	mk(RunRunning, time.Time{}, "w1", now.Add(time.Minute))
	mk(RunSucceeded, now.Add(-time.Hour), "", time.Time{})
	mk(RunFailed, time.Time{}, "", time.Time{})

	ids, err := s.DueRuns(ctx, DueQuery{Now: now, Limit: 100})
	mustOK(t, err, "due runs")
	want := []string{queuedDue, queuedNow, waitingDue, runningExpired}
	if !slices.Equal(ids, want) {
		t.Errorf("due runs:\n got %v\nwant %v", ids, want)
	}
	ids, _ = s.DueRuns(ctx, DueQuery{Now: now, Limit: 2})
	if !slices.Equal(ids, want[:2]) {
		t.Errorf("due runs limited to 2: %v", ids)
	}
	ids, _ = s.DueRuns(ctx, DueQuery{Now: now, Limit: 2, After: want[1]})
	if !slices.Equal(ids, want[2:]) {
		t.Errorf("due runs after %s: %v", want[1], ids)
	}
	ids, _ = s.DueRuns(ctx, DueQuery{Now: now.Add(2 * time.Hour)})
	if len(ids) != 8 {
		t.Errorf("due in two hours: %d runs, want 8", len(ids))
	}
	// Since: only what became due after it (the waiting run due a second ago, the lease that expired a second
	// ago), not the run due a minute ago nor the one due forever.
	ids, _ = s.DueRuns(ctx, DueQuery{Now: now, Since: now.Add(-10 * time.Second)})
	if want := []string{waitingDue, runningExpired}; !slices.Equal(ids, want) {
		t.Errorf("due since ten seconds ago:\n got %v\nwant %v", ids, want)
	}
}

func testCountRuns(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "count")
	for _, st := range []string{RunQueued, RunQueued, RunFailed, RunSucceeded} {
		r := queuedRun(t, f.ID)
		r.Status = st
		createRun(t, s, r)
	}
	for status, want := range map[string]int64{"": 4, RunQueued: 2, RunFailed: 1, RunRunning: 0} {
		n, err := s.CountRuns(ctx, status)
		mustOK(t, err, "count")
		if n != want {
			t.Errorf("CountRuns(%q) = %d, want %d", status, n, want)
		}
	}
}

// testConcurrentMixedCreates sends many creates at once, so that they share group transactions: plain runs with
// steps, deliveries of events seen before, several deliveries of one new event, and runs of a flow that does not
// exist. Every caller gets its own outcome, and a refused run takes no one else down with it.
func testConcurrentMixedCreates(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "mixed")
	seen := queuedRun(t, f.ID)
	seen.DedupKey = "seen"
	createRun(t, s, seen)

	const n = 300
	runs := make([]*Run, n)
	errs := make([]error, n)
	for i := range n {
		r := queuedRun(t, f.ID)
		switch i % 5 {
		case 1:
			r.DedupKey = "seen"
		case 2:
			r.DedupKey = "new-event"
		case 3:
			r.FlowID = "no-such-flow"
		case 4:
			r.DedupKey = fmt.Sprintf("evt-%d", i)
		}
		runs[i] = r
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.CreateRun(ctx, runs[i], []Step{{Seq: 1, NodeID: "w", Status: StepSucceeded},
				{Seq: 2, NodeID: "m", Status: StepSucceeded, Output: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}})
		})
	}
	close(start)
	wg.Wait()

	newEventWinner := ""
	for i, r := range runs {
		err := errs[i]
		switch i % 5 {
		case 0, 4:
			mustOK(t, err, fmt.Sprintf("run %d", i))
			steps, err := s.ListSteps(ctx, r.ID)
			mustOK(t, err, "list steps")
			if len(steps) != 2 || string(steps[1].Output) != fmt.Sprintf(`{"i":%d}`, i) {
				t.Fatalf("run %d: steps %+v", i, steps)
			}
		case 1:
			var dup *DuplicateRunError
			if !errors.As(err, &dup) || dup.RunID != seen.ID {
				t.Fatalf("run %d (seen event): got %v, want duplicate of %s", i, err, seen.ID)
			}
		case 2:
			if err == nil {
				if newEventWinner != "" {
					t.Fatalf("two runs for one new event: %s and %s", newEventWinner, r.ID)
				}
				newEventWinner = r.ID
			}
		case 3:
			mustErr(t, err, ErrNotFound, fmt.Sprintf("run %d of a missing flow", i))
		}
	}
	if newEventWinner == "" {
		t.Fatal("no run created for the new event")
	}
	for i, r := range runs {
		if i%5 != 2 || r.ID == newEventWinner {
			continue
		}
		var dup *DuplicateRunError
		if !errors.As(errs[i], &dup) || dup.RunID != newEventWinner {
			t.Fatalf("run %d (new event): got %v, want duplicate of %s", i, errs[i], newEventWinner)
		}
	}
	want := int64(1 + 2*n/5 + 1) // the earlier run, cases 0 and 4, the new event once
	if got, _ := s.CountRuns(ctx, ""); got != want {
		t.Fatalf("%d runs stored, want %d", got, want)
	}
}

// finishRun ends a claimed run as succeeded.
func finishRun(t *testing.T, s Store, id, owner string) {
	t.Helper()
	mustOK(t, s.SaveProgress(t.Context(), Progress{RunID: id, LeaseOwner: owner, Status: RunSucceeded, Attempt: 1}),
		"finish "+id)
}

// testOrderingKey: runs with one ordering key are claimable one at a time, oldest first; other keys and unordered
// runs are not held back (D19).
func testOrderingKey(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "ordered")
	mk := func(key string) string {
		r := queuedRun(t, f.ID)
		r.OrderingKey = key
		return createRun(t, s, r).ID
	}
	a, b, c := mk("order-1"), mk("order-1"), mk("order-1")
	other, plain := mk("order-2"), mk("")
	lease := time.Now().Add(time.Minute)

	_, err := s.ClaimRun(ctx, b, "w1", lease)
	mustErr(t, err, ErrConflict, "claim of a run behind an earlier one with its key")
	due, err := s.DueRuns(ctx, DueQuery{Now: time.Now()})
	mustOK(t, err, "due runs")
	if want := []string{a, other, plain}; !slices.Equal(due, want) {
		t.Fatalf("due runs %v, want %v (b and c wait for a)", due, want)
	}
	for _, id := range []string{a, other, plain} {
		_, err := s.ClaimRun(ctx, id, "w1", lease)
		mustOK(t, err, "claim "+id)
	}
	if got, _ := s.WakeRuns(ctx, f.ID, "order-1", 10); len(got) != 0 {
		t.Fatalf("woke %v while a runs", got)
	}
	finishRun(t, s, a, "w1")
	got, err := s.WakeRuns(ctx, f.ID, "order-1", 10)
	mustOK(t, err, "wake")
	if !slices.Equal(got, []string{b}) {
		t.Fatalf("after a finished, woke %v, want only b", got)
	}
	_, err = s.ClaimRun(ctx, c, "w2", lease)
	mustErr(t, err, ErrConflict, "c overtaking b")
	_, err = s.ClaimRun(ctx, b, "w2", lease)
	mustOK(t, err, "claim b")
	listed, _ := s.GetRun(ctx, b)
	if listed.OrderingKey != "order-1" {
		t.Errorf("ordering key read back as %q", listed.OrderingKey)
	}
}

// testConcurrencyCap: a flow capped at 3 never has more than 3 runs holding live leases, even when many workers
// claim at once; a finished run frees a slot for the next.
func testConcurrencyCap(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "capped")
	const n, limit = 12, 3
	ids := make([]string, n)
	for i := range ids {
		r := queuedRun(t, f.ID)
		r.Concurrency = limit
		ids[i] = createRun(t, s, r).ID
	}
	lease := time.Now().Add(time.Minute)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	for i, id := range ids {
		wg.Go(func() {
			if _, err := s.ClaimRun(ctx, id, fmt.Sprintf("w%d", i), lease); err == nil {
				mu.Lock()
				won = append(won, id)
				mu.Unlock()
			} else if !errors.Is(err, ErrConflict) {
				t.Errorf("claim %s: %v", id, err)
			}
		})
	}
	wg.Wait()
	if len(won) != limit {
		t.Fatalf("%d runs claimed at once, want the cap %d", len(won), limit)
	}
	if due, _ := s.DueRuns(ctx, DueQuery{Now: time.Now()}); len(due) != 0 {
		t.Fatalf("due runs %v while the flow is at its cap", due)
	}
	sort.Strings(won)
	owner := ""
	for i, id := range ids {
		if id == won[0] {
			owner = fmt.Sprintf("w%d", i)
		}
	}
	finishRun(t, s, won[0], owner)
	woken, err := s.WakeRuns(ctx, f.ID, "", 10)
	mustOK(t, err, "wake")
	if len(woken) != n-limit {
		t.Fatalf("woke %d runs, want every queued one (%d) now that a slot is free", len(woken), n-limit)
	}
	_, err = s.ClaimRun(ctx, woken[0], "late", lease)
	mustOK(t, err, "claim into the freed slot")
	_, err = s.ClaimRun(ctx, woken[1], "late", lease)
	mustErr(t, err, ErrConflict, "claim past the cap")
}

// testPruneRuns: finished runs go by age or beyond the newest Keep, in batches, with their steps and dedup keys;
// live runs stay whatever their age.
func testPruneRuns(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "prune")
	other := newFlow(t, s, "untouched")
	old := time.Now().Add(-40 * 24 * time.Hour)
	mk := func(flowID, status string, created time.Time, key string) string {
		r := queuedRun(t, flowID)
		r.Status, r.CreatedAt, r.DedupKey = status, created, key
		return createRun(t, s, r, Step{Seq: 1, NodeID: "w", Status: StepSucceeded}).ID
	}
	r1 := mk(f.ID, RunSucceeded, old, "evt-1")
	r2 := mk(f.ID, RunFailed, old, "")
	r3 := mk(f.ID, RunQueued, old, "")
	r4 := mk(f.ID, RunSucceeded, time.Now(), "")
	r5 := mk(f.ID, RunCancelled, time.Now(), "")
	r6 := mk(f.ID, RunSucceeded, time.Now(), "")
	keepOther := mk(other.ID, RunSucceeded, old, "")

	before := time.Now().Add(-30 * 24 * time.Hour)
	for i, want := range []int64{1, 1, 0} {
		n, err := s.PruneRuns(ctx, PruneQuery{FlowID: f.ID, Before: before, Limit: 1})
		mustOK(t, err, "prune by age")
		if n != want {
			t.Fatalf("pass %d by age deleted %d, want %d", i, n, want)
		}
	}
	n, err := s.PruneRuns(ctx, PruneQuery{FlowID: f.ID, Keep: 2, Limit: 100})
	mustOK(t, err, "prune by count")
	if n != 1 {
		t.Fatalf("prune keeping 2 deleted %d, want 1 (r4)", n)
	}
	for _, id := range []string{r1, r2, r4} {
		_, err := s.GetRun(ctx, id)
		mustErr(t, err, ErrNotFound, "pruned run "+id)
		if steps, _ := s.ListSteps(ctx, id); len(steps) != 0 {
			t.Errorf("pruned run %s kept %d steps", id, len(steps))
		}
	}
	for _, id := range []string{r3, r5, r6, keepOther} {
		_, err := s.GetRun(ctx, id)
		mustOK(t, err, "kept run "+id)
	}
	// The pruned run's dedup key went with it.
	again := queuedRun(t, f.ID)
	again.DedupKey = "evt-1"
	mustOK(t, s.CreateRun(ctx, again, nil), "reuse a pruned run's dedup key")
	if n, _ := s.PruneRuns(ctx, PruneQuery{FlowID: f.ID}); n != 0 {
		t.Errorf("a query without bounds deleted %d runs", n)
	}
}

// testStepInputRefs: a step stored with InputRef reads back with the referenced step's output as its input, in
// the run's first commit and in later progress.
func testStepInputRefs(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "refs")
	r := queuedRun(t, f.ID)
	r.Status, r.LeaseOwner, r.LeaseUntil = RunRunning, "w", time.Now().Add(time.Minute)
	payload := json.RawMessage(`{"order":"A-1"}`)
	createRun(t, s, r,
		Step{Seq: 1, NodeID: "hook", Output: payload, InputRef: 1, Input: json.RawMessage(`"ignored"`)},
		Step{Seq: 2, NodeID: "map", Output: json.RawMessage(`{"id":"A-1"}`), InputRef: 1})
	mustOK(t, s.SaveProgress(ctx, Progress{RunID: r.ID, LeaseOwner: "w", Status: RunSucceeded, Attempt: 1,
		Steps: []Step{{Seq: 3, NodeID: "check", Output: json.RawMessage(`{"id":"A-1"}`), InputRef: 2},
			{Seq: 4, NodeID: "own", Input: json.RawMessage(`[1]`), Output: json.RawMessage(`[2]`)}}}), "save")
	steps, err := s.ListSteps(ctx, r.ID)
	mustOK(t, err, "list steps")
	want := []string{`{"order":"A-1"}`, `{"order":"A-1"}`, `{"id":"A-1"}`, `[1]`}
	for i, st := range steps {
		if string(st.Input) != want[i] {
			t.Errorf("step %d input %s, want %s", st.Seq, st.Input, want[i])
		}
	}
}

// testAuthStore: users (e-mails unique regardless of case), sessions, tokens and the append-only audit log.
func testAuthStore(t *testing.T, s Store) {
	ctx := t.Context()
	if n, _ := s.CountUsers(ctx); n != 0 {
		t.Fatalf("%d users in a new store", n)
	}
	u := &User{ID: newRunID(t), Email: "Ops@Shop.CN", PasswordHash: "h", Role: "admin"}
	mustOK(t, s.CreateUser(ctx, u), "create user")
	mustErr(t, s.CreateUser(ctx, &User{ID: newRunID(t), Email: "ops@shop.cn", PasswordHash: "h", Role: "viewer"}), ErrConflict, "same e-mail")
	got, err := s.GetUserByEmail(ctx, " OPS@shop.cn ")
	mustOK(t, err, "get by e-mail")
	if got.ID != u.ID || got.Email != "ops@shop.cn" {
		t.Fatalf("user %+v", got)
	}
	got.Role = "editor"
	mustOK(t, s.UpdateUser(ctx, got), "update user")
	got, _ = s.GetUser(ctx, u.ID)
	if got.Role != "editor" {
		t.Fatalf("updated user %+v", got)
	}

	sess := &Session{IDHash: "h1", UserID: u.ID, CSRF: "c", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	mustOK(t, s.CreateSession(ctx, sess), "create session")
	if got, err := s.GetSession(ctx, "h1"); err != nil || got.CSRF != "c" || !got.LastSeenAt.IsZero() {
		t.Fatalf("session %+v %v", got, err)
	}
	seen := time.Now().Add(time.Minute)
	mustOK(t, s.TouchSession(ctx, "h1", seen), "touch session")
	if got, err := s.GetSession(ctx, "h1"); err != nil {
		t.Fatal(err)
	} else {
		sameTime(t, "LastSeenAt", got.LastSeenAt, micro(seen))
	}
	mustOK(t, s.DeleteUserSessions(ctx, u.ID), "sign out everywhere")
	_, err = s.GetSession(ctx, "h1")
	mustErr(t, err, ErrNotFound, "session after sign-out")

	tok := &APIToken{ID: newRunID(t), Name: "ci", UserID: u.ID, Role: "viewer", Prefix: "fry_ab", SecretHash: "s1"}
	mustOK(t, s.CreateToken(ctx, tok), "create token")
	mustOK(t, s.TouchToken(ctx, tok.ID, time.Now()), "touch")
	mustOK(t, s.RevokeToken(ctx, tok.ID, time.Now()), "revoke")
	got2, err := s.GetTokenByHash(ctx, "s1")
	mustOK(t, err, "get token")
	if got2.RevokedAt.IsZero() || got2.LastUsedAt.IsZero() {
		t.Fatalf("token %+v", got2)
	}
	mustErr(t, s.RevokeToken(ctx, "nope", time.Now()), ErrNotFound, "revoke unknown token")
	if list, _ := s.ListTokens(ctx, u.ID); len(list) != 1 {
		t.Fatalf("%d tokens", len(list))
	}
	for i := range 2 {
		mustOK(t, s.CreateToken(ctx, &APIToken{ID: newRunID(t), Name: "more", UserID: u.ID, Role: "viewer", Prefix: "fry_cd",
			SecretHash: fmt.Sprintf("more%d", i)}), "create token")
	}
	if n, err := s.RevokeUserTokens(ctx, u.ID, time.Now()); err != nil || n != 2 {
		t.Fatalf("revoked %d of the user's tokens (%v), want the 2 not revoked yet", n, err)
	}
	if n, err := s.RevokeUserTokens(ctx, u.ID, time.Now()); err != nil || n != 0 {
		t.Fatalf("revoked %d tokens twice (%v)", n, err)
	}

	for i, action := range []string{"flow.create", "flow.publish", "credential.create", "flow.publish"} {
		e := &AuditEvent{ID: newRunID(t), ActorType: "user", ActorID: u.ID, Action: action, TargetType: "flow",
			TargetID: fmt.Sprintf("f%d", i%2), Detail: json.RawMessage(`{"version":1}`)}
		mustOK(t, s.AppendAudit(ctx, e), "append")
	}
	page, err := s.ListAudit(ctx, AuditFilter{Action: "flow.", Limit: 2})
	mustOK(t, err, "list audit")
	if len(page.Events) != 2 || page.NextCursor == "" || page.Events[0].Action != "flow.publish" {
		t.Fatalf("first page %+v", page)
	}
	next, _ := s.ListAudit(ctx, AuditFilter{Action: "flow.", Cursor: page.NextCursor})
	if len(next.Events) != 1 || next.Events[0].Action != "flow.create" {
		t.Fatalf("second page %+v", next)
	}
	if byTarget, _ := s.ListAudit(ctx, AuditFilter{TargetType: "flow", TargetID: "f1"}); len(byTarget.Events) != 2 {
		t.Fatalf("events of f1: %d", len(byTarget.Events))
	}
}

// testThrottles: concurrent updates of one throttle, as parallel sign-in attempts in several processes make
// them, are all applied (none reads a count another is about to overwrite); expired rows are pruned.
func testThrottles(t *testing.T, s Store) {
	ctx := t.Context()
	_, err := s.GetThrottle(ctx, "k")
	mustErr(t, err, ErrNotFound, "throttle before any attempt")
	now := time.Now()
	const parallel = 20
	var wg sync.WaitGroup
	errs := make([]error, parallel)
	for i := range parallel {
		wg.Go(func() {
			_, errs[i] = s.UpdateThrottle(ctx, "k", func(cur Throttle) Throttle {
				cur.Failures++
				cur.LastAt, cur.BlockedUntil, cur.ExpiresAt = now, now.Add(time.Duration(cur.Failures)*time.Second), now.Add(time.Hour)
				return cur
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		mustOK(t, err, "update throttle")
	}
	got, err := s.GetThrottle(ctx, "k")
	mustOK(t, err, "get throttle")
	if got.Failures != parallel {
		t.Fatalf("%d parallel updates counted %d", parallel, got.Failures)
	}
	sameTime(t, "BlockedUntil", got.BlockedUntil, micro(now.Add(parallel*time.Second)))
	mustOK(t, s.DeleteThrottle(ctx, "k"), "delete throttle")
	_, err = s.GetThrottle(ctx, "k")
	mustErr(t, err, ErrNotFound, "deleted throttle")

	for i, expires := range []time.Time{now.Add(-time.Minute), now.Add(time.Minute)} {
		_, err := s.UpdateThrottle(ctx, fmt.Sprintf("e%d", i), func(cur Throttle) Throttle {
			cur.Failures, cur.LastAt, cur.ExpiresAt = 1, now, expires
			return cur
		})
		mustOK(t, err, "create throttle")
	}
	if n, err := s.PruneThrottles(ctx, now); err != nil || n != 1 {
		t.Fatalf("pruned %d throttles (%v), want the expired one", n, err)
	}
	if _, err := s.GetThrottle(ctx, "e1"); err != nil {
		t.Fatalf("the throttle that has not expired was pruned: %v", err)
	}
}

// testAnonymousAuditBound: pruning keeps the newest anonymous events and never touches anyone else's.
func testAnonymousAuditBound(t *testing.T, s Store) {
	ctx := t.Context()
	var newest []string
	for i := range 12 {
		actor := "anonymous"
		if i%4 == 0 {
			actor = "user"
		}
		e := &AuditEvent{ID: newRunID(t), ActorType: actor, IP: "203.0.113.9", Action: "auth.login_failed"}
		mustOK(t, s.AppendAudit(ctx, e), "append")
		if actor == "anonymous" {
			newest = append(newest, e.ID)
		}
	}
	// 9 anonymous events and 3 users' ones; keep the newest 4 anonymous ones, two deletions per call.
	var deleted int64
	for {
		n, err := s.PruneAnonymousAudit(ctx, 4, 2)
		mustOK(t, err, "prune audit")
		if n == 0 {
			break
		}
		if n > 2 {
			t.Fatalf("one call deleted %d events, more than its limit", n)
		}
		deleted += n
	}
	page, err := s.ListAudit(ctx, AuditFilter{Limit: 100})
	mustOK(t, err, "list audit")
	var anonymous, users []string
	for _, e := range page.Events {
		if e.ActorType == "anonymous" {
			anonymous = append(anonymous, e.ID)
		} else {
			users = append(users, e.ID)
		}
	}
	slices.Reverse(anonymous)
	if deleted != 5 || len(users) != 3 || !slices.Equal(anonymous, newest[len(newest)-4:]) {
		t.Fatalf("deleted %d; left anonymous %v (want the newest 4 of %v) and %d users' events", deleted, anonymous, newest, len(users))
	}
}

// testWebhookRejectionBounds: repeated refusals of one flow, address and code within the window share a counted
// row; pruning keeps each flow's newest rows.
func testWebhookRejectionBounds(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "hooked")
	other := newFlow(t, s, "other")
	now := time.Now()
	record := func(flow, ip, code string, at time.Time) string {
		t.Helper()
		r := &WebhookRejection{ID: newRunID(t), FlowID: flow, ReceivedAt: at, Status: 401, Code: code, Message: "bad signature", RemoteIP: ip, BodyBytes: 10}
		mustOK(t, s.RecordWebhookRejection(ctx, r), "record rejection")
		return r.ID
	}
	first := record(f.ID, "203.0.113.1", "sig", now)
	for i := range 30 {
		if id := record(f.ID, "203.0.113.1", "sig", now.Add(time.Duration(i)*time.Second)); id != first {
			t.Fatalf("repeat %d got a row of its own", i)
		}
	}
	later := record(f.ID, "203.0.113.1", "sig", now.Add(29*time.Second+RejectionWindow+time.Second))
	record(f.ID, "203.0.113.2", "sig", now)
	record(f.ID, "203.0.113.1", "token", now)
	record(other.ID, "203.0.113.1", "sig", now)
	page, err := s.ListWebhookRejections(ctx, RejectionFilter{FlowID: f.ID})
	mustOK(t, err, "list rejections")
	if len(page.Rejections) != 4 {
		t.Fatalf("%d rows, want 4 (one counted row, one after the window, another address, another code)", len(page.Rejections))
	}
	for _, r := range page.Rejections {
		switch r.ID {
		case first:
			if r.Repeats != 31 {
				t.Fatalf("the counted row has %d calls, want 31", r.Repeats)
			}
			sameTime(t, "LastAt", r.LastAt, micro(now.Add(29*time.Second)))
		case later:
			if r.Repeats != 1 {
				t.Fatalf("the row after the window counts %d", r.Repeats)
			}
		}
	}
	if n, err := s.PruneWebhookRejections(ctx, 2, 100); err != nil || n != 2 {
		t.Fatalf("pruned %d rows (%v), want the 2 oldest of the first flow", n, err)
	}
	kept, _ := s.ListWebhookRejections(ctx, RejectionFilter{FlowID: f.ID})
	others, _ := s.ListWebhookRejections(ctx, RejectionFilter{FlowID: other.ID})
	if len(kept.Rejections) != 2 || len(others.Rejections) != 1 {
		t.Fatalf("after pruning: %d rows of the flow, %d of the other", len(kept.Rejections), len(others.Rejections))
	}
}

// testPruneTestRuns: a query with a mode counts and deletes only that mode's runs: a flow's test runs are cut to
// the newest Keep while its live runs, older or newer, stay.
func testPruneTestRuns(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "tests")
	mk := func(mode string) string {
		r := queuedRun(t, f.ID)
		r.Mode, r.Status, r.FlowVersion = mode, RunSucceeded, 0
		return createRun(t, s, r, Step{Seq: 1, NodeID: "w", Status: StepSucceeded}).ID
	}
	var live, tests []string
	for i := range 6 {
		live = append(live, mk("live"))
		if i%2 == 0 {
			tests = append(tests, mk("test"))
		}
		tests = append(tests, mk("test"))
	}
	running := queuedRun(t, f.ID)
	running.Mode = "test"
	createRun(t, s, running)

	n, err := s.PruneRuns(ctx, PruneQuery{FlowID: f.ID, Mode: "test", Keep: 4, Limit: 2})
	mustOK(t, err, "prune test runs")
	if n != 2 {
		t.Fatalf("a batch of 2 deleted %d", n)
	}
	for {
		n, err := s.PruneRuns(ctx, PruneQuery{FlowID: f.ID, Mode: "test", Keep: 4, Limit: 2})
		mustOK(t, err, "prune test runs")
		if n < 2 {
			break
		}
	}
	page, err := s.ListRuns(ctx, RunFilter{FlowID: f.ID, Limit: 100})
	mustOK(t, err, "list runs")
	kept := map[string]bool{}
	for _, r := range page.Runs {
		kept[r.ID] = true
	}
	for _, id := range live {
		if !kept[id] {
			t.Errorf("live run %s was pruned with the test runs", id)
		}
	}
	// The newest four test runs by id: the unfinished one counts among them and stays.
	for i, id := range tests {
		if want := i >= len(tests)-3; kept[id] != want {
			t.Errorf("test run %d of %d: kept %v, want %v", i+1, len(tests), kept[id], want)
		}
	}
	if !kept[running.ID] {
		t.Error("an unfinished test run was pruned")
	}
	if _, err := s.PruneRuns(ctx, PruneQuery{FlowID: f.ID, Mode: "dry", Keep: 1}); err == nil {
		t.Error("an unknown mode was accepted")
	}
}

// testTestSecrets: a flow has at most one test secret; ensuring keeps the first one made, replacing changes it,
// a flow that does not exist has none, and deleting the flow deletes its secret.
func testTestSecrets(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "secret")
	_, err := s.FlowTestSecret(ctx, f.ID)
	mustErr(t, err, ErrNotFound, "secret of a flow that has none")
	first, err := s.EnsureFlowTestSecret(ctx, &FlowTestSecret{FlowID: f.ID, Secret: "first-secret", CreatedBy: "u1"})
	mustOK(t, err, "ensure a secret")
	if first.Secret != "first-secret" || first.CreatedBy != "u1" {
		t.Fatalf("ensured %+v", first)
	}
	again, err := s.EnsureFlowTestSecret(ctx, &FlowTestSecret{FlowID: f.ID, Secret: "second-secret"})
	mustOK(t, err, "ensure again")
	if again.Secret != "first-secret" {
		t.Fatalf("ensuring again replaced the secret: %+v", again)
	}
	mustOK(t, s.ReplaceFlowTestSecret(ctx, &FlowTestSecret{FlowID: f.ID, Secret: "third-secret", CreatedBy: "u2"}), "replace")
	got, err := s.FlowTestSecret(ctx, f.ID)
	mustOK(t, err, "read the replaced secret")
	if got.Secret != "third-secret" || got.CreatedBy != "u2" {
		t.Fatalf("replaced secret %+v", got)
	}
	_, err = s.EnsureFlowTestSecret(ctx, &FlowTestSecret{FlowID: "no-such-flow", Secret: "x"})
	mustErr(t, err, ErrNotFound, "secret of a flow that does not exist")
	mustErr(t, s.ReplaceFlowTestSecret(ctx, &FlowTestSecret{FlowID: "no-such-flow", Secret: "x"}), ErrNotFound, "replace for no flow")
	mustOK(t, s.DeleteFlow(ctx, f.ID), "delete the flow")
	_, err = s.FlowTestSecret(ctx, f.ID)
	mustErr(t, err, ErrNotFound, "secret of a deleted flow")
}

// testPollCursors: a cursor is made once; a commit creates the page's runs and moves the cursor together,
// skipping records seen before; a commit or a failure naming an old rev changes nothing; a reset starts over;
// deleting the flow deletes its cursors.
func testPollCursors(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "polled")
	now := time.Now().UTC()
	c, err := s.EnsurePollCursor(ctx, f.ID, "poll", json.RawMessage(`{"time":"2026-12-01T00:00:00Z"}`), now)
	mustOK(t, err, "ensure cursor")
	if c.Rev != 0 || string(c.Cursor) != `{"time":"2026-12-01T00:00:00Z"}` {
		t.Fatalf("new cursor %+v", c)
	}
	again, err := s.EnsurePollCursor(ctx, f.ID, "poll", json.RawMessage(`{}`), now.Add(time.Hour))
	mustOK(t, err, "ensure again")
	if string(again.Cursor) != string(c.Cursor) {
		t.Fatalf("ensuring again replaced the cursor: %s", again.Cursor)
	}
	_, err = s.EnsurePollCursor(ctx, "no-such-flow", "poll", json.RawMessage(`{}`), now)
	mustErr(t, err, ErrNotFound, "cursor of a flow that does not exist")

	polled := func(key string) *Run {
		r := queuedRun(t, f.ID)
		r.TriggerNode, r.DedupKey, r.BusinessKey = "poll", key, key
		return r
	}
	page1 := []*Run{polled("o1@1"), polled("o2@1")}
	created, err := s.CommitPoll(ctx, PollCommit{FlowID: f.ID, NodeID: "poll", Rev: 0, Cursor: json.RawMessage(`{"token":"2"}`),
		NextPollAt: now, At: now, Runs: page1, StartsPoll: true})
	mustOK(t, err, "commit page 1")
	if len(created) != 2 || created[0] != page1[0].ID {
		t.Fatalf("created %v", created)
	}
	// The next page repeats o2 (an overlapping walk) and brings o3: one new run.
	page2 := []*Run{polled("o2@1"), polled("o3@1")}
	created, err = s.CommitPoll(ctx, PollCommit{FlowID: f.ID, NodeID: "poll", Rev: 1, Cursor: json.RawMessage(`{"time":"2026-12-01T00:05:00Z"}`),
		NextPollAt: now.Add(time.Minute), At: now, Runs: page2, EndsPoll: true})
	mustOK(t, err, "commit page 2")
	if len(created) != 1 || created[0] != page2[1].ID {
		t.Fatalf("created %v", created)
	}
	c, err = s.GetPollCursor(ctx, f.ID, "poll")
	mustOK(t, err, "get cursor")
	if c.Rev != 2 || c.LastCount != 3 || c.TotalCount != 3 || c.LastPollAt.IsZero() || string(c.Cursor) != `{"time":"2026-12-01T00:05:00Z"}` {
		t.Fatalf("cursor after two pages %+v", c)
	}
	// A poller that read rev 1 commits nothing.
	stale := []*Run{polled("o9@1")}
	_, err = s.CommitPoll(ctx, PollCommit{FlowID: f.ID, NodeID: "poll", Rev: 1, Cursor: json.RawMessage(`{}`), At: now, Runs: stale})
	mustErr(t, err, ErrConflict, "commit with a stale rev")
	_, err = s.GetRun(ctx, stale[0].ID)
	mustErr(t, err, ErrNotFound, "the stale commit's run")
	mustErr(t, s.FailPoll(ctx, PollFailure{FlowID: f.ID, NodeID: "poll", Rev: 1, At: now}), ErrConflict, "fail with a stale rev")

	mustOK(t, s.FailPoll(ctx, PollFailure{FlowID: f.ID, NodeID: "poll", Rev: 2, Code: "shop_rate_limited", Message: "slow down",
		NextPollAt: now.Add(30 * time.Second), At: now}), "fail")
	c, _ = s.GetPollCursor(ctx, f.ID, "poll")
	if c.Rev != 3 || c.Failures != 1 || c.LastErrorCode != "shop_rate_limited" || string(c.Cursor) != `{"time":"2026-12-01T00:05:00Z"}` {
		t.Fatalf("after a failure %+v", c)
	}
	sameTime(t, "next poll", c.NextPollAt, micro(now.Add(30*time.Second)))
	// A commit clears the failure; a poll's first page starts the count over.
	_, err = s.CommitPoll(ctx, PollCommit{FlowID: f.ID, NodeID: "poll", Rev: 3, Cursor: c.Cursor, At: now, StartsPoll: true, EndsPoll: true})
	mustOK(t, err, "empty poll")
	c, _ = s.GetPollCursor(ctx, f.ID, "poll")
	if c.Failures != 0 || c.LastErrorCode != "" || c.LastCount != 0 || c.TotalCount != 3 {
		t.Fatalf("after an empty poll %+v", c)
	}

	c, err = s.ResetPollCursor(ctx, f.ID, "poll", json.RawMessage(`{"time":"2026-01-01T00:00:00Z"}`), now)
	mustOK(t, err, "reset")
	if c.Rev != 5 || c.TotalCount != 0 || !c.LastPollAt.IsZero() || string(c.Cursor) != `{"time":"2026-01-01T00:00:00Z"}` {
		t.Fatalf("after a reset %+v", c)
	}
	list, err := s.ListPollCursors(ctx, f.ID)
	mustOK(t, err, "list")
	if len(list) != 1 || list[0].NodeID != "poll" {
		t.Fatalf("list %+v", list)
	}
	mustOK(t, s.DeleteFlow(ctx, f.ID), "delete flow")
	_, err = s.GetPollCursor(ctx, f.ID, "poll")
	mustErr(t, err, ErrNotFound, "cursor of a deleted flow")
}

// testPollCommitsRace: pollers that read the same rev race to commit; exactly one commits its runs.
func testPollCommitsRace(t *testing.T, s Store) {
	ctx := t.Context()
	f := newFlow(t, s, "raced")
	now := time.Now().UTC()
	_, err := s.EnsurePollCursor(ctx, f.ID, "poll", json.RawMessage(`{}`), now)
	mustOK(t, err, "ensure")
	const pollers = 8
	var wg sync.WaitGroup
	results := make([][]string, pollers)
	errs := make([]error, pollers)
	for i := range pollers {
		wg.Go(func() {
			r := queuedRun(t, f.ID)
			r.DedupKey = fmt.Sprintf("rec-%d", i)
			results[i], errs[i] = s.CommitPoll(ctx, PollCommit{FlowID: f.ID, NodeID: "poll", Rev: 0,
				Cursor: json.RawMessage(fmt.Sprintf(`{"id":"%d"}`, i)), At: now, Runs: []*Run{r}})
		})
	}
	wg.Wait()
	won := 0
	for i := range pollers {
		if errs[i] == nil {
			won++
			if len(results[i]) != 1 {
				t.Errorf("the winner created %v", results[i])
			}
			continue
		}
		mustErr(t, errs[i], ErrConflict, "a losing poller")
	}
	page, err := s.ListRuns(ctx, RunFilter{FlowID: f.ID})
	mustOK(t, err, "list runs")
	if won != 1 || len(page.Runs) != 1 {
		t.Fatalf("%d pollers committed, %d runs", won, len(page.Runs))
	}
}
