package app

import (
	"strings"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	t.Setenv("FERRY_ADDR", "0.0.0.0:9090")
	t.Setenv("FERRY_WORKERS", "12")
	t.Setenv("FERRY_DATABASE_URL", "postgres://u@h/db")
	t.Setenv("FERRY_SECRET_KEY", "k")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9090" || c.Workers != 12 || c.DatabaseURL != "postgres://u@h/db" || c.SecretKey != "k" || c.DataDir != "./ferry-data" {
		t.Errorf("%+v", c)
	}
	if c.Embedded() {
		t.Error("a Postgres URL is not embedded mode")
	}
	if c.Role != RoleAll || c.ShutdownTimeout != 20*time.Second {
		t.Errorf("role %q, shutdown timeout %s: want the defaults", c.Role, c.ShutdownTimeout)
	}
	t.Setenv("FERRY_SHUTDOWN_TIMEOUT", "soon")
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "FERRY_SHUTDOWN_TIMEOUT") {
		t.Errorf("bad duration: %v", err)
	}
	t.Setenv("FERRY_SHUTDOWN_TIMEOUT", "5s")
	t.Setenv("FERRY_WORKERS", "many")
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "FERRY_WORKERS") {
		t.Errorf("bad number: %v", err)
	}
}

func TestValidate(t *testing.T) {
	base, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	proxied := base
	proxied.TrustedProxies = " 10.0.0.0/8, 192.0.2.10 ,2001:db8::/32,"
	if err := proxied.Validate(); err != nil {
		t.Fatalf("trusted proxies refused: %v", err)
	}
	for name, change := range map[string]func(*Config){
		"workers":   func(c *Config) { c.Workers = 0 },
		"body":      func(c *Config) { c.BodyLimit = 10 },
		"database":  func(c *Config) { c.DatabaseURL = "mysql://x" },
		"log level": func(c *Config) { c.LogLevel = "loud" },
		"role":      func(c *Config) { c.Role = "boss" },
		// A worker alone on SQLite and an in-process queue would never see the API's runs.
		"worker embedded": func(c *Config) { c.Role = RoleWorker },
		"api without redis": func(c *Config) {
			c.Role, c.DatabaseURL = RoleAPI, "postgres://u@h/db"
		},
		"shutdown":            func(c *Config) { c.ShutdownTimeout = -time.Second },
		"idle timeout":        func(c *Config) { c.SessionIdleTimeout = -time.Minute },
		"proxy not an IP":     func(c *Config) { c.TrustedProxies = "10.0.0.1, proxy.internal" },
		"proxy range invalid": func(c *Config) { c.TrustedProxies = "10.0.0.0/33" },
	} {
		c := base
		change(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPostgresNeedsASharedKey(t *testing.T) {
	c, _ := FromEnv()
	c.DatabaseURL, c.SecretKey = "postgres://u@h/db", ""
	if _, err := secretKey(c); err == nil || !strings.Contains(err.Error(), "FERRY_SECRET_KEY") {
		t.Errorf("want a clear error, got %v", err)
	}
	c.SecretKey = "short"
	if _, err := secretKey(c); err == nil {
		t.Error("a malformed key was accepted")
	}
}

func TestWorkerRoleWithSharedServers(t *testing.T) {
	c, _ := FromEnv()
	c.Role, c.DatabaseURL, c.RedisURL = RoleWorker, "postgres://u@h/db", "redis://127.0.0.1:6379/0"
	if err := c.Validate(); err != nil {
		t.Fatalf("worker with Postgres and Redis refused: %v", err)
	}
}

func TestPublicURL(t *testing.T) {
	for _, c := range []struct{ addr, public, want string }{
		{"127.0.0.1:8080", "", "http://127.0.0.1:8080"},
		{"0.0.0.0:8080", "", "http://127.0.0.1:8080"},
		{":9000", "", "http://127.0.0.1:9000"},
		{"127.0.0.1:8080", "https://ferry.example.com/", "https://ferry.example.com"},
		{"127.0.0.1:8080", "https://example.com/ferry", "https://example.com/ferry"},
	} {
		cfg := Config{Addr: c.addr, PublicURL: c.public}
		if got, err := cfg.publicURL(); err != nil || got != c.want {
			t.Errorf("publicURL(%q, %q) = %q, %v; want %q", c.addr, c.public, got, err, c.want)
		}
	}
	for _, bad := range []string{"ferry.example.com", "ftp://ferry.example.com", "https://", "https://x.example/?a=1"} {
		cfg := Config{Addr: "127.0.0.1:8080", PublicURL: bad}
		if _, err := cfg.publicURL(); err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
}
