package stripe

import "github.com/ferry-hq/ferry/nodes"

// Simplified Chinese text of the Stripe nodes and credential type, served when the editor asks for zh-CN. The specs
// stay the English source; a string missing here falls back to English, and the completeness test in nodes/all names
// it.
func init() {
	nodes.MustTranslate(nodes.LangChinese, "stripe.customer.upsert", nodes.NodeText{
		Name:        "Stripe：创建或更新客户",
		Description: "按电子邮箱查找 Stripe 客户并更新，找不到则创建。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "客户"},
		Params: map[string]nodes.FieldText{
			"email": {
				Label:       "电子邮箱",
				Description: "用于识别客户。Stripe 按原样精确匹配，区分大小写：如果 CRM 未转为小写，请在映射中转换。",
				Examples: map[string]string{
					"From the CRM": "取自 CRM",
				},
			},
			"name": {
				Label: "姓名",
			},
			"phone": {
				Label: "电话",
			},
			"description": {
				Label: "描述",
			},
			"metadata": {
				Label:       "元数据",
				Description: "保存在 Stripe 对象上的键值对（最多 50 个键）；值可插入 {{ }}。",
				Examples: map[string]string{
					"CRM id": "CRM 编号",
				},
			},
			"extra": {
				Label:       "附加参数",
				Description: "Stripe API 调用的其他任意参数，用 Stripe 的方括号写法命名；值可插入 {{ }}。最后应用，因此会覆盖上面的字段。",
				Examples: map[string]string{
					"Card only": "仅银行卡",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "stripe.payment-intent.create", nodes.NodeText{
		Name:        "Stripe：创建支付意图",
		Description: "按最小货币单位金额创建 Stripe PaymentIntent，并标记订单号。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "Stripe 对象"},
		Params: map[string]nodes.FieldText{
			"amount": {
				Label:       "金额（最小货币单位）",
				Description: "以该币种最小货币单位表示的整数：1999 即 19.99 USD，500 即 500 JPY。小数请用 toMinor(amount, currency) 转换。",
				Examples: map[string]string{
					"Mapped cents":   "映射后的分值",
					"From a decimal": "由小数转换",
				},
			},
			"currency": {
				Label:       "币种",
				Description: "ISO 4217 代码；按 Stripe 要求以小写发送。",
				Examples: map[string]string{
					"US dollars":     "美元",
					"From the order": "取自订单",
				},
			},
			"orderId": {
				Label:       "订单号",
				Description: "商户订单号，以订单号元数据键保存在元数据中，Stripe 触发器会将其读回为 merchantOrderId。",
				Examples: map[string]string{
					"From the trigger": "取自触发器",
				},
			},
			"customer": {
				Label:       "客户 ID",
				Description: "Stripe 客户（cus_…），例如“Stripe：创建或更新客户”的输出。",
				Examples: map[string]string{
					"From upsert": "取自创建或更新客户",
				},
			},
			"description": {
				Label: "描述",
			},
			"receiptEmail": {
				Label:       "收据邮箱",
				Description: "付款成功后 Stripe 会将收据发到此邮箱（正式模式）。",
			},
			"paymentMethod": {
				Label:       "支付方式 ID",
				Description: "要扣款的已保存支付方式（pm_…），通常配合开启“立即确认”。",
			},
			"confirm": {
				Label:       "立即确认",
				Description: "立即用该支付方式确认（用于用户不在场的扣款）；否则由客户端用 client_secret 确认。",
			},
			"captureMethod": {
				Label: "扣款方式",
				Options: map[string]nodes.OptionText{
					"automatic":       {Label: "自动", Description: "付款授权时即扣款。"},
					"automatic_async": {Label: "自动（异步）"},
					"manual":          {Label: "手动", Description: "先授权，稍后扣款。"},
				},
			},
			"metadata": {
				Label:       "元数据",
				Description: "保存在 Stripe 对象上的键值对（最多 50 个键）；值可插入 {{ }}。",
				Examples: map[string]string{
					"CRM id": "CRM 编号",
				},
			},
			"orderIdKey": {
				Label:       "订单号元数据键",
				Description: "存放订单号的元数据键；须与 Stripe 触发器的设置一致。",
			},
			"extra": {
				Label:       "附加参数",
				Description: "Stripe API 调用的其他任意参数，用 Stripe 的方括号写法命名；值可插入 {{ }}。最后应用，因此会覆盖上面的字段。",
				Examples: map[string]string{
					"Card only": "仅银行卡",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "stripe.payment-intent.retrieve", nodes.NodeText{
		Name:        "Stripe：获取支付意图",
		Description: "读取 Stripe PaymentIntent：状态、金额和最近一笔扣款。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "Stripe 对象"},
		Params: map[string]nodes.FieldText{
			"id": {
				Label:       "支付意图 ID",
				Description: "pi_…",
				Examples: map[string]string{
					"From the Stripe trigger": "取自 Stripe 触发器",
				},
			},
			"expand": {
				Label:       "展开",
				Description: "需要完整返回的关联对象，以逗号分隔。",
				Examples: map[string]string{
					"Latest charge":       "最近一笔扣款",
					"Charge and customer": "扣款和客户",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "stripe.refund", nodes.NodeText{
		Name:        "Stripe：退款",
		Description: "对 Stripe 付款全额或部分退款。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "Stripe 对象"},
		Params: map[string]nodes.FieldText{
			"paymentIntent": {
				Label:       "支付意图 ID",
				Description: "要退款的付款：支付意图（pi_…），旧版集成则为扣款（ch_… 或 py_…）。",
				Examples: map[string]string{
					"From the Stripe trigger": "取自 Stripe 触发器",
					"From the CRM":            "取自 CRM",
				},
			},
			"amount": {
				Label:       "金额（最小货币单位）",
				Description: "部分退款时以最小货币单位表示的整数；留空则退还该付款剩余的全部金额。",
				Examples: map[string]string{
					"Partial, from the CRM": "部分退款，取自 CRM",
				},
			},
			"reason": {
				Label: "原因",
				Options: map[string]nodes.OptionText{
					"none":                  {Label: "未提供"},
					"requested_by_customer": {Label: "客户申请"},
					"duplicate":             {Label: "重复付款"},
					"fraudulent":            {Label: "欺诈", Description: "同时有助于 Stripe 的欺诈检测。"},
				},
			},
			"orderId": {
				Label:       "订单号",
				Description: "商户订单号，以订单号元数据键保存在元数据中，Stripe 触发器会将其读回为 merchantOrderId。",
				Examples: map[string]string{
					"From the trigger": "取自触发器",
				},
			},
			"metadata": {
				Label:       "元数据",
				Description: "保存在 Stripe 对象上的键值对（最多 50 个键）；值可插入 {{ }}。",
				Examples: map[string]string{
					"CRM id": "CRM 编号",
				},
			},
			"orderIdKey": {
				Label:       "订单号元数据键",
				Description: "存放订单号的元数据键；须与 Stripe 触发器的设置一致。",
			},
			"extra": {
				Label:       "附加参数",
				Description: "Stripe API 调用的其他任意参数，用 Stripe 的方括号写法命名；值可插入 {{ }}。最后应用，因此会覆盖上面的字段。",
				Examples: map[string]string{
					"Card only": "仅银行卡",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "stripe.trigger", nodes.NodeText{
		Name:        "Stripe 事件",
		Description: "每收到一个经验证的 Stripe Webhook 事件（付款、退款、结账）就启动一次运行，并统一转换为 Ferry 的支付事件。",
		Outputs:     map[string]string{"main": "事件"},
		Params: map[string]nodes.FieldText{
			"eventTypes": {
				Label:       "接受的事件类型",
				Description: "本流程处理的 Stripe 事件类型，以逗号分隔；末尾加 .* 可接受整类事件。留空则接受端点发送的所有类型。请让 Stripe 端点订阅相同的类型，以免 Stripe 发送流程会忽略的事件。",
				Examples: map[string]string{
					"Payments and refunds":       "付款和退款",
					"Checkout":                   "结账",
					"Every payment intent event": "所有支付意图事件",
				},
			},
			"ignoredEvents": {
				Label:       "其他事件类型",
				Description: "对于已验证但类型不在上述接受范围内的事件，如何答复 Stripe。",
				Options: map[string]nodes.OptionText{
					"acknowledge": {Label: "确认收到，不运行", Description: "200 {\"received\":true}：Stripe 不再投递该事件；不启动运行。"},
					"reject":      {Label: "拒绝", Description: "400 stripe_event_type_ignored：Stripe 会在最多三天内重试，并可能停用持续失败的端点。"},
				},
			},
			"orderIdKey": {
				Label:       "订单号元数据键",
				Description: "支付意图、扣款、退款或结账会话上存放商户订单号的元数据键；其值成为 merchantOrderId 和运行的业务键。没有该键的结账会话改用 client_reference_id。",
				Examples: map[string]string{
					"order_id": "order_id",
					"CRM deal": "CRM 商机",
				},
			},
			"tolerance": {
				Label:       "签名时间容差",
				Description: "签名时间戳与 Ferry 时钟允许相差多少；更早（重放）或时间在未来的投递会以 stripe_timestamp_stale 拒绝。范围 10s 到 1h。",
				Examples: map[string]string{
					"Stripe's default": "Stripe 默认值",
				},
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "stripe.account", nodes.CredentialText{
		Name:        "Stripe 账户",
		Description: "供 Stripe 操作节点使用的 Stripe 密钥，以及供 Stripe 触发器使用的 Webhook 端点签名密钥。正式密钥（sk_live_…）和正式端点的签名密钥填在正式变体中，sk_test_… 和测试端点的签名密钥填在测试变体中：这样测试运行绝不会动用真实资金。",
		Fields: map[string]nodes.FieldText{
			"secretKey": {
				Label:       "密钥",
				Description: "Developers → API keys：sk_live_…（测试变体中为 sk_test_…），或有权写入支付意图、退款和客户并读取余额的受限密钥 rk_…。操作节点需要它；只用于触发器的凭据可以留空。",
				Examples: map[string]string{
					"Test mode": "测试模式",
				},
			},
			"webhookSecret": {
				Label:       "Webhook 签名密钥",
				Description: "端点的签名密钥（whsec_…），在 Developers → Webhooks 下查看。轮换期间请同时填写新旧两个密钥，以逗号分隔。触发器需要它。",
				Examples: map[string]string{
					"Signing secret": "签名密钥",
				},
			},
			"apiBase": {
				Label:       "API 基础地址",
				Description: "API 调用的目标地址；留空即 https://api.stripe.com。可将测试变体指向 stripe-mock 服务器以离线试运行流程。",
				Examples: map[string]string{
					"Stripe":            "Stripe",
					"Local stripe-mock": "本地 stripe-mock",
				},
			},
		},
	})
}
