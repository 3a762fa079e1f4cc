import { useMemo, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert, Button, Card, Col, Descriptions, Empty, Form, InputNumber, Modal, Popconfirm, Row, Select, Space, Table, Tag, Tooltip, Typography,
} from 'antd';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { api } from '../../api/client';
import type { SettingEntry, SettingValue, SettingsDocument } from '../../api/types';
import { ErrorAlert, Loading, formatTime } from '../../ui';
import { changeBody, pendingChanges, validateSetting, type Change, type SettingProblem } from './settingsForm';

const sourceColors: Record<string, string> = { default: 'default', environment: 'purple', stored: 'blue' };

/** settingName is a setting's label in the app's language, its key when the app does not know it. */
function settingName(t: TFunction, s: SettingEntry): string {
  return t(`settings.names.${s.key}`, { defaultValue: s.key });
}

/** formatValue shows a setting's value as text: lists joined, true/false as words, nothing as a dash. */
function formatValue(t: TFunction, s: SettingEntry, v: SettingValue | undefined): string {
  if (v === undefined || v === null) return '—';
  if (Array.isArray(v)) return v.length ? v.join(', ') : '—';
  if (typeof v === 'boolean') return v ? t('settings.yes') : t('settings.no');
  if (v === '') return s.key === 'pprof-addr' ? t('settings.off') : '—';
  return String(v);
}

function factValue(t: TFunction, key: string, value: unknown): string {
  if (key === 'embedded') return value ? t('settings.factValues.embeddedTrue') : t('settings.factValues.embeddedFalse');
  if (key === 'database' || key === 'queue') return t(`settings.factValues.${String(value)}`, { defaultValue: String(value) });
  return String(value ?? '—');
}

/**
 * SettingsPage lets an admin read every setting with where its value comes from, change the ones that may change
 * at runtime (with a confirmation listing each change), reset them to their defaults, and see facts about the
 * server.
 */
export default function SettingsPage() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const settings = useQuery({ queryKey: ['settings'], queryFn: () => api.get<SettingsDocument>('/api/v1/settings') });
  const [drafts, setDrafts] = useState<Record<string, SettingValue>>({});
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState('');

  const all = useMemo(() => settings.data?.groups.flatMap((g) => g.settings) ?? [], [settings.data]);
  const changes = pendingChanges(all, drafts);
  const problems: Record<string, SettingProblem> = {};
  for (const s of all) {
    if (!s.editable || !(s.key in drafts)) continue;
    const p = validateSetting(s, drafts[s.key]);
    if (p) problems[s.key] = p;
  }
  const hasProblems = Object.keys(problems).length > 0;

  const save = useMutation({
    mutationFn: (list: Change[]) => api.put<SettingsDocument>('/api/v1/settings', changeBody(list)),
    onMutate: () => setNotice(''),
    onSuccess: (doc) => {
      queryClient.setQueryData(['settings'], doc);
      setDrafts({});
      setConfirming(false);
      setNotice(t('settings.saved'));
    },
  });
  const reset = useMutation({
    mutationFn: (s: SettingEntry) => api.del<SettingsDocument>(`/api/v1/settings/${encodeURIComponent(s.key)}`),
    onMutate: () => setNotice(''),
    onSuccess: (doc, s) => {
      queryClient.setQueryData(['settings'], doc);
      setDrafts(({ [s.key]: _dropped, ...rest }) => rest);
      setNotice(t('settings.resetDone', { name: settingName(t, s) }));
    },
  });

  const edit = (key: string, value: SettingValue | null) =>
    setDrafts((d) => ({ ...d, [key]: value as SettingValue }));

  if (settings.isPending) return <Loading />;

  return (
    <div className="ferry-page">
      <div
        style={{
          position: 'sticky', top: 0, zIndex: 5, background: '#f5f7fa', paddingBottom: 12, marginBottom: 4,
          display: 'flex', flexWrap: 'wrap', gap: 12, alignItems: 'center', justifyContent: 'space-between',
        }}
      >
        <Typography.Title level={3} style={{ margin: 0 }}>{t('settings.title')}</Typography.Title>
        {settings.data && (
          <Space wrap>
            {changes.length > 0 && <Typography.Text type="secondary">{t('settings.unsaved', { count: changes.length })}</Typography.Text>}
            <Button disabled={Object.keys(drafts).length === 0 || save.isPending} onClick={() => { setDrafts({}); save.reset(); }}>
              {t('settings.discard')}
            </Button>
            <Tooltip title={hasProblems ? t('settings.fixErrors') : undefined}>
              <Button type="primary" disabled={changes.length === 0 || hasProblems} onClick={() => { save.reset(); setConfirming(true); }}>
                {changes.length ? t('settings.saveCount', { count: changes.length }) : t('settings.save')}
              </Button>
            </Tooltip>
          </Space>
        )}
      </div>
      {settings.isError && (
        <Space direction="vertical" style={{ width: '100%' }}>
          <ErrorAlert error={settings.error} />
          <Button onClick={() => settings.refetch()}>{t('settings.retry')}</Button>
        </Space>
      )}
      {settings.data && (
        <>
          <Typography.Paragraph type="secondary" style={{ maxWidth: 900 }}>{t('settings.intro')}</Typography.Paragraph>
          {notice && <Alert type="success" showIcon closable message={notice} onClose={() => setNotice('')} style={{ marginBottom: 16 }} />}
          <ErrorAlert error={reset.error} style={{ marginBottom: 16 }} />
          {settings.data.groups.length === 0 && <Empty description={t('settings.empty')} />}
          {settings.data.groups.map((g) => (
            <Card key={g.id} title={t(`settings.groups.${g.id}`, { defaultValue: g.id })} style={{ marginBottom: 16 }} size="small">
              <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
                {t(`settings.groupHelp.${g.id}`, { defaultValue: '' })}
              </Typography.Paragraph>
              {g.settings.map((s, i) => (
                <SettingRow
                  key={s.key}
                  setting={s}
                  draft={drafts[s.key]}
                  edited={s.key in drafts}
                  problem={problems[s.key]}
                  last={i === g.settings.length - 1}
                  onChange={(v) => edit(s.key, v)}
                  onReset={() => reset.mutate(s)}
                  resetting={reset.isPending && reset.variables?.key === s.key}
                />
              ))}
            </Card>
          ))}
          <Card title={t('settings.facts.title')} size="small" style={{ marginBottom: 16 }}>
            {settings.data.facts.length === 0 ? (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('settings.empty')} />
            ) : (
              <Descriptions size="small" column={{ xs: 1, sm: 2, lg: 3 }}>
                {settings.data.facts.map((f) => (
                  <Descriptions.Item key={f.key} label={t(`settings.facts.${f.key}`, { defaultValue: f.key })}>
                    {factValue(t, f.key, f.value)}
                  </Descriptions.Item>
                ))}
              </Descriptions>
            )}
          </Card>
        </>
      )}
      <Modal
        open={confirming}
        title={t('settings.confirmTitle')}
        okText={t('settings.confirm')}
        cancelText={t('common.cancel')}
        confirmLoading={save.isPending}
        onOk={() => save.mutate(changes)}
        onCancel={() => setConfirming(false)}
        width={720}
        destroyOnHidden
      >
        <Typography.Paragraph type="secondary">{t('settings.confirmIntro')}</Typography.Paragraph>
        <Table<Change>
          rowKey={(c) => c.setting.key}
          size="small"
          pagination={false}
          dataSource={changes}
          columns={[
            { title: t('settings.setting'), key: 'name', render: (_: unknown, c) => settingName(t, c.setting) },
            { title: t('settings.before'), key: 'before', render: (_: unknown, c) => <Typography.Text delete type="secondary">{formatValue(t, c.setting, c.before)}</Typography.Text> },
            { title: t('settings.after'), key: 'after', render: (_: unknown, c) => <Typography.Text strong>{formatValue(t, c.setting, c.after)}</Typography.Text> },
          ]}
        />
        <ErrorAlert error={save.error} style={{ marginTop: 16 }} />
      </Modal>
    </div>
  );
}

interface SettingRowProps {
  setting: SettingEntry;
  draft: SettingValue | undefined;
  edited: boolean;
  problem: SettingProblem | undefined;
  last: boolean;
  onChange: (v: SettingValue | null) => void;
  onReset: () => void;
  resetting: boolean;
}

/** SettingRow is one setting: what it is on the left; its value, source and default on the right. */
function SettingRow({ setting: s, draft, edited, problem, last, onChange, onReset, resetting }: SettingRowProps) {
  const { t } = useTranslation();
  const value = edited ? draft : s.value;
  const name = settingName(t, s);
  const defaultText = s.key === 'personal-fields' ? t('settings.builtIn') : formatValue(t, s, s.default);
  return (
    <Row gutter={[24, 8]} style={{ padding: '12px 0', borderBottom: last ? undefined : '1px solid rgba(5, 5, 5, 0.06)' }}>
      <Col xs={24} md={10}>
        <Typography.Text strong>{name}</Typography.Text>
        <div><Typography.Text type="secondary" style={{ fontSize: 13 }}>{t(`settings.descriptions.${s.key}`, { defaultValue: s.description })}</Typography.Text></div>
        <div style={{ marginTop: 4 }}>
          <Typography.Text code style={{ fontSize: 12 }}>{s.env}</Typography.Text>
        </div>
      </Col>
      <Col xs={24} md={14}>
        {s.editable ? (
          <Form.Item
            style={{ marginBottom: 4 }}
            validateStatus={problem ? 'error' : undefined}
            help={problem ? t(`settings.invalid.${problem.key}`, problem.params) : undefined}
          >
            <SettingInput setting={s} value={value} name={name} onChange={onChange} />
          </Form.Item>
        ) : (
          <div style={{ marginBottom: 4, wordBreak: 'break-all' }}>
            <Typography.Text>{formatValue(t, s, s.value)}</Typography.Text>
          </div>
        )}
        <Space size={[8, 4]} wrap>
          <Tag color={sourceColors[s.source]}>{t(`settings.source.${s.source}`)}</Tag>
          {s.source === 'environment' && s.setBy && <Typography.Text type="secondary" style={{ fontSize: 13 }}>{t('settings.setBy', { name: s.setBy })}</Typography.Text>}
          {s.source === 'stored' && s.updatedBy && (
            <Typography.Text type="secondary" style={{ fontSize: 13 }}>{t('settings.changedBy', { who: s.updatedBy, time: formatTime(s.updatedAt) })}</Typography.Text>
          )}
          {!s.editable && s.source === 'default' && (
            <Typography.Text type="secondary" style={{ fontSize: 13 }}>{t('settings.fixedAtStart', { name: s.env })}</Typography.Text>
          )}
          {s.source !== 'default' && <Typography.Text type="secondary" style={{ fontSize: 13 }}>{t('settings.defaultValue', { value: defaultText })}</Typography.Text>}
          {s.editable && s.source === 'stored' && (
            <Popconfirm
              title={t('settings.resetConfirm', { name, value: defaultText })}
              okText={t('settings.resetToDefault')}
              cancelText={t('common.cancel')}
              onConfirm={onReset}
            >
              <Button size="small" type="link" loading={resetting} style={{ padding: 0 }}>{t('settings.resetToDefault')}</Button>
            </Popconfirm>
          )}
        </Space>
      </Col>
    </Row>
  );
}

/** SettingInput is the control that edits one setting, by its kind. */
function SettingInput({ setting: s, value, name, onChange }: {
  setting: SettingEntry; value: SettingValue | undefined; name: string; onChange: (v: SettingValue | null) => void;
}) {
  const { t } = useTranslation();
  switch (s.kind) {
    case 'integer':
      return (
        <InputNumber
          aria-label={name}
          style={{ width: 200 }}
          min={s.min}
          max={s.max}
          precision={0}
          value={typeof value === 'number' ? value : null}
          onChange={(v) => onChange(v)}
        />
      );
    case 'list':
      return (
        <Select
          aria-label={name}
          mode="tags"
          style={{ width: '100%' }}
          tokenSeparators={[',', ' ']}
          placeholder={t('settings.listPlaceholder')}
          value={Array.isArray(value) ? value : []}
          open={false}
          suffixIcon={null}
          onChange={(v: string[]) => onChange(v)}
        />
      );
    case 'enum':
      return (
        <Select
          aria-label={name}
          style={{ width: 200 }}
          value={typeof value === 'string' ? value : undefined}
          options={(s.options ?? []).map((o) => ({ value: o, label: o }))}
          onChange={(v: string) => onChange(v)}
        />
      );
    default:
      return <Typography.Text>{formatValue(t, s, value)}</Typography.Text>;
  }
}
