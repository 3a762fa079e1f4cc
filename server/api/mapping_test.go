package api_test

import (
	"testing"
)

func TestLookupPreview(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		lookups := []any{
			map[string]any{"name": "stage", "entries": map[string]any{"TRADE_SUCCESS": "closedwon"}, "default": "open"},
			map[string]any{"name": "strict", "entries": map[string]any{"a": "A"}},
		}
		sample := map[string]any{"trigger": map[string]any{"body": map[string]any{"status": "TRADE_SUCCESS", "other": "WAIT"}}}
		preview := func(expr string) map[string]any {
			t.Helper()
			return h.expect(h.do("POST", "/api/v1/expressions/preview-lookups",
				map[string]any{"expression": expr, "sample": sample, "lookups": lookups}), 200)
		}
		cases := []struct{ expr, want string }{
			{`lookup(trigger.body.status, tables.stage)`, "closedwon"},
			{`lookup(trigger.body.other, tables.stage)`, "open"},
			{`tables.strict[trigger.body.other] ?? "none"`, "none"},
			{`upper(trigger.body.other)`, "WAIT"},
		}
		for _, c := range cases {
			if r := preview(c.expr); r["ok"] != true || r["value"] != c.want || r["type"] != "string" {
				t.Errorf("%s: got %v, want %q", c.expr, r, c.want)
			}
		}

		r := preview(`lookup(trigger.body.other, tables.strict)`)
		if e, _ := r["error"].(map[string]any); r["ok"] != false || e["code"] != "expression_failed" {
			t.Fatalf("unmapped value: got %v", r)
		}
		r = preview("trigger.body.status +\n tables.stag")
		if e, _ := r["error"].(map[string]any); e["code"] != "expression_unknown_table" || e["line"] != float64(2) || e["column"] != float64(9) {
			t.Fatalf("unknown table: got %v", r)
		}

		// A sample the expressions could never read is refused, as by the plain preview.
		resp := h.do("POST", "/api/v1/expressions/preview-lookups", map[string]any{"expression": "1", "sample": map[string]any{"tables": map[string]any{}}})
		if e, _ := h.expect(resp, 400)["error"].(map[string]any); e["code"] != "preview_sample_invalid" {
			t.Fatalf("bad sample: got %v", e)
		}
	})
}
