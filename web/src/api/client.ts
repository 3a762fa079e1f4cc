import i18next from 'i18next';
import type { Problem } from './types';

/** ApiError carries the server's stable error code and, for refused flow documents, every problem. */
export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly problems: Problem[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** readCookie returns the decoded value of one cookie, or '' when it is not set. */
export function readCookie(name: string, cookies: string = typeof document === 'undefined' ? '' : document.cookie): string {
  for (const part of cookies.split(';')) {
    const c = part.trim();
    if (c.startsWith(name + '=')) return decodeURIComponent(c.slice(name.length + 1));
  }
  return '';
}

export const CSRF_COOKIE = 'ferry_csrf';

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** raw sends body as it is (already serialised text) instead of encoding it as JSON. */
  raw?: boolean;
}

/**
 * uiLanguage is the language the app is shown in, read from i18next's shared instance (plain i18next, no React),
 * so the server answers the node catalog, credential forms and function docs in it. Before i18next has started
 * it is English, the language every server text exists in.
 */
export function uiLanguage(): string {
  return i18next.language || 'en';
}

/**
 * request calls the API with the session cookie and the app's language in Accept-Language. Every write echoes
 * the ferry_csrf cookie in X-CSRF-Token (double submit); errors become ApiError with the server's message, never
 * a silent failure.
 */
export async function request<T>(method: string, url: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'Accept-Language': uiLanguage(), ...opts.headers };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = readCookie(CSRF_COOKIE);
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = opts.raw ? String(opts.body) : JSON.stringify(opts.body);
  }
  const res = await fetch(url, { method, headers, body, credentials: 'same-origin' });
  const text = res.status === 204 ? '' : await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (!res.ok) throw new ApiError(res.status, 'http_' + res.status, text.slice(0, 300) || res.statusText);
      throw new ApiError(res.status, 'bad_response', 'The server answered something that is not JSON.');
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string; problems?: Problem[] } } | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? 'http_' + res.status, err?.message ?? (res.statusText || 'HTTP ' + res.status), err?.problems ?? []);
  }
  return data as T;
}

export const api = {
  get: <T>(url: string) => request<T>('GET', url),
  post: <T>(url: string, body?: unknown, headers?: Record<string, string>) => request<T>('POST', url, { body, headers }),
  put: <T>(url: string, body?: unknown, headers?: Record<string, string>) => request<T>('PUT', url, { body, headers }),
  patch: <T>(url: string, body?: unknown, headers?: Record<string, string>) => request<T>('PATCH', url, { body, headers }),
  del: <T>(url: string) => request<T>('DELETE', url),
};

/** query builds a query string from the set values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}
