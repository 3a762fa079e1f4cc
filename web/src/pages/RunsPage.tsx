import { useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Button, DatePicker, Input, Select, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, query } from '../api/client';
import type { Flow, Run } from '../api/types';
import { ErrorAlert, formatTime, StatusTag } from '../ui';

const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'];

export default function RunsPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const flow = params.get('flow') ?? '';
  const status = params.get('status') ?? '';
  const businessKey = params.get('businessKey') ?? '';
  const since = params.get('since') ?? '';
  const until = params.get('until') ?? '';
  // cursors[i] is the cursor that loads page i; page 0 needs none.
  const [cursors, setCursors] = useState<string[]>(['']);
  const page = cursors.length - 1;

  const setFilters = (values: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(values)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    setParams(next, { replace: true });
    setCursors(['']);
  };
  const setFilter = (name: string, value: string) => setFilters({ [name]: value });

  const flows = useQuery({ queryKey: ['flows', ''], queryFn: () => api.get<{ flows: Flow[] }>('/api/v1/flows') });
  const names = new Map((flows.data?.flows ?? []).map((f) => [f.id, f.name]));
  const runs = useQuery({
    queryKey: ['runs', flow, status, businessKey, since, until, cursors[page]],
    queryFn: () => api.get<{ runs: Run[]; nextCursor?: string }>('/api/v1/runs' + query({ flow, status, businessKey, since, until, cursor: cursors[page], limit: 50 })),
  });

  return (
    <div className="ferry-page">
      <Typography.Title level={3} style={{ marginTop: 0 }}>{t('runs.title')}</Typography.Title>
      <Space wrap style={{ marginBottom: 16 }}>
        <Select
          allowClear
          showSearch
          optionFilterProp="label"
          placeholder={t('runs.flow')}
          style={{ width: 240 }}
          value={flow || undefined}
          onChange={(v) => setFilter('flow', v ?? '')}
          options={(flows.data?.flows ?? []).map((f) => ({ value: f.id, label: f.name }))}
        />
        <Select
          mode="multiple"
          allowClear
          placeholder={t('runs.status')}
          style={{ minWidth: 220 }}
          value={status ? status.split(',') : []}
          onChange={(v: string[]) => setFilter('status', v.join(','))}
          options={STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
        />
        <Input.Search
          allowClear
          defaultValue={businessKey}
          placeholder={t('runs.businessKey')}
          style={{ width: 300 }}
          onSearch={(v) => setFilter('businessKey', v.trim())}
        />
        <DatePicker.RangePicker
          showTime
          allowEmpty={[true, true]}
          value={since || until ? undefined : null}
          placeholder={[t('runs.since'), t('runs.until')]}
          onChange={(v) => setFilters({ since: v?.[0]?.toISOString() ?? '', until: v?.[1]?.toISOString() ?? '' })}
        />
        {(since || until) && (
          <Tag closable onClose={() => setFilters({ since: '', until: '' })}>
            {since ? formatTime(since) : '…'} – {until ? formatTime(until) : '…'}
          </Tag>
        )}
      </Space>
      <ErrorAlert error={runs.error} style={{ marginBottom: 16 }} />
      <Table<Run>
        rowKey="id"
        loading={runs.isPending}
        dataSource={runs.data?.runs ?? []}
        pagination={false}
        locale={{ emptyText: businessKey ? t('runs.noMatch') : t('runs.empty') }}
        columns={[
          { title: t('runs.run'), dataIndex: 'id', render: (id: string) => <Link to={`/runs/${id}`}><code>{id.slice(-12)}</code></Link> },
          { title: t('runs.flow'), dataIndex: 'flowId', render: (id: string) => <Link to={`/flows/${id}`}>{names.get(id) ?? id}</Link> },
          { title: t('runs.status'), dataIndex: 'status', render: (s: string) => <StatusTag status={s} /> },
          { title: t('runs.businessKey'), dataIndex: 'businessKey' },
          { title: t('runs.mode'), dataIndex: 'mode', render: (m: string) => t(`runs.modes.${m}`, { defaultValue: m }) },
          { title: t('runs.version'), dataIndex: 'flowVersion', render: (v?: number) => (v ? `v${v}` : '') },
          { title: t('runs.created'), dataIndex: 'createdAt', render: (v?: string) => formatTime(v) },
          { title: t('runs.duration'), dataIndex: 'durationMs', render: (v?: number) => (v !== undefined && v !== null ? `${v} ms` : '') },
        ]}
      />
      <Space style={{ marginTop: 16 }}>
        <Button disabled={page === 0} onClick={() => setCursors(cursors.slice(0, -1))}>{t('runs.previous')}</Button>
        <span>{t('runs.page', { page: page + 1 })}</span>
        <Button disabled={!runs.data?.nextCursor} onClick={() => runs.data?.nextCursor && setCursors([...cursors, runs.data.nextCursor])}>
          {t('runs.next')}
        </Button>
      </Space>
    </div>
  );
}
