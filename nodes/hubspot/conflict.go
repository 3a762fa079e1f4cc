package hubspot

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// upsertConflict reads the record a single upsert would change, by its unique property (GET
// /crm/v3/objects/{type}/{value}?idProperty=…), so the node's conflict policy can compare it field by field.
func upsertConflict(o object, base string) *connector.Conflict {
	return &connector.Conflict{
		Object: o.singular, Fields: "/inputs/0/properties", UpdatedField: o.modified,
		Key: func(w connector.Write) (string, any) {
			in := firstInput(w.Body)
			name, _ := in["idProperty"].(string)
			return name, in["id"]
		},
		Read: func(ctx context.Context, call connector.Call, w connector.Write) (*connector.Record, error) {
			in := firstInput(w.Body)
			idProperty, _ := in["idProperty"].(string)
			q := url.Values{"idProperty": {idProperty}, "properties": {strings.Join(w.Fields, ",")}}
			a, err := call(ctx, http.MethodGet, base+"/"+url.PathEscape(expression.Stringify(in["id"])), q, nil)
			if connector.IsNotFound(err) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			props, _ := a.Get("/properties").(map[string]any)
			return &connector.Record{ID: expression.Stringify(a.Get("/id")), Fields: props}, nil
		},
	}
}

// firstInput is the one record of a shaped single upsert ({"inputs": [{idProperty, id, properties}]}).
func firstInput(body map[string]any) map[string]any {
	inputs, _ := body["inputs"].([]any)
	if len(inputs) == 0 {
		return map[string]any{}
	}
	in, _ := inputs[0].(map[string]any)
	if in == nil {
		return map[string]any{}
	}
	return in
}
