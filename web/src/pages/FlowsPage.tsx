import { useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Button, Form, Input, Modal, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, query, request } from '../api/client';
import type { Flow, FlowDocument, NodeSpec } from '../api/types';
import { defaultParams } from '../editor/form';
import { ErrorAlert, formatTime, StatusTag, webhookAddress } from '../ui';

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

export default function FlowsPage() {
  const { t } = useTranslation();
  const { message } = AntApp.useApp();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const [creating, setCreating] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  const flows = useQuery({
    queryKey: ['flows', search],
    queryFn: () => api.get<{ flows: Flow[] }>('/api/v1/flows' + query({ search })),
  });
  const catalog = useQuery({ queryKey: ['nodes'], queryFn: () => api.get<{ nodes: NodeSpec[] }>('/api/v1/nodes'), staleTime: 300_000 });

  const create = useMutation({
    mutationFn: (name: string) =>
      api.post<Flow>('/api/v1/flows', newFlowDocument(name, catalog.data?.nodes.find((n) => n.type === 'core.webhook'))),
    onSuccess: (flow) => {
      setCreating(false);
      void queryClient.invalidateQueries({ queryKey: ['flows'] });
      navigate(`/flows/${flow.id}`);
    },
  });

  const importFlow = useMutation({
    mutationFn: async (file: File) => request<Flow>('POST', '/api/v1/flows/import', { body: await file.text(), raw: true }),
    onSuccess: (flow) => {
      void message.success(t('flows.imported', { name: flow.name }));
      void queryClient.invalidateQueries({ queryKey: ['flows'] });
    },
  });

  const exportFlow = async (flow: Flow) => {
    try {
      const doc = await api.get<FlowDocument>(`/api/v1/flows/${flow.id}/export`);
      download(`${flow.name.replace(/[^\p{L}\p{N}_-]+/gu, '-') || flow.id}.json`, JSON.stringify(doc, null, 2) + '\n');
    } catch (e) {
      void message.error(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <div className="ferry-page">
      <Space style={{ marginBottom: 16, width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('flows.title')}</Typography.Title>
        <Space wrap>
          <Input.Search allowClear placeholder={t('flows.search')} onSearch={setSearch} style={{ width: 260 }} />
          <Button onClick={() => fileInput.current?.click()} loading={importFlow.isPending}>{t('flows.import')}</Button>
          <Button type="primary" onClick={() => { create.reset(); setCreating(true); }}>{t('flows.create')}</Button>
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
      <ErrorAlert error={flows.error} style={{ marginBottom: 16 }} />
      <Table<Flow>
        rowKey="id"
        loading={flows.isPending}
        dataSource={flows.data?.flows ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        locale={{ emptyText: search ? t('flows.noMatch') : t('flows.empty') }}
        columns={[
          { title: t('flows.name'), dataIndex: 'name', render: (name: string, f) => <Link to={`/flows/${f.id}`}>{name}</Link> },
          { title: t('flows.status'), dataIndex: 'status', render: (s: string) => <StatusTag status={s} /> },
          { title: t('flows.version'), dataIndex: 'publishedVersion', render: (v?: number) => (v ? `v${v}` : '') },
          {
            title: t('flows.webhook'),
            dataIndex: 'webhookUrl',
            render: (u?: string) => (u ? <Typography.Text code copyable>{webhookAddress(u)}</Typography.Text> : ''),
          },
          { title: t('flows.updated'), dataIndex: 'updatedAt', render: (v?: string) => formatTime(v) },
          {
            title: '',
            key: 'actions',
            render: (_, f) => (
              <Space>
                <Link to={`/flows/${f.id}`}>{t('flows.edit')}</Link>
                <Link to={`/runs?flow=${encodeURIComponent(f.id)}`}>{t('flows.runs')}</Link>
                <Button type="link" size="small" onClick={() => exportFlow(f)}>{t('flows.export')}</Button>
              </Space>
            ),
          },
        ]}
      />
      <Modal open={creating} title={t('flows.createTitle')} onCancel={() => setCreating(false)} footer={null} destroyOnClose>
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
