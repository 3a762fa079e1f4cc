package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/server/api"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
)

// draftFlow creates a flow that was never published: a webhook trigger and a map step.
func draftFlow(t *testing.T, h *harness, name string) string {
	t.Helper()
	return h.expect(h.do("POST", "/api/v1/flows", `{"schema":1,"name":"`+name+`","nodes":[
	  {"id":"hook","type":"core.webhook"},
	  {"id":"m","type":"core.map","params":{"fields":[{"target":"order","expression":"trigger.body.order_id"}]}}],
	  "edges":[{"source":"hook","target":"m"}]}`), 201)["id"].(string)
}

func testRuns(t *testing.T, h *harness, flow, mode string) int {
	t.Helper()
	return len(h.expect(h.do("GET", "/api/v1/runs?limit=500&mode="+mode+"&flow="+flow, nil), 200)["runs"].([]any))
}

// TestTestWebhookNeedsEditorOrSecret: the test webhook runs a draft that was never published, so only the
// flow's editors may call it: signed in with flows:write, or with the flow's test secret (in the path, for
// providers that cannot add headers, or in a header). Anyone else gets exactly what an unknown flow gets, and
// no run is stored. Editors see the secret and regenerate it (audited); the old secret then stops working.
func TestTestWebhookNeedsEditorOrSecret(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		flow := draftFlow(t, h, "never published")
		other := draftFlow(t, h, "another draft")
		editor := h.userToken("editor@example.com", auth.RoleEditor)
		viewer := h.userToken("viewer@example.com", auth.RoleViewer)
		operator := h.userToken("operator@example.com", auth.RoleOperator)
		body := `{"order_id":"T-1"}`

		unknown := h.do("POST", "/hooks/no-such-flow/test", body, "Authorization", "")
		h.expect(unknown, 404)
		for name, res := range map[string]response{
			"no secret":        h.do("POST", "/hooks/"+flow+"/test", body, "Authorization", ""),
			"wrong header":     h.do("POST", "/hooks/"+flow+"/test", body, "Authorization", "", api.TestSecretHeader, "guessed"),
			"wrong path":       h.do("POST", "/hooks/"+flow+"/test/guessed", body, "Authorization", ""),
			"GET, no secret":   h.do("GET", "/hooks/"+flow+"/test", nil, "Authorization", ""),
			"empty path":       h.do("POST", "/hooks/"+flow+"/test/", body, "Authorization", ""),
			"unknown + secret": h.do("POST", "/hooks/no-such-flow/test/guessed", body, "Authorization", ""),
		} {
			if res.status != 404 || string(res.body) != string(unknown.body) {
				t.Errorf("%s: %d %s, want what an unknown flow gets: 404 %s", name, res.status, res.body, unknown.body)
			}
		}
		for who, tok := range map[string]string{"viewer": viewer, "operator": operator} {
			res := h.do("POST", "/hooks/"+flow+"/test", body, "Authorization", "Bearer "+tok)
			if res.status != 403 || errorCode(t, res.json(t)) != api.CodeForbidden {
				t.Errorf("%s: %d %s, want 403 forbidden", who, res.status, res.body)
			}
			h.expect(h.do("GET", "/api/v1/flows/"+flow+"/test-hook", nil, "Authorization", "Bearer "+tok), 403)
		}
		h.expect(h.do("POST", "/hooks/"+flow+"/test", body, "Authorization", "Bearer not-a-token"), 401)
		if n := testRuns(t, h, flow, "test"); n != 0 {
			t.Fatalf("refused calls stored %d test runs", n)
		}

		// An editor may call it signed in, and sees the secret (made once, then the same) with the full URL.
		run := h.expect(h.do("POST", "/hooks/"+flow+"/test", body, "Authorization", "Bearer "+editor), 200)
		if run["mode"] != "test" || run["status"] != "succeeded" {
			t.Fatalf("editor's test call: %v", run)
		}
		hook := h.expect(h.do("GET", "/api/v1/flows/"+flow+"/test-hook", nil, "Authorization", "Bearer "+editor), 200)
		secret, _ := hook["secret"].(string)
		if len(secret) < 20 || hook["url"] != "/hooks/"+flow+"/test/"+secret || hook["header"] != api.TestSecretHeader {
			t.Fatalf("test hook %v", hook)
		}
		if again := h.expect(h.do("GET", "/api/v1/flows/"+flow+"/test-hook", nil), 200); again["secret"] != secret {
			t.Fatalf("the secret changed on a second look: %v", again)
		}
		h.expect(h.do("GET", "/api/v1/flows/no-such-flow/test-hook", nil), 404)

		// With the secret, anyone may call: in the path (a provider's dashboard) or in the header (a script).
		for name, res := range map[string]response{
			"path":   h.do("POST", hook["url"].(string), body, "Authorization", ""),
			"header": h.do("POST", "/hooks/"+flow+"/test", body, "Authorization", "", api.TestSecretHeader, secret),
		} {
			if got := h.expect(res, 200); got["mode"] != "test" || len(got["steps"].([]any)) != 2 {
				t.Errorf("%s: %v", name, got)
			}
			// Run data is read by more people than may test: the secret is not kept in it.
			if strings.Contains(string(res.body), secret) {
				t.Errorf("%s: the test run keeps the secret: %s", name, res.body)
			}
		}
		// The secret of one flow opens no other.
		if res := h.do("POST", "/hooks/"+other+"/test/"+secret, body, "Authorization", ""); res.status != 404 {
			t.Errorf("another flow's secret: %d %s", res.status, res.body)
		}

		// Regenerating replaces the secret at once.
		fresh := h.expect(h.do("POST", "/api/v1/flows/"+flow+"/test-hook/regenerate", nil, "Authorization", "Bearer "+editor), 200)
		if fresh["secret"] == secret || fresh["url"] == hook["url"] {
			t.Fatalf("regenerated %v", fresh)
		}
		if res := h.do("POST", hook["url"].(string), body, "Authorization", ""); res.status != 404 {
			t.Errorf("the old secret still works: %d", res.status)
		}
		h.expect(h.do("POST", fresh["url"].(string), body, "Authorization", ""), 200)
		events := h.expect(h.do("GET", "/api/v1/audit?target="+flow, nil), 200)["events"].([]any)
		seen := map[string]bool{}
		for _, e := range events {
			seen[e.(map[string]any)["action"].(string)] = true
		}
		if !seen["flow.test_secret.create"] || !seen["flow.test_secret.regenerate"] {
			t.Errorf("the audit log lacks the secret's changes: %v", seen)
		}

		// Made-up flow ids are not counted one by one in the metrics.
		h.do("POST", "/hooks/made-up-by-a-stranger", body, "Authorization", "")
		if m := string(h.do("GET", "/metrics", nil).body); strings.Contains(m, "made-up-by-a-stranger") {
			t.Error("the metrics grew a series for a flow id nobody created")
		}
	})
}

// TestTestRunsAreBounded: a flood of test calls (the test webhook with its secret, and the editor's test runs)
// leaves each flow at most its bound of test runs, the newest; the flow's live runs are untouched; a lowered
// bound reaches the runs already kept at the pruner's next pass.
func TestTestRunsAreBounded(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		const keep = 5
		h.expect(h.do("PUT", "/api/v1/settings", map[string]any{"test-runs-kept": keep}), 200)
		if h.app.Runner.TestRunsKept() != keep {
			t.Fatalf("the runner keeps %d test runs, want %d", h.app.Runner.TestRunsKept(), keep)
		}
		flow := draftFlow(t, h, "flooded")
		h.expect(h.do("POST", "/api/v1/flows/"+flow+"/publish", `{"message":"live"}`), 201)
		for i := range 3 {
			h.expect(h.do("POST", "/hooks/"+flow, fmt.Sprintf(`{"order_id":"L-%d"}`, i)), 202)
		}
		h.eventually("the live runs to finish", func() bool {
			runs := h.expect(h.do("GET", "/api/v1/runs?mode=live&status=succeeded&flow="+flow, nil), 200)["runs"].([]any)
			return len(runs) == 3
		})
		url := h.expect(h.do("GET", "/api/v1/flows/"+flow+"/test-hook", nil), 200)["url"].(string)

		var wg sync.WaitGroup
		statuses := make(chan int, 40)
		for i := range 40 {
			wg.Go(func() {
				if i%4 == 0 {
					statuses <- h.do("POST", "/api/v1/flows/"+flow+"/test", `{"payload":{"order_id":"E"}}`).status
					return
				}
				statuses <- h.do("POST", url, `{"order_id":"F"}`, "Authorization", "").status
			})
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			if s != http.StatusOK {
				t.Fatalf("a test call answered %d", s)
			}
		}
		if n := testRuns(t, h, flow, "test"); n > keep || n == 0 {
			t.Fatalf("%d test runs kept after 40 test calls, want at most %d", n, keep)
		}
		if n := testRuns(t, h, flow, "live"); n != 3 {
			t.Fatalf("%d live runs left, want the 3 there were", n)
		}
		// The newest test run is among those kept.
		last := h.expect(h.do("POST", url, `{"order_id":"LAST"}`, "Authorization", ""), 200)["id"].(string)
		if _, err := h.app.Store.GetRun(context.Background(), last); err != nil {
			t.Fatalf("the newest test run is gone: %v", err)
		}

		// Lowered to 2, the pruner's next pass cuts what is kept.
		h.expect(h.do("PUT", "/api/v1/settings", map[string]any{"test-runs-kept": 2}), 200)
		if _, err := h.app.Pruner.Once(context.Background(), time.Now()); err != nil {
			t.Fatal(err)
		}
		if n := testRuns(t, h, flow, "test"); n != 2 {
			t.Fatalf("%d test runs after the pruner's pass, want 2", n)
		}
		if n := testRuns(t, h, flow, "live"); n != 3 {
			t.Fatalf("the pruner's pass left %d live runs, want 3", n)
		}
		if _, err := h.app.Store.GetRun(context.Background(), last); err != nil {
			t.Fatalf("the pruner deleted the newest test run: %v", err)
		}
	})
}

// TestUnreadableTestSecret: a test secret sealed under a key the server no longer has (retired without `ferry
// keys rotate`) opens nothing, tells the editor to regenerate it, and regenerating works.
func TestUnreadableTestSecret(t *testing.T) {
	h := sqliteHarness(t)
	flow := draftFlow(t, h, "key retired")
	url := h.expect(h.do("GET", "/api/v1/flows/"+flow+"/test-hook", nil), 200)["url"].(string)
	stray, err := vault.Load(vault.KeySource{Current: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))})
	if err != nil {
		t.Fatal(err)
	}
	h.app.Store.(store.SealerSetter).SetSealer(stray)
	if res := h.do("POST", url, `{"order_id":"X"}`, "Authorization", ""); res.status != 404 {
		t.Errorf("an unreadable secret answered %d %s", res.status, res.body)
	}
	if e := h.expect(h.do("GET", "/api/v1/flows/"+flow+"/test-hook", nil), 409); errorCode(t, e) != api.CodeTestSecretUnreadable {
		t.Errorf("asking for the URL: %v", e)
	}
	fresh := h.expect(h.do("POST", "/api/v1/flows/"+flow+"/test-hook/regenerate", nil), 200)["url"].(string)
	h.expect(h.do("POST", fresh, `{"order_id":"X"}`, "Authorization", ""), 200)
}
