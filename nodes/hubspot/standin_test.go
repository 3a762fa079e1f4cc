package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const testToken = "pat-na1-11111111-2222-3333-4444-555555555555"

// specFiles are HubSpot's OpenAPI descriptions, cut to the paths Ferry calls (testdata/README.md).
var specFiles = []string{"contacts.json", "companies.json", "deals.json", "associations.json", "pipelines.json", "owners.json", "accountinfo.json"}

// standIn is a local HubSpot API. Every request it receives must match a path and method of HubSpot's published
// OpenAPI descriptions and validate against it (parameters, body schema, required parts), or the test fails and
// the request is answered 400 as HubSpot would; it enforces the bearer token, the search's after cursor and
// limit, and answers HubSpot's error document, 429 with its policy, and the X-HubSpot-RateLimit-* headers.
type standIn struct {
	*httptest.Server
	t       *testing.T
	routers []routers.Router

	mu        sync.Mutex
	requests  []*http.Request
	bodies    []map[string]any
	records   map[string]map[string]map[string]any // object type → id → record
	nextID    int
	assoc     []string
	remaining int    // X-HubSpot-RateLimit-Remaining
	daily     int    // X-HubSpot-RateLimit-Daily-Remaining
	tooMany   string // answer 429 with this policy
	scopes    bool   // answer 403 MISSING_SCOPES
	// unindexed holds ids of records the search does not find yet, as HubSpot's search index lags writes by
	// a few seconds; reads by id or unique property find them.
	unindexed map[string]bool
	// batchReads counts the batch reads answered; readAllMissing404 answers one that finds no record 404, as
	// HubSpot has been seen to.
	batchReads        int
	readAllMissing404 bool
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, records: map[string]map[string]map[string]any{"contacts": {}, "companies": {}, "deals": {}}, nextID: 100, remaining: 99, daily: 249000}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	loader := openapi3.NewLoader()
	for _, f := range specFiles {
		doc, err := loader.LoadFromFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatalf("load %s: %v", f, err)
		}
		doc.Servers = openapi3.Servers{{URL: s.URL}}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			t.Fatalf("route %s: %v", f, err)
		}
		s.routers = append(s.routers, r)
	}
	prev := origin
	origin = func() *url.URL { u, _ := url.Parse(s.URL); return u }
	t.Cleanup(func() { origin = prev })
	return s
}

// pipelineStages are the stages of the account's deal pipelines by pipeline id, as
// /crm/v3/pipelines/deals/{pipelineId}/stages lists them (a PipelineStage each).
var pipelineStages = map[string][]any{
	"default": {
		map[string]any{"id": "appointmentscheduled", "label": "Appointment scheduled", "displayOrder": 0, "archived": false,
			"createdAt": "2026-01-05T08:00:00Z", "updatedAt": "2026-01-05T08:00:00Z", "metadata": map[string]any{"probability": "0.2"}},
		map[string]any{"id": "closedwon", "label": "Closed won", "displayOrder": 5, "archived": false,
			"createdAt": "2026-01-05T08:00:00Z", "updatedAt": "2026-01-05T08:00:00Z", "metadata": map[string]any{"probability": "1.0"}}},
	"771": {
		map[string]any{"id": "1022", "label": "Renewal due", "displayOrder": 0, "archived": false,
			"createdAt": "2026-02-01T08:00:00Z", "updatedAt": "2026-02-01T08:00:00Z", "metadata": map[string]any{}}},
	"new deals?": {map[string]any{"id": "1099", "label": "Qualified", "displayOrder": 0, "archived": false,
		"createdAt": "2026-02-01T08:00:00Z", "updatedAt": "2026-02-01T08:00:00Z", "metadata": map[string]any{}}},
}

func hsError(w http.ResponseWriter, status int, category, msg string) {
	answer(w, status, map[string]any{"status": "error", "message": msg, "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf", "category": category})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// validate finds the request's operation in HubSpot's descriptions and validates the request against it.
func (s *standIn) validate(r *http.Request, body []byte) error {
	for _, rt := range s.routers {
		route, params, err := rt.FindRoute(r)
		if err != nil {
			continue
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		return openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}})
	}
	return fmt.Errorf("%s %s is in none of HubSpot's descriptions", r.Method, r.URL.Path)
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sent := r.Clone(context.Background()) // before validation, which fills in the description's defaults
	if err := s.validate(r, body); err != nil {
		s.t.Errorf("request does not validate against HubSpot's OpenAPI description: %s %s: %v\nbody: %s", r.Method, r.URL, err, body)
		hsError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON")
		return
	}
	var doc map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &doc); err != nil {
			s.t.Errorf("body is not JSON: %s", body)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, sent)
	s.bodies = append(s.bodies, doc)
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		hsError(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication.")
		return
	}
	if s.scopes {
		hsError(w, http.StatusForbidden, "MISSING_SCOPES", "This app hasn't been granted all required scopes to make this call.")
		return
	}
	if s.tooMany != "" {
		w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
		w.Header().Set("X-HubSpot-RateLimit-Remaining", "0")
		answer(w, http.StatusTooManyRequests, map[string]any{"status": "error", "message": "You have reached your " + strings.ToLower(s.tooMany) + " limit.",
			"errorType": "RATE_LIMIT", "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad24", "policyName": s.tooMany})
		return
	}
	s.remaining--
	w.Header().Set("X-HubSpot-RateLimit-Max", "100")
	w.Header().Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(max(s.remaining, 0)))
	w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
	w.Header().Set("X-HubSpot-RateLimit-Daily", "250000")
	w.Header().Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(s.daily))
	s.route(w, r, doc)
}

func (s *standIn) route(w http.ResponseWriter, r *http.Request, body map[string]any) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/account-info/v3/details":
		answer(w, 200, map[string]any{"portalId": 62515, "accountType": "STANDARD", "timeZone": "Asia/Shanghai", "companyCurrency": "CNY",
			"additionalCurrencies": []any{}, "utcOffset": "+08:00", "utcOffsetMilliseconds": 28800000, "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})
	case r.URL.Path == "/crm/v3/owners":
		answer(w, 200, map[string]any{"results": []any{
			map[string]any{"id": "41", "email": "li.lei@example.com", "firstName": "Lei", "lastName": "Li", "archived": false},
			map[string]any{"id": "42", "email": "han.mei@example.com", "firstName": "Meimei", "lastName": "Han", "archived": false}}})
	case r.URL.Path == "/crm/v3/pipelines/deals":
		answer(w, 200, map[string]any{"results": []any{
			map[string]any{"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "stages": []any{
				map[string]any{"id": "appointmentscheduled", "label": "Appointment scheduled", "displayOrder": 0},
				map[string]any{"id": "closedwon", "label": "Closed won", "displayOrder": 5}}},
			map[string]any{"id": "771", "label": "Renewals", "displayOrder": 1, "stages": []any{
				map[string]any{"id": "1022", "label": "Renewal due", "displayOrder": 0}}}}})
	case len(parts) == 6 && parts[2] == "pipelines" && parts[3] == "deals" && parts[5] == "stages":
		stages, ok := pipelineStages[parts[4]]
		if !ok {
			hsError(w, 404, "OBJECT_NOT_FOUND", "Unable to find pipeline "+parts[4])
			return
		}
		answer(w, 200, map[string]any{"results": stages})
	case parts[0] == "crm" && parts[1] == "v4":
		// /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}
		from, id, to, toID := parts[3], parts[4], parts[7], parts[8]
		if s.records[from][id] == nil || s.records[to][toID] == nil {
			hsError(w, 404, "OBJECT_NOT_FOUND", "No record for one of the ids")
			return
		}
		s.assoc = append(s.assoc, from+"/"+id+"→"+to+"/"+toID)
		answer(w, 200, map[string]any{"status": "COMPLETE", "results": []any{map[string]any{"from": map[string]any{"id": id}, "to": map[string]any{"id": toID},
			"associationSpec": map[string]any{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}}},
			"startedAt": "2026-12-07T10:00:00Z", "completedAt": "2026-12-07T10:00:00Z"})
	case len(parts) >= 4 && parts[2] == "objects":
		s.objects(w, r, parts[3], parts[4:], body)
	default:
		hsError(w, 404, "OBJECT_NOT_FOUND", "not found")
	}
}

func (s *standIn) objects(w http.ResponseWriter, r *http.Request, typ string, rest []string, body map[string]any) {
	store := s.records[typ]
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		answer(w, 201, s.save(typ, "", props(body["properties"])))
	case len(rest) == 1 && rest[0] == "search":
		s.search(w, typ, body)
	case len(rest) == 2 && rest[0] == "batch" && rest[1] == "read":
		s.batchRead(w, typ, body)
	case len(rest) == 2 && rest[0] == "batch" && rest[1] == "upsert":
		var results []any
		for _, in := range body["inputs"].([]any) {
			in := in.(map[string]any)
			rec, _ := s.find(typ, in["id"].(string), in["idProperty"].(string))
			created := rec == nil
			id := ""
			if rec != nil {
				id = rec["id"].(string)
			}
			saved := s.save(typ, id, props(in["properties"]))
			saved["new"] = created
			results = append(results, saved)
		}
		answer(w, 200, map[string]any{"status": "COMPLETE", "results": results, "startedAt": "2026-12-07T10:00:00Z", "completedAt": "2026-12-07T10:00:01Z"})
	case len(rest) == 1:
		rec, _ := s.find(typ, rest[0], r.URL.Query().Get("idProperty"))
		if rec == nil {
			hsError(w, 404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
			return
		}
		if r.Method == http.MethodPatch {
			p := props(body["properties"])
			if v, ok := p["amount"]; ok && v == "lots" {
				hsError(w, 400, "VALIDATION_ERROR", "Property values were not valid: amount \"lots\" is not a number")
				return
			}
			rec = s.save(typ, rec["id"].(string), p)
		}
		answer(w, 200, rec)
	default:
		_ = store
		hsError(w, 404, "OBJECT_NOT_FOUND", "not found")
	}
}

// batchRead answers a batch read as HubSpot does: the records found under results, with the properties asked
// for that they hold; when some values match no record, status 207 and those values in one OBJECT_NOT_FOUND
// error's context.
func (s *standIn) batchRead(w http.ResponseWriter, typ string, body map[string]any) {
	s.batchReads++
	idProperty, _ := body["idProperty"].(string)
	results, missing := []any{}, []any{}
	for _, in := range body["inputs"].([]any) {
		id := in.(map[string]any)["id"].(string)
		rec, _ := s.find(typ, id, idProperty)
		if rec == nil {
			missing = append(missing, id)
			continue
		}
		p := map[string]any{}
		for _, name := range body["properties"].([]any) {
			if v, ok := rec["properties"].(map[string]any)[name.(string)]; ok {
				p[name.(string)] = v
			}
		}
		results = append(results, map[string]any{"id": rec["id"], "properties": p, "createdAt": rec["createdAt"],
			"updatedAt": rec["updatedAt"], "archived": false})
	}
	out := map[string]any{"status": "COMPLETE", "results": results, "startedAt": "2026-12-07T10:00:00Z", "completedAt": "2026-12-07T10:00:01Z"}
	if len(missing) == 0 {
		answer(w, 200, out)
		return
	}
	if s.readAllMissing404 && len(results) == 0 {
		hsError(w, 404, "OBJECT_NOT_FOUND", "Could not get some objects, they may be deleted or not exist.")
		return
	}
	out["numErrors"] = 1
	out["errors"] = []any{map[string]any{"status": "error", "category": "OBJECT_NOT_FOUND",
		"message": "Could not get some " + map[string]string{"contacts": "CONTACT", "companies": "COMPANY", "deals": "DEAL"}[typ] + " objects, they may be deleted or not exist. Check that ids are valid.",
		"context": map[string]any{"ids": missing}, "errors": []any{}, "links": map[string]any{}}}
	answer(w, 207, out)
}

func props(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// find is the record with id, or with the value of a unique property.
func (s *standIn) find(typ, id, idProperty string) (map[string]any, string) {
	if idProperty == "" || idProperty == "hs_object_id" {
		return s.records[typ][id], id
	}
	for rid, rec := range s.records[typ] {
		if rec["properties"].(map[string]any)[idProperty] == id {
			return rec, rid
		}
	}
	return nil, ""
}

func (s *standIn) save(typ, id string, p map[string]any) map[string]any {
	now := time.Date(2026, 12, 7, 10, 0, s.nextID%60, 0, time.UTC).Format(time.RFC3339Nano)
	rec := s.records[typ][id]
	if rec == nil {
		s.nextID++
		id = strconv.Itoa(s.nextID)
		rec = map[string]any{"id": id, "properties": map[string]any{"hs_object_id": id, "createdate": now}, "createdAt": now, "archived": false}
		s.records[typ][id] = rec
	}
	rp := rec["properties"].(map[string]any)
	for k, v := range p {
		rp[k] = v
	}
	rp[ModifiedProperty(typ)] = now
	rec["updatedAt"] = now
	out := map[string]any{}
	for k, v := range rec {
		out[k] = v
	}
	return out
}

// search answers EQ filters and a text query page by page with the after cursor, as HubSpot: records sorted by id.
func (s *standIn) search(w http.ResponseWriter, typ string, body map[string]any) {
	limit := int(body["limit"].(float64))
	if limit < 1 || limit > 200 {
		hsError(w, 400, "VALIDATION_ERROR", "limit must be between 1 and 200")
		return
	}
	after, err := strconv.Atoi(body["after"].(string))
	if err != nil {
		hsError(w, 400, "VALIDATION_ERROR", "after is not a paging cursor")
		return
	}
	var ids []int
	for id, rec := range s.records[typ] {
		if s.unindexed[id] {
			continue
		}
		p := rec["properties"].(map[string]any)
		ok := true
		for _, g := range body["filterGroups"].([]any) {
			for _, f := range g.(map[string]any)["filters"].([]any) {
				f := f.(map[string]any)
				if f["operator"] == "EQ" && p[f["propertyName"].(string)] != f["value"] {
					ok = false
				}
			}
		}
		if q, _ := body["query"].(string); q != "" && !strings.Contains(fmt.Sprint(p), q) {
			ok = false
		}
		if ok {
			n, _ := strconv.Atoi(id)
			ids = append(ids, n)
		}
	}
	sort.Ints(ids)
	results := []any{}
	for _, id := range ids {
		if id > after && len(results) < limit {
			results = append(results, s.records[typ][strconv.Itoa(id)])
		}
	}
	out := map[string]any{"total": len(ids), "results": results}
	if len(results) == limit {
		last := results[len(results)-1].(map[string]any)["id"].(string)
		if n, _ := strconv.Atoi(last); n < ids[len(ids)-1] {
			out["paging"] = map[string]any{"next": map[string]any{"after": last, "link": "?after=" + last}}
		}
	}
	answer(w, 200, out)
}

func (s *standIn) received() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

func (s *standIn) lastBody() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[len(s.bodies)-1]
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

// exec is a live step whose credential may go to the stand-in only; quota collects what the step reported.
func (s *standIn) exec(input any, token string, quota *[]time.Duration) *nodes.Exec {
	f := map[string]string{FieldAccessToken: token}
	ds := egress.MustDestinations(s.URL)
	x := &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "HubSpot", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return f, nil }}
	if quota != nil {
		x.ReportQuota = func(_ context.Context, d time.Duration) { *quota = append(*quota, d) }
	}
	return x
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}

// TestStandInValidates: the stand-in refuses what HubSpot's descriptions refuse, so the tests above prove
// something: a search without its required parts, a create without properties, an association of a path the
// descriptions do not have.
func TestStandInValidates(t *testing.T) {
	s := newStandIn(t)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/crm/v3/objects/contacts/search", `{"limit": 10}`},
		{"POST", "/crm/v3/objects/contacts", `{"associations": []}`},
		{"POST", "/crm/v3/objects/deals/batch/upsert", `{"inputs": [{"idProperty": "x", "properties": {"a": 1}}]}`},
		{"POST", "/crm/v4/objects/deals/1/associations/contacts/2", ``},
	} {
		r := httptest.NewRequest(c.method, s.URL+c.path, strings.NewReader(c.body))
		r.Header.Set("Content-Type", "application/json")
		if err := s.validate(r, []byte(c.body)); err == nil {
			t.Errorf("%s %s %s validated", c.method, c.path, c.body)
		}
	}
	ok := `{"inputs": [{"idProperty": "email", "id": "a@example.com", "properties": {"email": "a@example.com"}}]}`
	r := httptest.NewRequest("POST", s.URL+"/crm/v3/objects/contacts/batch/upsert", strings.NewReader(ok))
	r.Header.Set("Content-Type", "application/json")
	if err := s.validate(r, []byte(ok)); err != nil {
		t.Errorf("a valid upsert refused: %v", err)
	}
}
