package youzan

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// TestTokenFlow: the first call obtains a token with refresh false and every later one reuses it, also from
// concurrent steps; a token Youzan calls expired (4202) is renewed and the call sent again; one it no longer
// knows (4203, replaced by another process) is replaced by the current one without issuing another.
func TestTokenFlow(t *testing.T) {
	s := newStandIn(t)
	s.trades = []map[string]any{testTrade(1, "2026-11-20 18:02:03")}
	x := s.exec(nil, nil)
	get := build(t, "youzan.trade.get", map[string]any{"tid": "E20261120000000040500001"})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := get.Execute(context.Background(), x)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.issued != 1 || len(s.refreshes) != 1 || s.refreshes[0] {
		t.Fatalf("%d tokens issued by %v for ten concurrent calls", s.issued, s.refreshes)
	}
	// Seven days on, Youzan says the token expired: it is renewed (Youzan issues a new one for an expired token
	// asked for with refresh false) and the call goes through.
	s.mu.Lock()
	s.clock = s.clock.Add(7*24*time.Hour + time.Minute)
	s.mu.Unlock()
	res, err := get.Execute(context.Background(), x)
	if err != nil {
		t.Fatalf("after the token expired: %v", err)
	}
	if res.Output.(map[string]any)["full_order_info"] == nil || s.issued != 2 || len(s.refreshes) != 2 || s.refreshes[1] {
		t.Fatalf("issued %d, refreshes %v, output %v", s.issued, s.refreshes, res.Output)
	}
	// Another process sharing the app replaced the token: Youzan no longer knows this one (4203). The current one
	// is fetched, not a third issued, so the other process's token stays good.
	s.mu.Lock()
	s.issued++
	s.current = "token-of-another-process"
	s.mu.Unlock()
	if _, err := get.Execute(context.Background(), x); err != nil {
		t.Fatalf("after another process renewed: %v", err)
	}
	if s.issued != 3 || len(s.refreshes) != 3 || s.refreshes[2] {
		t.Fatalf("issued %d, refreshes %v", s.issued, s.refreshes)
	}
	// A token about to expire is replaced by a new one: refresh true.
	if _, err := tokens.Fetch(context.Background(), x.Client(), connector.TokenRequest{Fields: s.fields(), Due: "token-of-another-process"}); err != nil {
		t.Fatal(err)
	}
	if s.issued != 4 || !s.refreshes[3] {
		t.Fatalf("a due token was not replaced by a new one: issued %d, refreshes %v", s.issued, s.refreshes)
	}
}

func TestTokenRefusals(t *testing.T) {
	s := newStandIn(t)
	s.trades = []map[string]any{testTrade(1, "2026-11-20 18:02:03")}
	get := build(t, "youzan.trade.get", map[string]any{"tid": "E20261120000000040500001"})
	wrong := s.fields()
	wrong[FieldClientSecret] = "not-the-secret"
	_, err := get.Execute(context.Background(), s.exec(nil, wrong))
	e := outcome(t, err, CodeAuthFailed, nodes.Permanent)
	if e.Err == nil || !contains(err.Error(), "1000 应用信息错误") {
		t.Fatalf("Youzan's answer is not quoted: %v", err)
	}
	other := s.fields()
	other[FieldGrantID] = "1"
	_, err = get.Execute(context.Background(), s.exec(nil, other))
	if !contains(fmt.Sprint(err), "授权关系不存在") {
		t.Fatalf("another shop: %v", err)
	}
	bad := s.fields()
	bad[FieldGrantID] = "shop-1"
	_, err = get.Execute(context.Background(), s.exec(nil, bad))
	outcome(t, err, "youzan_credential_invalid", nodes.Permanent)
	// A shop whose grant ended: every token is refused. One renewal, then the refusal.
	x := s.exec(nil, nil)
	if _, err := get.Execute(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.tokenTTL = -time.Second // every token Youzan issues is already expired
	s.clock = s.clock.Add(8 * 24 * time.Hour)
	s.mu.Unlock()
	_, err = get.Execute(context.Background(), x)
	outcome(t, err, CodeTokenInvalid, nodes.Permanent)
	if calls, _ := s.received(); len(calls) != 1 {
		t.Fatalf("calls %v", calls)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestTradesChangedPages: the list is asked for with the window in Shanghai time and walked page by page in the
// JSON body.
func TestTradesChangedPages(t *testing.T) {
	s := newStandIn(t)
	for i := 1; i <= 25; i++ {
		s.trades = append(s.trades, testTrade(i, fmt.Sprintf("2026-11-20 18:%02d:00", i)))
	}
	prev := now
	now = func() time.Time { return time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { now = prev })
	res, err := build(t, "youzan.trades.changed", map[string]any{"since": "2026-11-20T10:05:00Z", "pages": "all", "pageSize": 10}).
		Execute(context.Background(), s.exec(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output.(map[string]any)
	// 10:05 UTC is 18:05 in Shanghai: trades 5 to 25.
	if out["count"] != int64(21) || out["pages"] != int64(3) || out["complete"] != true {
		t.Fatalf("output %v %v %v", out["count"], out["pages"], out["complete"])
	}
	calls, bodies := s.received()
	if calls[0] != APITradesSold+"/"+VersionTrades || bodies[0]["start_update"] != "2026-11-20 18:05:00" ||
		bodies[0]["end_update"] != "2026-11-20 19:00:00" || bodies[2]["page_no"].(fmt.Stringer).String() != "3" ||
		bodies[2]["page_size"].(fmt.Stringer).String() != "10" {
		t.Fatalf("calls %v bodies %v", calls, bodies)
	}
	_, err = build(t, "youzan.trades.changed", map[string]any{"since": "last tuesday"}).Execute(context.Background(), s.exec(nil, nil))
	outcome(t, err, "youzan_request_invalid", nodes.Permanent)
}

func TestTradeGetShipMemo(t *testing.T) {
	s := newStandIn(t)
	s.trades = []map[string]any{testTrade(1, "2026-11-20 18:02:03")}
	x := s.exec(map[string]any{"body": map[string]any{"orderId": "E20261120000000040500001"}}, nil)
	ctx := context.Background()

	res, err := build(t, "youzan.trade.get", map[string]any{"tid": "{{ trigger.body.orderId }}"}).Execute(ctx, x)
	if err != nil || res.Output.(map[string]any)["full_order_info"].(map[string]any)["pay_info"].(map[string]any)["payment"] != "145.00" {
		t.Fatalf("get: %v %v", res.Output, err)
	}
	_, err = build(t, "youzan.trade.get", map[string]any{"tid": "E20261120000000040599999"}).Execute(ctx, x)
	outcome(t, err, CodeNotFound, nodes.Permanent)
	_, err = build(t, "youzan.trade.get", map[string]any{"tid": "1001"}).Execute(ctx, x)
	outcome(t, err, "youzan_request_invalid", nodes.Permanent)

	ship := build(t, "youzan.trade.ship", map[string]any{"tid": "E20261120000000040500001", "expressId": "7", "waybill": "SF1234567890"})
	if res, err = ship.Execute(ctx, x); err != nil || res.Output.(map[string]any)["is_success"] != true {
		t.Fatalf("ship: %v %v", res.Output, err)
	}
	_, bodies := s.received()
	last := bodies[len(bodies)-1]
	if last["out_stype"] != "7" || last["out_sid"] != "SF1234567890" || last["is_no_express"].(fmt.Stringer).String() != "0" || last["oids"] != nil {
		t.Fatalf("ship body %v", last)
	}
	// Shipping again: Youzan refuses, and the step fails with its answer instead of shipping twice.
	_, err = ship.Execute(ctx, x)
	e := outcome(t, err, CodeAPIError, nodes.Permanent)
	if !contains(e.Error(), "102570007 不能重复提交已发过货的商品") {
		t.Fatalf("the refusal is not quoted: %v", e)
	}
	// Test runs show the request and send nothing.
	dry, err := ship.(nodes.DryRunner).DryRun(ctx, x)
	if err != nil || dry.Output.(map[string]any)["dryRun"] != true {
		t.Fatalf("dry run %v %v", dry.Output, err)
	}

	res, err = build(t, "youzan.trade.memo", map[string]any{"tid": "E20261120000000040500001", "memo": "已同步到 ERP", "flag": "2"}).Execute(ctx, x)
	if err != nil || s.memos["E20261120000000040500001"] != "已同步到 ERP" {
		t.Fatalf("memo: %v %v", res.Output, err)
	}
	_, err = build(t, "youzan.trade.memo", map[string]any{"tid": "E20261120000000040599999", "memo": "x"}).Execute(ctx, x)
	outcome(t, err, CodeNotFound, nodes.Permanent)

	// The carrier's choices come from the shop's list.
	opts, err := connector.LoadOptions(ctx, connector.OptionsRequest{NodeType: "youzan.trade.ship", Field: "expressId", CredentialID: "cred-1",
		Credential: &nodes.ResolvedCredential{Name: "shop", Type: CredentialType, Fields: s.fields()}, Client: x.Client()})
	if err != nil || len(opts) != 2 || opts[1].Value != "7" || opts[1].Label != "顺丰速运" {
		t.Fatalf("options %v %v", opts, err)
	}
}

// TestThrottling: the gateway's 4101 and an HTTP 429 are rate limits, waited for, not failures.
func TestThrottling(t *testing.T) {
	s := newStandIn(t)
	s.trades = []map[string]any{testTrade(1, "2026-11-20 18:02:03")}
	get := build(t, "youzan.trade.get", map[string]any{"tid": "E20261120000000040500001"})
	s.limited = 1
	_, err := get.Execute(context.Background(), s.exec(nil, nil))
	e := outcome(t, err, CodeRateLimited, nodes.RetryAfter)
	if !e.RateLimited || e.After != rateLimitWait {
		t.Fatalf("4101: %+v", e)
	}
	s.tooMany = 1
	_, err = get.Execute(context.Background(), s.exec(nil, nil))
	e = outcome(t, err, CodeRateLimited, nodes.RetryAfter)
	if e.After != 2*time.Second {
		t.Fatalf("429: %+v", e)
	}
	if _, err := get.Execute(context.Background(), s.exec(nil, nil)); err != nil {
		t.Fatalf("after the limit: %v", err)
	}
}

// TestFailureShapes: the three shapes of Youzan's failures map to stable codes with its message verbatim.
func TestFailureShapes(t *testing.T) {
	for _, c := range []struct {
		body string
		code string
		kind nodes.Kind
	}{
		{`{"gw_err_resp":{"err_msg":"无权限访问","err_code":4204}}`, CodeForbidden, nodes.Permanent},
		{`{"gw_err_resp":{"err_msg":"访问频繁","err_code":4101}}`, CodeRateLimited, nodes.RetryAfter},
		{`{"code":123000042,"success":false,"message":"请求被限流"}`, CodeRateLimited, nodes.RetryAfter},
		{`{"code":106000001,"success":false,"message":"请求超时"}`, CodeTransient, nodes.Retryable},
		{`{"code":5000,"success":false,"message":"trade not found"}`, CodeNotFound, nodes.Permanent},
		{`{"code":102570020,"success":false,"message":"订单没有可发货的商品"}`, CodeAPIError, nodes.Permanent},
		{`{"error_response":{"code":500,"msg":"系统错误"}}`, CodeAPIError, nodes.Permanent},
		{`{"code":200,"success":true,"data":{"is_success":false}}`, CodeNotApplied, nodes.Permanent},
	} {
		v, _ := nodes.DecodeJSON([]byte(c.body))
		err := check(&connector.Answer{Status: http.StatusOK, Body: []byte(c.body), JSON: v})
		e := nodes.Classify(err)
		if err == nil || e.Code != c.code || e.Kind != c.kind {
			t.Errorf("%s: %v (%s %s), want %s %s", c.body, err, e.Code, e.Kind, c.code, c.kind)
		}
	}
	for _, body := range []string{`{"code":200,"success":true,"message":"successful","data":{"is_success":true}}`, `{"response":{"is_success":true}}`} {
		v, _ := nodes.DecodeJSON([]byte(body))
		if err := check(&connector.Answer{Status: http.StatusOK, Body: []byte(body), JSON: v}); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}
