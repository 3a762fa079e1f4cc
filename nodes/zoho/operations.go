package zoho

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// moduleSource loads the account's modules, custom ones included, as the API names them: Leads, Contacts,
// Deals, Accounts…, labelled with their plural name in the account's language.
var moduleSource = &connector.OptionSource{Path: "/settings/modules", Items: "/modules", Value: "/api_name", Label: "/plural_label"}

// Modules are the modules every Zoho CRM account has, for the form before options load from the account.
var Modules = []nodes.Option{
	{Value: "Leads", Label: "Leads"}, {Value: "Contacts", Label: "Contacts"}, {Value: "Accounts", Label: "Accounts"},
	{Value: "Deals", Label: "Deals"}, {Value: "Tasks", Label: "Tasks"}, {Value: "Products", Label: "Products"},
}

var (
	apiName  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	recordID = regexp.MustCompile(`^[0-9]{1,25}$`)
	// coqlPaging finds a LIMIT or OFFSET clause the node would add itself.
	coqlPaging = regexp.MustCompile(`(?i)\b(limit|offset)\s+\d`)
)

// checkAPIName checks a module's or field's API name (Leads, Last_Name, Custom_Module1).
func checkAPIName(kind string) func(any) (any, error) {
	return func(v any) (any, error) {
		s := strings.TrimSpace(fmt.Sprint(v))
		if !apiName.MatchString(s) {
			return nil, fmt.Errorf("%q is not a Zoho CRM %s API name (such as %s)", s, kind, map[string]string{"module": "Leads", "field": "Last_Name"}[kind])
		}
		return s, nil
	}
}

// checkRecordID checks a record id: Zoho's ids are long numbers (4150868000000224005).
func checkRecordID(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if !recordID.MatchString(s) {
		return nil, fmt.Errorf("%q is not a Zoho CRM record id (a number such as 4150868000000224005)", s)
	}
	return s, nil
}

// oneRecord wraps the record given as an object into the data list Zoho takes.
func oneRecord(v any) (any, error) {
	rec, ok := v.(map[string]any)
	if !ok || len(rec) == 0 {
		return nil, fmt.Errorf("the record is not an object of fields ({\"Last_Name\": \"Lovelace\", \"Email\": \"ada@example.com\"})")
	}
	return []any{rec}, nil
}

// duplicateCheck checks the duplicate-check fields' API names; whether a field may match records (unique, or a
// system duplicate-check field) is Zoho's to say, and its refusal is quoted.
func duplicateCheck(v any) (any, error) {
	list, _ := v.([]any)
	out := make([]any, 0, len(list))
	for _, item := range list {
		s := strings.TrimSpace(fmt.Sprint(item))
		if s == "" {
			continue
		}
		if !apiName.MatchString(s) {
			return nil, fmt.Errorf("%q is not a field's API name (such as Email)", s)
		}
		out = append(out, s)
	}
	return out, nil
}

// checkQuery refuses a COQL query that pages itself: the node adds LIMIT offset, size for each page.
func checkQuery(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	s = strings.TrimSuffix(s, ";")
	if !strings.HasPrefix(strings.ToLower(s), "select ") {
		return nil, fmt.Errorf("a COQL query starts with select (select Last_Name, Email from Leads where Email = 'ada@example.com')")
	}
	if coqlPaging.MatchString(s) {
		return nil, fmt.Errorf("leave LIMIT and OFFSET out of the query: the node adds them for each page (Records per page, Start at)")
	}
	return s, nil
}

// placeCOQL ends the page's query with LIMIT offset, size, Zoho's COQL paging.
func placeCOQL(body map[string]any, pos connector.Position, size int) (map[string]any, error) {
	q, _ := body["select_query"].(string)
	if q == "" {
		return nil, fmt.Errorf("the query is empty")
	}
	body["select_query"] = fmt.Sprintf("%s limit %d, %d", q, pos.Offset, size)
	return body, nil
}

func moduleParam(required bool) connector.Param {
	return connector.Param{Field: nodes.Field{Name: "module", Label: "Module", Type: nodes.TypeSelect, Expression: true, Required: required,
		Description: "The module's API name (Leads, Contacts, Deals, a custom module's); the account's modules load from it.",
		Options:     Modules, Default: "Contacts"},
		In: connector.InPath, Key: "module", Options: moduleSource, Transform: checkAPIName("module")}
}

func text(name, label, desc string, in connector.In, key string) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Expression: true, Description: desc}, In: in, Key: key}
}

func init() {
	record := connector.Param{Field: nodes.Field{Name: "record", Label: "Record", Type: nodes.TypeJSON, Expression: true, Required: true,
		Description: "The record's fields by API name: {\"Last_Name\": \"Lovelace\", \"Email\": \"ada@example.com\"}. Fields left out keep their value.",
		Examples: []nodes.Example{{Name: "A contact from a payment",
			Value: `{{ {"Last_Name": trigger.body.payer.name, "Email": lower(trigger.body.payer.email)} }}`}}},
		In: connector.InBody, Key: "/data", As: connector.AsJSON, Transform: oneRecord}
	dup := connector.Param{Field: nodes.Field{Name: "duplicateCheckFields", Label: "Match on", Type: nodes.TypeString, Expression: true,
		Description: "The fields that identify the record, by API name, separated by commas (Email; a unique custom field such as " +
			"External_Id). Empty uses the module's system duplicate-check fields (Email for leads and contacts, the name for accounts).",
		Examples: []nodes.Example{{Name: "By e-mail", Value: "Email"}, {Name: "By an external id", Value: "External_Id"}}},
		In: connector.InBody, Key: "/duplicate_check_fields", As: connector.AsList, Transform: duplicateCheck}
	trigger := connector.Param{Field: nodes.Field{Name: "trigger", Label: "Run in Zoho", Type: nodes.TypeString, Expression: true, Advanced: true,
		Description: "What Zoho runs on the saved record, separated by commas: workflow, approval, blueprint, pathfinder, orchestration. " +
			"Left empty, the key is not sent and Zoho runs all of them, as for a record saved in its app.",
		Examples: []nodes.Example{{Name: "Workflow rules only", Value: "workflow"}}},
		In: connector.InBody, Key: "/trigger", As: connector.AsList}
	id := text("id", "Record", "The record's id.", connector.InPath, "id")
	id.Required, id.Transform = true, checkRecordID
	id.Examples = []nodes.Example{{Name: "From the upsert", Value: "{{ prev.details.id }}"}}
	fieldsParam := text("fields", "Fields", "The fields to read, by API name, separated by commas; empty reads every field.", connector.InQuery, "fields")
	fieldsParam.Advanced = true
	criteria := text("criteria", "Criteria", "Zoho's search criteria: ((Field:operator:value)and(…)), operators equals, starts_with, "+
		"in, between, greater_than… Brackets, commas and the word and/or inside a value are escaped with a backslash.", connector.InQuery, "criteria")
	criteria.Examples = []nodes.Example{{Name: "By e-mail", Value: "(Email:equals:{{ lower(trigger.body.email) }})"},
		{Name: "Two conditions", Value: "((Lead_Source:equals:Web)and(Created_Time:greater_than:2026-11-01T00:00:00+00:00))"}}
	email := text("email", "E-mail", "Records with this e-mail address in any e-mail field (instead of criteria).", connector.InQuery, "email")
	phone := text("phone", "Phone", "Records with this number in any phone field (instead of criteria).", connector.InQuery, "phone")
	word := text("word", "Word", "Records with this word in any text field (instead of criteria).", connector.InQuery, "word")
	query := connector.Param{Field: nodes.Field{Name: "query", Label: "COQL query", Type: nodes.TypeText, Expression: true, Required: true,
		Description: "A COQL select without LIMIT or OFFSET (the node pages): select Last_Name, Email from Contacts where Email = 'ada@example.com'. " +
			"Values come from expressions; quote texts with single quotes.",
		Examples: []nodes.Example{{Name: "Deals won this month",
			Value: "select Deal_Name, Amount, Contact_Name from Deals where Stage = 'Closed Won' and Closing_Date >= '{{ date(\"2026-12-01\") }}'"}}},
		In: connector.InBody, Key: "/select_query", Transform: checkQuery}
	fieldsOf := connector.Param{Field: nodes.Field{Name: "module", Label: "Module", Type: nodes.TypeSelect, Expression: true, Required: true,
		Description: "The module whose fields to list.", Options: Modules, Default: "Contacts"},
		In: connector.InQuery, Key: "module", Options: moduleSource, Transform: checkAPIName("module")}

	provider.MustRegister(
		connector.Operation{Type: "zoho.crm.record.upsert", Name: "Zoho CRM: create or update record", Category: nodes.CategoryCRM, SideEffect: true,
			Description: "Updates the record the match fields find, or creates one, in any module.",
			Method:      http.MethodPost, Path: "/{module}/upsert", OutputLabel: "Result",
			Params: []connector.Param{moduleParam(true), record, dup, trigger},
			Result: "/data/0", RequireResult: true,
			Docs: "`POST /crm/v8/{module}/upsert` with `{\"data\": [record], \"duplicate_check_fields\": […]}`. Zoho looks for a " +
				"record whose match fields equal the record's and updates it, or creates one: sending it again updates the same " +
				"record, so a retried step does not duplicate. Outputs Zoho's answer for the record: `{\"code\": \"SUCCESS\", " +
				"\"action\": \"insert\"|\"update\", \"duplicate_field\": …, \"details\": {\"id\": …, \"Modified_Time\": …}}`. A " +
				"record Zoho refuses fails with its code (`zoho_mandatory_not_found`, `zoho_invalid_data`, `zoho_duplicate_data` " +
				"when the match fields find several records) and message; nothing is written then. *When the record exists* " +
				"applies a conflict policy: every policy but the first reads the record first by searching the match field " +
				"for the record's value (`GET /crm/v8/{module}/search?criteria=(Field:equals:value)`, brackets, commas and " +
				"backslashes in the value escaped) for the fields written and, for the newer side wins, `Modified_Time` or " +
				"the field named. The policy reads by one field: *Match on* one field, or leave it empty for a standard " +
				"module's system duplicate-check field (Email for leads and contacts, Account_Name, Deal_Name…); several " +
				"fields, or none for a custom module, fail with `" + CodeMatchFieldUnknown + "`, and a value several records " +
				"have with `" + CodeMatchAmbiguous + "`, before anything is written. Zoho's search may not find a record " +
				"saved a few seconds earlier, which the upsert then updates as the source says.",
			Conflict: upsertConflict},
		connector.Operation{Type: "zoho.crm.record.get", Name: "Zoho CRM: get record", Category: nodes.CategoryCRM,
			Description: "Reads one record by its id.",
			Method:      http.MethodGet, Path: "/{module}/{id}", OutputLabel: "Record",
			Params: []connector.Param{moduleParam(true), id, fieldsParam},
			Result: "/data/0", RequireResult: true,
			Docs: "`GET /crm/v8/{module}/{id}`. Outputs the record's fields by API name (`id`, `Last_Name`, `Email`, `Owner`, " +
				"`Modified_Time`…). A record that does not exist fails with `zoho_not_found`."},
		connector.Operation{Type: "zoho.crm.records.search", Name: "Zoho CRM: search records", Category: nodes.CategoryCRM,
			Description: "Lists the records of a module that match criteria, an e-mail address, a phone number or a word.",
			Method:      http.MethodGet, Path: "/{module}/search", OutputLabel: "Records",
			Params: []connector.Param{moduleParam(true), criteria, email, phone, word, fieldsParam},
			Pagination: &connector.Pagination{Style: connector.PageNumber, Items: "/data", PageKey: "page", SizeKey: "per_page",
				Size: 200, MaxSize: 200, More: "/info/more_records"},
			Docs: "`GET /crm/v8/{module}/search?criteria=…` (or `email`, `phone`, `word`: give one of them), page by page " +
				"(`page`, `per_page` up to 200; `info.more_records` says whether more follow). Zoho answers no match with 204, " +
				"an empty list here. Search reads at most 2,000 records of one query (page × per_page); a COQL query pages further. " +
				"A record saved a moment ago may take a few seconds to be found."},
		connector.Operation{Type: "zoho.crm.coql", Name: "Zoho CRM: COQL query", Category: nodes.CategoryCRM,
			Description: "Reads records with a COQL select: fields, conditions and sorting of any module.",
			Method:      http.MethodPost, Path: "/coql", OutputLabel: "Records",
			Params: []connector.Param{query},
			Pagination: &connector.Pagination{Style: connector.PageOffset, Items: "/data", CursorIn: connector.InBody,
				Size: 200, MaxSize: 2000, More: "/info/more_records", Place: placeCOQL},
			Docs: "`POST /crm/v8/coql` with `{\"select_query\": \"… limit offset, size\"}`: the node ends the query with " +
				"`limit {offset}, {size}` for each page (up to 2,000 records a page; Zoho reads up to 100,000 records of one " +
				"query by offset) and stops when `info.more_records` is false. A query Zoho cannot read fails with " +
				"`zoho_invalid_request` and Zoho's code (`SYNTAX_ERROR`, `INVALID_QUERY`) and message. Zoho answers no match " +
				"with 204, an empty list here."},
		connector.Operation{Type: "zoho.crm.modules.list", Name: "Zoho CRM: list modules", Category: nodes.CategoryCRM,
			Description: "Lists the account's modules with their API names.",
			Method:      http.MethodGet, Path: "/settings/modules", OutputLabel: "Modules", Result: "/modules",
			Docs: "`GET /crm/v8/settings/modules`. Outputs the modules (`api_name`, `plural_label`, `api_supported`, …). The " +
				"module fields of the other Zoho CRM nodes load the same list."},
		connector.Operation{Type: "zoho.crm.fields.list", Name: "Zoho CRM: list fields", Category: nodes.CategoryCRM,
			Description: "Lists the fields of a module with their API names and types.",
			Method:      http.MethodGet, Path: "/settings/fields", OutputLabel: "Fields", Result: "/fields",
			Params: []connector.Param{fieldsOf},
			Docs: "`GET /crm/v8/settings/fields?module=…`. Outputs the fields (`api_name`, `field_label`, `data_type`, " +
				"`system_mandatory`, `unique`…): the API names a record, a match or a query uses."},
	)
}
