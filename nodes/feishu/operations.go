package feishu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// maxBody is Feishu's documented limit of a message's request body.
const maxBody = 20 << 10

// checkSize refuses a body over 20 KB before it is sent (the signature adds under 100 bytes, counted here).
func checkSize(body map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	if len(raw)+100 > maxBody {
		return nil, fmt.Errorf("the message is %d bytes, Feishu takes at most 20 KB", len(raw))
	}
	return body, nil
}

func shapeText(body map[string]any) (map[string]any, error) {
	c, _ := body["content"].(map[string]any)
	if s, _ := c["text"].(string); strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("the message is empty")
	}
	body["msg_type"] = "text"
	return checkSize(body)
}

// paragraphs reads a post's content: a JSON list of paragraphs (each a list of elements such as {"tag": "text",
// "text": …}, {"tag": "a", "text", "href"}, {"tag": "at", "user_id"}), or plain text, each line a paragraph.
func paragraphs(v any) ([]any, error) {
	if s, ok := v.(string); ok {
		t := strings.TrimSpace(s)
		if strings.HasPrefix(t, "[") {
			parsed, err := nodes.DecodeJSON([]byte(t))
			if err != nil {
				return nil, fmt.Errorf("the content is not a JSON list of paragraphs: %v", err)
			}
			v = parsed
		} else {
			var out []any
			for _, line := range strings.Split(s, "\n") {
				out = append(out, []any{map[string]any{"tag": "text", "text": line}})
			}
			return out, nil
		}
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("the content is not a list of paragraphs")
	}
	for i, p := range list {
		els, ok := p.([]any)
		if !ok {
			return nil, fmt.Errorf("paragraph %d is not a list of elements", i+1)
		}
		for _, e := range els {
			if m, ok := e.(map[string]any); !ok || m["tag"] == nil {
				return nil, fmt.Errorf("paragraph %d has an element without a tag", i+1)
			}
		}
	}
	return list, nil
}

// shapePost builds {"msg_type": "post", "content": {"post": {lang: {"title", "content": [[…]]}}}}.
func shapePost(body map[string]any) (map[string]any, error) {
	lang, _ := body["lang"].(string)
	if lang == "" {
		lang = "zh_cn"
	}
	paras, err := paragraphs(body["paragraphs"])
	if err != nil {
		return nil, err
	}
	title, _ := body["title"].(string)
	out := map[string]any{"msg_type": "post", "content": map[string]any{"post": map[string]any{
		lang: map[string]any{"title": title, "content": paras}}}}
	return checkSize(out)
}

// card accepts the card as an object or as its JSON text.
func card(v any) (any, error) {
	if s, ok := v.(string); ok {
		parsed, err := nodes.DecodeJSON([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("the card is not JSON: %v", err)
		}
		v = parsed
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, fmt.Errorf("the card is not a JSON object ({\"header\": …, \"elements\": […]})")
	}
	return m, nil
}

func shapeCard(body map[string]any) (map[string]any, error) {
	body["msg_type"] = "interactive"
	return checkSize(body)
}

func init() {
	unrepeatable := "A custom bot honours no idempotency key: a message whose outcome is unknown (no answer, a 5xx) is not sent " +
		"again (`feishu_outcome_unknown`); look in the group before running the step again."
	provider.MustRegister(
		connector.Operation{Type: "feishu.bot.text", Name: "Feishu bot: send text", Category: nodes.CategoryNotifications,
			Description: "Posts a text message to the bot's group.",
			Method:      http.MethodPost, Path: "/", SideEffect: true, Unrepeatable: true, OutputLabel: "Answer",
			Params: []connector.Param{{Field: nodes.Field{Name: "text", Label: "Text", Type: nodes.TypeText, Expression: true, Required: true,
				Description: "The message; <at user_id=\"all\">所有人</at> mentions everyone, <at user_id=\"ou_…\">name</at> one member.",
				Examples:    []nodes.Example{{Name: "Failed payment", Value: "Payment {{ trigger.body.id }} failed: {{ trigger.body.reason }}"}}},
				In: connector.InBody, Key: "/content/text"}},
			Shape: shapeText,
			Docs:  "Sends `{\"msg_type\": \"text\", \"content\": {\"text\"}}`. " + unrepeatable},
		connector.Operation{Type: "feishu.bot.post", Name: "Feishu bot: send rich text", Category: nodes.CategoryNotifications,
			Description: "Posts a rich text message (post) with a title to the bot's group.",
			Method:      http.MethodPost, Path: "/", SideEffect: true, Unrepeatable: true, OutputLabel: "Answer",
			Params: []connector.Param{
				{Field: nodes.Field{Name: "title", Label: "Title", Type: nodes.TypeString, Expression: true,
					Description: "The post's title."},
					In: connector.InBody, Key: "/title"},
				{Field: nodes.Field{Name: "content", Label: "Content", Type: nodes.TypeText, Expression: true, Required: true,
					Description: "Plain text, each line a paragraph; or Feishu's JSON list of paragraphs, each a list of elements " +
						"({\"tag\": \"text\", \"text\"}, {\"tag\": \"a\", \"text\", \"href\"}, {\"tag\": \"at\", \"user_id\"}).",
					Examples: []nodes.Example{{Name: "Text and a link",
						Value: `[[{"tag": "text", "text": "Gap of {{ prev.amount }} "}, {"tag": "a", "text": "open the report", "href": "https://example.com/r"}]]`}}},
					In: connector.InBody, Key: "/paragraphs", As: connector.AsJSON},
				{Field: nodes.Field{Name: "language", Label: "Language", Type: nodes.TypeSelect, Default: "zh_cn", Advanced: true,
					Options:     []nodes.Option{{Value: "zh_cn", Label: "Chinese"}, {Value: "en_us", Label: "English"}, {Value: "ja_jp", Label: "Japanese"}},
					Description: "The language the post is written in."},
					In: connector.InBody, Key: "/lang"}},
			Shape: shapePost,
			Docs:  "Sends `{\"msg_type\": \"post\", \"content\": {\"post\": {\"zh_cn\": {\"title\", \"content\": [[…]]}}}}`. " + unrepeatable},
		connector.Operation{Type: "feishu.bot.card", Name: "Feishu bot: send card", Category: nodes.CategoryNotifications,
			Description: "Posts an interactive message card to the bot's group.",
			Method:      http.MethodPost, Path: "/", SideEffect: true, Unrepeatable: true, OutputLabel: "Answer",
			Params: []connector.Param{{Field: nodes.Field{Name: "card", Label: "Card", Type: nodes.TypeJSON, Expression: true, Required: true,
				Description: "The card's JSON, as the card builder exports it ({\"header\", \"elements\"}, or {\"type\": \"template\", \"data\"}); expressions fill it per step.",
				Examples: []nodes.Example{{Name: "Alert card",
					Value: `{"header": {"title": {"tag": "plain_text", "content": "Payment failed"}, "template": "red"}, "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "**{{ trigger.body.id }}**: {{ trigger.body.reason }}"}}]}`}}},
				In: connector.InBody, Key: "/card", As: connector.AsJSON, Transform: card}},
			Shape: shapeCard,
			Docs:  "Sends `{\"msg_type\": \"interactive\", \"card\": {…}}`, at most 20 KB. " + unrepeatable},
	)
}
