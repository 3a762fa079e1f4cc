package salesforce

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// sObjectSource loads the org's sObjects that can be created (describeGlobal), standard and custom.
var sObjectSource = &connector.OptionSource{Path: "/sobjects", Items: "/sobjects", Value: "/name", Label: "/label", When: "/createable"}

// externalIDSource loads the fields of the chosen sObject marked External ID (sObject Describe), the only ones
// an upsert can match on besides Id.
var externalIDSource = &connector.OptionSource{Path: "/sobjects/{sObject}/describe", DependsOn: []string{"sObject"},
	Items: "/fields", Value: "/name", Label: "/label", When: "/externalIdField"}

var (
	// apiName is an sObject's or field's API name: Account, Invoice__c, ns__Thing__c.
	apiName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)
	// recordID is a Salesforce record id, 15 or 18 characters.
	recordID = regexp.MustCompile(`^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$`)
	// fieldPath is a field of a SOQL select list, through relationships: Account.Owner.Name.
	fieldPath = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}(\.[A-Za-z][A-Za-z0-9_]{0,79}){0,4}$`)
)

func checkName(kind string) func(any) (any, error) {
	return func(v any) (any, error) {
		s := strings.TrimSpace(fmt.Sprint(v))
		if !apiName.MatchString(s) {
			return nil, fmt.Errorf("%q is not the API name of %s (letters, digits and underscores, such as Account or Invoice__c)", s, kind)
		}
		return s, nil
	}
}

func checkID(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if !recordID.MatchString(s) {
		return nil, fmt.Errorf("%q is not a Salesforce record id (15 or 18 letters and digits, such as 001D000000IRFmaIAH)", s)
	}
	return s, nil
}

// checkFields checks a list of field names (comma-separated or a list) and writes it as Salesforce takes it.
func checkFields(v any) (any, error) {
	var parts []string
	switch l := v.(type) {
	case []any:
		for _, f := range l {
			parts = append(parts, fmt.Sprint(f))
		}
	default:
		parts = strings.Split(fmt.Sprint(v), ",")
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !fieldPath.MatchString(p) {
			return nil, fmt.Errorf("%q is not a field's API name", p)
		}
		out = append(out, p)
	}
	return strings.Join(out, ","), nil
}

// checkRecord checks the fields of a record to write: an object, without the attributes and Id Salesforce
// sets itself.
func checkRecord(v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the fields must be an object such as {\"Name\": \"Acme\"}, not %T", v)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("the fields are empty: give at least one field to write")
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		if k == "attributes" {
			continue
		}
		if !apiName.MatchString(k) {
			return nil, fmt.Errorf("%q is not a field's API name", k)
		}
		if strings.EqualFold(k, "Id") {
			return nil, fmt.Errorf("the fields may not set Id: Salesforce assigns it (update a record by its id instead)")
		}
		out[k] = val
	}
	return out, nil
}

func sObjectParam() connector.Param {
	return connector.Param{Field: nodes.Field{Name: "sObject", Label: "Object", Type: nodes.TypeString, Expression: true, Required: true,
		Description: "The sObject's API name (Account, Contact, Opportunity, Invoice__c); the list is loaded from the org.",
		Examples:    []nodes.Example{{Name: "Account", Value: "Account"}, {Name: "Opportunity", Value: "Opportunity"}}},
		In: connector.InPath, Options: sObjectSource, Transform: checkName("an sObject")}
}

func idParam() connector.Param {
	return connector.Param{Field: nodes.Field{Name: "id", Label: "Record id", Type: nodes.TypeString, Expression: true, Required: true,
		Description: "The record's Salesforce id (15 or 18 characters).",
		Examples:    []nodes.Example{{Name: "From an earlier step", Value: "{{ prev.id }}"}}},
		In: connector.InPath, Transform: checkID}
}

func recordParam(desc, example string) connector.Param {
	p := connector.Param{Field: nodes.Field{Name: "fields", Label: "Fields", Type: nodes.TypeJSON, Expression: true, Required: true,
		Description: desc}, In: connector.InBody, Key: "/", Transform: checkRecord}
	if example != "" {
		p.Examples = []nodes.Example{{Name: "From a payment", Value: example}}
	}
	return p
}

// Operations are the Salesforce nodes written as data.
func Operations() []connector.Operation {
	return []connector.Operation{
		{Type: "salesforce.record.upsert", Name: "Salesforce: upsert record", Category: nodes.CategoryCRM, SideEffect: true,
			Description: "Creates or updates a record of any sObject by the value of an external id field.",
			Method:      http.MethodPatch, Path: "/sobjects/{sObject}/{externalIdField}/{externalId}", OutputLabel: "Result",
			Params: []connector.Param{sObjectParam(),
				{Field: nodes.Field{Name: "externalIdField", Label: "External id field", Type: nodes.TypeString, Expression: true, Required: true,
					Description: "The API name of a field marked External ID on the sObject (Payment_Id__c); the chosen sObject's external id fields load from the org."},
					In: connector.InPath, Options: externalIDSource, Transform: checkName("an external id field")},
				{Field: nodes.Field{Name: "externalId", Label: "External id", Type: nodes.TypeString, Expression: true, Required: true,
					Description: "The value to match: the record with it is updated, or a record is created with it.",
					Examples:    []nodes.Example{{Name: "A payment's id", Value: "{{ trigger.body.transactionId }}"}}}, In: connector.InPath},
				recordParam("The fields to write, by API name, without the external id field itself: {\"StageName\": \"Closed Won\", \"Amount\": 129.5}.",
					`{{ {"StageName": "Closed Won", "Amount": trigger.body.amount} }}`)},
			Docs: "`PATCH /sobjects/{sObject}/{externalIdField}/{externalId}` (sObject Rows by External ID). Salesforce creates the " +
				"record when no record has the value (201, `created: true`) and updates it when one has (200, `created: false`); " +
				"the output is `{id, success, errors, created}`. The same request sent twice writes the same record, so a retry " +
				"is safe. A value matching several records fails with `" + CodeExternalIDAmbiguous + "` and writes nothing. " +
				"*When the record exists* applies a conflict policy: every policy but the first reads the record first at the " +
				"same path (`GET /sobjects/{sObject}/{externalIdField}/{externalId}?fields=` the fields written and, for the " +
				"newer side wins, `LastModifiedDate` or the field named), a value no record has is created as usual, and a " +
				"value several records have fails with `" + CodeExternalIDAmbiguous + "` before anything is written.",
			Conflict: upsertConflict},
		{Type: "salesforce.record.get", Name: "Salesforce: get record", Category: nodes.CategoryCRM,
			Description: "Reads one record of any sObject by its id.",
			Method:      http.MethodGet, Path: "/sobjects/{sObject}/{id}", OutputLabel: "Record",
			Params: []connector.Param{sObjectParam(), idParam(),
				{Field: nodes.Field{Name: "fields", Label: "Fields", Type: nodes.TypeString, Expression: true,
					Description: "The fields to read, comma-separated (Name, StageName, Account.Name); empty reads every field."},
					In: connector.InQuery, Transform: checkFields}},
			Docs: "`GET /sobjects/{sObject}/{id}?fields=…` (sObject Rows). Outputs the record as Salesforce answers it, with its " +
				"`attributes` (type and URL). An unknown id fails with `" + CodeNotFound + "`."},
		{Type: "salesforce.record.create", Name: "Salesforce: create record", Category: nodes.CategoryCRM, SideEffect: true, Unrepeatable: true,
			Description: "Creates a record of any sObject; sent once, never retried blindly.",
			Method:      http.MethodPost, Path: "/sobjects/{sObject}", OutputLabel: "Result",
			Params: []connector.Param{sObjectParam(),
				recordParam("The fields of the new record, by API name: {\"LastName\": \"Lin\", \"Email\": \"lin@example.com\"}.", "")},
			Docs: "`POST /sobjects/{sObject}` (sObject Basic Information). Outputs `{id, success, errors}`. Salesforce honours no " +
				"idempotency key for a create, so a request whose outcome is unknown is not sent again: prefer the upsert by an " +
				"external id where the record has one."},
		{Type: "salesforce.record.update", Name: "Salesforce: update record", Category: nodes.CategoryCRM, SideEffect: true,
			Description: "Updates fields of a record of any sObject by its id.",
			Method:      http.MethodPatch, Path: "/sobjects/{sObject}/{id}", OutputLabel: "Result",
			Params: []connector.Param{sObjectParam(), idParam(),
				recordParam("The fields to change, by API name; fields left out keep their values.", "")},
			Docs: "`PATCH /sobjects/{sObject}/{id}` (sObject Rows). Salesforce answers 204 without a body: the output is empty. " +
				"Writing the same values twice leaves the same record, so a retry is safe."},
		{Type: "salesforce.query", Name: "Salesforce: SOQL query", Category: nodes.CategoryCRM,
			Description: "Runs a SOQL query and outputs its records, page by page.",
			Method:      http.MethodGet, Path: "/query", OutputLabel: "Records",
			Params: []connector.Param{{Field: nodes.Field{Name: "q", Label: "SOQL query", Type: nodes.TypeText, Expression: true, Required: true,
				Description: "A SOQL query. Quote values taken from data with care: a value holding a quote changes the query.",
				Examples: []nodes.Example{{Name: "Open opportunities of an account",
					Value: "SELECT Id, Name, StageName FROM Opportunity WHERE AccountId = '{{ prev.id }}' AND IsClosed = false"}}},
				In: connector.InQuery}},
			Pagination: &connector.Pagination{Style: connector.PageNextURL, Items: "/records", Next: "/nextRecordsUrl", Size: 2000, MaxSize: 2000},
			Docs: "`GET /query?q=…` (Query), then each `nextRecordsUrl` Salesforce gives (Query More Results) until `done`. Salesforce " +
				"sizes the batches itself (up to 2,000 records, fewer for wide records): *Records per page* does not change them. " +
				"A query locator expires after 15 minutes of disuse, so continue a stopped list promptly. A malformed query fails " +
				"with `" + CodeQueryInvalid + "`."},
	}
}

func init() { provider.MustRegister(Operations()...) }
