package alipay

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/ferry-hq/ferry/nodes"
)

// certSet is a certificate-mode setup shaped like Alipay's: an RSA root and an ECC root in the root file, a
// "Class 2" CA issuing Alipay's certificate (shipped with it), a "Class 1" CA issuing the app's.
type certSet struct {
	root, alipayCert, appCert string // PEM files as downloaded from the console
	alipayLeaf                *x509.Certificate
	class2                    *x509.Certificate // issues Alipay's certificates, with evilKey
	class2PEM                 string
}

var serial int64 = 4000

func issue(t testing.TB, tmpl *x509.Certificate, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, string) {
	t.Helper()
	serial++
	tmpl.SerialNumber = big.NewInt(serial * 7919)
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func antName(cn string) pkix.Name {
	return pkix.Name{Country: []string{"CN"}, Organization: []string{"Ant Financial"}, OrganizationalUnit: []string{"Certification Authority"}, CommonName: cn}
}

func ca(cn string) *x509.Certificate {
	return &x509.Certificate{Subject: antName(cn), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
}

func newCertSet(t testing.TB, leafNotAfter time.Time) certSet {
	t.Helper()
	testKeys(t)
	rootKey, class1Key, class2Key := evilKey, evilKey, evilKey // any RSA keys do for the CAs
	root, rootPEM := issue(t, ca("Ant Financial Certification Authority R1"), nil, &rootKey.PublicKey, rootKey)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ecRootPEM := issue(t, ca("Ant Financial Certification Authority E1"), nil, &ecKey.PublicKey, ecKey)
	class2, class2PEM := issue(t, ca("Ant Financial Certification Authority Class 2 R1"), root, &class2Key.PublicKey, rootKey)
	class1, _ := issue(t, ca("Ant Financial Certification Authority Class 1 R1"), root, &class1Key.PublicKey, rootKey)
	leaf := &x509.Certificate{Subject: pkix.Name{Country: []string{"CN"}, Organization: []string{"支付宝(杭州)信息技术有限公司"},
		OrganizationalUnit: []string{"Alipay"}, CommonName: "支付宝(杭州)信息技术有限公司"}}
	if !leafNotAfter.IsZero() {
		leaf.NotBefore, leaf.NotAfter = leafNotAfter.Add(-365*24*time.Hour), leafNotAfter
	}
	alipayLeaf, leafPEM := issue(t, leaf, class2, &alipayKey.PublicKey, class2Key)
	_, appPEM := issue(t, &x509.Certificate{Subject: pkix.Name{Country: []string{"CN"}, Organization: []string{"Ferry Test Shop"},
		OrganizationalUnit: []string{"Alipay"}, CommonName: testAppID}}, class1, &appKey.PublicKey, class1Key)
	return certSet{root: rootPEM + ecRootPEM, alipayCert: leafPEM + class2PEM, appCert: appPEM, alipayLeaf: alipayLeaf,
		class2: class2, class2PEM: class2PEM}
}

func (c certSet) fields(gateway string) map[string]string {
	f := map[string]string{
		FieldAppID: testAppID, FieldPrivateKey: pkcs1PEM(appKey), FieldMode: ModeCertificate,
		FieldAppPublicCert: c.appCert, FieldAlipayPublicCert: c.alipayCert, FieldAlipayRootCert: c.root,
	}
	if gateway != "" {
		f[FieldGateway] = gateway
	}
	return f
}

// sdkCertSN is the SDK's serial rule: MD5 of the issuer's name and the decimal serial.
func sdkCertSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

// The serials sent with requests are the SDK's: app_cert_sn of the app certificate, alipay_root_cert_sn of the
// RSA roots only, joined with "_".
func TestCertSerialsMatchSDK(t *testing.T) {
	set := newCertSet(t, time.Time{})
	acc, err := loadAccount(set.fields(""), true)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sdk.New(testAppID, pkcs1PEM(appKey), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.LoadAppCertPublicKey(set.appCert); err != nil {
		t.Fatal(err)
	}
	if err := client.LoadAliPayRootCert(set.root); err != nil {
		t.Fatal(err)
	}
	if err := client.LoadAlipayCertPublicKey(set.alipayCert); err != nil {
		t.Fatal(err)
	}
	values, err := client.URLValues(sdk.TradeQuery{OutTradeNo: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if acc.appCertSN != values.Get("app_cert_sn") || acc.rootCertSN != values.Get("alipay_root_cert_sn") {
		t.Fatalf("serials app %s root %s, the SDK sends app %s root %s", acc.appCertSN, acc.rootCertSN,
			values.Get("app_cert_sn"), values.Get("alipay_root_cert_sn"))
	}
	if strings.Contains(acc.rootCertSN, "_") || len(acc.rootCertSN) != 32 {
		t.Errorf("root serial %q: the ECC root must not count", acc.rootCertSN)
	}
	if acc.alipayCertSN != sdkCertSN(set.alipayLeaf) {
		t.Errorf("Alipay certificate serial %s, want %s", acc.alipayCertSN, sdkCertSN(set.alipayLeaf))
	}
	if !acc.certMode || !acc.alipayKey.Equal(&alipayKey.PublicKey) {
		t.Error("the Alipay key is not the certificate's")
	}
}

func TestCertModeActions(t *testing.T) {
	set := newCertSet(t, time.Time{})
	want, _ := loadAccount(set.fields(""), true)
	g := newFakeGateway(t, func(c fakeCall) map[string]any {
		if c.params.Get("app_cert_sn") != want.appCertSN || c.params.Get("alipay_root_cert_sn") != want.rootCertSN {
			t.Errorf("serials sent: app %q root %q", c.params.Get("app_cert_sn"), c.params.Get("alipay_root_cert_sn"))
		}
		return success(map[string]any{"trade_status": "WAIT_BUYER_PAY", "total_amount": "0.01", "out_trade_no": "o"})
	})
	g.certSN = want.alipayCertSN
	n := mustBuild(t, QueryType, `{"outTradeNo": "o"}`)
	out, err := run(t, n, set.fields(g.url()), "k")
	if err != nil {
		t.Fatal(err)
	}
	if out["status"] != "pending" || out["amount"].(map[string]any)["minor"] != int64(1) {
		t.Errorf("output = %v", out)
	}
	g.certSN = "0123456789abcdef0123456789abcdef"
	_, err = run(t, n, set.fields(g.url()), "k")
	wantFailure(t, err, nodes.Permanent, CodeCertSNMismatch)
}

func TestCertModeNotify(t *testing.T) {
	set := newCertSet(t, time.Time{})
	fields := set.fields("")
	n := trigger(t, `{}`)
	plain := signNotify(t, alipayKey, notification(time.Now()))
	if _, err := n.Accept(context.Background(), post(plain, fields)); err != nil {
		t.Fatalf("notification refused in certificate mode: %v", err)
	}
	// alipay_cert_sn naming the credential's certificate, left out of the signed content as some SDKs do.
	withSN := plain + "&alipay_cert_sn=" + sdkCertSN(set.alipayLeaf)
	if _, err := n.Accept(context.Background(), post(withSN, fields)); err != nil {
		t.Fatalf("notification with alipay_cert_sn refused: %v", err)
	}
	// …or signed with it, as the official SDK's rsaCheckV1 reads it.
	v := notification(time.Now())
	v.Set("alipay_cert_sn", sdkCertSN(set.alipayLeaf))
	if _, err := n.Accept(context.Background(), post(signNotify(t, alipayKey, v), fields)); err != nil {
		t.Fatalf("notification signed over alipay_cert_sn refused: %v", err)
	}
	_, err := n.Accept(context.Background(), post(plain+"&alipay_cert_sn=0123456789abcdef0123456789abcdef", fields))
	wantRejected(t, err, 401, CodeCertSNMismatch)
	_, err = n.Accept(context.Background(), post(signNotify(t, evilKey, notification(time.Now())), fields))
	wantRejected(t, err, 401, CodeSignatureInvalid)
}

func TestCertChainChecked(t *testing.T) {
	good := newCertSet(t, time.Time{})
	// A root file from another authority: the same names, other keys.
	testKeys(t)
	otherKey := appKey
	_, otherRootPEM := issue(t, ca("Ant Financial Certification Authority R1"), nil, &otherKey.PublicKey, otherKey)
	expired := newCertSet(t, time.Now().Add(-time.Hour))

	tests := map[string]map[string]string{
		"another root":            withField(good.fields(""), FieldAlipayRootCert, otherRootPEM),
		"expired certificate":     expired.fields(""),
		"no root":                 withField(good.fields(""), FieldAlipayRootCert, ""),
		"garbage certificate":     withField(good.fields(""), FieldAlipayPublicCert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		"leaf without its CA":     withField(good.fields(""), FieldAlipayPublicCert, good.alipayCert[:strings.Index(good.alipayCert, "-----END CERTIFICATE-----")+26]),
		"app cert of another key": withField(good.fields(""), FieldAppPublicCert, good.alipayCert),
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := loadAccount(f, true); err == nil {
				t.Fatal("credential accepted")
			} else if strings.Contains(err.Error(), "BEGIN") {
				t.Errorf("the error repeats the certificate: %v", err)
			} else {
				t.Log(err)
			}
		})
	}
	_, err := trigger(t, `{}`).Accept(context.Background(), post(signNotify(t, alipayKey, notification(time.Now())), tests["another root"]))
	wantRejected(t, err, 500, CodeTriggerCredentialBad)
}

func withField(f map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range f {
		out[a] = b
	}
	out[k] = v
	return out
}

// Keys are read in every form admins paste them.
func TestKeyFormats(t *testing.T) {
	testKeys(t)
	pkcs8DER, _ := x509.MarshalPKCS8PrivateKey(appKey)
	pkcs8PEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8DER}))
	pkcs1Bare := strings.Join(strings.Split(strings.TrimSpace(pkcs1PEM(appKey)), "\n")[1:len(strings.Split(strings.TrimSpace(pkcs1PEM(appKey)), "\n"))-1], "\n")
	for name, text := range map[string]string{"PKCS#1 PEM": pkcs1PEM(appKey), "PKCS#8 PEM": pkcs8PEM,
		"PKCS#8 base64": pkcs8Base64(appKey), "PKCS#1 base64 with line breaks": pkcs1Bare, "indented": "  " + pkcs8Base64(appKey) + "\n"} {
		k, err := parsePrivateKey(text)
		if err != nil || !k.Equal(appKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, text := range map[string]string{"empty": "", "garbage": "hello", "EC key": ecPEM(t)} {
		if _, err := parsePrivateKey(text); err == nil {
			t.Errorf("%s private key accepted", name)
		}
	}
	pkcs1Pub := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&alipayKey.PublicKey)}))
	set := newCertSet(t, time.Time{})
	for name, text := range map[string]string{"PEM": publicPEM(&alipayKey.PublicKey), "base64": publicBase64(&alipayKey.PublicKey),
		"PKCS#1": pkcs1Pub, "certificate": set.alipayCert} {
		k, err := parsePublicKey(text)
		if err != nil || !k.Equal(&alipayKey.PublicKey) {
			t.Errorf("%s public key: %v", name, err)
		}
	}
	// Pasting the app's own public key where Alipay's belongs is the classic mistake.
	f := testFields(t, "")
	f[FieldAlipayPublicKey] = publicPEM(&appKey.PublicKey)
	if _, err := loadAccount(f, true); err == nil || !strings.Contains(err.Error(), "app's own public key") {
		t.Errorf("app public key as Alipay's: %v", err)
	}
	f = testFields(t, "")
	f[FieldGateway] = "ftp://x"
	if _, err := loadAccount(f, false); err == nil {
		t.Error("ftp gateway accepted")
	}
	if g, _ := gatewayOf(map[string]string{FieldEnvironment: EnvSandbox}); g != SandboxGateway {
		t.Errorf("sandbox gateway = %s", g)
	}
	if g, _ := gatewayOf(map[string]string{}); g != ProductionGateway {
		t.Errorf("default gateway = %s", g)
	}
}

func ecPEM(t *testing.T) string {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// Alipay rotates its certificate: an answer signed with a new one is checked with it once it is downloaded
// (alipay.open.app.alipaycert.download) and found to chain to the root, as the official SDKs do; a certificate
// that does not chain is refused.
func TestCertRotation(t *testing.T) {
	set := newCertSet(t, time.Time{})
	newKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{Subject: pkix.Name{Country: []string{"CN"}, Organization: []string{"支付宝(杭州)信息技术有限公司"}, CommonName: "Alipay 2027"}}
	newLeaf, newLeafPEM := issue(t, leaf, set.class2, &newKey.PublicKey, evilKey)
	rogueCA, _ := issue(t, ca("Ant Financial Certification Authority Class 2 R1"), nil, &appKey.PublicKey, appKey)
	_, roguePEM := issue(t, &x509.Certificate{Subject: leaf.Subject}, rogueCA, &newKey.PublicKey, appKey)

	content := base64.StdEncoding.EncodeToString([]byte(newLeafPEM + set.class2PEM))
	downloads := 0
	g := newFakeGateway(t, func(c fakeCall) map[string]any {
		if c.params.Get("method") == certDownloadMethod {
			downloads++
			if c.biz["alipay_cert_sn"] != sdkCertSN(newLeaf) {
				t.Errorf("downloaded serial %v", c.biz["alipay_cert_sn"])
			}
			return success(map[string]any{"alipay_cert_content": content})
		}
		return success(map[string]any{"trade_status": "TRADE_SUCCESS", "total_amount": "88.00"})
	})
	g.certSN = sdkCertSN(set.alipayLeaf)
	g.rotated, g.rotSN = newKey, sdkCertSN(newLeaf)
	fields := set.fields(g.url())
	n := mustBuild(t, QueryType, `{"outTradeNo": "o"}`)
	for i := 0; i < 2; i++ {
		if _, err := run(t, n, fields, "k"); err != nil {
			t.Fatalf("answer signed with the rotated certificate: %v", err)
		}
	}
	if downloads != 1 {
		t.Errorf("%d downloads, want 1: the checked certificate is kept", downloads)
	}
	// Notifications signed with the rotated certificate are accepted once it is known.
	v := notification(time.Now())
	v.Set("alipay_cert_sn", sdkCertSN(newLeaf))
	if _, err := trigger(t, `{}`).Accept(context.Background(), post(signNotify(t, newKey, v), fields)); err != nil {
		t.Fatalf("notification signed with the rotated certificate: %v", err)
	}

	// A certificate that does not chain to the root is refused, and so is the answer.
	other := newCertSet(t, time.Time{})
	content = base64.StdEncoding.EncodeToString([]byte(roguePEM))
	_, err = run(t, n, other.fields(g.url()), "k")
	wantFailure(t, err, nodes.Permanent, CodeCertSNMismatch)
	if !strings.Contains(err.Error(), "not trusted") {
		t.Errorf("error %q does not say why", err)
	}
}
