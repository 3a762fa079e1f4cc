// Package nodes holds the node registry: every node type Ferry can run registers a Spec and a constructor here,
// from an init function, and everything else (the editor's forms, save-time validation, redaction, node docs)
// is driven by that one Spec.
package nodes

import "encoding/json"

// Category groups nodes in the editor's palette.
type Category string

// The palette groups. Triggers start runs; everything else is a step.
const (
	CategoryTrigger       Category = "trigger"
	CategoryLogic         Category = "logic"
	CategoryData          Category = "data"
	CategoryAction        Category = "action"
	CategoryPayments      Category = "payments"
	CategoryShops         Category = "shops"
	CategoryCRM           Category = "crm"
	CategoryNotifications Category = "notifications"
	CategoryUtilities     Category = "utilities"
)

// FieldType is the type of a parameter; the editor picks its input widget from it and validation checks values
// against it.
type FieldType string

// Parameter types understood by validation and by the editor.
const (
	TypeString   FieldType = "string"     // one line of text; may interpolate {{ expr }} when Expression is set
	TypeText     FieldType = "text"       // multi-line text; may interpolate {{ expr }} when Expression is set
	TypeNumber   FieldType = "number"     // a JSON number
	TypeInteger  FieldType = "integer"    // a whole JSON number
	TypeBoolean  FieldType = "boolean"    // true or false
	TypeSelect   FieldType = "select"     // one of Options
	TypeExpr     FieldType = "expression" // expr source, evaluated per run (conditions, mapping values)
	TypeDuration FieldType = "duration"   // Go duration text such as "30s" or "5m"
	TypeCron     FieldType = "cron"       // a cron expression, seconds optional
	TypeJSON     FieldType = "json"       // any JSON value
	TypeKeyValue FieldType = "keyvalue"   // an object of string keys to string values (headers, query)
	TypeList     FieldType = "list"       // an array of rows, each an object described by Fields
	// TypeCode is program source in the language Field.Language names (core.code's JavaScript), edited in a
	// code editor; validation treats it as text and the node compiles it when the flow is saved.
	TypeCode FieldType = "code"
)

// Option is one choice of a select field.
type Option struct {
	Value       string `json:"value"`
	Label       string `json:"label"`
	Description string `json:"description,omitempty"`
}

// Example is a named, ready-to-use value for a field, shown in the editor and in generated docs.
type Example struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Field describes one parameter of a node: its type, default and constraints, and how the editor shows it.
type Field struct {
	Name        string    `json:"name"`
	Label       string    `json:"label"`
	Type        FieldType `json:"type"`
	Description string    `json:"description,omitempty"`
	Default     any       `json:"default,omitempty"`
	Required    bool      `json:"required,omitempty"`
	// Secret values are redacted in run data, exports and API responses.
	Secret bool `json:"secret,omitempty"`
	// Inbound marks a credential field that only checks what arrives (a webhook signing secret): it is handed
	// to triggers verifying a request and never to a step that sends one, so no flow can put it in an outgoing
	// request.
	Inbound bool `json:"inbound,omitempty"`
	// Advanced fields are folded away in the editor by default.
	Advanced bool `json:"advanced,omitempty"`
	// Expression means a string value may interpolate {{ expr }}; for TypeExpr the whole value is expr source.
	Expression bool `json:"expression,omitempty"`
	// ExprResult pins the result type of an expression field ("bool", "string", "number", "any").
	ExprResult string   `json:"exprResult,omitempty"`
	Options    []Option `json:"options,omitempty"`
	// TextKey names a shared translation (a locale file's "fields" entry) the field falls back to where its
	// node's own text says nothing: the fields a runtime gives many nodes (paging) are translated once.
	TextKey string `json:"-"`
	// LoadOptions says the field's choices come from the provider account the step's credential opens
	// (pipelines, order statuses): GET /api/v1/nodes/{type}/options/{field}?credential=… lists them, and the
	// editor offers them as a dropdown that still accepts an expression.
	LoadOptions bool `json:"loadOptions,omitempty"`
	// OptionsDependOn names sibling fields whose chosen values the loaded choices depend on (the stages of the
	// chosen pipeline): the options route takes their values, and the editor lists the choices again when one
	// changes and asks for it first while it is empty.
	OptionsDependOn []string `json:"optionsDependOn,omitempty"`
	// ShowIf shows the field only when every named sibling field has one of the listed values.
	ShowIf   map[string][]any `json:"showIf,omitempty"`
	Examples []Example        `json:"examples,omitempty"`
	// Fields describes the columns of each row of a TypeList field.
	Fields []Field `json:"fields,omitempty"`
	// Language names the language of a TypeCode field ("javascript"), so the editor can highlight it.
	Language string `json:"language,omitempty"`
	// Display asks the editor for a particular presentation of the field, so a node gets a richer form without
	// a special case in the editor; empty means the widget of the field's type.
	Display Display `json:"display,omitempty"`
}

// Display names a presentation of a field in the editor.
type Display string

// Presentations the editor understands.
const (
	// DisplayTable shows a TypeList field as a table: one row per item, one column per row field, with a
	// preview of expression columns on sample data.
	DisplayTable Display = "table"
)

// PortKind tells the main data ports from the error port, which the editor draws differently.
type PortKind string

// Port kinds.
const (
	PortMain  PortKind = "main"
	PortError PortKind = "error"
	// PortBack is an input that closes a loop (core.loop's "next"): an edge into it may lead back to a node that
	// comes before, the one kind of cycle a flow may have.
	PortBack PortKind = "back"
)

// ErrorPort is the id of the output port every node has: when a step fails for good and this port is connected,
// the run follows it with the error as data instead of failing.
const ErrorPort = "error"

// DefaultPort is the id of the single input and of the single output of nodes that have one.
const DefaultPort = "main"

// Port is a connection point of a node, addressed by id in flow edges.
type Port struct {
	ID    string   `json:"id"`
	Label string   `json:"label"`
	Kind  PortKind `json:"kind"`
}

// DynamicPorts says that a node's output ports come from one of its list parameters: one port per row, with the
// id taken from the row's PortField, followed by the Fixed ports.
type DynamicPorts struct {
	Param     string `json:"param"`
	PortField string `json:"portField"`
	// LabelField, when set, names the row field that labels the port in the editor.
	LabelField string `json:"labelField,omitempty"`
	Fixed      []Port `json:"fixed,omitempty"`
}

// Spec is everything Ferry knows about a node type without running it. It is served as the node catalog, drives
// the editor's forms and save-time validation, and documents the node.
type Spec struct {
	// Type is the permanent, namespaced, lowercase id ("core.map", "pay.stripe.refund").
	Type        string   `json:"type"`
	Version     int      `json:"version"`
	Name        string   `json:"name"`
	Category    Category `json:"category"`
	Description string   `json:"description"`
	// Trigger nodes start runs and have no input port.
	Trigger bool `json:"trigger,omitempty"`
	// Webhook triggers accept HTTP calls at /hooks/{flowId} (they implement WebhookTrigger); the editor shows
	// their live and test URLs. A test checks the flag against what each node's constructor returns.
	Webhook bool `json:"webhook,omitempty"`
	// Polling triggers fetch changes on an interval (they implement PollingTrigger); the editor shows their last
	// poll, its count and its error, with reset and backfill. A test checks the flag as it checks Webhook.
	Polling bool `json:"polling,omitempty"`
	// SideEffect nodes change something outside Ferry; test runs ask them what they would do instead.
	SideEffect bool   `json:"sideEffect,omitempty"`
	Inputs     []Port `json:"inputs"`
	// Outputs are the node's static output ports, not counting the error port every node has.
	Outputs []Port        `json:"outputs"`
	Dynamic *DynamicPorts `json:"dynamicOutputs,omitempty"`
	Params  []Field       `json:"params"`
	// Credentials lists the credential types the node accepts; empty means it takes none.
	Credentials []string `json:"credentials,omitempty"`
	// CredentialRequired means a flow must name a credential for this node.
	CredentialRequired bool `json:"credentialRequired,omitempty"`
	// Docs is longer Markdown documentation shown in the editor and in generated node docs.
	Docs string `json:"docs,omitempty"`
}

// OutputPorts returns the ports a node configured with params has, including the error port.
func (s *Spec) OutputPorts(params map[string]json.RawMessage) []Port {
	ports := append([]Port(nil), s.Outputs...)
	if s.Dynamic != nil {
		var rows []map[string]any
		if raw, ok := params[s.Dynamic.Param]; ok {
			_ = json.Unmarshal(raw, &rows)
		}
		for _, row := range rows {
			id, _ := row[s.Dynamic.PortField].(string)
			if id == "" {
				continue
			}
			label := id
			if s.Dynamic.LabelField != "" {
				if l, _ := row[s.Dynamic.LabelField].(string); l != "" {
					label = l
				}
			}
			ports = append(ports, Port{ID: id, Label: label, Kind: PortMain})
		}
		ports = append(ports, s.Dynamic.Fixed...)
	}
	return append(ports, Port{ID: ErrorPort, Label: "Error", Kind: PortError})
}

// HasOutput reports whether port is one of the node's output ports for params.
func (s *Spec) HasOutput(params map[string]json.RawMessage, port string) bool {
	for _, p := range s.OutputPorts(params) {
		if p.ID == port {
			return true
		}
	}
	return false
}

// IsBackInput reports whether port is an input that closes a loop (PortBack).
func (s *Spec) IsBackInput(port string) bool {
	for _, p := range s.Inputs {
		if p.ID == port {
			return p.Kind == PortBack
		}
	}
	return false
}

// HasInput reports whether port is one of the node's input ports.
func (s *Spec) HasInput(port string) bool {
	for _, p := range s.Inputs {
		if p.ID == port {
			return true
		}
	}
	return false
}

// Field returns the parameter named name, or nil.
func (s *Spec) Field(name string) *Field {
	for i := range s.Params {
		if s.Params[i].Name == name {
			return &s.Params[i]
		}
	}
	return nil
}
