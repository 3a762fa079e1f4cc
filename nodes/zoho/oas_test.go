package zoho

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The OpenAPI 3 descriptions Zoho publishes of CRM v8 (github.com/zoho/crm-oas, v8.0/*.json), cut down to the
// operations Ferry sends (testdata/README.md says how and from which commit). Every request the stand-in server
// receives is validated against them: the path and its parameters, the query parameters (one the operation does
// not declare fails too), the JSON body against the operation's schema (a top-level key the schema does not
// name fails too) and the security requirement, which the stand-in's token check answers.
var (
	specOnce sync.Once
	specs    map[string]*openapi3.T
	specErr  error
)

// specRoutes map a request path to the extract and the path template that describe it, most literal first: a
// module's API name could otherwise be read as settings, and "search" as a record id.
var specRoutes = []struct {
	file, template string
	pattern        *regexp.Regexp
}{
	{"modules", "/crm/v8/settings/modules", regexp.MustCompile(`^/crm/v8/settings/modules$`)},
	{"fields", "/crm/v8/settings/fields", regexp.MustCompile(`^/crm/v8/settings/fields$`)},
	{"coql", "/crm/v8/coql", regexp.MustCompile(`^/crm/v8/coql$`)},
	{"record", "/crm/v8/{module_api_name}/upsert", regexp.MustCompile(`^/crm/v8/(?P<module_api_name>[^/]+)/upsert$`)},
	{"record", "/crm/v8/{module_api_name}/search", regexp.MustCompile(`^/crm/v8/(?P<module_api_name>[^/]+)/search$`)},
	{"record", "/crm/v8/{module_api_name}/{id}", regexp.MustCompile(`^/crm/v8/(?P<module_api_name>[^/]+)/(?P<id>[^/]+)$`)},
}

func loadSpecs() (map[string]*openapi3.T, error) {
	specOnce.Do(func() {
		specs = map[string]*openapi3.T{}
		for _, name := range []string{"record", "coql", "modules", "fields"} {
			doc, err := openapi3.NewLoader().LoadFromFile("testdata/oas/" + name + ".json")
			if err != nil {
				specErr = fmt.Errorf("load %s: %w", name, err)
				return
			}
			if err := doc.Validate(context.Background()); err != nil {
				specErr = fmt.Errorf("%s is not a valid OpenAPI description: %w", name, err)
				return
			}
			specs[name] = doc
		}
	})
	return specs, specErr
}

// validateRequest checks a request the stand-in received against Zoho's description of its operation; auth
// answers the operation's security requirement.
func validateRequest(r *http.Request, body []byte, auth func(*http.Request) error) error {
	docs, err := loadSpecs()
	if err != nil {
		return err
	}
	for _, route := range specRoutes {
		m := route.pattern.FindStringSubmatch(r.URL.Path)
		if m == nil {
			continue
		}
		doc := docs[route.file]
		item := doc.Paths.Find(route.template)
		if item == nil || item.GetOperation(r.Method) == nil {
			return fmt.Errorf("%s %s: Zoho's description has no such operation (%s in %s)", r.Method, r.URL.Path, route.template, route.file)
		}
		op := item.GetOperation(r.Method)
		params := map[string]string{}
		for i, name := range route.pattern.SubexpNames() {
			if name != "" {
				params[name] = m[i]
			}
		}
		declared := map[string]bool{}
		for _, p := range append(item.Parameters, op.Parameters...) {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
		var unknown []string
		for k := range r.URL.Query() {
			if !declared[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return fmt.Errorf("%s %s: query parameters %v are not in Zoho's description", r.Method, r.URL.Path, unknown)
		}
		if op.RequestBody != nil && len(body) > 0 {
			if err := knownKeys(op, body); err != nil {
				return fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
			}
		}
		req := r.Clone(r.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params,
			Route: &routers.Route{Spec: doc, Path: route.template, PathItem: item, Method: r.Method, Operation: op},
			Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: func(_ context.Context, ai *openapi3filter.AuthenticationInput) error {
				return auth(ai.RequestValidationInput.Request)
			}}}
		return openapi3filter.ValidateRequest(context.Background(), in)
	}
	return fmt.Errorf("%s %s: no operation of Zoho's description has this path", r.Method, r.URL.Path)
}

// knownKeys refuses a JSON body with a top-level key the operation's schema does not name: Zoho ignores some
// unknown keys, which would hide a misspelt duplicate_check_fields.
func knownKeys(op *openapi3.Operation, body []byte) error {
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return fmt.Errorf("the operation takes no JSON body")
	}
	var top map[string]any
	if err := jsonUnmarshal(body, &top); err != nil {
		return fmt.Errorf("the body is not a JSON object: %w", err)
	}
	for k := range top {
		if _, ok := mt.Schema.Value.Properties[k]; !ok {
			return fmt.Errorf("body key %q is not in Zoho's schema (%s)", k, strings.Join(propertyNames(mt.Schema.Value), ", "))
		}
	}
	return nil
}

func propertyNames(s *openapi3.Schema) []string {
	var out []string
	for k := range s.Properties {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestSpecsCatchBadRequests: the validation is not a formality; a request outside the descriptions fails it.
func TestSpecsCatchBadRequests(t *testing.T) {
	ok := func(*http.Request) error { return nil }
	for name, c := range map[string]struct {
		method, target, body string
	}{
		"upsert without a body":           {"POST", "/crm/v8/Contacts/upsert", ""},
		"upsert with a misspelt key":      {"POST", "/crm/v8/Contacts/upsert", `{"data": [{"Last_Name": "L"}], "duplicate_fields": ["Email"]}`},
		"upsert with data not a list":     {"POST", "/crm/v8/Contacts/upsert", `{"data": {"Last_Name": "L"}}`},
		"search with an unknown query":    {"GET", "/crm/v8/Contacts/search?criteria=x&limit=5", ""},
		"search with a page not a number": {"GET", "/crm/v8/Contacts/search?criteria=x&page=two", ""},
		"coql without select_query":       {"POST", "/crm/v8/coql", `{"query": "select id from Leads"}`},
		"fields without a module":         {"GET", "/crm/v8/settings/fields", ""},
		"a path Zoho does not have":       {"GET", "/crm/v8/Contacts/1/2/3", ""},
		"delete a record":                 {"DELETE", "/crm/v8/Contacts/1", ""},
	} {
		r, _ := http.NewRequest(c.method, "https://www.zohoapis.com"+c.target, nil)
		if c.body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if err := validateRequest(r, []byte(c.body), ok); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
	r, _ := http.NewRequest("GET", "https://www.zohoapis.com/crm/v8/Contacts/search?criteria=x", nil)
	if err := validateRequest(r, nil, func(*http.Request) error { return fmt.Errorf("no token") }); err == nil {
		t.Error("a request the security requirement refuses validated")
	}
	r, _ = http.NewRequest("POST", "https://www.zohoapis.com/crm/v8/Contacts/upsert", nil)
	r.Header.Set("Content-Type", "application/json")
	if err := validateRequest(r, []byte(`{"data": [{"Last_Name": "L"}], "duplicate_check_fields": ["Email"]}`), ok); err != nil {
		t.Errorf("a good upsert: %v", err)
	}
}
