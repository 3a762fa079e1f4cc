package connector_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
)

func init() {
	pipeline := connector.Param{Field: nodes.Field{Name: "pipeline", Label: "Pipeline", Type: nodes.TypeString, Expression: true}, In: connector.InBody,
		Transform: func(v any) (any, error) {
			if strings.Contains(fmt.Sprint(v), "!") {
				return nil, errors.New("a pipeline id has no !")
			}
			return v, nil
		}}
	acme.MustRegister(
		connector.Operation{Type: "test.acme.deal.board", Name: "Move deal on a board", Category: nodes.CategoryCRM, SideEffect: true,
			Method: http.MethodPost, Path: "/deals/move",
			Params: []connector.Param{pipeline, str("board", connector.InBody),
				{Field: nodes.Field{Name: "stage", Label: "Stage", Type: nodes.TypeSelect, Expression: true}, In: connector.InBody,
					Options: &connector.OptionSource{Method: http.MethodPost, Path: "/pipelines/{pipeline}/stages", DependsOn: []string{"pipeline", "board"},
						Query: map[string]string{"board": "{board}"}, Body: map[string]any{"filter": map[string]any{"pipelines": []any{"{pipeline}"}}},
						Items: "/stages", Value: "/id", Label: "/label"}}}},
	)
}

// TestOptionsDependOnFields: a source's placeholders take the values of the fields it depends on, escaped as a
// path segment in the path and encoded as a whole in the query and the body; the spec names the fields, and
// the values are checked as a run checks them before anything is sent.
func TestOptionsDependOnFields(t *testing.T) {
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"stages":[{"id":"s1","label":"New"}]}`)
	})
	fields := map[string]string{"base": s.URL, "key": "k1"}
	ds := egress.MustDestinations(s.URL)
	load := func(params map[string]string) ([]nodes.Option, error) {
		return connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: "test.acme.deal.board", Field: "stage", CredentialID: "cred-1",
			Credential: &nodes.ResolvedCredential{Name: "Acme", Type: "test.acme.key", Fields: fields, Destinations: ds}, Params: params,
			Client: egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Acme", ds, nil })})
	}
	opts, err := load(map[string]string{"pipeline": "sales/eu ?#", "board": "a&b=c"})
	if err != nil || len(opts) != 1 || opts[0].Value != "s1" || opts[0].Label != "New" {
		t.Fatalf("options %v %v", opts, err)
	}
	s.mu.Lock()
	c := s.calls[len(s.calls)-1]
	s.mu.Unlock()
	if c.path != "/api/v2/pipelines/sales%2Feu%20%3F%23/stages" || c.query != "board=a%26b%3Dc" || c.body != `{"filter":{"pipelines":["sales/eu ?#"]}}` {
		t.Fatalf("sent %s ?%s %s", c.path, c.query, c.body)
	}
	reg, _ := nodes.Lookup("test.acme.deal.board", 0)
	if f := reg.Spec.Field("stage"); !f.LoadOptions || fmt.Sprint(f.OptionsDependOn) != "[pipeline board]" {
		t.Fatalf("spec %+v", f)
	}
	for _, c := range []struct {
		params      map[string]string
		code, field string
	}{
		{map[string]string{"pipeline": "sales"}, connector.CodeDependencyMissing, "board"},
		{map[string]string{"pipeline": "sales!", "board": "b"}, connector.CodeDependencyInvalid, "pipeline"},
		{map[string]string{"pipeline": "{{ trigger.body.p }}", "board": "b"}, connector.CodeDependencyInvalid, "pipeline"},
		{map[string]string{"pipeline": ".", "board": "b"}, connector.CodeDependencyInvalid, "pipeline"},
		{map[string]string{"pipeline": "a\nb", "board": "b"}, connector.CodeDependencyInvalid, "pipeline"},
		{map[string]string{"pipeline": strings.Repeat("p", 513), "board": "b"}, connector.CodeDependencyInvalid, "pipeline"},
		{map[string]string{"pipeline": "sales", "board": "b", "owner": "1"}, connector.CodeDependencyInvalid, "owner"},
	} {
		var de *connector.DependencyError
		if _, err := load(c.params); !errors.As(err, &de) || de.Code != c.code || de.Field != c.field {
			t.Fatalf("%v: %v", c.params, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) != 1 {
		t.Fatalf("refused values were sent: %d calls", len(s.calls))
	}
}

// TestOptionsDependOnChecked: start-up refuses choices that depend on a field the operation lacks, on the
// field itself, on a field the request does not name, or whose request names a field they do not depend on.
func TestOptionsDependOnChecked(t *testing.T) {
	for i, src := range []*connector.OptionSource{
		{Path: "/stages/{pipeline}", DependsOn: []string{"pipeline"}, Items: "/s", Value: "/id"},
		{Path: "/stages/{stage}", DependsOn: []string{"stage"}, Items: "/s", Value: "/id"},
		{Path: "/stages", DependsOn: []string{"board"}, Items: "/s", Value: "/id"},
		{Path: "/stages", Query: map[string]string{"b": "{board}"}, Items: "/s", Value: "/id"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("source %d was registered", i)
				}
			}()
			acme.MustRegister(connector.Operation{Type: fmt.Sprintf("test.acme.bad.options%d", i), Name: "Bad", Category: nodes.CategoryCRM,
				Method: http.MethodGet, Path: "/x", Params: []connector.Param{str("board", connector.InQuery),
					{Field: nodes.Field{Name: "stage", Label: "Stage", Type: nodes.TypeSelect}, In: connector.InQuery, Options: src}}})
		}()
	}
}
