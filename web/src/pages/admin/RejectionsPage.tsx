import { Link, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Input, Select, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, query } from '../../api/client';
import type { Flow, WebhookRejection } from '../../api/types';
import { ErrorAlert, formatTime } from '../../ui';
import { Pager, useCursorPages } from './common';

export default function RejectionsPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const flow = params.get('flow') ?? '';
  const code = params.get('code') ?? '';
  const pages = useCursorPages();

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
    pages.reset();
  };

  const flows = useQuery({ queryKey: ['flows', ''], queryFn: () => api.get<{ flows: Flow[] }>('/api/v1/flows') });
  const names = new Map((flows.data?.flows ?? []).map((f) => [f.id, f.name]));
  const rejections = useQuery({
    queryKey: ['webhook-rejections', flow, code, pages.cursor],
    queryFn: () =>
      api.get<{ rejections: WebhookRejection[]; nextCursor?: string }>('/api/v1/webhook-rejections' + query({ flow, code, cursor: pages.cursor, limit: 50 })),
  });
  const filtered = !!(flow || code);

  return (
    <div className="ferry-page">
      <Typography.Title level={3} style={{ marginTop: 0 }}>{t('admin.rejections.title')}</Typography.Title>
      <Typography.Paragraph type="secondary">{t('admin.rejections.help')}</Typography.Paragraph>
      <Space wrap style={{ marginBottom: 16 }}>
        <Select
          allowClear
          showSearch
          optionFilterProp="label"
          loading={flows.isPending}
          placeholder={t('admin.rejections.flow')}
          style={{ width: 240 }}
          value={flow || undefined}
          onChange={(v) => setFilter('flow', v ?? '')}
          options={(flows.data?.flows ?? []).map((f) => ({ value: f.id, label: f.name }))}
        />
        <Input.Search
          key={'code:' + code}
          allowClear
          defaultValue={code}
          placeholder={t('admin.rejections.codeFilter')}
          style={{ width: 320 }}
          onSearch={(v) => setFilter('code', v.trim())}
        />
      </Space>
      <ErrorAlert error={rejections.error} style={{ marginBottom: 16 }} />
      {!rejections.isError && (
        <>
          <Table<WebhookRejection>
            rowKey="id"
            loading={rejections.isPending}
            dataSource={rejections.data?.rejections ?? []}
            pagination={false}
            locale={{ emptyText: filtered ? t('admin.rejections.noMatch') : t('admin.rejections.empty') }}
            columns={[
              { title: t('admin.rejections.receivedAt'), dataIndex: 'receivedAt', render: (v: string) => formatTime(v) },
              { title: t('admin.rejections.flow'), dataIndex: 'flowId', render: (id: string) => <Link to={`/flows/${id}`}>{names.get(id) ?? id}</Link> },
              { title: t('admin.rejections.status'), dataIndex: 'status' },
              {
                title: t('admin.rejections.code'),
                dataIndex: 'code',
                render: (c: string) => <Typography.Link onClick={() => setFilter('code', c)} title={t('admin.rejections.filterByCode')}><code>{c}</code></Typography.Link>,
              },
              { title: t('admin.rejections.message'), dataIndex: 'message' },
              { title: t('admin.rejections.remoteIp'), dataIndex: 'remoteIp' },
              { title: t('admin.rejections.bodyBytes'), dataIndex: 'bodyBytes', render: (n: number) => t('admin.rejections.bytes', { count: n }) },
              {
                title: <span title={t('admin.rejections.countHelp')}>{t('admin.rejections.count')}</span>,
                dataIndex: 'count',
                render: (n: number, r) => (
                  <>
                    {n}
                    {n > 1 && r.lastAt && <div><Typography.Text type="secondary">{t('admin.rejections.lastAt', { time: formatTime(r.lastAt) })}</Typography.Text></div>}
                  </>
                ),
              },
            ]}
          />
          <Pager pages={pages} nextCursor={rejections.data?.nextCursor} />
        </>
      )}
    </div>
  );
}
