// Package flows defines the flow document (the JSON graph users draw and IT imports), reads it with positions
// for every error, upgrades old schema versions, and validates and compiles it against the node registry. The
// engine runs what Compile produces.
package flows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// SchemaVersion is the flow document version this build writes. Older documents are upgraded on read by the
// functions in upgrades; newer ones are refused.
const SchemaVersion = 1

// Problem is one thing wrong with a flow document (shared with node parameter problems).
type Problem = nodes.Problem

// Stable problem codes for flow documents.
const (
	CodeJSONInvalid       = "flow_json_invalid"
	CodeSchemaUnsupported = "flow_schema_unsupported"
	CodeNameRequired      = "flow_name_required"
	CodeNoTrigger         = "flow_no_trigger"
	CodeTooManyWebhooks   = "flow_webhook_duplicate"
	CodeCycle             = "flow_cycle"
	CodeTooLarge          = "flow_too_large"
	CodeSettingInvalid    = "flow_setting_invalid"
	CodeNodeIDInvalid     = "node_id_invalid"
	CodeNodeIDDuplicate   = "node_id_duplicate"
	CodeNodeTypeUnknown   = "node_type_unknown"
	CodeNodeVersion       = "node_version_unknown"
	CodeCredentialMissing = "credential_required"
	CodeCredentialUnused  = "credential_not_accepted"
	CodeRetryInvalid      = "retry_invalid"
	CodeEdgeDangling      = "edge_dangling"
	CodePortUnknown       = "port_unknown"
	CodeEdgeIntoTrigger   = "edge_into_trigger"
	CodeEdgeDuplicate     = "edge_duplicate"
)

// Limits on a flow document.
const (
	MaxDocumentBytes = 2 << 20
	MaxNodes         = 500
)

// Flow is a flow document.
type Flow struct {
	Schema      int      `json:"schema"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Settings    Settings `json:"settings"`
	Nodes       []Node   `json:"nodes"`
	Edges       []Edge   `json:"edges"`
	// UI holds editor-only data (viewport, notes); the engine ignores it.
	UI json.RawMessage `json:"ui,omitempty"`
}

// Settings are flow-wide options.
type Settings struct {
	// Retry is the default retry policy of the flow's nodes; a node's own Retry overrides it.
	Retry *Retry `json:"retry,omitempty"`
	// SaveData says how much step data runs keep: "all" (default), "errors" (input and output only of
	// failed steps) or "metadata" (status and timing only).
	SaveData string `json:"saveData,omitempty"`
	// Vars are the flow variables a run starts with.
	Vars map[string]any `json:"vars,omitempty"`
	// MaxSteps bounds the steps of one run, a guard against runaway flows (default 1000).
	MaxSteps int `json:"maxSteps,omitempty"`
	// OrderingKey is an expression over the trigger (an order id, say): runs with the same key execute one at a
	// time in the order they arrived, runs with different keys in parallel (a refund never overtakes its
	// payment). Empty: no ordering.
	OrderingKey string `json:"orderingKey,omitempty"`
	// Concurrency caps how many runs of the flow execute at once across every worker; 0 means no cap.
	Concurrency int `json:"concurrency,omitempty"`
	// Retention overrides how long the flow's finished runs are kept; nil: the server's defaults.
	Retention *Retention `json:"retention,omitempty"`
}

// Retention bounds the finished runs a flow keeps, by age and by count; 0 leaves that bound to the server's
// default. Runs still queued, running or waiting are never pruned. A run's dedup key goes with it, so Days is
// also how long a repeated delivery of the same event is recognised.
type Retention struct {
	Days int `json:"days,omitempty"`
	Runs int `json:"runs,omitempty"`
}

// SaveData values.
const (
	SaveAll      = "all"
	SaveErrors   = "errors"
	SaveMetadata = "metadata"
)

// Retry is a retry policy: up to MaxAttempts attempts in all, waiting Backoff, then twice as long each time, up
// to MaxBackoff, with jitter.
type Retry struct {
	MaxAttempts int    `json:"maxAttempts"`
	Backoff     string `json:"backoff,omitempty"`
	MaxBackoff  string `json:"maxBackoff,omitempty"`
}

// Node is one node of a flow, keyed by an id that never changes when it is renamed.
type Node struct {
	ID         string                     `json:"id"`
	Type       string                     `json:"type"`
	Version    int                        `json:"version"`
	Name       string                     `json:"name,omitempty"`
	Params     map[string]json.RawMessage `json:"params,omitempty"`
	Credential string                     `json:"credential,omitempty"`
	Position   *Position                  `json:"position,omitempty"`
	Retry      *Retry                     `json:"retry,omitempty"`
	Notes      string                     `json:"notes,omitempty"`
}

// Position is where the editor draws a node.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Edge connects an output port of one node to an input port of another, by node id.
type Edge struct {
	Source     string `json:"source"`
	SourcePort string `json:"sourcePort,omitempty"`
	Target     string `json:"target"`
	TargetPort string `json:"targetPort,omitempty"`
}

// ParseError is a document that could not be read at all; it carries the problems that say why.
type ParseError struct {
	Problems []Problem
}

func (e *ParseError) Error() string {
	if len(e.Problems) == 0 {
		return "flows: invalid flow document"
	}
	return "flows: " + e.Problems[0].Message
}

// Parse reads a flow document, upgrading older schema versions, and fills defaults (latest node versions,
// default ports). It does not validate the graph: call Compile or Validate for that.
func Parse(data []byte) (*Flow, error) {
	if len(data) > MaxDocumentBytes {
		return nil, &ParseError{[]Problem{{Code: CodeTooLarge, Message: fmt.Sprintf("flow document is %d bytes, the limit is %d", len(data), MaxDocumentBytes)}}}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &ParseError{[]Problem{jsonProblem(data, err)}}
	}
	schema := 0
	if s, ok := raw["schema"]; ok {
		if err := json.Unmarshal(s, &schema); err != nil {
			return nil, &ParseError{[]Problem{{Code: CodeSchemaUnsupported, Field: "schema", Message: "schema must be a whole number"}}}
		}
	}
	if schema < 1 || schema > SchemaVersion {
		return nil, &ParseError{[]Problem{{Code: CodeSchemaUnsupported, Field: "schema",
			Message: fmt.Sprintf("flow schema %d is not supported; this Ferry reads schemas 1 to %d", schema, SchemaVersion)}}}
	}
	if schema < SchemaVersion {
		upgraded, err := upgrade(raw, schema)
		if err != nil {
			return nil, &ParseError{[]Problem{{Code: CodeSchemaUnsupported, Field: "schema", Message: err.Error()}}}
		}
		data = upgraded
	}
	var f Flow
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, &ParseError{[]Problem{jsonProblem(data, err)}}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ParseError{[]Problem{{Code: CodeJSONInvalid, Message: "unexpected data after the flow document"}}}
	}
	f.normalize()
	return &f, nil
}

// upgrades turn a document of schema N into schema N+1; the key is N. Each is kept forever so any old export
// can still be imported.
var upgrades = map[int]func(doc map[string]json.RawMessage) error{}

func upgrade(doc map[string]json.RawMessage, from int) ([]byte, error) {
	for v := from; v < SchemaVersion; v++ {
		step, ok := upgrades[v]
		if !ok {
			return nil, fmt.Errorf("no upgrade from flow schema %d", v)
		}
		if err := step(doc); err != nil {
			return nil, fmt.Errorf("upgrade flow schema %d: %w", v, err)
		}
		doc["schema"] = json.RawMessage(fmt.Sprint(v + 1))
	}
	return json.Marshal(doc)
}

// normalize fills the defaults a hand-written or older document may leave out.
func (f *Flow) normalize() {
	for i := range f.Nodes {
		n := &f.Nodes[i]
		if n.Version == 0 {
			if r, ok := nodes.Lookup(n.Type, 0); ok {
				n.Version = r.Spec.Version
			}
		}
	}
	for i := range f.Edges {
		e := &f.Edges[i]
		if e.TargetPort == "" {
			e.TargetPort = nodes.DefaultPort
		}
		if e.SourcePort == "" {
			e.SourcePort = nodes.DefaultPort
			if n := f.Node(e.Source); n != nil {
				if r, ok := nodes.Lookup(n.Type, n.Version); ok && len(r.Spec.Outputs) > 0 {
					e.SourcePort = r.Spec.Outputs[0].ID
				}
			}
		}
	}
}

// Node returns the node with id, or nil.
func (f *Flow) Node(id string) *Node {
	for i := range f.Nodes {
		if f.Nodes[i].ID == id {
			return &f.Nodes[i]
		}
	}
	return nil
}

// Marshal writes the document in its canonical form.
func (f *Flow) Marshal() ([]byte, error) {
	return json.Marshal(f)
}

// jsonProblem turns a decoding error into a problem with line and column.
func jsonProblem(data []byte, err error) Problem {
	p := Problem{Code: CodeJSONInvalid, Message: err.Error()}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		p.Line, p.Column = lineColumn(data, max(syn.Offset-1, 0)) // Offset is just past the bad byte
		p.Message = "invalid JSON: " + syn.Error()
	case errors.As(err, &typ):
		p.Line, p.Column = lineColumn(data, typ.Offset)
		p.Field = typ.Field
		p.Message = fmt.Sprintf("%s must be %s, not %s", typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		p.Line, p.Column = lineColumn(data, int64(len(data)))
		p.Message = "invalid JSON: the document ends too early"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		p.Field = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p.Message = fmt.Sprintf("unknown field %q in flow document", p.Field)
	}
	return p
}

// lineColumn converts a byte offset into a 1-based line and column.
func lineColumn(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}
