import { useEffect, useRef, useState } from 'react';
import { Button, Select, Space, Tag, Tooltip, Typography } from 'antd';
import { ReloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { Field, Option } from '../api/types';
import { ErrorAlert } from '../ui';
import { ExpressionInput } from './expression/ExpressionInput';
import { choicesFor, initialMode, isExpressionValue, optionsQueryKey, optionsStatus, optionsUrl, valueText, type ChoiceMode } from './loadedOptions';

/** OptionsSource is what listing a field's choices needs besides the field: the node's type and its credential. */
export interface OptionsSource {
  nodeType: string;
  credential?: string;
}

/** fetchFieldOptions lists a field's choices with a credential; fresh asks the server to skip its cache. */
export function fetchFieldOptions(nodeType: string, field: string, credential: string, fresh = false): Promise<Option[]> {
  return api.get<{ options: Option[] | null }>(optionsUrl(nodeType, field, credential) + (fresh ? '&fresh=1' : '')).then((d) => d.options ?? []);
}

/**
 * useFieldOptions lists a field's choices from the provider account with the step's credential, and lists them
 * again when the credential changes. refresh asks the server to skip its one-minute cache.
 */
export function useFieldOptions(nodeType: string, field: string, credential: string | undefined) {
  const fresh = useRef(false);
  const q = useQuery({
    queryKey: optionsQueryKey(nodeType, field, credential),
    queryFn: () => fetchFieldOptions(nodeType, field, credential!, fresh.current),
    enabled: !!credential,
    staleTime: 60_000,
    retry: false,
  });
  const refresh = async () => {
    fresh.current = true;
    try {
      await q.refetch();
    } finally {
      fresh.current = false;
    }
  };
  return { ...q, refresh };
}

/**
 * LoadedSelect edits a field whose choices come from the provider account (loadOptions in the spec): a dropdown
 * of what the account lists, with a refresh button, and an "fx" toggle to the expression editor for a value
 * worked out at run time. A value that is an expression opens in the expression editor, and a value the account
 * does not list stays in the dropdown, marked, so nothing is hidden or silently replaced.
 */
export function LoadedSelect({ source, field, value, sample, status, onChange }: {
  source: OptionsSource;
  field: Field;
  value: unknown;
  sample?: unknown;
  status?: 'error';
  onChange: (v: unknown) => void;
}) {
  const { t } = useTranslation();
  const label = field.label || field.name;
  const [mode, setMode] = useState<ChoiceMode>(() => initialMode(value));
  // A value that becomes an expression from elsewhere (an example, undo) is shown where it can be edited.
  useEffect(() => {
    if (isExpressionValue(value)) setMode('expression');
  }, [value]);
  const options = useFieldOptions(source.nodeType, field.name, source.credential);
  const state = optionsStatus(source.credential, options);
  const text = valueText(value);
  const canExpress = !!field.expression;

  if (mode === 'expression' && canExpress) {
    return (
      <div className="ferry-loaded-field">
        <div className="ferry-loaded-row">
          <div className="ferry-loaded-main">
            <ExpressionInput
              value={text}
              onChange={(v) => onChange(v === '' ? undefined : v)}
              template
              sample={sample}
              ariaLabel={label}
              status={status}
              placeholder={t('expression.templatePlaceholder', { example: '{{ trigger.body.field }}' })}
            />
          </div>
          <Tooltip title={t('connectors.useList')}>
            <Button type="primary" ghost aria-pressed aria-label={t('connectors.useList')} onClick={() => setMode('list')} className="ferry-fx">fx</Button>
          </Tooltip>
        </div>
        <Typography.Text type="secondary" className="ferry-loaded-note">{t('connectors.expressionHelp')}</Typography.Text>
      </div>
    );
  }

  const choices = choicesFor(options.data, value);
  const unlisted = choices.find((c) => c.unlisted);
  return (
    <div className="ferry-loaded-field">
      <Space.Compact className="ferry-loaded-row">
        <Select
          className="ferry-loaded-main"
          aria-label={label}
          showSearch
          optionFilterProp="title"
          allowClear={!field.required}
          status={status}
          value={text === '' ? undefined : text}
          loading={options.isFetching}
          disabled={state === 'noCredential' && text === ''}
          placeholder={state === 'noCredential' ? t('connectors.chooseCredentialFirst') : t('connectors.pick')}
          notFoundContent={state === 'loading' ? t('connectors.loading') : state === 'error' ? options.error?.message : t('connectors.empty')}
          onChange={(v) => onChange(v === undefined || v === '' ? undefined : v)}
          options={choices.map((c) => ({
            value: c.value,
            title: c.label === c.value ? c.label : `${c.label} ${c.value}`,
            label: c.unlisted ? <span>{c.label} <Tag color="orange">{t('connectors.unlisted')}</Tag></span> : c.label,
          }))}
        />
        <Tooltip title={t('connectors.refresh')}>
          <Button icon={<ReloadOutlined />} aria-label={t('connectors.refresh')} disabled={!source.credential} loading={options.isFetching} onClick={() => void options.refresh()} />
        </Tooltip>
        {canExpress && (
          <Tooltip title={t('connectors.useExpression')}>
            <Button aria-label={t('connectors.useExpression')} aria-pressed={false} onClick={() => setMode('expression')} className="ferry-fx">fx</Button>
          </Tooltip>
        )}
      </Space.Compact>
      {state === 'noCredential' && <Typography.Text type="secondary" className="ferry-loaded-note">{t('connectors.chooseCredentialFirst')}</Typography.Text>}
      {state === 'loading' && <Typography.Text type="secondary" className="ferry-loaded-note">{t('connectors.loading')}</Typography.Text>}
      {state === 'empty' && <Typography.Text type="secondary" className="ferry-loaded-note">{t('connectors.empty')}</Typography.Text>}
      {state === 'error' && <ErrorAlert error={options.error} style={{ marginTop: 6 }} />}
      {unlisted && state === 'ready' && <Typography.Text type="warning" className="ferry-loaded-note">{t('connectors.unlistedHelp')}</Typography.Text>}
    </div>
  );
}
