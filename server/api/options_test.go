package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
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
	p.MustRegister(connector.Operation{Type: "test.optshop.deal.stage", Name: "Set deal stage", Category: nodes.CategoryCRM,
		Method: http.MethodPut, Path: "/deals", SideEffect: true,
		Params: []connector.Param{
			{Field: nodes.Field{Name: "pipeline", Label: "Pipeline", Type: nodes.TypeSelect, Expression: true}, In: connector.InBody,
				Options: &connector.OptionSource{Path: "/pipelines", Items: "/pipelines", Value: "/id"}},
			{Field: nodes.Field{Name: "stage", Label: "Stage", Type: nodes.TypeSelect, Expression: true}, In: connector.InBody,
				Options: &connector.OptionSource{Path: "/pipelines/{pipeline}/stages", DependsOn: []string{"pipeline"}, Items: "/stages", Value: "/id"}},
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

// TestFieldOptionsThatDependOnAField: the stages of the chosen pipeline take the pipeline in params, escaped
// into the provider's path and cached per pipeline; a missing or unusable pipeline is a bad request naming it.
func TestFieldOptionsThatDependOnAField(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		var mu sync.Mutex
		var asked []string
		seen := func() string { mu.Lock(); defer mu.Unlock(); return fmt.Sprint(asked) }
		shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			asked = append(asked, r.URL.EscapedPath())
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Path {
			case "/pipelines/sales/stages":
				io.WriteString(w, `{"stages":[{"id":"new"},{"id":"won"}]}`)
			case "/pipelines/re new/stages":
				io.WriteString(w, `{"stages":[{"id":"due"}]}`)
			default:
				w.WriteHeader(404)
				io.WriteString(w, `{"message":"no such pipeline"}`)
			}
		}))
		defer shop.Close()
		cred := h.expect(h.do("POST", "/api/v1/credentials", map[string]any{"name": "Deals", "type": "test.optshop.key",
			"allowedDestinations": []string{shop.URL}, "live": map[string]string{"base": shop.URL, "key": "shop-key"}}), 201)["id"].(string)
		path := "/api/v1/nodes/test.optshop.deal.stage/options/stage?credential=" + cred
		with := func(params string) string { return path + "&params=" + url.QueryEscape(params) }

		for _, c := range []struct{ params, want string }{
			{`{"pipeline":"sales"}`, "[map[label:new value:new] map[label:won value:won]]"},
			{`{"pipeline":"re new"}`, "[map[label:due value:due]]"},
			{`{"pipeline":"sales"}`, "[map[label:new value:new] map[label:won value:won]]"},
		} {
			got := h.expect(h.do("GET", with(c.params), nil), 200)
			if fmt.Sprint(got["options"]) != c.want {
				t.Fatalf("%s: %v", c.params, got)
			}
		}
		if seen() != "[/pipelines/sales/stages /pipelines/re%20new/stages]" {
			t.Fatalf("the provider was asked %v", seen())
		}
		for _, c := range []struct{ query, code, field string }{
			{path, "options_dependency_missing", "pipeline"},
			{with(`{"pipeline":""}`), "options_dependency_missing", "pipeline"},
			{with(`{"pipeline":"{{ trigger.body.pipeline }}"}`), "options_dependency_invalid", "pipeline"},
			{with(`{"pipeline":"sales","owner":"1"}`), "options_dependency_invalid", "owner"},
			{with(`["sales"]`), "params_invalid", ""},
			{with(`{"pipeline":{"id":"sales"}}`), "params_invalid", ""},
		} {
			e := h.expect(h.do("GET", c.query, nil), 400)["error"].(map[string]any)
			if e["code"] != c.code || (c.field != "" && e["details"].(map[string]any)["field"] != c.field) {
				t.Fatalf("%s: %v", c.query, e)
			}
		}
		if seen() != "[/pipelines/sales/stages /pipelines/re%20new/stages]" {
			t.Fatalf("refused requests reached the provider: %v", seen())
		}
		e := h.expect(h.do("GET", with(`{"pipeline":"gone"}`), nil), 502)["error"].(map[string]any)
		if e["code"] != "optshop_not_found" {
			t.Fatalf("an unknown pipeline: %v", e)
		}
	})
}
