package core

import (
	"reflect"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

func TestDeadLetterWatches(t *testing.T) {
	all := mustBuild(t, DeadLetterType, `{}`).(nodes.DeadLetterTrigger)
	if !all.Watches("f1", "rejected") || !all.Watches("f2", "http_timeout") {
		t.Error("an empty trigger must watch every flow and code")
	}
	some := mustBuild(t, DeadLetterType, `{"flows": "f1, f2", "codes": "http_client_error\nhttp.timeout"}`).(nodes.DeadLetterTrigger)
	for _, c := range []struct {
		flow, code string
		want       bool
	}{
		{"f1", "http_client_error", true}, {"f2", "http.timeout", true},
		{"f3", "http_client_error", false}, {"f1", "rejected", false},
	} {
		if got := some.Watches(c.flow, c.code); got != c.want {
			t.Errorf("Watches(%s, %s) = %v, want %v", c.flow, c.code, got, c.want)
		}
	}
	_, err := build(t, DeadLetterType, `{"codes": "HTTP 500"}`, "")
	wantProblem(t, err, "codes", nodes.CodeParamInvalid)
}

func TestDeadLetterOutput(t *testing.T) {
	n := mustBuild(t, DeadLetterType, `{}`)
	failure := map[string]any{"runId": "r1", "errorCode": "rejected"}
	if res, err := run(t, n, failure); err != nil || !reflect.DeepEqual(res.Output, failure) {
		t.Fatalf("Execute = %+v, %v; want the failure unchanged", res, err)
	}
	// A test run from the editor has no failure to pass on: it gets an example with the live shape.
	setNow(t, time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC))
	res, err := run(t, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	for _, k := range []string{"runId", "flowId", "flowName", "failedNode", "errorCode", "errorMessage", "failedAt"} {
		if out[k] == nil || out[k] == "" {
			t.Errorf("example lacks %s: %v", k, out)
		}
	}
	if out["failedAt"] != "2026-12-08T02:00:00Z" {
		t.Errorf("failedAt %v", out["failedAt"])
	}
}
