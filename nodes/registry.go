package nodes

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"sync"
	"time"
)

// Constructor builds a node from its parameters. It must have no side effects: it runs at save time to validate
// a flow as well as when a flow version is loaded to run. It reports bad parameters through cfg.
type Constructor func(cfg *Config) (Node, error)

// Registration is a node type known to Ferry.
type Registration struct {
	Spec Spec
	New  Constructor
}

var (
	registryMu sync.RWMutex
	registry   = map[string]map[int]*Registration{}
)

var typePattern = regexp.MustCompile(`^[a-z][a-z0-9]*(\.[a-z0-9][a-z0-9-]*)+$`)

// Register adds a node type. It is called from init functions; a duplicate type and version, or a malformed
// spec, is a programming error reported at start-up.
func Register(spec Spec, ctor Constructor) error {
	if !typePattern.MatchString(spec.Type) {
		return fmt.Errorf("nodes: register %q: type must be a lowercase dotted id like core.map", spec.Type)
	}
	if spec.Version < 1 {
		return fmt.Errorf("nodes: register %s: version must be at least 1", spec.Type)
	}
	if ctor == nil {
		return fmt.Errorf("nodes: register %s: nil constructor", spec.Type)
	}
	if spec.Trigger && len(spec.Inputs) > 0 {
		return fmt.Errorf("nodes: register %s: trigger nodes have no inputs", spec.Type)
	}
	if !spec.Trigger && len(spec.Inputs) == 0 {
		return fmt.Errorf("nodes: register %s: steps need an input port", spec.Type)
	}
	seen := map[string]bool{ErrorPort: true}
	for _, p := range spec.Outputs {
		if seen[p.ID] {
			return fmt.Errorf("nodes: register %s: output port %q declared twice or reserved", spec.Type, p.ID)
		}
		seen[p.ID] = true
	}
	for _, f := range spec.Params {
		if err := checkField(f); err != nil {
			return fmt.Errorf("nodes: register %s: %w", spec.Type, err)
		}
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	versions := registry[spec.Type]
	if versions == nil {
		versions = map[int]*Registration{}
		registry[spec.Type] = versions
	}
	if _, dup := versions[spec.Version]; dup {
		return fmt.Errorf("nodes: register %s v%d: already registered", spec.Type, spec.Version)
	}
	versions[spec.Version] = &Registration{Spec: spec, New: ctor}
	return nil
}

func checkField(f Field) error {
	if f.Name == "" {
		return fmt.Errorf("a parameter has no name")
	}
	if f.Type == TypeSelect && len(f.Options) == 0 && !f.LoadOptions {
		return fmt.Errorf("select parameter %s has no options", f.Name)
	}
	for _, sub := range f.Fields {
		if err := checkField(sub); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

// MustRegister is Register for init functions: it panics, so a broken node stops the binary at start-up.
func MustRegister(spec Spec, ctor Constructor) {
	if err := Register(spec, ctor); err != nil {
		panic(err)
	}
}

// Lookup returns the registration of type typ at version; version 0 means the latest.
func Lookup(typ string, version int) (*Registration, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	versions := registry[typ]
	if version == 0 {
		var latest *Registration
		for v, r := range versions {
			if latest == nil || v > latest.Spec.Version {
				latest = r
			}
		}
		return latest, latest != nil
	}
	r, ok := versions[version]
	return r, ok
}

// Walk calls fn for every registered node type and version, ordered by type then version.
func Walk(fn func(*Registration)) {
	registryMu.RLock()
	all := make([]*Registration, 0, len(registry))
	for _, versions := range registry {
		for _, r := range versions {
			all = append(all, r)
		}
	}
	registryMu.RUnlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].Spec.Type != all[j].Spec.Type {
			return all[i].Spec.Type < all[j].Spec.Type
		}
		return all[i].Spec.Version < all[j].Spec.Version
	})
	for _, r := range all {
		fn(r)
	}
}

// WebhookTrigger is implemented by trigger nodes that accept HTTP requests at /hooks/{flowID}. Accept runs
// before the run exists: it authenticates the request, parses the body and computes the keys, and its error
// decides the HTTP answer.
type WebhookTrigger interface {
	Node
	Accept(ctx context.Context, req *WebhookRequest) (*Accepted, error)
}

// WebhookRequest is an incoming webhook call, with the raw body kept for signature checks.
type WebhookRequest struct {
	Method   string
	Header   http.Header
	Query    url.Values
	Body     []byte
	RemoteIP string
	Mode     Mode
	// Credential returns the decrypted fields of the trigger's credential (webhook secrets).
	Credential func(ctx context.Context) (map[string]string, error)
	// HTTP is the server's outbound client, for triggers that must ask the provider whether a delivery is
	// genuine (PayPal's signature verification): the same transport settings as every other outbound call.
	HTTP *http.Client
}

// Accepted is a verified webhook call turned into a run's trigger payload.
type Accepted struct {
	// Payload becomes the run's trigger: {body, headers, query, method} for core.webhook.
	Payload map[string]any
	// DedupKey identifies the event: a second delivery with the same key creates no second run.
	DedupKey string
	// BusinessKey is what people search runs by (an order number, a transaction id).
	BusinessKey string
	// Sync means the caller waits for the flow's core.respond answer, up to Timeout.
	Sync    bool
	Timeout time.Duration
	// Ack is the answer for an asynchronous webhook once the run is committed (nil: 202 with the run id).
	Ack *Response
	// Skip acknowledges the call with Ack and starts no run: a verified delivery of something the flow does not
	// handle (a Stripe event type it does not listen to), which the provider must not deliver again.
	Skip bool
	// Events, when set, are the events of a delivery that carries several (HubSpot sends up to 100 in one
	// request): each starts a run of its own, with its own keys, and Payload, DedupKey and BusinessKey are not
	// read. The runs are committed together, all or none, before the answer; an event whose dedup key an
	// earlier run holds starts no second run while the others do. At most MaxEvents. A batch is never
	// synchronous: Sync is not read. One event is served exactly as the single-event fields would be.
	Events []Event
}

// Event is one of several events a webhook request carries, which becomes a run of its own.
type Event struct {
	// Payload becomes the run's trigger, as Accepted.Payload does for a request with one event.
	Payload map[string]any
	// DedupKey identifies the event, not the request: a provider that delivers the batch again, or the event
	// in another batch, starts no second run for it.
	DedupKey string
	// BusinessKey is what people search the event's run by (the record's id).
	BusinessKey string
}

// MaxEvents bounds the events one webhook request may start runs for: HubSpot's largest batch. A request with
// more is refused with CodeTooManyEvents and starts nothing.
const MaxEvents = 100

// CodeTooManyEvents refuses (413) a webhook request that carries more than MaxEvents events.
const CodeTooManyEvents = "webhook_too_many_events"

// WebhookError rejects a webhook call with an HTTP status and a stable code. Payment providers expect their
// own failure answer (WeChat Pay a JSON code, Alipay a text): Answer, when set, is sent instead of Ferry's error
// document. Every rejection is recorded with its code and reason for admins to see.
type WebhookError struct {
	Status int
	Code   string
	Err    error
	Answer *Response
}

func (e *WebhookError) Error() string { return e.Err.Error() }
func (e *WebhookError) Unwrap() error { return e.Err }

// ScheduleTrigger is implemented by trigger nodes that fire on a timetable; the scheduler asks each published
// flow's schedule triggers for their next firing time.
type ScheduleTrigger interface {
	Node
	Next(after time.Time) time.Time
}

// DeadLetterTrigger is implemented by trigger nodes that start a run when a live run of another flow fails for
// good (a dead letter): the runner asks each published flow's dead-letter triggers whether they watch the failed
// run, and starts their runs in the transaction that records the failure.
type DeadLetterTrigger interface {
	Node
	// Watches reports whether a failure of flowID with the error code code starts a run of this trigger.
	Watches(flowID, code string) bool
}
