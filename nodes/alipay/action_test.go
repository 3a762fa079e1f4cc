package alipay

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smartwalle/nsign"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/payment"
)

// order is a trigger payload as alipay.trigger outputs it, for the actions to read.
var order = map[string]any{
	"body": map[string]any{
		"merchantOrderId": "ord_8f3a2c91d4", "transactionId": "2026112922001405761234567890",
		"amount": map[string]any{"minor": int64(8800), "currency": "CNY", "decimal": "88.00"},
	},
	"order_id": "ord_8f3a2c91d4",
}

func run(t *testing.T, n nodes.Node, fields map[string]string, key string) (map[string]any, error) {
	t.Helper()
	res, err := n.Execute(context.Background(), exec(order, fields, key))
	if err != nil {
		return nil, err
	}
	return res.Output.(map[string]any), nil
}

func TestQuery(t *testing.T) {
	g := newFakeGateway(t, func(c fakeCall) map[string]any {
		if c.params.Get("method") != "alipay.trade.query" {
			t.Errorf("method = %s", c.params.Get("method"))
		}
		if c.biz["out_trade_no"] == "missing" {
			return businessError("ACQ.TRADE_NOT_EXIST", "交易不存在")
		}
		return success(map[string]any{"trade_no": "2026112922001405761234567890", "out_trade_no": c.biz["out_trade_no"],
			"buyer_logon_id": "159****5620", "trade_status": "TRADE_SUCCESS", "total_amount": "88.00",
			"buyer_pay_amount": "88.00", "send_pay_date": "2026-11-29 18:30:05", "buyer_user_id": "2088102122524333"})
	})
	fields := testFields(t, g.url())
	n := mustBuild(t, QueryType, `{"outTradeNo": "{{ trigger.body.merchantOrderId }}"}`)
	out, err := run(t, n, fields, "run1:n1")
	if err != nil {
		t.Fatal(err)
	}
	if g.lastCall().biz["out_trade_no"] != "ord_8f3a2c91d4" {
		t.Errorf("biz_content = %v", g.lastCall().biz)
	}
	amount := out["amount"].(map[string]any)
	if out["status"] != "paid" || out["tradeStatus"] != "TRADE_SUCCESS" || amount["minor"] != int64(8800) || amount["decimal"] != "88.00" ||
		out["payTime"] != "2026-11-29T10:30:05Z" || out["buyer"].(map[string]any)["id"] != "2088102122524333" {
		t.Errorf("output = %v", out)
	}

	// The trade number wins when both are given.
	n = mustBuild(t, QueryType, `{"outTradeNo": "x", "tradeNo": "{{ trigger.body.transactionId }}"}`)
	if _, err := run(t, n, fields, "k"); err != nil {
		t.Fatal(err)
	}
	if b := g.lastCall().biz; b["trade_no"] != "2026112922001405761234567890" || b["out_trade_no"] != "x" {
		t.Errorf("biz_content = %v", b)
	}

	n = mustBuild(t, QueryType, `{"outTradeNo": "missing"}`)
	_, err = run(t, n, fields, "k")
	e := wantFailure(t, err, nodes.Permanent, CodeBusinessError)
	if !strings.Contains(err.Error(), "40004 Business Failed ACQ.TRADE_NOT_EXIST 交易不存在") {
		t.Errorf("message %q does not show Alipay's answer verbatim", err)
	}
	if resp := e.Details.(map[string]any)["response"].(map[string]any); resp["sub_code"] != "ACQ.TRADE_NOT_EXIST" || resp["sub_msg"] != "交易不存在" {
		t.Errorf("details = %v", e.Details)
	}
}

func TestGatewayFailures(t *testing.T) {
	var answer map[string]any
	g := newFakeGateway(t, func(fakeCall) map[string]any { return answer })
	fields := testFields(t, g.url())
	n := mustBuild(t, QueryType, `{"outTradeNo": "ord_1"}`)
	tests := []struct {
		name   string
		answer map[string]any
		kind   nodes.Kind
		code   string
	}{
		{"service unavailable", map[string]any{"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"},
			nodes.Retryable, CodeServiceUnavailable},
		{"system error", businessError("ACQ.SYSTEM_ERROR", "系统错误"), nodes.Retryable, CodeSystemError},
		{"sandbox system error", businessError("aop.ACQ.SYSTEM_ERROR", "系统错误"), nodes.Retryable, CodeSystemError},
		{"business refusal", businessError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"), nodes.Permanent, CodeBusinessError},
		{"refused signature", map[string]any{"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"},
			nodes.Permanent, CodeInvalidParameter},
		{"missing parameter", map[string]any{"code": "40001", "msg": "Missing Required Arguments", "sub_code": "isv.missing-method"},
			nodes.Permanent, CodeMissingParameter},
		{"no permission", map[string]any{"code": "40006", "msg": "Insufficient Permissions", "sub_code": "isv.insufficient-isv-permissions"},
			nodes.Permanent, CodePermissionDenied},
		{"unknown code", map[string]any{"code": "99999", "msg": "?"}, nodes.Permanent, CodeUnknownAnswer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			answer = tc.answer
			_, err := run(t, n, fields, "k")
			wantFailure(t, err, tc.kind, tc.code)
			if sub, _ := tc.answer["sub_code"].(string); !strings.Contains(err.Error(), sub) {
				t.Errorf("message %q lacks the sub_code", err)
			}
		})
	}

	answer = success(map[string]any{"trade_status": "TRADE_SUCCESS", "total_amount": "1.00"})
	t.Run("answer signed with another key", func(t *testing.T) {
		g.signer = evilKey
		defer func() { g.signer = alipayKey }()
		_, err := run(t, n, fields, "k")
		wantFailure(t, err, nodes.Permanent, CodeResponseSignature)
	})
	t.Run("unsigned success", func(t *testing.T) {
		g.signer = nil
		defer func() { g.signer = alipayKey }()
		_, err := run(t, n, fields, "k")
		wantFailure(t, err, nodes.Permanent, CodeResponseSignature)
	})
	t.Run("unsigned error", func(t *testing.T) {
		g.signer = nil
		answer = map[string]any{"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-app-id", "sub_msg": "无效的AppID参数"}
		defer func() { g.signer = alipayKey }()
		_, err := run(t, n, fields, "k")
		wantFailure(t, err, nodes.Permanent, CodeInvalidParameter)
	})
	t.Run("5xx", func(t *testing.T) {
		g.status = http.StatusBadGateway
		defer func() { g.status = 0 }()
		_, err := run(t, n, fields, "k")
		wantFailure(t, err, nodes.Retryable, CodeHTTPError)
	})
	t.Run("429", func(t *testing.T) {
		g.status = http.StatusTooManyRequests
		defer func() { g.status = 0 }()
		_, err := run(t, n, fields, "k")
		if e := nodes.Classify(err); e.Code != CodeRateLimited || !e.RateLimited {
			t.Fatalf("failure = %+v", e)
		}
	})
	t.Run("network", func(t *testing.T) {
		_, err := run(t, n, testFields(t, "http://127.0.0.1:1/gateway.do"), "k")
		wantFailure(t, err, nodes.Retryable, CodeNetwork)
	})
	t.Run("no credential", func(t *testing.T) {
		_, err := run(t, n, nil, "k")
		wantFailure(t, err, nodes.Permanent, CodeCredentialMissing)
	})
	t.Run("bad private key", func(t *testing.T) {
		f := testFields(t, g.url())
		f[FieldPrivateKey] = "bm90IGEga2V5"
		_, err := run(t, n, f, "k")
		e := wantFailure(t, err, nodes.Permanent, CodeCredentialInvalid)
		if strings.Contains(e.Error(), "bm90IGEga2V5") {
			t.Error("the error repeats the key")
		}
	})
}

// A retried refund step sends the same out_request_no, so Alipay refunds once (I4); amounts are exact.
func TestRefund(t *testing.T) {
	refunded := map[string]int64{} // out_request_no → fen, as Alipay books it
	var total int64
	g := newFakeGateway(t, func(c fakeCall) map[string]any {
		no := c.biz["out_request_no"].(string)
		amount := c.biz["refund_amount"].(string)
		change := "N"
		if _, seen := refunded[no]; !seen {
			a, err := payment.FromDecimal(amount, "CNY")
			if err != nil {
				t.Errorf("refund_amount %q: %v", amount, err)
			}
			refunded[no] = a.Minor
			total += a.Minor
			change = "Y"
		}
		return success(map[string]any{"trade_no": "2026112922001405761234567890", "out_trade_no": "ord_8f3a2c91d4",
			"buyer_logon_id": "159****5620", "fund_change": change, "refund_fee": payment.FromMinor(total, "CNY").Decimal})
	})
	fields := testFields(t, g.url())

	partial := mustBuild(t, RefundType, `{"outTradeNo": "{{ trigger.body.merchantOrderId }}", "refundAmount": "10.00", "refundReason": "缺货"}`)
	key := "019a2b3c-4d5e-7f60-8a9b-0c1d2e3f4a5b:refund"
	out, err := run(t, partial, fields, key)
	if err != nil {
		t.Fatal(err)
	}
	first := g.lastCall().biz
	if _, err := run(t, partial, fields, key); err != nil { // the engine retrying the step
		t.Fatal(err)
	}
	again := g.lastCall().biz
	if first["out_request_no"] != again["out_request_no"] || first["out_request_no"] != requestNo(key) {
		t.Fatalf("out_request_no %v then %v: a retry must repeat it", first["out_request_no"], again["out_request_no"])
	}
	if no := first["out_request_no"].(string); len(no) > 64 || strings.ContainsAny(no, ":-") {
		t.Errorf("out_request_no %q does not fit Alipay's 64 letters, digits and underscores", no)
	}
	if first["refund_amount"] != "10.00" || first["refund_reason"] != "缺货" || first["out_trade_no"] != "ord_8f3a2c91d4" {
		t.Errorf("biz_content = %v", first)
	}
	if total != 1000 {
		t.Fatalf("refunded %d fen in all, want 1000: the retry refunded again", total)
	}
	if out["fundChange"] != true || out["refundAmount"].(map[string]any)["minor"] != int64(1000) ||
		out["refundedTotal"].(map[string]any)["minor"] != int64(1000) || out["outRequestNo"] != requestNo(key) {
		t.Errorf("output = %v", out)
	}

	// The rest, from the payment event's amount object: another step, another key.
	full := mustBuild(t, RefundType, `{"tradeNo": "{{ trigger.body.transactionId }}", "refundAmount": "{{ {\"minor\": trigger.body.amount.minor - 1000, \"currency\": \"CNY\"} }}"}`)
	out, err = run(t, full, fields, "run1_rest")
	if err != nil {
		t.Fatal(err)
	}
	if b := g.lastCall().biz; b["refund_amount"] != "78.00" || b["trade_no"] != "2026112922001405761234567890" || b["out_request_no"] != "run1_rest" {
		t.Errorf("biz_content = %v", b)
	}
	if out["refundedTotal"].(map[string]any)["decimal"] != "88.00" || total != 8800 {
		t.Errorf("refunded total %v (%d fen), want 88.00", out["refundedTotal"], total)
	}

	// The shop's own refund id replaces the idempotency key.
	own := mustBuild(t, RefundType, `{"outTradeNo": "o", "refundAmount": "0.01", "outRequestNo": "{{ trigger.order_id }}_r1"}`)
	if _, err := run(t, own, fields, "k"); err != nil {
		t.Fatal(err)
	}
	if g.lastCall().biz["out_request_no"] != "ord_8f3a2c91d4_r1" {
		t.Errorf("out_request_no = %v", g.lastCall().biz["out_request_no"])
	}

	calls := g.count()
	for _, amount := range []string{`"88.001"`, `"0"`, `"-1.00"`, `"abc"`, `"{{ {\"minor\": 100, \"currency\": \"USD\"} }}"`, `"100000000.01"`} {
		n := mustBuild(t, RefundType, `{"outTradeNo": "o", "refundAmount": `+amount+`}`)
		_, err := run(t, n, fields, "k")
		wantFailure(t, err, nodes.Permanent, CodeRequestInvalid)
	}
	if g.count() != calls {
		t.Error("an invalid amount was sent")
	}
}

func TestRefundDryRun(t *testing.T) {
	g := newFakeGateway(t, func(fakeCall) map[string]any { return success(nil) })
	n := mustBuild(t, RefundType, `{"outTradeNo": "{{ trigger.body.merchantOrderId }}", "refundAmount": "{{ trigger.body.amount }}"}`)
	x := exec(order, map[string]string{FieldAppID: "[live credential withheld in test runs]", FieldPrivateKey: "[live credential withheld in test runs]"}, "run1:n1")
	x.Mode = nodes.ModeTest
	res, err := n.(nodes.DryRunner).DryRun(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	req := res.Output.(map[string]any)["request"].(map[string]any)
	params := req["params"].(map[string]any)
	biz := params["biz_content"].(map[string]any)
	if req["url"] != ProductionGateway || params["method"] != "alipay.trade.refund" || biz["refund_amount"] != "88.00" ||
		biz["out_request_no"] != requestNo("run1:n1") {
		t.Errorf("dry run = %v", res.Output)
	}
	if _, signed := params["sign"]; signed || g.count() != 0 {
		t.Error("the dry run signed or sent something")
	}
}

// A read-only query runs in test runs; without a test variant it reports what it would ask instead of failing.
func TestQueryWithheldInTestRuns(t *testing.T) {
	n := mustBuild(t, QueryType, `{"outTradeNo": "o"}`)
	withheld := "[live credential withheld in test runs]"
	x := exec(order, map[string]string{FieldAppID: withheld, FieldPrivateKey: withheld, FieldAlipayPublicKey: withheld, FieldEnvironment: withheld}, "k")
	x.Mode = nodes.ModeTest
	res, err := n.Execute(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	if out := res.Output.(map[string]any); out["dryRun"] != true || out["note"] == nil {
		t.Fatalf("output = %v", out)
	}
}

func TestClose(t *testing.T) {
	g := newFakeGateway(t, func(c fakeCall) map[string]any {
		return success(map[string]any{"trade_no": "2026112922001405761234567890", "out_trade_no": c.biz["out_trade_no"]})
	})
	n := mustBuild(t, CloseType, `{"outTradeNo": "{{ trigger.order_id }}", "operatorId": "ferry", "extraBizContent": "{\"store_id\": \"SH001\"}"}`)
	out, err := run(t, n, testFields(t, g.url()), "k")
	if err != nil {
		t.Fatal(err)
	}
	c := g.lastCall()
	if c.params.Get("method") != "alipay.trade.close" || c.biz["out_trade_no"] != "ord_8f3a2c91d4" || c.biz["operator_id"] != "ferry" || c.biz["store_id"] != "SH001" {
		t.Errorf("call = %v %v", c.params.Get("method"), c.biz)
	}
	if out["outTradeNo"] != "ord_8f3a2c91d4" || out["tradeNo"] != "2026112922001405761234567890" {
		t.Errorf("output = %v", out)
	}
	clash := mustBuild(t, CloseType, `{"outTradeNo": "o", "extraBizContent": "{\"out_trade_no\": \"other\"}"}`)
	_, err = run(t, clash, testFields(t, g.url()), "k")
	wantFailure(t, err, nodes.Permanent, CodeRequestInvalid)
}

func TestPrecreate(t *testing.T) {
	g := newFakeGateway(t, func(c fakeCall) map[string]any {
		return success(map[string]any{"out_trade_no": c.biz["out_trade_no"], "qr_code": "https://qr.alipay.com/bax03431ljhokirwl38f00a7"})
	})
	n := mustBuild(t, PrecreateType, `{"outTradeNo": "{{ trigger.order_id }}", "totalAmount": "{{ trigger.body.amount }}",
		"subject": "订单 {{ trigger.order_id }}", "timeoutExpress": "30m", "notifyUrl": "https://ferry.example.com/hooks/f1"}`)
	out, err := run(t, n, testFields(t, g.url()), "k")
	if err != nil {
		t.Fatal(err)
	}
	c := g.lastCall()
	if c.params.Get("notify_url") != "https://ferry.example.com/hooks/f1" || c.biz["total_amount"] != "88.00" ||
		c.biz["subject"] != "订单 ord_8f3a2c91d4" || c.biz["timeout_express"] != "30m" || c.biz["out_trade_no"] != "ord_8f3a2c91d4" {
		t.Errorf("call = %v %v", c.params, c.biz)
	}
	if out["qrCode"] != "https://qr.alipay.com/bax03431ljhokirwl38f00a7" || out["amount"].(map[string]any)["minor"] != int64(8800) {
		t.Errorf("output = %v", out)
	}
	for params, field := range map[string]string{
		`{"outTradeNo": "o", "totalAmount": "1.00", "subject": "s", "timeoutExpress": "soon"}`: "timeoutExpress",
		`{"outTradeNo": "o", "totalAmount": "1.00", "subject": "s", "notifyUrl": "ftp://x"}`:   "notifyUrl",
		`{"outTradeNo": "o", "totalAmount": "1.00", "subject": "s", "extraBizContent": "[1]"}`: "extraBizContent",
		`{"totalAmount": "1.00", "subject": "s"}`:                                              "outTradeNo",
	} {
		if _, err := build(t, PrecreateType, params, "c"); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %v, want a problem with %s", params, err, field)
		}
	}
	if _, err := build(t, QueryType, `{}`, "c"); err == nil || !strings.Contains(err.Error(), "outTradeNo") {
		t.Errorf("a query naming no trade built: %v", err)
	}
}

// The request signature is the SDK's, byte for byte: RSA PKCS #1 v1.5 is deterministic, so the same content
// signed with the same key gives the same signature.
func TestRequestSignatureMatchesSDK(t *testing.T) {
	testKeys(t)
	acc := &account{appID: testAppID, key: appKey, gateway: ProductionGateway}
	params, err := acc.params(request{method: "alipay.trade.refund", biz: map[string]any{"out_trade_no": "o&1=2", "refund_amount": "1.00", "refund_reason": "质量 问题"}},
		time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if params["timestamp"] != "2026-11-29 18:00:00" {
		t.Errorf("timestamp %q is not Beijing time", params["timestamp"])
	}
	ours, err := signRSA2(appKey, requestContent(params))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string][]string{}
	for k, v := range params {
		values[k] = []string{v}
	}
	theirs, err := sdkSigner(appKey, nil).SignValues(values, nsign.WithIgnore("sign"))
	if err != nil {
		t.Fatal(err)
	}
	if ours != base64.StdEncoding.EncodeToString(theirs) {
		t.Fatal("the request signature differs from the SDK's")
	}
}
