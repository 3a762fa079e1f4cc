import { useEffect, useRef, useState } from 'react';
import { Button, Select, Space, Tag, Tooltip, Typography } from 'antd';
import { ReloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { Field, Option } from '../api/types';
import { ErrorAlert } from '../ui';
import { ExpressionInput } from './expression/ExpressionInput';
import {
  choicesFor, dependencies, initialMode, isExpressionValue, optionsQueryKey, optionsStatus, optionsUrl, staleChoice, valueText,
  type ChoiceMode, type DependencyValues,
} from './loadedOptions';

/** OptionsSource is what listing a field's choices needs besides the field: the node's type and its credential. */
export interface OptionsSource {
  nodeType: string;
  credential?: string;
}

/**
 * fetchFieldOptions lists a field's choices with a credential and the values of the fields they depend on;
 * fresh asks the server to skip its cache.
 */
export function fetchFieldOptions(nodeType: string, field: string, credential: string, fresh = false, params?: DependencyValues): Promise<Option[]> {
  return api.get<{ options: Option[] | null }>(optionsUrl(nodeType, field, credential, params) + (fresh ? '&fresh=1' : '')).then((d) => d.options ?? []);
}

/**
 * useFieldOptions lists a field's choices from the provider account with the step's credential, and lists them
 * again when the credential or a value they depend on changes; enabled false holds the request (a field they
 * depend on is not chosen yet). refresh asks the server to skip its one-minute cache.
 */
export function useFieldOptions(nodeType: string, field: string, credential: string | undefined, params?: DependencyValues, enabled = true) {
  const fresh = useRef(false);
  const q = useQuery({
    queryKey: optionsQueryKey(nodeType, field, credential, params),
    queryFn: () => fetchFieldOptions(nodeType, field, credential!, fresh.current, params),
    enabled: !!credential && enabled,
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
 *
 * Choices that depend on other fields of the node (optionsDependOn: the stages of the chosen pipeline) are
 * listed with those fields' values from params, asked for first while one is empty, and listed again when one
 * changes; a value picked before the change that the new list does not hold is cleared.
 */
export function LoadedSelect({ source, field, value, sample, status, params, fields, onChange }: {
  source: OptionsSource;
  field: Field;
  value: unknown;
  sample?: unknown;
  status?: 'error';
  /** params are the node's params, where the fields the choices depend on are read. */
  params?: Record<string, unknown>;
  /** fields are the node's fields, for the labels of the fields the choices depend on. */
  fields?: readonly Field[] | null;
  onChange: (v: unknown) => void;
}) {
  const { t } = useTranslation();
  const label = field.label || field.name;
  const [mode, setMode] = useState<ChoiceMode>(() => initialMode(value));
  // A value that becomes an expression from elsewhere (an example, undo) is shown where it can be edited.
  useEffect(() => {
    if (isExpressionValue(value)) setMode('expression');
  }, [value]);
  const deps = dependencies(field, params, fields);
  const options = useFieldOptions(source.nodeType, field.name, source.credential, deps.values, deps.ready);
  const state = optionsStatus(source.credential, options, deps);
  const text = valueText(value);
  const canExpress = !!field.expression;
  // Once a value the choices depend on changes (another pipeline), the value picked from the old list is cleared
  // when the new list, once in, does not hold it. Only a change seen here counts: a saved value is never cleared.
  const depsKey = JSON.stringify(deps.values);
  const seenDeps = useRef(depsKey);
  const depsChanged = useRef(false);
  if (seenDeps.current !== depsKey) {
    seenDeps.current = depsKey;
    depsChanged.current = true;
  }
  const settled = deps.ready && options.isSuccess && !options.isFetching;
  useEffect(() => {
    if (!settled || !depsChanged.current) return;
    depsChanged.current = false;
    if (staleChoice(true, options.data, value)) onChange(undefined);
  }, [settled, options.data, value, onChange]);
  const depNames = [...deps.missing, ...deps.expressions].join(', ');

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
          disabled={(state === 'noCredential' || state === 'dependencyMissing' || state === 'dependencyExpression') && text === ''}
          placeholder={state === 'noCredential' ? t('connectors.chooseCredentialFirst')
            : state === 'dependencyMissing' ? t('connectors.chooseDependencyFirst', { fields: depNames }) : t('connectors.pick')}
          notFoundContent={state === 'loading' ? t('connectors.loading') : state === 'error' ? options.error?.message : t('connectors.empty')}
          onChange={(v) => onChange(v === undefined || v === '' ? undefined : v)}
          options={choices.map((c) => ({
            value: c.value,
            title: c.label === c.value ? c.label : `${c.label} ${c.value}`,
            label: c.unlisted ? <span>{c.label} <Tag color="orange">{t('connectors.unlisted')}</Tag></span> : c.label,
          }))}
        />
        <Tooltip title={t('connectors.refresh')}>
          <Button icon={<ReloadOutlined />} aria-label={t('connectors.refresh')} disabled={!source.credential || !deps.ready} loading={options.isFetching} onClick={() => void options.refresh()} />
        </Tooltip>
        {canExpress && (
          <Tooltip title={t('connectors.useExpression')}>
            <Button aria-label={t('connectors.useExpression')} aria-pressed={false} onClick={() => setMode('expression')} className="ferry-fx">fx</Button>
          </Tooltip>
        )}
      </Space.Compact>
      {state === 'noCredential' && <Typography.Text type="secondary" className="ferry-loaded-note">{t('connectors.chooseCredentialFirst')}</Typography.Text>}
      {state === 'dependencyMissing' && <Typography.Text type="secondary" className="ferry-loaded-note">{t('connectors.chooseDependencyFirst', { fields: depNames })}</Typography.Text>}
      {state === 'dependencyExpression' && <Typography.Text type="secondary" className="ferry-loaded-note">{t('connectors.dependencyExpression', { fields: depNames })}</Typography.Text>}
      {state === 'loading' && <Typography.Text type="secondary" className="ferry-loaded-note">{t('connectors.loading')}</Typography.Text>}
      {state === 'empty' && <Typography.Text type="secondary" className="ferry-loaded-note">{t('connectors.empty')}</Typography.Text>}
      {state === 'error' && <ErrorAlert error={options.error} style={{ marginTop: 6 }} />}
      {unlisted && state === 'ready' && <Typography.Text type="warning" className="ferry-loaded-note">{t('connectors.unlistedHelp')}</Typography.Text>}
    </div>
  );
}
