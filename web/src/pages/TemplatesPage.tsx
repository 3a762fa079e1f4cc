import { useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Col, Descriptions, Drawer, Empty, Form, Input, Modal, Row, Segmented, Select, Space, Tag, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useCan } from '../permissions';
import { api } from '../api/client';
import type { Credential, Flow, TemplateSummary } from '../api/types';
import { ErrorAlert, JsonView, Loading } from '../ui';
import { categoriesOf, credentialsFor, filterTemplates, localText, missingCredentials, templateUseBody } from './templateGallery';

/** TemplatesPage is the gallery of bundled flow templates: search, filter by category, preview, and create a
 * draft flow from one with the credentials it needs. */
export default function TemplatesPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [search, setSearch] = useState('');
  const [category, setCategory] = useState('');
  const [preview, setPreview] = useState<TemplateSummary | null>(null);
  const [using, setUsing] = useState<TemplateSummary | null>(null);
  const list = useQuery({ queryKey: ['templates'], queryFn: () => api.get<{ templates: TemplateSummary[] }>('/api/v1/templates'), staleTime: 300_000 });
  const all = list.data?.templates ?? [];
  const shown = useMemo(() => filterTemplates(all, search, category), [all, search, category]);
  const categories = categoriesOf(all);

  return (
    <div style={{ padding: 24, maxWidth: 1600, margin: '0 auto' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between', flexWrap: 'wrap', marginBottom: 16 }}>
        <div>
          <Typography.Title level={3} style={{ margin: 0 }}>{t('templates.title')}</Typography.Title>
          <Typography.Text type="secondary">{t('templates.subtitle')}</Typography.Text>
        </div>
        <Input.Search allowClear placeholder={t('templates.search')} value={search} onChange={(e) => setSearch(e.target.value)} style={{ width: 320 }} />
      </Space>
      {categories.length > 1 && (
        <Segmented
          style={{ marginBottom: 16 }}
          value={category}
          onChange={(v) => setCategory(String(v))}
          options={[{ value: '', label: t('templates.allCategories') }, ...categories.map((c) => ({ value: c, label: t(`templates.category.${c}`, { defaultValue: c }) }))]}
        />
      )}
      {list.isLoading && <Loading />}
      {list.error && <ErrorAlert error={list.error} />}
      {list.data && shown.length === 0 && (
        <Empty description={all.length === 0 ? t('templates.noTemplates') : t('templates.noMatch')}>
          {all.length > 0 && <Button onClick={() => { setSearch(''); setCategory(''); }}>{t('templates.clearFilters')}</Button>}
        </Empty>
      )}
      <Row gutter={[16, 16]}>
        {shown.map((tpl) => (
          <Col key={tpl.id} xs={24} md={12} xxl={8}>
            <TemplateCard tpl={tpl} lang={lang} onPreview={() => setPreview(tpl)} onUse={() => setUsing(tpl)} />
          </Col>
        ))}
      </Row>
      <PreviewDrawer tpl={preview} lang={lang} onClose={() => setPreview(null)} onUse={(tpl) => { setPreview(null); setUsing(tpl); }} />
      {using && <UseTemplateModal tpl={using} lang={lang} onClose={() => setUsing(null)} />}
    </div>
  );
}

function Chain({ tpl }: { tpl: TemplateSummary }) {
  return (
    <div data-testid="template-chain" style={{ display: 'flex', flexWrap: 'wrap', gap: 4, alignItems: 'center' }}>
      {tpl.steps.map((s, i) => (
        <span key={s.id} style={{ display: 'inline-flex', alignItems: 'center', gap: 4 }}>
          {i > 0 && <span style={{ color: '#8a94a6' }}>→</span>}
          <Tooltip title={s.type}>
            <Tag color={i === 0 ? 'blue' : undefined} style={{ margin: 0, maxWidth: 220, overflow: 'hidden', textOverflow: 'ellipsis' }}>{s.name || s.type}</Tag>
          </Tooltip>
        </span>
      ))}
    </div>
  );
}

function CredentialList({ tpl, lang }: { tpl: TemplateSummary; lang: string }) {
  const { t } = useTranslation();
  if (tpl.credentials.length === 0) return <Typography.Text type="secondary">{t('templates.noCredentials')}</Typography.Text>;
  return (
    <ul style={{ margin: 0, paddingLeft: 18 }}>
      {tpl.credentials.map((c) => (
        <li key={c.nodeId}>
          <b>{c.nodeName}</b>: {c.hint ? localText(c.hint, lang) + ' · ' : ''}
          {c.types.map((ty) => <Tag key={ty} style={{ marginInlineEnd: 4 }}><code>{ty}</code></Tag>)}
          <Typography.Text type={c.required ? 'danger' : 'secondary'}>{c.required ? t('templates.required') : t('templates.optional')}</Typography.Text>
        </li>
      ))}
    </ul>
  );
}

function TemplateCard({ tpl, lang, onPreview, onUse }: { tpl: TemplateSummary; lang: string; onPreview: () => void; onUse: () => void }) {
  const can = useCan();
  const { t } = useTranslation();
  return (
    <Card
      data-testid={`template-${tpl.id}`}
      title={<span title={localText(tpl.name, lang)}>{localText(tpl.name, lang)}</span>}
      extra={<Tag color="geekblue">{t(`templates.category.${tpl.category}`, { defaultValue: tpl.category })}</Tag>}
      style={{ height: '100%', display: 'flex', flexDirection: 'column' }}
      styles={{ body: { flex: 1, display: 'flex', flexDirection: 'column', gap: 12 } }}
      actions={[
        <Button key="preview" type="link" onClick={onPreview}>{t('templates.preview')}</Button>,
        ...(can('flows:write') ? [<Button key="use" type="link" onClick={onUse}>{t('templates.use')}</Button>] : []),
      ]}
    >
      <Typography.Paragraph ellipsis={{ rows: 3, tooltip: localText(tpl.description, lang) }} style={{ margin: 0 }}>
        {localText(tpl.description, lang)}
      </Typography.Paragraph>
      <div>{tpl.tags.map((tag) => <Tag key={tag}>{tag}</Tag>)}</div>
      <Chain tpl={tpl} />
      <div>
        <Typography.Text strong>{t('templates.needs')}</Typography.Text>
        <CredentialList tpl={tpl} lang={lang} />
      </div>
      {tpl.placeholders.length > 0 && (
        <Typography.Text type="warning">{t('templates.placeholderCount', { count: tpl.placeholders.length })}</Typography.Text>
      )}
    </Card>
  );
}

function PreviewDrawer({ tpl, lang, onClose, onUse }: { tpl: TemplateSummary | null; lang: string; onClose: () => void; onUse: (tpl: TemplateSummary) => void }) {
  const can = useCan();
  const { t } = useTranslation();
  const detail = useQuery({
    queryKey: ['template', tpl?.id],
    queryFn: () => api.get<TemplateSummary>(`/api/v1/templates/${encodeURIComponent(tpl!.id)}`),
    enabled: !!tpl,
    staleTime: 300_000,
  });
  return (
    <Drawer
      open={!!tpl}
      onClose={onClose}
      width={Math.min(720, typeof window === 'undefined' ? 720 : window.innerWidth - 80)}
      title={tpl ? localText(tpl.name, lang) : ''}
      extra={tpl && can('flows:write') && <Button type="primary" onClick={() => onUse(tpl)}>{t('templates.use')}</Button>}
    >
      {tpl && (
        <Space direction="vertical" size="middle" style={{ width: '100%' }}>
          <Typography.Paragraph style={{ whiteSpace: 'pre-wrap' }}>{localText(tpl.description, lang)}</Typography.Paragraph>
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label={t('templates.categoryLabel')}>{t(`templates.category.${tpl.category}`, { defaultValue: tpl.category })}</Descriptions.Item>
            <Descriptions.Item label={t('templates.steps', { count: tpl.nodeCount })}><Chain tpl={tpl} /></Descriptions.Item>
            <Descriptions.Item label={t('templates.needs')}><CredentialList tpl={tpl} lang={lang} /></Descriptions.Item>
            <Descriptions.Item label={t('templates.placeholders')}>
              {tpl.placeholders.length === 0 ? (
                <Typography.Text type="secondary">{t('templates.noPlaceholders')}</Typography.Text>
              ) : (
                <ul style={{ margin: 0, paddingLeft: 18 }}>
                  {tpl.placeholders.map((p) => (
                    <li key={p.nodeId + '.' + p.param}>
                      <code>{p.nodeId}.{p.param}</code>: {localText(p.hint, lang)}
                    </li>
                  ))}
                </ul>
              )}
            </Descriptions.Item>
          </Descriptions>
          <Typography.Title level={5} style={{ margin: 0 }}>{t('templates.document')}</Typography.Title>
          {detail.isLoading && <Loading />}
          {detail.error && <ErrorAlert error={detail.error} />}
          {detail.data?.document && <JsonView value={detail.data.document} />}
        </Space>
      )}
    </Drawer>
  );
}

function UseTemplateModal({ tpl, lang, onClose }: { tpl: TemplateSummary; lang: string; onClose: () => void }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [name, setName] = useState(localText(tpl.name, lang));
  const [chosen, setChosen] = useState<Record<string, string | undefined>>({});
  const credentials = useQuery({
    queryKey: ['credentials'],
    queryFn: () => api.get<{ credentials: Credential[] }>('/api/v1/credentials'),
    enabled: tpl.credentials.length > 0,
  });
  const create = useMutation({
    mutationFn: () => api.post<Flow>(`/api/v1/templates/${encodeURIComponent(tpl.id)}/use`, templateUseBody(name, chosen)),
    onSuccess: (flow) => navigate(`/flows/${flow.id}`),
  });
  const missing = missingCredentials(tpl.credentials, chosen);
  const ready = name.trim() !== '' && missing.length === 0 && !credentials.error;
  return (
    <Modal
      open
      title={t('templates.useTitle', { name: localText(tpl.name, lang) })}
      onCancel={onClose}
      okText={t('templates.create')}
      cancelText={t('common.cancel')}
      okButtonProps={{ disabled: !ready, loading: create.isPending }}
      onOk={() => create.mutate()}
      width={640}
      destroyOnClose
    >
      <Form layout="vertical">
        <Form.Item label={t('templates.flowName')} required validateStatus={name.trim() ? undefined : 'error'} help={name.trim() ? undefined : t('templates.nameRequired')}>
          <Input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
        </Form.Item>
        {tpl.credentials.length === 0 && <Typography.Paragraph type="secondary">{t('templates.noCredentials')}</Typography.Paragraph>}
        {credentials.isLoading && <Loading />}
        {credentials.error && <ErrorAlert error={credentials.error} style={{ marginBottom: 16 }} />}
        {credentials.data && tpl.credentials.map((need) => {
          const fitting = credentialsFor(need, credentials.data.credentials ?? []);
          return (
            <Form.Item
              key={need.nodeId}
              required={need.required}
              label={<span>{need.nodeName} <Typography.Text type="secondary">({need.hint ? localText(need.hint, lang) : need.types.join(', ')})</Typography.Text></span>}
            >
              {fitting.length === 0 ? (
                <Alert
                  type={need.required ? 'warning' : 'info'}
                  showIcon
                  message={t('templates.noFittingCredential', { types: need.types.join(', ') })}
                  action={<Link to="/admin/credentials">{t('templates.createCredential')}</Link>}
                />
              ) : (
                <Select
                  data-testid={`credential-${need.nodeId}`}
                  value={chosen[need.nodeId]}
                  allowClear={!need.required}
                  placeholder={need.required ? t('templates.pickCredential') : t('templates.pickOptional')}
                  onChange={(v) => setChosen((c) => ({ ...c, [need.nodeId]: v }))}
                  options={fitting.map((c) => ({ value: c.id, label: `${c.name} (${c.type})` }))}
                />
              )}
            </Form.Item>
          );
        })}
        {tpl.placeholders.length > 0 && (
          <Alert type="info" showIcon message={t('templates.placeholdersAfter')}
            description={<ul style={{ margin: 0, paddingLeft: 18 }}>{tpl.placeholders.map((p) => <li key={p.nodeId + '.' + p.param}><code>{p.nodeId}.{p.param}</code>: {localText(p.hint, lang)}</li>)}</ul>} />
        )}
        {create.error && <ErrorAlert error={create.error} style={{ marginTop: 16 }} />}
      </Form>
    </Modal>
  );
}
