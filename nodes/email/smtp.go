package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// Stable codes of e-mail failures.
const (
	// CodeCredentialInvalid: the credential's fields cannot work (a bad port, a login over plain text not allowed).
	CodeCredentialInvalid = "email_credential_invalid"
	// CodePlainAuthRefused: the server was reached without encryption and the login was not sent.
	CodePlainAuthRefused = "email_plain_auth_refused"
	// CodeStartTLSUnavailable: the server does not offer STARTTLS, which the credential requires.
	CodeStartTLSUnavailable = "email_starttls_unavailable"
	// CodeTLSFailed: the TLS handshake failed (an untrusted or mismatched certificate).
	CodeTLSFailed = "email_tls_failed"
	// CodeAuthFailed: the server refused the login.
	CodeAuthFailed = "email_auth_failed"
	// CodeTemporary: the server answered with a 4xx reply; retried.
	CodeTemporary = "email_smtp_temporary"
	// CodeRejected: the server answered with a 5xx reply; not retried.
	CodeRejected = "email_smtp_rejected"
	// CodeConnection: no connection to the server, or it was lost before the message was handed over; retried.
	CodeConnection = "email_connection_failed"
	// CodeOutcomeUnknown: the whole message was sent but no reply said whether the server took it; not sent again.
	CodeOutcomeUnknown = "email_outcome_unknown"
	// CodeInvalid: the message cannot be built from the step's parameters (a bad address, an attachment that is
	// not base64).
	CodeInvalid = "email_invalid"
)

// sendTimeout bounds one exchange with the server, from the connection to QUIT.
const sendTimeout = 60 * time.Second

// newClient prepares a go-mail client whose connections leave through the step's guarded path (egress.Dial:
// the address rules and the credential's destinations) and which logs in only over TLS unless the credential
// allows otherwise.
func newClient(a *account, client *http.Client) (*gomail.Client, error) {
	cfg := a.tlsConfig()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := egress.Dial(ctx, client, network, addr)
		if err != nil || a.security != SecurityTLS {
			return conn, err
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, &tlsError{err}
		}
		return tc, nil
	}
	opts := []gomail.Option{gomail.WithPort(a.port), gomail.WithDialContextFunc(dial), gomail.WithTLSConfig(cfg),
		gomail.WithTimeout(sendTimeout)}
	switch a.security {
	case SecurityTLS:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPortPolicy(gomail.NoTLS))
	case SecurityStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if a.username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&login{a: a}))
	}
	c, err := gomail.NewClient(a.host, opts...)
	if err != nil {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("email: %w", err))
	}
	return c, nil
}

// tlsError marks a failed implicit-TLS handshake.
type tlsError struct{ err error }

func (e *tlsError) Error() string { return "TLS handshake: " + e.err.Error() }
func (e *tlsError) Unwrap() error { return e.err }

// errPlainRefused stops a login over a connection that is not encrypted.
var errPlainRefused = errors.New("the connection is not encrypted, so the login was not sent")

// login authenticates with PLAIN or, when the server offers only that, LOGIN, and checks the connection itself
// first: whatever the library or the server say, the password crosses an unencrypted connection only when the
// credential allows it.
type login struct {
	a     *account
	inner smtp.Auth
}

func (l *login) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !l.a.allowPlain {
		return "", nil, errPlainRefused
	}
	switch {
	case slices.Contains(server.Auth, "PLAIN"):
		l.inner = smtp.PlainAuth("", l.a.username, l.a.password, l.a.host, true)
	case slices.Contains(server.Auth, "LOGIN"):
		l.inner = smtp.LoginAuth(l.a.username, l.a.password, l.a.host, true)
	default:
		return "", nil, fmt.Errorf("the server offers no login mechanism Ferry speaks (PLAIN, LOGIN): it offers %v", server.Auth)
	}
	return l.inner.Start(server)
}

func (l *login) Next(from []byte, more bool) ([]byte, error) { return l.inner.Next(from, more) }

// failure maps what went wrong talking to the server to a typed step failure: a 4xx reply is temporary, a 5xx
// reply permanent (a refused login too), a lost or failed connection retryable, a refused destination the
// guard's own refusal. The server's reply is quoted in the message and the details.
func failure(a *account, err error, stage string) error {
	if egress.Refused(err) != nil {
		return err
	}
	details := map[string]any{"server": a.address(), "stage": stage}
	wrap := func(code string, permanent bool, msg string) error {
		e := fmt.Errorf("email: %s %s: %s", stage, a.address(), msg)
		var out error
		if permanent {
			out = nodes.NewPermanent(code, e)
		} else {
			out = nodes.NewRetryable(code, e)
		}
		return nodes.WithDetails(out, details)
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 400 && code < 600 {
			details["reply"] = se.Error()
			details["replyCode"] = code
			if code < 500 {
				return wrap(CodeTemporary, false, "the server answered "+se.Error())
			}
			return wrap(CodeRejected, true, "the server answered "+se.Error())
		}
		if se.Reason == gomail.ErrSMTPDataClose {
			details["outcomeUnknown"] = true
			return wrap(CodeOutcomeUnknown, true, "the whole message was sent but no reply said whether the server took it ("+
				se.Error()+"). SMTP honours no idempotency key, so Ferry does not send it again: check the recipient's "+
				"mailbox or the server's log before running this step again")
		}
		return wrap(CodeConnection, false, se.Error())
	}
	if errors.Is(err, context.Canceled) {
		// The step is being stopped, not failing: handed back with the cause kept, to run later.
		return fmt.Errorf("email: %s %s: %w", stage, a.address(), err)
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		details["reply"] = fmt.Sprintf("%d %s", te.Code, te.Msg)
		details["replyCode"] = te.Code
		switch {
		case te.Code >= 400 && te.Code < 500:
			return wrap(CodeTemporary, false, fmt.Sprintf("the server answered %d %s", te.Code, te.Msg))
		case strings.Contains(err.Error(), "SMTP AUTH failed"):
			return wrap(CodeAuthFailed, true, fmt.Sprintf("the server refused the login: %d %s", te.Code, te.Msg))
		default:
			return wrap(CodeRejected, true, fmt.Sprintf("the server answered %d %s", te.Code, te.Msg))
		}
	}
	if errors.Is(err, errPlainRefused) {
		return wrap(CodePlainAuthRefused, true, errPlainRefused.Error()+": choose implicit TLS or STARTTLS, or let an admin "+
			"allow plain authentication on the credential")
	}
	if strings.Contains(err.Error(), "does not support STARTTLS") {
		return wrap(CodeStartTLSUnavailable, true, "the server does not offer STARTTLS, which the credential requires; "+
			"choose implicit TLS if the server speaks it")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return wrap(CodeConnection, false, err.Error())
	}
	var cv *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var te2 *tlsError
	if errors.As(err, &cv) || errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &te2) {
		return wrap(CodeTLSFailed, true, err.Error())
	}
	if strings.Contains(err.Error(), "SMTP AUTH failed") {
		return wrap(CodeAuthFailed, true, err.Error())
	}
	return wrap(CodeConnection, false, err.Error())
}
