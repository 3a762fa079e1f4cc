package wechatpay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
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
)

// Provider is the provider name in the normalised payment event.
const Provider = "wechatpay"

// DefaultBaseURL is WeChat Pay's API v3 host; a credential may point elsewhere (a test double, a proxy).
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// authScheme is the only signature scheme API v3 defines for RSA merchants.
const authScheme = "WECHATPAY2-SHA256-RSA2048"

// Headers WeChat Pay signs its answers and notifications with.
const (
	headerSignature     = "Wechatpay-Signature"
	headerTimestamp     = "Wechatpay-Timestamp"
	headerNonce         = "Wechatpay-Nonce"
	headerSerial        = "Wechatpay-Serial"
	headerSignatureType = "Wechatpay-Signature-Type"
	headerRequestID     = "Request-Id"
)

// Tolerance is how far a signed timestamp may be from Ferry's clock, either way, as WeChat Pay's own SDKs check
// it; older messages are refused as possible replays.
const Tolerance = 5 * time.Minute

// now is the package clock, replaced in tests.
var now = time.Now

// Credential fields of wechatpay.merchant.
const (
	FieldMchID                = "mchid"
	FieldSerialNo             = "serialNo"
	FieldPrivateKey           = "privateKey"
	FieldAPIv3Key             = "apiV3Key"
	FieldPlatformCertificates = "platformCertificates"
	FieldPublicKeyID          = "publicKeyId"
	FieldPublicKey            = "publicKey"
	FieldAppID                = "appid"
	FieldBaseURL              = "baseUrl"
)

// verifyKeys are the keys WeChat Pay may sign with, by serial number (a platform certificate's serial in
// upper-case hex, or the public key id "PUB_KEY_ID_…"), plus the serial a request asks answers to be signed with.
type verifyKeys struct {
	bySerial map[string]*rsa.PublicKey
	// accept is sent as Wechatpay-Serial on requests: the public key id when there is one, so WeChat Pay signs
	// its answer with that key, else the newest platform certificate.
	accept string
}

func (k *verifyKeys) lookup(serial string) (*rsa.PublicKey, bool) {
	pk, ok := k.bySerial[strings.ToUpper(strings.TrimSpace(serial))]
	return pk, ok
}

// merchant is a parsed wechatpay.merchant credential.
type merchant struct {
	mchID    string
	serialNo string
	appID    string
	key      *rsa.PrivateKey
	apiV3Key []byte
	keys     *verifyKeys
	baseURL  *url.URL
}

// credentialError is a credential that cannot be used: the admin must fix it, retrying does not help.
type credentialError struct{ msg string }

func (e *credentialError) Error() string { return "wechatpay: credential: " + e.msg }

func badCredential(format string, args ...any) error {
	return &credentialError{msg: fmt.Sprintf(format, args...)}
}

// parseVerifyKeys reads the platform certificates and the WeChat Pay public key of a credential.
func parseVerifyKeys(fields map[string]string) (*verifyKeys, error) {
	k := &verifyKeys{bySerial: map[string]*rsa.PublicKey{}}
	var newest time.Time
	rest := []byte(strings.TrimSpace(fields[FieldPlatformCertificates]))
	for len(bytes.TrimSpace(rest)) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, badCredential("platform certificates: not PEM (paste one or more -----BEGIN CERTIFICATE----- blocks)")
		}
		if block.Type != "CERTIFICATE" {
			return nil, badCredential("platform certificates: a %s block is not a certificate", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, badCredential("platform certificates: %v", err)
		}
		pk, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, badCredential("platform certificate %X: not an RSA key", cert.SerialNumber)
		}
		serial := fmt.Sprintf("%X", cert.SerialNumber.Bytes())
		k.bySerial[serial] = pk
		if cert.NotBefore.After(newest) || k.accept == "" {
			newest, k.accept = cert.NotBefore, serial
		}
	}
	id := strings.TrimSpace(fields[FieldPublicKeyID])
	pemKey := strings.TrimSpace(fields[FieldPublicKey])
	switch {
	case id != "" && pemKey != "":
		pk, err := parsePublicKey(pemKey)
		if err != nil {
			return nil, err
		}
		k.bySerial[strings.ToUpper(id)] = pk
		k.accept = id
	case id != "" || pemKey != "":
		return nil, badCredential("the WeChat Pay public key needs both its id and its PEM")
	}
	if len(k.bySerial) == 0 {
		return nil, badCredential("no platform certificate and no WeChat Pay public key: one is needed to verify WeChat Pay's signatures")
	}
	return k, nil
}

func parsePublicKey(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, badCredential("WeChat Pay public key: not PEM (-----BEGIN PUBLIC KEY-----)")
	}
	if block.Type == "CERTIFICATE" {
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, badCredential("WeChat Pay public key: %v", err)
		}
		if pk, ok := cert.PublicKey.(*rsa.PublicKey); ok {
			return pk, nil
		}
		return nil, badCredential("WeChat Pay public key: not an RSA key")
	}
	if pk, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		if rsaKey, ok := pk.(*rsa.PublicKey); ok {
			return rsaKey, nil
		}
		return nil, badCredential("WeChat Pay public key: not an RSA key")
	}
	pk, err := x509.ParsePKCS1PublicKey(block.Bytes)
	if err != nil {
		return nil, badCredential("WeChat Pay public key: not a PKIX or PKCS#1 RSA public key")
	}
	return pk, nil
}

func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, badCredential("merchant private key: not PEM (paste apiclient_key.pem, -----BEGIN PRIVATE KEY-----)")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if rsaKey, ok := k.(*rsa.PrivateKey); ok {
			return rsaKey, nil
		}
		return nil, badCredential("merchant private key: not an RSA key")
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, badCredential("merchant private key: not a PKCS#8 or PKCS#1 RSA key")
	}
	return k, nil
}

// parseAPIv3Key checks the APIv3 key: 32 bytes, since it is the AES-256 key itself.
func parseAPIv3Key(s string) ([]byte, error) {
	if len(s) != 32 {
		return nil, badCredential("the APIv3 key must be exactly 32 characters, it has %d", len(s))
	}
	return []byte(s), nil
}

func parseBaseURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, badCredential("base URL %q must be an http(s) URL such as %s", s, DefaultBaseURL)
	}
	return u, nil
}

// parseMerchant reads every field actions need.
func parseMerchant(fields map[string]string) (*merchant, error) {
	m := &merchant{
		mchID:    strings.TrimSpace(fields[FieldMchID]),
		serialNo: strings.ToUpper(strings.TrimSpace(fields[FieldSerialNo])),
		appID:    strings.TrimSpace(fields[FieldAppID]),
	}
	if m.mchID == "" {
		return nil, badCredential("the merchant id (mchid) is missing")
	}
	if m.serialNo == "" {
		return nil, badCredential("the merchant certificate serial number is missing")
	}
	var err error
	if m.key, err = parsePrivateKey(fields[FieldPrivateKey]); err != nil {
		return nil, err
	}
	if m.apiV3Key, err = parseAPIv3Key(fields[FieldAPIv3Key]); err != nil {
		return nil, err
	}
	if m.keys, err = parseVerifyKeys(fields); err != nil {
		return nil, err
	}
	if m.baseURL, err = parseBaseURL(fields[FieldBaseURL]); err != nil {
		return nil, err
	}
	return m, nil
}

// parsedCache keeps the last parsed credentials by a digest of their fields, so PEM parsing runs once per
// credential version rather than once per call.
type parsedCache struct {
	mu      sync.Mutex
	entries map[[32]byte]any
}

const maxParsed = 64

func (c *parsedCache) get(fields map[string]string, parse func(map[string]string) (any, error)) (any, error) {
	h := sha256.New()
	for _, name := range []string{FieldMchID, FieldSerialNo, FieldPrivateKey, FieldAPIv3Key, FieldPlatformCertificates,
		FieldPublicKeyID, FieldPublicKey, FieldAppID, FieldBaseURL} {
		fmt.Fprintf(h, "%d:%s\x00", len(fields[name]), fields[name])
	}
	var key [32]byte
	copy(key[:], h.Sum(nil))
	c.mu.Lock()
	v, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := parse(fields)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxParsed {
		c.entries = map[[32]byte]any{}
	}
	c.entries[key] = v
	c.mu.Unlock()
	return v, nil
}

var merchants, notifyKeyCache parsedCache

func cachedMerchant(fields map[string]string) (*merchant, error) {
	v, err := merchants.get(fields, func(f map[string]string) (any, error) { return parseMerchant(f) })
	if err != nil {
		return nil, err
	}
	return v.(*merchant), nil
}

// notifyKeys is what the trigger needs of a credential: the keys to verify with and the APIv3 key.
type notifyKeys struct {
	keys     *verifyKeys
	apiV3Key []byte
}

func cachedNotifyKeys(fields map[string]string) (*notifyKeys, error) {
	v, err := notifyKeyCache.get(fields, func(f map[string]string) (any, error) {
		keys, err := parseVerifyKeys(f)
		if err != nil {
			return nil, err
		}
		apiKey, err := parseAPIv3Key(f[FieldAPIv3Key])
		if err != nil {
			return nil, err
		}
		return &notifyKeys{keys: keys, apiV3Key: apiKey}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*notifyKeys), nil
}

// signedHeaders are the Wechatpay-* headers of a signed answer or notification.
type signedHeaders struct {
	signature, timestamp, nonce, serial string
}

func readSignedHeaders(h http.Header) (signedHeaders, []string) {
	s := signedHeaders{
		signature: strings.TrimSpace(h.Get(headerSignature)),
		timestamp: strings.TrimSpace(h.Get(headerTimestamp)),
		nonce:     strings.TrimSpace(h.Get(headerNonce)),
		serial:    strings.TrimSpace(h.Get(headerSerial)),
	}
	var missing []string
	for name, v := range map[string]string{headerSignature: s.signature, headerTimestamp: s.timestamp, headerNonce: s.nonce, headerSerial: s.serial} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	return s, missing
}

// Reasons a signed message is refused, shared by the trigger and response verification.
var (
	errTimestampInvalid = errors.New("Wechatpay-Timestamp is not a Unix time in seconds")
	errTimestampStale   = errors.New("Wechatpay-Timestamp is more than 5 minutes from now")
	errSerialUnknown    = errors.New("Wechatpay-Serial names no platform certificate or WeChat Pay public key of this credential")
	errSignatureInvalid = errors.New("Wechatpay-Signature does not match the message")
)

// checkTimestamp refuses a signed time outside Tolerance of the clock.
func checkTimestamp(ts string) error {
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errTimestampInvalid
	}
	d := now().Sub(time.Unix(secs, 0))
	if d > Tolerance || d < -Tolerance {
		return errTimestampStale
	}
	return nil
}

// verify checks a WeChat Pay signature over "timestamp\nnonce\nbody\n".
func (k *verifyKeys) verify(s signedHeaders, body []byte) error {
	pk, ok := k.lookup(s.serial)
	if !ok {
		return errSerialUnknown
	}
	sig, err := base64.StdEncoding.DecodeString(s.signature)
	if err != nil {
		return errSignatureInvalid
	}
	h := sha256.New()
	h.Write([]byte(s.timestamp + "\n" + s.nonce + "\n"))
	h.Write(body)
	h.Write([]byte("\n"))
	if rsa.VerifyPKCS1v15(pk, crypto.SHA256, h.Sum(nil), sig) != nil {
		return errSignatureInvalid
	}
	return nil
}

// nonceString is 32 random characters from [0-9A-Za-z], as the signature guide asks.
func nonceString() (string, error) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// authorization signs "METHOD\nURL\ntimestamp\nnonce\nbody\n" with the merchant key and builds the header.
func (m *merchant) authorization(method, pathAndQuery string, body []byte) (string, error) {
	nonce, err := nonceString()
	if err != nil {
		return "", err
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	digest := sha256.Sum256([]byte(method + "\n" + pathAndQuery + "\n" + ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, m.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`%s mchid="%s",nonce_str="%s",signature="%s",timestamp="%s",serial_no="%s"`,
		authScheme, m.mchID, nonce, base64.StdEncoding.EncodeToString(sig), ts, m.serialNo), nil
}

// Stable failure codes of the action nodes.
const (
	CodeCredentialInvalid     = "wechatpay_credential_invalid"     // permanent: a field cannot be used
	CodeCredentialUnavailable = "wechatpay_credential_unavailable" // retryable: the vault failed
	CodeRequestInvalid        = "wechatpay_request_invalid"        // permanent: a parameter rendered to nothing usable
	CodeNetwork               = "wechatpay_network"                // retryable
	CodeTimeout               = "wechatpay_timeout"                // retryable
	CodeRateLimited           = "wechatpay_rate_limited"           // retry-after: 429 / FREQUENCY_LIMITED
	CodeServerError           = "wechatpay_server_error"           // retryable: 5xx / SYSTEM_ERROR
	CodeResponseUnverified    = "wechatpay_response_unverified"    // permanent: the answer's signature does not check
	CodeResponseInvalid       = "wechatpay_response_invalid"       // permanent: the answer is not the documented JSON
	// Other refusals carry "wechatpay_" + the lower-cased WeChat Pay code, such as wechatpay_order_not_exist.
)

const (
	maxResponseBytes = 1 << 20
	callTimeout      = 30 * time.Second
	userAgent        = "Ferry-WeChatPay-Connector/1 (API v3)"
)

// apiCall is one signed API v3 request.
type apiCall struct {
	method string
	// path is the path and query below the base URL, as signed ("/v3/pay/transactions/out-trade-no/1?mchid=…").
	path string
	body any
}

// apiAnswer is a verified answer.
type apiAnswer struct {
	status int
	body   map[string]any
}

// loadMerchant reads and parses the step's credential, classifying what goes wrong.
func loadMerchant(ctx context.Context, x *nodes.Exec) (*merchant, error) {
	if x.Credential == nil {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, errors.New("wechatpay: the step has no wechatpay.merchant credential"))
	}
	fields, err := x.Credential(ctx)
	switch {
	case errors.Is(err, nodes.ErrNoCredential):
		return nil, nodes.NewPermanent(CodeCredentialInvalid, errors.New("wechatpay: the step has no wechatpay.merchant credential"))
	case err != nil:
		var typed *nodes.Error
		if errors.As(err, &typed) {
			return nil, fmt.Errorf("wechatpay: load credential: %w", err)
		}
		return nil, nodes.NewRetryable(CodeCredentialUnavailable, fmt.Errorf("wechatpay: load credential: %w", err))
	}
	m, err := cachedMerchant(fields)
	if err != nil {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, err)
	}
	return m, nil
}

// summary describes a request for run data and dry runs; the Authorization header is never shown.
func (m *merchant) summary(c apiCall) map[string]any {
	out := map[string]any{"method": c.method, "url": m.baseURL.String() + c.path}
	if c.body != nil {
		out["body"] = c.body
	}
	return out
}

// do sends a signed request and verifies the answer's signature. Non-2xx answers become typed failures carrying
// WeChat Pay's code and message verbatim.
func (m *merchant) do(ctx context.Context, x *nodes.Exec, c apiCall) (*apiAnswer, error) {
	var body []byte
	if c.body != nil {
		var err error
		if body, err = json.Marshal(c.body); err != nil {
			return nil, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("wechatpay: encode request: %w", err))
		}
	}
	auth, err := m.authorization(c.method, c.path, body)
	if err != nil {
		return nil, nodes.NewRetryable(CodeNetwork, fmt.Errorf("wechatpay: sign request: %w", err))
	}
	target := m.baseURL.String() + c.path
	endpoint := nodes.Endpoint(c.method, m.baseURL)
	var breakers *nodes.Breakers
	if x != nil {
		breakers = x.Breakers
	}
	done, err := breakers.Allow(endpoint)
	if err != nil {
		return nil, nodes.WithDetails(err, map[string]any{"endpoint": endpoint, "request": m.summary(c)})
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var reader io.Reader = http.NoBody
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(cctx, c.method, target, reader)
	if err != nil {
		done(nodes.CallAbandoned)
		return nil, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("wechatpay: build request: %w", err))
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(headerSerial, m.keys.accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := x.Client()
	details := map[string]any{"request": m.summary(c)}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			done(nodes.CallAbandoned)
		} else {
			done(nodes.CallFailed)
		}
		code := CodeNetwork
		if errors.Is(err, context.DeadlineExceeded) {
			code = CodeTimeout
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nodes.WithDetails(nodes.NewRetryable(code, fmt.Errorf("wechatpay: %s %s: %w", c.method, c.path, err)), details)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		done(nodes.CallFailed)
		return nil, nodes.WithDetails(nodes.NewRetryable(CodeNetwork, fmt.Errorf("wechatpay: %s %s: read answer: %w", c.method, c.path, err)), details)
	}
	if resp.StatusCode >= 500 {
		done(nodes.CallFailed)
	} else {
		done(nodes.CallHealthy)
	}
	details["status"] = resp.StatusCode
	if id := resp.Header.Get(headerRequestID); id != "" {
		details["requestId"] = id
	}
	if len(raw) > maxResponseBytes {
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeResponseInvalid,
			fmt.Errorf("wechatpay: %s %s: answer larger than %d bytes", c.method, c.path, maxResponseBytes)), details)
	}
	var parsed map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		v, perr := nodes.DecodeJSON(raw)
		if obj, ok := v.(map[string]any); perr == nil && ok {
			parsed = obj
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if parsed != nil {
			details["body"] = parsed
		} else if len(raw) > 0 {
			details["body"] = string(raw[:min(len(raw), 8<<10)])
		}
		if _, missing := readSignedHeaders(resp.Header); len(missing) == 0 {
			details["signatureVerified"] = m.verifyAnswer(resp.Header, raw) == nil
		}
		return nil, nodes.WithDetails(apiFailure(c, resp, parsed), details)
	}
	if err := m.verifyAnswer(resp.Header, raw); err != nil {
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeResponseUnverified,
			fmt.Errorf("wechatpay: %s %s: answer not verified: %w", c.method, c.path, err)), details)
	}
	if len(bytes.TrimSpace(raw)) > 0 && parsed == nil {
		return nil, nodes.WithDetails(nodes.NewPermanent(CodeResponseInvalid,
			fmt.Errorf("wechatpay: %s %s: answer is not a JSON object", c.method, c.path)), details)
	}
	return &apiAnswer{status: resp.StatusCode, body: parsed}, nil
}

// verifyAnswer checks the signature WeChat Pay puts on every successful answer, so a forged or altered answer
// (a proxy, a DNS hijack) cannot make a flow believe an order was paid or refunded.
func (m *merchant) verifyAnswer(h http.Header, body []byte) error {
	s, missing := readSignedHeaders(h)
	if len(missing) > 0 {
		return fmt.Errorf("the answer lacks %s", strings.Join(missing, ", "))
	}
	if err := checkTimestamp(s.timestamp); err != nil {
		return err
	}
	return m.keys.verify(s, body)
}

// retryableCodes are WeChat Pay error codes its docs say to retry with the same parameters.
var retryableCodes = map[string]bool{"SYSTEM_ERROR": true, "SYSTEMERROR": true, "FREQUENCY_LIMITED": true, "BANK_ERROR": true}

// apiFailure classifies a non-2xx answer: 429 and FREQUENCY_LIMITED wait (honouring Retry-After), 5xx and
// SYSTEM_ERROR retry, anything else is permanent with WeChat Pay's code and message in the error text.
func apiFailure(c apiCall, resp *http.Response, body map[string]any) error {
	code, _ := body["code"].(string)
	message, _ := body["message"].(string)
	what := fmt.Sprintf("status %d", resp.StatusCode)
	if code != "" {
		what += " " + code
	}
	if message != "" {
		what += ": " + message
	}
	err := fmt.Errorf("wechatpay: %s %s: %s", c.method, c.path, what)
	after, hasAfter := retryAfter(resp.Header.Get("Retry-After"))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || code == "FREQUENCY_LIMITED":
		return nodes.NewRateLimited(CodeRateLimited, err, after)
	case resp.StatusCode >= 500 || retryableCodes[code]:
		if hasAfter {
			return nodes.NewRetryAfter(CodeServerError, err, after)
		}
		return nodes.NewRetryable(CodeServerError, err)
	}
	return nodes.NewPermanent(errorCode(code), err)
}

// errorCode turns a WeChat Pay code ("ORDER_NOT_EXIST") into a Ferry failure code ("wechatpay_order_not_exist").
func errorCode(code string) string {
	if code == "" {
		return "wechatpay_client_error"
	}
	var b strings.Builder
	b.WriteString("wechatpay_")
	for _, r := range strings.ToLower(code) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func retryAfter(h string) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil && secs >= 0 {
		return time.Duration(min(secs, 86400)) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now()), 0), true
	}
	return 0, false
}

// outRefundNo derives a refund number from the step's idempotency key: WeChat Pay allows at most 64 characters
// from [0-9A-Za-z_-|*@], and the same number on a retry makes WeChat Pay apply the refund once (I4).
func outRefundNo(key string) string {
	s := strings.ReplaceAll(key, ":", "|")
	if validOutNo(s) {
		return s
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func validOutNo(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', strings.ContainsRune("_-|*@", r):
		default:
			return false
		}
	}
	return true
}
