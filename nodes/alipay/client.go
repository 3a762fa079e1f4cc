package alipay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// Stable failure codes of the Alipay actions, so alert rules and error branches can tell outcomes apart. The
// provider's own code, msg, sub_code and sub_msg are always in the error details, verbatim.
const (
	CodeCredentialInvalid     = "alipay_credential_invalid"     // permanent: keys or certificates do not parse
	CodeCredentialUnavailable = "alipay_credential_unavailable" // retryable: the vault failed
	CodeRequestInvalid        = "alipay_request_invalid"        // permanent: a parameter rendered to something unusable
	CodeTimeout               = "alipay_timeout"                // retryable: no answer in time
	CodeNetwork               = "alipay_network"                // retryable: connection failed
	CodeHTTPError             = "alipay_http_error"             // retryable for 5xx, permanent otherwise
	CodeRateLimited           = "alipay_rate_limited"           // retryable: HTTP 429
	CodeResponseInvalid       = "alipay_response_invalid"       // permanent: the answer is not Alipay's JSON
	CodeResponseSignature     = "alipay_response_signature_invalid"
	CodeCertSNMismatch        = "alipay_cert_sn_mismatch" // permanent: Alipay signed with a certificate the credential lacks
	CodeServiceUnavailable    = "alipay_service_unavailable"
	CodeSystemError           = "alipay_system_error"       // retryable: 40004 ACQ.SYSTEM_ERROR
	CodeMissingParameter      = "alipay_missing_parameter"  // 40001
	CodeInvalidParameter      = "alipay_invalid_parameter"  // 40002, including a refused request signature
	CodeBusinessError         = "alipay_business_error"     // 40004, sub_code says which
	CodePermissionDenied      = "alipay_permission_denied"  // 40006
	CodeAuthTokenInvalid      = "alipay_auth_token_invalid" // 20001
	CodeUnknownAnswer         = "alipay_error"              // any other code
)

// Gateway codes (公共错误码).
const (
	codeSuccess            = "10000"
	codeServiceUnavailable = "20000"
	codeAuthTokenInvalid   = "20001"
	codeMissingParameter   = "40001"
	codeInvalidParameter   = "40002"
	codeBusinessFailed     = "40004"
	codePermissionDenied   = "40006"
)

const (
	// callTimeout bounds one exchange with the gateway.
	callTimeout = 30 * time.Second
	// maxResponseBytes bounds what is read of an answer; Alipay's are a few kilobytes.
	maxResponseBytes = 1 << 20
	timeLayout       = "2006-01-02 15:04:05"
)

// chinaTime is Asia/Shanghai. China has kept UTC+8 without daylight saving since 1991, and a fixed zone does
// not depend on the machine having the time zone database.
var chinaTime = time.FixedZone("CST", 8*60*60)

// request is one open-API call: the method, its biz_content and any further common parameters (notify_url).
type request struct {
	method string
	biz    map[string]any
	extra  map[string]string
}

// params builds the common parameters and biz_content, unsigned.
func (acc *account) params(r request, now time.Time) (map[string]string, error) {
	p := map[string]string{
		"app_id":    acc.appID,
		"method":    r.method,
		"format":    "JSON",
		"charset":   "utf-8",
		"sign_type": "RSA2",
		"timestamp": now.In(chinaTime).Format(timeLayout),
		"version":   "1.0",
	}
	if acc.certMode {
		p["app_cert_sn"] = acc.appCertSN
		p["alipay_root_cert_sn"] = acc.rootCertSN
	}
	if len(r.biz) > 0 {
		content, err := encodeJSON(r.biz)
		if err != nil {
			return nil, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("alipay: %s: encode biz_content: %w", r.method, err))
		}
		p["biz_content"] = content
	}
	for k, v := range r.extra {
		if v != "" {
			p[k] = v
		}
	}
	return p, nil
}

// encodeJSON writes v without HTML escaping, so what is signed reads as the user wrote it.
func encodeJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// shownRequest is what run data and dry runs show of a call: everything but the signature.
func shownRequest(gateway string, r request, acc *account) map[string]any {
	params := map[string]any{"method": r.method, "format": "JSON", "charset": "utf-8", "sign_type": "RSA2", "version": "1.0"}
	if acc != nil {
		params["app_id"] = acc.appID
	}
	if len(r.biz) > 0 {
		params["biz_content"] = r.biz
	}
	for k, v := range r.extra {
		if v != "" {
			params[k] = v
		}
	}
	return map[string]any{"method": http.MethodPost, "url": gateway, "params": params}
}

// caller sends calls: the step's HTTP client and circuit breakers, and the clock.
type caller struct {
	http     *http.Client
	breakers *nodes.Breakers
	now      func() time.Time
}

func (c caller) client() *http.Client {
	if c.http != nil {
		return c.http
	}
	return egress.Default().Client()
}

func (c caller) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// answer is a verified answer of the gateway.
type answer struct {
	// body is the decoded <method>_response object.
	body map[string]any
	// signed says the answer carried a signature, which checked out.
	signed bool
}

func (a answer) text(name string) string {
	s, _ := a.body[name].(string)
	return s
}

// do signs and sends r, checks the answer's signature and classifies it: code 10000 is success, everything else
// a typed error carrying Alipay's code, msg, sub_code and sub_msg verbatim.
func (c caller) do(ctx context.Context, acc *account, r request) (answer, error) {
	raw, details, err := c.send(ctx, acc, r)
	if err != nil {
		return answer{}, err
	}
	a, err := c.verifyAnswer(ctx, acc, r.method, raw)
	if err != nil {
		if len(raw) <= 8<<10 {
			details["body"] = string(raw)
		}
		return answer{}, nodes.WithDetails(err, details)
	}
	if err := classify(r.method, a); err != nil {
		details["response"] = a.body
		return a, nodes.WithDetails(err, details)
	}
	return a, nil
}

// send signs r, posts it and returns the body of a 200 answer; details describe the call for error reports.
func (c caller) send(runCtx context.Context, acc *account, r request) ([]byte, map[string]any, error) {
	details := map[string]any{"request": shownRequest(acc.gateway, r, acc)}
	params, err := acc.params(r, c.clock())
	if err != nil {
		return nil, details, err
	}
	sign, err := signRSA2(acc.key, requestContent(params))
	if err != nil {
		return nil, details, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("alipay: %s: sign the request: %w", r.method, err))
	}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	form.Set("sign", sign)
	u, err := url.Parse(acc.gateway)
	if err != nil {
		return nil, details, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("alipay: gateway URL: %w", err))
	}
	done, err := c.breakers.Allow(nodes.Endpoint(http.MethodPost, u))
	if err != nil {
		return nil, details, nodes.WithDetails(err, details)
	}
	failed := func() {
		if runCtx.Err() != nil {
			done(nodes.CallAbandoned)
		} else {
			done(nodes.CallFailed)
		}
	}
	ctx, cancel := context.WithTimeout(runCtx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, acc.gateway, strings.NewReader(form.Encode()))
	if err != nil {
		done(nodes.CallAbandoned)
		return nil, details, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("alipay: build request: %w", unwrapURLError(err)))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client().Do(req)
	if err != nil {
		failed()
		return nil, details, transportFailure(ctx, r.method, acc.gateway, err, details)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		failed()
		return nil, details, transportFailure(ctx, r.method, acc.gateway, err, details)
	}
	if resp.StatusCode >= 500 {
		failed()
	} else {
		done(nodes.CallHealthy)
	}
	details["status"] = resp.StatusCode
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return nil, details, nodes.WithDetails(nodes.NewRateLimited(CodeRateLimited,
			fmt.Errorf("alipay: %s: the gateway answered 429 Too Many Requests", r.method), time.Duration(after)*time.Second), details)
	case resp.StatusCode >= 500:
		return nil, details, nodes.WithDetails(nodes.NewRetryable(CodeHTTPError,
			fmt.Errorf("alipay: %s: the gateway answered %s", r.method, resp.Status)), details)
	case resp.StatusCode != http.StatusOK:
		return nil, details, nodes.WithDetails(nodes.NewPermanent(CodeHTTPError,
			fmt.Errorf("alipay: %s: the gateway answered %s", r.method, resp.Status)), details)
	case len(raw) > maxResponseBytes:
		return nil, details, nodes.WithDetails(nodes.NewPermanent(CodeResponseInvalid,
			fmt.Errorf("alipay: %s: the answer is larger than %d bytes", r.method, maxResponseBytes)), details)
	}
	return raw, details, nil
}

// envelope is an answer split into its parts: the <method>_response object (its exact bytes and decoded), the
// signature and the serial of the certificate that made it.
type envelope struct {
	content []byte
	body    map[string]any
	sign    string
	certSN  string
}

func parseEnvelope(method string, raw []byte) (*envelope, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, nodes.NewPermanent(CodeResponseInvalid, fmt.Errorf("alipay: %s: the answer is not JSON: %w", method, err))
	}
	node := strings.ReplaceAll(method, ".", "_") + "_response"
	content, ok := top[node]
	if !ok {
		if content, ok = top["error_response"]; !ok {
			return nil, nodes.NewPermanent(CodeResponseInvalid, fmt.Errorf("alipay: %s: the answer has no %s", method, node))
		}
	}
	body, err := decodeObject(content)
	if err != nil {
		return nil, nodes.NewPermanent(CodeResponseInvalid, fmt.Errorf("alipay: %s: %s: %w", method, node, err))
	}
	e := &envelope{content: content, body: body}
	if s, ok := top["sign"]; ok {
		_ = json.Unmarshal(s, &e.sign)
	}
	if s, ok := top["alipay_cert_sn"]; ok {
		_ = json.Unmarshal(s, &e.certSN)
	}
	return e, nil
}

// verifyAnswer checks Alipay's signature over the exact bytes of <method>_response. An answer without a
// signature is accepted only when it reports an error: a success must be signed. In certificate mode an answer
// signed with another certificate than the credential's (Alipay rotates them) is checked with that certificate,
// downloaded and verified against the root as the official SDKs do.
func (c caller) verifyAnswer(ctx context.Context, acc *account, method string, raw []byte) (answer, error) {
	e, err := parseEnvelope(method, raw)
	if err != nil {
		return answer{}, err
	}
	a := answer{body: e.body}
	if e.sign == "" {
		if a.text("code") == codeSuccess {
			return answer{}, nodes.NewPermanent(CodeResponseSignature,
				fmt.Errorf("alipay: %s: the answer reports success but is not signed", method))
		}
		return a, nil
	}
	key := acc.alipayKey
	if acc.certMode && e.certSN != "" && e.certSN != acc.alipayCertSN {
		if key, err = c.rotatedKey(ctx, acc, e.certSN); err != nil {
			return answer{}, err
		}
	}
	if err := verifyRSA2(key, e.content, e.sign); err != nil {
		// The official SDKs try once more with "\/" read as "/", which some answers escape.
		if !bytes.Contains(e.content, []byte(`\/`)) ||
			verifyRSA2(key, bytes.ReplaceAll(e.content, []byte(`\/`), []byte("/")), e.sign) != nil {
			return answer{}, nodes.NewPermanent(CodeResponseSignature,
				fmt.Errorf("alipay: %s: the answer's signature does not verify with the Alipay public key", method))
		}
	}
	a.signed = true
	return a, nil
}

// certDownloadMethod fetches one of Alipay's public key certificates by serial.
const certDownloadMethod = "alipay.open.app.alipaycert.download"

// rotated holds Alipay certificates downloaded after a rotation, by root serial and certificate serial; each was
// checked against the root before it went in.
var rotated = struct {
	sync.Mutex
	m map[string]*rsa.PublicKey
}{m: map[string]*rsa.PublicKey{}}

func rotatedFor(acc *account, sn string) *rsa.PublicKey {
	rotated.Lock()
	defer rotated.Unlock()
	return rotated.m[acc.rootCertSN+"/"+sn]
}

// rotatedKey downloads the Alipay certificate with serial sn, checks that it chains to the credential's root and
// has that serial, and returns its key. Its answer is trusted through the chain, not through a signature.
func (c caller) rotatedKey(ctx context.Context, acc *account, sn string) (*rsa.PublicKey, error) {
	if k := rotatedFor(acc, sn); k != nil {
		return k, nil
	}
	refuse := func(reason string) error {
		return nodes.WithDetails(nodes.NewPermanent(CodeCertSNMismatch, fmt.Errorf(
			"alipay: Alipay signed with certificate %s, not the credential's %s, and %s; download Alipay's current "+
				"public key certificate from the open platform and update the credential", sn, acc.alipayCertSN, reason)),
			map[string]any{"alipay_cert_sn": sn})
	}
	raw, _, err := c.send(ctx, acc, request{method: certDownloadMethod, biz: map[string]any{"alipay_cert_sn": sn}})
	if err != nil {
		if nodes.Classify(err).Kind != nodes.Permanent {
			return nil, err
		}
		return nil, refuse("downloading it failed: " + err.Error())
	}
	e, err := parseEnvelope(certDownloadMethod, raw)
	if err != nil {
		return nil, refuse("its download answer is unreadable")
	}
	a := answer{body: e.body}
	if err := classify(certDownloadMethod, a); err != nil {
		return nil, refuse("downloading it failed: " + err.Error())
	}
	pemText, err := base64.StdEncoding.DecodeString(a.text("alipay_cert_content"))
	if err != nil {
		return nil, refuse("the downloaded certificate is not base64")
	}
	certs, err := parseCertificates(string(pemText), "downloaded certificate")
	if err != nil {
		return nil, refuse(err.Error())
	}
	key, got, err := trustedAlipayKey(certs, acc.rootCert, c.clock())
	if err != nil {
		return nil, refuse("the downloaded certificate is not trusted: " + err.Error())
	}
	if got != sn {
		return nil, refuse("the downloaded certificate has serial " + got)
	}
	rotated.Lock()
	if len(rotated.m) >= 64 {
		clear(rotated.m)
	}
	rotated.m[acc.rootCertSN+"/"+sn] = key
	rotated.Unlock()
	return key, nil
}

// classify turns a gateway code into success or a typed error.
func classify(method string, a answer) error {
	code, msg, sub, subMsg := a.text("code"), a.text("msg"), a.text("sub_code"), a.text("sub_msg")
	if code == codeSuccess {
		return nil
	}
	said := strings.TrimSpace(strings.Join(nonEmpty(code, msg, sub, subMsg), " "))
	err := fmt.Errorf("alipay: %s: %s", method, said)
	switch {
	case code == codeServiceUnavailable:
		return nodes.NewRetryable(CodeServiceUnavailable, err)
	case code == codeBusinessFailed && isSystemError(sub):
		return nodes.NewRetryable(CodeSystemError, err)
	case code == codeBusinessFailed:
		return nodes.NewPermanent(CodeBusinessError, err)
	case code == codeMissingParameter:
		return nodes.NewPermanent(CodeMissingParameter, err)
	case code == codeInvalidParameter:
		return nodes.NewPermanent(CodeInvalidParameter, err)
	case code == codePermissionDenied:
		return nodes.NewPermanent(CodePermissionDenied, err)
	case code == codeAuthTokenInvalid:
		return nodes.NewPermanent(CodeAuthTokenInvalid, err)
	}
	return nodes.NewPermanent(CodeUnknownAnswer, err)
}

// isSystemError reports Alipay's "system busy, call again with the same parameters" business answer.
func isSystemError(subCode string) bool {
	return strings.EqualFold(subCode, "ACQ.SYSTEM_ERROR") || strings.HasSuffix(strings.ToUpper(subCode), ".ACQ.SYSTEM_ERROR")
}

func nonEmpty(parts ...string) []string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// decodeObject decodes a JSON object keeping numbers exact: whole numbers become int64, others stay decimal
// text, never float64 (I7).
func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if v == nil {
		return nil, errors.New("not an object")
	}
	return exactNumbers(v).(map[string]any), nil
}

func exactNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, item := range x {
			x[k] = exactNumbers(item)
		}
	case []any:
		for i, item := range x {
			x[i] = exactNumbers(item)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		return x.String()
	}
	return v
}

func transportFailure(ctx context.Context, method, gateway string, err error, details map[string]any) error {
	cause := unwrapURLError(err)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return nodes.WithDetails(nodes.NewRetryable(CodeTimeout,
			fmt.Errorf("alipay: %s: no answer from %s within %s: %w", method, gateway, callTimeout, cause)), details)
	}
	return nodes.WithDetails(nodes.NewRetryable(CodeNetwork, fmt.Errorf("alipay: %s: %s: %w", method, gateway, cause)), details)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
