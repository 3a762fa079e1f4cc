import { useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Button, Input, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, query } from '../../api/client';
import type { AuditEvent } from '../../api/types';
import { ErrorAlert, formatTime } from '../../ui';
import { Pager, useCursorPages } from './common';

export default function AuditPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const action = params.get('action') ?? '';
  const actor = params.get('actor') ?? '';
  const pages = useCursorPages();

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
    pages.reset();
  };

  const events = useQuery({
    queryKey: ['audit', action, actor, pages.cursor],
    queryFn: () => api.get<{ events: AuditEvent[]; nextCursor?: string }>('/api/v1/audit' + query({ action, actor, cursor: pages.cursor, limit: 50 })),
  });
  const filtered = !!(action || actor);

  return (
    <div className="ferry-page">
      <Typography.Title level={3} style={{ marginTop: 0 }}>{t('admin.audit.title')}</Typography.Title>
      <Space wrap style={{ marginBottom: 16 }}>
        <Input.Search
          key={'action:' + action}
          allowClear
          defaultValue={action}
          placeholder={t('admin.audit.actionFilter')}
          style={{ width: 280 }}
          onSearch={(v) => setFilter('action', v.trim())}
        />
        <Input.Search
          key={'actor:' + actor}
          allowClear
          defaultValue={actor}
          placeholder={t('admin.audit.actorFilter')}
          style={{ width: 320 }}
          onSearch={(v) => setFilter('actor', v.trim())}
        />
        {filtered && <Button onClick={() => { setParams(new URLSearchParams(), { replace: true }); pages.reset(); }}>{t('admin.clearFilters')}</Button>}
      </Space>
      <ErrorAlert error={events.error} style={{ marginBottom: 16 }} />
      {!events.isError && (
        <>
          <Table<AuditEvent>
            rowKey="id"
            loading={events.isPending}
            dataSource={events.data?.events ?? []}
            pagination={false}
            locale={{ emptyText: filtered ? t('admin.audit.noMatch') : t('admin.audit.empty') }}
            columns={[
              { title: t('admin.audit.at'), dataIndex: 'at', render: (v: string) => formatTime(v) },
              {
                title: t('admin.audit.actor'),
                key: 'actor',
                render: (_: unknown, e) => {
                  const label = e.actorEmail || e.actorId || e.actorType;
                  return e.actorId ? (
                    <Typography.Link onClick={() => setFilter('actor', e.actorId ?? '')} title={t('admin.audit.filterByActor')}>{label}</Typography.Link>
                  ) : (
                    label
                  );
                },
              },
              { title: t('admin.audit.action'), dataIndex: 'action', render: (a: string) => <code>{a}</code> },
              {
                title: t('admin.audit.target'),
                key: 'target',
                render: (_: unknown, e) => (e.targetType || e.targetId ? <span>{e.targetType} <code>{e.targetId}</code></span> : ''),
              },
              { title: t('admin.audit.ip'), dataIndex: 'ip' },
              {
                title: t('admin.audit.detail'),
                dataIndex: 'detail',
                render: (d: unknown) => (d === undefined || d === null ? '' : <code style={{ fontSize: 12, wordBreak: 'break-all' }}>{JSON.stringify(d)}</code>),
              },
            ]}
          />
          <Pager pages={pages} nextCursor={events.data?.nextCursor} />
        </>
      )}
    </div>
  );
}
