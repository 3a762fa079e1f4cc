package core

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// WebhookType is the node type of the generic webhook trigger.
const WebhookType = "core.webhook"

// Credential types the webhook trigger verifies callers with. The vault registers them; the trigger only reads
// the named fields, and only at accept time, so secrets never sit in flow parameters.
const (
	CredentialWebhookToken = "webhook.token" // field "token": the value the auth header must carry
	CredentialWebhookBasic = "webhook.basic" // fields "username", "password"
	CredentialWebhookHMAC  = "webhook.hmac"  // field "secret": the HMAC-SHA256 key shared with the sender
)

// Stable codes of the webhook rejections; the API answers with them so senders and operators can tell the cases
// apart without reading messages.
const (
	CodeWebhookMethodNotAllowed      = "webhook_method_not_allowed"     // 405
	CodeWebhookBodyTooLarge          = "webhook_body_too_large"         // 413
	CodeWebhookUnauthorized          = "webhook_unauthorized"           // 401
	CodeWebhookBodyInvalid           = "webhook_body_invalid"           // 400
	CodeWebhookDedupKeyMissing       = "webhook_dedup_key_missing"      // 422
	CodeWebhookCredentialMissing     = "webhook_credential_missing"     // 500: the flow is misconfigured
	CodeWebhookCredentialUnavailable = "webhook_credential_unavailable" // 503: the vault failed, the sender retries
)

// CodeCredentialRequired is the problem reported when a node's settings need a credential the flow does not name.
const CodeCredentialRequired = "credential_required"

// Webhook authentication modes.
const (
	webhookAuthNone   = "none"
	webhookAuthHeader = "header"
	webhookAuthBasic  = "basic"
	webhookAuthHMAC   = "hmac"
)

// Limits of the webhook trigger.
const (
	// DefaultWebhookMaxBody is the default body limit: far above any payment or shop notification.
	DefaultWebhookMaxBody = 1 << 20
	maxWebhookMaxBody     = 32 << 20
	maxWebhookTimeout     = 60 * time.Second
	// MaxKeyBytes bounds dedup and business keys, which are stored and indexed with every run. Longer dedup keys
	// are replaced by their SHA-256 (keeping them distinct); longer business keys are cut.
	MaxKeyBytes = 200
)

// redactedValue replaces secrets wherever run data or dry runs would otherwise show them.
const redactedValue = "[redacted]"

func init() {
	hmacOnly := map[string][]any{"auth": {webhookAuthHMAC}}
	nodes.MustRegister(nodes.Spec{
		Type:        WebhookType,
		Version:     1,
		Name:        "Webhook",
		Category:    nodes.CategoryTrigger,
		Description: "Starts a run when an HTTP request arrives at the flow's webhook URL.",
		Trigger:     true,
		Webhook:     true,
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Request", Kind: nodes.PortMain}},
		Credentials: []string{CredentialWebhookToken, CredentialWebhookBasic, CredentialWebhookHMAC},
		Params: []nodes.Field{
			{
				Name: "method", Label: "HTTP method", Type: nodes.TypeSelect, Default: http.MethodPost,
				Description: "Requests with another method are refused with 405.",
				Options: []nodes.Option{
					{Value: http.MethodPost, Label: "POST"}, {Value: http.MethodGet, Label: "GET"},
					{Value: http.MethodPut, Label: "PUT"}, {Value: http.MethodPatch, Label: "PATCH"},
					{Value: http.MethodDelete, Label: "DELETE"},
					{Value: "ANY", Label: "Any method"},
				},
			},
			{
				Name: "auth", Label: "Authentication", Type: nodes.TypeSelect, Default: webhookAuthNone,
				Description: "How callers prove who they are. The secret lives in the node's credential, never " +
					"in the flow. Failed checks are answered with 401 and a generic message.",
				Options: []nodes.Option{
					{Value: webhookAuthNone, Label: "None", Description: "Anyone who knows the URL can start a run."},
					{Value: webhookAuthHeader, Label: "Header token", Description: "A header must carry the credential's token (webhook.token)."},
					{Value: webhookAuthBasic, Label: "Basic auth", Description: "HTTP basic auth with the credential's username and password (webhook.basic)."},
					{Value: webhookAuthHMAC, Label: "HMAC signature", Description: "A header carries the HMAC-SHA256 of the raw body keyed with the credential's secret (webhook.hmac)."},
				},
			},
			{
				Name: "authHeader", Label: "Token header", Type: nodes.TypeString, Default: "Authorization",
				Description: "Header that must carry the token, either bare or as \"Bearer <token>\".",
				ShowIf:      map[string][]any{"auth": {webhookAuthHeader}},
				Examples:    []nodes.Example{{Name: "Authorization", Value: "Authorization"}, {Name: "API key header", Value: "X-Api-Key"}},
			},
			{
				Name: "signatureHeader", Label: "Signature header", Type: nodes.TypeString, Default: "X-Signature",
				Description: "Header that carries the signature of the raw request body.",
				ShowIf:      hmacOnly,
				Examples: []nodes.Example{
					{Name: "GitHub", Value: "X-Hub-Signature-256"},
					{Name: "Shopify", Value: "X-Shopify-Hmac-Sha256"},
				},
			},
			{
				Name: "signatureEncoding", Label: "Signature encoding", Type: nodes.TypeSelect, Default: "hex",
				Description: "How the sender writes the signature bytes.",
				ShowIf:      hmacOnly,
				Options: []nodes.Option{
					{Value: "hex", Label: "Hex", Description: "GitHub and most custom senders."},
					{Value: "base64", Label: "Base64", Description: "Shopify and WooCommerce."},
				},
			},
			{
				Name: "signaturePrefix", Label: "Signature prefix", Type: nodes.TypeString,
				Description: "Text in front of the signature to strip before comparing, such as GitHub's \"sha256=\".",
				ShowIf:      hmacOnly,
				Examples:    []nodes.Example{{Name: "GitHub", Value: "sha256="}},
			},
			{
				Name: "dedupKey", Label: "Dedup key", Type: nodes.TypeExpr, Expression: true, ExprResult: "any",
				Description: "Identifies the event, so a redelivery of the same event starts no second run. When " +
					"set, a request for which it yields nothing (or fails) is refused with 422, because " +
					"accepting it would lose the protection against duplicates; fall back with ?? if some " +
					"events lack the field.",
				Examples: []nodes.Example{
					{Name: "Event id in the body", Value: "trigger.body.event_id"},
					{Name: "Delivery header", Value: `trigger.headers["x-github-delivery"]`},
				},
			},
			{
				Name: "businessKey", Label: "Business key", Type: nodes.TypeExpr, Expression: true, ExprResult: "any",
				Description: "What people search runs by, such as an order number. A request for which it yields " +
					"nothing, or fails, is still accepted, with no business key.",
				Examples: []nodes.Example{
					{Name: "Order id", Value: "trigger.body.order_id"},
					{Name: "Alipay trade number", Value: "trigger.body.out_trade_no"},
				},
			},
			{
				Name: "respond", Label: "Respond", Type: nodes.TypeSelect, Default: "immediately",
				Description: "When the caller gets its answer.",
				Options: []nodes.Option{
					{Value: "immediately", Label: "Immediately", Description: "202 with the run id as soon as the run is safely stored."},
					{Value: "respondNode", Label: "From a Respond node", Description: "The caller waits for the flow's Respond node, up to the timeout."},
				},
			},
			{
				Name: "timeout", Label: "Response timeout", Type: nodes.TypeDuration, Default: "10s",
				Description: "How long the caller waits for the Respond node, at most 60s.",
				ShowIf:      map[string][]any{"respond": {"respondNode"}},
				Examples:    []nodes.Example{{Name: "Ten seconds", Value: "10s"}, {Name: "Half a minute", Value: "30s"}},
			},
			{
				Name: "maxBodyBytes", Label: "Body size limit (bytes)", Type: nodes.TypeInteger, Default: DefaultWebhookMaxBody,
				Description: "Larger requests are refused with 413. At most 32 MiB.",
				Advanced:    true,
			},
		},
		Docs: "Starts a run for every HTTP request to the flow's webhook URL, `/hooks/{flowId}`. The request is " +
			"checked (method, size, authentication) and stored before it is answered, so an acknowledged " +
			"event is never lost.\n\n" +
			"**Output:** `{\"body\": …, \"headers\": {…}, \"query\": {…}, \"method\": \"POST\"}`. JSON bodies are " +
			"parsed (whole numbers become integers), form bodies become an object of texts (a repeated name " +
			"becomes a list), anything else is kept as text; an empty body is null. Header names are lower-case " +
			"and the header that carried a token or password is replaced by \"[redacted]\". Only the first value " +
			"of a repeated header or query parameter is kept.\n\n" +
			"**Rejections:** 405 `webhook_method_not_allowed`, 413 `webhook_body_too_large`, 401 " +
			"`webhook_unauthorized`, 400 `webhook_body_invalid` (with line and column for JSON), 422 " +
			"`webhook_dedup_key_missing`; 500 `webhook_credential_missing` when authentication is on but the " +
			"credential is missing or lacks its field.\n\n" +
			"**Example:** with dedup key `trigger.body.event_id` and business key `trigger.body.order_id`, " +
			"`POST {\"event_id\": \"evt_1\", \"order_id\": \"ord_8f3a\"}` starts one run findable by `ord_8f3a`, " +
			"and a second delivery of `evt_1` starts none.",
	}, newWebhook)
}

type webhookNode struct {
	method          string // empty accepts any method
	auth            string
	authHeader      string
	signatureHeader string
	base64Signature bool
	signaturePrefix string
	dedup           *expression.Program
	business        *expression.Program
	sync            bool
	timeout         time.Duration
	maxBody         int
}

func newWebhook(cfg *nodes.Config) (nodes.Node, error) {
	n := &webhookNode{
		method:          cfg.String("method"),
		auth:            cfg.String("auth"),
		authHeader:      strings.TrimSpace(cfg.String("authHeader")),
		signatureHeader: strings.TrimSpace(cfg.String("signatureHeader")),
		base64Signature: cfg.String("signatureEncoding") == "base64",
		signaturePrefix: cfg.String("signaturePrefix"),
		dedup:           cfg.Expr("dedupKey", expression.ResultAny),
		business:        cfg.Expr("businessKey", expression.ResultAny),
		sync:            cfg.String("respond") == "respondNode",
		maxBody:         cfg.Int("maxBodyBytes"),
	}
	if n.method == "ANY" {
		n.method = ""
	}
	switch n.auth {
	case webhookAuthHeader:
		if !validHeaderName(n.authHeader) {
			cfg.Fail("authHeader", nodes.CodeParamInvalid, fmt.Sprintf("%q is not a valid header name", n.authHeader))
		}
	case webhookAuthHMAC:
		if !validHeaderName(n.signatureHeader) {
			cfg.Fail("signatureHeader", nodes.CodeParamInvalid, fmt.Sprintf("%q is not a valid header name", n.signatureHeader))
		}
	}
	if n.auth != webhookAuthNone && cfg.Credential == "" {
		cfg.Fail("credential", CodeCredentialRequired, "authentication needs a credential holding the secret")
	}
	if n.sync {
		n.timeout = cfg.Duration("timeout")
		if n.timeout < time.Second || n.timeout > maxWebhookTimeout {
			cfg.Fail("timeout", nodes.CodeParamInvalid, "timeout must be between 1s and 60s")
		}
	}
	if n.maxBody < 1 || n.maxBody > maxWebhookMaxBody {
		cfg.Fail("maxBodyBytes", nodes.CodeParamInvalid, fmt.Sprintf("body size limit must be between 1 and %d bytes", maxWebhookMaxBody))
	}
	return n, cfg.Err()
}

func webhookError(status int, code string, err error) *nodes.WebhookError {
	return &nodes.WebhookError{Status: status, Code: code, Err: err}
}

// Accept verifies a call and turns it into the run's trigger payload. Checks run cheapest first, and the body
// is parsed only once the caller is authenticated.
func (n *webhookNode) Accept(ctx context.Context, req *nodes.WebhookRequest) (*nodes.Accepted, error) {
	if n.method != "" && req.Method != n.method {
		return nil, webhookError(http.StatusMethodNotAllowed, CodeWebhookMethodNotAllowed,
			fmt.Errorf("webhook: method %s not allowed, use %s", req.Method, n.method))
	}
	if len(req.Body) > n.maxBody {
		return nil, webhookError(http.StatusRequestEntityTooLarge, CodeWebhookBodyTooLarge,
			fmt.Errorf("webhook: body is larger than %d bytes", n.maxBody))
	}
	if err := n.authenticate(ctx, req); err != nil {
		return nil, err
	}
	body, err := parseWebhookBody(req.Header.Get("Content-Type"), req.Body)
	if err != nil {
		return nil, webhookError(http.StatusBadRequest, CodeWebhookBodyInvalid, fmt.Errorf("webhook: parse body: %w", err))
	}
	payload := map[string]any{
		"body":    body,
		"headers": n.payloadHeaders(req.Header),
		"query":   firstValues(req.Query),
		"method":  req.Method,
	}
	acc := &nodes.Accepted{Payload: payload, Sync: n.sync}
	if n.sync {
		acc.Timeout = n.timeout
	}
	if n.dedup == nil && n.business == nil {
		return acc, nil
	}
	env := map[string]any{expression.VarTrigger: payload, expression.VarEnv: string(req.Mode)}
	if n.dedup != nil {
		acc.DedupKey = dedupKey(evalKey(n.dedup, env))
		if acc.DedupKey == "" {
			return nil, webhookError(http.StatusUnprocessableEntity, CodeWebhookDedupKeyMissing,
				errors.New("webhook: the dedup key expression gives no value for this request"))
		}
	}
	if n.business != nil {
		acc.BusinessKey = truncateUTF8(evalKey(n.business, env), MaxKeyBytes)
	}
	return acc, nil
}

// Execute passes the accepted payload on unchanged: it is the first step of every run.
func (n *webhookNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

var errUnauthorized = errors.New("webhook: request is not authorized")

// authenticate answers every failed check with the same 401, so a caller learns nothing about which part of its
// attempt was wrong. Secrets are compared in constant time.
func (n *webhookNode) authenticate(ctx context.Context, req *nodes.WebhookRequest) error {
	if n.auth == webhookAuthNone {
		return nil
	}
	cred, err := webhookCredential(ctx, req)
	if err != nil {
		return err
	}
	unauthorized := webhookError(http.StatusUnauthorized, CodeWebhookUnauthorized, errUnauthorized)
	switch n.auth {
	case webhookAuthHeader:
		token := cred["token"]
		if token == "" {
			return credentialFieldMissing("token")
		}
		got := strings.TrimSpace(req.Header.Get(n.authHeader))
		if scheme, rest, ok := strings.Cut(got, " "); ok && strings.EqualFold(scheme, "Bearer") {
			if secretEqual(strings.TrimSpace(rest), token) {
				return nil
			}
		}
		if !secretEqual(got, token) {
			return unauthorized
		}
	case webhookAuthBasic:
		user := cred["username"]
		if user == "" {
			return credentialFieldMissing("username")
		}
		gotUser, gotPass, ok := parseBasicAuth(req.Header.Get("Authorization"))
		// Both comparisons always run, so timing does not tell a wrong user from a wrong password.
		userOK := secretEqual(gotUser, user)
		passOK := secretEqual(gotPass, cred["password"])
		if !ok || !userOK || !passOK {
			return unauthorized
		}
	case webhookAuthHMAC:
		secret := cred["secret"]
		if secret == "" {
			return credentialFieldMissing("secret")
		}
		if !n.signatureValid([]byte(secret), req) {
			return unauthorized
		}
	}
	return nil
}

func webhookCredential(ctx context.Context, req *nodes.WebhookRequest) (map[string]string, error) {
	if req.Credential == nil {
		return nil, webhookError(http.StatusInternalServerError, CodeWebhookCredentialMissing,
			fmt.Errorf("webhook: authentication is on but the trigger has no credential: %w", nodes.ErrNoCredential))
	}
	cred, err := req.Credential(ctx)
	if errors.Is(err, nodes.ErrNoCredential) {
		return nil, webhookError(http.StatusInternalServerError, CodeWebhookCredentialMissing,
			fmt.Errorf("webhook: authentication is on but the trigger has no credential: %w", err))
	}
	if err != nil {
		return nil, webhookError(http.StatusServiceUnavailable, CodeWebhookCredentialUnavailable,
			fmt.Errorf("webhook: load credential: %w", err))
	}
	return cred, nil
}

func credentialFieldMissing(field string) error {
	return webhookError(http.StatusInternalServerError, CodeWebhookCredentialMissing,
		fmt.Errorf("webhook: the trigger's credential has no %q", field))
}

// secretEqual compares the SHA-256 digests of both values in constant time, so neither the content nor the
// length of the secret leaks through timing.
func secretEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func (n *webhookNode) signatureValid(secret []byte, req *nodes.WebhookRequest) bool {
	sig := strings.TrimSpace(req.Header.Get(n.signatureHeader))
	if n.signaturePrefix != "" {
		rest, ok := strings.CutPrefix(sig, n.signaturePrefix)
		if !ok {
			return false
		}
		sig = strings.TrimSpace(rest)
	}
	if sig == "" {
		return false
	}
	var got []byte
	var err error
	if n.base64Signature {
		got, err = decodeBase64(sig)
	} else {
		got, err = hex.DecodeString(sig)
	}
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(req.Body)
	return hmac.Equal(mac.Sum(nil), got)
}

// decodeBase64 accepts the standard and URL alphabets, padded or not, since senders differ.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("signature is not base64")
}

func parseBasicAuth(h string) (user, pass string, ok bool) {
	scheme, encoded, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}

// payloadHeaders keeps the first value of each header under its lower-case name, and hides the header that
// carried a token or password: run data is stored and shown, credentials must not be (I5).
// alwaysRedacted are request headers that carry someone's credentials (a user's API token or session sent along
// by a script, a proxy's login); they never belong in run data, whatever the webhook's own authentication.
var alwaysRedacted = map[string]bool{"authorization": true, "proxy-authorization": true, "cookie": true, "x-csrf-token": true}

func (n *webhookNode) payloadHeaders(h http.Header) map[string]any {
	hidden := ""
	switch n.auth {
	case webhookAuthHeader:
		hidden = strings.ToLower(n.authHeader)
	case webhookAuthBasic:
		hidden = "authorization"
	}
	out := make(map[string]any, len(h))
	for name, values := range h {
		if len(values) == 0 {
			continue
		}
		key := strings.ToLower(name)
		if key == hidden || alwaysRedacted[key] {
			out[key] = redactedValue
			continue
		}
		out[key] = values[0]
	}
	return out
}

func firstValues(v url.Values) map[string]any {
	out := make(map[string]any, len(v))
	for name, values := range v {
		if len(values) > 0 {
			out[name] = values[0]
		}
	}
	return out
}

// parseWebhookBody reads a body by its media type: JSON (including +json types), form-encoded, anything else as
// text. Without a Content-Type, a body that looks like JSON and parses as JSON is taken as JSON.
func parseWebhookBody(contentType string, body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	mt := mediaType(contentType)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return nodes.DecodeJSON(body)
	case mt == "application/x-www-form-urlencoded":
		return parseForm(body)
	case mt == "":
		if first := bytes.TrimSpace(body)[0]; first == '{' || first == '[' {
			if v, err := nodes.DecodeJSON(body); err == nil {
				return v, nil
			}
		}
	}
	return string(body), nil
}

func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

func parseForm(body []byte) (map[string]any, error) {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("form body: %w", err)
	}
	out := make(map[string]any, len(values))
	for name, vs := range values {
		if len(vs) == 1 {
			out[name] = vs[0]
			continue
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		out[name] = list
	}
	return out, nil
}

// evalKey evaluates a key expression; failures and empty results give no key, which Accept then judges.
func evalKey(p *expression.Program, env map[string]any) string {
	v, err := p.Eval(env)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(expression.Stringify(v))
}

func dedupKey(k string) string {
	if len(k) <= MaxKeyBytes {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

var _ nodes.WebhookTrigger = (*webhookNode)(nil)
