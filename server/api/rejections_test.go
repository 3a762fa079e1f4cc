package api_test

import (
	"strings"
	"testing"

	_ "github.com/ferry-hq/ferry/internal/testnodes"
)

// TestProviderAnswersAndRejections: a provider-style trigger answers a refused call with the provider's own
// failure answer, and the refusal is recorded for admins with its reason; a repeated event gets the same
// acknowledgement as the first delivery ("success"), or the provider would keep delivering it.
func TestProviderAnswersAndRejections(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		flow := h.expect(h.do("POST", "/api/v1/flows/import?publish=true", `{"schema":1,"name":"provider","nodes":[
		  {"id":"cb","type":"test.hook"}],"edges":[]}`), 201)["id"].(string)
		form := "Content-Type"
		for i := range 2 {
			res := h.do("POST", "/hooks/"+flow, "event_id=evt-1&order=A-1", form, "application/x-www-form-urlencoded")
			if res.status != 200 || string(res.body) != "success" {
				t.Fatalf("delivery %d: %d %q", i+1, res.status, res.body)
			}
			if i == 1 && res.header.Get("X-Ferry-Duplicate") != "true" {
				t.Fatal("the second delivery was not recognised as a duplicate")
			}
		}
		res := h.do("POST", "/hooks/"+flow, "event_id=evt-2&order=A-2&sign=bad", form, "application/x-www-form-urlencoded")
		if res.status != 400 || string(res.body) != "fail" || res.header.Get("X-Ferry-Error-Code") != "test_signature_invalid" {
			t.Fatalf("refused call answered %d %q", res.status, res.body)
		}
		// A verified call the flow does not handle: acknowledged, no run, not a rejection.
		skipped := h.do("POST", "/hooks/"+flow, "event_id=evt-3&order=A-3&ignore=1", form, "application/x-www-form-urlencoded")
		if skipped.status != 200 || string(skipped.body) != "success" || skipped.header.Get("X-Ferry-Skipped") != "true" {
			t.Fatalf("skipped call answered %d %q", skipped.status, skipped.body)
		}
		if runs := h.expect(h.do("GET", "/api/v1/runs?flow="+flow, nil), 200)["runs"].([]any); len(runs) != 1 {
			t.Fatalf("%d runs, want the one of evt-1", len(runs))
		}
		list := h.expect(h.do("GET", "/api/v1/webhook-rejections?flow="+flow, nil), 200)["rejections"].([]any)
		if len(list) != 1 {
			t.Fatalf("%d rejections recorded, want 1", len(list))
		}
		r := list[0].(map[string]any)
		if r["code"] != "test_signature_invalid" || !strings.Contains(r["message"].(string), "signature") || r["bodyBytes"].(float64) == 0 {
			t.Fatalf("rejection %v", r)
		}
		if m := string(h.do("GET", "/metrics", nil).body); !strings.Contains(m, `ferry_webhook_rejections_total{code="test_signature_invalid",flow="`+flow+`"} 1`) {
			t.Error("the rejection is not counted in the metrics")
		}
	})
}
