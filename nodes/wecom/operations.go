package wecom

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// WeCom's documented bounds of a message (bytes of UTF-8).
const (
	maxText     = 2048
	maxMarkdown = 4096
	maxArticles = 8
)

// content returns the rendered text at body[kind]["content"], refusing empty or too long text.
func content(body map[string]any, kind string, limit int) (map[string]any, error) {
	part, _ := body[kind].(map[string]any)
	s, _ := part["content"].(string)
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("the message is empty")
	}
	if len(s) > limit {
		return nil, fmt.Errorf("the message is %d bytes, WeCom takes at most %d", len(s), limit)
	}
	return part, nil
}

func shapeText(body map[string]any) (map[string]any, error) {
	part, err := content(body, "text", maxText)
	if err != nil {
		return nil, err
	}
	// A mention list that rendered empty is left out rather than sent as null.
	for _, k := range []string{"mentioned_list", "mentioned_mobile_list"} {
		if l, ok := part[k].([]any); !ok || len(l) == 0 {
			delete(part, k)
		}
	}
	body["msgtype"] = "text"
	return body, nil
}

func shapeMarkdown(body map[string]any) (map[string]any, error) {
	if _, err := content(body, "markdown", maxMarkdown); err != nil {
		return nil, err
	}
	body["msgtype"] = "markdown"
	return body, nil
}

// shapeNews checks the articles: one to eight, each with a title and a link.
func shapeNews(body map[string]any) (map[string]any, error) {
	news, _ := body["news"].(map[string]any)
	list, _ := news["articles"].([]any)
	if len(list) == 0 || len(list) > maxArticles {
		return nil, fmt.Errorf("a news message has 1 to %d articles, not %d", maxArticles, len(list))
	}
	for i, it := range list {
		a, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("article %d is not an object ({\"title\", \"description\", \"url\", \"picurl\"})", i+1)
		}
		if t, _ := a["title"].(string); strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("article %d has no title", i+1)
		}
		if u, _ := a["url"].(string); !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, fmt.Errorf("article %d has no http(s) url", i+1)
		}
	}
	body["msgtype"] = "news"
	return body, nil
}

// articles accepts the list as a list or as its JSON text.
func articles(v any) (any, error) {
	if s, ok := v.(string); ok {
		parsed, err := nodes.DecodeJSON([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("the articles are not a JSON list: %v", err)
		}
		v = parsed
	}
	if _, ok := v.([]any); !ok {
		return nil, fmt.Errorf("the articles are not a list of {\"title\", \"description\", \"url\", \"picurl\"}")
	}
	return v, nil
}

// recipients turns ids separated by commas, spaces or | into WeCom's "id1|id2".
func recipients(v any) (any, error) {
	var parts []string
	switch l := v.(type) {
	case []any:
		for _, it := range l {
			parts = append(parts, fmt.Sprint(it))
		}
	default:
		parts = strings.FieldsFunc(fmt.Sprint(v), func(r rune) bool { return r == ',' || r == '|' || r == ' ' || r == '\n' || r == '，' })
	}
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "|"), nil
}

// shapeApp builds an application message: the chosen type holding the content, at least one recipient, and
// WeCom's duplicate check on, so the same message sent again within half an hour is not delivered twice.
func shapeApp(body map[string]any) (map[string]any, error) {
	kind, _ := body["msgtype"].(string)
	limit := maxText
	if kind != "text" && kind != "markdown" {
		return nil, fmt.Errorf("the message type %q is not text or markdown", kind)
	}
	s, _ := body["content"].(string)
	delete(body, "content")
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("the message is empty")
	}
	if len(s) > limit {
		return nil, fmt.Errorf("the message is %d bytes, WeCom takes at most %d", len(s), limit)
	}
	body[kind] = map[string]any{"content": s}
	named := false
	for _, k := range []string{"touser", "toparty", "totag"} {
		if v, _ := body[k].(string); v != "" {
			named = true
		} else {
			delete(body, k)
		}
	}
	if !named {
		return nil, fmt.Errorf("the message has no recipient: give users, departments or tags")
	}
	body["enable_duplicate_check"] = 1
	body["duplicate_check_interval"] = 1800
	return body, nil
}

func init() {
	mentions := connector.Param{Field: nodes.Field{Name: "mentions", Label: "Mention users", Type: nodes.TypeString, Expression: true,
		Description: "User ids to @mention, separated by commas; @all mentions everyone."},
		In: connector.InBody, Key: "/text/mentioned_list", As: connector.AsList}
	mobiles := connector.Param{Field: nodes.Field{Name: "mentionMobiles", Label: "Mention phone numbers", Type: nodes.TypeString, Expression: true,
		Description: "Phone numbers of members to @mention, separated by commas; @all mentions everyone."},
		In: connector.InBody, Key: "/text/mentioned_mobile_list", As: connector.AsList}
	unrepeatable := "A robot honours no idempotency key: a message whose outcome is unknown (no answer, a 5xx) is not sent again " +
		"(`wecom_outcome_unknown`); look in the group before running the step again."

	robotProvider.MustRegister(
		connector.Operation{Type: "wecom.robot.text", Name: "WeCom robot: send text", Category: nodes.CategoryNotifications,
			Description: "Posts a text message to the robot's group, with @mentions.",
			Method:      http.MethodPost, Path: webhookPath, SideEffect: true, Unrepeatable: true, OutputLabel: "Answer",
			Params: []connector.Param{
				{Field: nodes.Field{Name: "content", Label: "Text", Type: nodes.TypeText, Expression: true, Required: true,
					Description: "The message, up to 2048 bytes.",
					Examples:    []nodes.Example{{Name: "Failed payment", Value: "Payment {{ trigger.body.id }} failed: {{ trigger.body.reason }}"}}},
					In: connector.InBody, Key: "/text/content"},
				mentions, mobiles},
			Shape: shapeText,
			Docs:  "Sends `{\"msgtype\": \"text\", \"text\": {\"content\", \"mentioned_list\", \"mentioned_mobile_list\"}}`. " + unrepeatable},
		connector.Operation{Type: "wecom.robot.markdown", Name: "WeCom robot: send markdown", Category: nodes.CategoryNotifications,
			Description: "Posts a markdown message to the robot's group.",
			Method:      http.MethodPost, Path: webhookPath, SideEffect: true, Unrepeatable: true, OutputLabel: "Answer",
			Params: []connector.Param{
				{Field: nodes.Field{Name: "content", Label: "Markdown", Type: nodes.TypeText, Expression: true, Required: true,
					Description: "WeCom's markdown subset (headings, bold, links, `<font color=\"warning\">`, <@userid> to mention), up to 4096 bytes."},
					In: connector.InBody, Key: "/markdown/content"}},
			Shape: shapeMarkdown,
			Docs:  "Sends `{\"msgtype\": \"markdown\", \"markdown\": {\"content\"}}`. " + unrepeatable},
		connector.Operation{Type: "wecom.robot.news", Name: "WeCom robot: send news", Category: nodes.CategoryNotifications,
			Description: "Posts one to eight linked articles (图文) to the robot's group.",
			Method:      http.MethodPost, Path: webhookPath, SideEffect: true, Unrepeatable: true, OutputLabel: "Answer",
			Params: []connector.Param{
				{Field: nodes.Field{Name: "articles", Label: "Articles", Type: nodes.TypeJSON, Expression: true, Required: true,
					Description: "A list of 1 to 8 articles: {\"title\", \"description\", \"url\", \"picurl\"}; title and url are required.",
					Examples: []nodes.Example{{Name: "One article",
						Value: `[{"title": "Daily summary", "description": "{{ prev.count }} payments", "url": "https://example.com/report"}]`}}},
					In: connector.InBody, Key: "/news/articles", As: connector.AsJSON, Transform: articles}},
			Shape: shapeNews,
			Docs:  "Sends `{\"msgtype\": \"news\", \"news\": {\"articles\": […]}}`. " + unrepeatable},
	)

	ids := func(name, label, key, desc string) connector.Param {
		return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Expression: true, Description: desc},
			In: connector.InBody, Key: key, Transform: recipients}
	}
	appProvider.MustRegister(
		connector.Operation{Type: "wecom.app.send", Name: "WeCom app: send message", Category: nodes.CategoryNotifications,
			Description: "Sends an application message to members, departments or tags.",
			Method:      http.MethodPost, Path: sendPath, SideEffect: true, OutputLabel: "Answer",
			Params: []connector.Param{
				ids("toUser", "Users", "/touser", "Member ids (UserID), separated by commas; @all sends to everyone the app reaches."),
				ids("toParty", "Departments", "/toparty", "Department ids, separated by commas."),
				ids("toTag", "Tags", "/totag", "Tag ids, separated by commas."),
				{Field: nodes.Field{Name: "msgtype", Label: "Type", Type: nodes.TypeSelect, Default: "text",
					Options:     []nodes.Option{{Value: "text", Label: "Text"}, {Value: "markdown", Label: "Markdown"}},
					Description: "Text shows everywhere; markdown only in the WeCom client."},
					In: connector.InBody, Key: "/msgtype"},
				{Field: nodes.Field{Name: "content", Label: "Message", Type: nodes.TypeText, Expression: true, Required: true,
					Description: "The message, up to 2048 bytes."},
					In: connector.InBody, Key: "/content"}},
			Shape: shapeApp,
			Docs: "Sends `{\"touser\", \"toparty\", \"totag\", \"msgtype\", \"agentid\", \"text\"|\"markdown\": {\"content\"}, " +
				"\"enable_duplicate_check\": 1}`; the agent id comes from the credential. WeCom's duplicate check drops the same " +
				"message to the same recipients within 1800 seconds, so a retried step does not deliver twice. Outputs WeCom's answer " +
				"with `msgid` and the recipients it refused (`invaliduser`, `invalidparty`, `invalidtag`)."},
	)
}
