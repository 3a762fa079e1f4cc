package zoho

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// CodeMatchFieldUnknown fails an upsert with a conflict policy whose record cannot be read the way Zoho matches
// it: several match fields (Zoho tries them in turn, and the policy reads by one), or none for a module whose
// system duplicate-check field is not known. Nothing was written.
const CodeMatchFieldUnknown = "zoho_match_field_unknown"

// CodeMatchAmbiguous fails an upsert with a conflict policy whose match field finds more than one record, as the
// upsert itself would with DUPLICATE_DATA. Nothing was written.
const CodeMatchAmbiguous = "zoho_duplicate_data"

// systemMatch are the system-defined duplicate-check fields of Zoho's standard modules, which an upsert without
// duplicate_check_fields matches on first (Zoho's upsert documentation), by module API name.
var systemMatch = map[string]string{
	"Leads": "Email", "Contacts": "Email", "Accounts": "Account_Name", "Deals": "Deal_Name", "Campaigns": "Campaign_Name",
	"Cases": "Subject", "Solutions": "Solution_Title", "Products": "Product_Name", "Vendors": "Vendor_Name",
	"Price_Books": "Price_Book_Name", "Quotes": "Subject", "Sales_Orders": "Subject", "Purchase_Orders": "Subject",
	"Invoices": "Subject",
}

// upsertConflict reads the record an upsert would change by searching its match field for the record's value
// (GET /{module}/search?criteria=(Field:equals:value)), so the node's conflict policy can compare it field by
// field. A record without a value in the match field, or a value no record has, is created by the upsert.
var upsertConflict = &connector.Conflict{
	Object: "record", Fields: "/data/0", UpdatedField: "Modified_Time",
	ObjectOf: func(w connector.Write) string {
		module, _, _ := strings.Cut(strings.TrimPrefix(w.Path, "/"), "/")
		module, _ = url.PathUnescape(module)
		return module
	},
	Key: func(w connector.Write) (string, any) {
		_, field, err := matchField(w)
		if err != nil {
			return "", nil
		}
		return field, upsertRecord(w.Body)[field]
	},
	Read: func(ctx context.Context, call connector.Call, w connector.Write) (*connector.Record, error) {
		module, field, err := matchField(w)
		if err != nil {
			return nil, err
		}
		value := upsertRecord(w.Body)[field]
		if value == nil || strings.TrimSpace(expression.Stringify(value)) == "" {
			return nil, nil // nothing to match on: Zoho creates the record
		}
		q := url.Values{"criteria": {"(" + field + ":equals:" + escapeCriteria(expression.Stringify(value)) + ")"}, "per_page": {"2"}}
		if len(w.Fields) > 0 {
			q.Set("fields", strings.Join(w.Fields, ","))
		}
		a, err := call(ctx, http.MethodGet, "/"+url.PathEscape(module)+"/search", q, nil)
		if err != nil {
			return nil, err
		}
		data, _ := a.Get("/data").([]any)
		switch {
		case len(data) == 0:
			return nil, nil
		case len(data) > 1 || a.Get("/info/more_records") == true:
			return nil, nodes.NewPermanent(CodeMatchAmbiguous, fmt.Errorf("zoho: more than one %s record has %s %s; nothing was written: "+
				"match on a field whose values are unique", module, field, expression.Stringify(value)))
		}
		rec, _ := data[0].(map[string]any)
		if rec == nil {
			return nil, fmt.Errorf("zoho answered the search with %T, not a record", data[0])
		}
		return &connector.Record{ID: expression.Stringify(rec["id"]), Fields: rec}, nil
	},
}

// matchField is the module an upsert writes to and the one field its record is matched on: the only match field
// given, or the module's system duplicate-check field when none is.
func matchField(w connector.Write) (module, field string, err error) {
	module, _, _ = strings.Cut(strings.TrimPrefix(w.Path, "/"), "/")
	module, _ = url.PathUnescape(module)
	dup, _ := w.Body["duplicate_check_fields"].([]any)
	switch {
	case len(dup) == 1:
		return module, expression.Stringify(dup[0]), nil
	case len(dup) > 1:
		return "", "", nodes.NewPermanent(CodeMatchFieldUnknown, fmt.Errorf("zoho: a conflict policy reads the record by one match "+
			"field, and Zoho tries %d in turn; nothing was written: match on one field, or let the source win", len(dup)))
	}
	if f, ok := systemMatch[module]; ok {
		return module, f, nil
	}
	return "", "", nodes.NewPermanent(CodeMatchFieldUnknown, fmt.Errorf("zoho: %s has no system duplicate-check field Ferry knows; "+
		"nothing was written: name the field that identifies the record in Match on", module))
}

// upsertRecord is the one record of a shaped upsert ({"data": [record], …}).
func upsertRecord(body map[string]any) map[string]any {
	data, _ := body["data"].([]any)
	if len(data) == 0 {
		return map[string]any{}
	}
	rec, _ := data[0].(map[string]any)
	if rec == nil {
		return map[string]any{}
	}
	return rec
}

// criteriaEscaper escapes what Zoho's search criteria read as syntax inside a value: brackets, commas and the
// backslash itself, each with a backslash.
var criteriaEscaper = strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`, `,`, `\,`)

func escapeCriteria(v string) string { return criteriaEscaper.Replace(v) }
