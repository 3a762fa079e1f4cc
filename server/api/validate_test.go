package api_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestValidateExplainsMerges: validating a flow with a merge says which nodes it waits for on each input.
func TestValidateExplainsMerges(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		doc := `{"schema":1,"name":"m","nodes":[{"id":"in","type":"core.manual"},{"id":"a","type":"core.set-vars","params":{"vars":[{"name":"x","expression":"1"}]}},` +
			`{"id":"b","type":"core.set-vars","params":{"vars":[{"name":"y","expression":"2"}]}},{"id":"join","type":"core.merge"}],` +
			`"edges":[{"source":"in","target":"a"},{"source":"in","target":"b"},{"source":"a","target":"join"},{"source":"b","target":"join","targetPort":"input2"}]}`
		out := h.expect(h.do("POST", "/api/v1/validate", doc), http.StatusOK)
		if out["valid"] != true || fmt.Sprint(out["waitsFor"]) != "map[join:map[input2:[b] main:[a]]]" {
			t.Fatalf("validation %v", out)
		}
	})
}
