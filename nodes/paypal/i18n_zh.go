package paypal

import "github.com/ferry-hq/ferry/nodes"

// Simplified Chinese text of the PayPal nodes and credential type, served when the editor asks for zh-CN. The specs
// stay the English source; a string missing here falls back to English, and the completeness test in nodes/all names
// it.
func init() {
	nodes.MustTranslate(nodes.LangChinese, "paypal.order.capture", nodes.NodeText{
		Name:        "PayPal：捕获订单",
		Description: "对付款人已批准的订单捕获（扣款）。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "捕获结果"},
		Params: map[string]nodes.FieldText{
			"orderId": {
				Label:       "订单号",
				Description: "PayPal 订单 ID，取自 CHECKOUT.ORDER.APPROVED 事件或“PayPal：创建订单”。",
				Examples: map[string]string{
					"Approved order event": "订单已批准事件",
					"Created order":        "已创建的订单",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "paypal.order.create", nodes.NodeText{
		Name:        "PayPal：创建订单",
		Description: "创建 PayPal Checkout 订单（intent 为 CAPTURE），并返回付款人批准订单的链接。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "订单"},
		Params: map[string]nodes.FieldText{
			"amount": {
				Label:       "金额（最小货币单位）",
				Description: "以最小货币单位表示的整数（美分、分；JPY 为日元）。以精确的十进制字符串发送给 PayPal。",
				Examples: map[string]string{
					"Mapped order": "映射后的订单",
					"Fixed 19.99":  "固定 19.99",
				},
			},
			"currency": {
				Label:       "币种",
				Description: "ISO 4217 代码。",
				Examples: map[string]string{
					"Euro":           "欧元",
					"From the order": "取自订单",
				},
			},
			"merchantOrderId": {
				Label:       "商户订单号",
				Description: "商户订单号，作为购买单元的 custom_id 发送（最多 127 个字符）。PayPal 会在捕获和退款事件中带回它，PayPal 事件触发器将其读作 merchantOrderId。",
				Examples: map[string]string{
					"Order number": "订单号",
				},
			},
			"invoiceId": {
				Label:       "发票号",
				Description: "作为 invoice_id 发送；PayPal 会拒绝发票号相同的第二个订单。",
			},
			"description": {
				Label:       "描述",
				Description: "展示给付款人，最多 127 个字符。",
			},
			"returnUrl": {
				Label:       "返回地址",
				Description: "付款人批准后 PayPal 跳转到的地址。设置后，订单以 PayPal 付款来源创建，PayPal 的批准链接 rel 为 payer-action。",
				Examples: map[string]string{
					"Shop page": "商城页面",
				},
			},
			"cancelUrl": {
				Label:       "取消地址",
				Description: "付款人取消时 PayPal 跳转到的地址。",
			},
			"brandName": {
				Label:       "品牌名称",
				Description: "PayPal 在其页面上显示的商城名称（需设置返回地址）。",
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "paypal.refund", nodes.NodeText{
		Name:        "PayPal：退款",
		Description: "对已捕获的 PayPal 付款全额或部分退款。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "退款"},
		Params: map[string]nodes.FieldText{
			"captureId": {
				Label:       "捕获 ID",
				Description: "要退款的捕获：已付款 PayPal 事件的 transactionId，或“PayPal：捕获订单”的 captureId。",
				Examples: map[string]string{
					"Paid event": "已付款事件",
				},
			},
			"amount": {
				Label:       "金额（最小货币单位）",
				Description: "要退款的最小货币单位整数。留空则退还该捕获剩余的全部金额。",
				Examples: map[string]string{
					"Part of it":       "部分金额",
					"From the request": "取自请求",
				},
			},
			"currency": {
				Label:       "币种",
				Description: "金额的 ISO 4217 代码，即捕获的币种；填写金额时必填。",
				Examples: map[string]string{
					"From the event": "取自事件",
				},
			},
			"invoiceId": {
				Label:       "发票号",
				Description: "商户为这笔退款开具的发票号。",
			},
			"noteToPayer": {
				Label:       "给付款人的备注",
				Description: "退款原因，展示给付款人；最多 255 个字符。",
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "paypal.trigger", nodes.NodeText{
		Name:        "PayPal 事件",
		Description: "每收到一个经 PayPal 验证的 Webhook 事件（付款已捕获、已退款、被拒绝、订单已批准）就启动一次运行。",
		Outputs:     map[string]string{"main": "事件"},
		Params: map[string]nodes.FieldText{
			"tolerance": {
				Label:       "发送时间容差",
				Description: "PAYPAL-TRANSMISSION-TIME 与服务器时钟相差超过此值的投递会被视为重放而拒绝（401 paypal_timestamp_stale）。范围 30s 到 1h。",
				Examples: map[string]string{
					"Five minutes":    "五分钟",
					"Fifteen minutes": "十五分钟",
				},
			},
			"maxBodyBytes": {
				Label:       "请求体大小上限（字节）",
				Description: "更大的投递会以 413 拒绝。最大 8 MiB。",
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "paypal.app", nodes.CredentialText{
		Name:        "PayPal REST 应用",
		Description: "开发者控制台（Apps & Credentials）中的 PayPal REST 应用。正式应用填在正式字段中，沙箱应用填在测试变体中。Ferry 用客户端 ID 和密钥获取访问令牌（OAuth2 客户端凭据），并在令牌即将过期前一直复用。",
		Fields: map[string]nodes.FieldText{
			"environment": {
				Label:       "环境",
				Description: "应用所属的 PayPal 环境。测试变体请选沙箱。",
				Options: map[string]nodes.OptionText{
					"live":    {Label: "正式环境", Description: "https://api-m.paypal.com"},
					"sandbox": {Label: "沙箱", Description: "https://api-m.sandbox.paypal.com"},
					"custom":  {Label: "自定义基础地址", Description: "与 PayPal 兼容的接口，例如测试替身。"},
				},
			},
			"baseUrl": {
				Label:       "基础地址",
				Description: "API 的根地址，不带后续路径。",
				Examples: map[string]string{
					"Local double": "本地测试替身",
				},
			},
			"clientId": {
				Label:       "客户端 ID",
				Description: "应用的客户端 ID。",
			},
			"clientSecret": {
				Label:       "客户端密钥",
				Description: "应用的密钥；它只会发送到 PayPal 的令牌接口。",
			},
			"webhookId": {
				Label:       "Webhook ID",
				Description: "PayPal 为指向该流程的 Webhook 显示的 ID（例如 8PT597110X687430LKGECATA）。PayPal 事件触发器需要它，并会将其发送给 PayPal 的 verify-webhook-signature 接口。",
			},
		},
	})
}
