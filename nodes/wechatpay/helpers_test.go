package wechatpay

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/nodes"
)

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

// keySet is a merchant and the WeChat Pay side of a test: the merchant's key and certificate serial, a platform
// certificate, a WeChat Pay public key, and the APIv3 key.
type keySet struct {
	merchantKey    *rsa.PrivateKey
	merchantSerial string
	platformKey    *rsa.PrivateKey
	platformCert   *x509.Certificate
	platformSerial string
	platformPEM    string
	publicKey      *rsa.PrivateKey
	publicKeyID    string
	publicKeyPEM   string
	apiV3Key       string
}

var (
	keysOnce sync.Once
	testKeys *keySet
)

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// keys generates the test keys once; RSA key generation is slow under -race.
func keys(t testing.TB) *keySet {
	t.Helper()
	keysOnce.Do(func() {
		ks := &keySet{merchantKey: mustKey(), merchantSerial: "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
			platformKey: mustKey(), publicKey: mustKey(), publicKeyID: "PUB_KEY_ID_0119000001092025010100000000000000",
			apiV3Key: "0123456789abcdefABCDEF0123456789"}
		serial, _ := new(big.Int).SetString("5157F09EFDC096DE15EBE81A47057A7232F1B8E1", 16)
		tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "Tenpay.com Root CA test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ks.platformKey.PublicKey, ks.platformKey)
		if err != nil {
			panic(err)
		}
		ks.platformCert, _ = x509.ParseCertificate(der)
		ks.platformPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		ks.platformSerial = utils.GetCertificateSerialNumber(*ks.platformCert)
		pub, _ := x509.MarshalPKIXPublicKey(&ks.publicKey.PublicKey)
		ks.publicKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
		testKeys = ks
	})
	return testKeys
}

func (ks *keySet) merchantKeyPEM() string {
	der, _ := x509.MarshalPKCS8PrivateKey(ks.merchantKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// fields is a complete wechatpay.merchant credential for baseURL.
func (ks *keySet) fields(baseURL string) map[string]string {
	return map[string]string{
		FieldMchID: "1900000109", FieldSerialNo: ks.merchantSerial, FieldPrivateKey: ks.merchantKeyPEM(),
		FieldAPIv3Key: ks.apiV3Key, FieldPlatformCertificates: ks.platformPEM, FieldPublicKeyID: ks.publicKeyID,
		FieldPublicKey: ks.publicKeyPEM, FieldAppID: "wxd678efh567hg6787", FieldBaseURL: baseURL,
	}
}

// encryptResource encrypts a resource as WeChat Pay does (AEAD_AES_256_GCM), and checks with the SDK's own
// decryption that the result is what a WeChat Pay client expects.
func encryptResource(t testing.TB, apiV3Key, nonce, associatedData, plaintext string) string {
	t.Helper()
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	ct := base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), []byte(plaintext), []byte(associatedData)))
	back, err := utils.DecryptAES256GCM(apiV3Key, associatedData, nonce, ct)
	if err != nil || back != plaintext {
		t.Fatalf("the SDK does not decrypt the test resource: %v", err)
	}
	return ct
}

// notice is one notification to deliver.
type notice struct {
	id, eventType, resourceType, originalType string
	resource                                  map[string]any
	apiV3Key                                  string // empty: the credential's
	signKey                                   *rsa.PrivateKey
	serial                                    string
	timestamp                                 time.Time
}

func (ks *keySet) transactionNotice(id, outTradeNo string, total int64) notice {
	return notice{id: id, eventType: "TRANSACTION.SUCCESS", resourceType: "encrypt-resource", originalType: "transaction",
		resource: map[string]any{
			"appid": "wxd678efh567hg6787", "mchid": "1900000109", "out_trade_no": outTradeNo,
			"transaction_id": "1217752501201407033233368018", "trade_type": "NATIVE", "trade_state": "SUCCESS",
			"trade_state_desc": "支付成功", "bank_type": "CMC", "attach": "", "success_time": "2018-06-08T10:34:56+08:00",
			"payer":  map[string]any{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
			"amount": map[string]any{"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
		}}
}

func (ks *keySet) refundNotice(id, eventType, status string) notice {
	return notice{id: id, eventType: eventType, resourceType: "encrypt-resource", originalType: "refund",
		resource: map[string]any{
			"mchid": "1900000109", "out_trade_no": "1217752501201407033233368018", "transaction_id": "1217752501201407033233368018",
			"out_refund_no": "1217752501201407033233368018", "refund_id": "1217752501201407033233368018",
			"refund_status": status, "success_time": "2018-06-08T10:34:56+08:00", "user_received_account": "招商银行信用卡0403",
			"amount": map[string]any{"total": int64(999), "refund": int64(1), "payer_total": int64(999), "payer_refund": int64(1)},
		}}
}

// request builds the notification body and headers, signed with the SDK's signer.
func (ks *keySet) request(t testing.TB, n notice) (http.Header, []byte) {
	t.Helper()
	plain, _ := json.Marshal(n.resource)
	key := n.apiV3Key
	if key == "" {
		key = ks.apiV3Key
	}
	nonce := "fdasflkja484"
	body, _ := json.Marshal(map[string]any{
		"id": n.id, "create_time": "2015-05-20T13:29:35+08:00", "resource_type": n.resourceType, "event_type": n.eventType,
		"summary": "支付成功",
		"resource": map[string]any{"original_type": n.originalType, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": encryptResource(t, key, nonce, n.originalType, string(plain)), "associated_data": n.originalType, "nonce": nonce},
	})
	signKey, serial := n.signKey, n.serial
	if signKey == nil {
		signKey = ks.platformKey
	}
	if serial == "" {
		serial = ks.platformSerial
	}
	ts := n.timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	return signHeaders(t, signKey, serial, strconv.FormatInt(ts.Unix(), 10), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", body), body
}

// signHeaders signs "timestamp\nnonce\nbody\n" with the SDK's SHA256withRSA signer, as WeChat Pay does.
func signHeaders(t testing.TB, key *rsa.PrivateKey, serial, ts, nonce string, body []byte) http.Header {
	t.Helper()
	signer := &signers.SHA256WithRSASigner{MchID: "1900000109", CertificateSerialNo: serial, PrivateKey: key}
	res, err := signer.Sign(context.Background(), ts+"\n"+nonce+"\n"+string(body)+"\n")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", res.Signature)
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	h.Set("Content-Type", "application/json")
	return h
}

func webhookRequest(h http.Header, body []byte, fields map[string]string) *nodes.WebhookRequest {
	return &nodes.WebhookRequest{Method: http.MethodPost, Header: h, Body: body, Mode: nodes.ModeLive,
		Credential: func(context.Context) (map[string]string, error) {
			if fields == nil {
				return nil, nodes.ErrNoCredential
			}
			return fields, nil
		}}
}

// wantRejection checks the status, the code and WeChat Pay's failure answer.
func wantRejection(t *testing.T, err error, status int, code string) {
	t.Helper()
	var we *nodes.WebhookError
	if !errors.As(err, &we) {
		t.Fatalf("error = %v, want *nodes.WebhookError %d %s", err, status, code)
	}
	if we.Status != status || we.Code != code {
		t.Fatalf("rejection = %d %s (%v), want %d %s", we.Status, we.Code, we.Err, status, code)
	}
	if we.Answer == nil || we.Answer.Status != status {
		t.Fatalf("answer = %+v, want WeChat Pay's failure answer with status %d", we.Answer, status)
	}
	body, _ := we.Answer.Body.(map[string]any)
	if body["code"] != "FAIL" || strings.TrimSpace(str(body["message"])) == "" {
		t.Fatalf("answer body = %v, want {code: FAIL, message: reason}", we.Answer.Body)
	}
	if we.Answer.Headers["Content-Type"] != "application/json" {
		t.Fatalf("answer headers = %v, want JSON", we.Answer.Headers)
	}
	// Anyone may post to the URL: a failure on Ferry's side is explained in the log, not to the caller.
	if status >= http.StatusInternalServerError && strings.Contains(we.Err.Error(), str(body["message"])) {
		t.Fatalf("answer message %q repeats the internal error %q", body["message"], we.Err)
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

// pemPKCS1 encodes a key the older way some merchants still hold it (-----BEGIN RSA PRIVATE KEY-----).
func pemPKCS1(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}
