// Package all switches every node Ferry ships on. Nodes register themselves from init functions, so a node
// package takes part only when something imports it; the server imports this package once, blank, and each
// connector package (payments, shops, CRMs, notifications) adds its own blank import here, in one place.
package all

import (
	"github.com/ferry-hq/ferry/nodes"
	// Triggers, logic, data steps, HTTP request and webhook responses.
	_ "github.com/ferry-hq/ferry/nodes/core"
	// Payment providers: verified callbacks and payment actions.
	_ "github.com/ferry-hq/ferry/nodes/alipay"
	_ "github.com/ferry-hq/ferry/nodes/paypal"
	_ "github.com/ferry-hq/ferry/nodes/stripe"
	_ "github.com/ferry-hq/ferry/nodes/wechatpay"
	// Shops: verified webhooks, order and customer actions.
	_ "github.com/ferry-hq/ferry/nodes/shopify"
	_ "github.com/ferry-hq/ferry/nodes/woocommerce"
	_ "github.com/ferry-hq/ferry/nodes/youzan"
	// CRMs: record actions, queries, loaded choices, verified webhooks and polling triggers on the connector runtime.
	_ "github.com/ferry-hq/ferry/nodes/hubspot"
	_ "github.com/ferry-hq/ferry/nodes/jiandaoyun"
	_ "github.com/ferry-hq/ferry/nodes/salesforce"
	_ "github.com/ferry-hq/ferry/nodes/zoho"
	// Notifications: chat robots, app messages, e-mail and SMS on the connector runtime.
	_ "github.com/ferry-hq/ferry/nodes/aliyunsms"
	_ "github.com/ferry-hq/ferry/nodes/dingtalk"
	_ "github.com/ferry-hq/ferry/nodes/email"
	_ "github.com/ferry-hq/ferry/nodes/feishu"
	_ "github.com/ferry-hq/ferry/nodes/slack"
	_ "github.com/ferry-hq/ferry/nodes/tencentsms"
	_ "github.com/ferry-hq/ferry/nodes/wecom"
)

// Every package imported above has run its init functions by now, so every node and credential type is
// registered and every locale file loaded: a translation naming something that is not there (a renamed
// parameter, a removed option) stops the binary here with its file and JSON pointer.
func init() {
	nodes.MustCheckTexts()
}
