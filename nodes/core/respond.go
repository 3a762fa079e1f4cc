package core

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// RespondType is the node type that answers a synchronous webhook.
const RespondType = "core.respond"

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        RespondType,
		Version:     1,
		Name:        "Respond to webhook",
		Category:    nodes.CategoryAction,
		Description: "Answers the caller of a webhook set to respond from a Respond node.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Then", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{
				Name: "status", Label: "Status code", Type: nodes.TypeInteger, Default: 200,
				Description: "HTTP status of the answer, 200 to 599.",
				Examples:    []nodes.Example{{Name: "OK", Value: 200}, {Name: "Bad request", Value: 400}},
			},
			{
				Name: "headers", Label: "Headers", Type: nodes.TypeKeyValue, Expression: true,
				Description: "Response headers; values may interpolate {{ }}. Without a Content-Type, text " +
					"bodies are sent as text/plain and everything else as application/json.",
				Examples: []nodes.Example{{Name: "JSON", Value: map[string]any{"Content-Type": "application/json"}}},
			},
			{
				Name: "body", Label: "Body", Type: nodes.TypeText, Default: "{{ prev }}", Expression: true,
				Description: "A single {{ expression }} is sent as that value (objects as JSON); any other text " +
					"is rendered and sent as text.",
				Examples: []nodes.Example{
					{Name: "Previous step's output", Value: "{{ prev }}"},
					{Name: "Alipay acknowledgement", Value: "success"},
					{Name: "WeChat Pay acknowledgement", Value: `{{ {"code": "SUCCESS", "message": "OK"} }}`},
				},
			},
		},
		Docs: "Gives the caller of a synchronous webhook (trigger set to *respond from a Respond node*) its " +
			"answer. The flow can go on after answering; in runs not started by such a webhook the answer is " +
			"recorded but sent to no one.\n\n" +
			"**Output:** the answer, `{\"status\": 200, \"headers\": {…}, \"body\": …}`.\n\n" +
			"**Example:** status 200 with body `{{ {\"order\": prev.order_id, \"tier\": vars.tier} }}` answers " +
			"`{\"order\": \"ord_8f3a\", \"tier\": \"high\"}` as JSON.",
	}, newRespond)
}

type respondNode struct {
	status  int
	headers []keyTemplate
	body    *expression.Template
	// hasContentType records whether the user set Content-Type, so the default is not added.
	hasContentType bool
}

func newRespond(cfg *nodes.Config) (nodes.Node, error) {
	n := &respondNode{
		status:  cfg.Int("status"),
		headers: sortedTemplates(cfg.KeyValue("headers")),
		body:    cfg.Template("body"),
	}
	if n.status < 200 || n.status > 599 {
		cfg.Fail("status", nodes.CodeParamInvalid, "status code must be between 200 and 599")
	}
	for _, h := range n.headers {
		if !validHeaderName(h.key) {
			cfg.Fail("headers."+h.key, nodes.CodeParamInvalid, fmt.Sprintf("%q is not a valid header name", h.key))
		}
		if strings.EqualFold(h.key, "Content-Type") {
			n.hasContentType = true
		}
	}
	return n, cfg.Err()
}

// Execute renders the answer and hands it to the engine, which writes it to the waiting caller.
func (n *respondNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	env := envOf(x)
	var body any
	if n.body != nil {
		v, err := n.body.Eval(env)
		if err != nil {
			return nodes.Result{}, nodes.EvalFailed("respond", "body", err)
		}
		body = v
	}
	headers := make(map[string]string, len(n.headers)+1)
	for _, h := range n.headers {
		v, err := h.tmpl.EvalString(env)
		if err != nil {
			return nodes.Result{}, nodes.EvalFailed("respond", "headers."+h.key, err)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nodes.Result{}, nodes.NewPermanent("respond_header_invalid", fmt.Errorf("respond: header %s: value contains a line break", h.key))
		}
		headers[http.CanonicalHeaderKey(h.key)] = v
	}
	if !n.hasContentType && body != nil {
		if _, isText := body.(string); isText {
			headers["Content-Type"] = "text/plain; charset=utf-8"
		} else {
			headers["Content-Type"] = "application/json; charset=utf-8"
		}
	}
	shown := make(map[string]any, len(headers))
	for k, v := range headers {
		shown[k] = v
	}
	return nodes.Result{
		Output:   map[string]any{"status": int64(n.status), "headers": shown, "body": body},
		Response: &nodes.Response{Status: n.status, Headers: headers, Body: body},
	}, nil
}

var _ nodes.Node = (*respondNode)(nil)
