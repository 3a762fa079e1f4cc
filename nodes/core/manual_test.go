package core

import (
	"reflect"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

func TestManual(t *testing.T) {
	n := mustBuild(t, ManualType, `{"sample": {"order_id": "ord_8f3a", "amount": "25.00"}}`)
	payload := map[string]any{"order_id": "ord_1"}
	res, err := run(t, n, payload)
	if err != nil || !reflect.DeepEqual(res.Output, payload) {
		t.Fatalf("Execute = %+v, %v; want the payload unchanged", res, err)
	}
	mustBuild(t, ManualType, `{}`)
	_, err = build(t, ManualType, `{"payload": {}}`, "")
	wantProblem(t, err, "payload", nodes.CodeParamUnknown)
}
