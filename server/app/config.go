// Package app reads Ferry's configuration and wires the store, queue, runner, scheduler and HTTP server
// together, with one start and stop lifecycle for every command.
package app

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/server/api"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/scheduler"
)

// Config is Ferry's configuration. Each field has an environment variable and a command-line flag; flags win.
type Config struct {
	// Addr is where the HTTP server listens.
	Addr string
	// PublicURL is the address people open Ferry at (behind a proxy, the proxy's), for links that leave Ferry,
	// such as a dead letter's link to its run; empty: http:// and Addr.
	PublicURL string
	// DataDir holds the SQLite database and the generated secret key in embedded mode.
	DataDir string
	// DatabaseURL switches the store to Postgres when it is a postgres:// URL; empty means SQLite in DataDir.
	DatabaseURL string
	// RedisURL configures Redis (checked by /readyz; the distributed queue uses it).
	RedisURL string
	// SecretKey encrypts credentials; empty means generate one into DataDir (embedded mode).
	SecretKey string
	// Workers is how many runs this process executes at once.
	Workers int
	// PollMaxBacklog is how many queued runs make polling triggers wait before fetching another page (-1: never),
	// so a large backfill moves at the speed runs execute and live traffic is not queued behind it.
	PollMaxBacklog int
	// LogLevel is debug, info, warn or error; LogFormat is text or json.
	LogLevel  string
	LogFormat string
	// BodyLimit bounds request bodies in bytes, webhooks included.
	BodyLimit int
	// AdminEmail and AdminPassword create the first admin at start when Ferry has no user yet (the password is
	// read from the environment only).
	AdminEmail    string
	AdminPassword string
	// Role is what this process does: "all" (the default: HTTP, schedules and workers), "api" (HTTP, webhooks,
	// schedules; no workers) or "worker" (executes runs; serves only health and metrics). api and worker
	// processes share runs through Postgres and Redis.
	Role string
	// ShutdownTimeout is how long a stopping process lets in-flight requests and runs finish before it hands
	// unfinished runs back.
	ShutdownTimeout time.Duration
	// Lease is how long a worker's claim on a run lasts without renewal; a crashed worker's runs are taken over
	// by another worker this long after it stopped renewing.
	Lease time.Duration
	// RetentionDays and RetentionRuns bound the finished runs each flow keeps, by age and by count, unless the
	// flow sets its own retention; 0 disables that bound.
	RetentionDays int
	RetentionRuns int
	// TestRunsKept bounds the test runs each flow keeps (the editor's and the test webhook's), newest first.
	TestRunsKept int
	// SecureCookies marks session cookies Secure behind a TLS-terminating proxy.
	SecureCookies bool
	// TrustedProxies lists the reverse proxies (IP addresses and CIDR ranges, comma-separated) whose
	// X-Forwarded-For Ferry believes; empty trusts none, and the client is the connection's peer.
	TrustedProxies string
	// SessionIdleTimeout signs a browser out after this long without a request (0: only the 12-hour limit).
	SessionIdleTimeout time.Duration
	// SealRunData encrypts run data at rest (trigger payloads, checkpoints, answers, step inputs and outputs)
	// under the secret key.
	SealRunData bool
	// PersonalFields are the JSON keys whose values the API masks in run data (comma-separated); empty means the
	// built-in list (phones, e-mails, identity and bank card numbers).
	PersonalFields string
	// AllowedInternalHosts are the internal addresses, ranges and host names outgoing requests may reach
	// (comma-separated; see egress.AllowList): every other loopback, private, link-local or metadata address is
	// refused.
	AllowedInternalHosts string
	// LogOutput receives the log; nil means standard error. (Not a setting: for programs that embed Ferry, and
	// for the test that scans everything Ferry writes for secrets.)
	LogOutput io.Writer
	// PprofAddr, when set, serves Go's profiler there (keep it on a loopback address), so a capacity problem can be
	// explained with a CPU or heap profile of the running server.
	PprofAddr string
	// Pinned names, by setting flag, where a setting was given outside the defaults: its environment variable
	// (FERRY_RETENTION_DAYS) or flag (--retention-days). A pinned setting wins over the value an admin stores
	// in the settings screen, which shows it read-only. (Not a setting: filled by FromEnv and PinFlag.)
	Pinned map[string]string
}

// PinFlag records that the flag named name was given on the command line, so the settings screen shows that
// setting as set by the flag and read-only.
func (c *Config) PinFlag(name string) {
	if c.Pinned == nil {
		c.Pinned = map[string]string{}
	}
	c.Pinned[name] = "--" + name
}

// Process roles.
const (
	RoleAll    = "all"
	RoleAPI    = "api"
	RoleWorker = "worker"
)

// Setting describes one configuration value: its flag, its environment variable and its default. The same
// table drives flag registration, environment reading and the README's configuration table.
type Setting struct {
	Flag, Env, Default, Usage string
	Target                    func(*Config) any
}

// Settings lists every configuration value.
func Settings() []Setting {
	return []Setting{
		{"addr", "FERRY_ADDR", "127.0.0.1:8080", "address the HTTP server listens on", func(c *Config) any { return &c.Addr }},
		{"public-url", "FERRY_PUBLIC_URL", "", "the address people open Ferry at, such as https://ferry.example.com, for links in messages (a dead letter's link to its run); empty: http:// and the listen address", func(c *Config) any { return &c.PublicURL }},
		{"data-dir", "FERRY_DATA_DIR", "./ferry-data", "directory for the SQLite database and the generated secret key", func(c *Config) any { return &c.DataDir }},
		{"database-url", "FERRY_DATABASE_URL", "", "postgres://… to use Postgres; empty for SQLite in the data directory", func(c *Config) any { return &c.DatabaseURL }},
		{"redis-url", "FERRY_REDIS_URL", "", "redis://… for distributed mode; /readyz checks it answers", func(c *Config) any { return &c.RedisURL }},
		{"workers", "FERRY_WORKERS", strconv.Itoa(defaultWorkers()), "runs executed at once by this process", func(c *Config) any { return &c.Workers }},
		{"poll-max-backlog", "FERRY_POLL_MAX_BACKLOG", strconv.Itoa(scheduler.DefaultMaxBacklog), "queued runs at which polling triggers wait before fetching another page, so a backfill does not queue live traffic behind it (-1: never wait)", func(c *Config) any { return &c.PollMaxBacklog }},
		{"log-level", "FERRY_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config) any { return &c.LogLevel }},
		{"log-format", "FERRY_LOG_FORMAT", "text", "text or json", func(c *Config) any { return &c.LogFormat }},
		{"body-limit", "FERRY_BODY_LIMIT", strconv.Itoa(4 << 20), "largest request body accepted, in bytes", func(c *Config) any { return &c.BodyLimit }},
		{"admin-email", "FERRY_ADMIN_EMAIL", "", "with FERRY_ADMIN_PASSWORD (environment only): the first admin, created at start when there is no user", func(c *Config) any { return &c.AdminEmail }},
		{"role", "FERRY_ROLE", RoleAll, "all, api (HTTP, webhooks, schedules) or worker (executes runs); api and worker need Postgres and Redis", func(c *Config) any { return &c.Role }},
		{"shutdown-timeout", "FERRY_SHUTDOWN_TIMEOUT", "20s", "how long in-flight requests and runs may finish when stopping; unfinished runs are handed back", func(c *Config) any { return &c.ShutdownTimeout }},
		{"lease", "FERRY_LEASE", "30s", "how long a worker's claim on a run lasts unrenewed; a crashed worker's runs move on after it", func(c *Config) any { return &c.Lease }},
		{"retention-days", "FERRY_RETENTION_DAYS", "30", "finished runs older than this many days are deleted (a flow may set its own; 0: keep)", func(c *Config) any { return &c.RetentionDays }},
		{"retention-runs", "FERRY_RETENTION_RUNS", "0", "each flow keeps at most this many newest runs (a flow may set its own; 0: no cap)", func(c *Config) any { return &c.RetentionRuns }},
		{"test-runs-kept", "FERRY_TEST_RUNS_KEPT", strconv.Itoa(runner.DefaultTestRunsKept), "each flow keeps at most this many newest test runs (the editor's and the test webhook's); older ones are deleted as new ones arrive", func(c *Config) any { return &c.TestRunsKept }},
		{"secure-cookies", "FERRY_SECURE_COOKIES", "false", "mark session cookies Secure even over plain HTTP (set it behind a proxy that terminates TLS)", func(c *Config) any { return &c.SecureCookies }},
		{"trusted-proxies", "FERRY_TRUSTED_PROXIES", "", "reverse proxies (IP addresses and CIDR ranges, comma-separated) whose X-Forwarded-For names the client; empty: trust none", func(c *Config) any { return &c.TrustedProxies }},
		{"session-idle-timeout", "FERRY_SESSION_IDLE_TIMEOUT", "30m", "sign a browser out after this long without a request (0: only the 12-hour session limit)", func(c *Config) any { return &c.SessionIdleTimeout }},
		{"seal-run-data", "FERRY_SEAL_RUN_DATA", "true", "encrypt run data at rest under the secret key (trigger payloads, step inputs and outputs)", func(c *Config) any { return &c.SealRunData }},
		{"personal-fields", "FERRY_PERSONAL_FIELDS", "", "JSON keys masked as personal data in run data shown by the API (comma-separated; empty: phones, e-mails, ID and bank card numbers)", func(c *Config) any { return &c.PersonalFields }},
		{"allowed-internal-hosts", "FERRY_ALLOWED_INTERNAL_HOSTS", "", "internal hosts outgoing requests may reach: addresses, ranges and names, comma-separated (10.0.0.0/8, crm.lan, *.corp.example); every other loopback, private, link-local or metadata address is refused", func(c *Config) any { return &c.AllowedInternalHosts }},
		{"pprof-addr", "FERRY_PPROF_ADDR", "", "serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; empty: off", func(c *Config) any { return &c.PprofAddr }},
	}
}

// maxTestRunsKept is the largest bound on a flow's test runs: test runs carry whole documents and every step.
const maxTestRunsKept = 10_000

func defaultWorkers() int { return max(4, 4*runtime.GOMAXPROCS(0)) }

// FromEnv returns the defaults overridden by environment variables. FERRY_SECRET_KEY is read only from the
// environment, never from a flag, so it does not show in process listings.
func FromEnv() (Config, error) {
	var c Config
	for _, s := range Settings() {
		v := s.Default
		if env, ok := os.LookupEnv(s.Env); ok {
			v = env
			if c.Pinned == nil {
				c.Pinned = map[string]string{}
			}
			c.Pinned[s.Flag] = s.Env
		}
		if err := set(s.Target(&c), v); err != nil {
			return c, fmt.Errorf("%s: %w", s.Env, err)
		}
	}
	c.SecretKey = os.Getenv("FERRY_SECRET_KEY")
	c.AdminPassword = os.Getenv("FERRY_ADMIN_PASSWORD")
	return c, nil
}

func set(target any, v string) error {
	switch t := target.(type) {
	case *string:
		*t = v
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*t = n
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*t = b
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 20s or 1m", v)
		}
		*t = d
	}
	return nil
}

// Validate checks values that would otherwise fail later and less clearly.
func (c *Config) Validate() error {
	if c.Workers < 1 {
		return fmt.Errorf("workers must be at least 1")
	}
	if c.PollMaxBacklog < -1 || c.PollMaxBacklog == 0 {
		return fmt.Errorf("poll-max-backlog must be at least 1, or -1 to never wait")
	}
	if c.BodyLimit < 1024 {
		return fmt.Errorf("body-limit must be at least 1024 bytes")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") &&
		!strings.HasPrefix(c.DatabaseURL, "sqlite://") && !strings.HasPrefix(c.DatabaseURL, "file:") {
		return fmt.Errorf("database-url must start with postgres, postgresql, sqlite or file URLs")
	}
	switch c.Role {
	case RoleAll:
	case RoleAPI, RoleWorker:
		if !strings.HasPrefix(c.DatabaseURL, "postgres") || c.RedisURL == "" {
			return fmt.Errorf("role %s shares runs with other processes: it needs a postgres:// database-url and a redis-url", c.Role)
		}
	default:
		return fmt.Errorf("role must be all, api or worker")
	}
	if c.AdminEmail != "" && c.AdminPassword == "" {
		return fmt.Errorf("FERRY_ADMIN_EMAIL needs FERRY_ADMIN_PASSWORD in the environment")
	}
	if c.RetentionDays < 0 || c.RetentionRuns < 0 {
		return fmt.Errorf("retention-days and retention-runs must not be negative")
	}
	if c.TestRunsKept < 1 || c.TestRunsKept > maxTestRunsKept {
		return fmt.Errorf("test-runs-kept must be between 1 and %d", maxTestRunsKept)
	}
	if c.Lease != 0 && c.Lease < time.Second {
		return fmt.Errorf("lease must be at least 1s")
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("shutdown-timeout must not be negative")
	}
	if c.SessionIdleTimeout < 0 {
		return fmt.Errorf("session-idle-timeout must not be negative")
	}
	if _, err := c.publicURL(); err != nil {
		return err
	}
	if _, err := api.ParseTrustedProxies(splitList(c.TrustedProxies)); err != nil {
		return fmt.Errorf("trusted-proxies: %w", err)
	}
	if _, err := c.level(); err != nil {
		return err
	}
	if _, err := egress.ParseAllowList(splitList(c.AllowedInternalHosts)); err != nil {
		return fmt.Errorf("allowed-internal-hosts: %w", err)
	}
	return nil
}

// publicURL is PublicURL checked, or the listen address as a URL, with a wildcard host read as loopback.
func (c *Config) publicURL() (string, error) {
	if c.PublicURL == "" {
		host, port, err := net.SplitHostPort(c.Addr)
		if err != nil {
			return "", fmt.Errorf("addr %q is not host:port: %w", c.Addr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		return "http://" + net.JoinHostPort(host, port), nil
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("public-url %q must be an http:// or https:// address such as https://ferry.example.com", c.PublicURL)
	}
	return strings.TrimRight(c.PublicURL, "/"), nil
}

func (c *Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return l, fmt.Errorf("log-level must be debug, info, warn or error")
	}
	return l, nil
}

// Logger builds the process logger.
func (c *Config) Logger() *slog.Logger {
	l, _ := c.level()
	return c.loggerAt(l)
}

// loggerAt builds the process logger at level, which may be a *slog.LevelVar the settings change at runtime.
func (c *Config) loggerAt(level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var out io.Writer = os.Stderr
	if c.LogOutput != nil {
		out = c.LogOutput
	}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}

// Embedded reports whether this configuration runs without outside servers.
func (c *Config) Embedded() bool { return c.DatabaseURL == "" && c.RedisURL == "" }
