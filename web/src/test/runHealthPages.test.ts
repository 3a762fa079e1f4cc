import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { MemoryRouter } from 'react-router-dom';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { beforeAll, describe, expect, it } from 'vitest';
import i18n from '../i18n';
import DashboardPage from '../pages/DashboardPage';
import DeadLettersPage from '../pages/DeadLettersPage';
import type { Dashboard, DeadLetterList } from '../pages/runHealth';

// The pages are rendered to HTML with their data already answered, in both languages, to check what they show.

const dashboard: Dashboard = {
  window: '1h', bucketSeconds: 60, since: '2026-03-01T10:00:00Z', until: '2026-03-01T11:00:00Z', generatedAt: '2026-03-01T10:59:30Z',
  buckets: Array.from({ length: 60 }, (_, i) => ({
    start: new Date(Date.UTC(2026, 2, 1, 10, i)).toISOString(), total: i === 5 ? 3 : 0, byStatus: (i === 5 ? { succeeded: 2, failed: 1 } : {}) as Record<string, number>,
  })),
  totals: { runs: 3, byStatus: { succeeded: 2, failed: 1 }, finished: 3, succeeded: 2, failed: 1, successRate: 2 / 3 },
  failures: [{ flowId: 'f1', flowName: 'HubSpot deals', failed: 1, lastRunId: 'r1', lastAt: '2026-03-01T10:05:10Z',
    lastError: { code: 'http_client_error', message: 'deal stage unknown', nodeId: 'call' } }],
  deadLetters: { total: 4, byFlow: [{ flowId: 'f1', flowName: 'HubSpot deals', count: 4, oldestAt: '2026-03-01T09:00:00Z' }] },
  backlog: { queued: 2, delayed: 1, waiting: 5, running: 0, oldestQueuedAt: '2026-03-01T10:50:00Z', oldestQueuedAgeSeconds: 570 },
  queue: { depth: 2 },
};

const deadLetters: DeadLetterList = {
  deadLetters: [{ id: '0195f3c2-aaaa-7000-8000-00000000abcd', flowId: 'f1', mode: 'live', status: 'failed', businessKey: 'D-9', attempts: 3,
    failedNode: 'call', errorCode: 'http_client_error', errorMessage: 'deal stage unknown', createdAt: '2026-03-01T10:05:00Z' }],
  nextCursor: '',
};

function render(page: () => JSX.Element, path: string, seed: (c: QueryClient) => void): string {
  const client = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
  seed(client);
  return renderToString(createElement(QueryClientProvider, { client }, createElement(MemoryRouter, { initialEntries: [path] }, createElement(page))));
}

// The permissions each role holds, as GET /api/v1/auth/me lists them (server/auth/roles.go).
const PERMISSIONS: Record<string, string[]> = {
  operator: ['flows:read', 'metrics:read', 'runs:operate', 'runs:read', 'runs:reveal', 'self'],
  viewer: ['flows:read', 'metrics:read', 'runs:read', 'self'],
};

function seedAll(c: QueryClient, role = 'operator') {
  c.setQueryData(['dashboard', '1h'], dashboard);
  c.setQueryData(['me'], { user: { id: 'u', email: 'o@example.com', role }, role, permissions: PERMISSIONS[role] });
  c.setQueryData(['flows', ''], { flows: [{ id: 'f1', name: 'HubSpot deals', status: 'published', revision: 1 }] });
  c.setQueryData(['deadLetters', '', '', '', '', ''], deadLetters);
}

describe('dashboard and dead-letter pages', () => {
  beforeAll(async () => {
    await i18n.changeLanguage('en');
    // antd's components use layout effects, which React notes once per component when rendering to HTML.
    const error = console.error;
    console.error = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('useLayoutEffect does nothing on the server')) return;
      error(...args);
    };
  });

  it('show the dashboard tiles, chart and tables', () => {
    const html = render(DashboardPage, '/dashboard', (c) => seedAll(c));
    for (const text of ['Success rate', '66.7%', 'Dead letters', 'Queue depth', '9 min', 'deal stage unknown', 'http_client_error', '5 parked, 1 backing off']) {
      expect(html).toContain(text);
    }
    expect(html).toContain('href="/runs?flow=f1&amp;status=failed"');
    expect(html).toContain('href="/dead-letters?flow=f1"');
    expect(html).not.toContain('dashboard.');
  });

  it('list dead letters with a link to each run, and offer retry to operators only', () => {
    const html = render(DeadLettersPage, '/dead-letters', (c) => seedAll(c));
    for (const text of ['D-9', 'deal stage unknown', 'http_client_error', 'Retry selected (0)', 'Retry all']) expect(html).toContain(text);
    expect(html).toContain('href="/runs/0195f3c2-aaaa-7000-8000-00000000abcd"');
    expect(html).toContain('ant-checkbox');
    const viewer = render(DeadLettersPage, '/dead-letters', (c) => seedAll(c, 'viewer'));
    expect(viewer).not.toContain('ant-checkbox');
  });

  it('are fully translated into Chinese', async () => {
    await i18n.changeLanguage('zh-CN');
    try {
      const dash = render(DashboardPage, '/dashboard', (c) => seedAll(c));
      for (const text of ['仪表盘', '成功率', '死信', '队列深度', '9 分钟']) expect(dash).toContain(text);
      const dl = render(DeadLettersPage, '/dead-letters', (c) => seedAll(c));
      for (const text of ['重试所选（0）', '业务编号', '失败步骤']) expect(dl).toContain(text);
      expect(dash + dl).not.toMatch(/(dashboard|deadLetters)\.[a-z]/);
    } finally {
      await i18n.changeLanguage('en');
    }
  });
});
