import { useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Button, Card, Drawer, Empty, Select, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { SwapOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useCan } from '../permissions';
import { api } from '../api/client';
import type { Credential, Flow, FlowDocument, FlowEdge, FlowNode, FlowVersion } from '../api/types';
import { ErrorAlert, formatTime, Loading } from '../ui';
import { diffFlows, formatValue, isEmpty, type FlowDiff, type NodeField } from './diff';

/** Side is one side of a comparison: a published version number, or the draft being edited. */
type Side = number | 'draft';

interface DiffRow {
  key: string;
  what: React.ReactNode;
  before: unknown;
  after: unknown;
}

function Before({ value }: { value: unknown }) {
  return <Typography.Text code style={{ color: '#cf1322', wordBreak: 'break-all' }}>{formatValue(value)}</Typography.Text>;
}

function After({ value }: { value: unknown }) {
  return <Typography.Text code style={{ color: '#237804', wordBreak: 'break-all' }}>{formatValue(value)}</Typography.Text>;
}

function ChangeTable({ rows }: { rows: DiffRow[] }) {
  const { t } = useTranslation();
  return (
    <Table<DiffRow>
      size="small"
      rowKey="key"
      pagination={false}
      dataSource={rows}
      columns={[
        { title: t('versions.param'), dataIndex: 'what', width: '30%' },
        { title: t('versions.before'), dataIndex: 'before', render: (v: unknown) => <Before value={v} /> },
        { title: t('versions.after'), dataIndex: 'after', render: (v: unknown) => <After value={v} /> },
      ]}
    />
  );
}

/** DiffView shows what changed from one flow document to another, section by section. */
function DiffView({ diff, before, after, credentialNames }: {
  diff: FlowDiff; before: FlowDocument; after: FlowDocument; credentialNames: Map<string, string>;
}) {
  const { t } = useTranslation();
  const names = useMemo(() => {
    const m = new Map<string, string>();
    for (const n of [...(before.nodes ?? []), ...(after.nodes ?? [])]) m.set(n.id, n.name || n.id);
    return m;
  }, [before, after]);

  if (isEmpty(diff)) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('versions.noDifference')} />;

  const nodeLine = (n: FlowNode) => (
    <Space size={6} wrap>
      <b>{n.name || n.id}</b>
      <Typography.Text type="secondary"><code>{n.type}</code>{n.version ? ` v${n.version}` : ''}</Typography.Text>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>#{n.id}</Typography.Text>
    </Space>
  );
  const edgeLine = (e: FlowEdge) => (
    <span>
      <b>{names.get(e.source) ?? e.source}</b>
      {e.sourcePort && e.sourcePort !== 'main' ? <Tag style={{ marginLeft: 4 }}>{e.sourcePort}</Tag> : ' '}
      → <b>{names.get(e.target) ?? e.target}</b>
      {e.targetPort && e.targetPort !== 'main' ? <Tag style={{ marginLeft: 4 }}>{e.targetPort}</Tag> : null}
    </span>
  );
  const credential = (v: unknown) => (typeof v === 'string' && credentialNames.has(v) ? `${credentialNames.get(v)} (${v})` : v);

  return (
    <Space direction="vertical" style={{ width: '100%' }} size={16}>
      <Typography.Text type="secondary">
        {t('versions.summary', { added: diff.nodesAdded.length, removed: diff.nodesRemoved.length, changed: diff.nodesChanged.length })}
      </Typography.Text>
      {diff.flow.length > 0 && (
        <section>
          <Typography.Title level={5}>{t('versions.flowSection')}</Typography.Title>
          <ChangeTable rows={diff.flow.map((c) => ({ key: c.path, what: <code>{c.path}</code>, before: c.before, after: c.after }))} />
        </section>
      )}
      {diff.nodesAdded.length > 0 && (
        <section>
          <Typography.Title level={5}>{t('versions.nodesAdded')}</Typography.Title>
          {diff.nodesAdded.map((n) => <div key={n.id} style={{ color: '#237804' }}>+ {nodeLine(n)}</div>)}
        </section>
      )}
      {diff.nodesRemoved.length > 0 && (
        <section>
          <Typography.Title level={5}>{t('versions.nodesRemoved')}</Typography.Title>
          {diff.nodesRemoved.map((n) => <div key={n.id} style={{ color: '#cf1322' }}>− {nodeLine(n)}</div>)}
        </section>
      )}
      {diff.nodesChanged.length > 0 && (
        <section>
          <Typography.Title level={5}>{t('versions.nodesChanged')}</Typography.Title>
          <Space direction="vertical" style={{ width: '100%' }}>
            {diff.nodesChanged.map((c) => (
              <Card key={c.id} size="small" title={nodeLine(c.after)}>
                <ChangeTable
                  rows={[
                    ...c.fields.map((f) => ({
                      key: 'field:' + f.field,
                      what: t(`versions.field.${f.field satisfies NodeField}`),
                      before: f.field === 'credential' ? credential(f.before) : f.before,
                      after: f.field === 'credential' ? credential(f.after) : f.after,
                    })),
                    ...c.params.map((p) => ({ key: 'param:' + p.path, what: <code>{p.path}</code>, before: p.before, after: p.after })),
                  ]}
                />
              </Card>
            ))}
          </Space>
        </section>
      )}
      {diff.edgesAdded.length > 0 && (
        <section>
          <Typography.Title level={5}>{t('versions.edgesAdded')}</Typography.Title>
          {diff.edgesAdded.map((e, i) => <div key={i} style={{ color: '#237804' }}>+ {edgeLine(e)}</div>)}
        </section>
      )}
      {diff.edgesRemoved.length > 0 && (
        <section>
          <Typography.Title level={5}>{t('versions.edgesRemoved')}</Typography.Title>
          {diff.edgesRemoved.map((e, i) => <div key={i} style={{ color: '#cf1322' }}>− {edgeLine(e)}</div>)}
        </section>
      )}
    </Space>
  );
}

// The versions drawer of the editor: published versions with who published them and when, a diff between two of
// them or against the draft, and rollback.
export function VersionsDrawer(props: { flowId: string; draft: FlowDocument; open: boolean; onClose: () => void;
  onRolledBack: () => void }) {
  const { flowId, draft, open, onClose, onRolledBack } = props;
  const { t } = useTranslation();
  const can = useCan();
  const { message, modal } = AntApp.useApp();
  const queryClient = useQueryClient();
  const [from, setFrom] = useState<Side | null>(null);
  const [to, setTo] = useState<Side>('draft');

  const versions = useQuery({
    queryKey: ['flows', flowId, 'versions'],
    queryFn: () => api.get<{ versions: FlowVersion[] }>(`/api/v1/flows/${flowId}/versions`),
    enabled: open,
  });
  const flow = useQuery({
    queryKey: ['flows', flowId, 'summary'],
    queryFn: () => api.get<Flow>(`/api/v1/flows/${flowId}`),
    enabled: open,
  });
  // Credential names make a changed credential readable; without the permission to list them, ids are shown.
  const credentials = useQuery({
    queryKey: ['credentials'],
    queryFn: () => api.get<{ credentials: Credential[] }>('/api/v1/credentials'),
    enabled: open,
    retry: false,
    staleTime: 60_000,
  });
  const credentialNames = useMemo(
    () => new Map((credentials.data?.credentials ?? []).map((c) => [c.id, c.name])),
    [credentials.data],
  );

  const list = versions.data?.versions ?? [];
  const live = flow.data?.publishedVersion;

  // Start by comparing the live version (or the newest) with the draft: "what would publishing change?"
  useEffect(() => {
    if (!open) {
      setFrom(null);
      setTo('draft');
      return;
    }
    if (from === null && list.length > 0 && flow.data) setFrom(live ?? list[0].version);
  }, [open, from, list, live, flow.data]);

  const fetchVersion = (side: Side | null) => ({
    queryKey: ['flows', flowId, 'versions', side],
    queryFn: () => api.get<FlowVersion>(`/api/v1/flows/${flowId}/versions/${side}`),
    enabled: open && typeof side === 'number',
    staleTime: Infinity,
  });
  const fromVersion = useQuery(fetchVersion(from));
  const toVersion = useQuery(fetchVersion(to));
  const docOf = (side: Side | null, q: typeof fromVersion): FlowDocument | undefined =>
    side === 'draft' ? draft : q.data?.flow;
  const fromDoc = docOf(from, fromVersion);
  const toDoc = docOf(to, toVersion);
  const diff = useMemo(() => (fromDoc && toDoc ? diffFlows(fromDoc, toDoc) : undefined), [fromDoc, toDoc]);

  const rollback = useMutation({
    mutationFn: (version: number) => api.post<Flow>(`/api/v1/flows/${flowId}/versions/${version}/rollback`),
    onSuccess: (_, version) => {
      void message.success(t('versions.rolledBack', { version }));
      void queryClient.invalidateQueries({ queryKey: ['flows'] });
      onRolledBack();
    },
  });

  const confirmRollback = (version: number) =>
    modal.confirm({
      title: t('versions.rollbackTitle', { version }),
      content: t('versions.rollbackBody', { version }),
      okText: t('versions.rollback'),
      cancelText: t('common.cancel'),
      onOk: () => rollback.mutateAsync(version).catch(() => undefined),
    });

  const sideOptions = [
    { value: 'draft' as Side, label: t('versions.draft') },
    ...list.map((v) => ({ value: v.version as Side, label: `v${v.version}${v.version === live ? ` · ${t('versions.live')}` : ''}${v.message ? ` · ${v.message}` : ''}` })),
  ];

  const loading = versions.isPending || flow.isPending;
  let compareBody: React.ReactNode;
  if (from === null || from === to) compareBody = <Typography.Text type="secondary">{t('versions.pickTwo')}</Typography.Text>;
  else if (fromVersion.error || toVersion.error) compareBody = <ErrorAlert error={fromVersion.error ?? toVersion.error} />;
  else if (!diff || !fromDoc || !toDoc) compareBody = <Loading />;
  else compareBody = <DiffView diff={diff} before={fromDoc} after={toDoc} credentialNames={credentialNames} />;

  return (
    <Drawer
      open={open}
      onClose={onClose}
      title={t('versions.title')}
      width="min(860px, calc(100vw - 48px))"
      destroyOnHidden
    >
      <ErrorAlert error={versions.error ?? flow.error} style={{ marginBottom: 16 }} />
      <ErrorAlert error={rollback.error} style={{ marginBottom: 16 }} />
      {loading && !versions.error && !flow.error ? (
        <Loading />
      ) : list.length === 0 ? (
        !versions.error && <Empty description={t('versions.empty')} />
      ) : (
        <Space direction="vertical" style={{ width: '100%' }} size={24}>
          <Table<FlowVersion>
            size="small"
            rowKey="version"
            dataSource={list}
            pagination={{ pageSize: 8, hideOnSinglePage: true, size: 'small' }}
            columns={[
              {
                title: t('versions.version'),
                dataIndex: 'version',
                width: 100,
                render: (v: number) => (
                  <Space size={4}>
                    <b>v{v}</b>
                    {v === live && <Tag color={flow.data?.status === 'paused' ? 'orange' : 'green'}>{t('versions.live')}</Tag>}
                  </Space>
                ),
              },
              {
                title: t('versions.message'),
                dataIndex: 'message',
                ellipsis: { showTitle: true },
                render: (m?: string) => m || <Typography.Text type="secondary">{t('versions.noMessage')}</Typography.Text>,
              },
              {
                title: t('versions.publishedBy'),
                dataIndex: 'createdBy',
                width: 180,
                ellipsis: true,
                render: (by?: string) => by || <Typography.Text type="secondary">{t('versions.unknownPublisher')}</Typography.Text>,
              },
              { title: t('versions.publishedAt'), dataIndex: 'createdAt', width: 160, render: (at: string) => formatTime(at) },
              {
                title: '',
                key: 'actions',
                width: 230,
                render: (_, v) => (
                  <Space size={0}>
                    <Button type="link" size="small" onClick={() => { setFrom(v.version); setTo('draft'); }}>
                      {t('versions.compareWithDraft')}
                    </Button>
                    {v.version !== live && can('flows:publish') && (
                      <Button type="link" size="small" loading={rollback.isPending && rollback.variables === v.version}
                        onClick={() => confirmRollback(v.version)}>
                        {t('versions.rollback')}
                      </Button>
                    )}
                  </Space>
                ),
              },
            ]}
          />
          <Card
            size="small"
            title={t('versions.compare')}
            extra={
              <Space wrap>
                <span>{t('versions.from')}</span>
                <Select<Side> size="small" style={{ width: 200 }} value={from ?? undefined} onChange={setFrom} options={sideOptions} />
                <Tooltip title={t('versions.swap')}>
                  <Button size="small" icon={<SwapOutlined />} aria-label={t('versions.swap')}
                    disabled={from === null} onClick={() => { if (from !== null) { setFrom(to); setTo(from); } }} />
                </Tooltip>
                <span>{t('versions.to')}</span>
                <Select<Side> size="small" style={{ width: 200 }} value={to} onChange={setTo} options={sideOptions} />
              </Space>
            }
          >
            {compareBody}
          </Card>
        </Space>
      )}
    </Drawer>
  );
}
