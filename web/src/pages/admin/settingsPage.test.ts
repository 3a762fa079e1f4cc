import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import i18n from '../../i18n';
import type { SettingsDocument } from '../../api/types';
import SettingsPage from './SettingsPage';

const doc: SettingsDocument = {
  groups: [
    { id: 'retention', settings: [
      { key: 'retention-days', group: 'retention', kind: 'integer', value: 7, default: 30, source: 'stored', editable: true,
        env: 'FERRY_RETENTION_DAYS', description: 'server text', min: 0, max: 36500, updatedBy: 'ada@example.com', updatedAt: '2026-11-29T10:00:00Z' },
    ] },
    { id: 'runs', settings: [
      { key: 'workers', group: 'runs', kind: 'integer', value: 2, default: 8, source: 'environment', editable: false,
        env: 'FERRY_WORKERS', setBy: 'FERRY_WORKERS', description: 'server text' },
    ] },
  ],
  facts: [{ key: 'database', value: 'sqlite' }, { key: 'embedded', value: true }],
};

function render(data?: SettingsDocument): string {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  if (data) client.setQueryData(['settings'], data);
  return renderToString(createElement(QueryClientProvider, { client }, createElement(SettingsPage)));
}

describe('SettingsPage', () => {
  it('shows each setting with its source, who changed it, the default and the facts', async () => {
    await i18n.changeLanguage('en');
    const html = render(doc);
    for (const s of ['Data retention', 'Keep runs for (days)', 'Changed here', 'ada@example.com', 'Default: 30', 'Reset to default',
      'Set by FERRY_WORKERS', 'Environment', 'This server', 'SQLite', 'Embedded (single process)']) {
      expect(html, s).toContain(s);
    }
  });
  it('is translated into Chinese', async () => {
    await i18n.changeLanguage('zh-CN');
    const html = render(doc);
    for (const s of ['数据保留', '运行记录保留天数', '已在此修改', '默认值：30', '由 FERRY_WORKERS 指定', '当前服务器']) {
      expect(html, s).toContain(s);
    }
    await i18n.changeLanguage('en');
  });
  it('shows the empty state when there are no settings', async () => {
    await i18n.changeLanguage('en');
    expect(render({ groups: [], facts: [] })).toContain('There are no settings to show.');
  });
  it('shows a spinner while loading', () => {
    expect(render()).toContain('ant-spin');
  });
});
