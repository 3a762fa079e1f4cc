package slack

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes besides the runtime's (slack_invalid_request, slack_outcome_unknown, slack_network…). Each
// carries Slack's answer verbatim.
const (
	// CodeRateLimited: Slack refused the message over its rate (429, or the error ratelimited); retried after
	// Retry-After.
	CodeRateLimited = "slack_rate_limited"
	// CodeUnauthorized: the token or webhook is not valid, revoked, or lacks a scope (invalid_auth, not_authed,
	// token_revoked, missing_scope, invalid_token, action_prohibited…).
	CodeUnauthorized = "slack_unauthorized"
	// CodeWebhookGone: the incoming webhook was disabled or removed (no_service).
	CodeWebhookGone = "slack_webhook_gone"
	// CodeChannelNotFound: the channel does not exist or the token cannot see it (channel_not_found).
	CodeChannelNotFound = "slack_channel_not_found"
	// CodeNotInChannel: the bot is not a member of the channel (not_in_channel): invite it.
	CodeNotInChannel = "slack_not_in_channel"
	// CodeChannelArchived: the channel is archived (is_archived, channel_is_archived).
	CodeChannelArchived = "slack_channel_archived"
	// CodeInvalidRequest: Slack refused the message itself (invalid_payload, no_text, invalid_blocks,
	// msg_too_long…); the same message will be refused again.
	CodeInvalidRequest = "slack_invalid_request"
	// CodeUnavailable: Slack said it could not take the request for now (service_unavailable, request_timeout).
	CodeUnavailable = "slack_unavailable"
	// CodeOutcomeUnknown: Slack failed while handling the message (internal_error, fatal_error) and says part of
	// it may have been done: not sent again, since Slack honours no idempotency key.
	CodeOutcomeUnknown = "slack_outcome_unknown"
	// CodeError: any other error Slack names; permanent, with Slack's error quoted.
	CodeError = "slack_error"
)

// rateLimitWait is how long a refused message waits when Slack names no time: its posting limit counts per
// second.
const rateLimitWait = time.Second

// errorCodes maps Slack's error strings, from chat.postMessage, auth.test and incoming webhooks, to the failure
// they are; anything else is CodeError.
var errorCodes = map[string]string{
	"invalid_auth": CodeUnauthorized, "not_authed": CodeUnauthorized, "token_revoked": CodeUnauthorized,
	"token_expired": CodeUnauthorized, "account_inactive": CodeUnauthorized, "no_permission": CodeUnauthorized,
	"missing_scope": CodeUnauthorized, "not_allowed_token_type": CodeUnauthorized, "ekm_access_denied": CodeUnauthorized,
	"team_access_not_granted": CodeUnauthorized, "invalid_token": CodeUnauthorized, "action_prohibited": CodeUnauthorized,
	"restricted_action": CodeUnauthorized, "posting_to_general_channel_denied": CodeUnauthorized,
	"no_service": CodeWebhookGone, "no_service_id": CodeWebhookGone, "no_team": CodeWebhookGone, "team_disabled": CodeWebhookGone,
	"channel_not_found": CodeChannelNotFound, "user_not_found": CodeInvalidRequest, "invalid_arguments": CodeInvalidRequest,
	"not_in_channel": CodeNotInChannel,
	"is_archived":    CodeChannelArchived, "channel_is_archived": CodeChannelArchived,
	"invalid_payload": CodeInvalidRequest, "no_text": CodeInvalidRequest, "msg_too_long": CodeInvalidRequest,
	"too_many_attachments": CodeInvalidRequest, "invalid_blocks": CodeInvalidRequest, "invalid_blocks_format": CodeInvalidRequest,
	"invalid_attachments": CodeInvalidRequest, "invalid_arg_name": CodeInvalidRequest, "invalid_array_arg": CodeInvalidRequest,
	"invalid_charset": CodeInvalidRequest, "invalid_form_data": CodeInvalidRequest, "invalid_post_type": CodeInvalidRequest,
	"missing_post_type": CodeInvalidRequest, "invalid_json": CodeInvalidRequest, "json_not_object": CodeInvalidRequest,
	"invalid_metadata_format": CodeInvalidRequest, "invalid_metadata_schema": CodeInvalidRequest,
	"markdown_text_conflict": CodeInvalidRequest, "too_many_blocks": CodeInvalidRequest,
	"cannot_reply_to_message": CodeInvalidRequest, "message_limit_exceeded": CodeInvalidRequest,
	"service_unavailable": CodeUnavailable, "request_timeout": CodeUnavailable,
	"internal_error": CodeOutcomeUnknown, "fatal_error": CodeOutcomeUnknown,
}

// failure is the step's failure for Slack's error string, with Slack's answer quoted as it came.
func failure(what string, a *connector.Answer, slackError string) error {
	quoted := strings.TrimSpace(string(bytes.TrimSpace(a.Body)))
	if len(quoted) > 2000 {
		quoted = quoted[:2000] + "…"
	}
	err := fmt.Errorf("slack: %s answered %d: %s", what, a.Status, quoted)
	if slackError == "ratelimited" || slackError == "rate_limited" || a.Status == http.StatusTooManyRequests {
		after, ok := connector.RetryAfter(a.Header.Get("Retry-After"))
		if !ok {
			after = rateLimitWait
		}
		return nodes.NewRateLimited(CodeRateLimited, err, after)
	}
	switch code := errorCodes[slackError]; code {
	case CodeUnavailable:
		return nodes.NewRetryable(code, err)
	case CodeOutcomeUnknown:
		return nodes.NewPermanent(code, fmt.Errorf("%w. Slack says part of the request may have been done, and it honours no "+
			"idempotency key, so Ferry does not send it again: look in the channel before running this step again", err))
	case "":
		return nodes.NewPermanent(CodeError, err)
	default:
		return nodes.NewPermanent(code, err)
	}
}

// webhookProvider posts to an incoming webhook. Slack answers it in plain text: "ok", or an error string with
// 400, 403, 404, 410 or 500, and 429 over its rate.
var webhookProvider = &connector.Provider{
	Name:        Provider,
	Title:       "Slack",
	Credentials: []string{WebhookCredential},
	BaseURL: func(fields map[string]string) (*url.URL, error) {
		if _, err := webhookSecretPath(fields); err != nil {
			return nil, err
		}
		return webhookOrigin().JoinPath(WebhookPath), nil
	},
	Authorize: authorizeWebhook,
	Check:     checkWebhook,
	Docs: "**Incoming webhook:** a POST of JSON to the credential's URL (`https://hooks.slack.com/services/T…/B…/…`), which is " +
		"the secret: run data and test runs show `https://hooks.slack.com/services` only. Slack answers `ok` in plain text, " +
		"or an error in plain text: `invalid_payload`, `no_text` and other refusals of the message (400) fail with " +
		"`slack_invalid_request`; `invalid_token` and `action_prohibited` (403) with `slack_unauthorized`; `no_service` " +
		"(404, the webhook was disabled or removed) with `slack_webhook_gone`; `channel_not_found` (404) with " +
		"`slack_channel_not_found`; `channel_is_archived` (410) with `slack_channel_archived`; 429 waits for Retry-After " +
		"(one second when Slack names none) with `slack_rate_limited`. Slack's answer is quoted verbatim.",
}

// authorizeWebhook puts the webhook's secret path into the request, after its destination was checked and
// never in what run data shows.
func authorizeWebhook(req *http.Request, fields map[string]string) error {
	p, err := webhookSecretPath(fields)
	if err != nil {
		return err
	}
	req.URL.Path, req.URL.RawPath = p, ""
	return nil
}

// checkWebhook reads an incoming webhook's plain-text answer: "ok" becomes {"ok": true}, an error string the
// failure it names.
func checkWebhook(a *connector.Answer) error {
	text := strings.TrimSpace(string(a.Body))
	if a.Status >= 200 && a.Status < 300 {
		if text == "ok" {
			a.JSON = map[string]any{"ok": true}
		}
		return nil
	}
	if a.Status >= 500 && a.Status != http.StatusServiceUnavailable {
		return nil // the runtime's: retried, or an unknown outcome for a send
	}
	if a.Status == http.StatusServiceUnavailable {
		return nodes.NewRetryable(CodeUnavailable, fmt.Errorf("slack: the incoming webhook answered %d: %s", a.Status, text))
	}
	slackError := text
	if strings.ContainsAny(slackError, " \n<{") {
		slackError = "" // not one of Slack's error strings: a proxy's page
	}
	if slackError == "" {
		switch a.Status {
		case http.StatusTooManyRequests:
			slackError = "rate_limited"
		case http.StatusForbidden, http.StatusUnauthorized:
			slackError = "invalid_token"
		case http.StatusNotFound:
			slackError = "no_service"
		case http.StatusGone:
			slackError = "channel_is_archived"
		case http.StatusBadRequest:
			slackError = "invalid_payload"
		}
	}
	return failure("the incoming webhook", a, slackError)
}

// apiProvider calls the Web API with a bot token. Slack answers nearly every failure with 200 and
// {"ok": false, "error": "…"}, and 429 with Retry-After over a method's rate.
var apiProvider = &connector.Provider{
	Name:        Provider,
	Title:       "Slack",
	Credentials: []string{BotCredential},
	BaseURL:     func(map[string]string) (*url.URL, error) { return apiOrigin().JoinPath(APIPath), nil },
	Authorize:   authorizeBot,
	Headers:     map[string]string{"Accept": "application/json"},
	Check:       checkAPI,
	Docs: "**Web API:** `POST https://slack.com/api/chat.postMessage` with a JSON body (`Content-Type: application/json; " +
		"charset=utf-8`) and `Authorization: Bearer <bot token>`. Slack answers `{\"ok\": true, …}`, or `{\"ok\": false, " +
		"\"error\": \"…\"}` with status 200: `invalid_auth`, `not_authed`, `token_revoked`, `missing_scope` fail with " +
		"`slack_unauthorized`; `channel_not_found` with `slack_channel_not_found`; `not_in_channel` with " +
		"`slack_not_in_channel` (invite the bot: `/invite @bot`); `is_archived` with `slack_channel_archived`; `no_text`, " +
		"`invalid_blocks`, `msg_too_long` and other refusals of the message with `slack_invalid_request`; `ratelimited` " +
		"and 429 wait for Retry-After (one second when Slack names none) with `slack_rate_limited`; `service_unavailable` " +
		"and `request_timeout` are retried (`slack_unavailable`); `internal_error` and `fatal_error`, after which Slack " +
		"says part of the request may have been done, fail with `slack_outcome_unknown`; any other error with " +
		"`slack_error`. Slack's answer is quoted verbatim.",
}

// authorizeBot sends the bot token as a Bearer token.
func authorizeBot(req *http.Request, fields map[string]string) error {
	tok, err := botToken(fields)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// checkAPI reads a Web API answer: {"ok": false, "error": …} is a failure whatever the status, 429 a rate
// limit.
func checkAPI(a *connector.Answer) error {
	method := "the Web API"
	top, _ := a.JSON.(map[string]any)
	if a.Status == http.StatusTooManyRequests {
		return failure(method, a, "ratelimited")
	}
	if top == nil || top["ok"] != false {
		return nil
	}
	slackError, _ := top["error"].(string)
	return failure(method, a, slackError)
}
