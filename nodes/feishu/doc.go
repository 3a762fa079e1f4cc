// Package feishu sends notifications to a Feishu (飞书) or Lark group through a custom bot (自定义机器人): text,
// rich text (post) and interactive cards, signed with the bot's secret when its security settings ask for a
// signature (签名校验). Operations are specs on the connector runtime; Go code signs the request and reads Feishu's
// {"code", "msg"} answers. The pages each rule comes from are listed in testdata/README.md.
package feishu

// Provider is the prefix of failure codes (feishu_signature_invalid).
const Provider = "feishu"

// HookPath is where custom bot webhooks live on either host; the bot's token follows it.
const HookPath = "/open-apis/bot/v2/hook"

// The hosts a credential chooses between.
const (
	// FeishuHost serves Feishu, in mainland China.
	FeishuHost = "https://open.feishu.cn"
	// LarkHost serves Lark, Feishu's international edition.
	LarkHost = "https://open.larksuite.com"
)
