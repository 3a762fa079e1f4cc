package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
)

func init() {
	acme.MustRegister(
		connector.Operation{Type: "test.acme.lead.upsert", Name: "Upsert lead", Category: nodes.CategoryCRM, SideEffect: true,
			Method: http.MethodPost, Path: "/leads/batch",
			Params: []connector.Param{str("email", connector.InBody), str("name", connector.InBody)},
			Shape: func(body map[string]any) (map[string]any, error) {
				if body["email"] == nil {
					return nil, errors.New("a lead needs an e-mail address")
				}
				return map[string]any{"inputs": []any{body}}, nil
			}},
		connector.Operation{Type: "test.acme.lead.search", Name: "Search leads", Category: nodes.CategoryCRM,
			Method: http.MethodPost, Path: "/leads/search", Params: []connector.Param{str("q", connector.InBody)},
			Shape: func(body map[string]any) (map[string]any, error) {
				body["filters"] = []any{}
				return body, nil
			},
			Pagination: &connector.Pagination{Style: connector.PageCursor, Items: "/results", Next: "/paging/after",
				CursorIn: connector.InBody, CursorKey: "after", SizeKey: "limit", Size: 2, MaxSize: 10}},
		connector.Operation{Type: "test.acme.deal.stage", Name: "Set stage", Category: nodes.CategoryCRM, SideEffect: true,
			Method: http.MethodPost, Path: "/deals/stage",
			Params: []connector.Param{{Field: nodes.Field{Name: "stage", Label: "Stage", Type: nodes.TypeSelect, Expression: true}, In: connector.InBody,
				Options: &connector.OptionSource{Path: "/pipelines", Items: "/pipelines", Within: "/stages", GroupLabel: "/name", Value: "/id", Label: "/label"}}}},
	)
}

// TestOptionsWithinGroups: the choices are the entries of a list inside each item (every pipeline's stages),
// labelled with their group's.
func TestOptionsWithinGroups(t *testing.T) {
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"pipelines":[{"name":"Sales","stages":[{"id":"s1","label":"New"},{"id":"s2"}]},{"name":"Renewals","stages":[{"id":"r1","label":"Due"}]},{"name":"Empty"}]}`)
	})
	fields := map[string]string{"base": s.URL, "key": "k1"}
	ds := egress.MustDestinations(s.URL)
	opts, err := connector.LoadOptions(context.Background(), connector.OptionsRequest{NodeType: "test.acme.deal.stage", Field: "stage", CredentialID: "cred-1",
		Credential: &nodes.ResolvedCredential{Name: "Acme", Type: "test.acme.key", Fields: fields, Destinations: ds},
		Client:     egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Acme", ds, nil })})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(opts); got != fmt.Sprint([]nodes.Option{{Value: "s1", Label: "Sales: New"}, {Value: "s2", Label: "Sales: s2"}, {Value: "r1", Label: "Renewals: Due"}}) {
		t.Fatalf("options %s", got)
	}
}

// TestShapeAndBodyCursor: a shaped body is what is sent (and what a test run shows), a shape's refusal fails the
// step before anything is sent, and a body cursor takes the page size beside it in the body.
func TestShapeAndBodyCursor(t *testing.T) {
	var bodies []map[string]any
	s := newAcme(t, func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		raw, _ := io.ReadAll(r.Body)
		json.Unmarshal(raw, &b)
		bodies = append(bodies, b)
		if r.URL.Path == "/leads/search" {
			after, _ := strconv.Atoi(fmt.Sprint(b["after"]))
			out := map[string]any{"results": []any{map[string]any{"id": after + 1}, map[string]any{"id": after + 2}}}
			if after == 0 {
				out["paging"] = map[string]any{"after": "2"}
			}
			json.NewEncoder(w).Encode(out)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ok": true})
	})
	ctx := context.Background()
	if _, err := build(t, "test.acme.lead.upsert", map[string]any{"email": "a@example.com", "name": "A"}).Execute(ctx, exec(s, nil, s.URL)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(bodies[0]); got != "map[inputs:[map[email:a@example.com name:A]]]" {
		t.Fatalf("sent %s", got)
	}
	dry, err := build(t, "test.acme.lead.upsert", map[string]any{"email": "b@example.com"}).(nodes.DryRunner).DryRun(ctx, exec(s, nil, s.URL))
	if err != nil || fmt.Sprint(dry.Output.(map[string]any)["request"].(map[string]any)["body"]) != "map[inputs:[map[email:b@example.com]]]" {
		t.Fatalf("dry run %v %v", dry.Output, err)
	}
	_, err = build(t, "test.acme.lead.upsert", map[string]any{"name": "A"}).Execute(ctx, exec(s, nil, s.URL))
	if e := typed(t, err); e.Code != "acme_request_invalid" || len(s.recorded()) != 1 {
		t.Fatalf("refused shape: %v, %d calls", e, len(s.recorded()))
	}
	res, err := build(t, "test.acme.lead.search", map[string]any{"q": "x", "pages": "all"}).Execute(ctx, exec(s, nil, s.URL))
	if err != nil || res.Output.(map[string]any)["count"] != int64(4) {
		t.Fatalf("search %v %v", res.Output, err)
	}
	first, second := bodies[1], bodies[2]
	if first["limit"] != float64(2) || first["after"] != nil || second["after"] != "2" || second["limit"] != float64(2) || second["q"] != "x" || second["filters"] == nil {
		t.Fatalf("pages asked %v then %v", first, second)
	}
	if c := s.recorded(); c[1].query != "" {
		t.Fatalf("the page size went to the query too: %s", c[1].query)
	}
}

func TestShapeIsForJSONBodies(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a shaped form body was registered")
		}
	}()
	acme.MustRegister(connector.Operation{Type: "test.acme.bad.shape", Name: "Bad", Category: nodes.CategoryCRM, Method: http.MethodPost, Path: "/x",
		Params: []connector.Param{str("f", connector.InForm)}, Shape: func(b map[string]any) (map[string]any, error) { return b, nil }})
}
