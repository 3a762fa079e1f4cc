import { afterEach, describe, expect, it, vi } from 'vitest';
import i18n, { LANGUAGE_QUERY_KEYS, refetchOnLanguageChange } from '../i18n';
import { api, uiLanguage } from '../api/client';

afterEach(async () => {
  vi.unstubAllGlobals();
  await i18n.changeLanguage('en');
});

function mockFetch() {
  const fn = vi.fn(async () => new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } }));
  vi.stubGlobal('fetch', fn);
  return fn;
}

function sentHeaders(fetch: ReturnType<typeof mockFetch>, call: number): Record<string, string> {
  return (fetch.mock.calls[call] as unknown as [string, RequestInit])[1].headers as Record<string, string>;
}

describe('language of server text', () => {
  it('sends the app language as Accept-Language on every request', async () => {
    vi.stubGlobal('document', { cookie: 'ferry_csrf=t' });
    const fetch = mockFetch();
    await i18n.changeLanguage('zh-CN');
    expect(uiLanguage()).toBe('zh-CN');
    await api.get('/api/v1/nodes');
    await api.post('/api/v1/flows', { name: 'x' });
    expect(sentHeaders(fetch, 0)['Accept-Language']).toBe('zh-CN');
    expect(sentHeaders(fetch, 1)['Accept-Language']).toBe('zh-CN');

    await i18n.changeLanguage('en');
    await api.get('/api/v1/credential-types');
    expect(sentHeaders(fetch, 2)['Accept-Language']).toBe('en');
  });

  it('refetches the translated catalogs when the language changes, until stopped', async () => {
    const invalidated: unknown[][] = [];
    const client = { invalidateQueries: vi.fn(async (f: { queryKey: readonly unknown[] }) => void invalidated.push([...f.queryKey])) };
    const stop = refetchOnLanguageChange(client);
    await i18n.changeLanguage('zh-CN');
    expect(invalidated).toEqual([['nodes'], ['credential-types'], ['functions']]);
    expect(LANGUAGE_QUERY_KEYS.map((k) => [...k])).toEqual(invalidated);

    stop();
    await i18n.changeLanguage('en');
    expect(client.invalidateQueries).toHaveBeenCalledTimes(3);
  });
});
