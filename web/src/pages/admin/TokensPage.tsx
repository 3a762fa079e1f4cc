import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import type { Me, TokenInfo } from '../../api/types';
import { ErrorAlert, formatTime } from '../../ui';
import { rolesUpTo } from './common';

const EXPIRIES = [0, 7, 30, 90, 365];
const DAY_MS = 24 * 60 * 60 * 1000;

export default function TokensPage() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const me = useQuery({ queryKey: ['me'], queryFn: () => api.get<Me>('/api/v1/auth/me') });
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: () => api.get<{ tokens: TokenInfo[] }>('/api/v1/tokens') });

  const revoke = useMutation({
    mutationFn: (tk: TokenInfo) => api.del(`/api/v1/tokens/${encodeURIComponent(tk.id)}`),
    onMutate: () => setNotice(''),
    onSuccess: (_d, tk) => {
      setNotice(t('admin.tokens.revoked', { name: tk.name }));
      return queryClient.invalidateQueries({ queryKey: ['tokens'] });
    },
  });

  const state = (tk: TokenInfo) => {
    if (tk.revokedAt) return <Tag color="red">{t('admin.tokens.revokedState')}</Tag>;
    if (tk.expiresAt && new Date(tk.expiresAt).getTime() <= Date.now()) return <Tag color="orange">{t('admin.tokens.expired')}</Tag>;
    return <Tag color="green">{t('admin.tokens.active')}</Tag>;
  };

  return (
    <div className="ferry-page">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 16 }}>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('admin.tokens.title')}</Typography.Title>
        <Button type="primary" onClick={() => setCreating(true)} disabled={tokens.isError}>{t('admin.tokens.create')}</Button>
      </Space>
      <Typography.Paragraph type="secondary">{t('admin.tokens.help')}</Typography.Paragraph>
      {notice && <Alert type="success" showIcon closable message={notice} onClose={() => setNotice('')} style={{ marginBottom: 16 }} />}
      <ErrorAlert error={revoke.error} style={{ marginBottom: 16 }} />
      <ErrorAlert error={tokens.error} style={{ marginBottom: 16 }} />
      {!tokens.isError && (
        <Table<TokenInfo>
          rowKey="id"
          loading={tokens.isPending}
          dataSource={tokens.data?.tokens ?? []}
          pagination={false}
          locale={{ emptyText: t('admin.tokens.empty') }}
          columns={[
            { title: t('admin.tokens.name'), dataIndex: 'name' },
            { title: t('admin.tokens.prefix'), dataIndex: 'prefix', render: (p: string) => <code>{p}…</code> },
            { title: t('admin.tokens.role'), dataIndex: 'role', render: (r: string) => t(`roles.${r}`, { defaultValue: r }) },
            { title: t('admin.tokens.state'), key: 'state', render: (_: unknown, tk) => state(tk) },
            { title: t('admin.tokens.expires'), dataIndex: 'expiresAt', render: (v?: string) => (v ? formatTime(v) : t('admin.tokens.never')) },
            { title: t('admin.tokens.lastUsed'), dataIndex: 'lastUsedAt', render: (v?: string) => (v ? formatTime(v) : t('admin.tokens.neverUsed')) },
            { title: t('admin.tokens.created'), dataIndex: 'createdAt', render: (v?: string) => formatTime(v) },
            {
              title: t('admin.actions'),
              key: 'actions',
              render: (_: unknown, tk) =>
                tk.revokedAt ? null : (
                  <Popconfirm title={t('admin.tokens.revokeConfirm', { name: tk.name })} okText={t('admin.tokens.revoke')} cancelText={t('common.cancel')}
                    onConfirm={() => revoke.mutate(tk)}>
                    <Button size="small" danger>{t('admin.tokens.revoke')}</Button>
                  </Popconfirm>
                ),
            },
          ]}
        />
      )}
      {creating && (
        <CreateTokenDialog
          role={me.data?.role ?? 'viewer'}
          onClose={() => setCreating(false)}
          onCreated={(token) => {
            setCreating(false);
            setCreated(token);
            void queryClient.invalidateQueries({ queryKey: ['tokens'] });
          }}
        />
      )}
      <Modal
        open={created !== null}
        title={t('admin.tokens.createdTitle')}
        closable={false}
        maskClosable={false}
        cancelButtonProps={{ style: { display: 'none' } }}
        okText={t('admin.tokens.done')}
        onOk={() => setCreated(null)}
      >
        <Alert type="warning" showIcon message={t('admin.tokens.createdHelp')} style={{ marginBottom: 12 }} />
        <Typography.Paragraph copyable={{ text: created ?? '', tooltips: [t('admin.copy'), t('admin.copied')] }} code style={{ wordBreak: 'break-all' }}>
          {created}
        </Typography.Paragraph>
      </Modal>
    </div>
  );
}

interface TokenForm { name: string; role: string; expiry: number }

function CreateTokenDialog({ role, onClose, onCreated }: { role: string; onClose: () => void; onCreated: (token: string) => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<TokenForm>();
  const create = useMutation({
    mutationFn: (v: TokenForm) =>
      api.post<{ token: string; tokenInfo: TokenInfo }>('/api/v1/tokens', {
        name: v.name.trim(),
        role: v.role,
        ...(v.expiry ? { expiresAt: new Date(Date.now() + v.expiry * DAY_MS).toISOString() } : {}),
      }),
    onSuccess: (res) => onCreated(res.token),
  });
  return (
    <Modal open title={t('admin.tokens.createTitle')} okText={t('admin.create')} cancelText={t('common.cancel')} confirmLoading={create.isPending}
      onCancel={onClose} onOk={() => form.submit()} destroyOnClose>
      <ErrorAlert error={create.error} style={{ marginBottom: 16 }} />
      <Form<TokenForm> form={form} layout="vertical" autoComplete="off" initialValues={{ role, expiry: 90 }} onFinish={(v) => create.mutate(v)}>
        <Form.Item name="name" label={t('admin.tokens.name')} rules={[{ required: true, whitespace: true, message: t('admin.tokens.nameRequired') }]}>
          <Input autoComplete="off" placeholder={t('admin.tokens.namePlaceholder')} />
        </Form.Item>
        <Form.Item name="role" label={t('admin.tokens.role')} extra={t('admin.tokens.roleHelp')}>
          <Select options={rolesUpTo(role).map((r) => ({ value: r, label: t(`roles.${r}`) }))} />
        </Form.Item>
        <Form.Item name="expiry" label={t('admin.tokens.expires')}>
          <Select options={EXPIRIES.map((d) => ({ value: d, label: d ? t('admin.tokens.days', { count: d }) : t('admin.tokens.never') }))} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
