import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { MemoryRouter } from 'react-router-dom';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { beforeAll, describe, expect, it } from 'vitest';
import i18n from '../i18n';
import { ReviewDetail } from '../pages/ReviewsPage';
import type { Review } from '../pages/reviews';

// The review drawer: operators get the form, other roles a read-only view that says who decides, and a decided
// review shows who decided, when, and what was kept.

const conflict: Review = {
  id: 'rv1', runId: 'run_0123456789ab', flowId: 'f1', flowName: 'Sync customers', nodeId: 'upsert', nodeType: 'crm.hubspot.contact.upsert',
  kind: 'crm.conflict', title: 'Contact wang.fang@example.com', status: 'open', createdAt: '2026-12-01T08:00:00Z', timeoutAt: '2026-12-02T08:00:00Z',
  request: {
    provider: 'hubspot', object: 'contacts', recordId: '501', key: { name: 'email', value: 'wang.fang@example.com' },
    fields: [{ name: 'phone', source: '+8613800138000', target: '+8613900139000' }, { name: 'city', source: 'Shanghai', target: 'Suzhou' }],
  },
};

function render(review: Review, permissions: string[]): string {
  const client = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
  client.setQueryData(['me'], { user: { id: 'u', email: 'u@example.com', role: 'x' }, role: 'x', permissions });
  client.setQueryData(['review', review.id, false], review);
  return renderToString(createElement(QueryClientProvider, { client }, createElement(MemoryRouter, null, createElement(ReviewDetail, { id: review.id }))));
}

describe('review detail', () => {
  beforeAll(() => {
    const error = console.error;
    console.error = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('useLayoutEffect does nothing on the server')) return;
      error(...args);
    };
  });

  it('gives an operator the choice per field, with Submit disabled until every field is chosen', async () => {
    await i18n.changeLanguage('en');
    const html = render(conflict, ['runs:read', 'runs:operate']);
    for (const text of ['+8613800138000', '+8613900139000', 'All from the flow', 'All as in the CRM', 'Fields still to choose: 2']) expect(html).toContain(text);
    expect(html).toMatch(/<button[^>]*disabled[^>]*><span>Submit decision/);
    expect(html).not.toContain('Operators decide reviews');
    expect(html).not.toContain('Show personal data unmasked');
    expect(render(conflict, ['runs:read', 'runs:operate', 'runs:reveal'])).toContain('Show personal data unmasked');
  });

  it('shows a viewer the values read-only, saying that operators decide', async () => {
    await i18n.changeLanguage('en');
    const html = render(conflict, ['runs:read']);
    expect(html).toContain('Operators decide reviews');
    expect(html).not.toContain('Submit decision');
    expect(html).not.toContain('All from the flow');
  });

  it('shows who decided, when, and the side kept per field', async () => {
    await i18n.changeLanguage('en');
    const decided: Review = { ...conflict, status: 'decided', decidedAt: '2026-12-01T09:00:00Z', decidedBy: 'ops@shop.example',
      decision: { fields: { phone: 'target', city: 'source' } } };
    const html = render(decided, ['runs:read', 'runs:operate']);
    expect(html).toContain('Decided by ops@shop.example');
    expect(html).not.toContain('Submit decision');
    // The kept values stand out: the CRM's phone and the flow's city.
    expect(html).toMatch(/"ferry-review-value ferry-review-kept">\+8613900139000/);
    expect(html).toMatch(/"ferry-review-value ferry-review-kept">Shanghai/);
    expect(html).not.toMatch(/"ferry-review-value ferry-review-kept">\+8613800138000/);
    expect(html).not.toContain('hidden (personal data)');
  });

  it('says a side is hidden when the decision comes back masked', async () => {
    await i18n.changeLanguage('en');
    const masked: Review = { ...conflict, status: 'decided', decidedAt: '2026-12-01T09:00:00Z', decidedBy: 'ops@shop.example',
      decision: { fields: { phone: 's****e', city: 'source' } } };
    const html = render(masked, ['runs:read']);
    expect(html).toContain('hidden (personal data)');
    expect(html).toMatch(/"ferry-review-value ferry-review-kept">Shanghai/);
  });

  it('lists the candidates of a match and the choice of a new record, in Chinese too', async () => {
    const match: Review = { ...conflict, id: 'rv2', kind: 'crm.match', request: {
      provider: 'hubspot', object: 'contacts', customer: { email: 'w.fang@example.com' },
      candidates: [{ id: '601', label: 'Wang Fang', fields: { phone: '+8613800138000' } }, { id: '602', label: 'Fang Wang', fields: {} }],
    } };
    await i18n.changeLanguage('en');
    const html = render(match, ['runs:read', 'runs:operate']);
    for (const text of ['Wang Fang', 'Fang Wang', 'w.fang@example.com', 'None of these: create a new record']) expect(html).toContain(text);
    await i18n.changeLanguage('zh-CN');
    expect(render(match, ['runs:read', 'runs:operate'])).toContain('都不是：新建一条记录');
    await i18n.changeLanguage('en');
  });
});
