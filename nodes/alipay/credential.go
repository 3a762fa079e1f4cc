package alipay

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// CredentialApp is the credential type every Alipay node uses: one Alipay open-platform app.
const CredentialApp = "alipay.app"

// Fields of an alipay.app credential.
const (
	FieldAppID            = "appId"
	FieldPrivateKey       = "privateKey"
	FieldMode             = "mode"
	FieldAlipayPublicKey  = "alipayPublicKey"
	FieldAppPublicCert    = "appPublicCert"
	FieldAlipayPublicCert = "alipayPublicCert"
	FieldAlipayRootCert   = "alipayRootCert"
	FieldEnvironment      = "environment"
	FieldGateway          = "gateway"
)

// Signing modes of an app (接口加签方式).
const (
	ModePublicKey   = "publicKey"
	ModeCertificate = "certificate"
)

// Environments.
const (
	EnvProduction = "production"
	EnvSandbox    = "sandbox"
)

// Gateways of the open API.
const (
	ProductionGateway = "https://openapi.alipay.com/gateway.do"
	SandboxGateway    = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
)

func init() {
	certOnly := map[string][]any{FieldMode: {ModeCertificate}}
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialApp,
		Name: "Alipay app",
		Description: "An Alipay open-platform app signing with RSA2: its app id, its private key and Alipay's public " +
			"key (or certificates). Give the credential a test variant holding the sandbox app, with Environment " +
			"set to Sandbox, and test runs use the sandbox.",
		Fields: []nodes.Field{
			{Name: FieldAppID, Label: "App ID", Type: nodes.TypeString, Required: true,
				Description: "The app's APPID from the open platform console (sandbox apps have their own).",
				Examples:    []nodes.Example{{Name: "App ID", Value: "2021000123456789"}}},
			{Name: FieldPrivateKey, Label: "App private key", Type: nodes.TypeText, Required: true, Secret: true,
				Description: "The app's RSA2 private key (应用私钥) as the key tool wrote it: PEM or bare base64, " +
					"PKCS#1 or PKCS#8. Requests are signed with it; it never leaves Ferry."},
			{Name: FieldMode, Label: "Signing mode", Type: nodes.TypeSelect, Default: ModePublicKey,
				Description: "How the app is set up to verify Alipay's signatures (接口加签方式).",
				Options: []nodes.Option{
					{Value: ModePublicKey, Label: "Public key", Description: "The console shows an Alipay public key (支付宝公钥)."},
					{Value: ModeCertificate, Label: "Public key certificates", Description: "The console issued certificates (公钥证书): app, Alipay and root."},
				}},
			{Name: FieldAlipayPublicKey, Label: "Alipay public key", Type: nodes.TypeText,
				ShowIf: map[string][]any{FieldMode: {ModePublicKey}},
				Description: "Alipay's public key (支付宝公钥), not the app's own public key: notifications and " +
					"answers are checked against it. PEM or bare base64."},
			{Name: FieldAppPublicCert, Label: "App public key certificate", Type: nodes.TypeText, ShowIf: certOnly,
				Description: "appCertPublicKey_<appid>.crt: its serial goes with every request (app_cert_sn)."},
			{Name: FieldAlipayPublicCert, Label: "Alipay public key certificate", Type: nodes.TypeText, ShowIf: certOnly,
				Description: "alipayCertPublicKey_RSA2.crt: notifications and answers are checked against its key; it " +
					"must chain to the root certificate."},
			{Name: FieldAlipayRootCert, Label: "Alipay root certificate", Type: nodes.TypeText, ShowIf: certOnly,
				Description: "alipayRootCert.crt, whole: its RSA serials go with every request (alipay_root_cert_sn)."},
			{Name: FieldEnvironment, Label: "Environment", Type: nodes.TypeSelect, Default: EnvProduction,
				Description: "Which gateway to call: production, or the sandbox for a sandbox app (the usual test variant).",
				Options: []nodes.Option{
					{Value: EnvProduction, Label: "Production", Description: ProductionGateway},
					{Value: EnvSandbox, Label: "Sandbox", Description: SandboxGateway},
				}},
			{Name: FieldGateway, Label: "Gateway URL", Type: nodes.TypeString, Advanced: true,
				Description: "Overrides the environment's gateway, for a proxy or a new sandbox address.",
				Examples:    []nodes.Example{{Name: "Sandbox", Value: SandboxGateway}}},
		},
		Test: testCredential,
		// Signed requests go to the gateway the credential names (the environment's, or its own URL).
		Destinations: func(fields map[string]string) []string {
			g, err := gatewayOf(fields)
			if err != nil {
				return nil
			}
			return egress.Origins(g)
		},
	})
}

// withheld reports whether a field value is the placeholder the vault gives test runs of a credential without a
// test variant (every field is replaced by a bracketed notice, which no key, id or URL looks like).
func withheld(v string) bool {
	v = strings.TrimSpace(v)
	return strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]")
}

// account is a credential's fields made ready to use: keys parsed, certificate serials computed.
type account struct {
	appID   string
	gateway string
	// alipayKey checks Alipay's signatures; alipayCertSN is the serial of the certificate holding it
	// (certificate mode only).
	alipayKey    *rsa.PublicKey
	alipayCertSN string
	certMode     bool
	appCertSN    string
	rootCertSN   string
	rootCert     string
	// key signs requests; nil when loaded only to verify.
	key *rsa.PrivateKey
}

// credentialError says what is wrong with a credential's fields, without their values.
type credentialError struct{ msg string }

func (e *credentialError) Error() string { return "alipay credential: " + e.msg }

func badCredential(format string, args ...any) error {
	return &credentialError{msg: fmt.Sprintf(format, args...)}
}

// gatewayOf picks the gateway: the explicit URL, else the environment's.
func gatewayOf(fields map[string]string) (string, error) {
	if g := strings.TrimSpace(fields[FieldGateway]); g != "" && !withheld(g) {
		u, err := url.Parse(g)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", badCredential("the gateway URL must be an http or https URL")
		}
		return g, nil
	}
	if strings.TrimSpace(fields[FieldEnvironment]) == EnvSandbox {
		return SandboxGateway, nil
	}
	return ProductionGateway, nil
}

func modeOf(fields map[string]string) string {
	switch m := strings.TrimSpace(fields[FieldMode]); m {
	case ModePublicKey, ModeCertificate:
		return m
	}
	if strings.TrimSpace(fields[FieldAlipayPublicKey]) == "" && strings.TrimSpace(fields[FieldAlipayPublicCert]) != "" {
		return ModeCertificate
	}
	return ModePublicKey
}

// accounts caches parsed credentials by a digest of their fields, so a notification or a call does not parse
// RSA keys and certificates each time. Entries expire, so a certificate's validity is checked again.
var accounts = struct {
	sync.Mutex
	m map[[32]byte]cachedAccount
}{m: map[[32]byte]cachedAccount{}}

type cachedAccount struct {
	acc    *account
	loaded time.Time
}

const (
	accountCacheTTL  = time.Hour
	accountCacheSize = 256
)

// loadAccount parses fields; signing says whether the private key (and, in certificate mode, the app
// certificate) is needed.
func loadAccount(fields map[string]string, signing bool) (*account, error) {
	h := sha256.New()
	for _, k := range sortedKeys(fields) {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(fields[k]), fields[k])
	}
	if signing {
		h.Write([]byte{1})
	}
	var digest [32]byte
	h.Sum(digest[:0])
	now := time.Now()
	accounts.Lock()
	c, ok := accounts.m[digest]
	accounts.Unlock()
	if ok && now.Sub(c.loaded) < accountCacheTTL {
		return c.acc, nil
	}
	acc, err := parseAccount(fields, signing, now)
	if err != nil {
		return nil, err
	}
	accounts.Lock()
	if len(accounts.m) >= accountCacheSize {
		clear(accounts.m)
	}
	accounts.m[digest] = cachedAccount{acc: acc, loaded: now}
	accounts.Unlock()
	return acc, nil
}

func parseAccount(fields map[string]string, signing bool, now time.Time) (*account, error) {
	acc := &account{appID: strings.TrimSpace(fields[FieldAppID])}
	if acc.appID == "" {
		return nil, badCredential("the app id is empty")
	}
	var err error
	if acc.gateway, err = gatewayOf(fields); err != nil {
		return nil, err
	}
	if signing {
		if acc.key, err = parsePrivateKey(fields[FieldPrivateKey]); err != nil {
			return nil, badCredential("app private key: %v", err)
		}
	}
	if modeOf(fields) == ModePublicKey {
		if strings.TrimSpace(fields[FieldAlipayPublicKey]) == "" {
			return nil, badCredential("the Alipay public key is empty (or choose the certificate mode)")
		}
		if acc.alipayKey, err = parsePublicKey(fields[FieldAlipayPublicKey]); err != nil {
			return nil, badCredential("Alipay public key: %v", err)
		}
		if acc.key != nil && acc.key.PublicKey.Equal(acc.alipayKey) {
			return nil, badCredential("the Alipay public key is the app's own public key; paste the Alipay public key (支付宝公钥) shown beside it")
		}
		return acc, nil
	}
	acc.certMode = true
	acc.rootCert = fields[FieldAlipayRootCert]
	if strings.TrimSpace(acc.rootCert) == "" {
		return nil, badCredential("certificate mode needs the Alipay root certificate")
	}
	if acc.rootCertSN, err = rootCertSN(acc.rootCert); err != nil {
		return nil, badCredential("%v", err)
	}
	chain, err := parseCertificates(fields[FieldAlipayPublicCert], "Alipay public key certificate")
	if err != nil {
		return nil, badCredential("%v", err)
	}
	if acc.alipayKey, acc.alipayCertSN, err = trustedAlipayKey(chain, acc.rootCert, now); err != nil {
		return nil, badCredential("Alipay public key certificate: %v", err)
	}
	if signing {
		appCerts, err := parseCertificates(fields[FieldAppPublicCert], "app public key certificate")
		if err != nil {
			return nil, badCredential("%v", err)
		}
		appCert := appCerts[0]
		if pk, ok := appCert.PublicKey.(*rsa.PublicKey); !ok || !acc.key.PublicKey.Equal(pk) {
			return nil, badCredential("the app public key certificate does not hold the app private key's public key")
		}
		if acc.appCertSN, err = certSN(appCert.Raw); err != nil {
			return nil, badCredential("app public key certificate: %v", err)
		}
	}
	return acc, nil
}

// trustedAlipayKey checks that Alipay's public certificate chains to the root and returns its key and serial.
func trustedAlipayKey(chain []*x509.Certificate, rootCert string, now time.Time) (*rsa.PublicKey, string, error) {
	ordered, err := orderChain(chain)
	if err != nil {
		return nil, "", err
	}
	if err := verifyChain(ordered, rootCert, now); err != nil {
		return nil, "", err
	}
	leaf := ordered[0]
	pk, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, "", errors.New("the certificate does not hold an RSA public key")
	}
	sn, err := certSN(leaf.Raw)
	if err != nil {
		return nil, "", err
	}
	return pk, sn, nil
}
