import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, readCookie, request } from '../api/client';

function mockFetch(status: number, body: unknown) {
  const fn = vi.fn(async () => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }));
  vi.stubGlobal('fetch', fn);
  return fn;
}

afterEach(() => vi.unstubAllGlobals());

describe('API client', () => {
  it('reads cookies', () => {
    expect(readCookie('ferry_csrf', 'a=1; ferry_csrf=abc%3D; b=2')).toBe('abc=');
    expect(readCookie('ferry_csrf', 'a=1')).toBe('');
  });

  it('echoes the CSRF cookie on every write and never on reads', async () => {
    vi.stubGlobal('document', { cookie: 'ferry_session=x; ferry_csrf=tok123' });
    const fetch = mockFetch(200, { ok: true });
    await api.get('/api/v1/flows');
    await api.post('/api/v1/flows', { name: 'x' });
    await api.put('/api/v1/flows/1', { name: 'x' }, { 'If-Match': '3' });
    await api.del('/api/v1/flows/1');
    const headers = fetch.mock.calls.map((c) => (c as unknown as [string, RequestInit])[1].headers as Record<string, string>);
    expect(headers[0]['X-CSRF-Token']).toBeUndefined();
    expect(headers[1]['X-CSRF-Token']).toBe('tok123');
    expect(headers[2]['X-CSRF-Token']).toBe('tok123');
    expect(headers[2]['If-Match']).toBe('3');
    expect(headers[3]['X-CSRF-Token']).toBe('tok123');
    expect((fetch.mock.calls[1] as unknown as [string, RequestInit])[1].body).toBe('{"name":"x"}');
  });

  it('turns error answers into ApiError with code, message and problems', async () => {
    vi.stubGlobal('document', { cookie: '' });
    mockFetch(400, { error: { code: 'flow_invalid', message: 'bad flow', problems: [{ code: 'expression_invalid', nodeId: 'c', field: 'condition', line: 1, column: 16, message: 'unexpected token EOF' }] } });
    const err: ApiError = await request('PUT', '/api/v1/flows/1', { body: {} }).catch((e: ApiError) => e) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('flow_invalid');
    expect(err.message).toBe('bad flow');
    expect(err.problems[0].nodeId).toBe('c');
  });

  it('handles 204 and non-JSON error bodies', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })));
    await expect(api.post('/api/v1/auth/logout')).resolves.toBeUndefined();
    vi.stubGlobal('fetch', vi.fn(async () => new Response('gateway down', { status: 502 })));
    await expect(api.get('/api/v1/flows')).rejects.toMatchObject({ status: 502, message: 'gateway down' });
  });
});
