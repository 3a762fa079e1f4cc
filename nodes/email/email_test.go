package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// received is one message the test server accepted.
type received struct {
	from  string
	rcpts []string
	data  []byte
	tls   bool
}

// server is a real SMTP server (go-smtp) on the loopback address, with a login and scripted refusals.
type server struct {
	mu        sync.Mutex
	msgs      []received
	auths     int
	failRcpt  []*smtp.SMTPError // answered, one per attempt, to RCPT before accepting
	dropData  bool              // closes the connection after reading DATA, without a reply
	addr      string
	tlsConfig *tls.Config
}

type session struct {
	s    *server
	conn *smtp.Conn
	cur  received
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		ss.s.mu.Lock()
		ss.s.auths++
		ss.s.mu.Unlock()
		if user != "alerts" || pass != "s3cret" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		return nil
	}), nil
}
func (ss *session) Mail(from string, _ *smtp.MailOptions) error { ss.cur.from = from; return nil }
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if len(ss.s.failRcpt) > 0 {
		e := ss.s.failRcpt[0]
		ss.s.failRcpt = ss.s.failRcpt[1:]
		return e
	}
	ss.cur.rcpts = append(ss.cur.rcpts, to)
	return nil
}
func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, ss.cur.tls = ss.conn.TLSConnectionState()
	ss.cur.data = b
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, ss.cur)
	drop := ss.s.dropData
	ss.s.mu.Unlock()
	if drop {
		_ = ss.conn.Conn().Close()
	}
	return nil
}
func (ss *session) Reset()        { ss.cur = received{} }
func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// startServer starts the server: mode "tls" (implicit), "starttls" or "plain" (no TLS offered).
func startServer(t *testing.T, mode string) *server {
	t.Helper()
	cert, pool := selfSigned(t)
	old := rootCAs
	rootCAs = pool
	t.Cleanup(func() { rootCAs = old })
	s := &server{tlsConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, conn: c}, nil }))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	var ln net.Listener
	var err error
	switch mode {
	case "tls":
		ln, err = tls.Listen("tcp", "127.0.0.1:0", s.tlsConfig)
	case "starttls":
		srv.TLSConfig = s.tlsConfig
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		srv.AllowInsecureAuth = true
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *server) fields(security string) map[string]string {
	host, port, _ := net.SplitHostPort(s.addr)
	return map[string]string{FieldHost: host, FieldPort: port, FieldSecurity: security, FieldUsername: "alerts",
		FieldPassword: "s3cret", FieldFrom: "Ferry 告警 <alerts@ferry.example>"}
}

func (s *server) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func build(t *testing.T, params map[string]any) nodes.Node {
	t.Helper()
	r, ok := nodes.Lookup(SendType, 1)
	if !ok {
		t.Fatal("email.send is not registered")
	}
	raw := map[string]json.RawMessage{}
	for k, v := range params {
		b, _ := json.Marshal(v)
		raw[k] = b
	}
	n, err := r.New(nodes.NewConfig(&r.Spec, "mail", raw, "smtp"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// boundClient is the step's client as the engine gives it: the guard that allows loopback, bound to the
// credential's destinations.
func boundClient(fields map[string]string) *http.Client {
	ct, _ := nodes.LookupCredentialType(CredentialType)
	ds := egress.MustDestinations(ct.Destinations(fields)...)
	return egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) {
		return "smtp", ds, nil
	})
}

func exec(fields map[string]string, input any) *nodes.Exec {
	return &nodes.Exec{Input: input, RunID: "run1", NodeID: "mail", Attempt: 1, Mode: nodes.ModeLive,
		IdempotencyKey: "run1:mail", HTTP: boundClient(fields),
		Credential: func(context.Context) (map[string]string, error) { return fields, nil }}
}

const (
	subjectZH = "支付失败：订单 {{ prev.order }}"
	bodyZH    = "您好，订单 {{ prev.order }} 的支付失败了，请尽快处理。"
)

var csv = "订单,金额\nA-1001,99.50\n"

func fullParams() map[string]any {
	return map[string]any{
		"to": "值班 <oncall@example.com>", "cc": "finance@example.com", "bcc": "audit@example.com",
		"replyTo": "support@example.com", "subject": subjectZH, "text": bodyZH,
		"html":        "<p>订单 <b>{{ prev.order }}</b> 支付失败</p>",
		"attachments": `[{name: "订单.csv", contentType: "text/csv", content: toBase64(prev.csv)}]`,
	}
}

func kind(t *testing.T, err error) *nodes.Error {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got none")
	}
	return nodes.Classify(err)
}

// part is one leaf of a received MIME message, decoded.
type part struct {
	contentType, disposition string
	body                     []byte
}

func walk(t *testing.T, ct string, h map[string][]string, body io.Reader, out *[]part) {
	t.Helper()
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("content type %q: %v", ct, err)
	}
	if strings.HasPrefix(media, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			walk(t, p.Header.Get("Content-Type"), p.Header, p, out)
		}
	}
	var r io.Reader = body
	switch strings.ToLower(first(h["Content-Transfer-Encoding"])) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	*out = append(*out, part{contentType: media, disposition: first(h["Content-Disposition"]), body: b})
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func checkDelivered(t *testing.T, s *server, out nodes.Result, wantTLS bool) {
	t.Helper()
	msgs := s.messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.tls != wantTLS {
		t.Errorf("message arrived over TLS=%v, want %v", got.tls, wantTLS)
	}
	if got.from != "alerts@ferry.example" {
		t.Errorf("MAIL FROM %q", got.from)
	}
	if strings.Join(got.rcpts, ",") != "oncall@example.com,finance@example.com,audit@example.com" {
		t.Errorf("RCPT TO %v: want to, cc and bcc", got.rcpts)
	}
	m, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	raw := m.Header.Get("Subject")
	if !strings.Contains(raw, "=?UTF-8?") {
		t.Errorf("subject %q is not RFC 2047 encoded", raw)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil || subject != "支付失败：订单 A-1001" {
		t.Errorf("subject decodes to %q (%v)", subject, err)
	}
	if id := m.Header.Get("Message-Id"); id != "<run1=3Amail@ferry.example>" {
		t.Errorf("Message-ID %q", id)
	}
	if out.Output.(map[string]any)["messageId"] != "<run1=3Amail@ferry.example>" {
		t.Errorf("output %v", out.Output)
	}
	if m.Header.Get("Bcc") != "" {
		t.Error("BCC appears in the headers")
	}
	from, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("From"))
	if !strings.Contains(from, "Ferry 告警") || !strings.Contains(m.Header.Get("Cc"), "finance@example.com") ||
		!strings.Contains(m.Header.Get("Reply-To"), "support@example.com") {
		t.Errorf("headers From %q, Cc %q, Reply-To %q", from, m.Header.Get("Cc"), m.Header.Get("Reply-To"))
	}
	var parts []part
	walk(t, m.Header.Get("Content-Type"), m.Header, m.Body, &parts)
	var text, html, file *part
	for i := range parts {
		p := &parts[i]
		switch {
		case strings.HasPrefix(p.disposition, "attachment"):
			file = p
		case p.contentType == "text/plain":
			text = p
		case p.contentType == "text/html":
			html = p
		}
	}
	if text == nil || string(text.body) != "您好，订单 A-1001 的支付失败了，请尽快处理。" {
		t.Errorf("text part %+v", text)
	}
	if html == nil || !strings.Contains(string(html.body), "<b>A-1001</b>") {
		t.Errorf("html part %+v", html)
	}
	if file == nil || file.contentType != "text/csv" || string(file.body) != csv {
		t.Fatalf("attachment %+v", file)
	}
	// The name is an RFC 2047 encoded word inside the quoted parameter, the form mail clients read.
	_, params, _ := mime.ParseMediaType(file.disposition)
	if name, err := new(mime.WordDecoder).DecodeHeader(params["filename"]); err != nil || name != "订单.csv" {
		t.Errorf("attachment name %q in %q", params["filename"], file.disposition)
	}
}

func input() map[string]any { return map[string]any{"order": "A-1001", "csv": csv} }

func TestSendOverSTARTTLS(t *testing.T) {
	s := startServer(t, "starttls")
	f := s.fields(SecurityStartTLS)
	out, err := build(t, fullParams()).Execute(context.Background(), exec(f, input()))
	if err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, s, out, true)
}

func TestSendOverImplicitTLS(t *testing.T) {
	s := startServer(t, "tls")
	f := s.fields(SecurityTLS)
	out, err := build(t, fullParams()).Execute(context.Background(), exec(f, input()))
	if err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, s, out, true)
}

// TestPlainAuthRefused: over a connection without TLS the password is not sent, whatever the server offers; the
// credential is refused before connecting when it asks for it, and the runtime check holds when it does not.
func TestPlainAuthRefused(t *testing.T) {
	s := startServer(t, "plain")
	f := s.fields(SecurityNone)
	_, err := build(t, fullParams()).Execute(context.Background(), exec(f, input()))
	if e := kind(t, err); e.Kind != nodes.Permanent || e.Code != CodeCredentialInvalid {
		t.Fatalf("got %s %s: %v", e.Kind, e.Code, err)
	}
	// The login refused at the connection itself: a bypass of the credential check still sends no password.
	a, _ := parseAccount(map[string]string{FieldHost: "127.0.0.1", FieldSecurity: SecurityNone, FieldFrom: "a@b.example"})
	a.port, _ = strconv.Atoi(s.addr[strings.LastIndexByte(s.addr, ':')+1:])
	a.username, a.password = "alerts", "s3cret"
	c, err := newClient(a, boundClient(map[string]string{FieldHost: "127.0.0.1", FieldPort: strconv.Itoa(a.port), FieldSecurity: SecurityNone, FieldFrom: "a@b.example"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DialToSMTPClientWithContext(context.Background())
	if e := kind(t, failure(a, err, "connect")); e.Code != CodePlainAuthRefused || e.Kind != nodes.Permanent {
		t.Fatalf("got %s %s: %v", e.Kind, e.Code, err)
	}
	// STARTTLS required and not offered: refused, nothing sent.
	_, err = build(t, fullParams()).Execute(context.Background(), exec(s.fields(SecurityStartTLS), input()))
	if e := kind(t, err); e.Code != CodeStartTLSUnavailable || e.Kind != nodes.Permanent {
		t.Fatalf("got %s %s: %v", e.Kind, e.Code, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auths != 0 || len(s.msgs) != 0 {
		t.Fatalf("the server saw %d logins and %d messages", s.auths, len(s.msgs))
	}
	// An admin's explicit allowance lets a relay on a trusted network take the login in the clear.
	allowed := s.fields(SecurityNone)
	allowed[FieldAllowPlainAuth] = "true"
	s.mu.Unlock()
	_, err = build(t, fullParams()).Execute(context.Background(), exec(allowed, input()))
	s.mu.Lock()
	if err != nil || s.auths != 1 || len(s.msgs) != 1 {
		t.Fatalf("allowed plain login: %v, %d logins, %d messages", err, s.auths, len(s.msgs))
	}
}

// TestTemporaryRetriedPermanentNot: a 4xx reply fails the step for a retry, which sends the same Message-ID; a
// 5xx reply fails it for good with the server's words.
func TestTemporaryRetriedPermanentNot(t *testing.T) {
	s := startServer(t, "starttls")
	f := s.fields(SecurityStartTLS)
	n := build(t, fullParams())
	s.failRcpt = []*smtp.SMTPError{{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}}
	_, err := n.Execute(context.Background(), exec(f, input()))
	if e := kind(t, err); e.Kind != nodes.Retryable || e.Code != CodeTemporary || !strings.Contains(err.Error(), "try again later") {
		t.Fatalf("got %s %s: %v", e.Kind, e.Code, err)
	}
	x := exec(f, input())
	x.Attempt = 2
	out, err := n.Execute(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, s, out, true)

	s.failRcpt = []*smtp.SMTPError{{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}
	_, err = n.Execute(context.Background(), exec(f, input()))
	if e := kind(t, err); e.Kind != nodes.Permanent || e.Code != CodeRejected || !strings.Contains(err.Error(), "no such user") {
		t.Fatalf("got %s %s: %v", e.Kind, e.Code, err)
	}
	bad := s.fields(SecurityStartTLS)
	bad[FieldPassword] = "wrong"
	_, err = n.Execute(context.Background(), exec(bad, input()))
	if e := kind(t, err); e.Kind != nodes.Permanent || e.Code != CodeAuthFailed {
		t.Fatalf("got %s %s: %v", e.Kind, e.Code, err)
	}
}

// TestOutcomeUnknownNotResent: the message went out in full and the connection died before the reply: the step
// fails for good, and the outcome was recorded before sending.
func TestOutcomeUnknownNotResent(t *testing.T) {
	s := startServer(t, "tls")
	s.dropData = true
	x := exec(s.fields(SecurityTLS), input())
	var recorded string
	x.Sending = func(_ context.Context, code, _ string, _ any) error { recorded = code; return nil }
	_, err := build(t, fullParams()).Execute(context.Background(), x)
	if e := kind(t, err); e.Kind != nodes.Permanent || e.Code != CodeOutcomeUnknown {
		t.Fatalf("got %s %s: %v", e.Kind, e.Code, err)
	}
	if recorded != CodeOutcomeUnknown {
		t.Errorf("recorded %q before sending", recorded)
	}
}

// TestGuardRefusals: the connection leaves through the egress guard: loopback refused without the admin's
// allowance, and the credential reaches no other server than its own.
func TestGuardRefusals(t *testing.T) {
	s := startServer(t, "tls")
	f := s.fields(SecurityTLS)
	x := exec(f, input())
	x.HTTP = egress.New(egress.Options{Proxy: egress.NoProxy}).Client()
	_, err := build(t, fullParams()).Execute(context.Background(), x)
	if e := kind(t, err); e.Code != egress.CodeAddressRefused || e.Kind != nodes.Permanent {
		t.Fatalf("got %s %s: %v", e.Kind, e.Code, err)
	}
	x = exec(f, input())
	x.HTTP = boundClient(map[string]string{FieldHost: "127.0.0.1", FieldPort: "2525", FieldSecurity: SecurityTLS, FieldFrom: "a@b.example"})
	_, err = build(t, fullParams()).Execute(context.Background(), x)
	if e := kind(t, err); e.Code != egress.CodeDestinationRefused {
		t.Fatalf("got %s %s: %v", e.Kind, e.Code, err)
	}
	if len(s.messages()) != 0 {
		t.Fatal("a refused step delivered a message")
	}
}

func TestConnectionTest(t *testing.T) {
	s := startServer(t, "starttls")
	f := s.fields(SecurityStartTLS)
	ct, _ := nodes.LookupCredentialType(CredentialType)
	msg, err := ct.Test(context.Background(), f, boundClient(f))
	if err != nil || !strings.Contains(msg, "STARTTLS") || strings.Contains(msg, "s3cret") {
		t.Fatalf("test connection: %q, %v", msg, err)
	}
	if s.auths != 1 || len(s.messages()) != 0 {
		t.Fatalf("%d logins, %d messages: want one login and no mail", s.auths, len(s.messages()))
	}
	f[FieldPassword] = "wrong"
	if _, err := ct.Test(context.Background(), f, boundClient(f)); kind(t, err).Code != CodeAuthFailed {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestDryRunShowsMessage(t *testing.T) {
	s := startServer(t, "starttls")
	f := s.fields(SecurityStartTLS)
	n := build(t, fullParams())
	out, err := n.(nodes.DryRunner).DryRun(context.Background(), exec(f, input()))
	if err != nil {
		t.Fatal(err)
	}
	m := out.Output.(map[string]any)["message"].(map[string]any)
	if m["subject"] != "支付失败：订单 A-1001" || m["messageId"] != "<run1=3Amail@ferry.example>" || len(s.messages()) != 0 {
		t.Fatalf("dry run: %v", m)
	}
	x := exec(f, input())
	x.HTTP = egress.New(egress.Options{Proxy: egress.NoProxy}).Client()
	_, err = n.(nodes.DryRunner).DryRun(context.Background(), x)
	if e := kind(t, err); e.Code != egress.CodeAddressRefused {
		t.Fatalf("dry run to a refused address: %s %v", e.Code, err)
	}
	bad := fullParams()
	bad["attachments"] = `[{name: "x.bin", content: "not base64!"}]`
	_, err = build(t, bad).Execute(context.Background(), exec(f, input()))
	if e := kind(t, err); e.Code != CodeInvalid || e.Kind != nodes.Permanent {
		t.Fatalf("got %s %s: %v", e.Kind, e.Code, err)
	}
}

// TestConfigChecks: a static address that is not one, or a message without a body, is refused when the flow is
// saved, with the parameter named.
func TestConfigChecks(t *testing.T) {
	r, _ := nodes.Lookup(SendType, 1)
	for _, c := range []struct {
		params map[string]string
		field  string
	}{
		{map[string]string{"to": "not an address", "subject": "s", "text": "t"}, "to"},
		{map[string]string{"to": "a@b.example", "replyTo": "x@b.example, y@b.example", "subject": "s", "text": "t"}, "replyTo"},
		{map[string]string{"to": "a@b.example", "subject": "s"}, "text"},
	} {
		raw := map[string]json.RawMessage{}
		for k, v := range c.params {
			raw[k], _ = json.Marshal(v)
		}
		_, err := r.New(nodes.NewConfig(&r.Spec, "mail", raw, "smtp"))
		var ce *nodes.ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Field != c.field {
			t.Errorf("%v: want one problem on %s, got %v", c.params, c.field, err)
		}
	}
	// An address from an expression is checked when the step runs.
	raw := map[string]json.RawMessage{"to": json.RawMessage(`"{{ prev.to }}"`), "subject": json.RawMessage(`"s"`),
		"text": json.RawMessage(`"t"`)}
	if _, err := r.New(nodes.NewConfig(&r.Spec, "mail", raw, "smtp")); err != nil {
		t.Fatal(err)
	}
}

// TestStoppedBeforeSending: a step stopped before the message left is handed back as it is, nothing recorded.
func TestStoppedBeforeSending(t *testing.T) {
	s := startServer(t, "starttls")
	x := exec(s.fields(SecurityStartTLS), input())
	x.Sending = func(context.Context, string, string, any) error {
		t.Error("recorded a send that never started")
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := build(t, fullParams()).Execute(ctx, x)
	if !errors.Is(err, context.Canceled) || len(s.messages()) != 0 {
		t.Fatalf("got %v, %d messages", err, len(s.messages()))
	}
}
