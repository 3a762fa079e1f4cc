package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// CredentialMerchant is the credential type every WeChat Pay node uses: one merchant account (商户号) with its
// API v3 keys. Its test variant holds a second merchant account (or points the base URL at a test double), so test
// runs never touch the live account (D20).
const CredentialMerchant = "wechatpay.merchant"

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialMerchant,
		Name: "WeChat Pay merchant (API v3)",
		Description: "A WeChat Pay merchant account's API v3 keys: used to sign requests (wechatpay.query, .refund, " +
			".close, .native), to verify WeChat Pay's answers and notifications, and to decrypt notifications " +
			"(wechatpay.trigger).",
		Fields: []nodes.Field{
			{Name: FieldMchID, Label: "Merchant id (mchid)", Type: nodes.TypeString, Required: true,
				Description: "商户号, from the merchant platform's account page.", Examples: []nodes.Example{{Name: "Merchant id", Value: "1900000109"}}},
			{Name: FieldSerialNo, Label: "Merchant certificate serial number", Type: nodes.TypeString, Required: true,
				Description: "商户API证书序列号, shown under API安全 → 管理证书 (or `openssl x509 -noout -serial -in apiclient_cert.pem`).",
				Examples:    []nodes.Example{{Name: "Serial", Value: "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"}}},
			{Name: FieldPrivateKey, Label: "Merchant private key (PEM)", Type: nodes.TypeText, Required: true, Secret: true,
				Description: "商户API私钥: the content of apiclient_key.pem, -----BEGIN PRIVATE KEY----- included. Signs every request."},
			{Name: FieldAPIv3Key, Label: "APIv3 key", Type: nodes.TypeString, Required: true, Secret: true,
				Description: "APIv3密钥: the 32-character key set under API安全. Decrypts notifications."},
			{Name: FieldPublicKeyID, Label: "WeChat Pay public key id", Type: nodes.TypeString,
				Description: "微信支付公钥ID (PUB_KEY_ID_…), for merchants verifying with the WeChat Pay public key. Give this " +
					"and the public key, or the platform certificates, or both while migrating.",
				Examples: []nodes.Example{{Name: "Public key id", Value: "PUB_KEY_ID_0119000001092025010100000000000000"}}},
			{Name: FieldPublicKey, Label: "WeChat Pay public key (PEM)", Type: nodes.TypeText,
				Description: "微信支付公钥: the content of pub_key.pem, -----BEGIN PUBLIC KEY----- included."},
			{Name: FieldPlatformCertificates, Label: "Platform certificates (PEM)", Type: nodes.TypeText,
				Description: "微信支付平台证书: one or more -----BEGIN CERTIFICATE----- blocks, as downloaded from " +
					"/v3/certificates (decrypted). Add the new certificate here before WeChat Pay switches to it; " +
					"notifications signed by an unknown one are refused with wechatpay_serial_unknown and delivered again later."},
			{Name: FieldAppID, Label: "App id (appid)", Type: nodes.TypeString,
				Description: "The official account, mini-program or app id bound to the merchant; needed by wechatpay.native.",
				Examples:    []nodes.Example{{Name: "App id", Value: "wxd678efh567hg6787"}}},
			{Name: FieldBaseURL, Label: "API base URL", Type: nodes.TypeString, Advanced: true, Default: DefaultBaseURL,
				Description: "Where API v3 is reached; the backup host https://api2.mch.weixin.qq.com, or a test double for the test variant.",
				Examples:    []nodes.Example{{Name: "Primary", Value: DefaultBaseURL}, {Name: "Backup", Value: "https://api2.mch.weixin.qq.com"}}},
		},
		Test: testMerchant,
		// Signed requests go to the base URL the credential names; its backup host is listed by an admin who
		// switches to it.
		Destinations: func(fields map[string]string) []string {
			base := strings.TrimSpace(fields[FieldBaseURL])
			if base == "" {
				base = DefaultBaseURL
			}
			return egress.Origins(base)
		},
	})
}

// testMerchant proves the keys work without touching any order: it queries an order number that cannot exist.
// WeChat Pay only answers ORDER_NOT_EXIST to a request whose signature it verified against the merchant's
// certificate, so that answer proves the mchid, serial number and private key belong together.
func testMerchant(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	m, err := parseMerchant(fields)
	if err != nil {
		return "", err
	}
	outTradeNo, err := nonceString()
	if err != nil {
		return "", err
	}
	outTradeNo = "FERRYTEST" + outTradeNo[:16]
	path := "/v3/pay/transactions/out-trade-no/" + url.PathEscape(outTradeNo) + "?mchid=" + url.QueryEscape(m.mchID)
	shown := "GET " + m.baseURL.Host + "/v3/pay/transactions/out-trade-no/{test order}"
	_, err = m.do(ctx, &nodes.Exec{HTTP: noRedirects(client)}, apiCall{method: http.MethodGet, path: path})
	if err == nil {
		return shown + " answered 200: the request signature was accepted", nil
	}
	e := nodes.Classify(err)
	details, _ := e.Details.(map[string]any)
	if e.Code == "wechatpay_order_not_exist" {
		msg := shown + " answered ORDER_NOT_EXIST: WeChat Pay accepted the request signature"
		switch details["signatureVerified"] {
		case true:
			msg += ", and its answer verified with the credential's WeChat Pay keys"
		case false:
			return "", errors.New(msg + ", but its answer does not verify with the credential's platform certificates or public key: check them")
		}
		return msg, nil
	}
	if strings.HasPrefix(e.Code, "wechatpay_sign_error") || e.Code == "wechatpay_invalid_request" || e.Code == "wechatpay_param_error" {
		return "", fmt.Errorf("%s: %v: check the mchid, the certificate serial number and the private key", shown, e.Err)
	}
	return "", fmt.Errorf("%s: %v", shown, e.Err)
}

func noRedirects(client *http.Client) *http.Client {
	if client == nil {
		client = egress.Default().Client()
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
