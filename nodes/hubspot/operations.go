package hubspot

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// BatchSize is the most records HubSpot's batch endpoints take in one request.
const BatchSize = 100

// object is a CRM object type the actions cover.
type object struct {
	plural, singular, title string
	// unique is the usual unique property an upsert goes by; modified is the property holding the last change.
	unique, modified string
	example          string // a properties example
}

// Objects are the CRM object types of the actions, by their API name.
var objects = []object{
	{plural: "contacts", singular: "contact", title: "contact", unique: "email", modified: "lastmodifieddate",
		example: `{{ {"email": lower(trigger.body.customer.email), "firstname": trigger.body.customer.name} }}`},
	{plural: "companies", singular: "company", title: "company", unique: "domain", modified: "hs_lastmodifieddate",
		example: `{{ {"name": trigger.body.company, "domain": "example.com"} }}`},
	{plural: "deals", singular: "deal", title: "deal", unique: "", modified: "hs_lastmodifieddate",
		example: `{{ {"dealname": "Order " + trigger.body.orderNumber, "amount": trigger.body.total} }}`},
}

// ObjectTypes are the object types, as association fields offer them.
var ObjectTypes = []nodes.Option{{Value: "contacts", Label: "Contact"}, {Value: "companies", Label: "Company"}, {Value: "deals", Label: "Deal"}}

// Option sources loaded from the account.
var (
	pipelineSource = &connector.OptionSource{Path: "/crm/v3/pipelines/deals", Items: "/results", Value: "/id", Label: "/label"}
	// stageSource lists the stages of the pipeline chosen in the pipeline field, in their order. Without a
	// pipeline the editor asks for one first: a stage belongs to one pipeline, and a deal sent with a stage but
	// no pipeline lands in the default pipeline, where another pipeline's stage is refused.
	stageSource = &connector.OptionSource{Path: "/crm/v3/pipelines/deals/{pipeline}/stages", DependsOn: []string{"pipeline"},
		Items: "/results", Value: "/id", Label: "/label"}
	ownerSource = &connector.OptionSource{Path: "/crm/v3/owners", Query: map[string]string{"limit": "500", "archived": "false"},
		Items: "/results", Value: "/id", Label: "/email"}
)

func text(name, label, desc string, in connector.In, key string) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Expression: true, Description: desc}, In: in, Key: key}
}

func propertiesParam(o object, required bool) connector.Param {
	return connector.Param{Field: nodes.Field{Name: "properties", Label: "Properties", Type: nodes.TypeJSON, Expression: true, Required: required,
		Description: "The " + o.title + "'s properties by their internal name: a JSON object, or an expression making one; values are sent as text, as HubSpot takes them.",
		Examples:    []nodes.Example{{Name: "Properties", Value: o.example}}}, In: connector.InBody, Key: "/properties", As: connector.AsJSON}
}

// extraParams are the fields set from choices loaded from the account: the owner, and a deal's pipeline and stage.
func extraParams(o object) []connector.Param {
	owner := connector.Param{Field: nodes.Field{Name: "owner", Label: "Owner", Type: nodes.TypeSelect, Expression: true,
		Description: "The record's owner (hubspot_owner_id); the account's owners load as choices."},
		In: connector.InBody, Key: "/extra/hubspot_owner_id", As: connector.AsString, Options: ownerSource}
	if o.plural != "deals" {
		return []connector.Param{owner}
	}
	return []connector.Param{
		{Field: nodes.Field{Name: "pipeline", Label: "Pipeline", Type: nodes.TypeSelect, Expression: true,
			Description: "The deal's pipeline; the account's deal pipelines load as choices."},
			In: connector.InBody, Key: "/extra/pipeline", As: connector.AsString, Options: pipelineSource},
		{Field: nodes.Field{Name: "stage", Label: "Stage", Type: nodes.TypeSelect, Expression: true,
			Description: "The deal's stage (dealstage); the stages of the pipeline chosen above load as choices.",
			Examples:    []nodes.Example{{Name: "Closed won (default pipeline)", Value: "closedwon"}}},
			In: connector.InBody, Key: "/extra/dealstage", As: connector.AsString, Options: stageSource},
		owner,
	}
}

func idParam(o object) connector.Param {
	p := text("id", "Record", "The "+o.title+"'s record id, or its value of the unique property below.", connector.InPath, "id")
	p.Required = true
	p.Examples = []nodes.Example{{Name: "From an earlier step", Value: "{{ prev.id }}"}}
	return p
}

func idPropertyParam(o object, required bool) connector.Param {
	p := text("idProperty", "Unique property", "A property whose values are unique for "+o.plural+
		" (email for contacts, or a custom unique property); empty: the record id.", connector.InQuery, "idProperty")
	if required {
		p.Description = "The property whose values are unique for " + o.plural + ", which identifies the record (email for contacts, or a custom unique property)."
		p.Required = true
		if o.unique != "" {
			p.Default = o.unique
		}
	}
	return p
}

// Properties writes a property map as HubSpot takes it: every value as text (numbers and booleans as written,
// null as empty). It refuses a value that is an object or a list.
func Properties(v any) (map[string]any, error) {
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the properties are not an object of property names and values")
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		switch val.(type) {
		case map[string]any, []any:
			return nil, fmt.Errorf("property %s is an object or a list; HubSpot properties take text (multiple checkboxes: values separated by ;)", k)
		case nil:
			out[k] = ""
		default:
			out[k] = expression.Stringify(val)
		}
	}
	return out, nil
}

// recordProperties are the body's properties as text with the fields set from loaded choices (owner, pipeline,
// stage: under "extra") over them.
func recordProperties(body map[string]any) (map[string]any, error) {
	props, err := Properties(body["properties"])
	if err != nil {
		return nil, err
	}
	extra, err := Properties(body["extra"])
	if err != nil {
		return nil, err
	}
	for k, v := range extra {
		props[k] = v
	}
	return props, nil
}

// shapeProperties writes the body's properties as text and adds what the create endpoint requires.
func shapeProperties(create bool) func(map[string]any) (map[string]any, error) {
	return func(body map[string]any) (map[string]any, error) {
		props, err := recordProperties(body)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"properties": props}
		if create {
			out["associations"] = []any{}
		}
		return out, nil
	}
}

// shapeUpsert wraps one record in the batch upsert's inputs.
func shapeUpsert(body map[string]any) (map[string]any, error) {
	props, err := recordProperties(body)
	if err != nil {
		return nil, err
	}
	idProperty, _ := body["idProperty"].(string)
	id := expression.Stringify(body["id"])
	if strings.TrimSpace(id) == "" || idProperty == "" {
		return nil, fmt.Errorf("the upsert needs a unique property and its value")
	}
	if _, ok := props[idProperty]; !ok {
		// HubSpot creates the record with the unique value only when it is among the properties.
		props[idProperty] = id
	}
	return map[string]any{"inputs": []any{map[string]any{"idProperty": idProperty, "id": id, "properties": props}}}, nil
}

// shapeBatchUpsert checks a list of records and writes each as an input of the batch upsert.
func shapeBatchUpsert(body map[string]any) (map[string]any, error) {
	idProperty, _ := body["idProperty"].(string)
	records, ok := body["records"].([]any)
	if !ok || len(records) == 0 {
		return nil, fmt.Errorf("the records are not a list of records")
	}
	if len(records) > BatchSize {
		return nil, fmt.Errorf("%d records: HubSpot takes at most %d in one batch; split the list (a loop over chunks of %d)", len(records), BatchSize, BatchSize)
	}
	inputs := make([]any, 0, len(records))
	seen := map[string]bool{}
	for i, r := range records {
		rec, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("record %d is not an object {id, properties}", i+1)
		}
		props, err := Properties(rec["properties"])
		if err != nil {
			return nil, fmt.Errorf("record %d: %v", i+1, err)
		}
		id := expression.Stringify(rec["id"])
		if rec["id"] == nil || strings.TrimSpace(id) == "" {
			if v, ok := props[idProperty].(string); ok {
				id = v
			}
		}
		if strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("record %d has no %s (its id, or the property itself)", i+1, idProperty)
		}
		if seen[id] {
			// HubSpot refuses a batch naming one record twice; which of the two should win is not for Ferry to guess.
			return nil, fmt.Errorf("record %d repeats %s %q", i+1, idProperty, id)
		}
		seen[id] = true
		if _, ok := props[idProperty]; !ok {
			props[idProperty] = id
		}
		inputs = append(inputs, map[string]any{"idProperty": idProperty, "id": id, "properties": props})
	}
	return map[string]any{"inputs": inputs}, nil
}

// shapeSearch adds the parts of a search HubSpot's description requires even when empty, and starts at the
// first page ("after": "0") unless a cursor is given.
func shapeSearch(body map[string]any) (map[string]any, error) {
	out := map[string]any{"filterGroups": []any{}, "sorts": []any{}, "properties": []any{}, "after": "0"}
	for k, v := range body {
		out[k] = v
	}
	if _, ok := out["filterGroups"].([]any); !ok {
		return nil, fmt.Errorf("the filter groups are not a list of {filters: […]}")
	}
	return out, nil
}

func operations(o object) []connector.Operation {
	base := "/crm/v3/objects/" + o.plural
	cat := nodes.CategoryCRM
	name := func(verb string) string { return "HubSpot: " + verb + " " + o.title }
	create := append([]connector.Param{propertiesParam(o, true)}, extraParams(o)...)
	update := append([]connector.Param{idParam(o), idPropertyParam(o, false), propertiesParam(o, false)}, extraParams(o)...)
	value := text("value", "Unique value", "The record's value of the unique property: the record with it is updated, or one is created with it.",
		connector.InBody, "/id")
	value.Required = true
	value.Examples = []nodes.Example{{Name: "E-mail from the trigger", Value: "{{ lower(trigger.body.customer.email) }}"}}
	upsertID := idPropertyParam(o, true)
	upsertID.In, upsertID.Key = connector.InBody, "/idProperty"
	upsert := append([]connector.Param{upsertID, value, propertiesParam(o, false)}, extraParams(o)...)
	batchID := idPropertyParam(o, true)
	batchID.In, batchID.Key = connector.InBody, "/idProperty"
	records := connector.Param{Field: nodes.Field{Name: "records", Label: "Records", Type: nodes.TypeJSON, Expression: true, Required: true,
		Description: fmt.Sprintf("A list of at most %d records, each {\"id\": its unique value, \"properties\": {…}}.", BatchSize),
		Examples:    []nodes.Example{{Name: "Records from a list", Value: `{{ map(prev.items, {"id": #.email, "properties": {"firstname": #.name}}) }}`}}},
		In: connector.InBody, Key: "/records", As: connector.AsJSON}
	list := func(name, label, desc string) connector.Param {
		return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Expression: true, Description: desc},
			In: connector.InQuery, Key: name, As: connector.AsList}
	}
	props := list("properties", "Properties to read", "Property names, separated by commas; empty reads HubSpot's default properties.")
	upsertDocs := "One record through the batch upsert endpoint (`POST " + base + "/batch/upsert` with `idProperty`): HubSpot " +
		"updates the " + o.title + " whose unique property has the value, or creates one with it, in one request, so two " +
		"steps racing for one new value cannot create two. Outputs the record (`id`, `properties`, `new`: whether it was " +
		"created). The unique property must be one whose values HubSpot keeps unique (email for contacts, a custom " +
		"property marked unique)."
	return []connector.Operation{
		{Type: "hubspot." + o.singular + ".create", Name: name("create"), Category: cat, SideEffect: true,
			Description: "Creates a " + o.title + " with the properties given.", Method: http.MethodPost, Path: base, OutputLabel: titleCase(o.title),
			Params: create, Shape: shapeProperties(true),
			Docs: "Outputs the created record (`id`, `properties`, `createdAt`). HubSpot takes no idempotency key: a create retried " +
				"after a lost answer may create the " + o.title + " twice; prefer the upsert where a unique property exists."},
		{Type: "hubspot." + o.singular + ".update", Name: name("update"), Category: cat, SideEffect: true,
			Description: "Changes properties of a " + o.title + ".", Method: http.MethodPatch, Path: base + "/{id}", OutputLabel: titleCase(o.title),
			Params: update, Shape: shapeProperties(false),
			Docs: "Properties not given are left as they are; an empty text clears a property. An unknown record fails with `hubspot_not_found`."},
		{Type: "hubspot." + o.singular + ".get", Name: name("get"), Category: cat,
			Description: "Reads a " + o.title + " by its id or a unique property.", Method: http.MethodGet, Path: base + "/{id}", OutputLabel: titleCase(o.title),
			Params: []connector.Param{idParam(o), idPropertyParam(o, false), props,
				list("associations", "Associated types", "Object types whose associated record ids to read (contacts, companies, deals), separated by commas.")},
			Docs: "Outputs `{id, properties, createdAt, updatedAt, archived}` and, when asked, `associations`. An unknown record fails with `hubspot_not_found`."},
		{Type: "hubspot." + o.singular + ".upsert", Name: name("create or update"), Category: cat, SideEffect: true,
			Description: "Updates the " + o.title + " with a unique value, or creates one.", Method: http.MethodPost, Path: base + "/batch/upsert",
			OutputLabel: titleCase(o.title), Params: upsert, Shape: shapeUpsert, Result: "/results/0", RequireResult: true, Docs: upsertDocs,
			Conflict: upsertConflict(o, base)},
		{Type: "hubspot." + o.plural + ".upsert", Name: "HubSpot: create or update " + o.plural + " (batch)", Category: cat, SideEffect: true,
			Description: fmt.Sprintf("Creates or updates up to %d %s in one request, by a unique property.", BatchSize, o.plural),
			Method:      http.MethodPost, Path: base + "/batch/upsert", OutputLabel: "Results",
			Params: []connector.Param{batchID, records}, Shape: shapeBatchUpsert, Conflict: batchConflict(o, base),
			Docs: fmt.Sprintf("`POST %s/batch/upsert` with every record as an input `{idProperty, id, properties}`. Outputs HubSpot's "+
				"answer `{status, results: [{id, properties, new}…], errors}`; a batch where some records failed answers 207 and "+
				"lists them under `errors`. More than %d records fail before sending with `hubspot_request_invalid`; a record "+
				"repeating a unique value too. *When the record exists* applies a conflict policy record by record: every "+
				"policy but source reads all the records first in one request (`POST %s/batch/read` with `idProperty`, the "+
				"properties written and the last-changed one), leaves out of the upsert the records it leaves nothing to "+
				"write in, and lists them in `results` as read with `written: false` (those written have `written: true`; "+
				"the output has the `policy`). When no record is left, no upsert is sent and the output is `{results, "+
				"written: false, policy}`. Review is not offered: one run cannot wait for a person per record; use "+
				"`hubspot.%s.upsert` for that.", base, BatchSize, base, o.singular)},
		{Type: "hubspot." + o.plural + ".search", Name: "HubSpot: search " + o.plural, Category: cat,
			Description: "Lists the " + o.plural + " matching filters or a text query, page by page.", Method: http.MethodPost, Path: base + "/search",
			OutputLabel: titleCase(o.plural),
			Params: []connector.Param{
				text("query", "Text", "Text HubSpot looks for in the default searchable properties.", connector.InBody, "/query"),
				{Field: nodes.Field{Name: "filterGroups", Label: "Filter groups", Type: nodes.TypeJSON, Expression: true,
					Description: "HubSpot's filterGroups: up to 5 groups (any may match) of up to 6 filters (all must match), each {propertyName, operator, value}.",
					Examples:    []nodes.Example{{Name: "By e-mail", Value: `[{"filters": [{"propertyName": "email", "operator": "EQ", "value": "{{ lower(trigger.body.email) }}"}]}]`}}},
					In: connector.InBody, Key: "/filterGroups", As: connector.AsJSON},
				{Field: nodes.Field{Name: "properties", Label: "Properties to read", Type: nodes.TypeString, Expression: true,
					Description: "Property names, separated by commas; empty reads HubSpot's default properties."},
					In: connector.InBody, Key: "/properties", As: connector.AsList},
			},
			Shape: shapeSearch,
			Pagination: &connector.Pagination{Style: connector.PageCursor, Items: "/results", Next: "/paging/next/after",
				CursorIn: connector.InBody, CursorKey: "after", SizeKey: "limit", Size: 100, MaxSize: 200},
			Docs: "`POST " + base + "/search` with `filterGroups`, `query`, `properties` and `limit` (up to 200) in the body; " +
				"the next page's `after` cursor goes back in the body. HubSpot's search returns at most 10,000 results for one " +
				"search and takes about 5 searches a second per account (a 429 with policy `SECONDLY` waits a second). Records " +
				"changed a few seconds ago may not be found yet: search indexes lag writes."},
	}
}

func titleCase(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func init() {
	var ops []connector.Operation
	for _, o := range objects {
		ops = append(ops, operations(o)...)
	}
	typeParam := func(name, label string, def string) connector.Param {
		return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeSelect, Expression: true, Required: true,
			Default: def, Options: ObjectTypes}, In: connector.InPath, Key: name}
	}
	idOf := func(name, label, example string) connector.Param {
		p := text(name, label, "The record id.", connector.InPath, name)
		p.Required = true
		p.Examples = []nodes.Example{{Name: "From an earlier step", Value: example}}
		return p
	}
	ops = append(ops, connector.Operation{Type: "hubspot.associate", Name: "HubSpot: associate records", Category: nodes.CategoryCRM, SideEffect: true,
		Description: "Associates two records (deal ↔ contact ↔ company) with HubSpot's default association.",
		Method:      http.MethodPut, Path: "/crm/v4/objects/{fromType}/{fromId}/associations/default/{toType}/{toId}", OutputLabel: "Association",
		Params: []connector.Param{typeParam("fromType", "From type", "deals"), idOf("fromId", "From record", "{{ prev.id }}"),
			typeParam("toType", "To type", "contacts"), idOf("toId", "To record", "{{ vars.contactId }}")},
		Docs: "CRM v4 `PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}`: the unlabelled association HubSpot " +
			"makes between the two types. Associating twice changes nothing, so a retried step is harmless. Outputs HubSpot's " +
			"answer `{status, results: [{from, to, associationSpec}]}`."})
	provider.MustRegister(ops...)
}
