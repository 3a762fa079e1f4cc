package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
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
	testToken    = "00Dxx0000001gPF!AQ4AQFerryTestToken"
	testInstance = "https://acme.my.salesforce.com"
)

// record is a stored sObject record of the stand-in.
type record map[string]any

// standIn is a local Salesforce REST API. Salesforce publishes no static OpenAPI description of it (its sObjects
// OpenAPI document, a beta, is generated per org on request), so the stand-in enforces what the REST API
// Developer Guide documents (testdata/README.md): every path under /services/data/v62.0, the Bearer token,
// JSON bodies of writable fields (no Id, no attributes) with Content-Type application/json, the SOQL query in
// the q parameter and its batches joined by nextRecordsUrl, errors as an array of {message, errorCode,
// fields}, REQUEST_LIMIT_EXCEEDED as 403, and the Sforce-Limit-Info header on every answer.
type standIn struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	requests []string // "METHOD path?query"
	bodies   []map[string]any
	objects  map[string][]record
	batch    int // records per query batch
	locators map[string][]record
	used     int64
	limited  bool   // answer REQUEST_LIMIT_EXCEEDED
	expired  bool   // answer INVALID_SESSION_ID to every token
	token    string // the token the org accepts; testToken unless a test revokes it
	nextID   int
	nextLoc  int
	clock    time.Time
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, token: testToken, objects: map[string][]record{}, batch: 2000, locators: map[string][]record{}, used: 17,
		clock: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	prev := origin
	origin = func(*url.URL) *url.URL { u, _ := url.Parse(s.URL); return u }
	t.Cleanup(func() { origin = prev })
	return s
}

// externalIDFields are the fields marked External ID in the stand-in's org: the payments' and the order lines'.
var externalIDFields = map[string]bool{"Payment_Id__c": true, "Line_Key__c": true}

func sfErrors(w http.ResponseWriter, status int, code, msg string, fields ...string) {
	if fields == nil {
		fields = []string{}
	}
	answer(w, status, []any{map[string]any{"message": msg, "errorCode": code, "fields": fields}})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9]{18}$`)
	namePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	// The SOQL shapes Ferry sends: a poll (with its keyset continuation and condition) or a plain select.
	pollQuery  = regexp.MustCompile(`^SELECT ([A-Za-z0-9_., ]+) FROM ([A-Za-z0-9_]+) WHERE (?:SystemModstamp >= (\S+)|\(SystemModstamp > (\S+) OR \(SystemModstamp = (\S+) AND Id > '([A-Za-z0-9]+)'\)\))(?: AND \((.+)\))? ORDER BY SystemModstamp, Id LIMIT (\d+)$`)
	plainQuery = regexp.MustCompile(`^SELECT ([A-Za-z0-9_., ]+) FROM ([A-Za-z0-9_]+)$`)
	// A match: one field equal to a string literal, whose quotes and backslashes must be escaped.
	matchQuery   = regexp.MustCompile(`^SELECT ([A-Za-z0-9_., ]+) FROM ([A-Za-z0-9_]+) WHERE ([A-Za-z0-9_]+) = '((?:[^'\\\n\r]|\\[nrtbf"'\\])*)' LIMIT (\d+)$`)
	soqlUnescape = strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\"`, `"`, `\n`, "\n", `\r`, "\r", `\t`, "\t", `\b`, "\b", `\f`, "\f")
	soqlTimeRE   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
	s.used++
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/15000", s.used))
	if r.Header.Get("Authorization") != "Bearer "+s.token || s.expired {
		sfErrors(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	if s.limited {
		sfErrors(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	if r.Header.Get("Accept") != "application/json" {
		s.t.Errorf("%s %s: Accept %q", r.Method, r.URL, r.Header.Get("Accept"))
	}
	// The path is read as sent, each segment unescaped on its own: an external id may hold a slash (A%2F42).
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/services/data/v62.0/")
	if !ok {
		sfErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			s.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL, ct)
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			sfErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected character: was expecting JSON")
			return
		}
		s.bodies = append(s.bodies, body)
		for k := range body {
			if k == "Id" || k == "attributes" || !namePattern.MatchString(k) {
				sfErrors(w, http.StatusBadRequest, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: "+k, k)
				return
			}
		}
	} else if len(raw) > 0 {
		s.t.Errorf("%s %s has a body", r.Method, r.URL)
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	rest = strings.Join(parts, "/")
	switch {
	case rest == "limits" && r.Method == http.MethodGet:
		answer(w, 200, map[string]any{"DailyApiRequests": map[string]any{"Max": 15000, "Remaining": 15000 - s.used}})
	case rest == "sobjects" && r.Method == http.MethodGet:
		answer(w, 200, map[string]any{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": []any{
			map[string]any{"name": "Account", "label": "Account", "createable": true, "queryable": true},
			map[string]any{"name": "AccountHistory", "label": "Account History", "createable": false, "queryable": true},
			map[string]any{"name": "Invoice__c", "label": "Invoice", "createable": true, "custom": true},
		}})
	case rest == "query" && r.Method == http.MethodGet:
		s.query(w, r.URL.Query())
	case len(parts) == 2 && parts[0] == "query" && r.Method == http.MethodGet:
		if len(r.URL.Query()) > 0 {
			s.t.Errorf("query more results with parameters: %s", r.URL)
		}
		s.more(w, parts[1])
	case len(parts) == 3 && parts[0] == "sobjects" && parts[2] == "describe" && r.Method == http.MethodGet:
		// sObject Describe: the object's fields, each with externalIdField.
		if parts[1] != "Opportunity" {
			sfErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
			return
		}
		answer(w, 200, map[string]any{"name": "Opportunity", "label": "Opportunity", "fields": []any{
			map[string]any{"name": "Id", "label": "Opportunity ID", "externalIdField": false, "idLookup": true},
			map[string]any{"name": "Name", "label": "Name", "externalIdField": false, "idLookup": false},
			map[string]any{"name": "Payment_Id__c", "label": "Payment Id", "externalIdField": true, "idLookup": true},
			map[string]any{"name": "Order_No__c", "label": "Order number", "externalIdField": true, "idLookup": true},
		}})
	case len(parts) >= 2 && parts[0] == "sobjects":
		s.sobject(w, r, parts[1:], body)
	default:
		sfErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

func (s *standIn) sobject(w http.ResponseWriter, r *http.Request, parts []string, body map[string]any) {
	typ := parts[0]
	if typ != "Account" && typ != "Opportunity" && typ != "Invoice__c" && typ != "Order_Line__c" {
		sfErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodPost:
		rec := s.insert(typ, body)
		answer(w, http.StatusCreated, map[string]any{"id": rec["Id"], "success": true, "errors": []any{}})
	case len(parts) == 2 && r.Method == http.MethodGet:
		rec := s.find(typ, "Id", parts[1])
		if rec == nil {
			sfErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
			return
		}
		s.answerRecord(w, r, typ, rec)
	case len(parts) == 2 && r.Method == http.MethodPatch:
		if !idPattern.MatchString(parts[1]) {
			sfErrors(w, http.StatusBadRequest, "MALFORMED_ID", "malformed id "+parts[1])
			return
		}
		rec := s.find(typ, "Id", parts[1])
		if rec == nil {
			sfErrors(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+parts[1])
			return
		}
		s.write(rec, body)
		answer(w, http.StatusNoContent, nil)
	case len(parts) == 3 && r.Method == http.MethodGet:
		// sObject Rows by External ID: the record with the value, 404 NOT_FOUND for none, 300 and the records'
		// URLs for several.
		field, value := parts[1], parts[2]
		if !externalIDFields[field] {
			sfErrors(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+field)
			return
		}
		var matches []record
		for _, rec := range s.objects[typ] {
			if rec[field] == value {
				matches = append(matches, rec)
			}
		}
		switch len(matches) {
		case 0:
			sfErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		case 1:
			s.answerRecord(w, r, typ, matches[0])
		default:
			urls := []any{}
			for _, m := range matches {
				urls = append(urls, "/services/data/v62.0/sobjects/"+typ+"/"+m["Id"].(string))
			}
			answer(w, http.StatusMultipleChoices, urls)
		}
	case len(parts) == 3 && r.Method == http.MethodPatch:
		field, value := parts[1], parts[2]
		if !externalIDFields[field] {
			sfErrors(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+field)
			return
		}
		if _, ok := body[field]; ok {
			sfErrors(w, http.StatusBadRequest, "INVALID_FIELD", "The external id field may not be in the body", field)
			return
		}
		var matches []record
		for _, rec := range s.objects[typ] {
			if rec[field] == value {
				matches = append(matches, rec)
			}
		}
		switch len(matches) {
		case 0:
			with := map[string]any{field: value}
			for k, v := range body {
				with[k] = v
			}
			rec := s.insert(typ, with)
			answer(w, http.StatusCreated, map[string]any{"id": rec["Id"], "success": true, "errors": []any{}, "created": true})
		case 1:
			s.write(matches[0], body)
			answer(w, http.StatusOK, map[string]any{"id": matches[0]["Id"], "success": true, "errors": []any{}, "created": false})
		default:
			urls := []any{}
			for _, m := range matches {
				urls = append(urls, "/services/data/v62.0/sobjects/"+typ+"/"+m["Id"].(string))
			}
			answer(w, http.StatusMultipleChoices, urls)
		}
	default:
		sfErrors(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+r.Method+"' not allowed")
	}
}

// answerRecord answers a record with its attributes and the fields asked for (all without fields=), as sObject
// Rows does: a field the record has no value for is null; a field the sObject does not have is INVALID_FIELD.
func (s *standIn) answerRecord(w http.ResponseWriter, r *http.Request, typ string, rec record) {
	out := map[string]any{"attributes": map[string]any{"type": typ, "url": "/services/data/v62.0/sobjects/" + typ + "/" + rec["Id"].(string)}}
	want := r.URL.Query().Get("fields")
	if want == "" {
		for k, v := range rec {
			out[k] = v
		}
		answer(w, 200, out)
		return
	}
	out["Id"] = rec["Id"]
	for _, k := range strings.Split(want, ",") {
		if !namePattern.MatchString(k) {
			sfErrors(w, http.StatusBadRequest, "INVALID_FIELD", "No such column '"+k+"' on entity '"+typ+"'")
			return
		}
		out[k] = rec[k]
	}
	answer(w, 200, out)
}

func (s *standIn) tick() string {
	s.clock = s.clock.Add(time.Second)
	return s.clock.Format("2006-01-02T15:04:05.000+0000")
}

func (s *standIn) insert(typ string, body map[string]any) record {
	s.nextID++
	now := s.tick()
	rec := record{"Id": fmt.Sprintf("001xx%013d", s.nextID), "SystemModstamp": now, "LastModifiedDate": now}
	for k, v := range body {
		rec[k] = v
	}
	if typ == "Account" && rec["Name"] == nil {
		delete(rec, "Id")
		s.nextID--
		return rec
	}
	s.objects[typ] = append(s.objects[typ], rec)
	return rec
}

func (s *standIn) write(rec record, body map[string]any) {
	for k, v := range body {
		rec[k] = v
	}
	now := s.tick()
	rec["SystemModstamp"], rec["LastModifiedDate"] = now, now
}

func (s *standIn) find(typ, field, value string) record {
	for _, rec := range s.objects[typ] {
		if rec[field] == value {
			return rec
		}
	}
	return nil
}

func (s *standIn) query(w http.ResponseWriter, q url.Values) {
	soql := q.Get("q")
	if len(q) != 1 || soql == "" {
		sfErrors(w, http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
		return
	}
	var rows []record
	if m := plainQuery.FindStringSubmatch(soql); m != nil {
		rows = append(rows, s.objects[m[2]]...)
	} else if m := matchQuery.FindStringSubmatch(soql); m != nil {
		value := soqlUnescape.Replace(m[4])
		limit, _ := strconv.Atoi(m[5])
		for _, rec := range s.objects[m[2]] {
			// SOQL compares text without regard to case.
			if v, ok := rec[m[3]].(string); ok && strings.EqualFold(v, value) && len(rows) < limit {
				rows = append(rows, rec)
			}
		}
	} else if m := pollQuery.FindStringSubmatch(soql); m != nil {
		from, after, afterID := m[3], m[4], m[6]
		for _, ts := range []string{from, after} {
			if ts != "" && !soqlTimeRE.MatchString(ts) {
				sfErrors(w, http.StatusBadRequest, "MALFORMED_QUERY", "line 1: invalid dateTime "+ts)
				return
			}
		}
		if after != "" && m[5] != after {
			s.t.Errorf("keyset times differ: %s", soql)
		}
		limit, _ := strconv.Atoi(m[8])
		for _, rec := range s.objects[m[2]] {
			t, _ := parseModstamp(rec["SystemModstamp"].(string))
			ts := soqlTime(t)
			switch {
			case from != "" && ts >= from,
				after != "" && (ts > after || ts == after && rec["Id"].(string) > afterID):
			default:
				continue
			}
			if c := m[7]; c != "" {
				k, v, _ := strings.Cut(c, " = ")
				if fmt.Sprint(rec[k]) != strings.Trim(v, "'") {
					continue
				}
			}
			rows = append(rows, rec)
		}
		sort.SliceStable(rows, func(i, j int) bool {
			a, b := rows[i]["SystemModstamp"].(string), rows[j]["SystemModstamp"].(string)
			return a < b || a == b && rows[i]["Id"].(string) < rows[j]["Id"].(string)
		})
		rows = rows[:min(limit, len(rows))]
	} else {
		sfErrors(w, http.StatusBadRequest, "MALFORMED_QUERY", "unexpected token: "+soql)
		return
	}
	s.page(w, rows)
}

func (s *standIn) more(w http.ResponseWriter, locator string) {
	rows, ok := s.locators[locator]
	if !ok {
		sfErrors(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	delete(s.locators, locator)
	s.page(w, rows)
}

// page answers one batch and keeps the rest behind a query locator.
func (s *standIn) page(w http.ResponseWriter, rows []record) {
	n := min(s.batch, len(rows))
	out := map[string]any{"totalSize": len(rows), "done": n == len(rows)}
	recs := make([]any, 0, n)
	for _, r := range rows[:n] {
		c := map[string]any{"attributes": map[string]any{"type": "Account"}}
		for k, v := range r {
			c[k] = v
		}
		recs = append(recs, c)
	}
	out["records"] = recs
	if n < len(rows) {
		s.nextLoc++
		loc := fmt.Sprintf("01gxx0000000%03d-%d", s.nextLoc, n)
		s.locators[loc] = rows[n:]
		out["nextRecordsUrl"] = "/services/data/v62.0/query/" + loc
	}
	answer(w, 200, out)
}

func (s *standIn) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func fields() map[string]string {
	return map[string]string{nodes.CredentialAccessToken: testToken, nodes.CredentialTokenType: "Bearer", FieldInstanceURL: testInstance}
}

// usageReport is what steps reported of the org's API allowance.
type usageReport struct {
	mu          sync.Mutex
	used, limit int64
	provider    string
}

func (s *standIn) exec(input any, u *usageReport) *nodes.Exec {
	f := fields()
	ds := egress.MustDestinations(s.URL)
	x := &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Salesforce", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return f, nil }}
	if u != nil {
		x.ReportUsage = func(provider string, used, limit int64) {
			u.mu.Lock()
			defer u.mu.Unlock()
			u.provider, u.used, u.limit = provider, used, limit
		}
	}
	return x
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}
