// Package slack sends Ferry's notifications to Slack in two ways, written as data on the connector runtime:
// an incoming webhook (slack.webhook.send: one channel, chosen when the webhook was made) and the Web API's
// chat.postMessage with a bot token (slack.message.post: any channel the bot is in, replies in threads). Both
// render their text and Block Kit blocks from expressions, show the request in test runs instead of sending it,
// and map Slack's answers, plain text from a webhook and {"ok": false, "error": …} from the Web API, to
// retryable, rate-limited and permanent failures with Slack's own words quoted.
//
// The Web API requests are validated in the tests against Slack's published OpenAPI description
// (github.com/slackapi/slack-api-specs, trimmed in testdata); incoming webhooks have no machine-readable
// description, so a stand-in server enforces their documented shapes and answers. testdata/README.md lists the
// pages each rule comes from.
package slack

// Provider is the prefix of failure codes (slack_channel_not_found).
const Provider = "slack"
