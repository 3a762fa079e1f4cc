package nodes

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Park asks the engine to park the run until a person decides (a CRM review, an approval) or its timeout
// passes (ARCHITECTURE.md, "Parked runs"). The run becomes waiting and holds no worker; the node's step is
// executed again when the run resumes, with Exec.Resume saying how the wait ended. A node returns it in
// Result.Park only from Execute of a live run: a test run cannot wait for a person.
type Park struct {
	// Kind names what is asked ("crm.conflict"); RegisterDecision tells the API how to check a decision of it.
	Kind string
	// Title is one line for the list of open reviews ("Contact ana@example.com: 2 fields differ").
	Title string
	// Request is what the person is shown and decides on: JSON, kept with the wait (sealed with run data).
	Request any
	// Timeout is how long the run waits; zero means DefaultParkTimeout, and it is capped at MaxParkTimeout.
	Timeout time.Duration
	// Event, when set, makes the wait one for an event rather than a person: the run resumes when an event
	// with this name and key is delivered (core.wait-event).
	Event *ParkEvent
}

// ParkEvent names the event a parked run waits for.
type ParkEvent struct {
	// Name is the event's name ("payment.paid", or "flow:<flowId>" for the runs of a flow's trigger).
	Name string
	// Key correlates the event with this run (an order number).
	Key string
	// Lookback lets an event delivered up to this long before the run parked resume it at once, so an event
	// that raced ahead of its wait is not lost; zero: only events from the moment the run parks.
	Lookback time.Duration
}

// Park timeouts. A review nobody answers must not hold a run forever, nor vanish before the team is back from a
// long weekend.
const (
	DefaultParkTimeout = 72 * time.Hour
	MaxParkTimeout     = 90 * 24 * time.Hour
)

// Deadline is when a park that starts at now times out.
func (p *Park) Deadline(now time.Time) time.Time {
	d := p.Timeout
	if d <= 0 {
		d = DefaultParkTimeout
	}
	return now.Add(min(d, MaxParkTimeout))
}

// Resume is how a parked step's wait ended, handed to the node when its step runs again (Exec.Resume).
type Resume struct {
	// WaitID is the wait that ended.
	WaitID string `json:"waitId"`
	// Request is what the person was shown (Park.Request as stored), so the node can tell whether what it
	// asked about still holds.
	Request json.RawMessage `json:"request,omitempty"`
	// Decision is what the person chose, as the API accepted it; empty when the wait timed out.
	Decision json.RawMessage `json:"decision,omitempty"`
	// DecidedBy names who decided (the user's e-mail, or the API token's name).
	DecidedBy string `json:"decidedBy,omitempty"`
	// DecidedAt is when the decision was recorded (zero when the wait timed out), so the run can say when.
	DecidedAt time.Time `json:"decidedAt,omitzero"`
	// TimedOut is set when nobody decided before the timeout.
	TimedOut bool `json:"timedOut,omitempty"`
}

// Assignee names who may decide a park, for asks meant for someone in particular (an approval): people with
// Role, or listed by e-mail in Users; admins may always decide. A request restricts its deciders by holding one
// under its top-level "assignee" key (AssigneeOf); a request without one is decided by anyone allowed to operate
// runs, as CRM reviews are.
type Assignee struct {
	// Role is a Ferry role (admin, editor, operator); empty when only the listed users may decide.
	Role string `json:"role,omitempty"`
	// Users are e-mail addresses of people who may decide whatever their role.
	Users []string `json:"users,omitempty"`
}

// AdminRole is the role that may decide any park, whoever it is assigned to; it is the name server/auth gives
// its administrators (a test there keeps the two equal).
const AdminRole = "admin"

// Allows reports whether a person with this e-mail and Ferry role may decide. E-mails compare without case.
func (a *Assignee) Allows(email, role string) bool {
	if a == nil || role == AdminRole {
		return true
	}
	if a.Role != "" && role == a.Role {
		return true
	}
	email = strings.TrimSpace(email)
	return email != "" && slices.ContainsFunc(a.Users, func(u string) bool { return strings.EqualFold(u, email) })
}

// String says who may decide, for an error message ("operator or ana@example.com").
func (a *Assignee) String() string {
	var who []string
	if a.Role != "" {
		who = append(who, "role "+a.Role)
	}
	who = append(who, a.Users...)
	who = append(who, "an admin")
	return strings.Join(who, ", ")
}

// AssigneeOf reads the assignee a park's request names (nil when it names none: anyone allowed to operate runs
// may decide). A request that is not a JSON object, or whose assignee cannot be read, names none only when the
// key is absent: an unreadable assignee admits nobody but admins, so a malformed request never opens a decision
// to everyone.
func AssigneeOf(request json.RawMessage) *Assignee {
	var doc struct {
		Assignee json.RawMessage `json:"assignee"`
	}
	if len(request) == 0 || json.Unmarshal(request, &doc) != nil || len(doc.Assignee) == 0 || string(doc.Assignee) == "null" {
		return nil
	}
	var a Assignee
	if err := json.Unmarshal(doc.Assignee, &a); err != nil {
		return &Assignee{}
	}
	return &a
}

// DecisionCheck checks a decision against the request it answers, so a malformed decision is refused when it
// is given, with a message that says what is wrong, instead of failing the run later.
type DecisionCheck func(request, decision json.RawMessage) error

var (
	decisionsMu sync.RWMutex
	decisions   = map[string]DecisionCheck{}
)

// RegisterDecision declares a kind of park and how its decisions are checked. It panics on a second
// registration of a kind, as node registration does.
func RegisterDecision(kind string, check DecisionCheck) {
	decisionsMu.Lock()
	defer decisionsMu.Unlock()
	if _, dup := decisions[kind]; dup {
		panic(fmt.Sprintf("nodes: decision kind %q registered twice", kind))
	}
	decisions[kind] = check
}

// CheckDecision checks a decision of kind against its request; an unknown kind is an error.
func CheckDecision(kind string, request, decision json.RawMessage) error {
	decisionsMu.RLock()
	check, ok := decisions[kind]
	decisionsMu.RUnlock()
	if !ok {
		return fmt.Errorf("this Ferry does not know decisions of kind %q", kind)
	}
	return check(request, decision)
}

// DecisionKinds lists the registered kinds, sorted, for the API's description.
func DecisionKinds() []string {
	decisionsMu.RLock()
	defer decisionsMu.RUnlock()
	out := make([]string, 0, len(decisions))
	for k := range decisions {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
