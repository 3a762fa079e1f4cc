package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// CredentialType is the credential type of an SMTP account: the server, how the connection is protected, the
// login and the sender address.
const CredentialType = "email.smtp"

// Fields of the email.smtp credential.
const (
	FieldHost     = "host"
	FieldPort     = "port"
	FieldSecurity = "security"
	FieldUsername = "username"
	FieldPassword = "password"
	FieldFrom     = "from"
	// FieldAllowPlainAuth lets the login cross an unencrypted connection (security "none"): only an admin's
	// explicit choice for a relay on a trusted network, never the default.
	FieldAllowPlainAuth = "allowPlainAuth"
)

// How the connection to the server is protected.
const (
	// SecurityTLS is implicit TLS: the connection is TLS from its first byte (port 465, "SMTPS").
	SecurityTLS = "tls"
	// SecurityStartTLS upgrades a plain connection with STARTTLS before anything else is sent (port 587); a
	// server that does not offer it is refused.
	SecurityStartTLS = "starttls"
	// SecurityNone sends everything in the clear (port 25 relays on a trusted network).
	SecurityNone = "none"
)

// rootCAs are the authorities server certificates must chain to; nil means the system's. Tests trust the
// certificate of their own server.
var rootCAs *x509.CertPool

// account is a credential's fields, checked.
type account struct {
	host       string
	port       int
	security   string
	username   string
	password   string
	from       *mail.Address
	allowPlain bool
}

func defaultPort(security string) int {
	switch security {
	case SecurityTLS:
		return 465
	case SecurityNone:
		return 25
	}
	return 587
}

// parseAccount checks the credential's fields; the error says which field is wrong.
func parseAccount(f map[string]string) (*account, error) {
	a := &account{host: strings.TrimSpace(f[FieldHost]), security: strings.TrimSpace(f[FieldSecurity]),
		username: f[FieldUsername], password: f[FieldPassword]}
	if a.security == "" {
		a.security = SecurityStartTLS
	}
	switch a.security {
	case SecurityTLS, SecurityStartTLS, SecurityNone:
	default:
		return nil, fmt.Errorf("security %q is not one of tls, starttls, none", a.security)
	}
	if a.host == "" || strings.ContainsAny(a.host, " /:@") && net.ParseIP(strings.Trim(a.host, "[]")) == nil {
		return nil, fmt.Errorf("host %q is not a server name or address", a.host)
	}
	a.host = strings.Trim(a.host, "[]")
	a.port = defaultPort(a.security)
	if p := strings.TrimSpace(f[FieldPort]); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q is not a port number", p)
		}
		a.port = n
	}
	from, err := mail.ParseAddress(strings.TrimSpace(f[FieldFrom]))
	if err != nil {
		return nil, fmt.Errorf("sender address %q is not an e-mail address: %v", f[FieldFrom], err)
	}
	a.from = from
	a.allowPlain, _ = strconv.ParseBool(strings.TrimSpace(f[FieldAllowPlainAuth]))
	if a.security == SecurityNone && a.username != "" && !a.allowPlain {
		return nil, fmt.Errorf("the login would cross an unencrypted connection: choose tls or starttls, or let an " +
			"admin allow plain authentication on this credential")
	}
	return a, nil
}

// address is the server's host:port.
func (a *account) address() string { return net.JoinHostPort(a.host, strconv.Itoa(a.port)) }

// tlsConfig verifies the server's certificate against its host name.
func (a *account) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: a.host, RootCAs: rootCAs, MinVersion: tls.VersionTLS12}
}

// domain is the sender address's domain, the right side of the Message-IDs Ferry makes.
func (a *account) domain() string {
	at := strings.LastIndexByte(a.from.Address, '@')
	return a.from.Address[at+1:]
}

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   CredentialType,
		Name: "SMTP e-mail",
		Description: "An SMTP server to send e-mail through (a company mail server, Tencent Exmail, Alibaba Mail, Gmail, " +
			"Amazon SES, SendGrid…): its host and port, implicit TLS or STARTTLS, the login and the sender address. " +
			"Messages go to this server only.",
		Fields: []nodes.Field{
			{Name: FieldHost, Label: "SMTP server", Type: nodes.TypeString, Required: true,
				Description: "Host name of the SMTP server, such as smtp.exmail.qq.com."},
			{Name: FieldSecurity, Label: "Security", Type: nodes.TypeSelect, Required: true, Default: SecurityStartTLS,
				Options: []nodes.Option{
					{Value: SecurityTLS, Label: "Implicit TLS (port 465)", Description: "The connection is encrypted from its first byte."},
					{Value: SecurityStartTLS, Label: "STARTTLS (port 587)", Description: "A plain connection upgraded with STARTTLS before the login; a server that does not offer it is refused."},
					{Value: SecurityNone, Label: "None (port 25)", Description: "Unencrypted, for a relay on a trusted network. A login is refused unless plain authentication is allowed below."},
				}},
			{Name: FieldPort, Label: "Port", Type: nodes.TypeString,
				Description: "Port of the server; empty means 465 for implicit TLS, 587 for STARTTLS, 25 for none."},
			{Name: FieldUsername, Label: "Username", Type: nodes.TypeString,
				Description: "Login name; empty for a relay that accepts mail without a login."},
			{Name: FieldPassword, Label: "Password", Type: nodes.TypeString, Secret: true,
				Description: "Password or app-specific authorisation code (授权码) of the login."},
			{Name: FieldFrom, Label: "Sender", Type: nodes.TypeString, Required: true,
				Description: "The From address, such as Ferry Alerts <alerts@example.com>; its domain also ends every Message-ID."},
			{Name: FieldAllowPlainAuth, Label: "Allow login without encryption", Type: nodes.TypeBoolean, Default: false, Advanced: true,
				Description: "Lets the login cross an unencrypted connection (security none). Anyone on the network path can read the password: only for a relay on a trusted network."},
		},
		Test: testConnection,
		Destinations: func(f map[string]string) []string {
			a, err := parseAccount(f)
			if err != nil {
				return nil
			}
			return []string{a.address()}
		},
	})
}

// testConnection connects, sets up TLS, logs in and says QUIT: it proves the server, its certificate and the
// login without sending mail.
func testConnection(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	a, err := parseAccount(fields)
	if err != nil {
		return "", nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("email: %w", err))
	}
	c, err := newClient(a, client)
	if err != nil {
		return "", err
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return "", failure(a, err, "connect")
	}
	if err := c.CloseWithSMTPClient(sc); err != nil {
		return "", failure(a, err, "quit")
	}
	what := "no login (relay)"
	if a.username != "" {
		what = "logged in as " + a.username
	}
	return fmt.Sprintf("%s: connected with %s, %s, said QUIT; no mail was sent", a.address(), securityText(a.security), what), nil
}

func securityText(s string) string {
	switch s {
	case SecurityTLS:
		return "implicit TLS"
	case SecurityStartTLS:
		return "STARTTLS"
	}
	return "no encryption"
}
