package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/settings"
)

// Settings an admin may change at runtime. Each applies live: the pruner reads its retention defaults at the
// start of every pass, the runner its bound on test runs, the masker swaps its field list, the log level is a
// shared level variable. The others
// are fixed when the process starts (listen address, database, workers, body limit, lease, cookies, sealing)
// or are secrets, and are shown read-only or not at all.
const (
	settingRetentionDays  = "retention-days"
	settingRetentionRuns  = "retention-runs"
	settingTestRunsKept   = "test-runs-kept"
	settingPersonalFields = "personal-fields"
	settingLogLevel       = "log-level"
	settingAllowedHosts   = "allowed-internal-hosts"
)

// settingGroups places every configuration value in a group of the settings screen. Values not listed here
// (the secret key, the admin password) are never shown.
var settingGroups = map[string]string{
	settingRetentionDays: settings.GroupRetention, settingRetentionRuns: settings.GroupRetention, settingTestRunsKept: settings.GroupRetention,
	settingPersonalFields: settings.GroupProtection, settingAllowedHosts: settings.GroupProtection, "seal-run-data": settings.GroupProtection, "secure-cookies": settings.GroupProtection,
	"trusted-proxies": settings.GroupProtection, "session-idle-timeout": settings.GroupProtection,
	"body-limit": settings.GroupRuns, "workers": settings.GroupRuns, "lease": settings.GroupRuns, "shutdown-timeout": settings.GroupRuns,
	settingLogLevel: settings.GroupSystem, "log-format": settings.GroupSystem, "role": settings.GroupSystem, "addr": settings.GroupSystem,
	"data-dir": settings.GroupSystem, "database-url": settings.GroupSystem, "redis-url": settings.GroupSystem,
	"admin-email": settings.GroupSystem, "pprof-addr": settings.GroupSystem,
}

// settingDefinitions describes every configuration value for the settings screen: the editable ones with their
// validation, the rest read-only with the value this process runs with. URLs lose their passwords.
func settingDefinitions(cfg Config) ([]settings.Definition, error) {
	var defs []settings.Definition
	for _, s := range Settings() {
		group, ok := settingGroups[s.Flag]
		if !ok {
			continue
		}
		var def Config
		if err := set(s.Target(&def), s.Default); err != nil {
			return nil, fmt.Errorf("default of %s: %w", s.Flag, err)
		}
		c := cfg
		d := settings.Definition{Key: s.Flag, Env: s.Env, Group: group, Description: s.Usage, SetBy: cfg.Pinned[s.Flag],
			Default: plainValue(s.Target(&def)), Value: plainValue(s.Target(&c))}
		switch v := s.Target(&c).(type) {
		case *int:
			d.Kind = settings.KindInteger
		case *bool:
			d.Kind = settings.KindBoolean
		case *time.Duration:
			d.Kind = settings.KindDuration
		case *string:
			d.Kind = settings.KindString
			if s.Flag == "database-url" || s.Flag == "redis-url" {
				d.Value, d.Default = withoutPassword(*v), withoutPassword(d.Default.(string))
			}
		}
		switch s.Flag {
		case settingRetentionDays:
			d.Editable, d.Min, d.Max = true, 0, 36500
			d.Description = "finished runs older than this many days are deleted, unless a flow sets its own retention; 0 keeps them"
		case settingRetentionRuns:
			d.Editable, d.Min, d.Max = true, 0, 100_000_000
			d.Description = "each flow keeps at most this many newest finished runs, unless it sets its own retention; 0: no cap"
		case settingTestRunsKept:
			d.Editable, d.Min, d.Max = true, 1, maxTestRunsKept
			d.Description = "each flow keeps at most this many newest test runs (the editor's and the test webhook's); older ones are deleted as new ones arrive"
		case settingPersonalFields:
			d.Kind, d.Editable, d.MaxItems = settings.KindList, true, 100
			d.Description = "JSON keys whose values are masked in run data shown to people who may not reveal it; a key matches when it ends with one of these, ignoring case and punctuation"
			d.Value, d.Default = fieldList(cfg.PersonalFields), fieldList("")
			d.Check = func(v any) error {
				for _, f := range v.([]string) {
					if auth.NormalizeFieldName(f) == "" {
						return fmt.Errorf("%q has no letters or digits, so it would match nothing", f)
					}
				}
				return nil
			}
		case settingAllowedHosts:
			d.Kind, d.Editable, d.MaxItems = settings.KindList, true, 100
			d.Description = "internal hosts outgoing requests (HTTP nodes, connectors, OAuth2, connection tests) may reach: " +
				"addresses (10.1.2.3), ranges (10.0.0.0/8) and host names (crm.lan, *.corp.example); every other loopback, " +
				"private, link-local or cloud metadata address is refused, checked on the address each connection uses"
			d.Value, d.Default = splitList(cfg.AllowedInternalHosts), []string{}
			d.Check = func(v any) error {
				_, err := egress.ParseAllowList(v.([]string))
				return err
			}
		case settingLogLevel:
			d.Kind, d.Editable, d.Options = settings.KindEnum, true, []string{"debug", "info", "warn", "error"}
			d.Value = strings.ToLower(cfg.LogLevel)
		}
		defs = append(defs, d)
	}
	return defs, nil
}

// plainValue is a configuration value as JSON shows it: durations as text (30s).
func plainValue(target any) any {
	switch t := target.(type) {
	case *string:
		return *t
	case *int:
		return *t
	case *bool:
		return *t
	case *time.Duration:
		return t.String()
	}
	return nil
}

// fieldList is the personal-data fields a configuration value stands for: the built-in list when empty.
func fieldList(s string) []string {
	if l := splitList(s); len(l) > 0 {
		return l
	}
	return append([]string(nil), auth.DefaultPersonalFields...)
}

// withoutPassword hides the password of a database or Redis URL; a value that does not parse is hidden whole,
// since it may hold one anywhere.
func withoutPassword(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(set)"
	}
	return u.Redacted()
}

// wireSettings builds the runtime settings of a, connects them to the pruner, the masker and the log level, and
// applies what is stored. Other processes' changes arrive through Settings.Run (every 10 seconds) and, for
// retention, at the start of every prune pass.
func (a *App) wireSettings(ctx context.Context, masker *auth.Masker, level *slog.LevelVar) error {
	defs, err := settingDefinitions(a.Config)
	if err != nil {
		return err
	}
	rt := settings.New(a.Store, defs, a.Logger)
	rt.Facts = []settings.Fact{
		{Key: "version", Value: Version},
		{Key: "flow-schema", Value: flows.SchemaVersion},
		{Key: "role", Value: a.role()},
		{Key: "database", Value: a.Store.Dialect()},
		{Key: "queue", Value: a.queueKind()},
		{Key: "embedded", Value: a.Config.Embedded()},
	}
	rt.OnChange(func(v settings.Values) {
		masker.SetFields(v.Strings(settingPersonalFields))
		if l, err := egress.ParseAllowList(v.Strings(settingAllowedHosts)); err == nil {
			a.Egress.SetAllowList(l)
		} else {
			a.Logger.Warn("allowed internal hosts: stored value refused", "err", err)
		}
		a.Runner.SetTestRunsKept(v.Int(settingTestRunsKept))
		if l, err := levelOf(v.String(settingLogLevel)); err == nil {
			level.Set(l)
		}
	})
	a.Settings = rt
	a.Pruner.Defaults = func(ctx context.Context) (flows.Retention, error) {
		if err := rt.Load(ctx); err != nil {
			return flows.Retention{}, err
		}
		v := rt.Values()
		return flows.Retention{Days: v.Int(settingRetentionDays), Runs: v.Int(settingRetentionRuns)}, nil
	}
	if err := rt.Load(ctx); err != nil {
		return err
	}
	return nil
}

func levelOf(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// role is the process role, "all" when unset.
func (a *App) role() string {
	if a.Config.Role == "" {
		return RoleAll
	}
	return a.Config.Role
}
