import { describe, expect, it } from 'vitest';
import type { Credential, TemplateCredentialNeed, TemplateSummary } from '../api/types';
import { categoriesOf, credentialsFor, filterTemplates, localText, missingCredentials, templateUseBody } from '../pages/templateGallery';
import templates from '../locales/areas/templates';

function tpl(id: string, category: string, over: Partial<TemplateSummary> = {}): TemplateSummary {
  return {
    id, category, tags: [], nodeCount: 2, nodeTypes: ['core.webhook', 'core.http'],
    name: { en: `Name ${id}`, zh: `名称 ${id}` }, description: { en: 'Desc', zh: '说明' },
    steps: [{ id: 'in', name: 'In', type: 'core.webhook' }, { id: 'out', name: 'Out', type: 'core.http' }],
    credentials: [], placeholders: [], ...over,
  };
}

const list = [
  tpl('alipay-deal', 'payments', { name: { en: 'Alipay payment: HubSpot deal won', zh: '支付宝到账：HubSpot 商机赢单' }, tags: ['alipay', 'hubspot'] }),
  tpl('refund', 'refunds', { name: { en: 'WeChat Pay refund', zh: '微信支付退款' }, nodeTypes: ['wechatpay.trigger'] }),
  tpl('recon', 'reconciliation', { description: { en: 'Daily reconciliation', zh: '每日对账' } }),
];

describe('template gallery', () => {
  it('shows the text of the UI language', () => {
    expect(localText({ en: 'Hello', zh: '你好' }, 'zh-CN')).toBe('你好');
    expect(localText({ en: 'Hello', zh: '你好' }, 'en')).toBe('Hello');
    expect(localText({ en: 'Hello', zh: '' }, 'zh-CN')).toBe('Hello');
  });

  it('searches names, descriptions, tags and node types in both languages, and filters by category', () => {
    expect(filterTemplates(list, '', '').map((t) => t.id)).toEqual(['alipay-deal', 'refund', 'recon']);
    expect(filterTemplates(list, 'HubSpot', '').map((t) => t.id)).toEqual(['alipay-deal']);
    expect(filterTemplates(list, '退款', '').map((t) => t.id)).toEqual(['refund']);
    expect(filterTemplates(list, 'wechatpay.trigger', '').map((t) => t.id)).toEqual(['refund']);
    expect(filterTemplates(list, '对账', '').map((t) => t.id)).toEqual(['recon']);
    expect(filterTemplates(list, 'alipay won', '').map((t) => t.id)).toEqual(['alipay-deal']);
    expect(filterTemplates(list, 'alipay refund', '')).toEqual([]);
    expect(filterTemplates(list, '', 'refunds').map((t) => t.id)).toEqual(['refund']);
    expect(filterTemplates(list, 'hubspot', 'refunds')).toEqual([]);
    expect(categoriesOf(list)).toEqual(['payments', 'refunds', 'reconciliation']);
  });

  it('offers only credentials of an accepted type and knows when the form is complete', () => {
    const needs: TemplateCredentialNeed[] = [
      { nodeId: 'deal', nodeName: 'Find deal', nodeType: 'core.http', types: ['http.bearer'], required: true },
      { nodeId: 'crm', nodeName: 'CRM', nodeType: 'core.http', types: ['http.bearer', 'http.basic'], required: false },
    ];
    const creds: Credential[] = [
      { id: 'b', name: 'HubSpot', type: 'http.bearer', status: 'ok' },
      { id: 'x', name: 'Basic', type: 'http.basic', status: 'ok' },
      { id: 's', name: 'Stripe', type: 'stripe.account', status: 'ok' },
    ];
    expect(credentialsFor(needs[0], creds).map((c) => c.id)).toEqual(['b']);
    expect(credentialsFor(needs[1], creds).map((c) => c.id)).toEqual(['b', 'x']);
    expect(missingCredentials(needs, {})).toEqual(['deal']);
    expect(missingCredentials(needs, { crm: 'x' })).toEqual(['deal']);
    expect(missingCredentials(needs, { deal: 'b' })).toEqual([]);
    expect(templateUseBody('  My flow ', { deal: 'b', crm: undefined })).toEqual({ name: 'My flow', credentials: { deal: 'b' } });
  });

  it('translates every category the server knows', () => {
    for (const c of ['payments', 'refunds', 'orders', 'reconciliation', 'notifications']) {
      expect(templates.en.category).toHaveProperty(c);
      expect(templates.zh.category).toHaveProperty(c);
    }
  });
});
