package wechatpay

import "github.com/ferry-hq/ferry/nodes"

// Simplified Chinese text of the WeChat Pay nodes and credential type, served when the editor asks for zh-CN. The
// specs stay the English source; a string missing here falls back to English, and the completeness test in nodes/all
// names it.
func init() {
	nodes.MustTranslate(nodes.LangChinese, "wechatpay.close", nodes.NodeText{
		Name:        "微信支付：关闭订单",
		Description: "关闭未支付的订单，使其无法再支付（POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close）。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "已关闭"},
		Params: map[string]nodes.FieldText{
			"outTradeNo": {
				Label:       "商户订单号（out_trade_no）",
				Description: "下单时提交给微信支付的商户订单号；可插入 {{ }}。",
				Examples: map[string]string{
					"From a WeChat Pay trigger": "取自微信支付触发器",
					"From the input":            "取自输入",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "wechatpay.native", nodes.NodeText{
		Name:        "微信支付：Native 下单（二维码）",
		Description: "创建 Native 支付并返回用于生成二维码的 code_url（POST /v3/pay/transactions/native）。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "订单"},
		Params: map[string]nodes.FieldText{
			"outTradeNo": {
				Label:       "商户订单号（out_trade_no）",
				Description: "下单时提交给微信支付的商户订单号；可插入 {{ }}。",
				Examples: map[string]string{
					"From a WeChat Pay trigger": "取自微信支付触发器",
					"From the input":            "取自输入",
				},
			},
			"description": {
				Label:       "描述",
				Description: "付款人在支付页面上看到的商品描述，最多 127 个字符。",
				Examples: map[string]string{
					"Order": "订单",
				},
			},
			"total": {
				Label:       "金额",
				Description: "付款人支付的金额。单位为分（整数，最小货币单位）：100 即 ¥1.00。小数金额请用 toMinor() 转换。",
				Examples: map[string]string{
					"From the input": "取自输入",
				},
			},
			"notifyUrl": {
				Label:       "通知地址",
				Description: "微信支付推送支付结果的地址（https）：含 wechatpay.trigger 的流程的 Webhook 地址。",
				Examples: map[string]string{
					"Ferry flow": "Ferry 流程",
				},
			},
			"timeExpire": {
				Label:       "支付截止时间",
				Description: "RFC 3339 格式的时间，过后订单将无法支付。",
				Examples: map[string]string{
					"Fixed": "固定值",
				},
			},
			"attach": {
				Label:       "附加数据",
				Description: "最多 128 个字符，在查询结果和通知中原样返回（raw.resource.attach）。",
			},
			"currency": {
				Label:       "币种",
				Description: "ISO 4217 代码；境内微信支付仅支持 CNY。",
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "wechatpay.query", nodes.NodeText{
		Name:        "微信支付：查询订单",
		Description: "按商户订单号查询订单（GET /v3/pay/transactions/out-trade-no/{out_trade_no}）。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "订单", "notFound": "未找到"},
		Params: map[string]nodes.FieldText{
			"outTradeNo": {
				Label:       "商户订单号（out_trade_no）",
				Description: "下单时提交给微信支付的商户订单号；可插入 {{ }}。",
				Examples: map[string]string{
					"From a WeChat Pay trigger": "取自微信支付触发器",
					"From the input":            "取自输入",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "wechatpay.refund", nodes.NodeText{
		Name:        "微信支付：退款",
		Description: "对订单全额或部分退款（POST /v3/refund/domestic/refunds）。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "退款"},
		Params: map[string]nodes.FieldText{
			"outTradeNo": {
				Label:       "商户订单号（out_trade_no）",
				Description: "下单时提交给微信支付的商户订单号；可插入 {{ }}。",
				Examples: map[string]string{
					"From a WeChat Pay trigger": "取自微信支付触发器",
					"From the input":            "取自输入",
				},
			},
			"total": {
				Label:       "订单总额",
				Description: "订单原始总金额，微信支付要求每次退款都提供。单位为分（整数，最小货币单位）：100 即 ¥1.00。小数金额请用 toMinor() 转换。",
				Examples: map[string]string{
					"From a WeChat Pay trigger": "取自微信支付触发器",
				},
			},
			"amount": {
				Label:       "退款金额",
				Description: "留空则全额退款；金额较小时为部分退款。单位为分（整数，最小货币单位）：100 即 ¥1.00。小数金额请用 toMinor() 转换。",
				Examples: map[string]string{
					"Whole order": "整单退款",
					"Partial":     "部分退款",
				},
			},
			"reason": {
				Label:       "原因",
				Description: "在退款消息中展示给付款人，最多 80 个字符。",
				Examples: map[string]string{
					"Cancelled": "已取消",
				},
			},
			"notifyUrl": {
				Label:       "通知地址",
				Description: "微信支付推送退款结果的地址：含 wechatpay.trigger 的流程的 Webhook 地址。留空则使用商户平台上配置的地址。",
				Examples: map[string]string{
					"Ferry flow": "Ferry 流程",
				},
			},
			"currency": {
				Label:       "币种",
				Description: "ISO 4217 代码；境内微信支付仅支持 CNY。",
			},
			"outRefundNo": {
				Label:       "商户退款单号（out_refund_no）",
				Description: "留空（推荐）则由步骤的幂等键生成，本次运行中该步骤每次重试都相同，因此无论重试多少次微信支付都只退款一次。仅在需要沿用其他系统的退款单号时填写（最多 64 个字符，限 0-9 A-Z a-z _ - | * @）。",
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "wechatpay.trigger", nodes.NodeText{
		Name:        "微信支付通知",
		Description: "微信支付（API v3）通知支付或退款时启动一次运行。",
		Outputs:     map[string]string{"main": "支付事件"},
		Params: map[string]nodes.FieldText{
			"acknowledgement": {
				Label:       "应答方式",
				Description: "运行保存后如何应答通知。API v3 中微信支付只读取状态码；JSON 应答体用于仍需要它的旧版集成。",
				Options: map[string]nodes.OptionText{
					"empty": {Label: "200，无应答体", Description: "按 API v3 通知文档（支付成功回调通知、退款结果通知）的要求。"},
					"json":  {Label: "200 并返回 {\"code\":\"SUCCESS\",\"message\":\"成功\"}", Description: "早期 API v3 指引中的应答方式。"},
				},
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "wechatpay.merchant", nodes.CredentialText{
		Name:        "微信支付商户（API v3）",
		Description: "微信支付商户账户的 API v3 密钥：用于对请求签名（wechatpay.query、.refund、.close、.native），验证微信支付的应答和通知，以及解密通知（wechatpay.trigger）。",
		Fields: map[string]nodes.FieldText{
			"mchid": {
				Label:       "商户号（mchid）",
				Description: "商户号，见商户平台的账户中心页面。",
				Examples: map[string]string{
					"Merchant id": "商户号",
				},
			},
			"serialNo": {
				Label:       "商户证书序列号",
				Description: "商户API证书序列号，见 API安全 → 管理证书（或运行 `openssl x509 -noout -serial -in apiclient_cert.pem`）。",
				Examples: map[string]string{
					"Serial": "序列号",
				},
			},
			"privateKey": {
				Label:       "商户私钥（PEM）",
				Description: "商户API私钥：apiclient_key.pem 的内容，包括 -----BEGIN PRIVATE KEY-----。用于对每个请求签名。",
			},
			"apiV3Key": {
				Label:       "APIv3 密钥",
				Description: "APIv3密钥：在 API安全 下设置的 32 位密钥。用于解密通知。",
			},
			"publicKeyId": {
				Label:       "微信支付公钥 ID",
				Description: "微信支付公钥ID（PUB_KEY_ID_…），供使用微信支付公钥验签的商户填写。请填写此项和公钥，或平台证书，迁移期间可两者都填。",
				Examples: map[string]string{
					"Public key id": "公钥 ID",
				},
			},
			"publicKey": {
				Label:       "微信支付公钥（PEM）",
				Description: "微信支付公钥：pub_key.pem 的内容，包括 -----BEGIN PUBLIC KEY-----。",
			},
			"platformCertificates": {
				Label:       "平台证书（PEM）",
				Description: "微信支付平台证书：一个或多个 -----BEGIN CERTIFICATE----- 块，即从 /v3/certificates 下载并解密后的内容。请在微信支付切换到新证书之前把新证书加到这里；由未知证书签名的通知会以 wechatpay_serial_unknown 拒绝，稍后会重新投递。",
			},
			"appid": {
				Label:       "应用 ID（appid）",
				Description: "与商户号绑定的公众号、小程序或移动应用的 AppID；wechatpay.native 需要它。",
				Examples: map[string]string{
					"App id": "应用 ID",
				},
			},
			"baseUrl": {
				Label:       "API 基础地址",
				Description: "访问 API v3 的地址；可设为备用域名 https://api2.mch.weixin.qq.com，测试变体可设为测试替身。",
				Examples: map[string]string{
					"Primary": "主域名",
					"Backup":  "备用域名",
				},
			},
		},
	})
}
