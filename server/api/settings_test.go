package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
)

// setting finds key in a settings document.
func setting(t *testing.T, doc map[string]any, key string) map[string]any {
	t.Helper()
	for _, g := range doc["groups"].([]any) {
		for _, s := range g.(map[string]any)["settings"].([]any) {
			if m := s.(map[string]any); m["key"] == key {
				return m
			}
		}
	}
	t.Fatalf("setting %s not in %v", key, doc)
	return nil
}

func settingError(t *testing.T, r response) (string, string) {
	t.Helper()
	e := r.json(t)["error"].(map[string]any)
	key, _ := e["details"].(map[string]any)["key"].(string)
	return e["code"].(string), key
}

// TestSettingsReadChangeReset: every setting is listed with its default and source, and none of the secrets;
// a change is validated all or nothing, stored, audited with before and after, and a reset returns to the
// default.
func TestSettingsReadChangeReset(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		res := h.do("GET", "/api/v1/settings", nil)
		doc := h.expect(res, 200)
		var groups []string
		for _, g := range doc["groups"].([]any) {
			groups = append(groups, g.(map[string]any)["id"].(string))
		}
		if strings.Join(groups, ",") != "retention,protection,runs,system" {
			t.Fatalf("groups = %v", groups)
		}
		days := setting(t, doc, "retention-days")
		if days["value"] != float64(30) || days["default"] != float64(30) || days["source"] != "default" || days["editable"] != true ||
			days["env"] != "FERRY_RETENTION_DAYS" || days["kind"] != "integer" {
			t.Fatalf("retention-days = %v", days)
		}
		fields := setting(t, doc, "personal-fields")
		if fields["editable"] != true || fields["kind"] != "list" || !strings.Contains(string(mustJSON(t, fields["default"])), `"phone"`) {
			t.Fatalf("personal-fields = %v", fields)
		}
		for _, key := range []string{"data-dir", "seal-run-data", "secure-cookies", "lease", "shutdown-timeout", "workers", "role"} {
			if s := setting(t, doc, key); s["editable"] != false {
				t.Fatalf("%s is editable: %v", key, s)
			}
		}
		facts := map[string]any{}
		for _, f := range doc["facts"].([]any) {
			facts[f.(map[string]any)["key"].(string)] = f.(map[string]any)["value"]
		}
		if facts["database"] != h.app.Store.Dialect() || facts["queue"] != "memory" || facts["version"] == nil || facts["role"] != "all" {
			t.Fatalf("facts = %v", facts)
		}
		body := string(res.body)
		for _, secret := range []string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", `"secret-key"`, `"admin-password"`} {
			if strings.Contains(body, secret) {
				t.Fatalf("settings show %q: %s", secret, body)
			}
		}

		// Invalid values, unknown and read-only keys are refused with the key, and change nothing.
		for _, c := range []struct {
			body      string
			code, key string
		}{
			{`{"retention-days":-1}`, "setting_invalid", "retention-days"},
			{`{"retention-days":"7"}`, "setting_invalid", "retention-days"},
			{`{"retention-days":1.5}`, "setting_invalid", "retention-days"},
			{`{"retention-runs":100000001}`, "setting_invalid", "retention-runs"},
			{`{"personal-fields":[]}`, "setting_invalid", "personal-fields"},
			{`{"personal-fields":["buyer_nick","--"]}`, "setting_invalid", "personal-fields"},
			{`{"personal-fields":"phone"}`, "setting_invalid", "personal-fields"},
			{`{"log-level":"loud"}`, "setting_invalid", "log-level"},
			{`{"retention-days":7,"no-such-setting":1}`, "setting_unknown", "no-such-setting"},
			{`{"retention-days":7,"data-dir":"/tmp/elsewhere"}`, "setting_read_only", "data-dir"},
			{`{"retention-days":7,"retention-runs":-3}`, "setting_invalid", "retention-runs"},
		} {
			r := h.do("PUT", "/api/v1/settings", c.body)
			if r.status != 400 {
				t.Fatalf("%s: %d %s", c.body, r.status, r.body)
			}
			if code, key := settingError(t, r); code != c.code || key != c.key {
				t.Fatalf("%s: %s %s, want %s %s", c.body, code, key, c.code, c.key)
			}
		}
		h.expect(h.do("PUT", "/api/v1/settings", `{}`), 400)
		h.expect(h.do("PUT", "/api/v1/settings", `[1]`), 400)
		if s := setting(t, h.expect(h.do("GET", "/api/v1/settings", nil), 200), "retention-days"); s["value"] != float64(30) || s["source"] != "default" {
			t.Fatalf("a refused change changed retention-days: %v", s)
		}
		if list, _ := h.app.Store.ListSettings(context.Background()); len(list) != 0 {
			t.Fatalf("a refused change stored %v", list)
		}

		// A valid change.
		doc = h.expect(h.do("PUT", "/api/v1/settings", `{"retention-days":7,"retention-runs":1000,"personal-fields":[" buyer_nick ","phone","phone"],"log-level":"warn"}`), 200)
		days = setting(t, doc, "retention-days")
		if days["value"] != float64(7) || days["default"] != float64(30) || days["source"] != "stored" || days["updatedBy"] != "admin@example.com" {
			t.Fatalf("after the change retention-days = %v", days)
		}
		if f := setting(t, doc, "personal-fields"); string(mustJSON(t, f["value"])) != `["buyer_nick","phone"]` {
			t.Fatalf("personal-fields = %v", f["value"])
		}
		if len(doc["changes"].([]any)) != 4 {
			t.Fatalf("changes = %v", doc["changes"])
		}
		if v := h.app.Settings.Values(); v.Int("retention-runs") != 1000 || v.String("log-level") != "warn" {
			t.Fatalf("not applied in the process: %v", v)
		}
		events := h.expect(h.do("GET", "/api/v1/audit?action=settings.update", nil), 200)["events"].([]any)
		if len(events) != 1 {
			t.Fatalf("%d settings.update events, want 1", len(events))
		}
		detail := string(mustJSON(t, events[0].(map[string]any)["detail"]))
		if !strings.Contains(detail, `{"after":7,"before":30,"key":"retention-days"}`) ||
			!strings.Contains(detail, `{"after":["buyer_nick","phone"],"before":["phone"`) {
			t.Fatalf("audit detail = %s", detail)
		}

		// Reset: null in a change, or DELETE.
		doc = h.expect(h.do("PUT", "/api/v1/settings", `{"retention-days":null}`), 200)
		if s := setting(t, doc, "retention-days"); s["value"] != float64(30) || s["source"] != "default" || s["updatedBy"] != nil {
			t.Fatalf("after reset retention-days = %v", s)
		}
		doc = h.expect(h.do("DELETE", "/api/v1/settings/personal-fields", nil), 200)
		if s := setting(t, doc, "personal-fields"); s["source"] != "default" || !strings.Contains(string(mustJSON(t, s["value"])), `"email"`) {
			t.Fatalf("after reset personal-fields = %v", s)
		}
		if r := h.do("DELETE", "/api/v1/settings/no-such-setting", nil); r.status != 404 {
			t.Fatalf("reset of an unknown setting: %d %s", r.status, r.body)
		}
		if r := h.do("DELETE", "/api/v1/settings/workers", nil); r.status != 400 {
			t.Fatalf("reset of a read-only setting: %d %s", r.status, r.body)
		}
		if n := len(h.expect(h.do("GET", "/api/v1/audit?action=settings.update", nil), 200)["events"].([]any)); n != 3 {
			t.Fatalf("%d settings.update events, want 3", n)
		}

		// Only admins.
		for _, r := range []auth.Role{auth.RoleEditor, auth.RoleOperator, auth.RoleViewer} {
			tok := h.userToken(string(r)+"@example.com", r)
			h.expect(h.do("GET", "/api/v1/settings", nil, "Authorization", "Bearer "+tok), 403)
			h.expect(h.do("PUT", "/api/v1/settings", `{"retention-days":1}`, "Authorization", "Bearer "+tok), 403)
		}
	})
}

// TestSettingsFromEnvironmentAreReadOnly: a setting given by environment variable wins over a stored value and
// cannot be changed through the API.
func TestSettingsFromEnvironmentAreReadOnly(t *testing.T) {
	t.Setenv("FERRY_RETENTION_DAYS", "14")
	h := sqliteHarness(t)
	s := setting(t, h.expect(h.do("GET", "/api/v1/settings", nil), 200), "retention-days")
	if s["value"] != float64(14) || s["source"] != "environment" || s["setBy"] != "FERRY_RETENTION_DAYS" || s["editable"] != false {
		t.Fatalf("retention-days = %v", s)
	}
	r := h.do("PUT", "/api/v1/settings", `{"retention-days":3}`)
	if code, key := settingError(t, r); r.status != 400 || code != "setting_read_only" || key != "retention-days" ||
		!strings.Contains(r.json(t)["error"].(map[string]any)["message"].(string), "FERRY_RETENTION_DAYS") {
		t.Fatalf("change of a setting from the environment: %d %s", r.status, r.body)
	}
	// A value stored before the variable was set (or by a process without it) does not win.
	ctx := context.Background()
	if err := h.app.Store.UpdateSettings(ctx, map[string]json.RawMessage{"retention-days": json.RawMessage("3")}, nil, "x", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := h.app.Settings.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if d := h.app.Settings.Values().Int("retention-days"); d != 14 {
		t.Fatalf("retention-days = %d, want the environment's 14", d)
	}
}

// TestPersonalFieldsApplyLive: changing the personal-data fields changes how an existing run's data is masked,
// at once in this process and, through the settings table, in another process on the same database.
func TestPersonalFieldsApplyLive(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			t.Run(b.Name, func(t *testing.T) {
				h := newHarness(t, b)
				other := sameFleet(t, b, h) // a second process of the fleet, sharing the database
				flow := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", `{"schema":1,"name":"pii","nodes":[
				  {"id":"hook","type":"core.webhook","params":{"respond":"respondNode"}},
				  {"id":"answer","type":"core.respond","params":{"status":200,"body":"{{ trigger.body }}"}}],
				  "edges":[{"source":"hook","target":"answer"}]}`), 201)
				res := h.do("POST", "/hooks/"+flow["id"].(string), `{"order_id":"A-1","buyer_nick":"ada_l","customer":{"phone":"13812345678"}}`)
				h.expect(res, 200)
				runID := res.header.Get("X-Ferry-Run-Id")
				// shows reports whether the run's data, as h's API answers it, holds s in clear.
				shows := func(h *harness, s string) bool {
					return strings.Contains(string(mustJSON(t, h.expect(h.do("GET", "/api/v1/runs/"+runID, nil), 200))), s)
				}
				if shows(h, "13812345678") || !shows(h, "ada_l") {
					t.Fatal("with the default fields the phone should be masked and the nickname shown")
				}

				h.expect(h.do("PUT", "/api/v1/settings", `{"personal-fields":["buyer_nick"]}`), 200)
				if !shows(h, "13812345678") || shows(h, "ada_l") {
					t.Fatalf("after the change the nickname should be masked and the phone shown: %s", h.do("GET", "/api/v1/runs/"+runID, nil).body)
				}
				// The other process picks the change up on its next read of the settings table.
				if !shows(other, "ada_l") {
					t.Fatal("the other process changed before reading the settings")
				}
				if err := other.app.Settings.Load(context.Background()); err != nil {
					t.Fatal(err)
				}
				if !shows(other, "13812345678") || shows(other, "ada_l") {
					t.Fatal("the other process did not apply the stored fields")
				}
				h.expect(h.do("DELETE", "/api/v1/settings/personal-fields", nil), 200)
				if shows(h, "13812345678") || !shows(h, "ada_l") {
					t.Fatal("after the reset the default fields should apply again")
				}
			})
		})
	}
}

// TestRetentionSettingReachesThePruner: the pruner reads the retention defaults at the start of every pass, so a
// change through the API (made in any process) decides what the next pass deletes.
func TestRetentionSettingReachesThePruner(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			t.Run(b.Name, func(t *testing.T) {
				h := newHarness(t, b)
				other := sameFleet(t, b, h)
				ctx := context.Background()
				flow := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", `{"schema":1,"name":"keep","nodes":[{"id":"in","type":"core.manual"}],"edges":[]}`), 201)
				var ids []string
				for range 3 {
					id, _ := uuid.NewV7()
					r := &store.Run{ID: id.String(), FlowID: flow["id"].(string), FlowVersion: 1, Mode: "live", Status: store.RunSucceeded,
						TriggerNode: "in", Attempt: 1, CreatedAt: time.Now()}
					if err := h.app.Store.CreateRun(ctx, r, nil); err != nil {
						t.Fatal(err)
					}
					ids = append(ids, r.ID)
				}
				tenDaysOn := time.Now().Add(10 * 24 * time.Hour)
				// The default keeps runs 30 days: ten days on, nothing goes.
				if n, err := other.app.Pruner.Once(ctx, tenDaysOn); err != nil || n != 0 {
					t.Fatalf("with the default retention pruned %d (%v), want 0", n, err)
				}
				// Keep at most 2 runs: the other process's next pass deletes the oldest.
				h.expect(h.do("PUT", "/api/v1/settings", `{"retention-runs":2}`), 200)
				if n, err := other.app.Pruner.Once(ctx, time.Now()); err != nil || n != 1 {
					t.Fatalf("after retention-runs=2 pruned %d (%v), want 1", n, err)
				}
				if _, err := h.app.Store.GetRun(ctx, ids[0]); err == nil {
					t.Fatal("the oldest run was kept")
				}
				// Keep 7 days: ten days on, the rest go.
				h.expect(h.do("PUT", "/api/v1/settings", `{"retention-days":7}`), 200)
				if n, err := other.app.Pruner.Once(ctx, tenDaysOn); err != nil || n != 2 {
					t.Fatalf("after retention-days=7 pruned %d (%v), want 2", n, err)
				}
			})
		})
	}
}

// TestSettingsReachOtherProcessesByPolling: a process that does not prune still picks a change up within its
// polling interval.
func TestSettingsReachOtherProcessesByPolling(t *testing.T) {
	b := storetest.Backends(t)[0](t)
	h := newHarness(t, b)
	other := sameFleet(t, b, h)
	other.app.Settings.Interval = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { other.app.Settings.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	h.expect(h.do("PUT", "/api/v1/settings", `{"log-level":"debug","retention-days":90}`), 200)
	h.eventually("the other process to read the change", func() bool {
		v := other.app.Settings.Values()
		return v.String("log-level") == "debug" && v.Int("retention-days") == 90
	})
}

// sameFleet starts another Ferry process on h's database (as another API or worker process of a fleet would),
// calling with h's admin token.
func sameFleet(t *testing.T, b storetest.Backend, h *harness) *harness {
	t.Helper()
	cfg, err := app.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.DatabaseURL, cfg.LogLevel, cfg.Workers = b.DataDir, b.URL, "error", 1
	cfg.SecretKey = h.app.Config.SecretKey
	cfg.AllowedInternalHosts = "127.0.0.1" // the tests' stand-ins for providers listen there
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &harness{t: t, app: a, token: h.token}
}
