package youzan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const (
	testClientID = "8d0d2f7c1a2b3c4d5e"
	testSecret   = "ferry-test-youzan-client-secret-7f3a"
	testShop     = "42583152"
)

// standIn is a local Youzan open platform that enforces what testdata/README.md says Youzan documents: the
// token exchange (JSON body with exactly the documented fields, refresh false handing out the current token,
// refresh true a new one and the old one refused from then on), the token in the query only, Youzan's three
// failure shapes with HTTP 200, the documented parameters of each API (times as yyyy-MM-dd HH:mm:ss in pairs,
// page_no and page_size within 100), and rate limiting (the gateway's 4101).
type standIn struct {
	*httptest.Server
	t *testing.T

	mu         sync.Mutex
	clock      time.Time         // the platform's clock, from the real one (the token cache reads expiries against it)
	current    string            // the shop's valid token
	expires    time.Time         // its expiry
	issued     int               // tokens issued
	refreshes  []bool            // the refresh flag of every token request
	calls      []string          // API calls, "api/version"
	bodies     []map[string]any  // their bodies
	limited    int               // answer this many API calls with 4101
	tooMany    int               // answer this many API calls with HTTP 429
	trades     []map[string]any  // full_order_info objects
	shipped    map[string]bool   // tids shipped
	memos      map[string]string // tid → memo
	tokenTTL   time.Duration
	totalDrift int // add this to total_results on the next list answer (a trade leaving the window)
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, clock: time.Now().Truncate(time.Second), shipped: map[string]bool{}, memos: map[string]string{},
		tokenTTL: 7 * 24 * time.Hour}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	prev := baseURL
	baseURL = s.URL
	t.Cleanup(func() { baseURL = prev })
	// Every test starts with an empty token cache: tokens of an earlier test's stand-in are no good here.
	prevTokens := provider.Token
	provider.Token = &connector.TokenSource{Fetch: tokens.Fetch, Refused: tokens.Refused, Early: tokens.Early}
	t.Cleanup(func() { provider.Token = prevTokens })
	return s
}

func (s *standIn) fields() map[string]string {
	return map[string]string{FieldClientID: testClientID, FieldClientSecret: testSecret, FieldGrantID: testShop}
}

func answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}

func gateway(w http.ResponseWriter, code int, msg string) {
	answer(w, map[string]any{"gw_err_resp": map[string]any{"trace_id": "yz7-0a3e-1", "err_msg": msg, "err_code": code}})
}

func service(w http.ResponseWriter, code int, msg string) {
	answer(w, map[string]any{"trace_id": "yz7-0a3e-2", "code": code, "success": false, "message": msg, "data": nil})
}

func ok(w http.ResponseWriter, data any) {
	answer(w, map[string]any{"trace_id": "yz7-0a3e-3", "code": 200, "success": true, "message": "successful", "data": data})
}

var youzanTimeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.t.Errorf("%s %s with Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		gateway(w, 4007, "非法的请求姿势，httpMethod:"+r.Method+", contentType:"+r.Header.Get("Content-Type"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == tokenPath {
		s.token(w, raw)
		return
	}
	m := regexp.MustCompile(`^/api/([a-z.]+)/(\d+\.\d+\.\d+)$`).FindStringSubmatch(r.URL.Path)
	if m == nil {
		gateway(w, 4001, "非法请求地址")
		return
	}
	api := m[1] + "/" + m[2]
	known := map[string]bool{APITradesSold + "/" + VersionTrades: true, APITradeGet + "/" + VersionTrade: true,
		APIShip + "/" + VersionShip: true, APIMemo + "/" + VersionMemo: true, APIExpresses + "/" + VersionExpress: true}
	if !known[api] {
		s.t.Errorf("call of %s, which the connector does not use", api)
		gateway(w, 4005, "非法的API")
		return
	}
	switch tok := r.URL.Query().Get("access_token"); {
	case tok == "":
		gateway(w, 4201, "非法的请求凭证")
		return
	case tok != s.current:
		gateway(w, 4203, "Token 不存在")
		return
	case !s.clock.Before(s.expires):
		gateway(w, 4202, "请求凭证过期")
		return
	}
	var body map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		gateway(w, 4004, "非法的Content")
		return
	}
	s.calls = append(s.calls, api)
	s.bodies = append(s.bodies, body)
	if s.tooMany > 0 {
		s.tooMany--
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if s.limited > 0 {
		s.limited--
		gateway(w, 4101, "访问频繁")
		return
	}
	switch m[1] {
	case APITradesSold:
		s.sold(w, body)
	case APITradeGet:
		tid, _ := body["tid"].(string)
		if info := s.trade(tid); info != nil {
			ok(w, map[string]any{"full_order_info": info, "refund_order": []any{}, "delivery_order": []any{}})
			return
		}
		answer(w, map[string]any{"trace_id": "yz7-0a3e-4", "code": 5000, "success": false, "message": "trade not found",
			"data": map[string]any{"delivery_order": []any{}, "refund_order": []any{}, "full_order_info": map[string]any{"orders": []any{}}}})
	case APIShip:
		tid, _ := body["tid"].(string)
		noExpress, _ := body["is_no_express"].(json.Number)
		if noExpress.String() != "1" && (body["out_stype"] == nil || body["out_sid"] == nil) {
			service(w, 5000, "物流发货时 out_stype 和 out_sid 必填")
			return
		}
		if sid, _ := body["out_sid"].(string); sid != "" && !regexp.MustCompile(`^[A-Za-z0-9-]+$`).MatchString(sid) {
			service(w, 105000003, "快递单号只能包含字母、数字或中划线")
			return
		}
		if s.trade(tid) == nil {
			service(w, 105000016, "订单不存在")
			return
		}
		if s.shipped[tid] {
			service(w, 102570007, "不能重复提交已发过货的商品")
			return
		}
		s.shipped[tid] = true
		ok(w, map[string]any{"is_success": true})
	case APIMemo:
		tid, _ := body["tid"].(string)
		if s.trade(tid) == nil {
			answer(w, map[string]any{"error_response": map[string]any{"code": 50000, "msg": "订单不存在"}})
			return
		}
		s.memos[tid], _ = body["memo"].(string)
		answer(w, map[string]any{"response": map[string]any{"is_success": true}})
	case APIExpresses:
		ok(w, map[string]any{"allExpress": []any{map[string]any{"id": 1, "name": "申通快递", "display": 0},
			map[string]any{"id": 7, "name": "顺丰速运", "display": 0}}})
	}
}

// token answers /auth/token as Youzan documents it.
func (s *standIn) token(w http.ResponseWriter, raw []byte) {
	var in struct {
		ClientID      string `json:"client_id"`
		ClientSecret  string `json:"client_secret"`
		AuthorizeType string `json:"authorize_type"`
		GrantID       string `json:"grant_id"`
		Refresh       *bool  `json:"refresh"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.AuthorizeType != "silent" || in.Refresh == nil {
		s.t.Errorf("the token request is not the documented silent exchange: %s (%v)", raw, err)
		answer(w, map[string]any{"success": false, "code": 1000, "data": nil, "message": "参数错误"})
		return
	}
	switch {
	case in.ClientID != testClientID:
		answer(w, map[string]any{"success": false, "code": 1103, "data": nil, "message": "Client 不存在"})
		return
	case in.ClientSecret != testSecret:
		answer(w, map[string]any{"success": false, "code": 1000, "data": nil, "message": "应用信息错误"})
		return
	case in.GrantID != testShop:
		answer(w, map[string]any{"success": false, "code": 1103, "data": nil, "message": "授权关系不存在"})
		return
	}
	s.refreshes = append(s.refreshes, *in.Refresh)
	if s.current == "" || *in.Refresh || !s.clock.Before(s.expires) {
		s.issued++
		s.current, s.expires = fmt.Sprintf("774ae7b675f8db2aa65d38bf5de710%02d", s.issued), s.clock.Add(s.tokenTTL)
	}
	answer(w, map[string]any{"success": true, "code": 200, "message": nil, "data": map[string]any{
		"access_token": s.current, "expires": s.expires.UnixMilli(), "scope": "trade logistics", "authority_id": testShop}})
}

func (s *standIn) trade(tid string) map[string]any {
	for _, t := range s.trades {
		if t["order_info"].(map[string]any)["tid"] == tid {
			return t
		}
	}
	return nil
}

// sold answers youzan.trades.sold.get: the trades updated in the window, latest update first, a page of them.
func (s *standIn) sold(w http.ResponseWriter, body map[string]any) {
	from, _ := body["start_update"].(string)
	to, _ := body["end_update"].(string)
	if !youzanTimeRe.MatchString(from) || !youzanTimeRe.MatchString(to) {
		s.t.Errorf("start_update %q and end_update %q are not a pair of yyyy-MM-dd HH:mm:ss", from, to)
		gateway(w, 5001, "系统异常")
		return
	}
	ft, _ := ParseTime(from)
	tt, _ := ParseTime(to)
	if ft.After(tt) {
		service(w, 5000, "开始时间不能大于结束时间")
		return
	}
	if tt.Sub(ft) > 92*24*time.Hour {
		service(w, 5000, "查询时间跨度不能大于3个月")
		return
	}
	pageNo, _ := body["page_no"].(json.Number).Int64()
	pageSize, _ := body["page_size"].(json.Number).Int64()
	if pageSize > 100 {
		service(w, 5000, "每页最多显示100条数据")
		return
	}
	if pageNo < 1 || pageNo > 100 || pageSize < 1 {
		service(w, 5000, "分页参数错误")
		return
	}
	var list []map[string]any
	for _, t := range s.trades {
		u := t["order_info"].(map[string]any)["update_time"].(string)
		if u >= from && u <= to {
			list = append(list, t)
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		return list[i]["order_info"].(map[string]any)["update_time"].(string) > list[j]["order_info"].(map[string]any)["update_time"].(string)
	})
	start := min(int((pageNo-1)*pageSize), len(list))
	end := min(start+int(pageSize), len(list))
	page := make([]any, 0, end-start)
	for _, t := range list[start:end] {
		page = append(page, map[string]any{"full_order_info": t})
	}
	total := len(list) + s.totalDrift
	s.totalDrift = 0
	ok(w, map[string]any{"full_order_info_list": page, "total_results": total})
}

func (s *standIn) received() ([]string, []map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...), append([]map[string]any(nil), s.bodies...)
}

// testTrade is trade n as Youzan gives it, updated at updated (Shanghai time).
func testTrade(n int, updated string) map[string]any {
	b, err := os.ReadFile("testdata/trade-detail.json")
	if err != nil {
		panic(err)
	}
	var v map[string]any
	json.Unmarshal(b, &v)
	info := v["full_order_info"].(map[string]any)
	order := info["order_info"].(map[string]any)
	order["tid"] = fmt.Sprintf("E202611200000000405%05d", n)
	order["update_time"] = updated
	return info
}

// build constructs a node the way the engine does, from its registered spec.
func build(t testing.TB, typ string, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, typ, 1, params, "cred-1")
}

// exec is a live step whose credential may go to the stand-in only.
func (s *standIn) exec(input any, fields map[string]string) *nodes.Exec {
	if fields == nil {
		fields = s.fields()
	}
	ds := egress.MustDestinations(s.URL)
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1",
		HTTP:       egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Youzan", ds, nil }),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

// outcome checks that err is a step failure of code and kind.
func outcome(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}
