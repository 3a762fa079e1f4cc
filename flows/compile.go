package flows

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/internal/names"
	"github.com/ferry-hq/ferry/nodes"
)

// ValidationError lists everything wrong with a flow, each problem pointing at its node and field (I9).
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	msgs := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		where := p.NodeID
		if p.Field != "" {
			where += "." + p.Field
		}
		if where != "" {
			msgs = append(msgs, where+": "+p.Message)
		} else {
			msgs = append(msgs, p.Message)
		}
	}
	return "flows: invalid flow: " + strings.Join(msgs, "; ")
}

// Problems extracts the problems from a Parse or Compile error, or nil for other errors.
func Problems(err error) []Problem {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Problems
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.Problems
	}
	return nil
}

// Compiled is a validated flow ready to run: every node built from its parameters, every expression compiled,
// edges resolved to pointers. It is built once per flow version and shared by all its runs.
type Compiled struct {
	Flow     *Flow
	Nodes    map[string]*CompiledNode
	Triggers []*CompiledNode
	// Webhook is the flow's webhook trigger, if it has one.
	Webhook  *CompiledNode
	MaxSteps int
	// OrderingKey computes a run's ordering key from its trigger (Settings.OrderingKey); nil: none.
	OrderingKey *expression.Program
	// Concurrency is Settings.Concurrency.
	Concurrency int
}

// MaxConcurrency bounds Settings.Concurrency.
const MaxConcurrency = 10000

// RunOrderingKey evaluates the ordering key for a run started with trigger, in mode ("live" or "test"). A key
// that cannot be computed (a field missing from this payload) is empty: the run is then not ordered, rather than
// refused, since the trigger has already been accepted.
func (c *Compiled) RunOrderingKey(trigger any, mode string) string {
	if c.OrderingKey == nil {
		return ""
	}
	v, err := c.OrderingKey.Eval(map[string]any{"trigger": trigger, "vars": c.Flow.Settings.Vars, "env": mode})
	if err != nil || v == nil {
		return ""
	}
	k := strings.TrimSpace(expression.Stringify(v))
	if len(k) > MaxOrderingKeyBytes {
		sum := sha256.Sum256([]byte(k))
		k = "sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}

// MaxOrderingKeyBytes is the longest ordering key kept as is; longer ones are stored as their SHA-256.
const MaxOrderingKeyBytes = 200

// CompiledNode is a node built and wired.
type CompiledNode struct {
	Def   *Node
	Spec  *nodes.Spec
	Impl  nodes.Node
	Retry RetryPolicy
	// Next lists, per output port, the nodes that port leads to, in edge order; NextPort the input port each
	// edge arrives at (same order).
	Next     map[string][]*CompiledNode
	NextPort map[string][]string
	// Join is set on a node that joins branches (nodes.Joiner): which of its inputs are connected, and which
	// nodes can still lead to it, so the engine knows when no other branch can arrive.
	Join *Join
	// SecretParams names the parameters whose values are redacted in stored run data.
	SecretParams []string
}

// Close releases resources held by nodes.
func (c *Compiled) Close() {
	for _, n := range c.Nodes {
		if cl, ok := n.Impl.(nodes.Closer); ok {
			_ = cl.Close()
		}
	}
}

// RetryPolicy is a resolved retry policy.
type RetryPolicy struct {
	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration
}

// DefaultRetry applies when neither the node nor the flow sets a policy: three attempts, 1s then 2s, so a
// provider's brief hiccup does not fail a payment run.
var DefaultRetry = RetryPolicy{MaxAttempts: 3, Backoff: time.Second, MaxBackoff: 5 * time.Minute}

// Delay returns how long to wait before attempt number next (2 for the first retry), with ±20% jitter so retries
// of many runs do not arrive together.
func (p RetryPolicy) Delay(next int) time.Duration {
	d := p.Backoff
	for i := 2; i < next && d < p.MaxBackoff; i++ {
		d *= 2
	}
	if d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	jitter := time.Duration(rand.Int64N(int64(d)/5+1)) * 2
	return d - d/5 + jitter
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate reports every problem of f, or nil when it can be published.
func Validate(f *Flow) []Problem {
	c, err := Compile(f)
	if err != nil {
		return Problems(err)
	}
	c.Close()
	return nil
}

// Compile validates f and builds it. The error is a *ValidationError listing every problem found.
func Compile(f *Flow) (*Compiled, error) {
	var problems []Problem
	add := func(p Problem) { problems = append(problems, p) }

	if strings.TrimSpace(f.Name) == "" {
		add(Problem{Code: CodeNameRequired, Field: "name", Message: "the flow needs a name"})
	}
	if err := names.Check(f.Name); err != nil {
		add(Problem{Code: names.Code, Field: "name", Message: err.Error()})
	}
	if len(f.Nodes) > MaxNodes {
		add(Problem{Code: CodeTooLarge, Field: "nodes", Message: fmt.Sprintf("a flow has at most %d nodes", MaxNodes)})
		return nil, &ValidationError{problems}
	}
	switch f.Settings.SaveData {
	case "", SaveAll, SaveErrors, SaveMetadata:
	default:
		add(Problem{Code: CodeSettingInvalid, Field: "settings.saveData", Message: "saveData must be all, errors or metadata"})
	}
	if f.Settings.MaxSteps < 0 {
		add(Problem{Code: CodeSettingInvalid, Field: "settings.maxSteps", Message: "maxSteps must not be negative"})
	}
	if f.Settings.Concurrency < 0 || f.Settings.Concurrency > MaxConcurrency {
		add(Problem{Code: CodeSettingInvalid, Field: "settings.concurrency",
			Message: fmt.Sprintf("concurrency must be between 0 (no cap) and %d", MaxConcurrency)})
	}
	if r := f.Settings.Retention; r != nil && (r.Days < 0 || r.Runs < 0) {
		add(Problem{Code: CodeSettingInvalid, Field: "settings.retention",
			Message: "retention days and runs must not be negative (0: the server's default)"})
	}
	var orderingKey *expression.Program
	if src := strings.TrimSpace(f.Settings.OrderingKey); src != "" {
		p, err := expression.Compile(src, expression.ResultAny)
		if err != nil {
			pr := Problem{Code: expression.CodeSyntax, Field: "settings.orderingKey", Message: err.Error()}
			var ee *expression.Error
			if errors.As(err, &ee) {
				pr.Code, pr.Message, pr.Line, pr.Column = ee.Code, ee.Message, ee.Line, ee.Column
			}
			add(pr)
		}
		orderingKey = p
	}
	flowRetry := DefaultRetry
	if f.Settings.Retry != nil {
		r, p := resolveRetry(*f.Settings.Retry, DefaultRetry)
		if p != nil {
			p.Field = "settings.retry" + p.Field
			add(*p)
		}
		flowRetry = r
	}

	c := &Compiled{Flow: f, Nodes: make(map[string]*CompiledNode, len(f.Nodes)), MaxSteps: f.Settings.MaxSteps,
		OrderingKey: orderingKey, Concurrency: f.Settings.Concurrency}
	if c.MaxSteps == 0 {
		c.MaxSteps = 1000
	}
	for i := range f.Nodes {
		def := &f.Nodes[i]
		if !nodeIDPattern.MatchString(def.ID) {
			add(Problem{Code: CodeNodeIDInvalid, NodeID: def.ID, Field: fmt.Sprintf("nodes[%d].id", i),
				Message: "node ids are 1 to 64 letters, digits, '-' or '_'"})
			continue
		}
		if err := names.Check(def.Name); err != nil {
			add(Problem{Code: names.Code, NodeID: def.ID, Field: fmt.Sprintf("nodes[%d].name", i), Message: err.Error()})
		}
		if _, dup := c.Nodes[def.ID]; dup {
			add(Problem{Code: CodeNodeIDDuplicate, NodeID: def.ID, Message: fmt.Sprintf("two nodes have the id %q", def.ID)})
			continue
		}
		if _, ok := nodes.Lookup(def.Type, 0); !ok {
			add(Problem{Code: CodeNodeTypeUnknown, NodeID: def.ID, Field: "type", Message: fmt.Sprintf("unknown node type %q", def.Type)})
			continue
		}
		reg, ok := nodes.Lookup(def.Type, def.Version)
		if !ok {
			add(Problem{Code: CodeNodeVersion, NodeID: def.ID, Field: "version",
				Message: fmt.Sprintf("%s has no version %d", def.Type, def.Version)})
			continue
		}
		spec := &reg.Spec
		cn := &CompiledNode{Def: def, Spec: spec, Next: map[string][]*CompiledNode{}, Retry: flowRetry}
		if def.Retry != nil {
			r, p := resolveRetry(*def.Retry, flowRetry)
			if p != nil {
				p.NodeID, p.Field = def.ID, "retry"+p.Field
				add(*p)
			}
			cn.Retry = r
		}
		if def.Credential == "" && spec.CredentialRequired {
			add(Problem{Code: CodeCredentialMissing, NodeID: def.ID, Field: "credential", Message: spec.Name + " needs a credential"})
		}
		if def.Credential != "" && len(spec.Credentials) == 0 {
			add(Problem{Code: CodeCredentialUnused, NodeID: def.ID, Field: "credential", Message: spec.Name + " takes no credential"})
		}
		for _, field := range spec.Params {
			if field.Secret {
				cn.SecretParams = append(cn.SecretParams, field.Name)
			}
		}
		cfg := nodes.NewConfig(spec, def.ID, def.Params, def.Credential)
		impl, err := reg.New(cfg)
		problems = append(problems, cfg.Problems()...)
		if err != nil && len(cfg.Problems()) == 0 {
			add(Problem{Code: nodes.CodeParamInvalid, NodeID: def.ID, Message: err.Error()})
		}
		cn.Impl = impl
		c.Nodes[def.ID] = cn
		if spec.Trigger {
			c.Triggers = append(c.Triggers, cn)
			if _, ok := impl.(nodes.WebhookTrigger); ok {
				if c.Webhook != nil {
					add(Problem{Code: CodeTooManyWebhooks, NodeID: def.ID, Message: "a flow has at most one webhook trigger"})
				}
				c.Webhook = cn
			}
		}
	}
	if len(f.Nodes) > 0 && len(c.Triggers) == 0 && len(problems) == 0 {
		add(Problem{Code: CodeNoTrigger, Message: "the flow needs a trigger node"})
	}

	seen := map[Edge]bool{}
	for i, e := range f.Edges {
		field := fmt.Sprintf("edges[%d]", i)
		src, tgt := c.Nodes[e.Source], c.Nodes[e.Target]
		if f.Node(e.Source) == nil || f.Node(e.Target) == nil {
			add(Problem{Code: CodeEdgeDangling, Field: field,
				Message: fmt.Sprintf("edge from %q to %q names a node that does not exist", e.Source, e.Target)})
			continue
		}
		if src == nil || tgt == nil {
			continue // the node itself is already reported
		}
		if seen[e] {
			add(Problem{Code: CodeEdgeDuplicate, Field: field, NodeID: e.Source, Message: "the same connection is drawn twice"})
			continue
		}
		seen[e] = true
		if !src.Spec.HasOutput(src.Def.Params, e.SourcePort) {
			add(Problem{Code: CodePortUnknown, NodeID: e.Source, Field: field + ".sourcePort",
				Message: fmt.Sprintf("%s has no output port %q", src.Spec.Name, e.SourcePort)})
			continue
		}
		if tgt.Spec.Trigger {
			add(Problem{Code: CodeEdgeIntoTrigger, NodeID: e.Target, Field: field, Message: "a trigger cannot have incoming connections"})
			continue
		}
		if !tgt.Spec.HasInput(e.TargetPort) {
			add(Problem{Code: CodePortUnknown, NodeID: e.Target, Field: field + ".targetPort",
				Message: fmt.Sprintf("%s has no input port %q", tgt.Spec.Name, e.TargetPort)})
			continue
		}
		src.Next[e.SourcePort] = append(src.Next[e.SourcePort], tgt)
		if src.NextPort == nil {
			src.NextPort = map[string][]string{}
		}
		src.NextPort[e.SourcePort] = append(src.NextPort[e.SourcePort], e.TargetPort)
	}
	if cycle := findCycle(f, c); cycle != nil {
		add(Problem{Code: CodeCycle, NodeID: cycle[0], Message: "the flow loops back on itself: " + strings.Join(cycle, " → ")})
	} else {
		joins(f, c)
	}
	if len(problems) > 0 {
		c.Close()
		return nil, &ValidationError{problems}
	}
	return c, nil
}

func resolveRetry(r Retry, base RetryPolicy) (RetryPolicy, *Problem) {
	out := base
	if r.MaxAttempts < 0 || r.MaxAttempts > 25 {
		return base, &Problem{Code: CodeRetryInvalid, Field: ".maxAttempts", Message: "maxAttempts must be between 1 and 25 (0 keeps the default)"}
	}
	if r.MaxAttempts > 0 {
		out.MaxAttempts = r.MaxAttempts
	}
	for _, d := range []struct {
		text, name string
		dst        *time.Duration
	}{{r.Backoff, "backoff", &out.Backoff}, {r.MaxBackoff, "maxBackoff", &out.MaxBackoff}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v <= 0 {
			return base, &Problem{Code: CodeRetryInvalid, Field: "." + d.name, Message: d.name + " must be a positive duration such as 2s"}
		}
		*d.dst = v
	}
	if out.MaxBackoff < out.Backoff {
		out.MaxBackoff = out.Backoff
	}
	return out, nil
}

// findCycle returns the node ids of a cycle in the graph, or nil. Depth-first search in document order keeps
// the report stable.
func findCycle(f *Flow, c *Compiled) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var found []string
	var visit func(n *CompiledNode) bool
	visit = func(n *CompiledNode) bool {
		color[n.Def.ID] = grey
		stack = append(stack, n.Def.ID)
		for _, port := range n.Spec.OutputPorts(n.Def.Params) {
			for i, next := range n.Next[port.ID] {
				if i < len(n.NextPort[port.ID]) && next.Spec.IsBackInput(n.NextPort[port.ID][i]) {
					continue // an edge that closes a loop (core.loop's next) is the cycle a flow may have
				}
				switch color[next.Def.ID] {
				case grey:
					for i, id := range stack {
						if id == next.Def.ID {
							found = append(append([]string(nil), stack[i:]...), next.Def.ID)
						}
					}
					return true
				case white:
					if visit(next) {
						return true
					}
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n.Def.ID] = black
		return false
	}
	for _, def := range f.Nodes {
		if n := c.Nodes[def.ID]; n != nil && color[def.ID] == white && visit(n) {
			return found
		}
	}
	return nil
}

// Join describes a node that joins branches (nodes.Joiner).
type Join struct {
	// Ports are the node's connected input ports, in the order of its spec.
	Ports []string
	// Ancestors are the nodes from which a path leads to the join.
	Ancestors map[string]bool
}

// joins fills in Join for every joining node of an acyclic flow.
func joins(f *Flow, c *Compiled) {
	into := map[string][]string{} // node → nodes with an edge into it
	connected := map[string]map[string]bool{}
	for _, n := range c.Nodes {
		for port, targets := range n.Next {
			for i, t := range targets {
				if t.Spec.IsBackInput(n.NextPort[port][i]) {
					continue // a loop's way back does not make its body lead to what comes before it
				}
				into[t.Def.ID] = append(into[t.Def.ID], n.Def.ID)
				if connected[t.Def.ID] == nil {
					connected[t.Def.ID] = map[string]bool{}
				}
				connected[t.Def.ID][n.NextPort[port][i]] = true
			}
		}
	}
	for _, def := range f.Nodes {
		n := c.Nodes[def.ID]
		if n == nil {
			continue
		}
		if _, ok := n.Impl.(nodes.Joiner); !ok {
			continue
		}
		j := &Join{Ancestors: map[string]bool{}}
		for _, in := range n.Spec.Inputs {
			if connected[def.ID][in.ID] {
				j.Ports = append(j.Ports, in.ID)
			}
		}
		stack := append([]string(nil), into[def.ID]...)
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if j.Ancestors[id] {
				continue
			}
			j.Ancestors[id] = true
			stack = append(stack, into[id]...)
		}
		n.Join = j
	}
}

// WaitsFor says, per joining node (core.merge) of a compiled flow, which nodes it waits for on each connected
// input: the nodes with an edge into that input. The editor and the validation answer show it.
func (c *Compiled) WaitsFor() map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for _, def := range c.Flow.Nodes {
		n := c.Nodes[def.ID]
		if n == nil {
			continue
		}
		for port, targets := range n.Next {
			for i, t := range targets {
				if t.Join == nil {
					continue
				}
				if out[t.Def.ID] == nil {
					out[t.Def.ID] = map[string][]string{}
				}
				in := n.NextPort[port][i]
				out[t.Def.ID][in] = append(out[t.Def.ID][in], def.ID)
			}
		}
	}
	return out
}
