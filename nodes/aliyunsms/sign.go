package aliyunsms

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// algorithm is Alibaba Cloud's V3 signature method.
const algorithm = "ACS3-HMAC-SHA256"

// emptyHash is the SHA-256 of an empty body: SendSms sends its parameters in the query.
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// percentEncode is the V3 signature's encoding of query names and values: RFC 3986, every byte but the
// unreserved A–Z a–z 0–9 - _ . ~ as %XY (a space is %20, * is %2A).
func percentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// canonicalQuery sorts the query's parameters by name and encodes them (a parameter given twice keeps its
// values in order).
func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, percentEncode(k)+"="+percentEncode(v))
		}
	}
	return strings.Join(parts, "&")
}

// signedHeaders are the headers the signature covers: host, content-type and every x-acs-* header, lower-cased
// names, trimmed values, sorted by name.
func signedHeaders(h map[string]string) (canonical, names string) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + ":" + strings.TrimSpace(h[k]) + "\n")
	}
	return b.String(), strings.Join(keys, ";")
}

// signature is the V3 signature of a request: the canonical request (method, path, canonical query, signed
// headers and the body's hash), its SHA-256 under the algorithm's name, HMAC-SHA256 with the AccessKey secret.
func signature(secret, method, path, query string, headers map[string]string, bodyHash string) (sig, names, hashed string) {
	canonical, names := signedHeaders(headers)
	req := method + "\n" + path + "\n" + query + "\n" + canonical + "\n" + names + "\n" + bodyHash
	hashed = sha256Hex([]byte(req))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(algorithm + "\n" + hashed))
	return hex.EncodeToString(m.Sum(nil)), names, hashed
}

// now is the clock x-acs-date comes from; nonce gives x-acs-signature-nonce. Tests may fix them.
var (
	now   = time.Now
	nonce = func() string {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}
)

// sign signs a complete request whose parameters are in its query and which has no body: the query rewritten
// in its canonical form, the x-acs-date, x-acs-signature-nonce and x-acs-content-sha256 headers set, then
// Authorization over host, content-type and every x-acs-* header.
func sign(req *http.Request, keyID, secret string) error {
	if err := bodyToQuery(req); err != nil {
		return err
	}
	query := canonicalQuery(req.URL.Query())
	req.URL.RawQuery = query
	req.Header.Set("x-acs-date", now().UTC().Format("2006-01-02T15:04:05Z"))
	req.Header.Set("x-acs-signature-nonce", nonce())
	req.Header.Set("x-acs-content-sha256", emptyHash)
	h := map[string]string{"host": req.URL.Host}
	for k, v := range req.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-acs-") || lk == "content-type" {
			h[lk] = strings.Join(v, ",")
		}
	}
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	sig, names, _ := signature(secret, req.Method, path, query, h, emptyHash)
	req.Header.Set("Authorization", algorithm+" Credential="+keyID+",SignedHeaders="+names+",Signature="+sig)
	return nil
}

// bodyToQuery moves the parameters the runtime rendered as a JSON object into the query, where an RPC-style
// API takes them (text as it is, anything else as its JSON), and leaves the request without a body.
func bodyToQuery(req *http.Request) error {
	if req.GetBody == nil {
		return nil
	}
	rc, err := req.GetBody()
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	q := req.URL.Query()
	if len(raw) > 0 {
		var params map[string]any
		if err := json.Unmarshal(raw, &params); err != nil {
			return fmt.Errorf("the parameters are not a JSON object: %v", err)
		}
		for k, v := range params {
			switch t := v.(type) {
			case string:
				q.Set(k, t)
			case nil:
			default:
				b, err := json.Marshal(t)
				if err != nil {
					return err
				}
				q.Set(k, string(b))
			}
		}
	}
	req.URL.RawQuery = q.Encode()
	req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	req.Header.Del("Content-Type")
	return nil
}
