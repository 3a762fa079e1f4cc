package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// harness is a whole Ferry (the real wiring of server/app) on a private database, with workers running.
type harness struct {
	t   *testing.T
	app *app.App
	// token is an admin API token that do sends unless the call names its own Authorization header.
	token string
}

// newHarness starts an app on backend b; options change its configuration after the tests' defaults.
func newHarness(t *testing.T, b storetest.Backend, options ...func(*app.Config)) *harness {
	t.Helper()
	cfg, err := app.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.DatabaseURL, cfg.LogLevel, cfg.Workers = b.DataDir, b.URL, "error", 4
	if b.URL != "" {
		cfg.SecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	}
	cfg.AllowedInternalHosts = "127.0.0.1" // the tests' stand-ins for providers listen there
	for _, o := range options {
		o(&cfg)
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Tests share two cores with every other package's tests: a sign-in may wait long for a hashing slot, and
	// must not be refused as busy for it (the refusal has a test of its own in server/auth).
	a.Auth.LimitHashing(auth.DefaultHashSlots(), time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.Runner.Work(ctx, 4) }()
	t.Cleanup(func() { cancel(); wg.Wait(); a.Close() })
	h := &harness{t: t, app: a}
	h.token = h.userToken("admin@example.com", auth.RoleAdmin)
	return h
}

// userToken creates a user with role and returns an API token of theirs.
func (h *harness) userToken(email string, role auth.Role) string {
	h.t.Helper()
	ctx := context.Background()
	u, err := h.app.Auth.CreateUser(ctx, email, "", "correct horse battery", role)
	if err != nil {
		h.t.Fatal(err)
	}
	tok, _, err := h.app.Auth.CreateToken(ctx, &auth.Principal{Kind: "session", UserID: u.ID, Email: u.Email, Role: role}, "tests", role, time.Time{}, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// each runs body against every available store.
func each(t *testing.T, body func(t *testing.T, h *harness)) {
	eachWith(t, nil, body)
}

// eachWith is each with the configuration changed by option (nil: none).
func eachWith(t *testing.T, option func(*app.Config), body func(t *testing.T, h *harness)) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			var options []func(*app.Config)
			if option != nil {
				options = append(options, option)
			}
			t.Run(b.Name, func(t *testing.T) { body(t, newHarness(t, b, options...)) })
		})
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (h *harness) do(method, path string, body any, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := h.app.HTTP.Test(req, fiber.TestConfig{Timeout: 30 * time.Second})
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (h *harness) expect(r response, status int) map[string]any {
	h.t.Helper()
	if r.status != status {
		h.t.Fatalf("want %d, got %d: %s", status, r.status, r.body)
	}
	if len(r.body) == 0 || r.body[0] != '{' {
		return nil
	}
	return r.json(h.t)
}

// eventually polls cond until it holds or 10 seconds pass.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	testenv.WaitFor(h.t, what, 10*time.Second, cond)
}

func (h *harness) runStatus(id string) string {
	run, err := h.app.Store.GetRun(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return run.Status
}

func template(t *testing.T) []byte {
	b, err := os.ReadFile("../../flows/templates/payment-webhook.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const order = `{"event":"order.paid","order_id":"ord_8f3a2c91d4","created_at":"2026-11-22T07:30:00Z","amount":149.99,"currency":"EUR",
"customer":{"id":"cus_51b7e0","name":"Ada Lovelace","email":"Ada.Lovelace@Example.COM"},"items":[{"sku":"SKU-1001","qty":1},{"sku":"SKU-2002","qty":2}]}`

// TestWalkthrough is the README's five minutes: import and publish the template, send a webhook, get the
// flow's answer, find the run by order number and read its steps.
func TestWalkthrough(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		flow := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", template(t)), 201)
		id := flow["id"].(string)
		if flow["status"] != "published" || flow["publishedVersion"].(float64) != 1 || flow["webhookUrl"] != "/hooks/"+id {
			t.Fatalf("imported flow: %v", flow)
		}

		res := h.do("POST", "/hooks/"+id, order)
		answer := h.expect(res, 200)
		want := map[string]any{"order_id": "ord_8f3a2c91d4", "email": "ada.lovelace@example.com", "customer_name": "Ada Lovelace",
			"amount_cents": float64(14999), "currency": "EUR", "item_count": float64(2), "tier": "high"}
		for k, v := range want {
			if answer[k] != v {
				t.Errorf("answer[%s] = %v, want %v", k, answer[k], v)
			}
		}
		runID := res.header.Get("X-Ferry-Run-Id")
		if runID == "" {
			t.Fatal("no X-Ferry-Run-Id header")
		}

		list := h.expect(h.do("GET", "/api/v1/runs?businessKey=ord_8f3a2c91d4", nil), 200)
		runs := list["runs"].([]any)
		if len(runs) != 1 || runs[0].(map[string]any)["id"] != runID {
			t.Fatalf("runs by business key: %v", list)
		}
		run := h.expect(h.do("GET", "/api/v1/runs/"+runID, nil), 200)
		if run["status"] != "succeeded" || run["flowVersion"].(float64) != 1 || run["mode"] != "live" {
			t.Fatalf("run: %v", run)
		}
		var path []string
		for _, s := range run["steps"].([]any) {
			step := s.(map[string]any)
			path = append(path, step["nodeId"].(string))
			if step["status"] != "succeeded" || step["input"] == nil || step["output"] == nil || step["startedAt"] == nil {
				t.Errorf("step %v lacks status, input, output or timing", step)
			}
			if _, ok := step["durationUs"].(float64); !ok {
				t.Errorf("step %v has no duration", step)
			}
		}
		if strings.Join(path, ",") != "webhook,map,check,high,answer" {
			t.Errorf("path %v", path)
		}
	})
}

// TestDuplicateDeliveryMakesOneRun checks I3: the same event delivered again and concurrently creates one run,
// and every delivery gets the first run's answer.
func TestDuplicateDeliveryMakesOneRun(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", template(t)), 201)["id"].(string)
		first := h.do("POST", "/hooks/"+id, order)
		h.expect(first, 200)
		var wg sync.WaitGroup
		results := make([]response, 20)
		for i := range results {
			wg.Add(1)
			go func() { defer wg.Done(); results[i] = h.do("POST", "/hooks/"+id, order) }()
		}
		wg.Wait()
		for _, r := range results {
			if r.status != 200 || r.header.Get("X-Ferry-Duplicate") != "true" || r.header.Get("X-Ferry-Run-Id") != first.header.Get("X-Ferry-Run-Id") {
				t.Fatalf("duplicate answered %d %v %s", r.status, r.header, r.body)
			}
			if !bytes.Equal(r.body, first.body) {
				t.Errorf("duplicate got a different answer:\n%s\n%s", r.body, first.body)
			}
		}
		page, err := h.app.Store.ListRuns(context.Background(), store.RunFilter{FlowID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) != 1 {
			t.Fatalf("%d runs for one event", len(page.Runs))
		}
	})
}

const asyncFlow = `{"schema":1,"name":"async","nodes":[
 {"id":"hook","type":"core.webhook","params":{"businessKey":"trigger.body.order","dedupKey":"trigger.body.id"}},
 {"id":"map","type":"core.map","params":{"fields":[{"target":"order","expression":"trigger.body.order"}]}}],
 "edges":[{"source":"hook","target":"map"}]}`

// TestAsyncWebhookIsAcknowledgedAfterCommit checks I1: the 202 names a run that is already in the store, and a
// run that cannot be committed is never acknowledged.
func TestAsyncWebhookIsAcknowledgedAfterCommit(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", asyncFlow), 201)["id"].(string)
		ack := h.expect(h.do("POST", "/hooks/"+id, `{"id":"evt_1","order":"A-1"}`), 202)
		runID := ack["runId"].(string)
		if _, err := h.app.Store.GetRun(context.Background(), runID); err != nil {
			t.Fatalf("acknowledged run %s is not in the store: %v", runID, err)
		}
		h.eventually("the run to succeed", func() bool { return h.runStatus(runID) == store.RunSucceeded })

		// The store refuses the commit: the caller must not get a 2xx.
		h.app.Runner.Store = failingStore{Store: h.app.Store}
		res := h.do("POST", "/hooks/"+id, `{"id":"evt_2","order":"A-2"}`)
		if res.status < 500 {
			t.Fatalf("a run that was not committed was answered %d: %s", res.status, res.body)
		}
		h.app.Runner.Store = h.app.Store
		page, _ := h.app.Store.ListRuns(context.Background(), store.RunFilter{BusinessKey: "A-2"})
		if len(page.Runs) != 0 {
			t.Fatalf("a failed commit left a run behind")
		}
	})
}

type failingStore struct{ store.Store }

func (failingStore) CreateRun(context.Context, *store.Run, []store.Step) error {
	return fmt.Errorf("disk full")
}

func (failingStore) CreateRuns(context.Context, []*store.Run) ([]string, error) {
	return nil, fmt.Errorf("disk full")
}

// TestBadInputChangesNothing checks I9 at the API: every refusal has a stable code and a position, and
// nothing is written.
func TestBadInputChangesNothing(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		cases := []struct {
			path, body, code string
		}{
			{"/api/v1/flows", `{"schema":1,"name":"x","nodes":[{"id":"a","type":"core.manual"},{"id":"c","type":"core.condition","params":{"condition":"trigger.amount >"}}],"edges":[{"source":"a","target":"c"}]}`, "expression_invalid"},
			{"/api/v1/flows", `{"schema":1,"name":"x",`, "flow_json_invalid"},
			{"/api/v1/flows/import", `{"schema":1,"name":"x","nodes":[{"id":"a","type":"core.manual"},{"id":"b","type":"acme.unknown"}],"edges":[{"source":"a","target":"b"}]}`, "node_type_unknown"},
			{"/api/v1/flows/import?publish=true", `{"schema":7,"name":"x","nodes":[],"edges":[]}`, "flow_schema_unsupported"},
			{"/api/v1/flows/import", `{"schema":1,"name":"x","nodes":[{"id":"a","type":"core.manual"},{"id":"b","type":"core.condition","params":{"condition":"true"}}],"edges":[{"source":"a","target":"b"},{"source":"b","sourcePort":"maybe","target":"b"}]}`, "port_unknown"},
			{"/api/v1/flows", `{"schema":1,"name":"","nodes":[{"id":"a","type":"core.manual"}],"edges":[{"source":"a","target":"ghost"}]}`, "flow_invalid"},
		}
		for _, tc := range cases {
			e := h.expect(h.do("POST", tc.path, tc.body), 400)["error"].(map[string]any)
			if e["code"] != tc.code {
				t.Errorf("%s: code %v, want %s (%v)", tc.body, e["code"], tc.code, e)
			}
			problems, _ := e["problems"].([]any)
			if len(problems) == 0 {
				t.Errorf("%s: no problems listed", tc.body)
			}
		}
		first := h.expect(h.do("POST", "/api/v1/flows", `{"schema":1,"name":"x","nodes":[{"id":"a","type":"core.manual"},{"id":"c","type":"core.condition","params":{"condition":"1 +\n 2 >"}}],"edges":[{"source":"a","target":"c"}]}`), 400)
		p := first["error"].(map[string]any)["problems"].([]any)[0].(map[string]any)
		if p["nodeId"] != "c" || p["field"] != "condition" || p["line"].(float64) != 2 || p["column"] == nil {
			t.Errorf("problem lacks its place: %v", p)
		}
		flows := h.expect(h.do("GET", "/api/v1/flows", nil), 200)["flows"].([]any)
		if len(flows) != 0 {
			t.Fatalf("refused documents left %d flows behind", len(flows))
		}
		// A malformed webhook body is refused and creates no run.
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", asyncFlow), 201)["id"].(string)
		e := h.expect(h.do("POST", "/hooks/"+id, `{"id": "evt", "order": `), 400)["error"].(map[string]any)
		if e["code"] != "webhook_body_invalid" {
			t.Errorf("bad body code %v", e)
		}
		big := `{"id":"evt","pad":"` + strings.Repeat("x", 1<<20) + `"}`
		if e := h.expect(h.do("POST", "/hooks/"+id, big), 413)["error"].(map[string]any); e["code"] != "webhook_body_too_large" {
			t.Errorf("oversized body code %v", e)
		}
		deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
		if e := h.expect(h.do("POST", "/hooks/"+id, deep), 400)["error"].(map[string]any); e["code"] != "webhook_body_invalid" {
			t.Errorf("deep body code %v", e)
		}
		page, _ := h.app.Store.ListRuns(context.Background(), store.RunFilter{FlowID: id})
		if len(page.Runs) != 0 {
			t.Fatal("a refused webhook created a run")
		}
		h.expect(h.do("POST", "/hooks/00000000-0000-0000-0000-000000000000", `{}`), 404)
	})
}

// TestVersionsAreImmutable checks I8: publishing makes a new version, older ones stay as they were, runs name
// their version, and rollback republishes an older one.
func TestVersionsAreImmutable(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		flow := h.expect(h.do("POST", "/api/v1/flows", asyncFlow), 201)
		id := flow["id"].(string)
		h.expect(h.do("POST", "/hooks/"+id, `{"id":"e0"}`), 404) // a draft has no live webhook
		v1 := h.expect(h.do("POST", "/api/v1/flows/"+id+"/publish", `{"message":"first"}`), 201)
		if v1["version"].(float64) != 1 {
			t.Fatalf("v1: %v", v1)
		}
		changed := strings.Replace(asyncFlow, `"target":"order"`, `"target":"order_no"`, 1)
		h.expect(h.do("PUT", "/api/v1/flows/"+id, changed, "If-Match", "1"), 200)
		stale := h.do("PUT", "/api/v1/flows/"+id, changed, "If-Match", "1")
		if h.expect(stale, 409)["error"].(map[string]any)["code"] != "conflict" {
			t.Errorf("stale save: %s", stale.body)
		}
		h.expect(h.do("POST", "/api/v1/flows/"+id+"/publish", nil), 201)
		old := h.expect(h.do("GET", "/api/v1/flows/"+id+"/versions/1", nil), 200)
		if strings.Contains(string(mustJSON(t, old["flow"])), "order_no") {
			t.Fatal("publishing v2 changed v1")
		}
		ack := h.expect(h.do("POST", "/hooks/"+id, `{"id":"e1","order":"B-1"}`), 202)
		h.eventually("run on v2", func() bool { return h.runStatus(ack["runId"].(string)) == store.RunSucceeded })
		run := h.expect(h.do("GET", "/api/v1/runs/"+ack["runId"].(string), nil), 200)
		if run["flowVersion"].(float64) != 2 || !strings.Contains(string(mustJSON(t, run["steps"])), "order_no") {
			t.Fatalf("run should name and use version 2: %v", run)
		}
		h.expect(h.do("POST", "/api/v1/flows/"+id+"/versions/1/rollback", nil), 200)
		ack = h.expect(h.do("POST", "/hooks/"+id, `{"id":"e2","order":"B-2"}`), 202)
		h.eventually("run on v1", func() bool { return h.runStatus(ack["runId"].(string)) == store.RunSucceeded })
		run = h.expect(h.do("GET", "/api/v1/runs/"+ack["runId"].(string), nil), 200)
		if run["flowVersion"].(float64) != 1 {
			t.Fatalf("after rollback the run used version %v", run["flowVersion"])
		}
		versions := h.expect(h.do("GET", "/api/v1/flows/"+id+"/versions", nil), 200)["versions"].([]any)
		if len(versions) != 2 {
			t.Errorf("versions: %v", versions)
		}
		h.expect(h.do("GET", "/api/v1/flows/"+id+"/versions/9", nil), 404)
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTestRunTouchesNothing: a test run of the draft returns every step, and the HTTP node only reports the
// request it would have sent.
func TestTestRunTouchesNothing(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		hits := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
		defer srv.Close()
		doc := `{"schema":1,"name":"t","nodes":[{"id":"in","type":"core.manual"},
		 {"id":"call","type":"core.http","params":{"method":"POST","url":"` + srv.URL + `/deals","bodyType":"json","body":"{{ {'amount': toMinor(trigger.amount, 'CNY')} }}"}}],
		 "edges":[{"source":"in","target":"call"}]}`
		id := h.expect(h.do("POST", "/api/v1/flows", doc), 201)["id"].(string)
		run := h.expect(h.do("POST", "/api/v1/flows/"+id+"/test", `{"payload":{"amount":"12.50"}}`), 200)
		if run["status"] != "succeeded" || run["mode"] != "test" {
			t.Fatalf("test run: %v", run)
		}
		steps := run["steps"].([]any)
		call := steps[1].(map[string]any)
		if call["status"] != "dry_run" || !strings.Contains(string(mustJSON(t, call["output"])), "1250") {
			t.Fatalf("http step: %v", call)
		}
		if hits != 0 {
			t.Fatalf("a test run sent %d requests", hits)
		}
		// A test run of the draft has no version to look up: its page draws the graph from the document it ran.
		stored := h.expect(h.do("GET", "/api/v1/runs/"+run["id"].(string), ""), 200)
		if f, _ := stored["flow"].(map[string]any); f == nil || len(f["nodes"].([]any)) != 2 {
			t.Fatalf("a test run's detail lacks the document it ran: %v", stored["flow"])
		}
		// An unsaved document can be tested too, and problems in it are reported.
		bad := h.expect(h.do("POST", "/api/v1/flows/"+id+"/test", `{"payload":{},"flow":{"schema":1,"name":"t","nodes":[],"edges":[{"source":"x","target":"y"}]}}`), 400)
		if bad["error"].(map[string]any)["code"] != "edge_dangling" {
			t.Errorf("unsaved document problems: %v", bad)
		}
	})
}

// TestRetryReplayCancel drives the operator actions: a failed run resumes at its failed step, a replay starts
// a new run with the original payload, and a waiting run can be cancelled.
func TestRetryReplayCancel(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		var mu sync.Mutex
		fail := true
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if fail {
				w.WriteHeader(http.StatusUnprocessableEntity)
				w.Write([]byte(`{"message":"deal stage unknown"}`))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true}`))
		}))
		defer srv.Close()
		doc := `{"schema":1,"name":"r","nodes":[{"id":"in","type":"core.manual"},
		 {"id":"prep","type":"core.map","params":{"fields":[{"target":"deal","expression":"trigger.deal"}]}},
		 {"id":"call","type":"core.http","params":{"method":"POST","url":"` + srv.URL + `","bodyType":"json","body":"{{ prev }}"}}],
		 "edges":[{"source":"in","target":"prep"},{"source":"prep","target":"call"}]}`
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
		runID := h.expect(h.do("POST", "/api/v1/flows/"+id+"/run", `{"payload":{"deal":"D-9"},"businessKey":"D-9"}`), 202)["id"].(string)
		h.eventually("the run to fail", func() bool { return h.runStatus(runID) == store.RunFailed })
		run := h.expect(h.do("GET", "/api/v1/runs/"+runID, nil), 200)
		if e := run["error"].(map[string]any); e["code"] != "http_client_error" || e["nodeId"] != "call" {
			t.Fatalf("run error: %v", e)
		}
		if !strings.Contains(string(mustJSON(t, run["steps"])), "deal stage unknown") {
			t.Error("the provider's error is not shown verbatim")
		}
		failed := h.expect(h.do("GET", "/api/v1/runs?status=failed&flow="+id, nil), 200)["runs"].([]any)
		if len(failed) != 1 {
			t.Fatalf("failed runs: %v", failed)
		}

		mu.Lock()
		fail = false
		mu.Unlock()
		h.expect(h.do("POST", "/api/v1/runs/"+runID+"/retry", nil), 202)
		h.eventually("the retried run to succeed", func() bool { return h.runStatus(runID) == store.RunSucceeded })
		run = h.expect(h.do("GET", "/api/v1/runs/"+runID, nil), 200)
		var prepSteps int
		for _, s := range run["steps"].([]any) {
			if s.(map[string]any)["nodeId"] == "prep" {
				prepSteps++
			}
		}
		if prepSteps != 1 {
			t.Errorf("retry re-ran steps before the failed one (%d prep steps)", prepSteps)
		}
		h.expect(h.do("POST", "/api/v1/runs/"+runID+"/retry", nil), 409)

		replay := h.expect(h.do("POST", "/api/v1/runs/"+runID+"/replay", nil), 202)
		if replay["replayOf"] != runID || replay["businessKey"] != "D-9" {
			t.Fatalf("replay: %v", replay)
		}
		h.eventually("the replay to succeed", func() bool { return h.runStatus(replay["id"].(string)) == store.RunSucceeded })

		waitDoc := `{"schema":1,"name":"w","nodes":[{"id":"in","type":"core.manual"},{"id":"pause","type":"core.delay","params":{"mode":"duration","duration":"1h"}}],"edges":[{"source":"in","target":"pause"}]}`
		wid := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", waitDoc), 201)["id"].(string)
		waiting := h.expect(h.do("POST", "/api/v1/flows/"+wid+"/run", `{"payload":{}}`), 202)["id"].(string)
		h.eventually("the run to wait", func() bool { return h.runStatus(waiting) == store.RunWaiting })
		if c := h.expect(h.do("POST", "/api/v1/runs/"+waiting+"/cancel", nil), 200); c["status"] != "cancelled" {
			t.Fatalf("cancel: %v", c)
		}
		h.expect(h.do("POST", "/api/v1/runs/"+waiting+"/cancel", nil), 409)
	})
}

// TestWebhookHMAC checks a signed webhook against a credential kept in the vault.
func TestWebhookHMAC(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		cred := h.expect(h.do("POST", "/api/v1/credentials", `{"name":"shop signing","type":"webhook.hmac","live":{"secret":"s3cr3t-key"}}`), 201)
		if strings.Contains(string(mustJSON(t, cred)), "s3cr3t") {
			t.Fatal("the API returned a secret")
		}
		doc := `{"schema":1,"name":"signed","nodes":[{"id":"hook","type":"core.webhook","credential":"` + cred["id"].(string) + `",
		  "params":{"auth":"hmac","signatureHeader":"X-Shop-Signature","signaturePrefix":"sha256="}}],"edges":[]}`
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
		body := `{"order":"S-1"}`
		mac := hmac.New(sha256.New, []byte("s3cr3t-key"))
		mac.Write([]byte(body))
		good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		h.expect(h.do("POST", "/hooks/"+id, body, "X-Shop-Signature", good), 202)
		e := h.expect(h.do("POST", "/hooks/"+id, `{"order":"S-2"}`, "X-Shop-Signature", good), 401)
		if e["error"].(map[string]any)["code"] != "webhook_unauthorized" {
			t.Errorf("forged body: %v", e)
		}
		h.expect(h.do("POST", "/hooks/"+id, body), 401)
		got := h.expect(h.do("GET", "/api/v1/credentials/"+cred["id"].(string), nil), 200)
		if strings.Contains(string(mustJSON(t, got)), "s3cr3t") || got["fields"].([]any)[0] != "secret" {
			t.Errorf("credential read: %v", got)
		}
	})
}

// TestPausedFlowAsksForRedelivery: a paused flow answers 503 with Retry-After so providers deliver again later.
func TestPausedFlowAsksForRedelivery(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", asyncFlow), 201)["id"].(string)
		h.expect(h.do("POST", "/api/v1/flows/"+id+"/pause", nil), 200)
		res := h.do("POST", "/hooks/"+id, `{"id":"p1"}`)
		if h.expect(res, 503); res.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		h.expect(h.do("POST", "/api/v1/flows/"+id+"/resume", nil), 200)
		h.expect(h.do("POST", "/hooks/"+id, `{"id":"p1"}`), 202)
	})
}

func TestExportImportRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", template(t)), 201)["id"].(string)
		res := h.do("GET", "/api/v1/flows/"+id+"/export?version=1", nil)
		h.expect(res, 200)
		if !strings.Contains(res.header.Get("Content-Disposition"), "attachment") {
			t.Error("export is not offered as a file")
		}
		again := h.expect(h.do("POST", "/api/v1/flows/import", res.body), 201)
		exported := h.do("GET", "/api/v1/flows/"+again["id"].(string)+"/export", nil)
		if !bytes.Equal(exported.body, res.body) {
			t.Errorf("round trip changed the document:\n%s\n%s", res.body, exported.body)
		}
	})
}

func TestRunListFiltersAndPages(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", asyncFlow), 201)["id"].(string)
		for i := 0; i < 7; i++ {
			h.expect(h.do("POST", "/hooks/"+id, fmt.Sprintf(`{"id":"e%d","order":"O-%d"}`, i, i%2)), 202)
		}
		seen := map[string]bool{}
		cursor := ""
		pages := 0
		for {
			page := h.expect(h.do("GET", "/api/v1/runs?limit=3&flow="+id+"&cursor="+cursor, nil), 200)
			for _, r := range page["runs"].([]any) {
				seen[r.(map[string]any)["id"].(string)] = true
			}
			pages++
			cursor, _ = page["nextCursor"].(string)
			if cursor == "" {
				break
			}
		}
		if len(seen) != 7 || pages != 3 {
			t.Fatalf("%d runs over %d pages", len(seen), pages)
		}
		byKey := h.expect(h.do("GET", "/api/v1/runs?businessKey=O-1", nil), 200)["runs"].([]any)
		if len(byKey) != 3 {
			t.Errorf("business key O-1: %d runs", len(byKey))
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		if n := len(h.expect(h.do("GET", "/api/v1/runs?since="+future, nil), 200)["runs"].([]any)); n != 0 {
			t.Errorf("since the future: %d runs", n)
		}
		for _, bad := range []string{"status=lost", "since=yesterday", "limit=-1", "mode=prod"} {
			if e := h.expect(h.do("GET", "/api/v1/runs?"+bad, nil), 400)["error"].(map[string]any); e["code"] != "bad_request" {
				t.Errorf("%s: %v", bad, e)
			}
		}
	})
}

// TestRetriesGoBackThroughTheQueue: a provider failing with 503 is retried with backoff by re-enqueueing the
// run, each attempt a step of its own with the same idempotency key, until it succeeds.
func TestRetriesGoBackThroughTheQueue(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		var mu sync.Mutex
		var keys []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			if len(keys) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(`{"ok":true}`))
		}))
		defer srv.Close()
		doc := `{"schema":1,"name":"retry","nodes":[{"id":"in","type":"core.manual"},
		 {"id":"call","type":"core.http","retry":{"maxAttempts":4,"backoff":"20ms"},
		  "params":{"method":"POST","url":"` + srv.URL + `","idempotencyKey":true}}],"edges":[{"source":"in","target":"call"}]}`
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
		runID := h.expect(h.do("POST", "/api/v1/flows/"+id+"/run", `{"payload":{}}`), 202)["id"].(string)
		h.eventually("the run to succeed after retries", func() bool { return h.runStatus(runID) == store.RunSucceeded })
		run := h.expect(h.do("GET", "/api/v1/runs/"+runID, nil), 200)
		var attempts []string
		for _, s := range run["steps"].([]any) {
			step := s.(map[string]any)
			if step["nodeId"] == "call" {
				attempts = append(attempts, fmt.Sprintf("%v:%v", step["attempt"], step["status"]))
			}
		}
		if strings.Join(attempts, ",") != "1:failed,2:failed,3:succeeded" {
			t.Errorf("attempts %v", attempts)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(keys) != 3 || keys[0] == "" || keys[0] != keys[1] || keys[1] != keys[2] {
			t.Errorf("idempotency keys %v", keys)
		}
	})
}

// TestSyncWebhookThatWaits: a synchronous webhook whose run parks before answering is committed as waiting and
// answered 202 with its run id.
func TestSyncWebhookThatWaits(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		doc := `{"schema":1,"name":"sync-wait","nodes":[{"id":"hook","type":"core.webhook","params":{"respond":"respondNode","timeout":"2s"}},
		 {"id":"pause","type":"core.delay","params":{"mode":"duration","duration":"1h"}},{"id":"answer","type":"core.respond"}],
		 "edges":[{"source":"hook","target":"pause"},{"source":"pause","target":"answer"}]}`
		id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", doc), 201)["id"].(string)
		ack := h.expect(h.do("POST", "/hooks/"+id, `{"order":"W-1"}`), 202)
		if ack["status"] != "waiting" || h.runStatus(ack["runId"].(string)) != store.RunWaiting {
			t.Fatalf("ack %v", ack)
		}
	})
}
