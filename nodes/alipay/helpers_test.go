package alipay

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"
	"github.com/smartwalle/nsign"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
)

// Test keys: the app's (merchant) key pair, Alipay's, and a stranger's. Generated once per test binary.
var (
	keysOnce                   sync.Once
	appKey, alipayKey, evilKey *rsa.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		gen := func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			return k
		}
		appKey, alipayKey, evilKey = gen(), gen(), gen()
	})
}

const testAppID = "2021000123456789"

// pkcs1PEM, pkcs8Base64 and publicPEM write keys the ways admins paste them.
func pkcs1PEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func pkcs8Base64(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func publicPEM(k *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func publicBase64(k *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(k)
	return base64.StdEncoding.EncodeToString(der)
}

// testFields is a public-key-mode credential: the app's private key as bare PKCS#8 base64 (what Alipay's
// key tool writes for Java) and Alipay's public key as bare base64 (what the console shows).
func testFields(t testing.TB, gateway string) map[string]string {
	t.Helper()
	testKeys(t)
	f := map[string]string{
		FieldAppID:           testAppID,
		FieldPrivateKey:      pkcs8Base64(appKey),
		FieldAlipayPublicKey: publicBase64(&alipayKey.PublicKey),
	}
	if gateway != "" {
		f[FieldGateway] = gateway
	}
	return f
}

// sdkSigner signs and verifies the way github.com/smartwalle/alipay/v3 does: its Encoder (sorted k=v&…, empty
// values kept) over nsign's SHA256withRSA.
func sdkSigner(priv *rsa.PrivateKey, pub *rsa.PublicKey) nsign.Signer {
	return nsign.New(nsign.WithMethod(nsign.NewRSAMethod(crypto.SHA256, priv, pub)), nsign.WithEncoder(&sdk.Encoder{}))
}

// signNotify signs a notification as Alipay does, with key, over everything but sign and sign_type, and returns
// the form body.
func signNotify(t testing.TB, key *rsa.PrivateKey, values url.Values) string {
	t.Helper()
	sig, err := sdkSigner(key, nil).SignValues(values, nsign.WithIgnore("sign", "sign_type"))
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{}
	for k, vs := range values {
		v[k] = append([]string(nil), vs...)
	}
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return v.Encode()
}

// notification is a documented TRADE_SUCCESS notification of a ¥88.00 order.
func notification(now time.Time) url.Values {
	cst := now.In(chinaTime)
	return url.Values{
		"notify_time":      {cst.Format(timeLayout)},
		"notify_type":      {"trade_status_sync"},
		"notify_id":        {"ac05099524730693a8b330c5ecf72da9786"},
		"app_id":           {testAppID},
		"charset":          {"utf-8"},
		"version":          {"1.0"},
		"sign_type":        {"RSA2"},
		"trade_no":         {"2026112922001405761234567890"},
		"out_trade_no":     {"ord_8f3a2c91d4"},
		"out_biz_no":       {""},
		"buyer_id":         {"2088102122524333"},
		"buyer_logon_id":   {"159****5620"},
		"seller_id":        {"2088101106499364"},
		"trade_status":     {"TRADE_SUCCESS"},
		"total_amount":     {"88.00"},
		"receipt_amount":   {"88.00"},
		"buyer_pay_amount": {"88.00"},
		"subject":          {"Order ord_8f3a2c91d4"},
		"body":             {""},
		"gmt_create":       {cst.Add(-time.Minute).Format(timeLayout)},
		"gmt_payment":      {cst.Add(-30 * time.Second).Format(timeLayout)},
		"fund_bill_list":   {`[{"amount":"88.00","fundChannel":"ALIPAYACCOUNT"}]`},
		"passback_params":  {""},
	}
}

// build constructs a node the way the engine does: the registered spec, NewConfig over JSON params, then the
// registered constructor.
func build(t testing.TB, typ, params, credential string) (nodes.Node, error) {
	t.Helper()
	return nodetest.New(t, typ, 1, params, credential)
}

// mustBuild builds a node whose parameters must be accepted.
func mustBuild(t testing.TB, typ, params string) nodes.Node {
	t.Helper()
	return nodetest.MustNew(t, typ, 1, params, "cred1")
}

// exec is the step context the engine gives a node: the trigger payload as input and the credential's fields.
func exec(input any, fields map[string]string, key string) *nodes.Exec {
	return &nodes.Exec{
		Input: input,
		Env: map[string]any{"trigger": input, "prev": input, "nodes": map[string]any{}, "vars": map[string]any{},
			"env": "live", "run": map[string]any{"id": "run1"}},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: key, HTTP: testenv.LocalClient(),
		Credential: func(context.Context) (map[string]string, error) {
			if fields == nil {
				return nil, nodes.ErrNoCredential
			}
			return fields, nil
		},
	}
}

func wantFailure(t *testing.T, err error, kind nodes.Kind, code string) *nodes.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %s", kind, code)
	}
	e := nodes.Classify(err)
	if e.Kind != kind || e.Code != code {
		t.Fatalf("failure = %s %s (%v), want %s %s", e.Kind, e.Code, err, kind, code)
	}
	return e
}

// fakeGateway is Alipay's open API gateway as far as the actions go: it checks every request's RSA2 signature
// with the app's public key using the SDK's helpers, checks the common parameters, and answers what the test's
// handler returns, signed with Alipay's key (or another, or none).
type fakeGateway struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []fakeCall
	signer *rsa.PrivateKey // nil: answers unsigned
	certSN string          // sent as alipay_cert_sn when set
	// answer returns the <method>_response object for a call.
	answer func(c fakeCall) map[string]any
	// status, when set, is the HTTP status instead of 200.
	status int
	// rotated, when set, overrides signer and certSN for methods other than the certificate download.
	rotated *rsa.PrivateKey
	rotSN   string
}

type fakeCall struct {
	params url.Values
	biz    map[string]any
}

func newFakeGateway(t *testing.T, answer func(c fakeCall) map[string]any) *fakeGateway {
	testKeys(t)
	g := &fakeGateway{t: t, signer: alipayKey, answer: answer}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGateway) url() string { return g.srv.URL + "/gateway.do" }

func (g *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		g.t.Errorf("gateway got %s %s", r.Method, r.Header.Get("Content-Type"))
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		g.t.Errorf("gateway: body is not a form: %v", err)
	}
	if err := g.check(params); err != nil {
		g.t.Errorf("gateway: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c := fakeCall{params: params}
	if err := json.Unmarshal([]byte(params.Get("biz_content")), &c.biz); err != nil && params.Get("biz_content") != "" {
		g.t.Errorf("gateway: biz_content is not JSON: %v", err)
	}
	g.mu.Lock()
	g.calls = append(g.calls, c)
	g.mu.Unlock()
	if g.status != 0 {
		w.WriteHeader(g.status)
		return
	}
	node, _ := json.Marshal(g.answer(c))
	name := strings.ReplaceAll(params.Get("method"), ".", "_") + "_response"
	out := `{"` + name + `":` + string(node)
	signer, sn := g.signer, g.certSN
	if g.rotated != nil && params.Get("method") != certDownloadMethod {
		signer, sn = g.rotated, g.rotSN
	}
	if sn != "" {
		out += `,"alipay_cert_sn":"` + sn + `"`
	}
	if signer != nil {
		sig, err := sdkSigner(signer, nil).SignBytes(node)
		if err != nil {
			g.t.Error(err)
		}
		out += `,"sign":"` + base64.StdEncoding.EncodeToString(sig) + `"`
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8") // as Alipay sends it
	_, _ = io.WriteString(w, out+"}")
}

// check verifies a request as Alipay does: the signature over every parameter but sign, with the app's public
// key (the SDK's encoder keeps empty values; a well-formed request has none), and the common parameters.
func (g *fakeGateway) check(p url.Values) error {
	sig, err := base64.StdEncoding.DecodeString(p.Get("sign"))
	if err != nil {
		return errors.New("sign is not base64")
	}
	if err := sdkSigner(nil, &appKey.PublicKey).VerifyValues(p, sig, nsign.WithIgnore("sign")); err != nil {
		return errors.New("the request signature does not verify with the app public key")
	}
	for k, want := range map[string]string{"app_id": testAppID, "format": "JSON", "charset": "utf-8", "sign_type": "RSA2", "version": "1.0"} {
		if p.Get(k) != want {
			return errors.New(k + " = " + p.Get(k) + ", want " + want)
		}
	}
	ts, err := time.ParseInLocation(timeLayout, p.Get("timestamp"), chinaTime)
	if err != nil || time.Since(ts).Abs() > time.Minute {
		return errors.New("timestamp " + p.Get("timestamp") + " is not now in Beijing time")
	}
	return nil
}

func (g *fakeGateway) lastCall() fakeCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.calls) == 0 {
		g.t.Fatal("the gateway got no call")
	}
	return g.calls[len(g.calls)-1]
}

func (g *fakeGateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

func success(fields map[string]any) map[string]any {
	out := map[string]any{"code": "10000", "msg": "Success"}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

func businessError(sub, subMsg string) map[string]any {
	return map[string]any{"code": "40004", "msg": "Business Failed", "sub_code": sub, "sub_msg": subMsg}
}
