package jiandaoyun

import (
	"context"
	"fmt"
	"net/http"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// updateConflict reads the record an update would change, by its data_id (POST /app/entry/data/get), so the
// node's conflict policy can compare it field by field: Jiandaoyun has no upsert, and its update overwrites the
// fields it is given as an upsert does. The update's fields are written wrapped ({"value": …}), so the record's
// are compared, and shown to people, by the value inside (Plain).
var updateConflict = &connector.Conflict{
	Object: "record", Fields: "/data", UpdatedField: "updateTime", Plain: plainValue,
	Read: func(ctx context.Context, call connector.Call, w connector.Write) (*connector.Record, error) {
		body := map[string]any{"app_id": w.Body["app_id"], "entry_id": w.Body["entry_id"], "data_id": w.Body["data_id"]}
		a, err := call(ctx, http.MethodPost, "/app/entry/data/get", nil, body)
		if connector.IsNotFound(err) {
			return nil, nil // the update fails on its own
		}
		if err != nil {
			return nil, err
		}
		rec, _ := a.Get("/data").(map[string]any)
		if rec == nil {
			return nil, fmt.Errorf("jiandaoyun answered the read without a record")
		}
		return &connector.Record{ID: expression.Stringify(rec["_id"]), Fields: rec}, nil
	},
}

// plainValue is the value a written field holds: {"value": x} reads as x.
func plainValue(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if inner, has := m["value"]; has {
			return inner
		}
	}
	return v
}
