package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/server/api"
	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

func sqliteHarness(t *testing.T) *harness {
	return newHarness(t, storetest.Backends(t)[0](t))
}

// TestEveryRouteDeclaresAPermission walks the route table (I6) and the routes Fiber actually serves, so a
// handler cannot be added outside the table or without a permission.
func TestEveryRouteDeclaresAPermission(t *testing.T) {
	h := sqliteHarness(t)
	known := map[api.Permission]bool{api.PermPublic: true}
	for _, p := range auth.Permissions() {
		known[api.Permission(p)] = true
	}
	publicAPI := map[string]bool{"/api/v1/openapi.json": true, "/api/v1/version": true, "/api/v1/setup": true,
		"/api/v1/auth/login": true, "/api/v1/oauth2/callback": true}
	table := map[string]bool{}
	for _, r := range h.app.API.Routes() {
		if !known[r.Permission] {
			t.Errorf("%s %s: permission %q is not a known permission", r.Method, r.Path, r.Permission)
		}
		if r.Summary == "" || r.Tag == "" || r.Handler == nil {
			t.Errorf("%s %s: summary, tag and handler are required", r.Method, r.Path)
		}
		if r.Permission == api.PermPublic && strings.HasPrefix(r.Path, "/api/v1/") && !publicAPI[r.Path] {
			t.Errorf("%s %s: API routes other than the description, setup and sign-in are not public", r.Method, r.Path)
		}
		table[r.Method+" "+r.Path] = true
	}
	for _, r := range h.app.HTTP.GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "OPTIONS" || r.Method == "CONNECT" || r.Method == "TRACE" {
			continue
		}
		if !table[r.Method+" "+r.Path] && !table["ALL "+r.Path] {
			t.Errorf("Fiber serves %s %s, which is not in the route table", r.Method, r.Path)
		}
	}
}

// TestOpenAPIDescribesEveryRoute checks the document is generated from the table and is well formed.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	h := sqliteHarness(t)
	doc := h.expect(h.do("GET", "/api/v1/openapi.json", nil), 200)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi version %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, r := range h.app.API.Routes() {
		item, ok := paths[api.OpenAPIPath(r.Path)].(map[string]any)
		if !ok {
			t.Errorf("%s is not described", r.Path)
			continue
		}
		method := strings.ToLower(r.Method)
		if r.Method == "ALL" {
			method = "post"
		}
		op, ok := item[method].(map[string]any)
		if !ok || op["x-permission"] != string(r.Permission) {
			t.Errorf("%s %s: operation missing or without its permission", r.Method, r.Path)
		}
		if ok && r.TestSecret && (op["x-test-secret"] != true || !strings.Contains(fmt.Sprint(op["description"]), api.TestSecretHeader)) {
			t.Errorf("%s %s: the operation does not say that the flow's test secret also opens it", r.Method, r.Path)
		}
	}
	raw, _ := json.Marshal(doc)
	for _, m := range strings.Split(string(raw), `"$ref":"#/components/schemas/`)[1:] {
		name := m[:strings.IndexByte(m, '"')]
		if _, ok := schemas[name]; !ok {
			t.Errorf("reference to undefined schema %s", name)
		}
	}
}

// TestNodeCatalog checks every node in the catalog carries what the editor needs to render it.
func TestNodeCatalog(t *testing.T) {
	h := sqliteHarness(t)
	list := h.expect(h.do("GET", "/api/v1/nodes", nil), 200)["nodes"].([]any)
	byType := map[string]map[string]any{}
	for _, n := range list {
		node := n.(map[string]any)
		byType[node["type"].(string)] = node
		for _, key := range []string{"type", "version", "name", "category", "description", "inputs", "outputs", "params"} {
			if _, ok := node[key]; !ok {
				t.Errorf("%v lacks %s", node["type"], key)
			}
		}
		outputs := node["outputs"].([]any)
		last := outputs[len(outputs)-1].(map[string]any)
		if last["id"] != "error" || last["kind"] != "error" {
			t.Errorf("%v: the error port is missing", node["type"])
		}
		for _, p := range node["params"].([]any) {
			param := p.(map[string]any)
			if param["name"] == "" || param["label"] == nil || param["type"] == nil {
				t.Errorf("%v: parameter without name, label or type: %v", node["type"], param)
			}
		}
	}
	for _, want := range []string{"core.manual", "core.webhook", "core.schedule", "core.map", "core.condition", "core.switch",
		"core.http", "core.respond", "core.delay", "core.set-vars"} {
		if byType[want] == nil {
			t.Errorf("%s is missing from the catalog", want)
		}
	}
	cond := byType["core.condition"]
	ports := []string{}
	for _, p := range cond["outputs"].([]any) {
		ports = append(ports, p.(map[string]any)["id"].(string))
	}
	if strings.Join(ports, ",") != "true,false,error" {
		t.Errorf("condition ports %v", ports)
	}
	if byType["core.switch"]["dynamicOutputs"] == nil {
		t.Error("switch does not describe its case ports")
	}
	fns := h.expect(h.do("GET", "/api/v1/functions", nil), 200)["functions"].([]any)
	if len(fns) < 20 {
		t.Errorf("only %d functions documented", len(fns))
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	h := sqliteHarness(t)
	h.expect(h.do("GET", "/healthz", nil), 200)
	ready := h.expect(h.do("GET", "/readyz", nil), 200)
	if ready["checks"].(map[string]any)["store"] != "ok" {
		t.Errorf("readyz %v", ready)
	}
	id := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", template(t)), 201)["id"].(string)
	h.expect(h.do("POST", "/hooks/"+id, order), 200)
	res := h.do("GET", "/metrics", nil)
	if res.status != 200 {
		t.Fatalf("metrics %d", res.status)
	}
	for _, want := range []string{`ferry_runs_total{flow="` + id + `",status="succeeded"} 1`, `ferry_webhook_requests_total{code="200",flow="` + id + `"} 1`,
		"ferry_step_duration_seconds_bucket", "ferry_queue_depth", "go_goroutines", `ferry_credentials_attention{status="reauthorize"} 0`} {
		if !strings.Contains(string(res.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	h.app.Store.Close()
	if r := h.do("GET", "/readyz", nil); r.status != 503 {
		t.Errorf("readyz with a closed store answered %d", r.status)
	}
}

func TestWebAppAndUnknownRoutes(t *testing.T) {
	h := sqliteHarness(t)
	page := h.do("GET", "/", nil)
	if page.status != 200 || !strings.Contains(string(page.body), "<title>Ferry</title>") {
		t.Fatalf("index: %d", page.status)
	}
	if deep := h.do("GET", "/runs/some-client-route", nil); deep.status != 200 || !strings.Contains(string(deep.body), "<title>Ferry</title>") {
		t.Errorf("client routes should fall back to the app: %d", deep.status)
	}
	for _, path := range []string{"/api/v1/nothing", "/api/v2/flows"} {
		e := h.expect(h.do("GET", path, nil), 404)["error"].(map[string]any)
		if e["code"] != "not_found" {
			t.Errorf("%s: %v", path, e)
		}
	}
	h.expect(h.do("GET", "/api/v1/flows/does-not-exist", nil), 404)
	h.expect(h.do("GET", "/api/v1/runs/does-not-exist", nil), 404)
	e := h.expect(h.do("POST", "/api/v1/flows/x/publish", `{"message": 5}`), 400)["error"].(map[string]any)
	if e["code"] != "invalid_json" {
		t.Errorf("bad publish body: %v", e)
	}
}

// TestReadyzChecksRedis: with Redis configured, readiness depends on it answering.
func TestReadyzChecksRedis(t *testing.T) {
	check := func(t *testing.T, redisURL string, want int) {
		cfg, err := app.FromEnv()
		if err != nil {
			t.Fatal(err)
		}
		cfg.DataDir, cfg.RedisURL, cfg.LogLevel = t.TempDir(), redisURL, "error"
		cfg.AllowedInternalHosts = "127.0.0.1" // the tests' stand-ins for providers listen there
		a, err := app.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		h := &harness{t: t, app: a}
		res := h.expect(h.do("GET", "/readyz", nil), want)
		if _, ok := res["checks"].(map[string]any)["redis"]; !ok {
			t.Errorf("readyz does not report Redis: %v", res)
		}
	}
	t.Run("unreachable", func(t *testing.T) { check(t, "redis://127.0.0.1:1/0", 503) })
	t.Run("live", func(t *testing.T) {
		url := testenv.Service(t, testenv.RedisURL, "the live Redis readiness check")
		check(t, url, 200)
	})
}
