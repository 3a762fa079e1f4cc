package jiandaoyun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
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
	testKey   = "jdy-test-api-key-0123456789"
	testApp   = "59264073a2a60c0c08e20bfb"
	testEntry = "59264073a2a60c0c08e20bfd"
)

// filterMethods are the filter methods Jiandaoyun's list interface documents.
var filterMethods = map[string]bool{"not_empty": true, "empty": true, "eq": true, "in": true, "range": true, "nin": true, "ne": true,
	"like": true, "verified": true, "unverified": true, "all": true, "gt": true, "lt": true}

// standIn is a local Jiandaoyun open API v5 enforcing what its documentation asks (testdata/README.md): POST
// only, JSON bodies, "Authorization: Bearer <key>", app_id and entry_id in the body, every data value wrapped as
// {"value": …}, list pages of 1 to 100 records after the data_id cursor in the order of ids, filters of rel and
// cond with documented methods, errors as 400 {code, msg}, and 429 or code 8303 over the request rate.
type standIn struct {
	*httptest.Server
	t *testing.T

	mu         sync.Mutex
	paths      []string
	bodies     []map[string]any
	tooMany    int // 0: no; 429; 8303
	records    []map[string]any
	nextID     int
	creators   []any
	failCreate bool // answer a create with 502 after saving it
	updates    int  // updates saved: each sets updateTime a second after 2026-12-08T00:00:00Z
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, nextID: 1}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	prev := origin
	origin = func() *url.URL { u, _ := url.Parse(s.URL); return u }
	t.Cleanup(func() { origin = prev })
	return s
}

func jdyError(w http.ResponseWriter, status int, code int, msg string) {
	answer(w, status, map[string]any{"code": code, "msg": msg})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paths = append(s.paths, r.URL.Path)
	var body map[string]any
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.Unmarshal(raw, &body) != nil {
		s.t.Errorf("%s %s with %q: Jiandaoyun takes a POST of a JSON object", r.Method, r.URL, r.Header.Get("Content-Type"))
		jdyError(w, 400, 1, "The request is invalid.")
		return
	}
	s.bodies = append(s.bodies, body)
	if r.Header.Get("Authorization") != "Bearer "+testKey {
		jdyError(w, 401, 1, "The request is invalid.")
		return
	}
	switch s.tooMany {
	case 429:
		jdyError(w, 429, 8303, "超出请求频率限制")
		return
	case 8303:
		jdyError(w, 400, 8303, "超出请求频率限制")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, APIPath)
	if path == "/app/list" {
		if l, _ := body["limit"].(float64); l < 1 || l > 100 {
			s.t.Errorf("app/list limit %v", body["limit"])
		}
		answer(w, 200, map[string]any{"apps": []any{map[string]any{"name": "销售管理", "app_id": testApp},
			map[string]any{"name": "售后服务", "app_id": "5e0dca0cc9a2790006c11e02"}}})
		return
	}
	if path == "/app/entry/list" {
		// 用户表单查询接口: app_id required, limit 1–100, answer {"forms": [{"name", "app_id", "entry_id"}]}.
		if l, _ := body["limit"].(float64); l < 1 || l > 100 {
			s.t.Errorf("app/entry/list limit %v", body["limit"])
		}
		if body["app_id"] != testApp {
			jdyError(w, 400, 1, "The request is invalid.")
			return
		}
		answer(w, 200, map[string]any{"forms": []any{map[string]any{"name": "客户登记", "app_id": testApp, "entry_id": testEntry},
			map[string]any{"name": "回款记录", "app_id": testApp, "entry_id": "5ed750af3c07c70f9c6eef78"}}})
		return
	}
	if body["app_id"] != testApp || body["entry_id"] != testEntry {
		s.t.Errorf("%s: app_id %v, entry_id %v", path, body["app_id"], body["entry_id"])
		jdyError(w, 400, 1, "The request is invalid.")
		return
	}
	switch path {
	case "/app/entry/data/create":
		data, ok := s.data(w, body)
		if !ok {
			return
		}
		data["_id"] = fmt.Sprintf("%024x", s.nextID)
		s.nextID++
		data["updateTime"] = "2026-12-07T22:00:00.000Z"
		s.records = append(s.records, data)
		s.creators = append(s.creators, body["data_creator"])
		if s.failCreate {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		answer(w, 200, map[string]any{"data": data})
	case "/app/entry/data/update":
		data, ok := s.data(w, body)
		if !ok {
			return
		}
		rec := s.find(body["data_id"])
		if rec == nil {
			jdyError(w, 400, 1, "The request is invalid.")
			return
		}
		for k, v := range data {
			rec[k] = v
		}
		s.updates++
		rec["updateTime"] = time.Date(2026, 12, 8, 0, 0, s.updates, 0, time.UTC).Format("2006-01-02T15:04:05.000Z")
		answer(w, 200, map[string]any{"data": rec})
	case "/app/entry/data/get":
		rec := s.find(body["data_id"])
		if rec == nil {
			jdyError(w, 400, 1, "The request is invalid.")
			return
		}
		answer(w, 200, map[string]any{"data": rec})
	case "/app/entry/data/list":
		s.list(w, body)
	default:
		s.t.Errorf("unexpected POST %s", r.URL.Path)
		jdyError(w, 404, 1, "The request is invalid.")
	}
}

// data unwraps a create's or update's data, refusing a value not written as {"value": …}.
func (s *standIn) data(w http.ResponseWriter, body map[string]any) (map[string]any, bool) {
	in, _ := body["data"].(map[string]any)
	if len(in) == 0 {
		s.t.Errorf("no data object in %v", body)
		jdyError(w, 400, 1, "The request is invalid.")
		return nil, false
	}
	out := map[string]any{}
	for k, v := range in {
		m, ok := v.(map[string]any)
		if _, has := m["value"]; !ok || !has || len(m) != 1 {
			s.t.Errorf("field %s is %v, not {\"value\": …}", k, v)
			jdyError(w, 400, 1, "The request is invalid.")
			return nil, false
		}
		out[k] = m["value"]
	}
	return out, true
}

func (s *standIn) find(id any) map[string]any {
	for _, rec := range s.records {
		if rec["_id"] == id {
			return rec
		}
	}
	return nil
}

func (s *standIn) list(w http.ResponseWriter, body map[string]any) {
	limit := 10.0
	if l, ok := body["limit"]; ok {
		limit, _ = l.(float64)
	}
	if limit < 1 || limit > 100 || limit != float64(int(limit)) {
		s.t.Errorf("list limit %v, Jiandaoyun takes 1 to 100", body["limit"])
		jdyError(w, 400, 1, "The request is invalid.")
		return
	}
	var match func(map[string]any) bool
	if f, ok := body["filter"].(map[string]any); ok {
		conds, _ := f["cond"].([]any)
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			if m, _ := cm["method"].(string); !filterMethods[m] {
				jdyError(w, 400, 1, "The request is invalid.")
				return
			}
		}
		// The stand-in filters by the first condition when it is eq.
		if c, _ := conds[0].(map[string]any); c["method"] == "eq" {
			vals, _ := c["value"].([]any)
			match = func(rec map[string]any) bool { return len(vals) > 0 && rec[c["field"].(string)] == vals[0] }
		}
	}
	sorted := append([]map[string]any(nil), s.records...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i]["_id"].(string) < sorted[j]["_id"].(string) })
	after, _ := body["data_id"].(string)
	page := []any{}
	for _, rec := range sorted {
		if rec["_id"].(string) <= after || (match != nil && !match(rec)) {
			continue
		}
		if len(page) == int(limit) {
			break
		}
		page = append(page, rec)
	}
	answer(w, 200, map[string]any{"data": page})
}

func (s *standIn) add(n int, fields func(i int) map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		rec := fields(i)
		rec["_id"] = fmt.Sprintf("%024x", s.nextID)
		s.nextID++
		s.records = append(s.records, rec)
	}
}

func (s *standIn) lastBody() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[len(s.bodies)-1]
}

func (s *standIn) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

// exec is a live step whose credential may go to the stand-in only.
func (s *standIn) exec(input any, key string) *nodes.Exec {
	f := map[string]string{FieldAPIKey: key}
	ds := egress.MustDestinations(s.URL + APIPath)
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Jiandaoyun", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return f, nil }}
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}
