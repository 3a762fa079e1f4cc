import type { Messages } from './en';

// 简体中文。键与 en.ts 完全一致。
const zhCN: Messages = {
  common: { cancel: '取消', loading: '加载中…', none: '无', notFound: '页面不存在。', unknownError: '出错了。' },
  nav: { flows: '流程', runs: '运行记录' },
  header: { language: '语言', signOut: '退出登录', languages: { en: 'English', 'zh-CN': '简体中文' } },
  roles: { admin: '管理员', editor: '编辑者', operator: '运维', viewer: '只读' },
  gate: {
    setupTitle: '初始化', signInTitle: '登录',
    setupHelp: 'Ferry 还没有用户，请创建第一个管理员。',
    email: '邮箱', emailInvalid: '请输入有效的邮箱地址。', password: '密码',
    passwordShort: '密码至少需要 10 个字符。',
    createAdmin: '创建管理员', signIn: '登录',
    tokenTitle: '你的第一个 API 令牌', tokenHelp: '供脚本使用，仅显示这一次，请妥善保存。', continue: '继续',
  },
  status: {
    draft: '草稿', published: '已发布', paused: '已暂停', queued: '排队中', running: '运行中', waiting: '等待中',
    succeeded: '成功', failed: '失败', cancelled: '已取消', dry_run: '试运行', skipped: '已跳过',
  },
  categories: {
    trigger: '触发器', logic: '逻辑', data: '数据', action: '动作', payments: '支付', shops: '商城', crm: 'CRM',
    notifications: '通知', utilities: '工具',
  },
  flows: {
    title: '流程', search: '按名称搜索', import: '导入…', create: '新建流程', createTitle: '新建流程',
    createHelp: '新流程以一个 Webhook 触发器开始，在编辑器中添加步骤。', name: '名称', nameRequired: '请填写流程名称。',
    status: '状态', version: '已发布版本', webhook: 'Webhook', updated: '更新时间', edit: '编辑', runs: '运行记录', export: '导出',
    empty: '还没有流程。新建一个或导入流程文件。', noMatch: '没有匹配的流程。', imported: '已导入“{{name}}”。',
  },
  runs: {
    title: '运行记录', flow: '流程', status: '状态', businessKey: '业务键（订单号、交易号）', run: '运行', mode: '模式',
    version: '版本', created: '创建时间', duration: '耗时', empty: '还没有运行记录。', noMatch: '没有该业务键的运行记录。',
    previous: '上一页', next: '下一页', page: '第 {{page}} 页', modes: { live: '正式', test: '测试' },
  },
  run: {
    title: '运行', retry: '重试', replay: '重放', cancel: '取消运行',
    retryConfirm: '从失败的步骤继续这次运行？', replayConfirm: '用相同的数据开始一次新的运行？',
    cancelConfirm: '取消这次运行？', retryDone: '已开始重试。', replayDone: '已开始重放。', cancelDone: '运行已取消。',
    attempt: '尝试次数', finished: '结束时间', replayOf: '重放自', error: '错误', trigger: '触发数据', response: '响应',
    noSteps: '还没有步骤。', input: '输入', output: '输出', node: '节点', port: '端口', started: '开始时间',
  },
  editor: {
    searchNodes: '搜索节点', noNodes: '没有匹配的节点。', trigger: '触发器', errorPort: '错误',
    unknownType: '未知的节点类型 {{type}}', problemCount_one: '{{count}} 个问题', problemCount_other: '{{count}} 个问题',
    revision: '修订 {{revision}}', unsaved: '有未保存的更改', test: '测试运行…', save: '保存', publish: '发布',
    saved: '草稿已保存。', published: '已发布为版本 {{version}}。',
    conflictTitle: '其他人已保存了这个流程', conflict: '你打开此流程后，有人保存了新的修改。请刷新页面查看（你在这里的更改尚未保存）。',
    publishTitle: '发布草稿', publishMessage: '更改说明（可选）', publishSavesFirst: '会先保存你未保存的更改。',
    testTitle: '测试运行', testHelp: '以测试模式运行当前画布：有副作用的步骤只报告将要发送的内容。请以 JSON 输入示例数据。',
    runTest: '运行', testResult: '测试运行：', openRun: '查看运行', invalidJson: '不是有效的 JSON',
    inputData: '输入', outputData: '输出', settings: '设置', runTestHint: '运行一次测试后在这里查看数据。',
    nodeName: '名称', credential: '凭据', credentialTypes: '可用类型：{{types}}', noCredentials: '没有匹配类型的凭据。',
    noParams: '此节点没有设置项。', required: '必填', advanced: '高级', examples: '示例',
    durationPlaceholder: '例如 30s、5m、1h', key: '键', value: '值', remove: '删除', addRow: '添加',
    lineColumn: '第 {{line}} 行，第 {{column}} 列',
  },
};

export default zhCN;
