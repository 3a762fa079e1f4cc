package app

import (
	"strings"
	"testing"
)

// TestSettingDefinitionsHideSecretsAndPin: URLs lose their passwords, the secret key and admin password are not
// settings at all, and a value from the environment or a flag is pinned read-only with its origin.
func TestSettingDefinitionsHideSecretsAndPin(t *testing.T) {
	t.Setenv("FERRY_RETENTION_DAYS", "14")
	t.Setenv("FERRY_DATABASE_URL", "postgres://ferry:hunter2-secret@db:5432/ferry?sslmode=disable")
	t.Setenv("FERRY_REDIS_URL", "redis://:redis-secret@cache:6379/0")
	t.Setenv("FERRY_SECRET_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	cfg, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.PinFlag("log-level")
	defs, err := settingDefinitions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]string{}
	for _, d := range defs {
		byKey[d.Key] = d.SetBy
		for _, v := range []any{d.Value, d.Default} {
			if s, ok := v.(string); ok && (strings.Contains(s, "secret") || strings.Contains(s, "MDEy")) {
				t.Fatalf("%s shows a secret: %q", d.Key, s)
			}
		}
		if d.Key == "database-url" && d.Value != "postgres://ferry:xxxxx@db:5432/ferry?sslmode=disable" {
			t.Fatalf("database-url = %v", d.Value)
		}
	}
	for _, k := range []string{"secret-key", "admin-password"} {
		if _, ok := byKey[k]; ok {
			t.Fatalf("%s is listed", k)
		}
	}
	if byKey["retention-days"] != "FERRY_RETENTION_DAYS" || byKey["log-level"] != "--log-level" || byKey["retention-runs"] != "" {
		t.Fatalf("pins = %v", byKey)
	}
	if len(defs) != len(settingGroups) {
		t.Fatalf("%d settings listed, %d grouped: every grouped setting must exist", len(defs), len(settingGroups))
	}
}
