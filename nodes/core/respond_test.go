package core

import (
	"reflect"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

func TestRespond(t *testing.T) {
	prev := map[string]any{"order_id": "ord_8f3a", "amount_cents": int64(14999)}
	tests := []struct {
		name   string
		params string
		want   nodes.Response
	}{
		{"defaults answer the previous output as JSON", `{}`,
			nodes.Response{Status: 200, Headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}, Body: prev}},
		{"text acknowledgement", `{"body": "success"}`,
			nodes.Response{Status: 200, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "success"}},
		{"built object and headers", `{"status": 400, "headers": {"x-order": "{{ prev.order_id }}", "Content-Type": "application/vnd.ack+json"},
			"body": "{{ {\"code\": \"FAIL\", \"order\": prev.order_id} }}"}`,
			nodes.Response{Status: 400, Headers: map[string]string{"X-Order": "ord_8f3a", "Content-Type": "application/vnd.ack+json"},
				Body: map[string]any{"code": "FAIL", "order": "ord_8f3a"}}},
		{"interpolated text", `{"body": "order {{ prev.order_id }}: {{ prev.amount_cents }}"}`,
			nodes.Response{Status: 200, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "order ord_8f3a: 14999"}},
		{"empty body", `{"status": 204, "body": "{{ nil }}"}`, nodes.Response{Status: 204, Headers: map[string]string{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t, mustBuild(t, RespondType, tc.params), prev)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*res.Response, tc.want) {
				t.Fatalf("response = %#v\nwant       %#v", *res.Response, tc.want)
			}
			out := res.Output.(map[string]any)
			if out["status"] != int64(tc.want.Status) || !reflect.DeepEqual(out["body"], tc.want.Body) || len(out["headers"].(map[string]any)) != len(tc.want.Headers) {
				t.Fatalf("output = %#v does not match the response", out)
			}
			if res.Port != "" {
				t.Fatalf("port = %q, want the main output", res.Port)
			}
		})
	}
}

func TestRespondFailures(t *testing.T) {
	_, err := run(t, mustBuild(t, RespondType, `{"body": "{{ prev.customer.name }}"}`), map[string]any{})
	wantFailure(t, err, nodes.Permanent, "expression_failed")
	_, err = run(t, mustBuild(t, RespondType, `{"headers": {"X-A": "{{ prev.v }}"}}`), map[string]any{"v": "a\nb"})
	wantFailure(t, err, nodes.Permanent, "respond_header_invalid")

	for _, tc := range []struct{ params, field, code string }{
		{`{"status": 99}`, "status", nodes.CodeParamInvalid},
		{`{"status": 600}`, "status", nodes.CodeParamInvalid},
		{`{"status": 200.5}`, "status", nodes.CodeParamInvalid},
		{`{"headers": {"Bad Name": "x"}}`, "headers.Bad Name", nodes.CodeParamInvalid},
		{`{"body": "{{ prev. }}"}`, "body", "expression_invalid"},
	} {
		_, err := build(t, RespondType, tc.params, "")
		wantProblem(t, err, tc.field, tc.code)
	}
}
