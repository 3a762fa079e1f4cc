package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Verification failures, told apart so the rejection carries a precise code.
var (
	errSignatureMissing = errors.New("the Stripe-Signature header is missing")
	errSignatureHeader  = errors.New("the Stripe-Signature header has no timestamp or no v1 signature")
	errSignatureInvalid = errors.New("no v1 signature matches the body and the endpoint's signing secret")
)

// signatureHeader is a parsed Stripe-Signature header: "t=<unix seconds>,v1=<hex>[,v1=<hex>…]". Stripe sends one
// v1 per active signing secret, so during a secret rotation a delivery carries two.
type signatureHeader struct {
	timestamp time.Time
	v1        [][]byte
}

// parseSignatureHeader reads the header; other schemes (v0, Stripe's test scheme) are ignored, and a v1 value
// that is not hex is skipped rather than failing the others.
func parseSignatureHeader(h string) (signatureHeader, error) {
	var out signatureHeader
	h = strings.TrimSpace(h)
	if h == "" {
		return out, errSignatureMissing
	}
	hasT := false
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			secs, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return out, errSignatureHeader
			}
			out.timestamp = time.Unix(secs, 0)
			hasT = true
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				continue
			}
			out.v1 = append(out.v1, sig)
		}
	}
	if !hasT || len(out.v1) == 0 {
		return out, errSignatureHeader
	}
	return out, nil
}

// signedPayloadMAC is Stripe's signature: HMAC-SHA256 keyed with the endpoint secret over "<t>.<raw body>".
func signedPayloadMAC(secret string, timestamp time.Time, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// verifySignature checks that some v1 of the header matches the body under some secret: Stripe signs with both
// the old and the new secret while an endpoint secret is rolled, and an admin may list both secrets on Ferry's
// side for the same window. Every comparison is constant time.
func verifySignature(h signatureHeader, body []byte, secrets []string) error {
	ok := false
	for _, secret := range secrets {
		want := signedPayloadMAC(secret, h.timestamp, body)
		for _, got := range h.v1 {
			if hmac.Equal(want, got) {
				ok = true
			}
		}
	}
	if !ok {
		return errSignatureInvalid
	}
	return nil
}

// splitSecrets reads the webhook secret field, which may hold several secrets separated by commas or spaces
// while a secret is rotated.
func splitSecrets(field string) []string {
	return strings.FieldsFunc(field, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}
