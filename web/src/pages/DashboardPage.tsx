import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Card, Col, Empty, Row, Segmented, Space, Spin, Statistic, Table, Tag, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, query } from '../api/client';
import { ErrorAlert, formatTime, uiLocale } from '../ui';
import {
  ageParts, chartBars, type Dashboard, DASHBOARD_WINDOWS, type DashboardBucket, type DashboardWindow, formatRate, rateTone,
} from './runHealth';

const REFRESH_MS = 15_000;
const CHART_H = 180;
const COLORS = { succeeded: '#52c41a', failed: '#ff4d4f', other: '#91caff' };
const TONES = { good: '#389e0d', warn: '#d48806', bad: '#cf1322', none: undefined };

/** Age shows a number of seconds as "3 h 12 min" in the current language. */
function Age({ seconds }: { seconds: number }) {
  const { t } = useTranslation();
  return <>{ageParts(seconds).map((p) => t(`dashboard.units.${p.unit}`, { count: p.value })).join(' ')}</>;
}

export default function DashboardPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const win = (DASHBOARD_WINDOWS as string[]).includes(params.get('window') ?? '') ? (params.get('window') as DashboardWindow) : '1h';
  const dash = useQuery({
    queryKey: ['dashboard', win],
    queryFn: () => api.get<Dashboard>('/api/v1/dashboard' + query({ window: win })),
    refetchInterval: REFRESH_MS,
    refetchIntervalInBackground: false,
  });
  const d = dash.data;

  const setWindow = (w: DashboardWindow) => {
    const next = new URLSearchParams(params);
    next.set('window', w);
    setParams(next, { replace: true });
  };

  return (
    <div className="ferry-page">
      <Space align="center" wrap style={{ width: '100%', justifyContent: 'space-between', marginBottom: 16 }}>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('dashboard.title')}</Typography.Title>
        <Space wrap>
          {d && (
            <Typography.Text type="secondary">
              {dash.isFetching ? <Spin size="small" style={{ marginRight: 8 }} /> : null}
              {t('dashboard.updated', { time: new Date(d.generatedAt).toLocaleTimeString(uiLocale()) })}
            </Typography.Text>
          )}
          <Segmented<DashboardWindow>
            value={win}
            onChange={setWindow}
            options={DASHBOARD_WINDOWS.map((w) => ({ value: w, label: t(`dashboard.windows.${w}`) }))}
          />
        </Space>
      </Space>
      {/* A failed refresh keeps the last answer on screen and says why it is not fresh. */}
      <ErrorAlert error={dash.error} style={{ marginBottom: 16 }} />
      {dash.isPending ? (
        <div style={{ padding: 48, textAlign: 'center' }}><Spin /></div>
      ) : d ? (
        <DashboardBody d={d} win={win} />
      ) : null}
    </div>
  );
}

function DashboardBody({ d, win }: { d: Dashboard; win: DashboardWindow }) {
  const { t } = useTranslation();
  const rate = formatRate(d.totals.successRate);
  const waiting = d.backlog.waiting + d.backlog.delayed;
  const tiles: { key: string; title: string; value: React.ReactNode; hint?: React.ReactNode; color?: string; to?: string }[] = [
    { key: 'runs', title: t('dashboard.tiles.runs'), value: d.totals.runs, hint: t(`dashboard.windowHints.${win}`) },
    {
      key: 'rate', title: t('dashboard.tiles.successRate'), value: rate ?? t('dashboard.noRate'), color: TONES[rateTone(d.totals.successRate)],
      hint: t('dashboard.finishedOf', { succeeded: d.totals.succeeded, finished: d.totals.finished }),
    },
    { key: 'failed', title: t('dashboard.tiles.failed'), value: d.totals.failed, color: d.totals.failed ? TONES.bad : undefined, to: '/runs?status=failed' },
    { key: 'dead', title: t('dashboard.tiles.deadLetters'), value: d.deadLetters.total, color: d.deadLetters.total ? TONES.bad : undefined, hint: t('dashboard.deadHint'), to: '/dead-letters' },
    {
      key: 'waiting', title: t('dashboard.tiles.waiting'), value: waiting,
      hint: t('dashboard.waitingHint', { parked: d.backlog.waiting, delayed: d.backlog.delayed }), to: '/runs?status=waiting',
    },
    {
      key: 'queued', title: t('dashboard.tiles.queued'), value: d.backlog.queued,
      hint: d.backlog.oldestQueuedAgeSeconds !== undefined
        ? <>{t('dashboard.oldestQueued')} <Age seconds={d.backlog.oldestQueuedAgeSeconds} /></>
        : t('dashboard.running', { count: d.backlog.running }),
      to: '/runs?status=queued',
    },
    {
      key: 'depth', title: t('dashboard.tiles.queueDepth'), value: d.queue.depth ?? '—',
      hint: d.queue.error ? <Tooltip title={d.queue.error}><Tag color="orange">{t('dashboard.queueUnavailable')}</Tag></Tooltip> : t('dashboard.queueHint'),
    },
  ];

  return (
    <>
      <Row gutter={[12, 12]} style={{ marginBottom: 16 }}>
        {tiles.map((tile) => {
          const card = (
            <Card size="small" hoverable={!!tile.to} style={{ height: '100%' }}>
              <Statistic title={tile.title} value={tile.value as number | string} valueStyle={{ color: tile.color }} />
              {tile.hint && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{tile.hint}</Typography.Text>}
            </Card>
          );
          return (
            <Col key={tile.key} flex="1 1 170px">
              {tile.to ? <Link to={tile.to} aria-label={tile.title}>{card}</Link> : card}
            </Col>
          );
        })}
      </Row>

      <Card
        size="small"
        title={t('dashboard.chartTitle', { bucket: t(`dashboard.buckets.${win}`) })}
        style={{ marginBottom: 16 }}
        extra={
          <Space size="middle">
            <Legend color={COLORS.succeeded} label={t('status.succeeded')} />
            <Legend color={COLORS.failed} label={t('status.failed')} />
            <Legend color={COLORS.other} label={t('dashboard.otherStatus')} />
          </Space>
        }
      >
        {d.totals.runs === 0 ? (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('dashboard.noRuns')} />
        ) : (
          <RunsChart buckets={d.buckets} win={win} />
        )}
      </Card>

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={14}>
          <Card size="small" title={t('dashboard.failuresTitle')}>
            <Table
              size="small"
              rowKey="flowId"
              pagination={false}
              dataSource={d.failures}
              locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('dashboard.noFailures')} /> }}
              columns={[
                {
                  title: t('dashboard.flow'), dataIndex: 'flowId',
                  render: (id: string, f) => <Link to={`/runs${query({ flow: id, status: 'failed' })}`}>{f.flowName || id}</Link>,
                },
                { title: t('dashboard.failed'), dataIndex: 'failed', width: 90, align: 'right' },
                {
                  title: t('dashboard.lastError'), key: 'lastError',
                  render: (_: unknown, f) => f.lastError ? (
                    <Space direction="vertical" size={0}>
                      <span>{f.lastError.code && <Tag color="red">{f.lastError.code}</Tag>}{f.lastError.nodeId && <code>{f.lastError.nodeId}</code>}</span>
                      <Typography.Text type="secondary" ellipsis={{ tooltip: f.lastError.message }} style={{ maxWidth: 360 }}>{f.lastError.message}</Typography.Text>
                    </Space>
                  ) : null,
                },
                {
                  title: t('dashboard.lastAt'), dataIndex: 'lastAt', width: 190,
                  render: (v: string | undefined, f) => (f.lastRunId ? <Link to={`/runs/${f.lastRunId}`}>{formatTime(v)}</Link> : formatTime(v)),
                },
              ]}
            />
          </Card>
        </Col>
        <Col xs={24} xl={10}>
          <Card size="small" title={t('dashboard.deadLettersTitle')} extra={<Link to="/dead-letters">{t('dashboard.openDeadLetters')}</Link>}>
            <Table
              size="small"
              rowKey="flowId"
              pagination={false}
              dataSource={d.deadLetters.byFlow}
              locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('dashboard.noDeadLetters')} /> }}
              columns={[
                { title: t('dashboard.flow'), dataIndex: 'flowId', render: (id: string, f) => <Link to={`/dead-letters${query({ flow: id })}`}>{f.flowName || id}</Link> },
                { title: t('dashboard.count'), dataIndex: 'count', width: 90, align: 'right' },
                { title: t('dashboard.oldest'), dataIndex: 'oldestAt', width: 190, render: (v?: string) => formatTime(v) },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </>
  );
}

function Legend({ color, label }: { color: string; label: string }) {
  return (
    <span style={{ fontSize: 12 }}>
      <span style={{ display: 'inline-block', width: 10, height: 10, background: color, marginRight: 4, borderRadius: 2 }} />
      {label}
    </span>
  );
}

/** useWidth follows the width of an element, so the chart is drawn at its real size (crisp text, no stretching). */
function useWidth<T extends HTMLElement>(): [React.RefObject<T>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver((entries) => setWidth(Math.floor(entries[0].contentRect.width)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

/** RunsChart draws the window's runs as stacked SVG bars, one per bucket, with a hover title on each. */
function RunsChart({ buckets, win }: { buckets: DashboardBucket[]; win: DashboardWindow }) {
  const { t } = useTranslation();
  const [ref, width] = useWidth<HTMLDivElement>();
  const padLeft = 40;
  const { bars, max } = chartBars(buckets, Math.max(width - padLeft, 0), CHART_H);
  const label = (iso: string) => {
    const date = new Date(iso);
    const time = date.toLocaleTimeString(uiLocale(), { hour: '2-digit', minute: '2-digit' });
    return win === '1h' ? time : date.toLocaleDateString(uiLocale(), { month: 'short', day: 'numeric' }) + ' ' + time;
  };
  const ticks = bars.length ? [0, Math.floor(bars.length / 2), bars.length - 1] : [];
  return (
    <div ref={ref} style={{ width: '100%', height: CHART_H + 24 }}>
      {width > 0 && (
        <svg width={width} height={CHART_H + 24} role="img" aria-label={t('dashboard.chartLabel')} style={{ display: 'block' }}>
          <line x1={padLeft} x2={width} y1={0.5} y2={0.5} stroke="#f0f0f0" />
          <line x1={padLeft} x2={width} y1={CHART_H / 2} y2={CHART_H / 2} stroke="#f0f0f0" />
          <line x1={padLeft} x2={width} y1={CHART_H} y2={CHART_H} stroke="#d9d9d9" />
          <text x={padLeft - 6} y={10} textAnchor="end" fontSize={11} fill="#8c8c8c">{max}</text>
          <text x={padLeft - 6} y={CHART_H / 2 + 4} textAnchor="end" fontSize={11} fill="#8c8c8c">{max / 2}</text>
          <text x={padLeft - 6} y={CHART_H} textAnchor="end" fontSize={11} fill="#8c8c8c">0</text>
          {bars.map((b) => {
            const x = b.x + padLeft;
            let y = CHART_H;
            const parts = [
              { h: b.hSucceeded, c: COLORS.succeeded },
              { h: b.hFailed, c: COLORS.failed },
              { h: b.hOther, c: COLORS.other },
            ];
            return (
              <g key={b.start}>
                <title>
                  {`${label(b.start)} · ${t('dashboard.barRuns', { count: b.total })} · ${t('status.succeeded')} ${b.succeeded} · ${t('status.failed')} ${b.failed} · ${t('dashboard.otherStatus')} ${b.other}`}
                </title>
                <rect x={x} y={0} width={b.width} height={CHART_H} fill="transparent" />
                {parts.map((p, i) => {
                  if (p.h <= 0) return null;
                  y -= p.h;
                  return <rect key={i} x={x} y={y} width={b.width} height={p.h} fill={p.c} />;
                })}
              </g>
            );
          })}
          {ticks.map((i, n) => (
            <text
              key={i}
              x={n === 0 ? padLeft : n === ticks.length - 1 ? width : bars[i].x + padLeft + bars[i].width / 2}
              y={CHART_H + 16}
              fontSize={11}
              fill="#8c8c8c"
              textAnchor={n === 0 ? 'start' : n === ticks.length - 1 ? 'end' : 'middle'}
            >
              {label(bars[i].start)}
            </text>
          ))}
        </svg>
      )}
    </div>
  );
}
