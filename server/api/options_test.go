package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/server/auth"
)

// A connector made up for the options route: its order-status field lists the account's statuses.
func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{ID: "test.optshop.key", Name: "Option shop key",
		Fields: []nodes.Field{{Name: "base", Type: nodes.TypeString, Required: true}, {Name: "key", Type: nodes.TypeString, Secret: true, Required: true}}})
	p := &connector.Provider{Name: "optshop", Credentials: []string{"test.optshop.key"},
		BaseURL:   func(f map[string]string) (*url.URL, error) { return url.Parse(f["base"]) },
		Authorize: connector.Bearer("key"), ErrorMessage: "/message"}
	p.MustRegister(connector.Operation{Type: "test.optshop.order.status", Name: "Set status", Category: nodes.CategoryShops,
		Method: http.MethodPut, Path: "/orders/{id}", SideEffect: true,
		Params: []connector.Param{
			{Field: nodes.Field{Name: "id", Label: "Order", Type: nodes.TypeString, Expression: true, Required: true}, In: connector.InPath},
			{Field: nodes.Field{Name: "status", Label: "Status", Type: nodes.TypeSelect, Expression: true}, In: connector.InBody,
				Options: &connector.OptionSource{Path: "/statuses", Items: "/statuses", Value: "/slug", Label: "/name"}},
		}})
}

// TestFieldOptionsFromTheAccount: an editor lists a field's choices with a credential, through the run's guard
// and the credential's destinations; viewers may not, a credential of another type is refused, and a provider's
// refusal comes back with its code and answer.
func TestFieldOptionsFromTheAccount(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		var hits atomic.Int32
		var fail atomic.Bool
		shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if r.Header.Get("Authorization") != "Bearer shop-key" || r.URL.Path != "/statuses" {
				w.WriteHeader(401)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			if fail.Load() {
				w.WriteHeader(403)
				io.WriteString(w, `{"message":"this key may not read statuses"}`)
				return
			}
			io.WriteString(w, `{"statuses":[{"slug":"pending","name":"Pending payment"},{"slug":"processing","name":"Processing"}]}`)
		}))
		defer shop.Close()
		create := func(name string, dests []string) string {
			return h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": name, "type": "test.optshop.key",
				"allowedDestinations": dests, "live": map[string]string{"base": shop.URL, "key": "shop-key"}}), 201)["id"].(string)
		}
		good := create("Shop", []string{shop.URL})
		elsewhere := create("Shop elsewhere", []string{"https://shop.example.com"})
		editor := "Bearer " + h.userToken("editor@example.com", auth.RoleEditor)
		viewer := "Bearer " + h.userToken("viewer@example.com", auth.RoleViewer)
		path := "/api/v1/nodes/test.optshop.order.status/options/status?credential="

		got := h.expect(h.do("GET", path+good, nil, "Authorization", editor), 200)
		if fmt.Sprint(got["options"]) != "[map[label:Pending payment value:pending] map[label:Processing value:processing]]" {
			t.Fatalf("options %v", got)
		}
		h.expect(h.do("GET", path+good, nil, "Authorization", editor), 200)
		if hits.Load() != 1 {
			t.Fatalf("the provider was asked %d times for one minute's choices", hits.Load())
		}
		h.expect(h.do("GET", path+good, nil, "Authorization", viewer), 403)
		// The editor's refresh button asks the provider again, and the new answer is what the next minute reuses.
		h.expect(h.do("GET", path+good+"&fresh=1", nil, "Authorization", editor), 200)
		h.expect(h.do("GET", path+good, nil, "Authorization", editor), 200)
		if hits.Load() != 2 {
			t.Fatalf("the provider was asked %d times after one refresh", hits.Load())
		}
		h.expect(h.do("GET", path+good+"&fresh=soon", nil, "Authorization", editor), 400)

		res := h.expect(h.do("GET", path+elsewhere, nil, "Authorization", editor), 502)
		if res["error"].(map[string]any)["code"] != "credential_destination_refused" || hits.Load() != 2 {
			t.Fatalf("a credential that may not go there: %v", res)
		}
		bearer := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "Other", "type": "http.bearer",
			"allowedDestinations": []string{shop.URL}, "live": map[string]string{"token": "t"}}), 201)["id"].(string)
		res = h.expect(h.do("GET", path+bearer, nil, "Authorization", editor), 400)
		if res["error"].(map[string]any)["code"] != "credential_type_refused" {
			t.Fatalf("another type: %v", res)
		}
		h.expect(h.do("GET", "/api/v1/nodes/test.optshop.order.status/options/id?credential="+good, nil, "Authorization", editor), 404)
		h.expect(h.do("GET", "/api/v1/nodes/test.optshop.order.status/options/status", nil, "Authorization", editor), 400)

		fail.Store(true)
		other := create("Shop without rights", []string{shop.URL})
		res = h.expect(h.do("GET", path+other, nil, "Authorization", editor), 502)
		e := res["error"].(map[string]any)
		if e["code"] != "optshop_unauthorized" || !strings.Contains(e["message"].(string), "this key may not read statuses") ||
			e["details"].(map[string]any)["status"] != float64(403) {
			t.Fatalf("the provider's refusal: %v", res)
		}
	})
}
