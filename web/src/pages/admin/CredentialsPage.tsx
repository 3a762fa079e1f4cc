import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Checkbox, Form, Input, Modal, Popconfirm, Select, Space, Switch, Table, Tag, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import type { CredentialInfo, CredentialType, Field, OAuth2Authorization, TestResult } from '../../api/types';
import { ErrorAlert, formatTime } from '../../ui';

const OAUTH2_AUTHCODE = 'oauth2.authcode';

const statusColors: Record<string, string> = { ok: 'green', authorize: 'gold', reauthorize: 'orange', failing: 'red', unreadable: 'red' };

interface Notice { type: 'success' | 'error' | 'info'; text: string }

export default function CredentialsPage() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<CredentialInfo | 'new' | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const list = useQuery({ queryKey: ['credentials'], queryFn: () => api.get<{ credentials: CredentialInfo[] }>('/api/v1/credentials') });
  const types = useQuery({ queryKey: ['credential-types'], queryFn: () => api.get<{ types: CredentialType[] }>('/api/v1/credential-types') });
  const typeById = new Map((types.data?.types ?? []).map((ct) => [ct.id, ct]));

  const run = async (work: () => Promise<void>) => {
    setActionError(null);
    setNotice(null);
    try {
      await work();
    } catch (err) {
      setActionError(err);
    }
  };

  const testConnection = (c: CredentialInfo, variant: 'live' | 'test') =>
    run(async () => {
      const res = await api.post<TestResult>(`/api/v1/credentials/${encodeURIComponent(c.id)}/test${variant === 'test' ? '?variant=test' : ''}`);
      setNotice({
        type: res.ok ? 'success' : 'error',
        text: t(res.ok ? 'admin.credentials.testOk' : 'admin.credentials.testFailed', { name: c.name, variant: t(`admin.credentials.variants.${variant}`) }) + (res.message ? ' ' + res.message : ''),
      });
      await queryClient.invalidateQueries({ queryKey: ['credentials'] });
    });

  const connect = (c: CredentialInfo, variant: 'live' | 'test') =>
    run(async () => {
      const res = await api.post<OAuth2Authorization>(`/api/v1/credentials/${encodeURIComponent(c.id)}/oauth2/authorize${variant === 'test' ? '?variant=test' : ''}`);
      window.open(res.url, '_blank', 'noopener,noreferrer');
      setNotice({ type: 'info', text: t('admin.credentials.connectOpened') });
    });

  const remove = useMutation({
    mutationFn: (c: CredentialInfo) => api.del(`/api/v1/credentials/${encodeURIComponent(c.id)}`),
    onMutate: () => { setActionError(null); setNotice(null); },
    onError: (err) => setActionError(err),
    onSuccess: (_d, c) => {
      setNotice({ type: 'success', text: t('admin.credentials.deleted', { name: c.name }) });
      return queryClient.invalidateQueries({ queryKey: ['credentials'] });
    },
  });

  return (
    <div className="ferry-page">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 16 }}>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('admin.credentials.title')}</Typography.Title>
        <Button type="primary" onClick={() => setEditing('new')} disabled={list.isError}>{t('admin.credentials.create')}</Button>
      </Space>
      <Typography.Paragraph type="secondary">{t('admin.credentials.help')}</Typography.Paragraph>
      {notice && <Alert type={notice.type} showIcon closable message={notice.text} onClose={() => setNotice(null)} style={{ marginBottom: 16 }} />}
      <ErrorAlert error={actionError} style={{ marginBottom: 16 }} />
      <ErrorAlert error={list.error} style={{ marginBottom: 16 }} />
      {!list.isError && (
        <Table<CredentialInfo>
          rowKey="id"
          loading={list.isPending}
          dataSource={list.data?.credentials ?? []}
          pagination={false}
          locale={{ emptyText: t('admin.credentials.empty') }}
          columns={[
            { title: t('admin.credentials.name'), dataIndex: 'name' },
            { title: t('admin.credentials.type'), dataIndex: 'type', render: (v: string) => <Tooltip title={v}>{typeById.get(v)?.name ?? v}</Tooltip> },
            {
              title: t('admin.credentials.status'),
              dataIndex: 'status',
              render: (s: string, c) => (
                <div>
                  <Tag color={statusColors[s] ?? 'default'}>{t(`admin.credentials.statuses.${s}`, { defaultValue: s })}</Tag>
                  {c.statusMessage && <div><Typography.Text type="secondary" style={{ fontSize: 12 }}>{c.statusMessage}</Typography.Text></div>}
                </div>
              ),
            },
            {
              title: t('admin.credentials.fieldsSet'),
              key: 'fields',
              render: (_: unknown, c) => (
                <div>
                  <div>{t('admin.credentials.variants.live')}: {(c.fields ?? []).length ? (c.fields ?? []).map((f) => <Tag key={f}>{f}</Tag>) : t('common.none')}</div>
                  {(c.testFields ?? []).length > 0 && (
                    <div style={{ marginTop: 4 }}>{t('admin.credentials.variants.test')}: {(c.testFields ?? []).map((f) => <Tag key={f}>{f}</Tag>)}</div>
                  )}
                </div>
              ),
            },
            {
              title: t('admin.credentials.destinationsColumn'),
              key: 'destinations',
              render: (_: unknown, c: CredentialInfo) => {
                const all = [...(c.allowedDestinations ?? []), ...(c.defaultDestinations ?? [])];
                return all.length ? all.map((d) => <Tag key={d} className="ferry-mono">{d}</Tag>) : t('common.none');
              },
            },
            { title: t('admin.credentials.updated'), dataIndex: 'updatedAt', render: (v?: string) => formatTime(v) },
            {
              title: t('admin.actions'),
              key: 'actions',
              render: (_: unknown, c) => {
                const hasTest = (c.testFields ?? []).length > 0;
                return (
                  <Space wrap size="small">
                    <Button size="small" onClick={() => testConnection(c, 'live')}>{t('admin.credentials.test')}</Button>
                    {hasTest && <Button size="small" onClick={() => testConnection(c, 'test')}>{t('admin.credentials.testVariant')}</Button>}
                    {c.type === OAUTH2_AUTHCODE && <Button size="small" type="primary" ghost onClick={() => connect(c, 'live')}>{t('admin.credentials.connect')}</Button>}
                    {c.type === OAUTH2_AUTHCODE && hasTest && <Button size="small" onClick={() => connect(c, 'test')}>{t('admin.credentials.connectTest')}</Button>}
                    <Button size="small" onClick={() => setEditing(c)}>{t('admin.credentials.replace')}</Button>
                    <Popconfirm title={t('admin.credentials.deleteConfirm', { name: c.name })} onConfirm={() => remove.mutate(c)} okText={t('admin.delete')} cancelText={t('common.cancel')}>
                      <Button size="small" danger>{t('admin.delete')}</Button>
                    </Popconfirm>
                  </Space>
                );
              },
            },
          ]}
        />
      )}
      {editing && (
        <CredentialDialog
          credential={editing === 'new' ? null : editing}
          types={types.data?.types ?? []}
          typesLoading={types.isPending}
          typesError={types.error}
          onClose={() => setEditing(null)}
          onSaved={(name, created) => {
            setEditing(null);
            setNotice({ type: 'success', text: t(created ? 'admin.credentials.created' : 'admin.credentials.replaced', { name }) });
            void queryClient.invalidateQueries({ queryKey: ['credentials'] });
          }}
        />
      )}
    </div>
  );
}

interface FormValues {
  name: string;
  type: string;
  destinations?: string[];
  withTest?: boolean;
  live?: Record<string, unknown>;
  test?: Record<string, unknown>;
}

/** destinationList trims the destinations typed into the form and drops empty and repeated ones. */
export function destinationList(values: string[] | undefined): string[] {
  const out: string[] = [];
  for (const v of values ?? []) {
    const s = v.trim();
    if (s && !out.includes(s)) out.push(s);
  }
  return out;
}

/** fieldValues keeps the filled fields of one variant as the strings the API stores. */
export function fieldValues(values: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    out[k] = typeof v === 'string' ? v : String(v);
  }
  return out;
}

function visible(field: Field, values: Record<string, unknown> | undefined): boolean {
  if (!field.showIf) return true;
  return Object.entries(field.showIf).every(([other, allowed]) => {
    const v = values?.[other];
    return (allowed ?? []).some((a) => String(a) === String(v ?? ''));
  });
}

function defaults(fields: Field[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.secret || f.default === undefined || f.default === null) continue;
    out[f.name] = f.type === 'boolean' ? String(f.default) : typeof f.default === 'string' ? f.default : JSON.stringify(f.default);
  }
  return out;
}

function CredentialDialog(props: {
  credential: CredentialInfo | null;
  types: CredentialType[];
  typesLoading: boolean;
  typesError: unknown;
  onClose: () => void;
  onSaved: (name: string, created: boolean) => void;
}) {
  const { credential, types } = props;
  const { t } = useTranslation();
  const [form] = Form.useForm<FormValues>();
  const typeId = Form.useWatch('type', form) ?? credential?.type;
  const withTest = Form.useWatch('withTest', form);
  const live = Form.useWatch('live', form);
  const test = Form.useWatch('test', form);
  const type = types.find((ct) => ct.id === typeId);
  const fields = type?.fields ?? [];

  const save = useMutation({
    mutationFn: (v: FormValues) => {
      const body = {
        name: v.name.trim(), type: v.type, live: fieldValues(v.live), ...(v.withTest ? { test: fieldValues(v.test) } : {}),
        ...(type?.inbound ? {} : { allowedDestinations: destinationList(v.destinations) }),
      };
      return credential
        ? api.put<CredentialInfo>(`/api/v1/credentials/${encodeURIComponent(credential.id)}`, body)
        : api.post<CredentialInfo>('/api/v1/credentials', body);
    },
    onSuccess: (info) => props.onSaved(info?.name ?? '', !credential),
  });

  const renderFields = (variant: 'live' | 'test', values: Record<string, unknown> | undefined) =>
    fields.filter((f) => visible(f, values)).map((f) => (
      <Form.Item
        key={variant + f.name}
        name={[variant, f.name]}
        label={f.label || f.name}
        tooltip={f.description || undefined}
        rules={f.required ? [{ required: true, message: t('admin.credentials.fieldRequired', { field: f.label || f.name }) }] : undefined}
        extra={f.secret && credential ? t('admin.credentials.secretReenter') : undefined}
        valuePropName={f.type === 'boolean' ? 'checked' : 'value'}
        getValueFromEvent={f.type === 'boolean' ? (checked: boolean) => String(checked) : undefined}
        getValueProps={f.type === 'boolean' ? (v: unknown) => ({ checked: v === 'true' || v === true }) : undefined}
      >
        {f.secret ? (
          <Input.Password autoComplete="new-password" visibilityToggle={false} />
        ) : f.type === 'select' ? (
          <Select allowClear options={(f.options ?? []).map((o) => ({ value: o.value, label: o.label || o.value }))} />
        ) : f.type === 'boolean' ? (
          <Switch />
        ) : f.type === 'text' || f.type === 'json' ? (
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 8 }} className="ferry-mono" />
        ) : (
          <Input autoComplete="off" />
        )}
      </Form.Item>
    ));

  const onTypeChange = (id: string) => {
    const ct = types.find((x) => x.id === id);
    const d = defaults(ct?.fields ?? []);
    form.setFieldValue('live', d);
    form.setFieldValue('test', { ...d });
  };

  return (
    <Modal
      open
      width={640}
      title={credential ? t('admin.credentials.replaceTitle', { name: credential.name }) : t('admin.credentials.createTitle')}
      okText={credential ? t('admin.credentials.replace') : t('admin.create')}
      cancelText={t('common.cancel')}
      confirmLoading={save.isPending}
      onCancel={props.onClose}
      onOk={() => form.submit()}
      destroyOnClose
    >
      {credential && <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('admin.credentials.replaceHelp')} />}
      <ErrorAlert error={props.typesError} style={{ marginBottom: 16 }} />
      <ErrorAlert error={save.error} style={{ marginBottom: 16 }} />
      <Form<FormValues>
        form={form}
        layout="vertical"
        autoComplete="off"
        initialValues={
          credential
            ? { name: credential.name, type: credential.type, withTest: (credential.testFields ?? []).length > 0, destinations: credential.allowedDestinations ?? [] }
            : { withTest: false }
        }
        onFinish={(v) => save.mutate({ ...v, type: v.type ?? credential?.type ?? '' })}
      >
        <Form.Item name="name" label={t('admin.credentials.name')} rules={[{ required: true, whitespace: true, message: t('admin.credentials.nameRequired') }]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="type" label={t('admin.credentials.type')} rules={[{ required: true, message: t('admin.credentials.typeRequired') }]}
          extra={type?.description}>
          <Select
            showSearch
            optionFilterProp="label"
            loading={props.typesLoading}
            disabled={!!credential}
            onChange={onTypeChange}
            options={types.map((ct) => ({ value: ct.id, label: `${ct.name} (${ct.id})` }))}
          />
        </Form.Item>
        {type && (
          <>
            <Typography.Title level={5}>{t('admin.credentials.liveFields')}</Typography.Title>
            {fields.length === 0 && <Typography.Paragraph type="secondary">{t('admin.credentials.noFields')}</Typography.Paragraph>}
            {renderFields('live', live)}
            {type.inbound ? (
              <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('admin.credentials.inboundOnly')} />
            ) : (
              <Form.Item
                name="destinations"
                label={t('admin.credentials.destinations')}
                tooltip={t('admin.credentials.destinationsHelp')}
                extra={type.hasDefaultDestinations
                  ? ((credential?.defaultDestinations ?? []).length > 0
                    ? t('admin.credentials.destinationsDefaults', { hosts: (credential?.defaultDestinations ?? []).join(', ') })
                    : t('admin.credentials.destinationsProvider'))
                  : t('admin.credentials.destinationsHelp')}
                rules={type.hasDefaultDestinations ? undefined : [{
                  validator: (_r, v: string[] | undefined) =>
                    destinationList(v).length > 0 ? Promise.resolve() : Promise.reject(new Error(t('admin.credentials.destinationsRequired'))),
                }]}
              >
                <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',', ' ']} placeholder={t('admin.credentials.destinationsPlaceholder')} />
              </Form.Item>
            )}
            <Form.Item name="withTest" valuePropName="checked">
              <Checkbox>{t('admin.credentials.withTest')}</Checkbox>
            </Form.Item>
            {withTest && (
              <>
                <Typography.Title level={5}>{t('admin.credentials.testFields')}</Typography.Title>
                {renderFields('test', test)}
              </>
            )}
          </>
        )}
      </Form>
    </Modal>
  );
}
