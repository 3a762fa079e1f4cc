package hubspot

import (
	"context"
	"net/http"
	"net/url"
	"slices"
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

// batchConflict reads every record a batch upsert would change in one request, HubSpot's batch read by the
// unique property (POST /crm/v3/objects/{type}/batch/read with idProperty), so the node's conflict policy is
// applied record by record. HubSpot lists the records it found under results, and answers 207 with the values
// it found no record for under errors (OBJECT_NOT_FOUND); a batch none of whose records exist may be answered
// 404, which is read the same way.
func batchConflict(o object, base string) *connector.Conflict {
	return &connector.Conflict{
		Object: o.singular, Records: "/inputs", Fields: "/properties", Results: "/results", UpdatedField: o.modified,
		Single: "hubspot." + o.singular + ".upsert",
		Key: func(w connector.Write) (string, any) {
			name, _ := w.Body["idProperty"].(string)
			return name, w.Body["id"]
		},
		ReadMany: func(ctx context.Context, call connector.Call, w connector.Write) ([]*connector.Record, error) {
			inputs, _ := w.Body["inputs"].([]any)
			idProperty, _ := firstInput(w.Body)["idProperty"].(string)
			ids := make([]any, len(inputs))
			for i, in := range inputs {
				rec, _ := in.(map[string]any)
				ids[i] = map[string]any{"id": expression.Stringify(rec["id"])}
			}
			props := append([]string{}, w.Fields...)
			if !slices.Contains(props, idProperty) {
				props = append(props, idProperty)
			}
			body := map[string]any{"inputs": ids, "properties": toAny(props), "propertiesWithHistory": []any{}}
			byRecordID := idProperty == "hs_object_id" // HubSpot reads by record id without an idProperty
			if !byRecordID {
				body["idProperty"] = idProperty
			}
			a, err := call(ctx, http.MethodPost, base+"/batch/read", nil, body)
			if connector.IsNotFound(err) {
				return make([]*connector.Record, len(inputs)), nil
			}
			if err != nil {
				return nil, err
			}
			found, _ := a.Get("/results").([]any)
			byValue := map[string]*connector.Record{}
			for _, f := range found {
				res, _ := f.(map[string]any)
				p, _ := res["properties"].(map[string]any)
				rec := &connector.Record{ID: expression.Stringify(res["id"]), Fields: p}
				value := expression.Stringify(p[idProperty])
				if byRecordID {
					value = rec.ID
				}
				byValue[value] = rec
			}
			out := make([]*connector.Record, len(inputs))
			for i, id := range ids {
				value := id.(map[string]any)["id"].(string)
				out[i] = byValue[value]
				if out[i] == nil {
					// HubSpot compares e-mail addresses without case.
					for v, rec := range byValue {
						if strings.EqualFold(v, value) {
							out[i] = rec
						}
					}
				}
			}
			return out, nil
		},
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
