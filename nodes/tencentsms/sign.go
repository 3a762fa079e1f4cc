package tencentsms

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// algorithm is the signature method of Tencent Cloud API 3.0 (签名方法 v3).
const algorithm = "TC3-HMAC-SHA256"

// service is the service name in the credential scope: the first label of the host (sms.tencentcloudapi.com).
const service = "sms"

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// canonicalRequest is step 1 of the signature for a POST: the signed headers content-type and host, lower-cased
// and sorted, and the SHA-256 of the body.
func canonicalRequest(contentType, host string, body []byte) string {
	return "POST\n/\n\n" +
		"content-type:" + strings.ToLower(strings.TrimSpace(contentType)) + "\nhost:" + strings.ToLower(host) + "\n\n" +
		"content-type;host\n" + sha256Hex(body)
}

// signature is steps 2 and 3: the string to sign over the canonical request's hash, and the HMAC-SHA256 chain
// from "TC3"+SecretKey over the UTC date, the service and "tc3_request". It returns the credential scope too.
func signature(secretKey, svc string, timestamp int64, canonical string) (sig, scope string) {
	date := time.Unix(timestamp, 0).UTC().Format("2006-01-02")
	scope = date + "/" + svc + "/tc3_request"
	toSign := algorithm + "\n" + strconv.FormatInt(timestamp, 10) + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
	k := hmacSHA256([]byte("TC3"+secretKey), date)
	k = hmacSHA256(k, svc)
	k = hmacSHA256(k, "tc3_request")
	return hex.EncodeToString(hmacSHA256(k, toSign)), scope
}

// authorization is the Authorization header of step 4.
func authorization(secretID, scope, sig string) string {
	return algorithm + " Credential=" + secretID + "/" + scope + ", SignedHeaders=content-type;host, Signature=" + sig
}

// now is the clock the signature's timestamp comes from; tests fix it.
var now = time.Now

// sign signs a complete POST request: X-TC-Timestamp and X-TC-Region set, then the Authorization header over
// the body as it will be sent.
func sign(req *http.Request, secretID, secretKey, region string) error {
	var body []byte
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return err
		}
		body, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	ts := now().Unix()
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-TC-Region", region)
	ct := req.Header.Get("Content-Type")
	if ct == "" {
		return fmt.Errorf("the request has no Content-Type to sign")
	}
	sig, scope := signature(secretKey, service, ts, canonicalRequest(ct, req.URL.Host, body))
	req.Header.Set("Authorization", authorization(secretID, scope, sig))
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	return nil
}
