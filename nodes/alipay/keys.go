package alipay

import (
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"
)

// The key formats Alipay's tools produce differ by language: the key generator writes the app private key as
// bare base64 PKCS#8 ("Java") or PKCS#1 (other languages), and admins paste keys with or without PEM armour and
// line breaks. Every form is accepted, and what is refused is said without echoing the key.

// parsePrivateKey reads the app's RSA private key: PEM or bare base64, PKCS#1 or PKCS#8.
func parsePrivateKey(text string) (*rsa.PrivateKey, error) {
	der, err := keyDER(text, "private key")
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("the private key is neither a PKCS#1 nor a PKCS#8 RSA key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is a %T key; Alipay RSA2 needs an RSA key", k)
	}
	return rk, nil
}

// parsePublicKey reads Alipay's RSA public key (支付宝公钥): PEM or bare base64, X.509 SubjectPublicKeyInfo or
// PKCS#1; a pasted certificate yields its key.
func parsePublicKey(text string) (*rsa.PublicKey, error) {
	if block, _ := pem.Decode([]byte(strings.TrimSpace(text))); block != nil && block.Type == "CERTIFICATE" {
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the public key is a certificate that does not parse: %w", err)
		}
		if pk, ok := cert.PublicKey.(*rsa.PublicKey); ok {
			return pk, nil
		}
		return nil, errors.New("the certificate does not hold an RSA public key")
	}
	der, err := keyDER(text, "public key")
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("the public key is a %T key; Alipay RSA2 needs an RSA key", k)
		}
		return rk, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("the public key is neither an X.509 nor a PKCS#1 RSA public key")
}

// keyDER returns the DER bytes of a PEM block or of bare base64 text.
func keyDER(text, what string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("the %s is empty", what)
	}
	if strings.Contains(text, "-----BEGIN") {
		block, _ := pem.Decode([]byte(text))
		if block == nil {
			return nil, fmt.Errorf("the %s has a PEM header but no readable PEM block", what)
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || strings.Contains(block.Type, "ENCRYPTED") {
			return nil, fmt.Errorf("the %s is encrypted with a passphrase; paste it unencrypted", what)
		}
		return block.Bytes, nil
	}
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if der, err := enc.DecodeString(compact); err == nil {
			return der, nil
		}
	}
	return nil, fmt.Errorf("the %s is neither PEM nor base64", what)
}

// pemCertificates returns the DER bytes of every CERTIFICATE block of text.
func pemCertificates(text string) [][]byte {
	var out [][]byte
	rest := []byte(strings.TrimSpace(text))
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		if block.Type == "CERTIFICATE" {
			out = append(out, block.Bytes)
		}
	}
}

// parseCertificates parses every certificate of a PEM file; each must parse.
func parseCertificates(text, what string) ([]*x509.Certificate, error) {
	ders := pemCertificates(text)
	if len(ders) == 0 {
		return nil, fmt.Errorf("the %s holds no PEM certificate", what)
	}
	certs := make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("the %s: certificate %d does not parse: %w", what, i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// certFacts is what the SN rules need of a certificate, read straight from its DER, so certificates that
// crypto/x509 cannot parse (Alipay's root file carries SM2 and ECC roots beside the RSA ones) still count.
type certFacts struct {
	issuer       pkix.RDNSequence
	serial       *big.Int
	signatureOID asn1.ObjectIdentifier
}

func readCertFacts(der []byte) (*certFacts, error) {
	var outer struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
	}
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	// Only the fields up to the issuer are read; encoding/asn1 leaves the rest of the sequence alone.
	var tbs struct {
		Version   int `asn1:"optional,explicit,default:0,tag:0"`
		Serial    *big.Int
		Signature asn1.RawValue
		Issuer    asn1.RawValue
	}
	if _, err := asn1.Unmarshal(outer.TBS.FullBytes, &tbs); err != nil {
		return nil, fmt.Errorf("certificate body: %w", err)
	}
	var issuer pkix.RDNSequence
	if _, err := asn1.Unmarshal(tbs.Issuer.FullBytes, &issuer); err != nil {
		return nil, fmt.Errorf("certificate issuer: %w", err)
	}
	if tbs.Serial == nil {
		return nil, errors.New("certificate has no serial number")
	}
	return &certFacts{issuer: issuer, serial: tbs.Serial, signatureOID: outer.Algorithm.Algorithm}, nil
}

// certSN is Alipay's certificate serial: the MD5, in hex, of the issuer's RFC 2253 name followed by the decimal
// serial number, as the official SDKs compute it (Java: getIssuerX500Principal().getName() + getSerialNumber()).
func certSN(der []byte) (string, error) {
	f, err := readCertFacts(der)
	if err != nil {
		return "", err
	}
	return f.sn(), nil
}

func (f *certFacts) sn() string {
	sum := md5.Sum([]byte(f.issuer.String() + f.serial.String()))
	return hex.EncodeToString(sum[:])
}

// oidRSAFamily is PKCS #1 (1.2.840.113549.1.1): the root certificates signed with RSA, whatever the hash.
var oidRSAFamily = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1}

// rootCertSN is alipay_root_cert_sn: the serials of the RSA-signed certificates of Alipay's root file, joined
// with "_" in file order, as the SDKs compute it.
func rootCertSN(text string) (string, error) {
	ders := pemCertificates(text)
	if len(ders) == 0 {
		return "", errors.New("the Alipay root certificate holds no PEM certificate")
	}
	var sns []string
	for _, der := range ders {
		f, err := readCertFacts(der)
		if err != nil {
			continue // the SDKs skip what they cannot read
		}
		oid := f.signatureOID
		if len(oid) > len(oidRSAFamily) && oid[:len(oidRSAFamily)].Equal(oidRSAFamily) {
			sns = append(sns, f.sn())
		}
	}
	if len(sns) == 0 {
		return "", errors.New("the Alipay root certificate holds no RSA-signed certificate")
	}
	return strings.Join(sns, "_"), nil
}

// verifyChain checks that chain (a leaf and the intermediates that came with it) leads to one of the root
// certificates, each link signed by the next and every certificate within its validity, the way the official
// SDKs check Alipay's public certificate (AntCertificationUtil.isTrusted): by names and signatures, without
// the key-usage rules of web PKI, which Alipay's certificates were not issued for.
func verifyChain(chain []*x509.Certificate, rootText string, now time.Time) error {
	var roots []*x509.Certificate
	for _, der := range pemCertificates(rootText) {
		if c, err := x509.ParseCertificate(der); err == nil {
			roots = append(roots, c)
		}
	}
	if len(roots) == 0 {
		return errors.New("the Alipay root certificate holds no certificate that can be read")
	}
	ordered, err := orderChain(chain)
	if err != nil {
		return err
	}
	for _, c := range ordered {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return fmt.Errorf("certificate %q is valid from %s to %s, not now", c.Subject.CommonName,
				c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly))
		}
	}
	for i := 0; i+1 < len(ordered); i++ {
		if err := signedBy(ordered[i], ordered[i+1]); err != nil {
			return err
		}
	}
	top := ordered[len(ordered)-1]
	for _, r := range roots {
		if string(r.RawSubject) == string(top.RawIssuer) && signedBy(top, r) == nil {
			return nil
		}
		if string(r.Raw) == string(top.Raw) {
			return nil // the chain itself reaches a root
		}
	}
	return fmt.Errorf("certificate %q was not issued under the Alipay root certificate", top.Subject.CommonName)
}

func signedBy(c, issuer *x509.Certificate) error {
	if err := issuer.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		return fmt.Errorf("certificate %q is not signed by %q: %w", c.Subject.CommonName, issuer.Subject.CommonName, err)
	}
	return nil
}

// orderChain puts certificates in order from the leaf up, following issuer names.
func orderChain(certs []*x509.Certificate) ([]*x509.Certificate, error) {
	if len(certs) <= 1 {
		return certs, nil
	}
	issuers := map[string]bool{}
	for _, c := range certs {
		if string(c.RawIssuer) != string(c.RawSubject) {
			issuers[string(c.RawIssuer)] = true
		}
	}
	var leaf *x509.Certificate
	for _, c := range certs {
		if !issuers[string(c.RawSubject)] {
			if leaf != nil {
				return nil, errors.New("the Alipay public certificate file holds certificates of more than one chain")
			}
			leaf = c
		}
	}
	if leaf == nil {
		return nil, errors.New("the Alipay public certificate file holds no end certificate")
	}
	bySubject := map[string]*x509.Certificate{}
	for _, c := range certs {
		bySubject[string(c.RawSubject)] = c
	}
	ordered := []*x509.Certificate{leaf}
	for cur := leaf; len(ordered) < len(certs); {
		next := bySubject[string(cur.RawIssuer)]
		if next == nil || next == cur {
			break
		}
		ordered = append(ordered, next)
		cur = next
	}
	if len(ordered) != len(certs) {
		return nil, errors.New("the Alipay public certificate file holds certificates that are not one chain")
	}
	return ordered, nil
}

// sortedKeys returns the keys of m in byte order, the order Alipay's signing content uses.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
