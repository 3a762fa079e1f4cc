package paypal

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

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// PayPal's API hosts. The sandbox is what a credential's test variant points at (D20).
const (
	LiveBaseURL    = "https://api-m.paypal.com"
	SandboxBaseURL = "https://api-m.sandbox.paypal.com"
)

// Stable failure codes of the PayPal actions, so alert rules and error branches can tell outcomes apart.
const (
	CodeCredentialMissing     = "paypal_credential_missing"     // permanent: the node names no credential
	CodeCredentialInvalid     = "paypal_credential_invalid"     // permanent: a field is missing or malformed
	CodeCredentialUnavailable = "paypal_credential_unavailable" // retryable: the vault failed
	CodeAuthFailed            = "paypal_auth_failed"            // permanent: PayPal refused the client id and secret
	CodeRequestInvalid        = "paypal_request_invalid"        // permanent: a parameter rendered to an unusable value
	CodeNetwork               = "paypal_network"                // retryable: no connection
	CodeTimeout               = "paypal_timeout"                // retryable: no answer in time, or 408
	CodeRateLimited           = "paypal_rate_limited"           // retry-after: 429
	CodeUnavailable           = "paypal_unavailable"            // retry-after: 503 with Retry-After
	CodeServerError           = "paypal_server_error"           // retryable: other 5xx
	CodeUnprocessable         = "paypal_unprocessable"          // permanent: 422 UNPROCESSABLE_ENTITY (declined, already captured…)
	CodeUnauthorized          = "paypal_unauthorized"           // permanent: 401/403 with a fresh token (missing permission)
	CodeNotFound              = "paypal_not_found"              // permanent: 404 (unknown order or capture)
	CodeClientError           = "paypal_client_error"           // permanent: other 4xx (400 INVALID_REQUEST…)
	CodeResponseInvalid       = "paypal_response_invalid"       // permanent: a 2xx answer that is not the documented JSON
)

// Credential fields of paypal.app. The client id and secret use the names the OAuth2 types use.
const (
	fieldClientID     = nodes.OAuth2ClientID
	fieldClientSecret = nodes.OAuth2ClientSecret
	fieldWebhookID    = "webhookId"
	fieldEnvironment  = "environment"
	fieldBaseURL      = "baseUrl"
)

// Environments a credential can point at.
const (
	envLive    = "live"
	envSandbox = "sandbox"
	envCustom  = "custom"
)

const (
	// callTimeout bounds one API call of an action (a token request has the token source's own bound).
	callTimeout = 30 * time.Second
	// maxResponseBytes bounds what is read of a PayPal answer; orders and refunds are a few KiB.
	maxResponseBytes = 4 << 20
	// tokenEarly is how long before its expiry a cached token is replaced (PayPal tokens live about 9 hours).
	tokenEarly = 5 * time.Minute
)

// account is a resolved paypal.app credential.
type account struct {
	base         *url.URL
	environment  string
	clientID     string
	clientSecret string
	webhookID    string
}

// accountFrom reads credential fields. The error says which field is wrong, never its value.
func accountFrom(fields map[string]string) (*account, error) {
	a := &account{
		environment:  strings.TrimSpace(fields[fieldEnvironment]),
		clientID:     strings.TrimSpace(fields[fieldClientID]),
		clientSecret: fields[fieldClientSecret],
		webhookID:    strings.TrimSpace(fields[fieldWebhookID]),
	}
	raw := ""
	switch a.environment {
	case envLive, "":
		a.environment, raw = envLive, LiveBaseURL
	case envSandbox:
		raw = SandboxBaseURL
	case envCustom:
		raw = strings.TrimSpace(fields[fieldBaseURL])
		if raw == "" {
			return nil, errors.New("the credential's environment is custom but it has no base URL")
		}
	default:
		return nil, fmt.Errorf("the credential's environment must be live, sandbox or custom, not %q", a.environment)
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("the credential's base URL must be an http or https URL")
	}
	a.base = u
	if a.clientID == "" {
		return nil, errors.New("the credential has no client id")
	}
	if a.clientSecret == "" {
		return nil, errors.New("the credential has no client secret")
	}
	return a, nil
}

// endpoint is the absolute URL of an API path.
func (a *account) endpoint(path string) string { return a.base.String() + path }

// tokenFields are the values an account's tokens depend on, as the connector runtime's token source keys its
// cache by them: the host, the client id and the secret (so changing the secret never reuses a token obtained
// with the old one).
func (a *account) tokenFields() map[string]string {
	return map[string]string{fieldEnvironment: envCustom, fieldBaseURL: a.base.String(), fieldClientID: a.clientID, fieldClientSecret: a.clientSecret}
}

// tokens keeps one access token per app until shortly before it expires, shared by every step and trigger in
// the process; concurrent callers that find it stale wait for a single request. It is the connector runtime's
// token source (the one Youzan's tokens use too), fed by PayPal's client-credentials grant.
var tokens = &connector.TokenSource{
	Early: tokenEarly,
	Fetch: func(ctx context.Context, client *http.Client, tr connector.TokenRequest) (connector.Token, error) {
		a, err := accountFrom(tr.Fields)
		if err != nil {
			return connector.Token{}, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("paypal: %w", err))
		}
		tok, err := fetchToken(ctx, client, a)
		if err != nil {
			return connector.Token{}, err
		}
		return connector.Token{Value: tok.AccessToken, Expiry: tok.Expiry}, nil
	},
}

// accessToken is a current access token for a.
func accessToken(ctx context.Context, client *http.Client, a *account) (string, error) {
	return tokens.Get(ctx, client, a.tokenFields())
}

// forgetToken drops a token PayPal refused, unless another caller already replaced it.
func forgetToken(a *account, token string) { tokens.Forget(a.tokenFields(), token) }

// fetchToken runs the client-credentials grant at POST /v1/oauth2/token, with the client id and secret in HTTP
// basic auth as PayPal documents. Failures come back typed: a refused client is permanent, the rest retryable.
func fetchToken(ctx context.Context, client *http.Client, a *account) (*oauth2.Token, error) {
	if client == nil {
		client = egress.Default().Client()
	}
	cfg := clientcredentials.Config{
		ClientID: a.clientID, ClientSecret: a.clientSecret,
		TokenURL:  a.endpoint("/v1/oauth2/token"),
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
	if err == nil {
		if tok.AccessToken == "" {
			return nil, nodes.NewPermanent(CodeAuthFailed, errors.New("paypal: obtain access token: the answer has no access token"))
		}
		return tok, nil
	}
	shown := "POST " + a.endpoint("/v1/oauth2/token")
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		status := re.Response.StatusCode
		msg := fmt.Errorf("paypal: obtain access token: %s answered %d %s", shown, status, oauthReason(re))
		details := map[string]any{"status": status, "error": re.ErrorCode, "errorDescription": re.ErrorDescription}
		switch {
		case status == http.StatusTooManyRequests:
			after, _ := parseRetryAfter(re.Response.Header.Get("Retry-After"))
			return nil, nodes.WithDetails(nodes.NewRateLimited(CodeRateLimited, msg, after), details)
		case status >= 500 || status == http.StatusRequestTimeout:
			return nil, nodes.WithDetails(nodes.NewRetryable(CodeServerError, msg), details)
		default:
			return nil, nodes.WithDetails(nodes.NewPermanent(CodeAuthFailed, msg), details)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, nodes.NewRetryable(CodeTimeout, fmt.Errorf("paypal: obtain access token: %s: no answer in time", shown))
	}
	return nil, nodes.NewRetryable(CodeNetwork, fmt.Errorf("paypal: obtain access token: %s: %w", shown, withoutURL(err)))
}

func oauthReason(re *oauth2.RetrieveError) string {
	switch {
	case re.ErrorCode != "" && re.ErrorDescription != "":
		return re.ErrorCode + ": " + re.ErrorDescription
	case re.ErrorCode != "":
		return re.ErrorCode
	}
	return http.StatusText(re.Response.StatusCode)
}

// withoutURL drops the URL a *url.Error repeats, keeping what went wrong.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// parseRetryAfter reads delay-seconds (capped at a day) or an HTTP date.
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
	return max(time.Until(t), 0), true
}

// stepAccount resolves the step's credential into an account, typing every failure.
func stepAccount(ctx context.Context, x *nodes.Exec) (*account, error) {
	if x.Credential == nil {
		return nil, nodes.NewPermanent(CodeCredentialMissing, fmt.Errorf("paypal: the node has no credential: %w", nodes.ErrNoCredential))
	}
	fields, err := x.Credential(ctx)
	if errors.Is(err, nodes.ErrNoCredential) {
		return nil, nodes.NewPermanent(CodeCredentialMissing, fmt.Errorf("paypal: the node has no credential: %w", err))
	}
	if err != nil {
		var typed *nodes.Error
		if errors.As(err, &typed) {
			return nil, fmt.Errorf("paypal: load credential: %w", err)
		}
		return nil, nodes.NewRetryable(CodeCredentialUnavailable, fmt.Errorf("paypal: load credential: %w", err))
	}
	a, err := accountFrom(fields)
	if err != nil {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("paypal: %w", err))
	}
	return a, nil
}

// apiRequest is one call of an action, rendered: what Execute sends and what DryRun shows.
type apiRequest struct {
	op        string // "create order", for messages
	method    string
	path      string
	body      any // nil: no body
	requestID string
}

func (r *apiRequest) encode() ([]byte, error) {
	if r.body == nil {
		return nil, nil
	}
	return json.Marshal(r.body)
}

// summary is what run data shows of the request; it never holds the token.
func (r *apiRequest) summary(a *account) map[string]any {
	u := r.path
	if a != nil {
		u = a.endpoint(r.path)
	}
	out := map[string]any{"method": r.method, "url": u, "headers": map[string]any{"PayPal-Request-Id": r.requestID}}
	if r.body != nil {
		out["body"] = r.body
	}
	return out
}

// call sends r with a bearer token and returns PayPal's JSON answer. A 401 with a cached token gets one more
// try with a fresh token (PayPal may revoke a token early); every other failure is classified for the engine.
func call(ctx context.Context, x *nodes.Exec, a *account, r *apiRequest) (map[string]any, error) {
	client := x.Client()
	body, err := r.encode()
	if err != nil {
		return nil, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("paypal: %s: encode body: %w", r.op, err))
	}
	target, err := url.Parse(a.endpoint(r.path))
	if err != nil {
		return nil, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("paypal: %s: %w", r.op, withoutURL(err)))
	}
	for attempt := 0; ; attempt++ {
		token, err := accessToken(ctx, client, a)
		if err != nil {
			return nil, err
		}
		status, header, raw, err := send(ctx, x, client, target, r, body, token)
		if err != nil {
			return nil, err
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			forgetToken(a, token)
			continue
		}
		if status < 200 || status > 299 {
			return nil, apiFailure(r, a, status, header, raw)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			return map[string]any{}, nil
		}
		var out map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return nil, nodes.WithDetails(nodes.NewPermanent(CodeResponseInvalid,
				fmt.Errorf("paypal: %s: %d answer is not a JSON object: %w", r.op, status, err)),
				map[string]any{"status": status, "body": nodes.TruncateUTF8(string(raw), 8<<10), "request": r.summary(a)})
		}
		return normaliseNumbers(out).(map[string]any), nil
	}
}

// send performs one exchange through the step's circuit breaker.
func send(ctx context.Context, x *nodes.Exec, client *http.Client, target *url.URL, r *apiRequest, body []byte, token string) (int, http.Header, []byte, error) {
	endpoint := nodes.Endpoint(r.method, target)
	done, err := x.Breakers.Allow(endpoint)
	if err != nil {
		return 0, nil, nil, nodes.WithDetails(err, map[string]any{"endpoint": endpoint})
	}
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var reader io.Reader = http.NoBody
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(callCtx, r.method, target.String(), reader)
	if err != nil {
		done(nodes.CallAbandoned)
		return 0, nil, nil, nodes.NewPermanent(CodeRequestInvalid, fmt.Errorf("paypal: %s: %w", r.op, withoutURL(err)))
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if r.requestID != "" {
		req.Header.Set("PayPal-Request-Id", r.requestID)
	}
	// The full resource, so the step's output holds what later steps need without another call.
	req.Header.Set("Prefer", "return=representation")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			done(nodes.CallAbandoned)
		} else {
			done(nodes.CallFailed)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, nil, nodes.NewRetryable(CodeTimeout, fmt.Errorf("paypal: %s: %s %s: no answer within %s", r.op, r.method, target, callTimeout))
		}
		return 0, nil, nil, nodes.NewRetryable(CodeNetwork, fmt.Errorf("paypal: %s: %s %s: %w", r.op, r.method, target, withoutURL(err)))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		done(nodes.CallFailed)
		return 0, nil, nil, nodes.NewRetryable(CodeNetwork, fmt.Errorf("paypal: %s: read answer: %w", r.op, err))
	}
	if resp.StatusCode >= 500 {
		done(nodes.CallFailed)
	} else {
		done(nodes.CallHealthy)
	}
	if len(raw) > maxResponseBytes {
		return 0, nil, nil, nodes.NewPermanent(CodeResponseInvalid, fmt.Errorf("paypal: %s: answer is larger than %d bytes", r.op, maxResponseBytes))
	}
	return resp.StatusCode, resp.Header, raw, nil
}

// apiError is PayPal's error document (name, message, debug_id, details[]), or the OAuth form
// (error, error_description) some 401 answers use.
type apiError struct {
	Name             string           `json:"name"`
	Message          string           `json:"message"`
	DebugID          string           `json:"debug_id"`
	Details          []map[string]any `json:"details"`
	Error            string           `json:"error"`
	ErrorDescription string           `json:"error_description"`
}

// apiFailure classifies a non-2xx answer and keeps PayPal's name, message, debug id and details verbatim in the
// error details, so the run view shows what PayPal said (D2).
func apiFailure(r *apiRequest, a *account, status int, header http.Header, raw []byte) error {
	var pe apiError
	parsed := map[string]any{}
	_ = json.Unmarshal(raw, &pe)
	if json.Unmarshal(raw, &parsed) != nil {
		parsed = nil
	}
	reason := pe.Name
	if reason == "" {
		reason = pe.Error
	}
	if reason == "" {
		reason = http.StatusText(status)
	}
	msg := pe.Message
	if msg == "" {
		msg = pe.ErrorDescription
	}
	text := fmt.Sprintf("paypal: %s: %d %s", r.op, status, reason)
	if msg != "" {
		text += ": " + msg
	}
	for _, d := range pe.Details {
		issue, _ := d["issue"].(string)
		desc, _ := d["description"].(string)
		if issue != "" {
			text += " [" + issue
			if desc != "" {
				text += ": " + desc
			}
			text += "]"
		}
	}
	details := map[string]any{"status": status, "request": r.summary(a)}
	if pe.Name != "" {
		details["name"] = pe.Name
	}
	if msg != "" {
		details["message"] = msg
	}
	if pe.DebugID != "" {
		details["debugId"] = pe.DebugID
	}
	if len(pe.Details) > 0 {
		details["details"] = pe.Details
	}
	if parsed != nil {
		details["body"] = parsed
	} else if len(raw) > 0 {
		details["body"] = nodes.TruncateUTF8(string(raw), 8<<10)
	}
	if id := header.Get("Paypal-Debug-Id"); id != "" && pe.DebugID == "" {
		details["debugId"] = id
	}
	err := errors.New(text)
	after, hasAfter := parseRetryAfter(header.Get("Retry-After"))
	var out error
	switch {
	case status == http.StatusTooManyRequests:
		out = nodes.NewRateLimited(CodeRateLimited, err, after)
	case status == http.StatusServiceUnavailable && hasAfter:
		out = nodes.NewRetryAfter(CodeUnavailable, err, after)
	case status == http.StatusRequestTimeout:
		out = nodes.NewRetryable(CodeTimeout, err)
	case status >= 500:
		out = nodes.NewRetryable(CodeServerError, err)
	case status == http.StatusUnprocessableEntity:
		out = nodes.NewPermanent(CodeUnprocessable, err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		out = nodes.NewPermanent(CodeUnauthorized, err)
	case status == http.StatusNotFound:
		out = nodes.NewPermanent(CodeNotFound, err)
	default:
		out = nodes.NewPermanent(CodeClientError, err)
	}
	return nodes.WithDetails(out, details)
}

// normaliseNumbers turns json.Number into int64 where whole, else keeps the text: PayPal amounts are strings,
// and no float enters run data (I7).
func normaliseNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normaliseNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normaliseNumbers(e)
		}
		return x
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		return x.String()
	}
	return v
}
