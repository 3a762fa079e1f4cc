import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Checkbox, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import type { PasswordChanged, UserRecord } from '../../api/types';
import { ErrorAlert, formatTime } from '../../ui';
import { ROLES } from './common';

export default function UsersPage() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [resetting, setResetting] = useState<UserRecord | null>(null);
  const [notice, setNotice] = useState('');
  const users = useQuery({ queryKey: ['users'], queryFn: () => api.get<{ users: UserRecord[] }>('/api/v1/users') });
  const roleOptions = ROLES.map((r) => ({ value: r, label: t(`roles.${r}`) }));

  const update = useMutation({
    mutationFn: (v: { user: UserRecord; change: { role?: string; disabled?: boolean } }) =>
      api.patch<UserRecord>(`/api/v1/users/${encodeURIComponent(v.user.id)}`, v.change),
    onMutate: () => setNotice(''),
    onSuccess: (_u, v) => {
      setNotice(t('admin.users.updated', { email: v.user.email }));
      return queryClient.invalidateQueries({ queryKey: ['users'] });
    },
  });

  return (
    <div className="ferry-page">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 16 }}>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('admin.users.title')}</Typography.Title>
        <Button type="primary" onClick={() => setCreating(true)} disabled={users.isError}>{t('admin.users.create')}</Button>
      </Space>
      {notice && <Alert type="success" showIcon closable message={notice} onClose={() => setNotice('')} style={{ marginBottom: 16 }} />}
      <ErrorAlert error={update.error} style={{ marginBottom: 16 }} />
      <ErrorAlert error={users.error} style={{ marginBottom: 16 }} />
      {!users.isError && (
        <Table<UserRecord>
          rowKey="id"
          loading={users.isPending}
          dataSource={users.data?.users ?? []}
          pagination={false}
          locale={{ emptyText: t('admin.users.empty') }}
          columns={[
            { title: t('admin.users.email'), dataIndex: 'email' },
            { title: t('admin.users.name'), dataIndex: 'name' },
            {
              title: t('admin.users.role'),
              dataIndex: 'role',
              render: (role: string, u) => (
                <Select
                  size="small"
                  style={{ width: 140 }}
                  value={role}
                  options={roleOptions}
                  disabled={update.isPending}
                  onChange={(r: string) => update.mutate({ user: u, change: { role: r } })}
                />
              ),
            },
            {
              title: t('admin.users.state'),
              key: 'state',
              render: (_: unknown, u) => (
                u.disabled ? <Tag color="red">{t('admin.users.disabled')}</Tag> : <Tag color="green">{t('admin.users.active')}</Tag>
              ),
            },
            { title: t('admin.users.created'), dataIndex: 'createdAt', render: (v?: string) => formatTime(v) },
            {
              title: t('admin.actions'),
              key: 'actions',
              render: (_: unknown, u) => (
                <Space size="small" wrap>
                  <Popconfirm
                    title={t(u.disabled ? 'admin.users.enableConfirm' : 'admin.users.disableConfirm', { email: u.email })}
                    okText={t(u.disabled ? 'admin.users.enable' : 'admin.users.disable')}
                    cancelText={t('common.cancel')}
                    onConfirm={() => update.mutate({ user: u, change: { disabled: !u.disabled } })}
                  >
                    <Button size="small" danger={!u.disabled}>{t(u.disabled ? 'admin.users.enable' : 'admin.users.disable')}</Button>
                  </Popconfirm>
                  <Button size="small" onClick={() => setResetting(u)}>{t('admin.users.resetPassword')}</Button>
                </Space>
              ),
            },
          ]}
        />
      )}
      {creating && (
        <CreateUserDialog
          onClose={() => setCreating(false)}
          onCreated={(email) => {
            setCreating(false);
            setNotice(t('admin.users.created_notice', { email }));
            void queryClient.invalidateQueries({ queryKey: ['users'] });
          }}
        />
      )}
      {resetting && (
        <ResetPasswordDialog
          user={resetting}
          onClose={() => setResetting(null)}
          onDone={(res) => {
            setNotice(res.keptTokens
              ? t('admin.users.passwordResetKept', { email: resetting.email })
              : t('admin.users.passwordReset', { email: resetting.email, count: res.revokedTokens }));
            setResetting(null);
          }}
        />
      )}
    </div>
  );
}

function CreateUserDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (email: string) => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ email: string; name: string; password: string; role: string }>();
  const create = useMutation({
    mutationFn: (v: { email: string; name: string; password: string; role: string }) => api.post<UserRecord>('/api/v1/users', { ...v, email: v.email.trim(), name: (v.name ?? '').trim() }),
    onSuccess: (u, v) => onCreated(u?.email ?? v.email),
  });
  return (
    <Modal open title={t('admin.users.createTitle')} okText={t('admin.create')} cancelText={t('common.cancel')} confirmLoading={create.isPending}
      onCancel={onClose} onOk={() => form.submit()} destroyOnClose>
      <ErrorAlert error={create.error} style={{ marginBottom: 16 }} />
      <Form form={form} layout="vertical" autoComplete="off" initialValues={{ role: 'viewer' }} onFinish={(v) => create.mutate(v)}>
        <Form.Item name="email" label={t('admin.users.email')} rules={[{ required: true, type: 'email', message: t('gate.emailInvalid') }]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="name" label={t('admin.users.name')}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="password" label={t('admin.users.password')} rules={[{ required: true, min: 10, message: t('gate.passwordShort') }]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item name="role" label={t('admin.users.role')} rules={[{ required: true }]}>
          <Select options={ROLES.map((r) => ({ value: r, label: t(`roles.${r}`) }))} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

function ResetPasswordDialog({ user, onClose, onDone }: { user: UserRecord; onClose: () => void; onDone: (res: PasswordChanged) => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ password: string; keepTokens: boolean }>();
  const reset = useMutation({
    mutationFn: (v: { password: string; keepTokens: boolean }) =>
      api.post<PasswordChanged>(`/api/v1/users/${encodeURIComponent(user.id)}/password`, { password: v.password, keepTokens: !!v.keepTokens }),
    onSuccess: onDone,
  });
  return (
    <Modal open title={t('admin.users.resetTitle', { email: user.email })} okText={t('admin.users.resetPassword')} cancelText={t('common.cancel')}
      confirmLoading={reset.isPending} onCancel={onClose} onOk={() => form.submit()} destroyOnClose>
      <Typography.Paragraph type="secondary">{t('admin.users.resetHelp')}</Typography.Paragraph>
      <ErrorAlert error={reset.error} style={{ marginBottom: 16 }} />
      <Form form={form} layout="vertical" autoComplete="off" initialValues={{ keepTokens: false }} onFinish={(v) => reset.mutate(v)}>
        <Form.Item name="password" label={t('admin.users.newPassword')} rules={[{ required: true, min: 10, message: t('gate.passwordShort') }]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item name="keepTokens" valuePropName="checked" style={{ marginBottom: 0 }}>
          <Checkbox>{t('admin.users.keepTokens')}</Checkbox>
        </Form.Item>
      </Form>
    </Modal>
  );
}
