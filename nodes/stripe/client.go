package stripe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// Stable failure codes of the Stripe actions, so alert rules and error branches can tell outcomes apart. The
// error details carry Stripe's own type, code, decline code, message and request id verbatim (D2).
const (
	CodeRequestInvalid       = "stripe_request_invalid"        // permanent: a parameter rendered to something unusable
	CodeCredentialInvalid    = "stripe_credential_invalid"     // permanent: no secret key, or not an sk_/rk_ key
	CodeCredentialUnavail    = "stripe_credential_unavailable" // retryable: the vault failed
	CodeTestKeyRequired      = "stripe_test_key_required"      // permanent: a test run with no test-mode key
	CodeRateLimited          = "stripe_rate_limited"           // retry-after: 429
	CodeLockTimeout          = "stripe_lock_timeout"           // retryable: Stripe could not lock the object in time
	CodeConflict             = "stripe_conflict"               // retryable: 409, another request with the same key is in flight
	CodeServerError          = "stripe_server_error"           // retryable: 5xx
	CodeTimeout              = "stripe_timeout"                // retryable: no answer in time
	CodeNetwork              = "stripe_network"                // retryable: connection failed
	CodeCardError            = "stripe_card_error"             // permanent: 402, the card was declined
	CodeInvalidRequest       = "stripe_invalid_request"        // permanent: 400 invalid_request_error and other 4xx
	CodeNotFound             = "stripe_not_found"              // permanent: 404, no such object
	CodeAuthenticationFailed = "stripe_authentication_failed"  // permanent: 401, the key was refused
	CodePermissionDenied     = "stripe_permission_denied"      // permanent: 403, a restricted key lacks the permission
	CodeIdempotencyError     = "stripe_idempotency_error"      // permanent: the key was used with other parameters
	CodeResponseInvalid      = "stripe_response_invalid"       // permanent: a success answer that is not JSON
	CodeUnexpectedStatus     = "stripe_unexpected_status"      // permanent: 1xx or 3xx
	maxResponseBytes         = 10 << 20
	detailJSONBytes          = 64 << 10
	requestTimeout           = 30 * time.Second
	userAgent                = "Ferry (stripe connector; API " + APIVersion + ")"
	redacted                 = "[redacted]"
)

// client sends authenticated form-encoded requests to the Stripe API at the pinned version.
type client struct {
	base     *url.URL
	key      string
	http     *http.Client
	breakers *nodes.Breakers
}

// apiResponse is a successful answer.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func apiBase(fields map[string]string) (*url.URL, error) {
	raw := strings.TrimRight(strings.TrimSpace(fields[FieldAPIBase]), "/")
	if raw == "" {
		raw = DefaultAPIBase
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("stripe: the credential's API base URL %q is not an http(s) URL", raw))
	}
	return u, nil
}

func newClient(fields map[string]string, hc *http.Client) (*client, error) {
	key := strings.TrimSpace(fields[FieldSecretKey])
	if key == "" {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, errors.New("stripe: the credential has no secret key"))
	}
	base, err := apiBase(fields)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = egress.Default().Client()
	}
	return &client{base: base, key: key, http: hc}, nil
}

func (c *client) shownBase() string { return c.base.String() }

// clientFor opens the step's credential. Test runs must use a test-mode key, so a flow under test can never
// move live money, even through a read that a later step acts on.
func clientFor(ctx context.Context, x *nodes.Exec) (*client, error) {
	if x.Credential == nil {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("stripe: the step has no credential: %w", nodes.ErrNoCredential))
	}
	fields, err := x.Credential(ctx)
	switch {
	case errors.Is(err, nodes.ErrNoCredential):
		return nil, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("stripe: the step needs a %s credential: %w", CredentialType, err))
	case err != nil:
		var typed *nodes.Error
		if errors.As(err, &typed) {
			return nil, fmt.Errorf("stripe: load credential: %w", err)
		}
		return nil, nodes.NewRetryable(CodeCredentialUnavail, fmt.Errorf("stripe: load credential: %w", err))
	}
	key := strings.TrimSpace(fields[FieldSecretKey])
	if x.Mode == nodes.ModeTest && !strings.HasPrefix(key, "sk_test_") && !strings.HasPrefix(key, "rk_test_") {
		return nil, nodes.NewPermanent(CodeTestKeyRequired,
			errors.New("stripe: test runs need the credential's test variant with an sk_test_ or rk_test_ key"))
	}
	if key != "" && !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_") {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, errors.New("stripe: the secret key must start with sk_ or rk_"))
	}
	c, err := newClient(fields, x.HTTP)
	if err != nil {
		return nil, err
	}
	c.breakers = x.Breakers
	return c, nil
}

// headers are the request headers, as sent (reveal) or as shown in dry runs and error details.
func (c *client) headers(method, idempotencyKey string, reveal bool) http.Header {
	h := http.Header{}
	auth := "Bearer " + c.key
	if !reveal {
		auth = redacted
	}
	h.Set("Authorization", auth)
	h.Set("Stripe-Version", APIVersion)
	h.Set("User-Agent", userAgent)
	h.Set("Accept", "application/json")
	if method == http.MethodPost {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set("Idempotency-Key", idempotencyKey)
	}
	return h
}

func shownHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// do sends one request. POSTs must carry an idempotency key: a side effect Stripe could apply twice is never
// sent (I4). Failures come back as typed step errors with Stripe's error in the details.
func (c *client) do(ctx context.Context, method, path string, form url.Values, idempotencyKey string) (*apiResponse, error) {
	u := c.base.JoinPath(path)
	var body io.Reader = http.NoBody
	encoded := ""
	switch method {
	case http.MethodPost:
		if idempotencyKey == "" {
			return nil, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("stripe: POST %s: no idempotency key for a side-effecting call", path))
		}
		encoded = form.Encode()
		body = strings.NewReader(encoded)
	default:
		if len(form) > 0 {
			u.RawQuery = form.Encode()
		}
	}
	summary := map[string]any{"method": method, "url": u.String(), "headers": shownHeaders(c.headers(method, idempotencyKey, false))}
	if encoded != "" {
		summary["body"] = encoded
	}
	done, err := c.breakers.Allow(nodes.Endpoint(method, u))
	if err != nil {
		return nil, nodes.WithDetails(err, map[string]any{"request": summary})
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		done(nodes.CallAbandoned)
		return nil, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("stripe: build request: %w", err))
	}
	req.Header = c.headers(method, idempotencyKey, true)
	resp, err := c.http.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var raw []byte
		raw, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
		if err == nil {
			if resp.StatusCode >= 500 {
				done(nodes.CallFailed)
			} else {
				done(nodes.CallHealthy)
			}
			if len(raw) > maxResponseBytes {
				return nil, nodes.WithDetails(nodes.NewPermanent(CodeResponseInvalid,
					fmt.Errorf("stripe: %s %s: response is larger than %d bytes", method, path, maxResponseBytes)), map[string]any{"request": summary})
			}
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return nil, failure(method, path, resp, raw, summary)
			}
			return &apiResponse{status: resp.StatusCode, header: resp.Header, body: raw}, nil
		}
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		done(nodes.CallAbandoned)
	} else {
		done(nodes.CallFailed)
	}
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	details := map[string]any{"request": summary}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, nodes.WithDetails(nodes.NewRetryable(CodeTimeout, fmt.Errorf("stripe: %s %s: no answer within %s: %w", method, path, requestTimeout, cause)), details)
	}
	return nil, nodes.WithDetails(nodes.NewRetryable(CodeNetwork, fmt.Errorf("stripe: %s %s: %w", method, path, cause)), details)
}

// stripeError is Stripe's error document: {"error": {...}}.
type stripeError struct {
	Error struct {
		Type          string `json:"type"`
		Code          string `json:"code"`
		DeclineCode   string `json:"decline_code"`
		Message       string `json:"message"`
		Param         string `json:"param"`
		DocURL        string `json:"doc_url"`
		RequestLogURL string `json:"request_log_url"`
	} `json:"error"`
}

// failure classifies a non-2xx answer. Rate limits and lock timeouts wait as Stripe asks, 409 and 5xx are
// retried (with the same idempotency key, so nothing is applied twice), card declines and invalid requests
// fail for good; Stripe-Should-Retry, when present, has the last word on the rest.
func failure(method, path string, resp *http.Response, raw []byte, summary map[string]any) error {
	var se stripeError
	_ = json.Unmarshal(raw, &se)
	e := se.Error
	details := map[string]any{"status": resp.StatusCode, "request": summary}
	for k, v := range map[string]string{"type": e.Type, "code": e.Code, "declineCode": e.DeclineCode, "message": e.Message,
		"param": e.Param, "docUrl": e.DocURL, "requestLogUrl": e.RequestLogURL, "requestId": resp.Header.Get("Request-Id")} {
		if v != "" {
			details[k] = v
		}
	}
	if len(raw) <= detailJSONBytes {
		if parsed, err := nodes.DecodeJSON(raw); err == nil {
			details["body"] = parsed
		} else if len(raw) > 0 {
			details["body"] = string(raw)
		}
	}
	what := strings.Join(nonEmpty(e.Type, e.Code, e.DeclineCode), " ")
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	var err error
	if what != "" {
		err = fmt.Errorf("stripe: %s %s: %d %s: %s", method, path, resp.StatusCode, what, msg)
	} else {
		err = fmt.Errorf("stripe: %s %s: %d: %s", method, path, resp.StatusCode, msg)
	}
	status := resp.StatusCode
	after, hasAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
	shouldRetry := strings.ToLower(strings.TrimSpace(resp.Header.Get("Stripe-Should-Retry")))
	var out error
	switch {
	case e.Code == "lock_timeout":
		out = retryMaybeAfter(CodeLockTimeout, err, after, hasAfter)
	case status == http.StatusTooManyRequests && hasAfter:
		out = &nodes.Error{Kind: nodes.RetryAfter, Code: CodeRateLimited, Err: err, After: after, RateLimited: true}
	case status == http.StatusTooManyRequests:
		out = nodes.NewRateLimited(CodeRateLimited, err, 0)
	case shouldRetry == "false" && status >= 400:
		out = nodes.NewPermanent(permanentCode(status, e.Type), err)
	case status == http.StatusConflict:
		out = retryMaybeAfter(CodeConflict, err, after, hasAfter)
	case status >= 500:
		out = retryMaybeAfter(CodeServerError, err, after, hasAfter)
	case shouldRetry == "true":
		out = retryMaybeAfter(CodeServerError, err, after, hasAfter)
	case status >= 400:
		out = nodes.NewPermanent(permanentCode(status, e.Type), err)
	default:
		out = nodes.NewPermanent(CodeUnexpectedStatus, err)
	}
	return nodes.WithDetails(out, details)
}

func retryMaybeAfter(code string, err error, after time.Duration, hasAfter bool) error {
	if hasAfter {
		return nodes.NewRetryAfter(code, err, after)
	}
	return nodes.NewRetryable(code, err)
}

func permanentCode(status int, errType string) string {
	switch {
	case status == http.StatusPaymentRequired || errType == "card_error":
		return CodeCardError
	case errType == "idempotency_error":
		return CodeIdempotencyError
	case status == http.StatusUnauthorized:
		return CodeAuthenticationFailed
	case status == http.StatusForbidden:
		return CodePermissionDenied
	case status == http.StatusNotFound:
		return CodeNotFound
	case status >= 500:
		return CodeServerError
	}
	return CodeInvalidRequest
}

func nonEmpty(values ...string) []string {
	out := values[:0:0]
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parseRetryAfter reads delay-seconds (capped at a day) or an HTTP date; a date in the past means retry now.
func parseRetryAfter(h string) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now()), 0), true
}

// decodeObject parses a successful answer into run data, keeping integers (amounts, timestamps) exact.
func decodeObject(method, path string, res *apiResponse) (any, error) {
	if len(bytes.TrimSpace(res.body)) == 0 {
		return nil, nil
	}
	v, err := nodes.DecodeJSON(res.body)
	if err != nil {
		return nil, nodes.NewPermanent(CodeResponseInvalid, fmt.Errorf("stripe: %s %s: response is not JSON: %w", method, path, err))
	}
	return v, nil
}
