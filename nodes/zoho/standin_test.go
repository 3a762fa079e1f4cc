package zoho

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const (
	testToken     = "1000.test-access-token.0123456789"
	testAPIDomain = "https://www.zohoapis.eu"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// standIn is a local Zoho CRM v8. Every request is validated against Zoho's own OpenAPI description of its
// operation (oas_test.go); on top, it enforces what the descriptions leave to prose: the token in
// "Authorization: Zoho-oauthtoken …" (anything else is Zoho's 401 INVALID_TOKEN), search pages of at most 200
// records and 2,000 in all, COQL queries that carry their LIMIT (at most 2,000), the answer envelope with
// info.more_records, 204 for nothing found, a record's own error inside the data list, and 429 TOO_MANY_REQUESTS.
type standIn struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	requests []*http.Request
	bodies   []map[string]any
	queries  []string
	tooMany  bool
	records  map[string][]map[string]any
	nextID   int
	clock    time.Time // Zoho's clock, a second later at every save
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, records: map[string][]map[string]any{}, nextID: 1, clock: time.Date(2026, 12, 7, 16, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	prev := origin
	origin = func(api *url.URL) *url.URL {
		if api.String() != testAPIDomain {
			t.Errorf("requests went to %s, not the token's api_domain", api)
		}
		u, _ := url.Parse(s.URL)
		return u
	}
	t.Cleanup(func() { origin = prev })
	return s
}

func zohoError(w http.ResponseWriter, status int, code, msg string, details map[string]any) {
	if details == nil {
		details = map[string]any{}
	}
	answer(w, status, map[string]any{"code": code, "details": details, "message": msg, "status": "error"})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func tokenOK(r *http.Request) error {
	if r.Header.Get("Authorization") != "Zoho-oauthtoken "+testToken {
		return fmt.Errorf("the Authorization header is %q, not Zoho-oauthtoken and the token", r.Header.Get("Authorization"))
	}
	return nil
}

var (
	criteriaEquals = regexp.MustCompile(`^\((\w+):equals:(.*)\)$`)
	coqlShape      = regexp.MustCompile(`(?i)^select (.+) from (\w+)(?: where (\w+) = '([^']*)')? limit (\d+), (\d+)$`)
)

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			s.t.Errorf("%s %s: the body is not JSON: %v", r.Method, r.URL, err)
		}
	}
	s.bodies = append(s.bodies, body)
	if err := tokenOK(r); err != nil {
		zohoError(w, 401, "INVALID_TOKEN", "invalid oauth token", nil)
		return
	}
	if err := validateRequest(r, raw, tokenOK); err != nil {
		s.t.Errorf("a request Zoho's description refuses: %v", err)
		zohoError(w, 400, "INVALID_REQUEST", "the request does not match the API", nil)
		return
	}
	if s.tooMany {
		zohoError(w, 429, "TOO_MANY_REQUESTS", "The number of concurrent requests has exceeded the limit.", nil)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/crm/v8/")
	parts := strings.Split(path, "/")
	switch {
	case path == "settings/modules":
		answer(w, 200, map[string]any{"modules": []any{
			map[string]any{"api_name": "Leads", "plural_label": "Leads", "api_supported": true},
			map[string]any{"api_name": "Contacts", "plural_label": "Contacts", "api_supported": true},
			map[string]any{"api_name": "Payments_X", "plural_label": "付款记录", "api_supported": true},
		}})
	case path == "settings/fields":
		answer(w, 200, map[string]any{"fields": []any{
			map[string]any{"api_name": "Last_Name", "field_label": "Last Name", "data_type": "text", "system_mandatory": true},
			map[string]any{"api_name": "Email", "field_label": "Email", "data_type": "email", "unique": map[string]any{}},
		}})
	case path == "coql":
		s.coql(w, body)
	case len(parts) == 2 && parts[1] == "upsert":
		s.upsert(w, parts[0], body)
	case len(parts) == 2 && parts[1] == "search":
		s.search(w, r, parts[0])
	case len(parts) == 2:
		for _, rec := range s.records[parts[0]] {
			if rec["id"] == parts[1] {
				answer(w, 200, map[string]any{"data": []any{rec}})
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		s.t.Errorf("unexpected %s %s", r.Method, r.URL)
		zohoError(w, 404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", nil)
	}
}

func (s *standIn) upsert(w http.ResponseWriter, module string, body map[string]any) {
	data, _ := body["data"].([]any)
	if len(data) != 1 {
		s.t.Errorf("upsert sent %d records, want one", len(data))
	}
	rec, _ := data[0].(map[string]any)
	keys := []string{"Email"}
	if dup, ok := body["duplicate_check_fields"].([]any); ok {
		keys = nil
		for _, k := range dup {
			keys = append(keys, k.(string))
		}
	}
	var found []map[string]any
	for _, existing := range s.records[module] {
		same := true
		for _, k := range keys {
			same = same && existing[k] != nil && existing[k] == rec[k]
		}
		if same {
			found = append(found, existing)
		}
	}
	switch {
	case len(found) > 1:
		// Zoho's answer when the match fields find more than one record: 202 with the record's error.
		answer(w, 202, map[string]any{"data": []any{map[string]any{"code": "DUPLICATE_DATA", "status": "error",
			"message": "duplicate data", "details": map[string]any{"api_name": keys[0], "more_records": true}}}})
	case len(found) == 1:
		for k, v := range rec {
			found[0][k] = v
		}
		found[0]["Modified_Time"] = s.tick()
		answer(w, 200, map[string]any{"data": []any{map[string]any{"code": "SUCCESS", "status": "success", "message": "record updated",
			"action": "update", "duplicate_field": keys[0], "details": map[string]any{"id": found[0]["id"]}}}})
	case rec["Last_Name"] == nil && module == "Contacts":
		// A record Zoho refuses on its own: 400 with the data envelope.
		answer(w, 400, map[string]any{"data": []any{map[string]any{"code": "MANDATORY_NOT_FOUND", "status": "error",
			"message": "required field not found", "details": map[string]any{"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"}}}})
	default:
		id := strconv.Itoa(4150868000000224000 + s.nextID)
		s.nextID++
		created := map[string]any{"id": id, "Modified_Time": s.tick()}
		for k, v := range rec {
			created[k] = v
		}
		s.records[module] = append(s.records[module], created)
		answer(w, 201, map[string]any{"data": []any{map[string]any{"code": "SUCCESS", "status": "success", "message": "record added",
			"action": "insert", "duplicate_field": nil, "details": map[string]any{"id": id}}}})
	}
}

// list answers one page of matches in Zoho's envelope, or 204 when nothing matched.
func list(w http.ResponseWriter, matches []map[string]any, offset, size int, info map[string]any) {
	if offset >= len(matches) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	end := min(offset+size, len(matches))
	page := make([]any, 0, end-offset)
	for _, m := range matches[offset:end] {
		page = append(page, m)
	}
	info["count"], info["more_records"] = len(page), end < len(matches)
	answer(w, 200, map[string]any{"data": page, "info": info})
}

func (s *standIn) search(w http.ResponseWriter, r *http.Request, module string) {
	q := r.URL.Query()
	page, per := 1, 200
	if q.Has("page") {
		page, _ = strconv.Atoi(q.Get("page"))
	}
	if q.Has("per_page") {
		per, _ = strconv.Atoi(q.Get("per_page"))
	}
	if per < 1 || per > 200 || page < 1 {
		zohoError(w, 400, "INVALID_DATA", "invalid data", map[string]any{"param_name": "per_page", "maximum_length": 200})
		return
	}
	if page*per > 2000 {
		zohoError(w, 400, "LIMIT_REACHED", "limit reached for search", map[string]any{"limit": 2000})
		return
	}
	field, value := "Email", q.Get("email")
	if c := q.Get("criteria"); c != "" {
		m := criteriaEquals.FindStringSubmatch(c)
		if m == nil {
			zohoError(w, 400, "INVALID_QUERY", "invalid query formed", map[string]any{"reason": "the stand-in reads (Field:equals:value) only"})
			return
		}
		// A bracket or comma inside the value is Zoho's syntax unless escaped with a backslash.
		var b strings.Builder
		escaped := false
		for _, r := range m[2] {
			switch {
			case escaped:
				b.WriteRune(r)
				escaped = false
			case r == '\\':
				escaped = true
			case r == '(' || r == ')' || r == ',':
				zohoError(w, 400, "INVALID_QUERY", "invalid query formed", map[string]any{"reason": "unescaped " + string(r) + " in a value"})
				return
			default:
				b.WriteRune(r)
			}
		}
		field, value = m[1], b.String()
	} else if value == "" {
		zohoError(w, 400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", map[string]any{"param_name": "criteria/email/phone/word"})
		return
	}
	var matches []map[string]any
	for _, rec := range s.records[module] {
		if fmt.Sprint(rec[field]) == value {
			matches = append(matches, shown(rec, q.Get("fields")))
		}
	}
	list(w, matches, (page-1)*per, per, map[string]any{"page": page, "per_page": per})
}

// shown is a record as Zoho answers it for a fields parameter: the id and the fields named, null when empty;
// every field without one.
func shown(rec map[string]any, fields string) map[string]any {
	if fields == "" {
		return rec
	}
	out := map[string]any{"id": rec["id"]}
	for _, f := range strings.Split(fields, ",") {
		out[f] = rec[f]
	}
	return out
}

// tick is Zoho's time of a save, as it writes Modified_Time.
func (s *standIn) tick() string {
	s.clock = s.clock.Add(time.Second)
	return s.clock.Format(time.RFC3339)
}

func (s *standIn) coql(w http.ResponseWriter, body map[string]any) {
	query, _ := body["select_query"].(string)
	s.queries = append(s.queries, query)
	m := coqlShape.FindStringSubmatch(query)
	if m == nil {
		zohoError(w, 400, "SYNTAX_ERROR", "error occured while parsing the query", map[string]any{"clause": "limit"})
		return
	}
	offset, _ := strconv.Atoi(m[5])
	size, _ := strconv.Atoi(m[6])
	if size < 1 || size > 2000 || offset > 100000 {
		zohoError(w, 400, "LIMIT_EXCEEDED", "limit exceeded", map[string]any{"by": "limit", "limit": 2000})
		return
	}
	var matches []map[string]any
	for _, rec := range s.records[m[2]] {
		if m[3] == "" || fmt.Sprint(rec[m[3]]) == m[4] {
			matches = append(matches, rec)
		}
	}
	list(w, matches, offset, size, map[string]any{})
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

func (s *standIn) add(module string, recs ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rec := range recs {
		rec["id"] = strconv.Itoa(4150868000000224000 + s.nextID)
		s.nextID++
		s.records[module] = append(s.records[module], rec)
	}
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

// tokenFields are what the vault hands a step of a zoho.crm credential: the access token and the api_domain.
func tokenFields() map[string]string {
	return map[string]string{nodes.CredentialAccessToken: testToken, nodes.CredentialTokenType: "Bearer", FieldAPIDomain: testAPIDomain}
}

// exec is a live step whose credential may go to the stand-in only.
func (s *standIn) exec(input any) *nodes.Exec {
	f := tokenFields()
	ds := egress.MustDestinations(s.URL + APIPath)
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Zoho", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return f, nil }}
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}
