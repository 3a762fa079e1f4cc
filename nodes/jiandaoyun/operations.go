package jiandaoyun

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// appSource loads the apps the API key reaches (POST /app/list, up to 100).
var appSource = &connector.OptionSource{Method: http.MethodPost, Path: "/app/list", Body: map[string]any{"limit": 100, "skip": 0},
	Items: "/apps", Value: "/app_id", Label: "/name"}

// entrySource loads the forms of the app chosen in the app field (POST /app/entry/list, up to 100).
var entrySource = &connector.OptionSource{Method: http.MethodPost, Path: "/app/entry/list", DependsOn: []string{"app"},
	Body: map[string]any{"app_id": "{app}", "limit": 100, "skip": 0}, Items: "/forms", Value: "/entry_id", Label: "/name"}

// objectID is the shape of Jiandaoyun's app, form and record ids (24 hexadecimal digits).
var objectID = regexp.MustCompile(`^[0-9a-fA-F]{24}$`)

// checkID checks an app, form or record id.
func checkID(kind string) func(any) (any, error) {
	return func(v any) (any, error) {
		s := strings.TrimSpace(fmt.Sprint(v))
		if !objectID.MatchString(s) {
			return nil, fmt.Errorf("%q is not a Jiandaoyun %s id (24 hexadecimal digits such as 59264073a2a60c0c08e20bfb)", s, kind)
		}
		return s, nil
	}
}

// Wrap turns a record written as plain values ({"_widget_1": "简道云", "_widget_2": 100}) into the shape
// Jiandaoyun's data interfaces take, each value under "value" ({"_widget_1": {"value": "简道云"}}). A value
// already written as {"value": …} is kept; a list of objects is a subform's rows, whose fields are wrapped the
// same way (a row's _id stays as it is).
func Wrap(record map[string]any) map[string]any {
	out := make(map[string]any, len(record))
	for k, v := range record {
		out[k] = wrapValue(v)
	}
	return out
}

func wrapValue(v any) map[string]any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if _, has := m["value"]; has {
			return m
		}
	}
	if list, ok := v.([]any); ok && len(list) > 0 {
		rows := make([]any, 0, len(list))
		for _, item := range list {
			row, isObj := item.(map[string]any)
			if !isObj {
				return map[string]any{"value": v}
			}
			wrapped := make(map[string]any, len(row))
			for k, fv := range row {
				if k == "_id" {
					wrapped[k] = fv
					continue
				}
				wrapped[k] = wrapValue(fv)
			}
			rows = append(rows, wrapped)
		}
		return map[string]any{"value": rows}
	}
	return map[string]any{"value": v}
}

// shapeData wraps the record of a create or an update; an empty record is refused.
func shapeData(body map[string]any) (map[string]any, error) {
	rec, ok := body["data"].(map[string]any)
	if !ok || len(rec) == 0 {
		return nil, fmt.Errorf("the data is not an object of fields ({\"_widget_1432728651402\": \"简道云\"})")
	}
	body["data"] = Wrap(rec)
	return body, nil
}

// checkFilter checks a filter's outline ({"rel": "and"|"or", "cond": […]}); the conditions are Jiandaoyun's
// to judge, and its refusal is quoted.
func checkFilter(v any) (any, error) {
	f, ok := objectOf(v)
	if !ok {
		return nil, fmt.Errorf("the filter is not an object ({\"rel\": \"and\", \"cond\": [{\"field\": …, \"method\": \"eq\", \"value\": […]}]})")
	}
	if rel, _ := f["rel"].(string); rel != "and" && rel != "or" {
		return nil, fmt.Errorf("the filter's rel is %v, not \"and\" or \"or\"", f["rel"])
	}
	if _, ok := f["cond"].([]any); !ok {
		return nil, fmt.Errorf("the filter has no cond list of conditions")
	}
	return f, nil
}

// objectOf is a JSON object given as an object or as its text.
func objectOf(v any) (map[string]any, bool) {
	if s, isText := v.(string); isText {
		parsed, err := nodes.DecodeJSON([]byte(s))
		if err != nil {
			return nil, false
		}
		v = parsed
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// checkRecord checks the data of a create or an update: an object of fields, given as an object or its text.
func checkRecord(v any) (any, error) {
	m, ok := objectOf(v)
	if !ok || len(m) == 0 {
		return nil, fmt.Errorf("the data is not an object of fields ({\"_widget_1432728651402\": \"简道云\"})")
	}
	return m, nil
}

func idParam(name, label, kind, key, desc string) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Expression: true, Required: true, Description: desc},
		In: connector.InBody, Key: key, Transform: checkID(kind)}
}

func boolParam(name, label, key, desc string) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeBoolean, Advanced: true, Description: desc},
		In: connector.InBody, Key: key, As: connector.AsBoolean}
}

func init() {
	app := connector.Param{Field: nodes.Field{Name: "app", Label: "App", Type: nodes.TypeSelect, Expression: true, Required: true,
		Description: "The app (app_id); the apps the API key reaches load from the account."},
		In: connector.InBody, Key: "/app_id", Options: appSource, Transform: checkID("app")}
	entry := idParam("entry", "Form", "form", "/entry_id",
		"The form (entry_id); the forms of the app chosen above load from the account, or type its id from the form's address (…/app/{app_id}/entry/{entry_id}).")
	entry.Type, entry.Options = nodes.TypeSelect, entrySource
	dataID := idParam("dataId", "Record", "record", "/data_id", "The record's _id.")
	dataID.Examples = []nodes.Example{{Name: "From the trigger", Value: "{{ trigger.body.data._id }}"}}
	data := connector.Param{Field: nodes.Field{Name: "data", Label: "Data", Type: nodes.TypeJSON, Expression: true, Required: true,
		Description: "The record's fields by field id or alias, as plain values: {\"_widget_1432728651402\": \"简道云\", \"amount\": 100}. " +
			"The node wraps each as {\"value\": …}; a value already written so is kept, and a subform's rows are wrapped field by field.",
		Examples: []nodes.Example{{Name: "From a payment",
			Value: `{{ {"customer": trigger.body.payer.name, "amount": trigger.body.amount} }}`}}},
		In: connector.InBody, Key: "/data", As: connector.AsJSON, Transform: checkRecord}
	creator := connector.Param{Field: nodes.Field{Name: "creator", Label: "Submitted by", Type: nodes.TypeString, Expression: true, Advanced: true,
		Description: "The member recorded as submitter (their username); empty is the company's creator."},
		In: connector.InBody, Key: "/data_creator"}
	transaction := connector.Param{Field: nodes.Field{Name: "transactionId", Label: "Transaction", Type: nodes.TypeString, Expression: true, Advanced: true,
		Description: "The transaction_id the files of the record's attachment and image fields were uploaded with; needed only with files."},
		In: connector.InBody, Key: "/transaction_id"}
	workflow := boolParam("startWorkflow", "Start workflow", "/is_start_workflow", "Start the form's workflow for the new record (workflow forms only).")
	assistant := boolParam("startTrigger", "Run smart assistants", "/is_start_trigger", "Let the form's smart assistants (智能助手) act on the change.")
	fields := connector.Param{Field: nodes.Field{Name: "fields", Label: "Fields", Type: nodes.TypeString, Expression: true, Advanced: true,
		Description: "The fields to read, by id or alias, separated by commas; empty reads every field."},
		In: connector.InBody, Key: "/fields", As: connector.AsList}
	filter := connector.Param{Field: nodes.Field{Name: "filter", Label: "Filter", Type: nodes.TypeJSON, Expression: true,
		Description: "Jiandaoyun's data filter: {\"rel\": \"and\"|\"or\", \"cond\": [{\"field\": …, \"type\": …, \"method\": \"eq\"|\"ne\"|\"in\"|\"range\"|\"like\"|\"empty\"…, \"value\": […]}]}; empty lists every record.",
		Examples: []nodes.Example{{Name: "Text equals", Value: `{"rel": "and", "cond": [{"field": "_widget_1432728651402", "type": "text", "method": "eq", "value": ["简道云"]}]}`},
			{Name: "Submitted this month", Value: `{"rel": "and", "cond": [{"field": "createTime", "method": "range", "value": ["2026-12-01T00:00:00.000Z", null]}]}`}}},
		In: connector.InBody, Key: "/filter", As: connector.AsJSON, Transform: checkFilter}

	provider.MustRegister(
		connector.Operation{Type: "jiandaoyun.data.create", Name: "Jiandaoyun: create record", Category: nodes.CategoryCRM, SideEffect: true,
			Description: "Adds a record to a form.", Unrepeatable: true,
			Method: http.MethodPost, Path: "/app/entry/data/create", OutputLabel: "Record",
			Params: []connector.Param{app, entry, data, creator, workflow, assistant, transaction},
			Shape:  shapeData, Result: "/data", RequireResult: true,
			Docs: "`POST /api/v5/app/entry/data/create` with `{\"app_id\", \"entry_id\", \"data\": {field: {\"value\": …}}}`. " +
				"Outputs the new record (`_id`, the fields, `creator`, `createTime`…). Jiandaoyun documents no idempotency for a " +
				"single create (its `transaction_id` binds uploaded files), so a create whose outcome is unknown (a timeout, a " +
				"5xx) is not sent again: the step fails with `jiandaoyun_outcome_unknown`; look in the form before running it " +
				"again. API-created records skip duplicate and required-field checks, as Jiandaoyun documents."},
		connector.Operation{Type: "jiandaoyun.data.update", Name: "Jiandaoyun: update record", Category: nodes.CategoryCRM, SideEffect: true,
			Description: "Changes fields of a record by its id.",
			Method:      http.MethodPost, Path: "/app/entry/data/update", OutputLabel: "Record",
			Params: []connector.Param{app, entry, dataID, data, assistant, transaction},
			Shape:  shapeData, Result: "/data", RequireResult: true,
			Docs: "`POST /api/v5/app/entry/data/update` with `{\"app_id\", \"entry_id\", \"data_id\", \"data\": {field: {\"value\": …}}}`. " +
				"Fields left out keep their value; sending the same update again gives the same record. Outputs the record as saved. " +
				"*When the record exists* applies a conflict policy: every policy but the first reads the record first " +
				"(`POST /api/v5/app/entry/data/get` by its `data_id`) and compares the fields given with the record's; the newer " +
				"side wins compares with the record's `updateTime` (or the field named). Values are compared, and a review " +
				"shows them, as plain values, not wrapped.",
			Conflict: updateConflict},
		connector.Operation{Type: "jiandaoyun.data.get", Name: "Jiandaoyun: get record", Category: nodes.CategoryCRM,
			Description: "Reads one record by its id.",
			Method:      http.MethodPost, Path: "/app/entry/data/get", OutputLabel: "Record",
			Params: []connector.Param{app, entry, dataID},
			Result: "/data", RequireResult: true,
			Docs: "`POST /api/v5/app/entry/data/get` with `{\"app_id\", \"entry_id\", \"data_id\"}`. Outputs the record's fields by " +
				"id or alias with its system fields (`_id`, `creator`, `createTime`, `updateTime`, `flowState`)."},
		connector.Operation{Type: "jiandaoyun.data.list", Name: "Jiandaoyun: list records", Category: nodes.CategoryCRM,
			Description: "Lists a form's records, filtered, page by page.",
			Method:      http.MethodPost, Path: "/app/entry/data/list", OutputLabel: "Records",
			Params: []connector.Param{app, entry, filter, fields},
			Pagination: &connector.Pagination{Style: connector.PageCursor, Items: "/data", Next: "/" + nextKey,
				CursorIn: connector.InBody, CursorKey: "data_id", SizeKey: "limit", Size: 100, MaxSize: 100},
			Docs: "`POST /api/v5/app/entry/data/list` with `{\"app_id\", \"entry_id\", \"filter\", \"fields\", \"limit\", \"data_id\"}`, " +
				"in the order of the records' ids: each page asks for up to 100 records after the last `_id` of the page before " +
				"(`data_id`), and an empty page ends the list (one request more than the records need)."},
	)
}
