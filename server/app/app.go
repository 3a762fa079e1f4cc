package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/redis/go-redis/v9"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/server/api"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/limits"
	"github.com/ferry-hq/ferry/server/metrics"
	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/queue/memq"
	"github.com/ferry-hq/ferry/server/queue/redisq"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/scheduler"
	"github.com/ferry-hq/ferry/server/settings"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
	"github.com/ferry-hq/ferry/web"

	_ "github.com/ferry-hq/ferry/nodes/all" // every node type
)

// Version is the build version, set with -ldflags "-X github.com/ferry-hq/ferry/server/app.Version=…".
var Version = "dev"

// App is a wired Ferry process.
type App struct {
	Config      Config
	Logger      *slog.Logger
	Store       store.Store
	Queue       queue.Queue
	Runner      *runner.Runner
	Credentials *vault.Credentials
	// Egress is the process's one way out: every outgoing connection goes through it (nodes/egress).
	Egress *egress.Guard
	Auth   *auth.Service
	Cron   *scheduler.Cron
	// Poller runs the polling triggers of published flows.
	Poller  *scheduler.Poller
	Sweeper *scheduler.Sweeper
	Pruner  *scheduler.Pruner
	// Settings are the settings an admin changes at runtime, applied to the pruner, the masker and the log level.
	Settings *settings.Runtime
	API      *api.API
	HTTP     *fiber.App
	redis    *redis.Client
}

// New opens the store (applying migrations), loads the secret key and wires everything. Close releases it.
func New(ctx context.Context, cfg Config) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The level is a variable so that the log-level setting changes it without a restart.
	level := new(slog.LevelVar)
	if l, err := cfg.level(); err == nil {
		level.Set(l)
	}
	logger := cfg.loggerAt(level)
	// Libraries that log through the default logger (migrations, GORM) follow the configured level and format.
	slog.SetDefault(logger)
	v, err := secretKey(cfg)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	a := &App{Config: cfg, Logger: logger, Store: st, Queue: memq.New()}
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("FERRY_REDIS_URL: %w", err)
		}
		// Readiness must answer promptly when Redis is down, not after a long series of dial retries.
		opts.DialerRetries, opts.DialTimeout = 1, 2*time.Second
		a.redis = redis.NewClient(opts)
		lease := cfg.Lease
		if lease <= 0 {
			lease = 30 * time.Second
		}
		// An entry a worker took but never acknowledged (the worker died) goes to another worker after twice the
		// run lease: by then the store lets the run be claimed again.
		q, err := redisq.New(redisq.Options{Client: a.redis, VisibilityTimeout: 2 * lease, Logger: logger})
		if err != nil {
			st.Close()
			a.redis.Close()
			return nil, err
		}
		a.Queue = q
	}
	if ss, ok := st.(store.SealerSetter); ok && cfg.SealRunData {
		ss.SetSealer(v)
	}
	allow, err := egress.ParseAllowList(splitList(cfg.AllowedInternalHosts))
	if err != nil {
		a.closeEarly()
		return nil, fmt.Errorf("allowed-internal-hosts: %w", err)
	}
	a.Egress = egress.New(egress.Options{Allow: allow})
	// OAuth2 token requests and connection tests answer an admin waiting in the browser.
	vaultHTTP := &http.Client{Transport: a.Egress.Transport(), Timeout: 30 * time.Second}
	a.Credentials = &vault.Credentials{Store: st, Vault: v, Logger: logger, HTTP: vaultHTTP}
	// A wrong or missing key is reported now, naming every credential it affects, not by runs failing one by one.
	if err := a.Credentials.Check(ctx); err != nil {
		a.closeEarly()
		return nil, err
	}
	a.Auth = auth.NewService(st, logger)
	a.Auth.IdleTimeout = cfg.SessionIdleTimeout
	if err := a.Auth.Bootstrap(ctx, cfg.AdminEmail, cfg.AdminPassword); err != nil {
		a.closeEarly()
		return nil, err
	}
	m := metrics.New(a.Queue.Depth)
	m.WatchCredentials(func(ctx context.Context) (map[string]int, error) {
		list, err := a.Credentials.List(ctx)
		if err != nil {
			return nil, err
		}
		counts := map[string]int{vault.StatusReauthorize: 0, vault.StatusFailing: 0}
		for _, c := range list {
			if c.Status != vault.StatusOK {
				counts[c.Status]++
			}
		}
		return counts, nil
	})
	m.WatchReviews(func(ctx context.Context) (int64, error) { return st.CountWaits(ctx, store.WaitOpen) })
	// Circuit breakers are per process: each worker notices a failing endpoint within a few calls of its own.
	breakers := nodes.NewBreakers(nodes.BreakerSettings{
		OnChange: func(endpoint string, from, to nodes.BreakerState) {
			logger.Warn("circuit changed", "endpoint", endpoint, "from", from.String(), "to", to.String())
		},
	})
	m.Registry.MustRegister(limits.NewBreakerCollector(breakers))
	eng := &engine.Engine{
		HTTP:            a.Egress.Client(),
		Credentials:     a.Credentials.Resolve,
		RenewCredential: a.Credentials.Renew,
		Logger:          logger,
		OnStep:          m.ObserveStep,
		OnUsage:         m.ObserveUsage,
		Breakers:        breakers,
		// Rotations live in the store, the one place every worker of the fleet shares.
		Rotations: nodes.RotationFunc(st.AdvanceRotation),
		// Provider quotas hold across the fleet only if every process draws from one bucket: in Redis when it is
		// shared, in memory when the process is alone.
		Limiter: limits.NewMemory(),
		LimitFor: limits.CredentialTypeLimits(func(ctx context.Context, id string) (string, error) {
			c, err := st.GetCredential(ctx, id)
			if err != nil {
				return "", err
			}
			return c.Type, nil
		}),
	}
	if a.redis != nil {
		eng.Limiter = limits.NewRedis(a.redis, "")
	}
	a.Runner = runner.New(st, a.Queue, eng, m, logger)
	if cfg.Lease > 0 {
		a.Runner.Lease = cfg.Lease
	}
	a.Runner.SetTestRunsKept(cfg.TestRunsKept)
	a.Runner.PublicURL, _ = cfg.publicURL() // checked by Validate
	a.Cron = scheduler.NewCron(a.Runner, logger)
	a.Poller = &scheduler.Poller{Runner: a.Runner, Logger: logger, MaxBacklog: cfg.PollMaxBacklog}
	a.Sweeper = &scheduler.Sweeper{Runner: a.Runner}
	a.Pruner = &scheduler.Pruner{Runner: a.Runner, Days: cfg.RetentionDays, Runs: cfg.RetentionRuns}
	if a.redis != nil {
		leader := &scheduler.RedisLeader{Client: a.redis, Key: "ferry:sweeper:leader", Owner: a.Runner.Owner}
		a.Sweeper.Leader, a.Pruner.Leader = leader, leader
		// Polling has a leader of its own, so it may land on another API process than the sweeper.
		a.Poller.Leader = &scheduler.RedisLeader{Client: a.redis, Key: "ferry:poller:leader", Owner: a.Runner.Owner}
	}
	masker := auth.NewMasker(splitList(cfg.PersonalFields))
	if err := a.wireSettings(ctx, masker, level); err != nil {
		a.closeEarly()
		return nil, err
	}
	a.API = &api.API{Store: st, Runner: a.Runner, Metrics: m, Logger: logger, Version: Version,
		FlowsChanged: func() { a.Cron.Changed(); a.Poller.Changed() }, BodyLimit: cfg.BodyLimit, Credentials: a.Credentials, Web: web.Files(), Auth: a.Auth,
		Masker: masker, SecureCookies: cfg.SecureCookies, TrustedProxies: splitList(cfg.TrustedProxies), Settings: a.Settings,
		SystemOnly: cfg.Role == RoleWorker}
	if a.redis != nil {
		a.API.Ready = map[string]func(context.Context) error{
			"redis": func(ctx context.Context) error { return a.redis.Ping(ctx).Err() },
			"queue": a.Queue.Health,
		}
	}
	a.HTTP = a.API.App()
	return a, nil
}

// secretKey returns FERRY_SECRET_KEY, or in embedded mode the key generated into the data directory.
// The keyring: FERRY_SECRET_KEY (in embedded mode, the key generated into the data directory) as the current
// key, and FERRY_SECRET_KEY_PREVIOUS as keys that still open what they sealed.
func secretKey(cfg Config) (*vault.Vault, error) {
	return vault.Load(vault.KeySource{Current: cfg.SecretKey, Previous: os.Getenv(vault.PreviousKeysEnv),
		DataDir: cfg.DataDir, Shared: cfg.DatabaseURL != ""})
}

// Run serves HTTP and executes runs until ctx ends, then shuts down gracefully: the listener stops first,
// in-flight requests get up to 10 seconds, and workers hand unfinished runs back.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Config.Addr, err)
	}
	return a.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (tests listen on port 0). What runs depends on the role: HTTP
// (the whole API, or only health and metrics for a worker), schedules (api, all), workers (worker, all), and the
// sweeper everywhere (one process at a time leads it when Redis is shared).
//
// When ctx ends the process stops in order: the listener closes and in-flight requests get ShutdownTimeout;
// workers stop receiving and their runs get the same time to finish, after which a run still executing is
// handed back at its next step boundary.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	role := a.Config.Role
	if role == "" {
		role = RoleAll
	}
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if role != RoleAPI {
		a.Runner.ShutdownGrace = a.Config.ShutdownTimeout
		wg.Go(func() { a.Runner.Work(bg, a.Config.Workers) })
	}
	wg.Go(func() { a.Sweeper.Run(bg) })
	wg.Go(func() { a.Pruner.Run(bg) })
	wg.Go(func() { a.Settings.Run(bg) })
	if role != RoleWorker {
		wg.Go(func() { a.Cron.Run(bg) })
		wg.Go(func() { a.Poller.Run(bg) })
	}
	if a.Config.PprofAddr != "" {
		a.servePprof(bg)
	}

	serveErr := make(chan error, 1)
	go func() {
		serveErr <- a.HTTP.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}()
	a.Logger.Info("ferry started", "addr", ln.Addr().String(), "role", role, "store", a.Store.Dialect(),
		"queue", a.queueKind(), "embedded", a.Config.Embedded(), "workers", a.Config.Workers, "version", Version)
	var result error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		result = err
	}
	a.Logger.Info("ferry stopping", "timeout", a.Config.ShutdownTimeout)
	cancel() // workers stop receiving; their runs have ShutdownTimeout to finish
	shutdownCtx, stop := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout+time.Second)
	defer stop()
	if err := a.HTTP.ShutdownWithContext(shutdownCtx); err != nil {
		a.Logger.Warn("http shutdown", "err", err)
	}
	wg.Wait()
	a.Logger.Info("ferry stopped")
	return result
}

func (a *App) queueKind() string {
	if a.redis != nil {
		return "redis"
	}
	return "memory"
}

// servePprof serves the profiler on its own listener until ctx ends; a failure to listen is logged, not fatal.
func (a *App) servePprof(ctx context.Context) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	srv := &http.Server{Addr: a.Config.PprofAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Logger.Warn("profiler", "addr", a.Config.PprofAddr, "err", err)
		}
	}()
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// closeEarly releases what New opened before it failed.
func (a *App) closeEarly() {
	if a.redis != nil {
		_ = a.redis.Close()
	}
	_ = a.Store.Close()
}

// Close releases the store and Redis connections.
func (a *App) Close() error {
	_ = a.Queue.Close()
	if a.redis != nil {
		_ = a.redis.Close()
	}
	return a.Store.Close()
}

// Fatal prints err and exits; for commands.
func Fatal(err error) {
	fmt.Fprintln(os.Stderr, "ferry:", err)
	os.Exit(1)
}
