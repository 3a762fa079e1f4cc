package alipay

import "github.com/ferry-hq/ferry/nodes"

// Simplified Chinese text of the Alipay nodes and credential type, served when the editor asks for zh-CN. The specs
// stay the English source; a string missing here falls back to English, and the completeness test in nodes/all names
// it.
func init() {
	nodes.MustTranslate(nodes.LangChinese, "alipay.close", nodes.NodeText{
		Name:        "支付宝：关闭交易",
		Description: "关闭尚未付款的交易，买家将无法再付款（alipay.trade.close）。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "已关闭"},
		Params: map[string]nodes.FieldText{
			"outTradeNo": {
				Label:       "商户订单号（out_trade_no）",
				Description: "创建交易时使用的商户订单号。填写此项或支付宝交易号。",
				Examples: map[string]string{
					"From the notification": "取自通知",
					"From the order":        "取自订单",
				},
			},
			"tradeNo": {
				Label:       "支付宝交易号（trade_no）",
				Description: "支付宝为该交易生成的编号；填写时优先使用，否则使用商户订单号。",
				Examples: map[string]string{
					"From the notification": "取自通知",
				},
			},
			"operatorId": {
				Label:       "操作员",
				Description: "商户的操作员编号（operator_id），由支付宝随交易一并保存。",
				Examples: map[string]string{
					"Fixed": "固定值",
				},
			},
			"extraBizContent": {
				Label:       "更多 biz_content",
				Description: "其他 biz_content 字段：一个 JSON 对象，或一个返回对象的 {{ expression }}，按原样发送（参见支付宝 API 文档）。不得重复本节点自身设置的字段。",
				Examples: map[string]string{
					"Store id":             "门店编号",
					"From an earlier step": "取自前面的步骤",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "alipay.precreate", nodes.NodeText{
		Name:        "支付宝：扫码下单",
		Description: "创建一笔由买家扫描二维码付款的交易（alipay.trade.precreate，当面付）。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "二维码"},
		Params: map[string]nodes.FieldText{
			"outTradeNo": {
				Label:       "商户订单号（out_trade_no）",
				Description: "商户订单号：最多 64 位字母、数字和下划线，每笔交易唯一。重复提交同一订单号会返回同一笔交易，因此重试只会创建一笔。",
				Examples: map[string]string{
					"From the order": "取自订单",
				},
			},
			"totalAmount": {
				Label:       "金额（元）",
				Description: "以元为单位的小数，如 88.00，或金额对象 {minor, currency}。",
				Examples: map[string]string{
					"From the order": "取自订单",
					"Fixed":          "固定值",
				},
			},
			"subject": {
				Label:       "订单标题",
				Description: "买家看到的付款内容。",
				Examples: map[string]string{
					"Order": "订单",
				},
			},
			"body": {
				Label:       "描述",
				Description: "商品的详细描述（body）。",
				Examples: map[string]string{
					"Items": "商品",
				},
			},
			"timeoutExpress": {
				Label:       "付款时限",
				Description: "买家须在多长时间内付款，超时交易即关闭：1m 到 15d，单位为 m、h 或 d（timeout_express）。",
				Examples: map[string]string{
					"Half an hour": "半小时",
					"Two hours":    "两小时",
				},
			},
			"notifyUrl": {
				Label:       "通知地址",
				Description: "支付宝发送支付通知的地址（notify_url）：以 alipay.trigger 开始的流程的 Webhook 地址。",
				Examples: map[string]string{
					"Ferry flow": "Ferry 流程",
				},
			},
			"extraBizContent": {
				Label:       "更多 biz_content",
				Description: "其他 biz_content 字段：一个 JSON 对象，或一个返回对象的 {{ expression }}，按原样发送（参见支付宝 API 文档）。不得重复本节点自身设置的字段。",
				Examples: map[string]string{
					"Store id":             "门店编号",
					"From an earlier step": "取自前面的步骤",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "alipay.query", nodes.NodeText{
		Name:        "支付宝：查询交易",
		Description: "按商户订单号或支付宝交易号查询交易（alipay.trade.query）。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "交易"},
		Params: map[string]nodes.FieldText{
			"outTradeNo": {
				Label:       "商户订单号（out_trade_no）",
				Description: "创建交易时使用的商户订单号。填写此项或支付宝交易号。",
				Examples: map[string]string{
					"From the notification": "取自通知",
					"From the order":        "取自订单",
				},
			},
			"tradeNo": {
				Label:       "支付宝交易号（trade_no）",
				Description: "支付宝为该交易生成的编号；填写时优先使用，否则使用商户订单号。",
				Examples: map[string]string{
					"From the notification": "取自通知",
				},
			},
			"extraBizContent": {
				Label:       "更多 biz_content",
				Description: "其他 biz_content 字段：一个 JSON 对象，或一个返回对象的 {{ expression }}，按原样发送（参见支付宝 API 文档）。不得重复本节点自身设置的字段。",
				Examples: map[string]string{
					"Store id":             "门店编号",
					"From an earlier step": "取自前面的步骤",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "alipay.refund", nodes.NodeText{
		Name:        "支付宝：退款",
		Description: "对已付款的交易全额或部分退款（alipay.trade.refund），无论重试多少次都只退一次。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "已退款"},
		Params: map[string]nodes.FieldText{
			"outTradeNo": {
				Label:       "商户订单号（out_trade_no）",
				Description: "创建交易时使用的商户订单号。填写此项或支付宝交易号。",
				Examples: map[string]string{
					"From the notification": "取自通知",
					"From the order":        "取自订单",
				},
			},
			"tradeNo": {
				Label:       "支付宝交易号（trade_no）",
				Description: "支付宝为该交易生成的编号；填写时优先使用，否则使用商户订单号。",
				Examples: map[string]string{
					"From the notification": "取自通知",
				},
			},
			"refundAmount": {
				Label:       "退款金额（元）",
				Description: "退还多少：以元为单位的小数，如 88.00，或金额对象 {minor, currency}，例如支付事件中的金额。等于订单总额时全额退款（交易随之关闭）；小于总额为部分退款，可多次退款直至总额。",
				Examples: map[string]string{
					"The whole payment": "全部付款",
					"Fixed":             "固定值",
					"From the shop":     "取自商城",
				},
			},
			"outRequestNo": {
				Label:       "退款请求号（out_request_no）",
				Description: "标识该交易内的这笔退款：同一请求号支付宝只退一次。留空则使用步骤的幂等键，本次运行中该步骤每次重试都相同。设为商城的退款编号，可在重放运行时同样避免重复退款。",
				Examples: map[string]string{
					"Shop refund id": "商城退款编号",
				},
			},
			"refundReason": {
				Label:       "原因",
				Description: "展示给买家（refund_reason）。",
				Examples: map[string]string{
					"Out of stock": "缺货",
				},
			},
			"extraBizContent": {
				Label:       "更多 biz_content",
				Description: "其他 biz_content 字段：一个 JSON 对象，或一个返回对象的 {{ expression }}，按原样发送（参见支付宝 API 文档）。不得重复本节点自身设置的字段。",
				Examples: map[string]string{
					"Store id":             "门店编号",
					"From an earlier step": "取自前面的步骤",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "alipay.trigger", nodes.NodeText{
		Name:        "支付宝通知",
		Description: "支付宝通知付款、交易关闭或退款时启动一次运行（异步通知）。",
		Outputs:     map[string]string{"main": "支付事件"},
		Params: map[string]nodes.FieldText{
			"maxAge": {
				Label:       "最长时效",
				Description: "notify_time 早于此时限的通知会被拒绝（alipay_notify_stale），以防截获的通知日后被重放。支付宝约 25 小时后停止重发；设为 0s 则关闭此检查。",
				Examples: map[string]string{
					"Two days": "两天",
					"Off":      "关闭",
				},
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "alipay.app", nodes.CredentialText{
		Name:        "支付宝应用",
		Description: "使用 RSA2 签名的支付宝开放平台应用：应用 ID、应用私钥和支付宝公钥（或证书）。为凭据添加保存沙箱应用的测试变体，并将“环境”设为“沙箱”，测试运行即使用沙箱。",
		Fields: map[string]nodes.FieldText{
			"appId": {
				Label:       "应用 ID",
				Description: "开放平台控制台中的应用 APPID（沙箱应用有各自的 APPID）。",
				Examples: map[string]string{
					"App ID": "应用 ID",
				},
			},
			"privateKey": {
				Label:       "应用私钥",
				Description: "密钥工具生成的应用 RSA2 私钥：PEM 或纯 base64，PKCS#1 或 PKCS#8 均可。请求用它签名；它绝不会离开 Ferry。",
			},
			"mode": {
				Label:       "接口加签方式",
				Description: "应用配置的验证支付宝签名的方式（接口加签方式）。",
				Options: map[string]nodes.OptionText{
					"publicKey":   {Label: "公钥", Description: "控制台显示的是支付宝公钥。"},
					"certificate": {Label: "公钥证书", Description: "控制台签发了证书（公钥证书）：应用证书、支付宝证书和根证书。"},
				},
			},
			"alipayPublicKey": {
				Label:       "支付宝公钥",
				Description: "支付宝公钥，不是应用自己的公钥：通知和接口返回都用它验签。PEM 或纯 base64。",
			},
			"appPublicCert": {
				Label:       "应用公钥证书",
				Description: "appCertPublicKey_<appid>.crt：每个请求都带上它的序列号（app_cert_sn）。",
			},
			"alipayPublicCert": {
				Label:       "支付宝公钥证书",
				Description: "alipayCertPublicKey_RSA2.crt：通知和接口返回都用其公钥验签；它必须能链到根证书。",
			},
			"alipayRootCert": {
				Label:       "支付宝根证书",
				Description: "完整的 alipayRootCert.crt：每个请求都带上其中 RSA 证书的序列号（alipay_root_cert_sn）。",
			},
			"environment": {
				Label:       "环境",
				Description: "调用哪个网关：生产环境，或供沙箱应用使用的沙箱（通常用于测试变体）。",
				Options: map[string]nodes.OptionText{
					"production": {Label: "生产环境", Description: "https://openapi.alipay.com/gateway.do"},
					"sandbox":    {Label: "沙箱", Description: "https://openapi-sandbox.dl.alipaydev.com/gateway.do"},
				},
			},
			"gateway": {
				Label:       "网关地址",
				Description: "覆盖所选环境的网关，用于代理或新的沙箱地址。",
				Examples: map[string]string{
					"Sandbox": "沙箱",
				},
			},
		},
	})
}
