package email

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// SendType is the node that sends one e-mail through the step's SMTP credential.
const SendType = "email.send"

// Limits of one message, so a flow cannot hand the server (or the run data) something unbounded.
const (
	maxRecipients      = 100
	maxAttachments     = 20
	maxAttachmentBytes = 20 << 20 // all attachments together, decoded
)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: SendType, Version: 1, Name: "Send e-mail", Category: nodes.CategoryNotifications, SideEffect: true,
		Description: "Sends an e-mail through an SMTP server, with text and HTML bodies, CC, BCC, reply-to and attachments.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Sent", Kind: nodes.PortMain}},
		Credentials: []string{CredentialType}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "to", Label: "To", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "Recipients, separated by commas: ops@example.com, 张三 <zhang@example.com>."},
			{Name: "cc", Label: "CC", Type: nodes.TypeString, Expression: true,
				Description: "Copy recipients, separated by commas."},
			{Name: "bcc", Label: "BCC", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "Blind copy recipients, separated by commas: they receive the message and appear in no header."},
			{Name: "replyTo", Label: "Reply to", Type: nodes.TypeString, Expression: true, Advanced: true,
				Description: "Where replies go, when not to the sender."},
			{Name: "subject", Label: "Subject", Type: nodes.TypeString, Required: true, Expression: true,
				Description: "The subject line; any language, encoded as RFC 2047 requires.",
				Examples:    []nodes.Example{{Name: "Failed payment", Value: "Payment failed: order {{ trigger.body.orderId }}"}}},
			{Name: "text", Label: "Text body", Type: nodes.TypeText, Expression: true,
				Description: "The plain-text body. Give it, the HTML body, or both (the HTML shown where it can be, the text elsewhere)."},
			{Name: "html", Label: "HTML body", Type: nodes.TypeText, Expression: true,
				Description: "The HTML body. Values put in it with {{ }} are inserted as they are: escape text that comes from outside."},
			{Name: "attachments", Label: "Attachments", Type: nodes.TypeExpr, ExprResult: "any", Advanced: true,
				Description: "An expression giving a list of files, each {name, contentType, content} with content in base64, " +
					"such as a previous step's output: [{name: \"report.csv\", contentType: \"text/csv\", content: toBase64(nodes.export.output.csv)}]."},
		},
		Docs: "Sends one message through the SMTP server of the step's `email.smtp` credential, over implicit TLS or " +
			"STARTTLS (the login never crosses an unencrypted connection unless an admin allowed it on the credential). " +
			"The connection leaves through the same guard as every HTTP request: internal addresses are refused unless " +
			"an admin allowed them, and the credential reaches only its own server and port.\n\n" +
			"**Message-ID:** `<idempotency key@sender's domain>`, the same on every attempt of the step, so a server or " +
			"mailbox that deduplicates by Message-ID keeps one copy.\n\n" +
			"**Failures:** a 4xx reply is retried (`email_smtp_temporary`), a 5xx reply is not (`email_smtp_rejected`, " +
			"`email_auth_failed`), a connection that fails or is lost before the message was handed over is retried " +
			"(`email_connection_failed`). When the whole message was sent but no reply said whether the server took it, " +
			"the step fails with `email_outcome_unknown` and is not sent again: SMTP honours no idempotency key.\n\n" +
			"**Attachments:** Ferry's run data holds JSON, so files are given as base64 text: a list of " +
			"`{name, contentType, content}`.\n\n" +
			"**Test runs** show the message (envelope, headers, bodies, attachment names and sizes) without sending it.",
	}, newSend)
}

type sendNode struct {
	to, cc, bcc, replyTo, subject, text, html *expression.Template
	attachments                               *expression.Program
}

func newSend(cfg *nodes.Config) (nodes.Node, error) {
	n := &sendNode{to: cfg.Template("to"), cc: cfg.Template("cc"), bcc: cfg.Template("bcc"),
		replyTo: cfg.Template("replyTo"), subject: cfg.Template("subject"), text: cfg.Template("text"),
		html: cfg.Template("html"), attachments: cfg.Expr("attachments", expression.ResultAny)}
	if strings.TrimSpace(cfg.String("text")) == "" && strings.TrimSpace(cfg.String("html")) == "" {
		cfg.Fail("text", nodes.CodeParamRequired, "Give a text body, an HTML body, or both")
	}
	// Addresses without {{ }} are checked when the flow is saved, not when a run first tries them.
	for _, f := range []struct {
		name string
		t    *expression.Template
	}{{"to", n.to}, {"cc", n.cc}, {"bcc", n.bcc}, {"replyTo", n.replyTo}} {
		if f.t == nil || !f.t.Static() || strings.TrimSpace(f.t.Source()) == "" {
			continue
		}
		list, err := mail.ParseAddressList(f.t.Source())
		switch {
		case err != nil:
			cfg.Fail(f.name, nodes.CodeParamInvalid, fmt.Sprintf("%q is not a list of e-mail addresses: %v", f.t.Source(), err))
		case f.name == "replyTo" && len(list) > 1:
			cfg.Fail(f.name, nodes.CodeParamInvalid, "one reply-to address")
		}
	}
	return n, cfg.Err()
}

// message is a rendered e-mail, before it is tied to a credential.
type message struct {
	to, cc, bcc []*mail.Address
	replyTo     *mail.Address
	subject     string
	text, html  string
	files       []attachment
}

type attachment struct {
	name, contentType string
	data              []byte
}

func envOf(x *nodes.Exec) map[string]any {
	if x.Env != nil {
		return x.Env
	}
	return map[string]any{expression.VarPrev: x.Input, expression.VarTrigger: x.Input}
}

func invalid(format string, a ...any) error {
	return nodes.NewPermanent(CodeInvalid, fmt.Errorf("email: "+format, a...))
}

func evalText(t *expression.Template, field string, env map[string]any) (string, error) {
	if t == nil {
		return "", nil
	}
	s, err := t.EvalString(env)
	if err != nil {
		return "", nodes.EvalFailed(SendType, field, err)
	}
	return s, nil
}

func addresses(t *expression.Template, field string, env map[string]any) ([]*mail.Address, error) {
	s, err := evalText(t, field, env)
	if err != nil || strings.TrimSpace(s) == "" {
		return nil, err
	}
	list, err := mail.ParseAddressList(s)
	if err != nil {
		return nil, invalid("%s: %q is not a list of e-mail addresses: %v", field, s, err)
	}
	return list, nil
}

// render evaluates the parameters against the step's data.
func (n *sendNode) render(x *nodes.Exec) (*message, error) {
	env := envOf(x)
	m := &message{}
	var err error
	if m.to, err = addresses(n.to, "to", env); err != nil {
		return nil, err
	}
	if m.cc, err = addresses(n.cc, "cc", env); err != nil {
		return nil, err
	}
	if m.bcc, err = addresses(n.bcc, "bcc", env); err != nil {
		return nil, err
	}
	if len(m.to)+len(m.cc)+len(m.bcc) == 0 {
		return nil, invalid("to: no recipient")
	}
	if len(m.to)+len(m.cc)+len(m.bcc) > maxRecipients {
		return nil, invalid("%d recipients: at most %d in one message", len(m.to)+len(m.cc)+len(m.bcc), maxRecipients)
	}
	reply, err := addresses(n.replyTo, "replyTo", env)
	if err != nil {
		return nil, err
	}
	if len(reply) > 1 {
		return nil, invalid("replyTo: one address, not %d", len(reply))
	}
	if len(reply) == 1 {
		m.replyTo = reply[0]
	}
	if m.subject, err = evalText(n.subject, "subject", env); err != nil {
		return nil, err
	}
	if strings.ContainsAny(m.subject, "\r\n") {
		m.subject = strings.Join(strings.Fields(m.subject), " ")
	}
	if m.text, err = evalText(n.text, "text", env); err != nil {
		return nil, err
	}
	if m.html, err = evalText(n.html, "html", env); err != nil {
		return nil, err
	}
	if m.text == "" && m.html == "" {
		return nil, invalid("the text and HTML bodies are both empty")
	}
	if n.attachments != nil {
		v, err := n.attachments.Eval(env)
		if err != nil {
			return nil, nodes.EvalFailed(SendType, "attachments", err)
		}
		if m.files, err = attachments(v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// attachments reads the attachments expression's value: nil, one {name, contentType, content} or a list of them.
func attachments(v any) ([]attachment, error) {
	var items []any
	switch t := v.(type) {
	case nil:
		return nil, nil
	case []any:
		items = t
	case map[string]any:
		items = []any{t}
	default:
		return nil, invalid("attachments: want a list of {name, contentType, content}, got %T", v)
	}
	if len(items) > maxAttachments {
		return nil, invalid("attachments: %d files, at most %d", len(items), maxAttachments)
	}
	var out []attachment
	total := 0
	for i, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			return nil, invalid("attachments[%d]: want {name, contentType, content}, got %T", i, it)
		}
		name, _ := obj["name"].(string)
		ct, _ := obj["contentType"].(string)
		content, ok := obj["content"].(string)
		if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "/\\\r\n") {
			return nil, invalid("attachments[%d]: name %q must be a file name", i, name)
		}
		if !ok {
			return nil, invalid("attachments[%d] (%s): content must be base64 text", i, name)
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return nil, invalid("attachments[%d] (%s): content type %q: %v", i, name, ct, err)
		}
		data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(content), ""))
		if err != nil {
			return nil, invalid("attachments[%d] (%s): content is not base64: %v", i, name, err)
		}
		total += len(data)
		if total > maxAttachmentBytes {
			return nil, invalid("attachments: more than %d MiB in all", maxAttachmentBytes>>20)
		}
		out = append(out, attachment{name: name, contentType: ct, data: data})
	}
	return out, nil
}

// messageID is <key@domain>, with the key's characters that may not stand in a Message-ID (RFC 5322 dot-atom)
// written as =XX, so every attempt of a step gives the same id and different steps different ones.
func messageID(key, domain string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '+' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String() + "@" + domain
}

// build makes the MIME message.
func (m *message) build(a *account, id string) (*gomail.Msg, error) {
	g := gomail.NewMsg()
	g.FromMailAddress(a.from)
	g.ToMailAddress(m.to...)
	g.CcMailAddress(m.cc...)
	g.BccMailAddress(m.bcc...)
	if m.replyTo != nil {
		g.ReplyToMailAddress(m.replyTo)
	}
	g.Subject(m.subject)
	g.SetMessageIDWithValue(id)
	g.SetDate()
	switch {
	case m.text != "" && m.html != "":
		g.SetBodyString(gomail.TypeTextPlain, m.text)
		g.AddAlternativeString(gomail.TypeTextHTML, m.html)
	case m.html != "":
		g.SetBodyString(gomail.TypeTextHTML, m.html)
	default:
		g.SetBodyString(gomail.TypeTextPlain, m.text)
	}
	for _, f := range m.files {
		if err := g.AttachReader(f.name, bytes.NewReader(f.data), gomail.WithFileContentType(gomail.ContentType(f.contentType))); err != nil {
			return nil, invalid("attachment %s: %v", f.name, err)
		}
	}
	return g, nil
}

func list(as []*mail.Address) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// summary is what the step's output and a test run show of the message: no attachment content.
func (m *message) summary(a *account, id string) map[string]any {
	out := map[string]any{"to": list(m.to), "subject": m.subject, "messageId": "<" + id + ">"}
	if len(m.cc) > 0 {
		out["cc"] = list(m.cc)
	}
	if len(m.bcc) > 0 {
		out["bcc"] = list(m.bcc)
	}
	if m.replyTo != nil {
		out["replyTo"] = m.replyTo.String()
	}
	if a != nil {
		out["from"] = a.from.String()
		out["server"] = a.address()
	}
	var files []map[string]any
	for _, f := range m.files {
		files = append(files, map[string]any{"name": f.name, "contentType": f.contentType, "size": len(f.data)})
	}
	if files != nil {
		out["attachments"] = files
	}
	return out
}

func (n *sendNode) account(ctx context.Context, x *nodes.Exec) (*account, error) {
	fields, err := x.Credential(ctx)
	if err != nil {
		return nil, err
	}
	a, err := parseAccount(fields)
	if err != nil {
		return nil, nodes.NewPermanent(CodeCredentialInvalid, fmt.Errorf("email: credential: %w", err))
	}
	return a, nil
}

// DryRun shows the message a live run would send, with its text and HTML bodies, without connecting; a server
// the live run could not reach through the guard is refused as it would be.
func (n *sendNode) DryRun(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	m, err := n.render(x)
	if err != nil {
		return nodes.Result{}, err
	}
	a, err := n.account(ctx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	id := messageID(x.IdempotencyKey, a.domain())
	if _, err := m.build(a, id); err != nil {
		return nodes.Result{}, err
	}
	// A test run shows the refusal the live run would meet (an internal address, another server), not a message
	// that could not be sent.
	if err := egress.CheckAddress(ctx, x.Client(), a.address()); err != nil {
		return nodes.Result{}, nodes.WithDetails(fmt.Errorf("email: %w", err), map[string]any{"server": a.address()})
	}
	s := m.summary(a, id)
	s["text"], s["html"] = m.text, m.html
	return nodes.Result{Output: map[string]any{"dryRun": true, "message": s}}, nil
}

// Execute sends the message. The outcome of a message handed over in full without a reply is recorded before
// sending (x.Sending), so a process that dies meanwhile does not send it again.
func (n *sendNode) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	m, err := n.render(x)
	if err != nil {
		return nodes.Result{}, err
	}
	a, err := n.account(ctx, x)
	if err != nil {
		return nodes.Result{}, err
	}
	id := messageID(x.IdempotencyKey, a.domain())
	g, err := m.build(a, id)
	if err != nil {
		return nodes.Result{}, err
	}
	c, err := newClient(a, x.Client())
	if err != nil {
		return nodes.Result{}, err
	}
	if ctx.Err() != nil {
		// The step is being stopped before anything was sent: hand it back as it is, to run later.
		return nodes.Result{}, ctx.Err()
	}
	if x.Sending != nil {
		unknown := nodes.Classify(nodes.WithDetails(nodes.NewPermanent(CodeOutcomeUnknown, fmt.Errorf("email: %s: the run "+
			"stopped while the message was being sent; SMTP honours no idempotency key, so Ferry does not send it again: "+
			"check the recipient's mailbox or the server's log", a.address())), map[string]any{"server": a.address(),
			"messageId": "<" + id + ">", "outcomeUnknown": true}))
		if err := x.Sending(ctx, unknown.Code, unknown.Error(), unknown.Details); err != nil {
			return nodes.Result{}, err
		}
	}
	err = c.DialAndSendWithContext(ctx, g)
	if err != nil && !g.IsDelivered() {
		return nodes.Result{}, failure(a, err, "send")
	}
	out := m.summary(a, id)
	out["sent"] = true
	if r := g.ServerResponse(); r != "" {
		out["serverResponse"] = r
	}
	return nodes.Result{Output: out}, nil
}
