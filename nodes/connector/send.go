package connector

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// Limits of an exchange.
const (
	// MaxAnswerBytes caps an answer read into run data.
	MaxAnswerBytes = 10 << 20
	// detailBytes caps the text of a failed answer kept in the error details; detailJSONBytes is the largest
	// JSON answer kept parsed.
	detailBytes     = 8 << 10
	detailJSONBytes = 64 << 10
	defaultTimeout  = 30 * time.Second
)

// Answer is what the provider answered: its status, headers and body, parsed when it is JSON.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	// JSON is the parsed body when the answer is JSON (nil otherwise).
	JSON any
}

// Get returns the value at a JSON pointer of the answer (nil when absent or not JSON).
func (a *Answer) Get(pointer string) any {
	p, err := ParsePointer(pointer)
	if err != nil {
		return nil
	}
	v, _ := p.Get(a.JSON)
	return v
}

// checkDestination refuses, before the credential is applied, a request to where the step's credential may
// not go, so the secret is never put into it.
func checkDestination(ctx context.Context, x *nodes.Exec, r *request) error {
	if err := egress.CheckDestination(ctx, x.Client(), r.url); err != nil {
		return fmt.Errorf("%s %s: %w", r.method, r.url.Redacted(), err)
	}
	return nil
}

// send makes one request: destination check, the credential applied last (with a current access token when
// the provider exchanges its credential for one), the circuit breaker, then the answer classified. An answer that
// says the access token was refused renews it and sends the request once more.
func (n *node) send(ctx context.Context, x *nodes.Exec, fields map[string]string, r *request) (*Answer, error) {
	return n.exchange(ctx, x, fields, r, false)
}

// exchange is send; once says the request is an unrepeatable write (Operation.Unrepeatable), whose unknown
// outcome fails for good instead of being retried. (An answer refusing the access token is not an unknown
// outcome: the provider did nothing, so the request is sent again with a new token.)
func (n *node) exchange(ctx context.Context, x *nodes.Exec, fields map[string]string, r *request, once bool) (*Answer, error) {
	ts := n.c.p.Token
	if ts == nil {
		a, err := n.roundTrip(ctx, x, fields, r, once)
		if err != nil {
			return nil, err
		}
		if refused := n.c.p.SessionRefused; refused != nil && x.RenewCredential != nil && refused(a) {
			// The provider did nothing with a refused session, so sending again is safe even for a write.
			renewed, err := x.RenewCredential(ctx, fields)
			if err != nil {
				return nil, nodes.WithDetails(err, n.details(a, r))
			}
			if a, err = n.roundTrip(ctx, x, renewed, r, once); err != nil {
				return nil, err
			}
		}
		return n.classify(a, r)
	}
	if err := checkDestination(ctx, x, r); err != nil {
		return nil, nodes.WithDetails(err, map[string]any{"request": r.shown()})
	}
	token, err := n.token(ctx, x, fields, r)
	if err != nil {
		return nil, err
	}
	a, err := n.roundTrip(ctx, x, withToken(fields, token), r, once)
	if err != nil {
		return nil, err
	}
	if ts.Refused != nil && ts.Refused(a) {
		ts.Forget(fields, token)
		if token, err = n.token(ctx, x, fields, r); err != nil {
			return nil, err
		}
		if a, err = n.roundTrip(ctx, x, withToken(fields, token), r, once); err != nil {
			return nil, err
		}
	}
	return n.classify(a, r)
}

// token is the provider's current access token for the credential, its failures typed.
func (n *node) token(ctx context.Context, x *nodes.Exec, fields map[string]string, r *request) (string, error) {
	token, err := n.c.p.Token.Get(ctx, x.Client(), fields)
	if err == nil {
		return token, nil
	}
	var typed *nodes.Error
	if !errors.As(err, &typed) {
		err = nodes.NewRetryable(n.code("token_unavailable"), fmt.Errorf("%s: obtain an access token: %w", n.c.p.Name, err))
	}
	return "", nodes.WithDetails(err, map[string]any{"request": r.shown()})
}

// roundTrip sends one request and reads its answer, with the provider's quota reported; it fails only when no
// usable answer came back (no connection, a timeout, an answer too large), or, once set, when the outcome of an
// unrepeatable write is unknown (no answer after it may have left, a 5xx).
func (n *node) roundTrip(ctx context.Context, x *nodes.Exec, fields map[string]string, r *request, once bool) (*Answer, error) {
	if err := checkDestination(ctx, x, r); err != nil {
		return nil, nodes.WithDetails(err, map[string]any{"request": r.shown()})
	}
	endpoint := nodes.Endpoint(r.method, r.url)
	done, err := x.Breakers.Allow(endpoint)
	if err != nil {
		return nil, nodes.WithDetails(err, map[string]any{"endpoint": endpoint, "request": r.shown()})
	}
	timeout := n.c.op.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader = http.NoBody
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(cctx, r.method, r.url.String(), body)
	if err != nil {
		done(nodes.CallAbandoned)
		return nil, n.invalid("build the request: %v", unwrapURLError(err))
	}
	req.Header = r.header.Clone()
	if n.c.p.Authorize != nil {
		if err := n.c.p.Authorize(req, fields); err != nil {
			done(nodes.CallAbandoned)
			return nil, nodes.NewPermanent(n.code("credential_invalid"), fmt.Errorf("%s: apply the credential: %w", n.c.p.Name, err))
		}
	}
	if once && ctx.Err() != nil {
		// The step is being stopped before anything was sent: hand it back as it is, to run once later.
		done(nodes.CallAbandoned)
		return nil, ctx.Err()
	}
	if once && x.Sending != nil {
		// Saved before the request leaves: a process that dies while it is out resumes with the step's outcome
		// unknown instead of sending it again.
		unknown := n.outcomeUnknown(r, nil, "the run stopped while the request was being sent")
		typed := nodes.Classify(unknown)
		if err := x.Sending(ctx, typed.Code, typed.Error(), typed.Details); err != nil {
			done(nodes.CallAbandoned)
			return nil, err
		}
	}
	resp, err := x.Client().Do(req)
	if err != nil {
		switch {
		case egress.Refused(err) != nil, ctx.Err() != nil:
			done(nodes.CallAbandoned)
		default:
			done(nodes.CallFailed)
		}
		if once && egress.Refused(err) == nil && !notSent(err) {
			return nil, n.outcomeUnknown(r, nil, fmt.Sprintf("no answer (%v)", n.transportReason(cctx, err, timeout)))
		}
		return nil, n.transportFailure(cctx, r, err, timeout)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		done(nodes.CallFailed)
		if once && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
			return nil, n.outcomeUnknown(r, &Answer{Status: resp.StatusCode, Header: resp.Header},
				fmt.Sprintf("status %d, then the answer was lost (%v)", resp.StatusCode, n.transportReason(cctx, err, timeout)))
		}
		return nil, n.transportFailure(cctx, r, err, timeout)
	}
	if resp.StatusCode >= 500 {
		done(nodes.CallFailed)
	} else {
		done(nodes.CallHealthy)
	}
	a := &Answer{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if once && a.Status >= 500 {
		if isJSON(resp.Header.Get("Content-Type"), raw) {
			if v, err := nodes.DecodeJSON(raw); err == nil {
				a.JSON = v
			}
		}
		reason := fmt.Sprintf("status %d %s", a.Status, http.StatusText(a.Status))
		if pm := n.providerMessage(a); pm != "" {
			reason += ": " + pm
		}
		return nil, n.outcomeUnknown(r, a, reason)
	}
	if len(raw) > MaxAnswerBytes {
		return nil, nodes.WithDetails(nodes.NewPermanent(n.code("response_too_large"),
			fmt.Errorf("%s: %s %s: the answer is larger than %d bytes", n.c.p.Name, r.method, r.url.Redacted(), MaxAnswerBytes)),
			map[string]any{"status": a.Status, "request": r.shown()})
	}
	if isJSON(resp.Header.Get("Content-Type"), raw) {
		if v, err := nodes.DecodeJSON(raw); err == nil {
			a.JSON = v
		}
	}
	if n.c.p.Usage != nil && x.ReportUsage != nil {
		if used, limit, ok := n.c.p.Usage(a); ok {
			x.ReportUsage(n.c.p.Name, used, limit)
		}
	}
	if n.c.p.Quota != nil && x.ReportQuota != nil {
		if wait, ok := n.c.p.Quota(a); ok && wait > 0 {
			x.ReportQuota(ctx, wait)
		}
	}
	return a, nil
}

// classify turns an answer into the result or the engine's outcome: the provider's Check first, then the status.
func (n *node) classify(a *Answer, r *request) (*Answer, error) {
	if n.c.p.Check != nil {
		if err := n.c.p.Check(a); err != nil {
			return nil, nodes.WithDetails(err, n.details(a, r))
		}
	}
	if a.Status < 200 || a.Status > 299 {
		return nil, n.statusFailure(a, r)
	}
	if len(bytes.TrimSpace(a.Body)) > 0 && a.JSON == nil && isJSONType(a.Header.Get("Content-Type")) {
		return nil, nodes.WithDetails(nodes.NewPermanent(n.code("response_invalid"),
			fmt.Errorf("%s: %s %s: the answer says it is JSON but does not parse", n.c.p.Name, r.method, r.url.Redacted())), n.details(a, r))
	}
	return a, nil
}

// extract is the node's output from a successful answer: the value at the operation's result pointer.
func (n *node) extract(a *Answer, r *request) (any, error) {
	if a.JSON == nil {
		if len(bytes.TrimSpace(a.Body)) == 0 {
			return nil, nil
		}
		if len(n.c.result) > 0 {
			return nil, nodes.WithDetails(nodes.NewPermanent(n.code("response_invalid"),
				fmt.Errorf("%s: %s: the answer is not JSON", n.c.p.Name, n.c.op.Type)), n.details(a, r))
		}
		return string(a.Body), nil
	}
	v, ok := n.c.result.Get(a.JSON)
	if n.c.op.RequireResult && (!ok || v == nil) {
		return nil, nodes.WithDetails(nodes.NewPermanent(n.code("not_found"),
			fmt.Errorf("%s: %s: no such record (the answer has nothing at %s)", n.c.p.Name, n.c.op.Type, n.c.result)), n.details(a, r))
	}
	if !ok {
		return nil, nodes.WithDetails(nodes.NewPermanent(n.code("response_invalid"),
			fmt.Errorf("%s: %s: the answer has nothing at %s", n.c.p.Name, n.c.op.Type, n.c.result)), n.details(a, r))
	}
	return v, nil
}

// details are what a failure keeps of an exchange: the status, the provider's answer (parsed when it is JSON
// and not too large, else as cut text) and the request as sent, without the credential.
func (n *node) details(a *Answer, r *request) map[string]any {
	d := map[string]any{"status": a.Status, "request": r.shown()}
	switch {
	case a.JSON != nil && len(a.Body) <= detailJSONBytes:
		d["body"] = a.JSON
	case len(a.Body) > 0:
		d["body"] = truncate(string(a.Body), detailBytes)
		if len(a.Body) > detailBytes {
			d["bodyTruncated"] = true
		}
	}
	return d
}

// statusFailure maps a non-success status to the engine's outcome, with the provider's message verbatim.
func (n *node) statusFailure(a *Answer, r *request) error {
	msg := fmt.Sprintf("%s: %s %s: status %d %s", n.c.p.Name, r.method, r.url.Redacted(), a.Status, http.StatusText(a.Status))
	if pm := n.providerMessage(a); pm != "" {
		msg += ": " + pm
	}
	err := errors.New(msg)
	after, hasAfter := RetryAfter(a.Header.Get("Retry-After"))
	var out error
	switch code := a.Status; {
	case code == http.StatusTooManyRequests:
		out = nodes.NewRateLimited(n.code("rate_limited"), err, after)
		if hasAfter && after == 0 {
			out = &nodes.Error{Kind: nodes.RetryAfter, Code: n.code("rate_limited"), Err: err, RateLimited: true}
		}
	case code == http.StatusServiceUnavailable && hasAfter:
		out = nodes.NewRetryAfter(n.code("unavailable"), err, after)
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly:
		out = nodes.NewRetryable(n.code("timeout"), err)
	case code >= 500:
		out = nodes.NewRetryable(n.code("server_error"), err)
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		out = nodes.NewPermanent(n.code("unauthorized"), err)
	case code == http.StatusNotFound:
		out = nodes.NewPermanent(n.code("not_found"), err)
	case code == http.StatusBadRequest, code == http.StatusUnprocessableEntity:
		out = nodes.NewPermanent(n.code("invalid_request"), err)
	case code == http.StatusConflict:
		out = nodes.NewPermanent(n.code("conflict"), err)
	case code >= 400:
		out = nodes.NewPermanent(n.code("client_error"), err)
	default:
		out = nodes.NewPermanent(n.code("unexpected_status"), err)
	}
	return nodes.WithDetails(out, n.details(a, r))
}

// providerMessage is the provider's own message (and code) in a failure's answer, as it wrote them.
func (n *node) providerMessage(a *Answer) string {
	if a.JSON == nil {
		return ""
	}
	var parts []string
	for _, ptr := range []string{n.c.p.ErrorCode, n.c.p.ErrorMessage} {
		if ptr == "" {
			continue
		}
		if v := a.Get(ptr); v != nil {
			if s := fmt.Sprint(v); s != "" {
				parts = append(parts, s)
			}
		}
	}
	return truncate(strings.Join(parts, ": "), 1000)
}

// transportFailure classifies an exchange that produced no answer. The text of the error is rebuilt without the
// URL net/http puts in it, which may carry a credential in its query.
func (n *node) transportFailure(ctx context.Context, r *request, err error, timeout time.Duration) error {
	cause := unwrapURLError(err)
	details := map[string]any{"request": r.shown()}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return nodes.WithDetails(nodes.NewRetryable(n.code("timeout"),
			fmt.Errorf("%s: %s %s: no answer within %s: %w", n.c.p.Name, r.method, r.url.Redacted(), timeout, cause)), details)
	}
	return nodes.WithDetails(nodes.NewRetryable(n.code("network"),
		fmt.Errorf("%s: %s %s: %w", n.c.p.Name, r.method, r.url.Redacted(), cause)), details)
}

// outcomeUnknown is the failure of an unrepeatable write that may have reached the provider without an answer
// saying what became of it: permanent, so nothing sends it again, with the request as sent (without the
// credential) and the answer, if any, in the details. The reason is text, not a wrapped error: a cancelled
// context inside would make the engine hand the step back to run again.
func (n *node) outcomeUnknown(r *request, a *Answer, reason string) error {
	check := fmt.Sprintf("%s may have applied this request. It honours no idempotency key, so Ferry does not send it "+
		"again: check at %s whether it was done before running this step again.", n.c.title(), n.c.title())
	err := nodes.NewPermanent(n.code("outcome_unknown"), fmt.Errorf("%s: %s %s: outcome unknown: %s. %s",
		n.c.p.Name, r.method, r.url.Redacted(), reason, check))
	d := map[string]any{"request": r.shown(), "outcomeUnknown": true, "check": check}
	if a != nil {
		for k, v := range n.details(a, r) {
			d[k] = v
		}
	}
	return nodes.WithDetails(err, d)
}

// transportReason is the text of a failure to exchange, without the URL net/http puts in it.
func (n *node) transportReason(ctx context.Context, err error, timeout time.Duration) string {
	cause := unwrapURLError(err)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("nothing within %s: %v", timeout, cause)
	}
	return cause.Error()
}

// notSent reports a failure that shows the request never left: no connection could be made (a name that does
// not resolve, a refused or unreachable address, a certificate not trusted during the handshake, before any of
// the request is written). Anything else, a timeout included, may come after the request was written.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// RetryAfter reads a Retry-After header: delay-seconds (capped at a day) or an HTTP date; a date in the past
// means now.
func RetryAfter(h string) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, 86400) * float64(time.Second)), true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(time.Until(t), 0), true
}

func isJSONType(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// isJSON reports whether an answer is JSON: by its type, or, for providers that label JSON as text, by its
// first character.
func isJSON(contentType string, body []byte) bool {
	if isJSONType(contentType) {
		return true
	}
	t := bytes.TrimSpace(body)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
