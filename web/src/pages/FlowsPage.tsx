import { useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Button, Dropdown, Form, Input, Modal, Select, Space, Table, Tooltip, Typography } from 'antd';
import type { MenuProps } from 'antd';
import { MoreOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { api, query, request } from '../api/client';
import { useCan } from '../permissions';
import type { Flow, FlowDocument, FlowListItem, NodeSpec } from '../api/types';
import { defaultParams } from '../editor/form';
import { ErrorAlert, formatTime, StatusTag, webhookAddress } from '../ui';

type StatusFilter = '' | Flow['status'];

/** newFlowDocument is the draft of a new flow: one webhook trigger with its spec's defaults. */
export function newFlowDocument(name: string, webhook: NodeSpec | undefined): FlowDocument {
  return {
    schema: 1,
    name,
    nodes: [{ id: 'webhook', type: 'core.webhook', version: webhook?.version ?? 1, name: webhook?.name ?? 'Webhook', params: defaultParams(webhook), position: { x: 0, y: 120 } }],
    edges: [],
  };
}

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** failureRate is the share of failed live runs, or undefined when there were none to judge by. */
export function failureRate(runs: number, failed: number): number | undefined {
  return runs > 0 ? failed / runs : undefined;
}

function rateColor(rate: number): string {
  if (rate === 0) return '#389e0d';
  return rate < 0.05 ? '#d48806' : '#cf1322';
}

export default function FlowsPage() {
  const { t, i18n } = useTranslation();
  const can = useCan();
  const { message, modal } = AntApp.useApp();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<StatusFilter>('');
  const [creating, setCreating] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const flows = useQuery({
    queryKey: ['flows', search, status],
    queryFn: () => api.get<{ flows: FlowListItem[] }>('/api/v1/flows' + query({ search, status })),
  });
  const catalog = useQuery({ queryKey: ['nodes'], queryFn: () => api.get<{ nodes: NodeSpec[] }>('/api/v1/nodes'), staleTime: 300_000 });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['flows'] });

  const create = useMutation({
    mutationFn: (name: string) =>
      api.post<Flow>('/api/v1/flows', newFlowDocument(name, catalog.data?.nodes.find((n) => n.type === 'core.webhook'))),
    onSuccess: (flow) => {
      setCreating(false);
      refresh();
      navigate(`/flows/${flow.id}`);
    },
  });

  const importFlow = useMutation({
    mutationFn: async (file: File) => request<Flow>('POST', '/api/v1/flows/import', { body: await file.text(), raw: true }),
    onSuccess: (flow) => {
      void message.success(t('flows.imported', { name: flow.name }));
      refresh();
    },
  });

  const duplicate = useMutation({
    mutationFn: (flow: Flow) => api.post<Flow>(`/api/v1/flows/${flow.id}/duplicate`),
    onMutate: () => setActionError(null),
    onSuccess: (copy) => {
      void message.success(t('flowsList.duplicated', { name: copy.name }));
      refresh();
    },
    onError: setActionError,
  });

  const setPaused = useMutation({
    mutationFn: ({ flow, pause }: { flow: Flow; pause: boolean }) =>
      api.post<Flow>(`/api/v1/flows/${flow.id}/${pause ? 'pause' : 'resume'}`),
    onMutate: () => setActionError(null),
    onSuccess: (flow, { pause }) => {
      void message.success(t(pause ? 'flowsList.paused' : 'flowsList.resumed', { name: flow.name }));
      refresh();
    },
    onError: setActionError,
  });

  const remove = useMutation({
    mutationFn: (flow: Flow) => api.del<void>(`/api/v1/flows/${flow.id}`),
    onMutate: () => setActionError(null),
    onSuccess: (_, flow) => {
      void message.success(t('flowsList.deleted', { name: flow.name }));
      refresh();
      void queryClient.invalidateQueries({ queryKey: ['runs'] });
    },
    onError: setActionError,
  });

  const exportFlow = async (flow: Flow) => {
    try {
      const doc = await api.get<FlowDocument>(`/api/v1/flows/${flow.id}/export`);
      download(`${flow.name.replace(/[^\p{L}\p{N}_-]+/gu, '-') || flow.id}.json`, JSON.stringify(doc, null, 2) + '\n');
    } catch (e) {
      void message.error(t('flowsList.exportFailed', { message: e instanceof Error ? e.message : String(e) }));
    }
  };

  const confirmPause = (flow: Flow) =>
    modal.confirm({
      title: t('flowsList.pauseTitle', { name: flow.name }),
      content: t('flowsList.pauseBody'),
      okText: t('flowsList.pause'),
      cancelText: t('common.cancel'),
      onOk: () => setPaused.mutateAsync({ flow, pause: true }).catch(() => undefined),
    });

  const confirmDelete = (flow: Flow) =>
    modal.confirm({
      title: t('flowsList.deleteTitle', { name: flow.name }),
      content: t('flowsList.deleteBody'),
      okText: t('flowsList.delete'),
      okButtonProps: { danger: true },
      cancelText: t('common.cancel'),
      onOk: () => remove.mutateAsync(flow).catch(() => undefined),
    });

  const percent = new Intl.NumberFormat(i18n.language, { style: 'percent', maximumFractionDigits: 1 });

  // Only what the role may do is offered; export is a read.
  const mayWrite = can('flows:write');
  const mayPublish = can('flows:publish');
  const menu = (f: FlowListItem): MenuProps => ({
    items: [
      ...(mayWrite ? [{ key: 'duplicate', label: t('flowsList.duplicate'), onClick: () => duplicate.mutate(f) }] : []),
      ...(mayPublish && f.status === 'published' ? [{ key: 'pause', label: t('flowsList.pause'), onClick: () => confirmPause(f) }] : []),
      ...(mayPublish && f.status === 'paused' ? [{ key: 'resume', label: t('flowsList.resume'), onClick: () => setPaused.mutate({ flow: f, pause: false }) }] : []),
      { key: 'export', label: t('flows.export'), onClick: () => void exportFlow(f) },
      ...(mayWrite ? [{ type: 'divider' as const }, { key: 'delete', label: t('flowsList.delete'), danger: true, onClick: () => confirmDelete(f) }] : []),
    ],
  });

  const busy = duplicate.isPending || setPaused.isPending || remove.isPending;
  const filtered = Boolean(search || status);

  return (
    <div className="ferry-page">
      <Space style={{ marginBottom: 16, width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('flows.title')}</Typography.Title>
        <Space wrap>
          <Input.Search allowClear placeholder={t('flows.search')} onSearch={setSearch} style={{ width: 240 }} />
          <Select<StatusFilter>
            aria-label={t('flowsList.statusFilter')}
            value={status}
            onChange={setStatus}
            style={{ width: 160 }}
            options={[
              { value: '', label: t('flowsList.allStatuses') },
              { value: 'draft', label: t('status.draft') },
              { value: 'published', label: t('status.published') },
              { value: 'paused', label: t('status.paused') },
            ]}
          />
          {mayWrite && <Button onClick={() => fileInput.current?.click()} loading={importFlow.isPending}>{t('flows.import')}</Button>}
          {mayWrite && <Button type="primary" onClick={() => { create.reset(); setCreating(true); }}>{t('flows.create')}</Button>}
        </Space>
      </Space>
      <input
        ref={fileInput}
        type="file"
        accept="application/json,.json"
        hidden
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) importFlow.mutate(f);
          e.target.value = '';
        }}
      />
      <ErrorAlert error={importFlow.error} style={{ marginBottom: 16 }} />
      <ErrorAlert error={actionError} style={{ marginBottom: 16 }} />
      <ErrorAlert error={flows.error} style={{ marginBottom: 16 }} />
      <Table<FlowListItem>
        rowKey="id"
        loading={flows.isPending || busy}
        dataSource={flows.data?.flows ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        scroll={{ x: 1000 }}
        locale={{ emptyText: flows.isError ? ' ' : filtered ? t('flows.noMatch') : t('flows.empty') }}
        columns={[
          {
            title: t('flows.name'),
            dataIndex: 'name',
            ellipsis: true,
            render: (name: string, f) => (
              <div style={{ minWidth: 0 }}>
                <Link to={`/flows/${f.id}`}>{name}</Link>
                {f.webhookUrl && (
                  <div>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }} copyable={{ text: webhookAddress(f.webhookUrl) }} ellipsis>
                      {f.webhookUrl}
                    </Typography.Text>
                  </div>
                )}
              </div>
            ),
          },
          { title: t('flows.status'), dataIndex: 'status', width: 110, render: (s: string) => <StatusTag status={s} /> },
          { title: t('flows.version'), dataIndex: 'publishedVersion', width: 120, render: (v?: number) => (v ? `v${v}` : '—') },
          {
            title: t('flowsList.lastRun'),
            key: 'lastRun',
            width: 230,
            render: (_, f) =>
              f.activity?.lastRunId ? (
                <Space size={4} wrap>
                  {f.activity.lastStatus && <StatusTag status={f.activity.lastStatus} />}
                  <Link to={`/runs/${f.activity.lastRunId}`}>{formatTime(f.activity.lastRunAt)}</Link>
                </Space>
              ) : (
                <Typography.Text type="secondary">{t('flowsList.never')}</Typography.Text>
              ),
          },
          {
            title: t('flowsList.last24h'),
            key: 'rate',
            width: 170,
            render: (_, f) => {
              const runs = f.activity?.runs24h ?? 0;
              const failed = f.activity?.failed24h ?? 0;
              const rate = failureRate(runs, failed);
              if (rate === undefined) return <Typography.Text type="secondary">{t('flowsList.noRuns24h')}</Typography.Text>;
              return (
                <Tooltip title={t('flowsList.failedOf', { failed, runs })}>
                  <div>{t('flowsList.runsCount', { count: runs })}</div>
                  <div style={{ color: rateColor(rate), fontSize: 12 }}>{t('flowsList.failureRate', { rate: percent.format(rate) })}</div>
                </Tooltip>
              );
            },
          },
          { title: t('flows.updated'), dataIndex: 'updatedAt', width: 180, render: (v?: string) => formatTime(v) },
          {
            title: t('flowsList.actions'),
            key: 'actions',
            width: 190,
            render: (_, f) => (
              <Space size={12}>
                <Link to={`/flows/${f.id}`}>{t('flows.edit')}</Link>
                <Link to={`/runs?flow=${encodeURIComponent(f.id)}`}>{t('flows.runs')}</Link>
                <Dropdown menu={menu(f)} trigger={['click']}>
                  <Button type="text" size="small" icon={<MoreOutlined />} aria-label={t('flowsList.more')} />
                </Dropdown>
              </Space>
            ),
          },
        ]}
      />
      <Modal open={creating} title={t('flows.createTitle')} onCancel={() => setCreating(false)} footer={null} destroyOnHidden>
        <Form<{ name: string }> layout="vertical" onFinish={(v) => create.mutate(v.name)}>
          <Form.Item name="name" label={t('flows.name')} rules={[{ required: true, whitespace: true, message: t('flows.nameRequired') }]}>
            <Input autoFocus />
          </Form.Item>
          <p style={{ color: '#6b7585' }}>{t('flows.createHelp')}</p>
          <ErrorAlert error={create.error} style={{ marginBottom: 16 }} />
          <Button type="primary" htmlType="submit" loading={create.isPending}>{t('flows.create')}</Button>
        </Form>
      </Modal>
    </div>
  );
}
