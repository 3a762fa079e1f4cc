import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { MemoryRouter } from 'react-router-dom';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { beforeAll, describe, expect, it } from 'vitest';
import i18n from '../i18n';
import CredentialsPage, { destinationList } from '../pages/admin/CredentialsPage';
import type { CredentialInfo } from '../api/types';

// The credentials page lists where each credential may be sent: what its admin allowed, and its provider's hosts.

const credentials: CredentialInfo[] = [
  { id: 'c1', name: 'CRM token', type: 'http.bearer', fields: ['token'], status: 'ok',
    allowedDestinations: ['https://crm.example.com/api'], defaultDestinations: [] },
  { id: 'c2', name: 'Stripe', type: 'stripe.account', fields: ['secretKey'], status: 'ok',
    allowedDestinations: [], defaultDestinations: ['https://api.stripe.com'] },
  { id: 'c3', name: 'Shop webhook', type: 'webhook.hmac', fields: ['secret'], status: 'ok',
    allowedDestinations: [], defaultDestinations: [] },
];

function render(): string {
  const client = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
  client.setQueryData(['credentials'], { credentials });
  client.setQueryData(['credential-types'], { types: [
    { id: 'http.bearer', name: 'Bearer token', fields: [] },
    { id: 'stripe.account', name: 'Stripe account', fields: [], hasDefaultDestinations: true },
    { id: 'webhook.hmac', name: 'Webhook signing secret', fields: [], inbound: true },
  ] });
  return renderToString(createElement(QueryClientProvider, { client }, createElement(MemoryRouter, { initialEntries: ['/admin/credentials'] }, createElement(CredentialsPage))));
}

describe('credentials page', () => {
  beforeAll(() => {
    const error = console.error;
    console.error = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('useLayoutEffect does nothing on the server')) return;
      error(...args);
    };
  });

  it('shows where each credential may be sent, in both languages', async () => {
    await i18n.changeLanguage('en');
    const html = render();
    for (const text of ['Sent only to', 'https://crm.example.com/api', 'https://api.stripe.com']) expect(html).toContain(text);
    await i18n.changeLanguage('zh-CN');
    expect(render()).toContain('仅发送到');
  });

  it('cleans the destinations typed into the form', () => {
    expect(destinationList([' https://a.example.com ', '', 'a.example.com', 'https://a.example.com'])).toEqual(['https://a.example.com', 'a.example.com']);
    expect(destinationList(undefined)).toEqual([]);
  });
});
