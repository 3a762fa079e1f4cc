import { lazy, Suspense } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Button, Card, Descriptions, Popconfirm, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, query } from '../api/client';
import { useCan } from '../permissions';
import type { Flow, Run, RunDetail, Step } from '../api/types';
import { ErrorAlert, formatMicros, formatTime, JsonView, StatusTag } from '../ui';
import { type ReviewList, reviewTitle } from './reviews';

const ACTIVE = ['queued', 'running', 'waiting'];

// The graph brings the canvas library along; the rest of the page does not wait for it.
const RunGraph = lazy(() => import('../editor/RunGraph'));

export default function RunPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const { message } = AntApp.useApp();
  const can = useCan();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const run = useQuery({
    queryKey: ['run', id],
    queryFn: () => api.get<RunDetail>(`/api/v1/runs/${encodeURIComponent(id)}`),
    // Follow a run that is still going until it finishes.
    refetchInterval: (q) => (q.state.data && ACTIVE.includes(q.state.data.status) ? 2000 : false),
  });

  const flowId = run.data?.flowId ?? '';
  const flow = useQuery({
    queryKey: ['flow', flowId],
    queryFn: () => api.get<Flow>(`/api/v1/flows/${encodeURIComponent(flowId)}`),
    enabled: flowId !== '',
  });

  const act = useMutation({
    mutationFn: (action: 'retry' | 'replay' | 'cancel') => api.post<Run>(`/api/v1/runs/${encodeURIComponent(id)}/${action}`),
    onSuccess: (r, action) => {
      void message.success(t(`run.${action}Done`));
      void queryClient.invalidateQueries({ queryKey: ['runs'] });
      if (r?.id && r.id !== id) navigate(`/runs/${r.id}`);
      else void queryClient.invalidateQueries({ queryKey: ['run', id] });
    },
  });

  if (run.isPending) return <div className="ferry-page"><Card loading /></div>;
  if (run.isError) return <div className="ferry-page"><ErrorAlert error={run.error} /></div>;
  const r = run.data;

  return (
    <div className="ferry-page">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 16 }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('run.title')} <code style={{ fontSize: 14 }}>{r.id}</code> <StatusTag status={r.status} />
        </Typography.Title>
        {can('runs:operate') && <Space>
          <Popconfirm title={t('run.retryConfirm')} onConfirm={() => act.mutate('retry')} disabled={r.status !== 'failed'}>
            <Button disabled={r.status !== 'failed'} loading={act.isPending && act.variables === 'retry'}>{t('run.retry')}</Button>
          </Popconfirm>
          <Popconfirm title={t('run.replayConfirm')} onConfirm={() => act.mutate('replay')}>
            <Button loading={act.isPending && act.variables === 'replay'}>{t('run.replay')}</Button>
          </Popconfirm>
          <Popconfirm title={t('run.cancelConfirm')} onConfirm={() => act.mutate('cancel')} disabled={!ACTIVE.includes(r.status)}>
            <Button danger disabled={!ACTIVE.includes(r.status)} loading={act.isPending && act.variables === 'cancel'}>{t('run.cancel')}</Button>
          </Popconfirm>
        </Space>}
      </Space>
      <ErrorAlert error={act.error} style={{ marginBottom: 16 }} />
      {r.status === 'waiting' && <WaitingReviews runId={r.id} />}
      <Card style={{ marginBottom: 16 }}>
        <Descriptions size="small" column={{ xs: 1, md: 3 }}>
          <Descriptions.Item label={t('runs.flow')}><Link to={`/flows/${r.flowId}`}>{flow.data?.name ?? r.flowId}</Link></Descriptions.Item>
          <Descriptions.Item label={t('runs.version')}>{r.flowVersion ? `v${r.flowVersion}` : ''}</Descriptions.Item>
          <Descriptions.Item label={t('runs.mode')}>{t(`runs.modes.${r.mode}`, { defaultValue: r.mode })}</Descriptions.Item>
          <Descriptions.Item label={t('runs.businessKey')}>{r.businessKey}</Descriptions.Item>
          <Descriptions.Item label={t('run.attempt')}>{r.attempt}</Descriptions.Item>
          <Descriptions.Item label={t('runs.created')}>{formatTime(r.createdAt)}</Descriptions.Item>
          <Descriptions.Item label={t('run.finished')}>{formatTime(r.finishedAt)}</Descriptions.Item>
          <Descriptions.Item label={t('runs.duration')}>{r.durationMs !== undefined ? `${r.durationMs} ms` : ''}</Descriptions.Item>
          {r.replayOf && <Descriptions.Item label={t('run.replayOf')}><Link to={`/runs/${r.replayOf}`}>{r.replayOf}</Link></Descriptions.Item>}
          {r.parentRunId && (
            <Descriptions.Item label={t('run.childOf')}>
              <Link to={`/runs/${r.parentRunId}`}>{r.parentRunId}</Link> · {t('run.item', { index: (r.childIndex ?? 0) + 1 })}
            </Descriptions.Item>
          )}
        </Descriptions>
        {r.error !== undefined && r.error !== null && (<><Typography.Text strong>{t('run.error')}</Typography.Text><JsonView value={r.error} /></>)}
      </Card>
      <Suspense fallback={null}><RunGraph run={r} /></Suspense>
      <StepsTable steps={r.steps ?? []} />
      <ChildRuns parent={r} />
      <Card size="small" title={t('run.trigger')} style={{ marginTop: 16 }}><JsonView value={r.trigger} /></Card>
      {r.response !== undefined && <Card size="small" title={t('run.response')} style={{ marginTop: 16 }}><JsonView value={r.response} /></Card>}
    </div>
  );
}

/** WaitingReviews says which open reviews a waiting run waits for, each with a link to decide it. */
function WaitingReviews({ runId }: { runId: string }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const reviews = useQuery({
    queryKey: ['reviews', 'run', runId],
    queryFn: () => api.get<ReviewList>('/api/v1/reviews' + query({ runId, status: 'open' })),
    refetchInterval: 5000,
  });
  const items = reviews.data?.items ?? [];
  return (
    <>
      {items.map((rv) => (
        <Alert
          key={rv.id}
          type="warning"
          showIcon
          className="ferry-run-review"
          style={{ marginBottom: 16 }}
          message={t('reviews.waitingTitle', { title: reviewTitle(rv, t) })}
          description={t('reviews.waitingHelp')}
          action={<Button type="primary" size="small" onClick={() => navigate(`/reviews/${encodeURIComponent(rv.id)}`)}>{t('reviews.openReview')}</Button>}
        />
      ))}
    </>
  );
}

/**
 * ChildRuns shows the runs a split or a subflow step started: how many ended in each status, and each child (its
 * item number, business key and status) with a link, refreshed while the parent waits for them. A run that
 * started none shows nothing.
 */
function ChildRuns({ parent }: { parent: Run }) {
  const { t } = useTranslation();
  const children = useQuery({
    queryKey: ['runs', 'children', parent.id],
    queryFn: () => api.get<{ runs: Run[]; nextCursor?: string }>('/api/v1/runs' + query({ parent: parent.id, limit: 500 })),
    refetchInterval: parent.status === 'waiting' ? 2000 : false,
  });
  const runs = [...(children.data?.runs ?? [])].sort((a, b) => (a.childIndex ?? 0) - (b.childIndex ?? 0));
  if (runs.length === 0 && !children.error) return null; // no split, no subflow: nothing to list
  const counts: Record<string, number> = {};
  for (const c of runs) counts[c.status] = (counts[c.status] ?? 0) + 1;
  return (
    <Card size="small" className="ferry-child-runs" style={{ marginTop: 16 }}
      title={t('run.children', { count: runs.length })}
      extra={<Space size={4}>{Object.entries(counts).map(([status, n]) => <span key={status}><StatusTag status={status} /> {n}</span>)}</Space>}>
      <ErrorAlert error={children.error} />
      <Table<Run>
        rowKey="id"
        size="small"
        loading={children.isPending}
        dataSource={runs}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: '#', dataIndex: 'childIndex', width: 60, render: (i?: number) => (i ?? 0) + 1 },
          { title: t('runs.businessKey'), dataIndex: 'businessKey' },
          { title: t('runs.status'), dataIndex: 'status', render: (v: string) => <StatusTag status={v} /> },
          { title: t('run.title'), dataIndex: 'id', render: (v: string) => <Link to={`/runs/${v}`}>{v}</Link> },
        ]}
      />
    </Card>
  );
}

/** StepsTable lists a run's steps; each expands to its input, output and error. */
export function StepsTable({ steps }: { steps: Step[] }) {
  const { t } = useTranslation();
  return (
    <Table<Step>
      rowKey={(s) => `${s.seq}-${s.attempt ?? 0}`}
      size="small"
      dataSource={steps}
      pagination={false}
      locale={{ emptyText: t('run.noSteps') }}
      expandable={{
        expandedRowRender: (s) => (
          <div style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 16 }}>
            <div><Typography.Text strong>{t('run.input')}</Typography.Text><JsonView value={s.input} /></div>
            <div>
              <Typography.Text strong>{t('run.output')}</Typography.Text><JsonView value={s.output} />
              {s.error !== undefined && s.error !== null && (<><Typography.Text strong>{t('run.error')}</Typography.Text><JsonView value={s.error} /></>)}
            </div>
          </div>
        ),
      }}
      columns={[
        { title: '#', dataIndex: 'seq', width: 50 },
        { title: t('run.node'), dataIndex: 'nodeId', render: (n: string, s) => <span><b>{n}</b> <small style={{ color: '#6b7585' }}>{s.nodeType}</small></span> },
        { title: t('runs.status'), dataIndex: 'status', render: (v: string) => <StatusTag status={v} /> },
        { title: t('run.port'), dataIndex: 'port' },
        { title: t('run.attempt'), dataIndex: 'attempt' },
        { title: t('run.started'), dataIndex: 'startedAt', render: (v?: string) => formatTime(v) },
        { title: t('runs.duration'), dataIndex: 'durationUs', render: (v?: number) => formatMicros(v) },
      ]}
    />
  );
}
