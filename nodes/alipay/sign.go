package alipay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// Alipay signs and checks three kinds of content with RSA2 (SHA256withRSA, PKCS #1 v1.5, base64):
//   - requests the app sends: every parameter but sign, sorted by name, empty values left out, as k=v joined by &;
//   - asynchronous notifications Alipay sends: every parameter but sign and sign_type, sorted by name, empty
//     values kept, as k=v joined by & (AlipaySignature.rsaCheckV1);
//   - API responses: the exact bytes of the <method>_response JSON value.
// Values are the raw, URL-decoded ones, never re-encoded.

// requestContent is the content a request's sign covers.
func requestContent(params map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(params) {
		v := params[k]
		if k == "sign" || v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String()
}

// notifyContent is the content a notification's sign covers. skip names further parameters to leave out.
func notifyContent(params map[string]string, skip ...string) string {
	var b strings.Builder
	first := true
outer:
	for _, k := range sortedKeys(params) {
		if k == "sign" || k == "sign_type" {
			continue
		}
		for _, s := range skip {
			if k == s {
				continue outer
			}
		}
		if !first {
			b.WriteByte('&')
		}
		first = false
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

// signRSA2 signs content with the app's private key and returns the base64 signature.
func signRSA2(key *rsa.PrivateKey, content string) (string, error) {
	sum := sha256.Sum256([]byte(content))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

var errSignatureEncoding = errors.New("the signature is not base64")

// verifyRSA2 checks a base64 signature over content with Alipay's public key.
func verifyRSA2(key *rsa.PublicKey, content []byte, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil {
		return errSignatureEncoding
	}
	sum := sha256.Sum256(content)
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig)
}
