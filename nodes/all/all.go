// Package all switches every node Ferry ships on. Nodes register themselves from init functions, so a node
// package takes part only when something imports it; the server imports this package once, blank, and each
// connector package (payments, shops, CRMs, notifications) adds its own blank import here, in one place.
package all

import (
	// Triggers, logic, data steps, HTTP request and webhook responses.
	_ "github.com/ferry-hq/ferry/nodes/core"
	// Payment providers: verified callbacks and payment actions.
	_ "github.com/ferry-hq/ferry/nodes/alipay"
	_ "github.com/ferry-hq/ferry/nodes/paypal"
	_ "github.com/ferry-hq/ferry/nodes/stripe"
	_ "github.com/ferry-hq/ferry/nodes/wechatpay"
)
