package core

import "github.com/ferry-hq/ferry/nodes"

// Simplified Chinese text of the core nodes (triggers, logic, data, HTTP) and their credential types, served when
// the editor asks for zh-CN. The specs stay the English source; a string missing here falls back to English, and the
// completeness test in nodes/all names it.
func init() {
	nodes.MustTranslate(nodes.LangChinese, "core.condition", nodes.NodeText{
		Name:        "条件判断",
		Description: "根据条件将数据发往“是”或“否”分支。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"true": "是", "false": "否"},
		Params: map[string]nodes.FieldText{
			"condition": {
				Label:       "条件",
				Description: "结果必须为 true 或 false 的表达式。条件求值出错（例如读取不存在对象的字段）会使步骤失败；可用 ?. 和 ?? 处理缺失的数据。",
				Examples: map[string]string{
					"Large order":    "大额订单",
					"Paid":           "已支付",
					"Live runs only": "仅正式运行",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "core.delay", nodes.NodeText{
		Name:        "延时",
		Description: "等待一段时间或直到某个时间点，然后继续。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "继续"},
		Params: map[string]nodes.FieldText{
			"mode": {
				Label: "等待方式",
				Options: map[string]nodes.OptionText{
					"duration": {Label: "等待一段时长"},
					"until":    {Label: "等到某个时间"},
				},
			},
			"duration": {
				Label:       "时长",
				Description: "等待多久，如 10m 或 1h30m；最长 366 天。",
				Examples: map[string]string{
					"Ten minutes": "十分钟",
					"One day":     "一天",
				},
			},
			"until": {
				Label:       "直到",
				Description: "要等到的时间：RFC 3339 文本、日期、Unix 秒或毫秒，或返回其中之一的表达式。未带时区的时间按 UTC 处理；时间已过则不等待。",
				Examples: map[string]string{
					"Fixed time":       "固定时间",
					"From the payload": "取自载荷",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "core.http", nodes.NodeText{
		Name:        "HTTP 请求",
		Description: "调用任意 HTTP API，并将其响应传给下一步。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "响应"},
		Params: map[string]nodes.FieldText{
			"method": {
				Label: "请求方法",
				Options: map[string]nodes.OptionText{
					"GET":    {Label: "GET"},
					"POST":   {Label: "POST"},
					"PUT":    {Label: "PUT"},
					"PATCH":  {Label: "PATCH"},
					"DELETE": {Label: "DELETE"},
					"HEAD":   {Label: "HEAD"},
				},
			},
			"url": {
				Label:       "URL",
				Description: "http 或 https 地址；可插入 {{ }} 表达式。",
				Examples: map[string]string{
					"Static":     "固定地址",
					"With an id": "带编号",
				},
			},
			"query": {
				Label:       "查询参数",
				Description: "添加到 URL 的查询串中，替换同名参数；值可插入 {{ }}。",
				Examples: map[string]string{
					"Search by email": "按邮箱搜索",
				},
			},
			"headers": {
				Label:       "请求头",
				Description: "请求头；值可插入 {{ }}。密钥请放在凭据中，不要写在这里。",
				Examples: map[string]string{
					"Accept JSON": "接受 JSON",
				},
			},
			"bodyType": {
				Label: "请求体",
				Options: map[string]nodes.OptionText{
					"none": {Label: "无"},
					"json": {Label: "JSON", Description: "以 application/json 发送。"},
					"form": {Label: "表单", Description: "以 application/x-www-form-urlencoded 发送。"},
					"raw":  {Label: "原始文本", Description: "以 text/plain 发送，除非 Content-Type 请求头另有指定。"},
				},
			},
			"body": {
				Label:       "请求体内容",
				Description: "JSON：单个 {{ expression }} 会把其值编码为 JSON 发送（发送数据的安全方式），其他文本渲染后必须是合法的 JSON。表单：返回对象的单个 {{ expression }} 会按表单编码，文本按原样发送。原始文本：发送渲染后的文本。",
				Examples: map[string]string{
					"Previous step's output": "上一步的输出",
					"Built object":           "构造的对象",
					"JSON text":              "JSON 文本",
				},
			},
			"timeout": {
				Label:       "超时",
				Description: "整个请求往返允许的时间，最长 5m。超时会重试。",
				Examples: map[string]string{
					"Thirty seconds": "三十秒",
					"Two minutes":    "两分钟",
				},
			},
			"idempotencyKey": {
				Label:       "发送幂等键",
				Description: "发送一个在本次运行中该步骤每次重试都相同的键，支持幂等键的 API（Stripe 及大多数支付 API）只会执行一次调用。",
			},
			"idempotencyHeader": {
				Label:       "幂等键请求头",
				Description: "携带幂等键的请求头。",
				Examples: map[string]string{
					"Standard":   "标准",
					"Request id": "请求编号",
				},
			},
			"rateLimit": {
				Label:       "限流（每秒请求数）",
				Description: "该步骤每秒最多发送的请求数，所有运行和所有工作进程合并计算：节点有凭据时按凭据计，否则按主机计。留空表示不设自身限制；凭据上设置的限流优先。超出限制的步骤会排队等待（等待较久时会释放工作进程），收到 429 响应后会暂时降低速率。",
				Examples: map[string]string{
					"Two per second (Shopify REST)": "每秒两次（Shopify REST）",
					"One every ten seconds":         "每十秒一次",
				},
			},
			"rateBurst": {
				Label:       "限流突发量",
				Description: "空闲一段时间后可一次发出的请求数；留空表示一秒的配额（至少一个）。",
				Examples: map[string]string{
					"Shopify REST bucket": "Shopify REST 令牌桶",
				},
			},
			"responseType": {
				Label: "响应格式",
				Options: map[string]nodes.OptionText{
					"auto": {Label: "自动", Description: "响应声明为 JSON 且能解析时按 JSON 处理，否则按文本处理。"},
					"json": {Label: "JSON", Description: "响应不是 JSON 时步骤失败。"},
					"text": {Label: "文本"},
				},
			},
			"successCodes": {
				Label:       "成功状态码",
				Description: "视为成功的状态码，以逗号分隔的状态码和范围；留空表示 2xx。适用于例如 404 表示“尚不存在”而流程应继续的情况。",
				Examples: map[string]string{
					"2xx and 404": "2xx 和 404",
					"Range":       "范围",
				},
			},
			"pagination": {
				Label:       "分页",
				Description: "API 如何分页返回列表，用于读取一页或全部页面：此时输出为 {items, count, pages, complete, next}，而不是响应本身。",
				Options: map[string]nodes.OptionText{
					"none":   {Label: "不分页", Description: "一个请求，一个响应。"},
					"link":   {Label: "Link 响应头", Description: "跟随 Link 响应头中 rel=\"next\" 的 URL（GitHub、Shopify REST）。"},
					"cursor": {Label: "游标", Description: "每个响应给出下一页的游标，作为查询参数发回。"},
					"page":   {Label: "页码", Description: "用查询参数指定页码，从 1 开始。"},
					"offset": {Label: "偏移量", Description: "用查询参数跳过相应数量的记录。"},
				},
			},
			"itemsPath": {
				Label:       "记录位置",
				Description: "每个响应中记录列表的位置（JSON 指针）；响应本身就是列表时留空。",
				Examples:    map[string]string{"A data array": "data 数组", "Nested": "嵌套"},
			},
			"nextPath": {
				Label:       "下一页游标位置",
				Description: "响应中下一页游标的位置（JSON 指针）；游标为空表示列表结束。",
				Examples:    map[string]string{"HubSpot": "HubSpot", "Flat": "平铺"},
			},
			"cursorParam": {
				Label:       "游标参数",
				Description: "发送游标所用的查询参数。",
				Examples:    map[string]string{"after": "after"},
			},
			"pageParam": {
				Label:       "页码参数",
				Description: "表示页码的查询参数，从 1 开始。",
			},
			"offsetParam": {
				Label:       "偏移量参数",
				Description: "表示跳过记录数的查询参数。",
			},
			"sizeParam": {
				Label:       "每页数量参数",
				Description: "指定每页记录数的查询参数；留空则不发送（此时不能靠“不满一页”判断列表结束）。",
				Examples:    map[string]string{"limit": "limit", "per_page": "per_page"},
			},
			"totalPagesHeader": {
				Label:       "总页数响应头",
				Description: "给出总页数的响应头（如 X-WP-TotalPages）；没有时，不满一页即为最后一页。",
			},
			"pages": {
				Label:       "页面",
				Description: "读取一页，或在下面的上限内读取全部页面。输出中的 next 可从停止处继续。",
				Options: map[string]nodes.OptionText{
					"one": {Label: "一页"},
					"all": {Label: "全部页面（不超过上限）"},
				},
			},
			"maxItems": {
				Label:       "最多读取记录数",
				Description: "读到这么多条记录后停止（1 到 100000）。",
			},
			"maxPages": {
				Label:       "最多读取页数",
				Description: "发出这么多个请求后停止（1 到 10000）。",
			},
			"pageSize": {
				Label:       "每页记录数",
				Description: "每个请求要求的记录数（1 到 1000）。",
			},
			"start": {
				Label:       "起始游标",
				Description: "从之前某一步停止的位置继续读取列表：即它输出中的 next。",
				Examples:    map[string]string{"Where the previous step stopped": "上一步停止的位置"},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "core.manual", nodes.NodeText{
		Name:        "手动运行",
		Description: "从编辑器或 API 以你提供的 JSON 载荷启动一次运行。",
		Outputs:     map[string]string{"main": "载荷"},
		Params: map[string]nodes.FieldText{
			"sample": {
				Label:       "示例载荷",
				Description: "预先填入手动运行表单的示例载荷，让启动流程的人看到它需要哪些字段。以自带载荷启动运行时不使用它。",
				Examples: map[string]string{
					"Re-sync one order": "重新同步一个订单",
					"Refund":            "退款",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "core.map", nodes.NodeText{
		Name:        "字段映射",
		Description: "用基于已有数据的表达式逐个字段构造一个新对象。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "映射结果"},
		Params: map[string]nodes.FieldText{
			"fields": {
				Label:       "字段",
				Description: "结果中的每个字段占一行，按顺序填充。",
				Examples: map[string]string{
					"Order to CRM deal": "订单转 CRM 商机",
				},
			},
			"fields.target": {
				Label:       "目标字段",
				Description: "结果中的字段名；用点号创建嵌套对象。",
				Examples: map[string]string{
					"Top-level": "顶层字段",
					"Nested":    "嵌套字段",
				},
			},
			"fields.expression": {
				Label:       "值",
				Description: "求值的表达式。可能缺失的字段请用 ?. 和 ??：读取不存在对象的字段会使步骤失败。",
				Examples: map[string]string{
					"Copy":             "复制",
					"Lower-case email": "邮箱转小写",
					"Optional":         "可选",
					"Count items":      "统计商品数",
				},
			},
			"fields.type": {
				Label:       "转换为",
				Description: "对值进行的转换；无法转换的值会使步骤失败，错误码为 map_field_invalid。",
				Options: map[string]nodes.OptionText{
					"any":         {Label: "保持原样"},
					"string":      {Label: "文本"},
					"integer":     {Label: "整数", Description: "接受文本和整数值的浮点数；1.5 会被拒绝。"},
					"number":      {Label: "数字"},
					"boolean":     {Label: "布尔值", Description: "也接受文本形式的 true/false、yes/no、1/0。"},
					"money_minor": {Label: "最小货币单位金额", Description: "149.99 EUR 精确转换为 14999，绝不经过浮点运算。"},
					"time":        {Label: "时间", Description: "接受 RFC 3339 文本、常见日期格式或 Unix 秒/毫秒，输出为 RFC 3339。"},
				},
			},
			"fields.currency": {
				Label:       "币种",
				Description: "ISO 4217 代码，决定小数位数（JPY 0 位、EUR 2 位、KWD 3 位）；可为 {{ }} 表达式。",
				Examples: map[string]string{
					"Renminbi":         "人民币",
					"From the payload": "取自载荷",
				},
			},
			"fields.default": {
				Label:       "默认值",
				Description: "表达式结果为 null 时使用的 JSON 值。",
				Examples: map[string]string{
					"Empty text": "空文本",
					"Zero":       "零",
				},
			},
			"fields.required": {
				Label:       "必填",
				Description: "应用默认值后仍为 null 时使步骤失败（map_field_required）。",
			},
			"keepInput": {
				Label:       "保留输入字段",
				Description: "将映射的字段加入输入对象，而不是构造新对象。嵌套目标会合并到已有的嵌套对象中。",
			},
			"lookups": {
				Label:       "对照表",
				Description: "用于转换取值的具名对照表（状态 → 状态），在字段表达式中以 tables.<name> 读取。",
				Examples: map[string]string{
					"Order status to deal stage": "订单状态转商机阶段",
				},
			},
			"lookups.name": {
				Label:       "表名",
				Description: "表达式中引用该表的名称：字母、数字和 _，不能以数字开头；名为 status 的表读作 tables.status。",
				Examples: map[string]string{
					"Status": "状态",
				},
			},
			"lookups.entries": {
				Label:       "条目",
				Description: "原值 → 新值：数据中出现的值（须与原文完全一致），以及用来替换它的值。",
				Examples: map[string]string{
					"Alipay trade status to CRM deal stage": "支付宝交易状态转 CRM 商机阶段",
				},
			},
			"lookups.default": {
				Label:       "其他情况",
				Description: "表中没有对应条目时 lookup() 返回的值。留空则将此类运行发往错误分支，不会悄无声息地丢失任何值。",
				Examples: map[string]string{
					"Other": "其他",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "core.respond", nodes.NodeText{
		Name:        "响应 Webhook",
		Description: "答复设为“由响应节点答复”的 Webhook 的调用方。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "继续"},
		Params: map[string]nodes.FieldText{
			"status": {
				Label:       "状态码",
				Description: "答复的 HTTP 状态码，200 到 599。",
				Examples: map[string]string{
					"OK":          "成功",
					"Bad request": "请求错误",
				},
			},
			"headers": {
				Label:       "响应头",
				Description: "响应头；值可插入 {{ }}。未设置 Content-Type 时，文本内容以 text/plain 发送，其余以 application/json 发送。",
				Examples: map[string]string{
					"JSON": "JSON",
				},
			},
			"body": {
				Label:       "响应体",
				Description: "单个 {{ expression }} 会按其值发送（对象编码为 JSON）；其他文本渲染后按文本发送。",
				Examples: map[string]string{
					"Previous step's output":     "上一步的输出",
					"Alipay acknowledgement":     "支付宝应答",
					"WeChat Pay acknowledgement": "微信支付应答",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "core.schedule", nodes.NodeText{
		Name:        "定时",
		Description: "按 cron 表达式定义的时间表启动运行。",
		Outputs:     map[string]string{"main": "触发"},
		Params: map[string]nodes.FieldText{
			"cron": {
				Label:       "Cron 表达式",
				Description: "五个字段（分 时 日 月 星期），加上开头的秒为六个字段，或使用描述符：@yearly、@monthly、@weekly、@daily、@hourly、@every 5m。",
				Examples: map[string]string{
					"Every day at 09:00":          "每天 09:00",
					"Every 5 minutes":             "每 5 分钟",
					"Weekdays at 18:30":           "工作日 18:30",
					"Every 30 seconds":            "每 30 秒",
					"Hourly":                      "每小时",
					"Every 15 minutes from start": "自启动起每 15 分钟",
				},
			},
			"timezone": {
				Label:       "时区",
				Description: "解读 cron 字段所用的 IANA 时区，会遵循夏令时。@every 间隔不受其影响。",
				Examples: map[string]string{
					"China":      "中国",
					"UK":         "英国",
					"US Eastern": "美国东部",
					"UTC":        "UTC",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "core.set-vars", nodes.NodeText{
		Name:        "设置变量",
		Description: "设置流程变量，之后的每个步骤都可以通过 vars.<name> 读取。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"main": "继续"},
		Params: map[string]nodes.FieldText{
			"vars": {
				Label:       "变量",
				Description: "按顺序设置；每一行都可以读取上方各行设置的变量。",
				Examples: map[string]string{
					"Customer tier": "客户等级",
				},
			},
			"vars.name": {
				Label:       "名称",
				Description: "字母、数字和 _，不能以数字开头。",
				Examples: map[string]string{
					"Tier":   "等级",
					"Amount": "金额",
				},
			},
			"vars.expression": {
				Label: "值",
				Examples: map[string]string{
					"Tier by amount": "按金额分级",
					"Copy a field":   "复制字段",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "core.switch", nodes.NodeText{
		Name:        "多路分支",
		Description: "将数据发往第一个匹配的分支，都不匹配时发往默认分支。",
		Inputs:      map[string]string{"main": "输入"},
		Outputs:     map[string]string{"default": "默认"},
		Params: map[string]nodes.FieldText{
			"value": {
				Label:       "值",
				Description: "求出与各分支“等于”文本进行比较的值的表达式。任一分支使用“等于”时必填。",
				Examples: map[string]string{
					"Order status":     "订单状态",
					"Payment provider": "支付渠道",
				},
			},
			"cases": {
				Label:       "分支",
				Description: "按顺序检查，第一个匹配的分支生效。每个分支对应一个输出端口。",
				Examples: map[string]string{
					"By payment status": "按支付状态",
				},
			},
			"cases.port": {
				Label:       "端口 ID",
				Description: "输出端口的 ID：小写字母、数字、_ 和 -，不可重复，不能是 default 或 error。",
				Examples: map[string]string{
					"Paid":     "已支付",
					"Refunded": "已退款",
				},
			},
			"cases.label": {
				Label:       "标签",
				Description: "编辑器中端口上显示的名称。",
			},
			"cases.equals": {
				Label:       "等于",
				Description: "值转为文本后与此文本完全相同即匹配：100 匹配数字 100 和文本 \"100\"；true 匹配 true；null 视为空文本。区分大小写。",
				Examples: map[string]string{
					"Status": "状态",
					"Number": "数字",
				},
			},
			"cases.when": {
				Label:       "条件",
				Description: "替代“等于”：此条件为 true 时匹配。",
				Examples: map[string]string{
					"Large order": "大额订单",
					"One of":      "属于其中之一",
				},
			},
		},
	})
	nodes.MustTranslate(nodes.LangChinese, "core.webhook", nodes.NodeText{
		Name:        "Webhook",
		Description: "HTTP 请求到达流程的 Webhook 地址时启动一次运行。",
		Outputs:     map[string]string{"main": "请求"},
		Params: map[string]nodes.FieldText{
			"method": {
				Label:       "HTTP 方法",
				Description: "其他方法的请求会以 405 拒绝。",
				Options: map[string]nodes.OptionText{
					"POST":   {Label: "POST"},
					"GET":    {Label: "GET"},
					"PUT":    {Label: "PUT"},
					"PATCH":  {Label: "PATCH"},
					"DELETE": {Label: "DELETE"},
					"ANY":    {Label: "任意方法"},
				},
			},
			"auth": {
				Label:       "身份验证",
				Description: "调用方如何证明身份。密钥保存在节点的凭据中，绝不写入流程。验证失败时以 401 和通用提示答复。",
				Options: map[string]nodes.OptionText{
					"none":   {Label: "无", Description: "任何知道该地址的人都能启动运行。"},
					"header": {Label: "请求头令牌", Description: "请求头中必须携带凭据中的令牌（webhook.token）。"},
					"basic":  {Label: "Basic 认证", Description: "使用凭据中的用户名和密码进行 HTTP Basic 认证（webhook.basic）。"},
					"hmac":   {Label: "HMAC 签名", Description: "请求头携带以凭据密钥对原始请求体计算的 HMAC-SHA256（webhook.hmac）。"},
				},
			},
			"authHeader": {
				Label:       "令牌请求头",
				Description: "必须携带令牌的请求头，可以是令牌本身或 \"Bearer <token>\" 形式。",
				Examples: map[string]string{
					"Authorization":  "Authorization",
					"API key header": "API 密钥请求头",
				},
			},
			"signatureHeader": {
				Label:       "签名请求头",
				Description: "携带原始请求体签名的请求头。",
				Examples: map[string]string{
					"GitHub":  "GitHub",
					"Shopify": "Shopify",
				},
			},
			"signatureEncoding": {
				Label:       "签名编码",
				Description: "发送方对签名字节的编码方式。",
				Options: map[string]nodes.OptionText{
					"hex":    {Label: "十六进制", Description: "GitHub 及大多数自定义发送方。"},
					"base64": {Label: "Base64", Description: "Shopify 和 WooCommerce。"},
				},
			},
			"signaturePrefix": {
				Label:       "签名前缀",
				Description: "比较前要去掉的签名前缀文本，例如 GitHub 的 \"sha256=\"。",
				Examples: map[string]string{
					"GitHub": "GitHub",
				},
			},
			"dedupKey": {
				Label:       "去重键",
				Description: "标识事件，使同一事件重复投递时不会启动第二次运行。设置后，求不出值（或求值出错）的请求会以 422 拒绝，因为接受它会失去防重复保护；如果部分事件缺少该字段，可用 ?? 提供后备值。",
				Examples: map[string]string{
					"Event id in the body": "请求体中的事件 ID",
					"Delivery header":      "投递请求头",
				},
			},
			"businessKey": {
				Label:       "业务键",
				Description: "用于搜索运行的键，例如订单号。求不出值或求值出错的请求仍会被接受，只是没有业务键。",
				Examples: map[string]string{
					"Order id":            "订单号",
					"Alipay trade number": "支付宝交易号",
				},
			},
			"respond": {
				Label:       "答复方式",
				Description: "调用方何时得到答复。",
				Options: map[string]nodes.OptionText{
					"immediately": {Label: "立即答复", Description: "运行安全保存后立即返回 202 和运行 ID。"},
					"respondNode": {Label: "由响应节点答复", Description: "调用方等待流程中的响应节点，直到超时。"},
				},
			},
			"timeout": {
				Label:       "响应超时",
				Description: "调用方等待响应节点的时长，最长 60s。",
				Examples: map[string]string{
					"Ten seconds":   "十秒",
					"Half a minute": "半分钟",
				},
			},
			"maxBodyBytes": {
				Label:       "请求体大小上限（字节）",
				Description: "更大的请求会以 413 拒绝。最大 32 MiB。",
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "http.apikey", nodes.CredentialText{
		Name:        "API 密钥",
		Description: "通过请求头或查询参数发送的 API 密钥（core.http）。",
		Fields: map[string]nodes.FieldText{
			"name": {
				Label: "请求头或参数名",
				Examples: map[string]string{
					"Header": "请求头",
					"Query":  "查询参数",
				},
			},
			"value": {
				Label: "密钥",
			},
			"in": {
				Label: "发送位置",
				Options: map[string]nodes.OptionText{
					"header": {Label: "请求头"},
					"query":  {Label: "查询参数"},
				},
			},
			"testUrl": {
				Label:       "测试地址",
				Description: "可选。需要此凭据、且凭据正确时返回 2xx 的接口，例如 https://api.example.com/v1/me；“测试连接”会向它发送 GET 请求。",
				Examples: map[string]string{
					"Current user": "当前用户",
				},
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "http.basic", nodes.CredentialText{
		Name:        "Basic 认证",
		Description: "通过 HTTP Basic 认证发送的用户名和密码（core.http）。",
		Fields: map[string]nodes.FieldText{
			"username": {
				Label: "用户名",
			},
			"password": {
				Label: "密码",
			},
			"testUrl": {
				Label:       "测试地址",
				Description: "可选。需要此凭据、且凭据正确时返回 2xx 的接口，例如 https://api.example.com/v1/me；“测试连接”会向它发送 GET 请求。",
				Examples: map[string]string{
					"Current user": "当前用户",
				},
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "http.bearer", nodes.CredentialText{
		Name:        "Bearer 令牌",
		Description: "以 Authorization: Bearer <token> 发送的令牌（core.http）。",
		Fields: map[string]nodes.FieldText{
			"token": {
				Label: "令牌",
			},
			"testUrl": {
				Label:       "测试地址",
				Description: "可选。需要此凭据、且凭据正确时返回 2xx 的接口，例如 https://api.example.com/v1/me；“测试连接”会向它发送 GET 请求。",
				Examples: map[string]string{
					"Current user": "当前用户",
				},
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "oauth2.authcode", nodes.CredentialText{
		Name:        "OAuth2（授权码）",
		Description: "通过服务商的授权页面登录一次；Ferry 加密保存令牌，并在访问令牌过期前自动续期。先保存凭据，再点击“授权”。步骤获得的是访问令牌（core.http 将其作为 Bearer 令牌发送）。",
		Fields: map[string]nodes.FieldText{
			"clientId": {
				Label:       "客户端 ID",
				Description: "在服务商处注册的应用 ID。",
			},
			"clientSecret": {
				Label:       "客户端密钥",
				Description: "应用的密钥。依赖 PKCE 的公共客户端请留空。",
			},
			"authUrl": {
				Label:       "授权地址",
				Description: "服务商的授权页面。",
				Examples: map[string]string{
					"Example": "示例",
				},
			},
			"tokenUrl": {
				Label:       "令牌地址",
				Description: "服务商的令牌接口。",
				Examples: map[string]string{
					"Example": "示例",
				},
			},
			"scopes": {
				Label:       "权限范围",
				Description: "要申请的权限范围，以空格或逗号分隔。",
				Examples: map[string]string{
					"Read contacts": "读取联系人",
				},
			},
			"pkce": {
				Label:       "PKCE",
				Description: "用 PKCE 代码质询（S256）保护登录。仅在服务商不支持时关闭。",
			},
			"redirectUrl": {
				Label:       "回调地址",
				Description: "在服务商处登记的回调地址。留空则使用浏览器访问本服务器时的 /oauth2/callback。",
			},
			"authParams": {
				Label:       "额外授权参数",
				Description: "以查询串形式附加到授权页面地址上。",
				Examples: map[string]string{
					"Google: ask for a refresh token": "Google：申请刷新令牌",
				},
			},
			"authStyle": {
				Label:       "客户端认证方式",
				Description: "客户端 ID 和密钥如何发送到令牌接口。",
				Options: map[string]nodes.OptionText{
					"auto":   {Label: "自动检测", Description: "先尝试 HTTP Basic 认证，再尝试表单字段，并记住可用的方式。"},
					"header": {Label: "HTTP Basic 认证"},
					"body":   {Label: "表单字段", Description: "在请求体中发送 client_id 和 client_secret。"},
				},
			},
			"testUrl": {
				Label:       "测试地址",
				Description: "可选。需要此凭据、且凭据正确时返回 2xx 的接口，例如 https://api.example.com/v1/me；“测试连接”会向它发送 GET 请求，并携带当前的访问令牌。",
				Examples: map[string]string{
					"Current user": "当前用户",
				},
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "oauth2.client", nodes.CredentialText{
		Name:        "OAuth2（客户端凭据）",
		Description: "仅用客户端 ID 和密钥获取访问令牌，适用于机器对机器的 API。步骤获得的是访问令牌（core.http 将其作为 Bearer 令牌发送）。",
		Fields: map[string]nodes.FieldText{
			"clientId": {
				Label:       "客户端 ID",
				Description: "在服务商处注册的应用 ID。",
			},
			"clientSecret": {
				Label: "客户端密钥",
			},
			"tokenUrl": {
				Label:       "令牌地址",
				Description: "服务商的令牌接口。",
				Examples: map[string]string{
					"Example": "示例",
				},
			},
			"scopes": {
				Label:       "权限范围",
				Description: "要申请的权限范围，以空格或逗号分隔。",
				Examples: map[string]string{
					"Read contacts": "读取联系人",
				},
			},
			"authStyle": {
				Label:       "客户端认证方式",
				Description: "客户端 ID 和密钥如何发送到令牌接口。",
				Options: map[string]nodes.OptionText{
					"auto":   {Label: "自动检测", Description: "先尝试 HTTP Basic 认证，再尝试表单字段，并记住可用的方式。"},
					"header": {Label: "HTTP Basic 认证"},
					"body":   {Label: "表单字段", Description: "在请求体中发送 client_id 和 client_secret。"},
				},
			},
			"testUrl": {
				Label:       "测试地址",
				Description: "可选。需要此凭据、且凭据正确时返回 2xx 的接口，例如 https://api.example.com/v1/me；“测试连接”会向它发送 GET 请求，并携带新获取的访问令牌。",
				Examples: map[string]string{
					"Current user": "当前用户",
				},
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "webhook.basic", nodes.CredentialText{
		Name:        "Webhook Basic 认证",
		Description: "Webhook 调用方通过 HTTP Basic 认证发送的用户名和密码（core.webhook）。",
		Fields: map[string]nodes.FieldText{
			"username": {
				Label: "用户名",
			},
			"password": {
				Label: "密码",
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "webhook.hmac", nodes.CredentialText{
		Name:        "Webhook 签名密钥",
		Description: "发送方用来对 Webhook 请求体签名的密钥，算法为 HMAC-SHA256（core.webhook）。",
		Fields: map[string]nodes.FieldText{
			"secret": {
				Label:       "签名密钥",
				Description: "按发送方显示的填写，例如 GitHub 的 Webhook 密钥。",
			},
		},
	})
	nodes.MustTranslateCredentialType(nodes.LangChinese, "webhook.token", nodes.CredentialText{
		Name:        "Webhook 令牌",
		Description: "Webhook 调用方在请求头中发送的共享令牌（core.webhook，请求头令牌认证）。",
		Fields: map[string]nodes.FieldText{
			"token": {
				Label:       "令牌",
				Description: "调用方发送的确切值，可以是令牌本身或跟在 \"Bearer \" 之后。",
			},
		},
	})
}
