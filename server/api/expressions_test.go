package api_test

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/server/auth"
)

// previewSample is what the editor sends for a step after a webhook trigger and one earlier node.
var previewSample = map[string]any{
	"trigger": map[string]any{"body": map[string]any{"order_id": "A-17", "amount": 149.99, "items": []any{map[string]any{"sku": "X1"}},
		"customer": map[string]any{"email": "Li@Example.com"}, "first name": "Li", "in": "kw"}, "headers": map[string]any{}, "query": map[string]any{}, "method": "POST"},
	"prev":  map[string]any{"order": "A-17", "paid": true},
	"nodes": map[string]any{"map_1": map[string]any{"order": "A-17", "paid": true}, "http-1": map[string]any{"status": 200.0}},
	"vars":  map[string]any{"region": "CN"},
}

func TestExpressionPreview(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		preview := func(body any) map[string]any {
			t.Helper()
			return h.expect(h.do("POST", "/api/v1/expressions/preview", body), 200)
		}

		t.Run("value and type", func(t *testing.T) {
			cases := []struct {
				expr, typ string
				want      any
			}{
				{`trigger.body.order_id`, "string", "A-17"},
				{`lower(trigger.body.customer.email)`, "string", "li@example.com"},
				{`trigger.body["first name"]`, "string", "Li"},
				{`trigger.body.items[0].sku`, "string", "X1"},
				// Paths the editor builds for keys that are not identifiers, or are operator words.
				{`trigger.body["in"]`, "string", "kw"},
				{`nodes["http-1"].status`, "number", 200.0},
				{`trigger.body.amount`, "number", 149.99},
				{`prev.paid && nodes.map_1.order == "A-17"`, "boolean", true},
				{`vars.region + "/" + env`, "string", "CN/test"},
				{`trigger.body.customer?.phone ?? nil`, "null", nil},
				{`len(trigger.body.items)`, "number", float64(1)},
				{`{"a": 1}`, "object", map[string]any{"a": float64(1)}},
			}
			for _, c := range cases {
				r := preview(map[string]any{"expression": c.expr, "sample": previewSample})
				if r["ok"] != true || r["type"] != c.typ {
					t.Errorf("%s: got %v", c.expr, r)
					continue
				}
				if got, want := mustJSONString(t, r["value"]), mustJSONString(t, c.want); got != want {
					t.Errorf("%s = %s, want %s", c.expr, got, want)
				}
			}
		})

		t.Run("syntax error with line and column", func(t *testing.T) {
			r := preview(map[string]any{"expression": "trigger.body.order_id +\n  * 2", "sample": previewSample})
			e := r["error"].(map[string]any)
			if r["ok"] != false || e["code"] != "expression_invalid" || e["line"] != float64(2) || e["column"] != float64(3) {
				t.Fatalf("got %v", r)
			}
			r = preview(map[string]any{"expression": "nope.x", "sample": previewSample})
			if e := r["error"].(map[string]any); e["code"] != "expression_invalid" || !strings.Contains(e["message"].(string), "nope") {
				t.Fatalf("unknown variable: %v", r)
			}
		})

		t.Run("runtime error", func(t *testing.T) {
			r := preview(map[string]any{"expression": "trigger.body.customer.address.city", "sample": previewSample})
			e := r["error"].(map[string]any)
			if r["ok"] != false || e["code"] != "expression_failed" || e["message"] == "" || e["line"] != float64(1) {
				t.Fatalf("got %v", r)
			}
		})

		t.Run("pinned result type", func(t *testing.T) {
			r := preview(map[string]any{"expression": `"yes"`, "result": "bool", "sample": previewSample})
			if r["ok"] != false || r["error"].(map[string]any)["code"] != "expression_invalid" {
				t.Fatalf("a text for a condition: %v", r)
			}
			r = preview(map[string]any{"expression": `prev.order`, "result": "bool", "sample": previewSample})
			if r["ok"] != false || r["error"].(map[string]any)["code"] != "expression_failed" {
				t.Fatalf("a text read at run time for a condition: %v", r)
			}
		})

		t.Run("template", func(t *testing.T) {
			r := preview(map[string]any{"expression": "Order {{ trigger.body.order_id }} paid {{ trigger.body.amount }}", "template": true, "sample": previewSample})
			if r["ok"] != true || r["value"] != "Order A-17 paid 149.99" || r["type"] != "string" {
				t.Fatalf("got %v", r)
			}
			r = preview(map[string]any{"expression": "{{ trigger.body.amount }}", "template": true, "sample": previewSample})
			if r["value"] != 149.99 || r["type"] != "number" {
				t.Fatalf("a single {{ }} keeps its type: %v", r)
			}
			r = preview(map[string]any{"expression": "line one\nsee {{ trigger.body. }}", "template": true, "sample": previewSample})
			e := r["error"].(map[string]any)
			if r["ok"] != false || e["code"] != "expression_invalid" || e["line"] != float64(2) {
				t.Fatalf("error placed in the whole template: %v", r)
			}
			r = preview(map[string]any{"expression": "no expressions", "template": true})
			if r["ok"] != true || r["value"] != "no expressions" {
				t.Fatalf("plain text: %v", r)
			}
		})

		t.Run("bounds", func(t *testing.T) {
			r := preview(map[string]any{"expression": strings.Repeat("1+", 9000) + "1"})
			if r["ok"] != false || r["error"].(map[string]any)["code"] != "expression_too_large" {
				t.Fatalf("long expression: %v", r)
			}
			r = preview(map[string]any{"expression": `repeat("x", 100000)`})
			if r["ok"] != true || r["truncated"] != true || len(r["value"].(string)) != 64<<10 {
				t.Fatalf("large value: ok=%v truncated=%v", r["ok"], r["truncated"])
			}
		})

		t.Run("bad body", func(t *testing.T) {
			for body, code := range map[string]string{
				``:                            "invalid_json",
				`{"expression": `:             "invalid_json",
				`{"expression": 5}`:           "invalid_json",
				`{"expression": "1", "x": 1}`: "invalid_json",
				`{"expression": "1", "sample": {"body": {}}}`:    "preview_sample_invalid",
				`{"expression": "1", "sample": {"nodes": [1]}}`:  "preview_sample_invalid",
				`{"expression": "1", "sample": {"env": "prod"}}`: "preview_sample_invalid",
				`{"expression": "1", "result": "date"}`:          "bad_request",
			} {
				e := h.expect(h.do("POST", "/api/v1/expressions/preview", body), 400)["error"].(map[string]any)
				if e["code"] != code {
					t.Errorf("%s: code %v, want %s", body, e["code"], code)
				}
			}
		})

		t.Run("viewers may preview", func(t *testing.T) {
			tok := h.userToken("viewer-preview@example.com", auth.RoleViewer)
			r := h.expect(h.do("POST", "/api/v1/expressions/preview", map[string]any{"expression": "1 + 1"}, "Authorization", "Bearer "+tok), 200)
			if r["ok"] != true || r["value"] != float64(2) {
				t.Fatalf("got %v", r)
			}
			if res := h.do("POST", "/api/v1/expressions/preview", map[string]any{"expression": "1"}, "Authorization", ""); res.status != 401 {
				t.Fatalf("anonymous: %d", res.status)
			}
		})
	})
}

func mustJSONString(t *testing.T, v any) string {
	t.Helper()
	return string(mustJSON(t, v))
}

// TestExpressionPreviewStopsRunawayExpressions sends, as a viewer, expressions written to exhaust the server:
// each is answered with the code of the limit that stopped it and where, nothing keeps evaluating once the
// preview is answered, and the memory the evaluations built is given back.
func TestExpressionPreviewStopsRunawayExpressions(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		tok := h.userToken("viewer-runaway@example.com", auth.RoleViewer)
		sample := map[string]any{"trigger": map[string]any{"body": map[string]any{"text": strings.Repeat("ferry ", 100<<10/6)}}}
		before := heapAfterGC()
		for _, c := range []struct {
			expr     string
			template bool
			code     string
			path     string
		}{
			{`reduce(1..27, #acc + #acc, "x")`, false, "expression_memory_exceeded", ""},
			{`repeat(repeat("x", 100000), 2000)`, false, "expression_memory_exceeded", ""},
			{`len(toJSON(map(1..2000, trigger.body.text)))`, false, "expression_memory_exceeded", ""},
			{`map(1..2000, trigger.body.text)`, false, "expression_memory_exceeded", ""},
			{strings.Repeat("{{ trigger.body.text }}", 400), true, "expression_memory_exceeded", ""},
			{`let r = 1..10000; all(r, all(r, all(r, # > 0)))`, false, "expression_timeout", ""},
			{`reduce(1..27, #acc + tables.t.a + #acc, "x")`, false, "expression_memory_exceeded", "/api/v1/expressions/preview-lookups"},
		} {
			path := c.path
			if path == "" {
				path = "/api/v1/expressions/preview"
			}
			body := map[string]any{"expression": c.expr, "template": c.template, "sample": sample}
			if c.path != "" {
				body = map[string]any{"expression": c.expr, "sample": sample,
					"lookups": []any{map[string]any{"name": "t", "entries": map[string]any{"a": "b"}}}}
			}
			r := h.expect(h.do("POST", path, body, "Authorization", "Bearer "+tok), 200)
			e, _ := r["error"].(map[string]any)
			if r["ok"] != false || e == nil || e["code"] != c.code {
				t.Fatalf("%.60s: ok=%v error=%v, want %s", c.expr, r["ok"], e, c.code)
			}
			if line, _ := e["line"].(float64); line < 1 {
				t.Errorf("%.60s: no position in %v", c.expr, e)
			}
			// The evaluation stopped: it is not running on in some goroutine after the answer.
			buf := make([]byte, 1<<20)
			if stacks := buf[:runtime.Stack(buf, true)]; bytes.Contains(stacks, []byte("expr-lang/expr/vm.(*VM).Run")) {
				t.Fatalf("%.60s: an evaluation is still running after the preview was answered:\n%s", c.expr, stacks)
			}
		}
		if after := heapAfterGC(); after > before+32<<20 {
			t.Fatalf("heap grew from %d MiB to %d MiB after the previews were answered", before>>20, after>>20)
		}
	})
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
