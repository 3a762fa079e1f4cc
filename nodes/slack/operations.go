package slack

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Slack's documented limits on a message.
const (
	// maxBlocks is how many blocks one message may hold.
	maxBlocks = 50
	// maxText is the length of text Slack takes; it truncates longer text, so it is refused instead.
	maxText = 40000
)

// tsShape is a message's timestamp, its id within a channel ("1503435956.000247").
var tsShape = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// channelShape is a channel, private channel, DM or user id (C…, G…, D…, U…, W…) or a channel's name (#alerts,
// #告警: Slack takes letters of any script, digits, hyphens and underscores, up to 80).
var channelShape = regexp.MustCompile(`^([CGDUW][A-Z0-9]{2,}|#?[\p{Ll}\p{Lo}\p{N}_.\-]{1,80})$`)

// checkBlocks takes Block Kit blocks as a list, as Block Kit Builder's {"blocks": […]}, or as the text of
// either, and checks what Slack checks first: a list of at most 50 objects, each with a type.
func checkBlocks(v any) (any, error) {
	if s, ok := v.(string); ok {
		parsed, err := nodes.DecodeJSON([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("the blocks are not JSON: %v", err)
		}
		v = parsed
	}
	if m, ok := v.(map[string]any); ok {
		if inner, has := m["blocks"]; has {
			v = inner
		}
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("the blocks are not a list of blocks ([{\"type\": \"section\", \"text\": {\"type\": \"mrkdwn\", \"text\": \"…\"}}])")
	}
	if len(list) > maxBlocks {
		return nil, fmt.Errorf("%d blocks: Slack takes at most %d in a message", len(list), maxBlocks)
	}
	for i, b := range list {
		m, ok := b.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("block %d is not an object", i+1)
		}
		if t, _ := m["type"].(string); t == "" {
			return nil, fmt.Errorf("block %d has no type (section, header, divider, context, actions, image…)", i+1)
		}
	}
	return list, nil
}

// checkText refuses text longer than Slack takes.
func checkText(v any) (any, error) {
	s, _ := v.(string)
	if n := len([]rune(s)); n > maxText {
		return nil, fmt.Errorf("the text is %d characters long: Slack takes at most %d", n, maxText)
	}
	return v, nil
}

// checkTS checks a thread's parent timestamp.
func checkTS(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if !tsShape.MatchString(s) {
		return nil, fmt.Errorf("%q is not a message timestamp (ts) such as 1503435956.000247", s)
	}
	return s, nil
}

// checkChannel checks a channel id or name.
func checkChannel(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if !channelShape.MatchString(s) {
		return nil, fmt.Errorf("%q is not a Slack channel id (C0123456789) or name (#alerts; names are lower case)", s)
	}
	return s, nil
}

// shapeMessage requires what Slack requires: text, blocks or both (with blocks, text is the notification's
// fallback).
func shapeMessage(body map[string]any) (map[string]any, error) {
	text, _ := body["text"].(string)
	if strings.TrimSpace(text) == "" && body["blocks"] == nil {
		return nil, fmt.Errorf("the message has neither text nor blocks")
	}
	return body, nil
}

func messageParams() []connector.Param {
	text := connector.Param{Field: nodes.Field{Name: "text", Label: "Text", Type: nodes.TypeText, Expression: true,
		Description: "The message in Slack's mrkdwn (*bold*, _italic_, <https://…|links>, <@U0123> mentions); with blocks, the text " +
			"shown in notifications. Up to 40,000 characters.",
		Examples: []nodes.Example{{Name: "Failed payment",
			Value: ":warning: Payment failed: *{{ trigger.body.merchantOrderId }}* ({{ trigger.body.amount.decimal }} {{ trigger.body.amount.currency }}, {{ trigger.body.provider }})"}}},
		In: connector.InBody, Key: "/text", Transform: checkText}
	blocks := connector.Param{Field: nodes.Field{Name: "blocks", Label: "Blocks", Type: nodes.TypeJSON, Expression: true,
		Description: "Block Kit blocks as a list, or as Block Kit Builder copies them ({\"blocks\": […]}); up to 50. To put values " +
			"in them, write the list as one expression: {{ [{\"type\": \"section\", \"text\": {\"type\": \"mrkdwn\", \"text\": \"*Order* \" + trigger.body.merchantOrderId} } ] }} (keep a space between closing braces, so they do not end the {{ }}).",
		Examples: []nodes.Example{{Name: "Section with fields",
			Value: `{{ [{"type": "section", "text": {"type": "mrkdwn", "text": "*Payment failed*"}, "fields": [{"type": "mrkdwn", "text": "*Order*\n" + trigger.body.merchantOrderId}, {"type": "mrkdwn", "text": "*Amount*\n" + trigger.body.amount.decimal + " " + trigger.body.amount.currency} ]} ] }}`}}},
		In: connector.InBody, Key: "/blocks", As: connector.AsJSON, Transform: checkBlocks}
	thread := connector.Param{Field: nodes.Field{Name: "threadTs", Label: "Reply in thread", Type: nodes.TypeString, Expression: true,
		Description: "The ts of the message to reply to (its thread's parent), such as an earlier post's output ts; empty posts a new message.",
		Examples:    []nodes.Example{{Name: "Under an earlier post", Value: "{{ nodes.post.ts }}"}}},
		In: connector.InBody, Key: "/thread_ts", Transform: checkTS}
	links := connector.Param{Field: nodes.Field{Name: "unfurlLinks", Label: "Unfurl links", Type: nodes.TypeBoolean, Advanced: true,
		Description: "Show previews of the pages the message links to."},
		In: connector.InBody, Key: "/unfurl_links"}
	media := connector.Param{Field: nodes.Field{Name: "unfurlMedia", Label: "Unfurl media", Type: nodes.TypeBoolean, Advanced: true,
		Description: "Show previews of images and videos the message links to (Slack's default is on)."},
		In: connector.InBody, Key: "/unfurl_media"}
	return []connector.Param{text, blocks, thread, links, media}
}

func init() {
	msg := messageParams()
	channel := connector.Param{Field: nodes.Field{Name: "channel", Label: "Channel", Type: nodes.TypeString, Expression: true, Required: true,
		Description: "The channel's id (C0123456789: the channel's details → About, at the bottom) or name (#alerts), a private " +
			"channel the bot was invited to, or a user's id (U…) for a direct message from the bot."},
		In: connector.InBody, Key: "/channel", Transform: checkChannel}
	broadcast := connector.Param{Field: nodes.Field{Name: "replyBroadcast", Label: "Also send to channel", Type: nodes.TypeBoolean, Advanced: true,
		Description: "With Reply in thread: show the reply in the channel too."},
		In: connector.InBody, Key: "/reply_broadcast"}
	postParams := []connector.Param{channel, msg[0], msg[1], msg[2], broadcast, msg[3], msg[4]}

	webhookProvider.MustRegister(connector.Operation{Type: "slack.webhook.send", Name: "Slack: send to incoming webhook",
		Category: nodes.CategoryNotifications, SideEffect: true, Unrepeatable: true,
		Description: "Posts a message to the channel of an incoming webhook.",
		Method:      http.MethodPost, OutputLabel: "Sent",
		Params: msg, Shape: shapeMessage,
		Docs: "Posts `{\"text\", \"blocks\", \"thread_ts\", \"unfurl_links\", \"unfurl_media\"}` to the incoming webhook; the channel " +
			"is the one the webhook was made for. Outputs `{\"ok\": true}`. Text or blocks are required; with blocks, the text is " +
			"what notifications show. Slack takes about one message a second per webhook, the credential's rate."})
	apiProvider.MustRegister(connector.Operation{Type: "slack.message.post", Name: "Slack: post message",
		Category: nodes.CategoryNotifications, SideEffect: true, Unrepeatable: true,
		Description: "Posts a message as the bot to a channel, a thread or a direct message (chat.postMessage).",
		Method:      http.MethodPost, Path: "/chat.postMessage", OutputLabel: "Message",
		Params: postParams, Shape: shapeMessage,
		Docs: "`POST https://slack.com/api/chat.postMessage` with `{\"channel\", \"text\", \"blocks\", \"thread_ts\", \"reply_broadcast\", " +
			"\"unfurl_links\", \"unfurl_media\"}`. Outputs Slack's answer: `channel` (its id), `ts` (the message's id: give it to a " +
			"later post's *Reply in thread* to continue in its thread) and `message`. The bot must be in the channel " +
			"(`not_in_channel` otherwise) and have the chat:write scope. Slack takes about one message a second per channel; " +
			"the credential's rate is one a second, shared by the channels it posts to."})
}
