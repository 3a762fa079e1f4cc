package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
	"github.com/ferry-hq/ferry/server/store"
)

func init() {
	routeGroups = append(routeGroups, (*API).optionRoutes)
	schemaGroups = append(schemaGroups, optionSchemas)
}

func (a *API) optionRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/nodes/:type/options/:field", Permission: PermFlowsWrite, Tag: "catalog",
			Summary: "The choices of a field that come from the provider account (pipelines, order statuses), listed with a credential; reused for a minute. " +
				"Choices that depend on other fields (optionsDependOn in the field's spec: the stages of the chosen pipeline) take their values in params; " +
				"a missing one is answered 400 options_dependency_missing, an unusable one 400 options_dependency_invalid, with the field in details.field",
			Response: "FieldOptions", Query: []QueryParam{{"credential", "the credential id to list them with"}, {"variant", "live (default) or test"},
				{"fresh", "1 asks the provider again instead of reusing the answer of the last minute"},
				{"params", `a JSON object of the values of the fields the choices depend on, by field name, such as {"pipeline":"default"}; ` +
					"each is checked as a run checks it and part of the cache key"}},
			Handler: a.fieldOptions},
	}
}

func optionSchemas() map[string]any {
	return map[string]any{
		"FieldOptions": obj(map[string]any{"options": list(obj(map[string]any{"value": str, "label": str}, "value", "label"))}, "options"),
	}
}

// Codes of the options route.
const (
	CodeOptionsNotFound    = "options_not_found"
	CodeOptionsUnavailable = "options_unavailable"
)

// optionsTimeout bounds how long a dropdown waits for the provider.
const optionsTimeout = 15 * time.Second

// fieldOptions lists a field's choices from the provider account, through the same guarded client and
// credential binding as a run: the credential must be of a type the node accepts, and the request goes only to
// its destinations. A provider's refusal is answered with its code and the provider's answer in the details.
func (a *API) fieldOptions(c fiber.Ctx) error {
	typ, field := c.Params("type"), c.Params("field")
	reg, found := nodes.Lookup(typ, 0)
	if !found {
		return &Error{Status: http.StatusNotFound, Code: CodeOptionsNotFound, Message: "no node type " + typ}
	}
	if f := reg.Spec.Field(field); f == nil || !f.LoadOptions {
		return &Error{Status: http.StatusNotFound, Code: CodeOptionsNotFound, Message: typ + " has no field " + field + " whose choices come from the account"}
	}
	credID := c.Query("credential")
	if credID == "" {
		return errBadRequest("credential_required", "name the credential to list the choices with: ?credential=…")
	}
	mode := nodes.ModeLive
	switch c.Query("variant") {
	case "", "live":
	case "test":
		mode = nodes.ModeTest
	default:
		return errBadRequest("variant_invalid", "variant must be live or test")
	}
	fresh := false
	switch c.Query("fresh") {
	case "", "0", "false":
	case "1", "true":
		fresh = true
	default:
		return errBadRequest("fresh_invalid", "fresh must be 1 or 0")
	}
	params, err := dependencyParams(c.Query("params"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context(), optionsTimeout)
	defer cancel()
	cred, err := a.Credentials.Resolve(ctx, credID, mode)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || nodes.Classify(err).Code == "credential_not_found" {
			return errNotFound("credential")
		}
		return stepFailure(err)
	}
	if !slices.Contains(reg.Spec.Credentials, cred.Type) {
		return errBadRequest("credential_type_refused", "credential %s is a %s credential; %s accepts %v", cred.Name, cred.Type, typ, reg.Spec.Credentials)
	}
	var base *http.Client
	if a.Runner != nil && a.Runner.Engine != nil {
		base = a.Runner.Engine.HTTP
	}
	client := egress.Bind(base, func(context.Context) (string, egress.Destinations, error) { return cred.Name, cred.Destinations, nil })
	opts, err := connector.LoadOptions(ctx, connector.OptionsRequest{NodeType: typ, Field: field, CredentialID: credID + ":" + string(mode),
		Credential: cred, Client: client, Params: params, Fresh: fresh})
	if err != nil {
		if errors.Is(err, connector.ErrNoOptions) {
			return &Error{Status: http.StatusNotFound, Code: CodeOptionsNotFound, Message: err.Error()}
		}
		if de := (*connector.DependencyError)(nil); errors.As(err, &de) {
			return &Error{Status: http.StatusBadRequest, Code: de.Code, Message: de.Error(), Details: map[string]any{"field": de.Field}}
		}
		return stepFailure(err)
	}
	if opts == nil {
		opts = []nodes.Option{}
	}
	return ok(c, http.StatusOK, fiber.Map{"options": opts})
}

// maxParamsQuery bounds the params query of the options route.
const maxParamsQuery = 4096

// dependencyParams reads the params query: a JSON object of field names to their values, as text (numbers and
// booleans are taken as written).
func dependencyParams(raw string) (map[string]string, error) {
	if raw == "" {
		return nil, nil
	}
	bad := func(format string, args ...any) error { return errBadRequest("params_invalid", format, args...) }
	if len(raw) > maxParamsQuery {
		return nil, bad("params is longer than %d bytes", maxParamsQuery)
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, bad(`params must be a JSON object of field values, such as {"pipeline":"default"}`)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch t := v.(type) {
		case string:
			out[k] = t
		case json.Number:
			out[k] = t.String()
		case bool:
			out[k] = fmt.Sprint(t)
		case nil:
			out[k] = ""
		default:
			return nil, bad("params.%s must be text, not an object or a list", k)
		}
	}
	return out, nil
}

// stepFailure answers a failure a step would have met, with its stable code and the provider's answer: a bad
// gateway, since the caller's request was fine and the provider (or the vault) refused.
func stepFailure(err error) error {
	e := nodes.Classify(err)
	out := &Error{Status: http.StatusBadGateway, Code: e.Code, Message: e.Error()}
	if d, isMap := e.Details.(map[string]any); isMap {
		out.Details = d
	}
	if e.Code == "" {
		out.Code = CodeOptionsUnavailable
	}
	return out
}
