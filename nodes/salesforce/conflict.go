package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// upsertConflict reads the record an upsert by external id would change, at the upsert's own path (GET
// /sobjects/{sObject}/{externalIdField}/{externalId}?fields=…, sObject Rows by External ID), so the node's
// conflict policy can compare it field by field. No record with the value answers NOT_FOUND (the upsert creates
// it); several answer 300, which fails with salesforce_external_id_ambiguous before anything is written.
// Its fields are the body itself (the empty pointer).
var upsertConflict = &connector.Conflict{
	Object: "record", Fields: "", UpdatedField: "LastModifiedDate",
	ObjectOf: func(w connector.Write) string {
		sObject, _, _, _ := externalIDPath(w.Path)
		return sObject
	},
	Key: func(w connector.Write) (string, any) {
		_, field, value, ok := externalIDPath(w.Path)
		if !ok {
			return "", nil
		}
		return field, value
	},
	Read: func(ctx context.Context, call connector.Call, w connector.Write) (*connector.Record, error) {
		if _, _, _, ok := externalIDPath(w.Path); !ok {
			return nil, fmt.Errorf("the upsert's path %q is not /sobjects/{sObject}/{externalIdField}/{externalId}", w.Path)
		}
		var q url.Values
		if len(w.Fields) > 0 {
			q = url.Values{"fields": {strings.Join(w.Fields, ",")}}
		}
		a, err := call(ctx, http.MethodGet, w.Path, q, nil)
		if connector.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		rec, _ := a.JSON.(map[string]any)
		if rec == nil {
			return nil, fmt.Errorf("salesforce answered the read with %T, not a record", a.JSON)
		}
		fields := make(map[string]any, len(rec))
		for k, v := range rec {
			if k != "attributes" {
				fields[k] = v
			}
		}
		return &connector.Record{ID: expression.Stringify(rec["Id"]), Fields: fields}, nil
	},
}

// externalIDPath reads an upsert's path as sent (/sobjects/Account/Ext__c/A%2F42): the sObject, the external
// id field and the value, unescaped.
func externalIDPath(path string) (sObject, field, value string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) != 4 || parts[0] != "sobjects" {
		return "", "", "", false
	}
	v, err := url.PathUnescape(parts[3])
	if err != nil {
		return "", "", "", false
	}
	return parts[1], parts[2], v, true
}
