// Package wecom sends notifications to WeCom (企业微信): messages of a group robot (群机器人, a webhook key:
// text with @mentions, markdown, news) and application messages (应用消息) of a self-built app, whose corp id and
// secret are exchanged for an access token renewed before it expires. Operations are specs on the connector
// runtime; Go code reads WeCom's errcode answers and applies the credentials. The pages each rule comes from are
// listed in testdata/README.md.
package wecom

// Provider is the prefix of failure codes (wecom_rate_limited).
const Provider = "wecom"

// APIHost is WeCom's API host; the robot webhook and the app API both live under /cgi-bin.
const APIHost = "https://qyapi.weixin.qq.com"

// APIPath is the root of WeCom's server API under the host.
const APIPath = "/cgi-bin"
