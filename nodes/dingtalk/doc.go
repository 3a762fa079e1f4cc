// Package dingtalk sends notifications to DingTalk (钉钉) on the connector runtime: messages of a group's custom
// robot (text with @mentions, markdown, link, actionCard), signed in the robot's 加签 mode or checked against its
// keyword, and work notifications (工作通知) of an enterprise internal app to users by id, with the app's access
// token kept and renewed before it expires.
//
// DingTalk publishes its open API as prose pages; the tests enforce the documented request shapes, signature and
// answers with a stand-in server, and testdata/README.md lists the page each rule comes from.
package dingtalk

// Provider is the prefix of failure codes (dingtalk_rate_limited).
const Provider = "dingtalk"

// APIHost is DingTalk's open API host of the robot webhook, the token exchange and the work notifications.
const APIHost = "https://oapi.dingtalk.com"
