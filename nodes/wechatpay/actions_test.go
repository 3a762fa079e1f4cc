package wechatpay

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/ferry-hq/ferry/nodes"
)

// fakeAPI is a local WeChat Pay API v3: it checks every request's Authorization header as the signature guide
// describes it (verifying the signature with the SDK's verifier and the merchant's public key), records what
// it received, and signs its answers with the platform key as WeChat Pay does.
type fakeAPI struct {
	t      *testing.T
	ks     *keySet
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []fakeCall
	answer func(r *http.Request, body map[string]any) (status int, header http.Header, resp any)
	// signWith, when set, signs answers with another key (a forged answer).
	signWith *rsa.PrivateKey
}

type fakeCall struct {
	method, uri string
	body        map[string]any
}

var authPattern = regexp.MustCompile(`^WECHATPAY2-SHA256-RSA2048 (.+)$`)

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, ks: keys(t)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) fields() map[string]string { return f.ks.fields(f.srv.URL) }

func (f *fakeAPI) fail(w http.ResponseWriter, status int, code, msg string) {
	f.t.Errorf("fake API refused the request: %s %s", code, msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	m := authPattern.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		f.fail(w, 401, "SIGN_ERROR", "Authorization is not WECHATPAY2-SHA256-RSA2048")
		return
	}
	params := map[string]string{}
	for _, part := range strings.Split(m[1], ",") {
		k, v, ok := strings.Cut(part, "=")
		uq, err := strconv.Unquote(v)
		if !ok || err != nil {
			f.fail(w, 401, "SIGN_ERROR", "malformed Authorization parameter "+part)
			return
		}
		params[k] = uq
	}
	for _, k := range []string{"mchid", "nonce_str", "signature", "timestamp", "serial_no"} {
		if params[k] == "" {
			f.fail(w, 401, "SIGN_ERROR", "Authorization lacks "+k)
			return
		}
	}
	if params["mchid"] != "1900000109" {
		f.fail(w, 401, "SIGN_ERROR", "wrong mchid")
		return
	}
	ts, _ := strconv.ParseInt(params["timestamp"], 10, 64)
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		f.fail(w, 401, "SIGN_ERROR", "stale timestamp")
		return
	}
	message := fmt.Sprintf("%s\n%s\n%s\n%s\n%s\n", r.Method, r.URL.RequestURI(), params["timestamp"], params["nonce_str"], raw)
	verifier := verifiers.NewSHA256WithRSAPubkeyVerifier(f.ks.merchantSerial, f.ks.merchantKey.PublicKey)
	if err := verifier.Verify(context.Background(), params["serial_no"], message, params["signature"]); err != nil {
		// The real API answers a bad signature with 401 SIGN_ERROR; tests that expect it do not fail here.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":"SIGN_ERROR","message":"签名错误"}`))
		return
	}
	if r.Header.Get("Accept") != "application/json" {
		f.fail(w, 400, "PARAM_ERROR", "Accept must be application/json")
		return
	}
	if r.Header.Get("Wechatpay-Serial") != f.ks.publicKeyID {
		f.fail(w, 400, "PARAM_ERROR", "Wechatpay-Serial must name the public key the merchant verifies with")
		return
	}
	var body map[string]any
	if len(raw) > 0 {
		if r.Header.Get("Content-Type") != "application/json" {
			f.fail(w, 400, "PARAM_ERROR", "Content-Type must be application/json")
			return
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			f.fail(w, 400, "PARAM_ERROR", "body is not JSON")
			return
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{method: r.Method, uri: r.URL.RequestURI(), body: body})
	f.mu.Unlock()
	status, header, resp := f.answer(r, body)
	var out []byte
	if resp != nil {
		out, _ = json.Marshal(resp)
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	if status >= 200 && status < 300 {
		key := f.ks.publicKey
		if f.signWith != nil {
			key = f.signWith
		}
		nonce, _ := utils.GenerateNonce()
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		sig, err := utils.SignSHA256WithRSA(ts+"\n"+nonce+"\n"+string(out)+"\n", key)
		if err != nil {
			f.t.Fatal(err)
		}
		w.Header().Set("Wechatpay-Timestamp", ts)
		w.Header().Set("Wechatpay-Nonce", nonce)
		w.Header().Set("Wechatpay-Signature", sig)
		w.Header().Set("Wechatpay-Serial", f.ks.publicKeyID)
	}
	w.Header().Set("Request-Id", "08F78BB5AF0610D302A6A7A7C3030000")
	if out != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (f *fakeAPI) lastCall() fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		f.t.Fatal("no call reached the fake API")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeAPI) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeAPI) exec(input any, key string) *nodes.Exec {
	fields := f.fields()
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "prev": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: key, HTTP: f.srv.Client(),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

var trigger1 = map[string]any{"body": map[string]any{"merchantOrderId": "1217752501201407033233368018",
	"amount": map[string]any{"minor": int64(100)}}}

func TestQuery(t *testing.T) {
	f := newFakeAPI(t)
	f.answer = func(r *http.Request, _ map[string]any) (int, http.Header, any) {
		if strings.Contains(r.URL.Path, "missing") {
			return 404, nil, map[string]any{"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
		}
		return 200, nil, map[string]any{"appid": "wxd678efh567hg6787", "mchid": "1900000109",
			"out_trade_no": "1217752501201407033233368018", "transaction_id": "4200000001", "trade_type": "NATIVE",
			"trade_state": "SUCCESS", "trade_state_desc": "支付成功", "success_time": "2018-06-08T10:34:56+08:00",
			"payer": map[string]any{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}, "amount": map[string]any{"total": 100, "currency": "CNY"}}
	}
	n := mustBuild(t, QueryType, `{"outTradeNo": "{{ trigger.body.merchantOrderId }}"}`)
	res, err := n.Execute(context.Background(), f.exec(trigger1, "run1:n1"))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if c := f.lastCall(); c.method != "GET" || c.uri != "/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1900000109" {
		t.Fatalf("call = %+v", c)
	}
	out := res.Output.(map[string]any)
	if res.Port != "" || out["status"] != "paid" || out["transactionId"] != "4200000001" ||
		out["amount"].(map[string]any)["minor"] != int64(100) || out["payer"].(map[string]any)["id"] != "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" {
		t.Fatalf("output = %+v", res)
	}
	missing := mustBuild(t, QueryType, `{"outTradeNo": "missing-1"}`)
	res, err = missing.Execute(context.Background(), f.exec(nil, "run1:n1"))
	if err != nil || res.Port != PortNotFound || res.Output.(map[string]any)["merchantOrderId"] != "missing-1" {
		t.Fatalf("not found: %+v %v", res, err)
	}
}

func TestRefund(t *testing.T) {
	f := newFakeAPI(t)
	f.answer = func(_ *http.Request, body map[string]any) (int, http.Header, any) {
		amount := body["amount"].(map[string]any)
		return 200, nil, map[string]any{"refund_id": "50000000382019052709732678859", "out_refund_no": body["out_refund_no"],
			"transaction_id": "4200000001", "out_trade_no": body["out_trade_no"], "status": "PROCESSING",
			"amount": map[string]any{"total": amount["total"], "refund": amount["refund"], "currency": "CNY"}}
	}
	full := mustBuild(t, RefundType, `{"outTradeNo": "{{ trigger.body.merchantOrderId }}", "total": "{{ trigger.body.amount.minor }}", "reason": "订单取消", "notifyUrl": "https://ferry.example.com/hooks/f1"}`)
	x := f.exec(trigger1, "0b3c1f9e-4b1d-4f43-9b7f-9f0a7d3e2c11:refund")
	res, err := full.Execute(context.Background(), x)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	c := f.lastCall()
	if c.method != "POST" || c.uri != "/v3/refund/domestic/refunds" {
		t.Fatalf("call = %+v", c)
	}
	if c.body["out_refund_no"] != "0b3c1f9e-4b1d-4f43-9b7f-9f0a7d3e2c11|refund" || c.body["reason"] != "订单取消" ||
		c.body["notify_url"] != "https://ferry.example.com/hooks/f1" || c.body["out_trade_no"] != "1217752501201407033233368018" {
		t.Fatalf("body = %v", c.body)
	}
	if a := c.body["amount"].(map[string]any); a["refund"] != float64(100) || a["total"] != float64(100) || a["currency"] != "CNY" {
		t.Fatalf("full refund amount = %v", a)
	}
	out := res.Output.(map[string]any)
	if out["refundId"] != "50000000382019052709732678859" || out["status"] != "PROCESSING" || out["amount"].(map[string]any)["decimal"] != "1.00" {
		t.Fatalf("output = %v", out)
	}
	// A retry of the same step sends the same refund number (I4).
	if _, err := full.Execute(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if again := f.lastCall(); again.body["out_refund_no"] != c.body["out_refund_no"] {
		t.Fatalf("retry sent %v, first attempt %v", again.body["out_refund_no"], c.body["out_refund_no"])
	}

	partial := mustBuild(t, RefundType, `{"outTradeNo": "o-1", "total": "{{ trigger.body.amount.minor }}", "amount": "30"}`)
	long := strings.Repeat("k", 80)
	if _, err := partial.Execute(context.Background(), f.exec(trigger1, long)); err != nil {
		t.Fatal(err)
	}
	c = f.lastCall()
	if a := c.body["amount"].(map[string]any); a["refund"] != float64(30) || a["total"] != float64(100) {
		t.Fatalf("partial refund amount = %v", a)
	}
	if no := c.body["out_refund_no"].(string); len(no) != 64 || !validOutNo(no) || no != outRefundNo(long) {
		t.Fatalf("long key refund number = %q", no)
	}
	if _, ok := c.body["reason"]; ok {
		t.Fatal("an empty reason is not sent")
	}

	calls := f.callCount()
	for _, params := range []string{
		`{"outTradeNo": "o-1", "total": "100", "amount": "101"}`,
		`{"outTradeNo": "o-1", "total": "1.5"}`,
		`{"outTradeNo": "o-1", "total": "100", "outRefundNo": "has space"}`,
		`{"outTradeNo": "{{ trigger.body.nothing }}", "total": "100"}`,
	} {
		_, err := mustBuild(t, RefundType, params).Execute(context.Background(), f.exec(trigger1, "k"))
		wantFailure(t, err, nodes.Permanent, CodeRequestInvalid)
	}
	if f.callCount() != calls {
		t.Fatal("an invalid refund reached the API")
	}
}

func TestCloseAndNative(t *testing.T) {
	f := newFakeAPI(t)
	f.answer = func(r *http.Request, body map[string]any) (int, http.Header, any) {
		if strings.HasSuffix(r.URL.Path, "/close") {
			return 204, nil, nil
		}
		return 200, nil, map[string]any{"code_url": "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}
	}
	closeNode := mustBuild(t, CloseType, `{"outTradeNo": "order 1"}`)
	res, err := closeNode.Execute(context.Background(), f.exec(nil, "k"))
	if err != nil {
		t.Fatalf("close: %v", err)
	}
	c := f.lastCall()
	if c.uri != "/v3/pay/transactions/out-trade-no/order%201/close" || c.body["mchid"] != "1900000109" {
		t.Fatalf("close call = %+v", c)
	}
	if out := res.Output.(map[string]any); out["closed"] != true || out["merchantOrderId"] != "order 1" {
		t.Fatalf("close output = %v", out)
	}

	native := mustBuild(t, NativeType, `{"outTradeNo": "o-9", "description": "Image形象店-深圳腾大-QQ公仔", "total": "1", "notifyUrl": "https://ferry.example.com/hooks/f1", "attach": "a"}`)
	res, err = native.Execute(context.Background(), f.exec(nil, "k"))
	if err != nil {
		t.Fatalf("native: %v", err)
	}
	c = f.lastCall()
	if c.uri != "/v3/pay/transactions/native" || c.body["appid"] != "wxd678efh567hg6787" || c.body["mchid"] != "1900000109" ||
		c.body["notify_url"] != "https://ferry.example.com/hooks/f1" || c.body["attach"] != "a" ||
		c.body["amount"].(map[string]any)["total"] != float64(1) {
		t.Fatalf("native call = %+v", c)
	}
	if out := res.Output.(map[string]any); out["codeUrl"] != "weixin://wxpay/bizpayurl?pr=p4lpSuKzz" {
		t.Fatalf("native output = %v", out)
	}
}

func TestActionFailures(t *testing.T) {
	f := newFakeAPI(t)
	query := mustBuild(t, QueryType, `{"outTradeNo": "o-1"}`)
	tests := []struct {
		name   string
		status int
		header http.Header
		body   any
		kind   nodes.Kind
		code   string
		after  time.Duration
	}{
		{"429 with Retry-After", 429, http.Header{"Retry-After": {"7"}}, map[string]any{"code": "FREQUENCY_LIMITED", "message": "频率超限"}, nodes.RetryAfter, CodeRateLimited, 7 * time.Second},
		{"429", 429, nil, map[string]any{"code": "RATELIMIT_EXCEEDED", "message": "too many"}, nodes.Retryable, CodeRateLimited, 0},
		{"system error", 500, nil, map[string]any{"code": "SYSTEM_ERROR", "message": "系统错误"}, nodes.Retryable, CodeServerError, 0},
		{"503 with Retry-After", 503, http.Header{"Retry-After": {"3"}}, nil, nodes.RetryAfter, CodeServerError, 3 * time.Second},
		{"param error", 400, nil, map[string]any{"code": "PARAM_ERROR", "message": "参数错误", "detail": map[string]any{"field": "/out_trade_no"}}, nodes.Permanent, "wechatpay_param_error", 0},
		{"no permission", 403, nil, map[string]any{"code": "NO_AUTH", "message": "商户无权限"}, nodes.Permanent, "wechatpay_no_auth", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.answer = func(*http.Request, map[string]any) (int, http.Header, any) { return tc.status, tc.header, tc.body }
			_, err := query.Execute(context.Background(), f.exec(nil, "k"))
			e := wantFailure(t, err, tc.kind, tc.code)
			if e.After != tc.after {
				t.Fatalf("after = %s, want %s", e.After, tc.after)
			}
			if b, ok := tc.body.(map[string]any); ok {
				if !strings.Contains(err.Error(), b["code"].(string)) || !strings.Contains(err.Error(), b["message"].(string)) {
					t.Fatalf("error %q does not carry WeChat Pay's code and message", err)
				}
				if d := e.Details.(map[string]any); d["body"] == nil || d["requestId"] == nil {
					t.Fatalf("details = %v", d)
				}
			}
		})
	}

	t.Run("forged answer", func(t *testing.T) {
		f.answer = func(*http.Request, map[string]any) (int, http.Header, any) {
			return 200, nil, map[string]any{"out_trade_no": "o-1", "trade_state": "SUCCESS"}
		}
		f.signWith = mustKey()
		defer func() { f.signWith = nil }()
		_, err := query.Execute(context.Background(), f.exec(nil, "k"))
		wantFailure(t, err, nodes.Permanent, CodeResponseUnverified)
	})

	t.Run("wrong merchant key", func(t *testing.T) {
		f.answer = func(*http.Request, map[string]any) (int, http.Header, any) { return 200, nil, map[string]any{} }
		x := f.exec(nil, "k")
		fields := f.fields()
		other := mustKey()
		fields[FieldPrivateKey] = pemPKCS1(other)
		x.Credential = func(context.Context) (map[string]string, error) { return fields, nil }
		_, err := query.Execute(context.Background(), x)
		wantFailure(t, err, nodes.Permanent, "wechatpay_sign_error")
	})

	t.Run("credential invalid", func(t *testing.T) {
		x := f.exec(nil, "k")
		fields := f.fields()
		fields[FieldAPIv3Key] = "short"
		x.Credential = func(context.Context) (map[string]string, error) { return fields, nil }
		_, err := query.Execute(context.Background(), x)
		wantFailure(t, err, nodes.Permanent, CodeCredentialInvalid)
		x.Credential = func(context.Context) (map[string]string, error) { return nil, fmt.Errorf("vault sealed") }
		_, err = query.Execute(context.Background(), x)
		wantFailure(t, err, nodes.Retryable, CodeCredentialUnavailable)
	})
}

func TestDryRunSendsNothing(t *testing.T) {
	f := newFakeAPI(t)
	f.answer = func(*http.Request, map[string]any) (int, http.Header, any) { return 200, nil, map[string]any{} }
	n := mustBuild(t, RefundType, `{"outTradeNo": "o-1", "total": "100", "amount": "20"}`)
	res, err := n.(nodes.DryRunner).DryRun(context.Background(), f.exec(nil, "run1:n1"))
	if err != nil {
		t.Fatal(err)
	}
	if f.callCount() != 0 {
		t.Fatal("a dry run reached the API")
	}
	req := res.Output.(map[string]any)["request"].(map[string]any)
	if req["url"] != f.srv.URL+"/v3/refund/domestic/refunds" || req["body"].(map[string]any)["out_refund_no"] != "run1|n1" {
		t.Fatalf("dry run = %v", req)
	}
	if strings.Contains(fmt.Sprint(res.Output), "PRIVATE KEY") {
		t.Fatal("a dry run shows the private key")
	}
}

func TestCredentialTest(t *testing.T) {
	f := newFakeAPI(t)
	f.answer = func(*http.Request, map[string]any) (int, http.Header, any) {
		return 404, nil, map[string]any{"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
	}
	ct, ok := nodes.LookupCredentialType(CredentialMerchant)
	if !ok || !ct.Testable {
		t.Fatal("wechatpay.merchant is not registered with a test")
	}
	msg, err := ct.Test(context.Background(), f.fields(), f.srv.Client())
	if err != nil || !strings.Contains(msg, "ORDER_NOT_EXIST") {
		t.Fatalf("test = %q, %v", msg, err)
	}
	if c := f.lastCall(); c.method != "GET" || !strings.HasPrefix(c.uri, "/v3/pay/transactions/out-trade-no/FERRYTEST") || !strings.HasSuffix(c.uri, "?mchid=1900000109") {
		t.Fatalf("call = %+v", c)
	}
	wrong := f.fields()
	wrong[FieldPrivateKey] = pemPKCS1(mustKey())
	if _, err := ct.Test(context.Background(), wrong, f.srv.Client()); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Fatalf("wrong key: %v", err)
	}
	bad := f.fields()
	bad[FieldPublicKey] = ""
	if _, err := ct.Test(context.Background(), bad, f.srv.Client()); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("public key without PEM: %v", err)
	}
	for _, secret := range []string{f.ks.apiV3Key, "PRIVATE KEY"} {
		if strings.Contains(msg, secret) {
			t.Fatal("the test result reveals a secret")
		}
	}
}
