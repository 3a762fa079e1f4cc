// Package settings serves Ferry's settings as one list an admin can read, and applies the ones that may change
// at runtime: it validates a change, stores it in the database, and hands the new values to the parts of the
// process that use them (the pruner's retention defaults, the personal-data masker, the log level). Every
// process of a fleet reads the stored settings periodically (Runtime.Run), so a change made through one API
// process reaches the workers without a restart.
//
// A setting given by environment variable or flag wins over a stored one and is shown read-only with the
// variable's name, so what the deployment pins cannot be changed from the browser.
package settings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ferry-hq/ferry/server/store"
)

// Kinds of setting values, which decide how a value is validated and which control edits it.
const (
	KindInteger  = "integer"
	KindList     = "list"
	KindEnum     = "enum"
	KindString   = "string"
	KindBoolean  = "boolean"
	KindDuration = "duration"
)

// Groups the settings are shown in, in this order.
const (
	GroupRetention  = "retention"
	GroupProtection = "protection"
	GroupRuns       = "runs"
	GroupSystem     = "system"
)

// GroupOrder is the order of the groups in List.
var GroupOrder = []string{GroupRetention, GroupProtection, GroupRuns, GroupSystem}

// Sources of a setting's value.
const (
	SourceDefault     = "default"
	SourceEnvironment = "environment"
	SourceStored      = "stored"
)

// Error codes a rejected change carries, stable for API clients.
const (
	CodeUnknown  = "setting_unknown"
	CodeReadOnly = "setting_read_only"
	CodeInvalid  = "setting_invalid"
)

// Error is a refused change: which setting, and why, with a stable code.
type Error struct {
	Code    string
	Key     string
	Message string
}

func (e *Error) Error() string { return "settings: " + e.Key + ": " + e.Message }

// Definition describes one setting. The process builds the list from its configuration; the settings that
// are Editable may be changed at runtime and stored.
type Definition struct {
	// Key is the setting's permanent name, the same as its command-line flag (retention-days).
	Key string
	// Env is the environment variable that sets it.
	Env   string
	Group string
	Kind  string
	// Description says what the setting does, for the settings screen.
	Description string
	// Editable settings may be changed at runtime unless SetBy pins them.
	Editable bool
	// Min and Max bound integers (inclusive); MaxItems bounds lists (0: 100).
	Min, Max int
	MaxItems int
	// Options are the values an enum accepts.
	Options []string
	// Default is the built-in value; Value is this process's configured value (the default, or what the
	// environment or a flag said). Both are plain JSON values: int, string, bool, []string.
	Default any
	Value   any
	// SetBy names the environment variable (FERRY_RETENTION_DAYS) or flag (--retention-days) that set the
	// value; empty when neither did. A setting with SetBy is read-only.
	SetBy string
	// Check, when set, adds rules to the kind's own validation of a new value (already converted to the kind's
	// Go type: int, string, []string).
	Check func(v any) error
}

// Fact is a read-only fact about the running process (version, database dialect, queue kind).
type Fact struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// Entry is one setting as the settings screen shows it.
type Entry struct {
	Key         string   `json:"key"`
	Group       string   `json:"group"`
	Kind        string   `json:"kind"`
	Value       any      `json:"value"`
	Default     any      `json:"default"`
	Source      string   `json:"source"`
	Editable    bool     `json:"editable"`
	Env         string   `json:"env"`
	SetBy       string   `json:"setBy,omitempty"`
	Description string   `json:"description"`
	Min         *int     `json:"min,omitempty"`
	Max         *int     `json:"max,omitempty"`
	MaxItems    int      `json:"maxItems,omitempty"`
	Options     []string `json:"options,omitempty"`
	// UpdatedBy and UpdatedAt say who stored the value and when; empty unless Source is stored.
	UpdatedBy string     `json:"updatedBy,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

// Values are the effective values of the editable settings, by key, as handed to OnChange listeners.
type Values map[string]any

// Int returns an integer setting (0 when absent).
func (v Values) Int(key string) int { n, _ := v[key].(int); return n }

// String returns a string or enum setting ("" when absent).
func (v Values) String(key string) string { s, _ := v[key].(string); return s }

// Strings returns a list setting (nil when absent).
func (v Values) Strings(key string) []string { l, _ := v[key].([]string); return l }

// Runtime holds the settings of one process: the definitions, the values stored in the database, and the
// listeners that apply changes.
type Runtime struct {
	// Interval is how often Run reads the stored settings (default 10s).
	Interval time.Duration
	// Facts are shown with the settings, read-only.
	Facts []Fact

	store     store.SettingsStore
	logger    *slog.Logger
	defs      []Definition
	byKey     map[string]int
	mu        sync.RWMutex
	stored    map[string]store.StoredSetting
	effective Values
	applied   []byte // effective values last handed to listeners, as JSON
	listeners []func(Values)
	// updateMu keeps one Update of this process at a time, so the before values it audits are the ones it replaced.
	updateMu sync.Mutex
}

// New returns a runtime over defs (in display order within each group). Nothing is read until Load.
func New(st store.SettingsStore, defs []Definition, logger *slog.Logger) *Runtime {
	if logger == nil {
		logger = slog.Default()
	}
	r := &Runtime{store: st, logger: logger, defs: defs, byKey: map[string]int{}, stored: map[string]store.StoredSetting{}}
	for i, d := range defs {
		r.byKey[d.Key] = i
	}
	r.effective = r.compute(r.stored)
	return r
}

// OnChange registers f to receive the effective values after every Load that changed them, and on the first
// Load. Register listeners before the first Load.
func (r *Runtime) OnChange(f func(Values)) {
	r.mu.Lock()
	r.listeners = append(r.listeners, f)
	r.mu.Unlock()
}

// Values returns the effective values of the editable settings as last loaded.
func (r *Runtime) Values() Values {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.effective
}

// Load reads the stored settings and, when the effective values changed, hands them to the listeners. A
// stored value the definitions no longer accept (an older or newer Ferry wrote it) is ignored with a warning.
func (r *Runtime) Load(ctx context.Context) error {
	list, err := r.store.ListSettings(ctx)
	if err != nil {
		return fmt.Errorf("settings: load: %w", err)
	}
	stored := make(map[string]store.StoredSetting, len(list))
	for _, s := range list {
		stored[s.Key] = s
	}
	eff := r.compute(stored)
	raw, _ := json.Marshal(eff)
	r.mu.Lock()
	r.stored, r.effective = stored, eff
	changed := !bytes.Equal(raw, r.applied)
	if changed {
		r.applied = raw
	}
	listeners := slices.Clone(r.listeners)
	r.mu.Unlock()
	if changed {
		for _, f := range listeners {
			f(eff)
		}
	}
	return nil
}

// Run reloads the stored settings every Interval until ctx ends, so changes made through another process apply
// here within one interval.
func (r *Runtime) Run(ctx context.Context) {
	every := r.Interval
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.Load(ctx); err != nil && ctx.Err() == nil {
			r.logger.Warn("reading settings failed; keeping the current ones", "err", err)
		}
	}
}

// compute is the effective value of every editable setting: a pinned value, else a valid stored one, else the
// process's configured value.
func (r *Runtime) compute(stored map[string]store.StoredSetting) Values {
	out := Values{}
	for _, d := range r.defs {
		if !d.Editable {
			continue
		}
		out[d.Key] = d.Value
		if d.SetBy != "" {
			continue
		}
		s, ok := stored[d.Key]
		if !ok {
			continue
		}
		v, err := d.parse(s.Value)
		if err != nil {
			r.logger.Warn("ignoring a stored setting", "key", d.Key, "err", err)
			continue
		}
		out[d.Key] = v
	}
	return out
}

// List returns every setting in group order, with its current value and where it comes from.
func (r *Runtime) List() []Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Entry, 0, len(r.defs))
	for _, g := range GroupOrder {
		for _, d := range r.defs {
			if d.Group != g {
				continue
			}
			out = append(out, r.entry(d))
		}
	}
	return out
}

func (r *Runtime) entry(d Definition) Entry {
	e := Entry{Key: d.Key, Group: d.Group, Kind: d.Kind, Value: d.Value, Default: d.Default, Source: SourceDefault,
		Editable: d.Editable && d.SetBy == "", Env: d.Env, SetBy: d.SetBy, Description: d.Description, Options: d.Options}
	if d.Kind == KindInteger && d.Editable {
		lo, hi := d.Min, d.Max
		e.Min, e.Max = &lo, &hi
	}
	if d.Kind == KindList && d.Editable {
		e.MaxItems = d.maxItems()
	}
	switch {
	case d.SetBy != "":
		e.Source = SourceEnvironment
	case d.Editable:
		e.Value = r.effective[d.Key]
		if s, ok := r.stored[d.Key]; ok {
			if _, err := d.parse(s.Value); err == nil {
				at := s.UpdatedAt
				e.Source, e.UpdatedBy, e.UpdatedAt = SourceStored, s.UpdatedBy, &at
			}
		}
	}
	return e
}

// Change is the outcome of an Update for one setting it was asked to change: the effective value before and
// after (equal when the setting already had the value).
type Change struct {
	Key    string `json:"key"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// Update validates every change (key → JSON value; null resets the setting to its default), stores them all or
// none, applies them in this process at once, and returns each requested setting's value before and after, by
// key. A refused change is an *Error.
func (r *Runtime) Update(ctx context.Context, changes map[string]json.RawMessage, by string) ([]Change, error) {
	if len(changes) == 0 {
		return nil, &Error{Code: CodeInvalid, Message: "no settings to change"}
	}
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	set := map[string]json.RawMessage{}
	var unset []string
	for _, k := range keys {
		i, ok := r.byKey[k]
		if !ok {
			return nil, &Error{Code: CodeUnknown, Key: k, Message: "there is no setting " + k}
		}
		d := r.defs[i]
		if !d.Editable {
			return nil, &Error{Code: CodeReadOnly, Key: k, Message: "this setting can only be changed where Ferry is deployed (" + d.Env + ") and needs a restart"}
		}
		if d.SetBy != "" {
			return nil, &Error{Code: CodeReadOnly, Key: k, Message: "set by " + d.SetBy + ", which wins over the settings screen"}
		}
		raw := bytes.TrimSpace(changes[k])
		if len(raw) == 0 || string(raw) == "null" {
			unset = append(unset, k)
			continue
		}
		v, err := d.parse(raw)
		if err != nil {
			return nil, &Error{Code: CodeInvalid, Key: k, Message: err.Error()}
		}
		canonical, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("settings: encode %s: %w", k, err)
		}
		set[k] = canonical
	}
	r.updateMu.Lock()
	defer r.updateMu.Unlock()
	// Start from the database's current state, not this process's last poll, so "before" is what was replaced.
	if err := r.Load(ctx); err != nil {
		return nil, err
	}
	before := r.Values()
	if err := r.store.UpdateSettings(ctx, set, unset, by, time.Now()); err != nil {
		return nil, fmt.Errorf("settings: store: %w", err)
	}
	if err := r.Load(ctx); err != nil {
		return nil, err
	}
	after := r.Values()
	out := make([]Change, 0, len(keys))
	for _, k := range keys {
		out = append(out, Change{Key: k, Before: before[k], After: after[k]})
	}
	return out, nil
}

// Has reports whether key names a setting.
func (r *Runtime) Has(key string) bool { _, ok := r.byKey[key]; return ok }

func (d Definition) maxItems() int {
	if d.MaxItems > 0 {
		return d.MaxItems
	}
	return 100
}

// parse converts and validates a JSON value for d.
func (d Definition) parse(raw json.RawMessage) (any, error) {
	var v any
	switch d.Kind {
	case KindInteger:
		var x any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&x); err != nil {
			return nil, errors.New("must be a whole number")
		}
		n, isNumber := x.(json.Number) // a number in quotes ("7") is text, not a number
		if !isNumber {
			return nil, errors.New("must be a whole number")
		}
		i, err := n.Int64()
		if err != nil {
			return nil, errors.New("must be a whole number")
		}
		if i < int64(d.Min) || i > int64(d.Max) {
			return nil, fmt.Errorf("must be between %d and %d", d.Min, d.Max)
		}
		v = int(i)
	case KindList:
		var l []string
		if err := json.Unmarshal(raw, &l); err != nil || l == nil {
			return nil, errors.New("must be a list of names")
		}
		seen := map[string]bool{}
		out := make([]string, 0, len(l))
		for _, s := range l {
			s = strings.TrimSpace(s)
			if s == "" {
				return nil, errors.New("names must not be empty")
			}
			if len(s) > 64 {
				return nil, fmt.Errorf("%q is longer than 64 characters", s)
			}
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			return nil, errors.New("needs at least one name (reset the setting to use the default)")
		}
		if len(out) > d.maxItems() {
			return nil, fmt.Errorf("at most %d names", d.maxItems())
		}
		v = out
	case KindEnum:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("must be one of %s", strings.Join(d.Options, ", "))
		}
		if !slices.Contains(d.Options, s) {
			return nil, fmt.Errorf("must be one of %s", strings.Join(d.Options, ", "))
		}
		v = s
	default:
		return nil, fmt.Errorf("cannot be changed at runtime")
	}
	if d.Check != nil {
		if err := d.Check(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}
