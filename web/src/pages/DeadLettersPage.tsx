import { useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, DatePicker, Input, Modal, Select, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, query } from '../api/client';
import type { Flow } from '../api/types';
import { useCan } from '../permissions';
import { ErrorAlert, formatTime } from '../ui';
import {
  type BulkRetryOutcome, type BulkRetryResult, type DeadLetter, type DeadLetterFilter, type DeadLetterList,
  retryAllMatching, retrySummary,
} from './runHealth';

const PAGE_SIZE = 50;
const MAX_IDS = 500;

/** What the confirmation dialog is about to retry. */
type Pending = { kind: 'selected'; ids: string[] } | { kind: 'matching' };

/** What the last bulk retry did. */
interface Outcome { results: BulkRetryOutcome[]; more: boolean }

export default function DeadLettersPage() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const filter: DeadLetterFilter = {
    flow: params.get('flow') ?? '', code: params.get('code') ?? '', since: params.get('since') ?? '', until: params.get('until') ?? '',
  };
  const [cursors, setCursors] = useState<string[]>(['']);
  const page = cursors.length - 1;
  const [selected, setSelected] = useState<string[]>([]);
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const [retryError, setRetryError] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const can = useCan();
  const mayRetry = can('runs:operate');
  const flows = useQuery({ queryKey: ['flows', ''], queryFn: () => api.get<{ flows: Flow[] }>('/api/v1/flows') });
  const names = new Map((flows.data?.flows ?? []).map((f) => [f.id, f.name]));
  const list = useQuery({
    queryKey: ['deadLetters', filter.flow, filter.code, filter.since, filter.until, cursors[page]],
    queryFn: () => api.get<DeadLetterList>('/api/v1/dead-letters' + query({ ...filter, cursor: cursors[page], limit: PAGE_SIZE })),
  });
  const rows = list.data?.deadLetters ?? [];
  const filtered = !!(filter.flow || filter.code || filter.since || filter.until);

  const setFilters = (values: Partial<DeadLetterFilter>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(values)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next, { replace: true });
    setCursors(['']);
    setSelected([]);
  };

  const run = async (p: Pending) => {
    setPending(null);
    setRetryError(null);
    setOutcome(null);
    setBusy(0);
    try {
      const post = (body: unknown) => api.post<BulkRetryResult>('/api/v1/runs/retry', body);
      if (p.kind === 'selected') {
        const res = await post({ ids: p.ids });
        setOutcome({ results: res.results, more: false });
      } else {
        setOutcome(await retryAllMatching(filter, post, setBusy));
      }
      setSelected([]);
      setCursors(['']);
    } catch (e) {
      setRetryError(e);
    } finally {
      setBusy(null);
      await queryClient.invalidateQueries({ queryKey: ['deadLetters'] });
      await queryClient.invalidateQueries({ queryKey: ['dashboard'] });
    }
  };

  const rangeValue = filter.since || filter.until ? undefined : null;

  return (
    <div className="ferry-page">
      <Typography.Title level={3} style={{ marginTop: 0 }}>{t('deadLetters.title')}</Typography.Title>
      <Typography.Paragraph type="secondary" style={{ marginTop: -8 }}>{t('deadLetters.intro')}</Typography.Paragraph>
      <Space wrap style={{ marginBottom: 16 }}>
        <Select
          allowClear
          showSearch
          optionFilterProp="label"
          placeholder={t('deadLetters.flow')}
          style={{ width: 240 }}
          loading={flows.isPending}
          value={filter.flow || undefined}
          onChange={(v) => setFilters({ flow: v ?? '' })}
          options={(flows.data?.flows ?? []).map((f) => ({ value: f.id, label: f.name }))}
        />
        <Input.Search
          key={filter.code}
          allowClear
          defaultValue={filter.code}
          placeholder={t('deadLetters.codePlaceholder')}
          style={{ width: 260 }}
          onSearch={(v) => setFilters({ code: v.trim() })}
        />
        <DatePicker.RangePicker
          showTime
          allowEmpty={[true, true]}
          value={rangeValue}
          placeholder={[t('deadLetters.since'), t('deadLetters.until')]}
          onChange={(v) => setFilters({ since: v?.[0]?.toISOString() ?? '', until: v?.[1]?.toISOString() ?? '' })}
        />
        {(filter.since || filter.until) && (
          <Tag closable onClose={() => setFilters({ since: '', until: '' })}>
            {filter.since ? formatTime(filter.since) : '…'} – {filter.until ? formatTime(filter.until) : '…'}
          </Tag>
        )}
      </Space>

      <Space wrap style={{ marginBottom: 12 }}>
        <Tooltip title={mayRetry ? undefined : t('deadLetters.noPermission')}>
          <Button
            type="primary"
            disabled={!mayRetry || selected.length === 0 || busy !== null}
            onClick={() => setPending({ kind: 'selected', ids: selected })}
          >
            {t('deadLetters.retrySelected', { count: selected.length })}
          </Button>
        </Tooltip>
        <Tooltip title={mayRetry ? undefined : t('deadLetters.noPermission')}>
          <Button disabled={!mayRetry || rows.length === 0 || busy !== null} onClick={() => setPending({ kind: 'matching' })}>
            {filtered ? t('deadLetters.retryMatching') : t('deadLetters.retryAll')}
          </Button>
        </Tooltip>
        {busy !== null && <Typography.Text type="secondary">{t('deadLetters.retrying', { count: busy })}</Typography.Text>}
      </Space>

      <ErrorAlert error={retryError} style={{ marginBottom: 12 }} />
      {outcome && <RetryOutcome outcome={outcome} onClose={() => setOutcome(null)} />}
      <ErrorAlert error={list.error} style={{ marginBottom: 12 }} />

      <Table<DeadLetter>
        rowKey="id"
        size="middle"
        loading={list.isPending}
        dataSource={rows}
        pagination={false}
        scroll={{ x: 1100 }}
        rowSelection={mayRetry ? {
          selectedRowKeys: selected,
          onChange: (keys) => setSelected((keys as string[]).slice(0, MAX_IDS)),
          preserveSelectedRowKeys: true,
        } : undefined}
        locale={{ emptyText: filtered ? t('deadLetters.noMatch') : t('deadLetters.empty') }}
        columns={[
          { title: t('deadLetters.run'), dataIndex: 'id', width: 130, render: (id: string) => <Link to={`/runs/${id}`}><code>{id.slice(-12)}</code></Link> },
          { title: t('deadLetters.flow'), dataIndex: 'flowId', width: 180, render: (id: string) => names.get(id) ?? <code>{id}</code> },
          { title: t('deadLetters.businessKey'), dataIndex: 'businessKey', width: 150, render: (v?: string) => v || '' },
          {
            title: t('deadLetters.error'), key: 'error',
            render: (_: unknown, d) => (
              <Space direction="vertical" size={0} style={{ maxWidth: 420 }}>
                {d.errorCode && (
                  <Tag color="red" style={{ cursor: 'pointer' }} onClick={() => setFilters({ code: d.errorCode })}>{d.errorCode}</Tag>
                )}
                <Typography.Text type="secondary" ellipsis={{ tooltip: d.errorMessage }} style={{ maxWidth: 420 }}>{d.errorMessage}</Typography.Text>
              </Space>
            ),
          },
          { title: t('deadLetters.failedStep'), dataIndex: 'failedNode', width: 130, render: (v?: string) => (v ? <code>{v}</code> : '') },
          { title: t('deadLetters.attempts'), dataIndex: 'attempts', width: 90, align: 'right' },
          { title: t('deadLetters.failedAt'), key: 'time', width: 180, render: (_: unknown, d) => formatTime(d.finishedAt ?? d.createdAt) },
        ]}
      />
      <Space style={{ marginTop: 16 }}>
        <Button disabled={page === 0} onClick={() => setCursors(cursors.slice(0, -1))}>{t('deadLetters.previous')}</Button>
        <span>{t('deadLetters.page', { page: page + 1 })}</span>
        <Button disabled={!list.data?.nextCursor} onClick={() => list.data?.nextCursor && setCursors([...cursors, list.data.nextCursor])}>
          {t('deadLetters.next')}
        </Button>
        {selected.length > 0 && <Typography.Text type="secondary">{t('deadLetters.selectedCount', { count: selected.length })}</Typography.Text>}
      </Space>

      <Modal
        open={pending !== null}
        title={t('deadLetters.confirmTitle')}
        okText={t('deadLetters.confirmOk')}
        cancelText={t('common.cancel')}
        onCancel={() => setPending(null)}
        onOk={() => pending && void run(pending)}
      >
        {pending?.kind === 'selected' && <p>{t('deadLetters.confirmSelected', { count: pending.ids.length })}</p>}
        {pending?.kind === 'matching' && (
          <>
            <p>{filtered ? t('deadLetters.confirmMatching') : t('deadLetters.confirmAll')}</p>
            <ul style={{ paddingLeft: 18 }}>
              {filter.flow && <li>{t('deadLetters.flow')}: {names.get(filter.flow) ?? filter.flow}</li>}
              {filter.code && <li>{t('deadLetters.error')}: <code>{filter.code}</code></li>}
              {filter.since && <li>{t('deadLetters.since')}: {formatTime(filter.since)}</li>}
              {filter.until && <li>{t('deadLetters.until')}: {formatTime(filter.until)}</li>}
            </ul>
          </>
        )}
        <Typography.Text type="secondary">{t('deadLetters.confirmNote')}</Typography.Text>
      </Modal>
    </div>
  );
}

/** RetryOutcome sums up a bulk retry: how many runs were retried and, grouped by reason, which were not. */
function RetryOutcome({ outcome, onClose }: { outcome: Outcome; onClose: () => void }) {
  const { t } = useTranslation();
  const s = retrySummary(outcome.results);
  const type = s.notRetried === 0 ? 'success' : s.retried === 0 ? 'error' : 'warning';
  return (
    <Alert
      type={type}
      showIcon
      closable
      onClose={onClose}
      style={{ marginBottom: 12 }}
      message={t('deadLetters.outcome', { retried: s.retried, notRetried: s.notRetried })}
      description={
        s.byCode.length > 0 || outcome.more ? (
          <>
            {outcome.more && <p style={{ margin: 0 }}>{t('deadLetters.outcomeMore')}</p>}
            {s.byCode.map((g) => (
              <div key={g.code} style={{ marginTop: 4 }}>
                <Tag>{g.code}</Tag> {g.message} ({g.ids.length}):{' '}
                {g.ids.slice(0, 20).map((id) => (
                  <Link key={id} to={`/runs/${id}`} style={{ marginRight: 8 }}><code>{id.slice(-12)}</code></Link>
                ))}
                {g.ids.length > 20 && t('deadLetters.andMore', { count: g.ids.length - 20 })}
              </div>
            ))}
          </>
        ) : undefined
      }
    />
  );
}
