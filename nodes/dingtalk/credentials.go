package dingtalk

import "github.com/ferry-hq/ferry/nodes"

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   RobotCredential,
		Name: "DingTalk group robot",
		Description: "A DingTalk group's custom robot (群设置 → 机器人 → 添加机器人 → 自定义): its webhook, and the secret of its " +
			"加签 security setting or its custom keywords. Messages go to " + APIHost + "/robot/send only.",
		Fields: []nodes.Field{
			{Name: FieldWebhook, Label: "Webhook", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The robot's webhook address (https://oapi.dingtalk.com/robot/send?access_token=…) or its access_token alone."},
			{Name: FieldSecret, Label: "Signing secret", Type: nodes.TypeString, Secret: true,
				Description: "The secret of the 加签 security setting (SEC…): each message is signed with it. Empty when the robot does not sign."},
			{Name: FieldKeyword, Label: "Keywords", Type: nodes.TypeText,
				Description: "The robot's custom keywords (自定义关键词), one a line: DingTalk posts only messages containing one, so a message without any fails before it is sent."},
		},
		// Each robot takes at most 20 messages a minute, then is throttled for ten minutes: one every three seconds.
		RateLimit:    &nodes.Limit{Rate: 20.0 / 60, Burst: 1},
		Test:         testRobot,
		Destinations: func(map[string]string) []string { return []string{APIHost + "/robot/send"} },
	})
	nodes.MustRegisterCredentialType(nodes.CredentialType{
		ID:   AppCredential,
		Name: "DingTalk internal app",
		Description: "An enterprise internal app of DingTalk's developer console (应用开发 → 企业内部应用) with the permission to " +
			"send work notifications: its AppKey, AppSecret and AgentId. Requests go to " + APIHost + " only.",
		Fields: []nodes.Field{
			{Name: FieldAppKey, Label: "App key", Type: nodes.TypeString, Required: true, Description: "The app's AppKey (Client ID)."},
			{Name: FieldAppSecret, Label: "App secret", Type: nodes.TypeString, Secret: true, Required: true,
				Description: "The app's AppSecret (Client Secret): it obtains the access token and is sent to " + APIHost + tokenPath + " only."},
			{Name: FieldAgentID, Label: "Agent id", Type: nodes.TypeString, Required: true,
				Description: "The app's AgentId, which work notifications are sent as."},
		},
		Test: testApp,
		Destinations: func(map[string]string) []string {
			return []string{APIHost + tokenPath, APIHost + "/topapi/message/corpconversation/"}
		},
	})
}
