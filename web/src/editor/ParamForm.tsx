import { useEffect, useState } from 'react';
import { Button, Form, Input, InputNumber, Select, Space, Switch, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Field, Problem } from '../api/types';
import { formView, keyValueRows, rowsToKeyValue, type FieldView } from './form';
import { ExpressionInput } from './expression/ExpressionInput';
import { MappingTable } from './MappingTable';
import { CodeInput } from './CodeInput';
import { LoadedSelect, type OptionsSource } from './LoadedSelect';

type Values = Record<string, unknown>;

/**
 * ParamForm is a node's settings form, generated from its spec's fields alone. Each change produces the new
 * params object; fields hidden by showIf keep their values but are not shown. sample is the environment the
 * node saw in the last test run, for the expression fields' completion and preview. source (the node's type and
 * credential) lets fields whose choices come from the provider account list them.
 */
export function ParamForm({ fields, values, problems = [], sample, source, onChange }: {
  fields: Field[] | null | undefined;
  values: Values | undefined;
  problems?: Problem[];
  sample?: unknown;
  source?: OptionsSource;
  onChange: (next: Values) => void;
}) {
  const { t } = useTranslation();
  const views = formView(fields, values, problems);
  if (views.length === 0) return <Typography.Text type="secondary">{t('editor.noParams')}</Typography.Text>;
  const set = (name: string, v: unknown) => {
    const next = { ...(values ?? {}) };
    if (v === undefined) delete next[name];
    else next[name] = v;
    onChange(next);
  };
  return (
    <>
      {views.map((view) => (
        <FieldItem key={view.field.name} view={view} sample={sample} params={values} fields={fields} source={source} onChange={(v) => set(view.field.name, v)} />
      ))}
    </>
  );
}

interface FieldProps {
  view: FieldView;
  sample: unknown;
  params: Values | undefined;
  /** fields are all the node's fields, for a field that refers to its siblings (choices that depend on them). */
  fields?: Field[] | null;
  source?: OptionsSource;
  onChange: (v: unknown) => void;
}

function FieldItem({ view, sample, params, fields, source, onChange }: FieldProps) {
  const { t } = useTranslation();
  const { field, problems, missing } = view;
  const help = problems.length
    ? problems.map((p) => (p.line ? `${p.message} (${t('editor.lineColumn', { line: p.line, column: p.column ?? 0 })})` : p.message)).join('; ')
    : missing
      ? t('editor.required')
      : undefined;
  return (
    <Form.Item
      label={<span>{field.label || field.name}{field.advanced ? <Typography.Text type="secondary"> · {t('editor.advanced')}</Typography.Text> : null}</span>}
      required={view.required}
      validateStatus={problems.length ? 'error' : missing ? 'warning' : undefined}
      help={help}
      extra={
        <>
          {field.description && <div>{field.description}</div>}
          {field.examples && field.examples.length > 0 && (
            <div>
              {t('editor.examples')}:{' '}
              {field.examples.map((ex, i) => (
                <Button key={i} type="link" size="small" style={{ padding: '0 4px' }} onClick={() => onChange(structuredClone(ex.value))}>
                  {ex.name}
                </Button>
              ))}
            </div>
          )}
        </>
      }
    >
      <FieldInput view={view} sample={sample} params={params} fields={fields} source={source} onChange={onChange} />
    </Form.Item>
  );
}

function FieldInput({ view, sample, params, fields, source, onChange }: FieldProps) {
  const { t } = useTranslation();
  const { field, value } = view;
  // Choices from the provider account: a dropdown listed with the step's credential, still open to an expression.
  if (field.loadOptions && source) {
    return <LoadedSelect source={source} field={field} value={value} sample={sample} status={view.problems.length ? 'error' : undefined}
      params={params} fields={fields} onChange={onChange} />;
  }
  const str = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  const text = (v: string) => onChange(v === '' ? undefined : v);
  switch (view.widget) {
    case 'input':
      return <Input value={str} onChange={(e) => text(e.target.value)} aria-label={field.label || field.name} />;
    case 'template':
    case 'expression':
      return (
        <ExpressionInput
          value={str}
          onChange={text}
          template={view.widget === 'template'}
          sample={sample}
          result={field.exprResult}
          ariaLabel={field.label || field.name}
          status={view.problems.length ? 'error' : undefined}
          placeholder={view.widget === 'template' ? t('expression.templatePlaceholder', { example: '{{ trigger.body.field }}' }) : t('expression.expressionPlaceholder')}
        />
      );
    case 'duration':
      return <Input value={str} onChange={(e) => text(e.target.value)} placeholder={t('editor.durationPlaceholder')} />;
    case 'cron':
      return <Input className="ferry-mono" value={str} onChange={(e) => text(e.target.value)} placeholder="0 */5 * * * *" />;
    case 'code':
      return <CodeInput value={str} onChange={text} problems={view.problems} ariaLabel={field.label || field.name} />;
    case 'textarea':
      return <Input.TextArea autoSize={{ minRows: 2, maxRows: 12 }} value={str} onChange={(e) => text(e.target.value)} aria-label={field.label || field.name} />;
    case 'number':
    case 'integer':
      return (
        <InputNumber
          style={{ width: '100%' }}
          precision={view.widget === 'integer' ? 0 : undefined}
          value={typeof value === 'number' ? value : null}
          onChange={(v) => onChange(v === null ? undefined : v)}
        />
      );
    case 'switch':
      return <Switch checked={value === true} onChange={(v) => onChange(v)} />;
    case 'select':
      return (
        <Select
          allowClear={!field.required}
          value={value === undefined || value === null ? undefined : String(value)}
          onChange={(v) => onChange(v)}
          options={(field.options ?? []).map((o) => ({ value: o.value, label: o.description ? <span title={o.description}>{o.label}</span> : o.label }))}
        />
      );
    case 'json':
      if (field.expression) {
        return <JsonOrTemplateInput field={field} value={value} sample={sample} invalid={view.problems.length > 0} onChange={onChange} />;
      }
      return <JsonInput value={value} onChange={onChange} />;
    case 'keyvalue':
      return <KeyValueInput value={value} onChange={onChange} template={!!field.expression} sample={sample} />;
    case 'list':
      // A list the spec asks to show as a table (mapping rows, lookup tables) gets the table view.
      if (field.display === 'table') {
        return <MappingTable field={field} value={value} problems={view.problems} sample={sample} params={params} onChange={onChange} />;
      }
      return <ListInput field={field} value={value} problems={view.problems} sample={sample} onChange={onChange} />;
  }
}

/**
 * JsonOrTemplateInput edits a JSON field that may also be built by an expression (a Slack message's blocks, a
 * Feishu card): a string value is a {{ }} template edited with the expression editor, whose preview shows the
 * value on the sample; anything else is plain JSON. A link switches between the two, keeping the content.
 */
function JsonOrTemplateInput({ field, value, sample, invalid, onChange }: {
  field: Field; value: unknown; sample: unknown; invalid: boolean; onChange: (v: unknown) => void;
}) {
  const { t } = useTranslation();
  if (typeof value === 'string') {
    // Back to plain JSON only when the expression is itself JSON (no reference to the run's data), so nothing is lost.
    let literal: unknown;
    try {
      literal = JSON.parse(value.trim().replace(/^\{\{/, '').replace(/\}\}$/, '').trim() || 'null');
    } catch {
      literal = undefined;
    }
    const toJson = () => onChange(literal === null ? undefined : literal);
    return (
      <>
        <ExpressionInput value={value} onChange={(v) => onChange(v === '' ? undefined : v)} template sample={sample}
          ariaLabel={field.label || field.name} status={invalid ? 'error' : undefined}
          placeholder={t('expression.templatePlaceholder', { example: '{{ [{"type": "section"} ] }}' })} />
        <Button type="link" size="small" style={{ padding: 0 }} disabled={literal === undefined} onClick={toJson}>{t('editor.jsonAsLiteral')}</Button>
      </>
    );
  }
  // Indented, so nested objects never close with }} and end the template early.
  const toTemplate = () => onChange(`{{ ${value === undefined ? '' : JSON.stringify(value, null, 2)} }}`);
  return (
    <>
      <JsonInput value={value} onChange={onChange} />
      <Button type="link" size="small" style={{ padding: 0 }} onClick={toTemplate}>{t('editor.jsonAsExpression')}</Button>
    </>
  );
}

/** JsonInput edits any JSON value as text, and only passes on text that parses. */
function JsonInput({ value, onChange }: { value: unknown; onChange: (v: unknown) => void }) {
  const { t } = useTranslation();
  const render = (v: unknown) => (v === undefined ? '' : JSON.stringify(v, null, 2));
  const [textValue, setText] = useState(render(value));
  const [bad, setBad] = useState(false);
  useEffect(() => {
    setText((cur) => {
      try {
        if (cur.trim() !== '' && JSON.stringify(JSON.parse(cur)) === JSON.stringify(value)) return cur;
      } catch {
        return cur;
      }
      return render(value);
    });
  }, [value]);
  return (
    <>
      <Input.TextArea
        className="ferry-mono"
        status={bad ? 'error' : undefined}
        autoSize={{ minRows: 2, maxRows: 14 }}
        value={textValue}
        spellCheck={false}
        onChange={(e) => {
          const v = e.target.value;
          setText(v);
          if (v.trim() === '') {
            setBad(false);
            onChange(undefined);
            return;
          }
          try {
            const parsed = JSON.parse(v);
            setBad(false);
            onChange(parsed);
          } catch {
            setBad(true);
          }
        }}
      />
      {bad && <Typography.Text type="danger">{t('editor.invalidJson')}</Typography.Text>}
    </>
  );
}

/**
 * KeyValueInput edits an object of strings (headers, query parameters) as rows; with template the values may
 * interpolate {{ }} and are edited with the expression editor.
 */
function KeyValueInput({ value, onChange, template, sample }: { value: unknown; onChange: (v: unknown) => void; template: boolean; sample: unknown }) {
  const { t } = useTranslation();
  const [rows, setRows] = useState<[string, string][]>(keyValueRows(value));
  useEffect(() => {
    setRows((cur) => (JSON.stringify(rowsToKeyValue(cur)) === JSON.stringify(value ?? {}) ? cur : keyValueRows(value)));
  }, [value]);
  const update = (next: [string, string][]) => {
    setRows(next);
    const obj = rowsToKeyValue(next);
    onChange(Object.keys(obj).length ? obj : undefined);
  };
  return (
    <>
      {rows.map(([k, v], i) => (
        <Space.Compact key={i} style={{ width: '100%', marginBottom: 4 }}>
          <Input placeholder={t('editor.key')} value={k} onChange={(e) => update(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))} style={{ width: '40%' }} />
          {template ? (
            <div style={{ flex: 1, minWidth: 0 }}>
              <ExpressionInput compact template sample={sample} ariaLabel={`${t('editor.value')} ${k}`} placeholder={t('editor.value')} value={v} onChange={(nv) => update(rows.map((r, j) => (j === i ? [r[0], nv] : r)))} />
            </div>
          ) : (
            <Input className="ferry-mono" placeholder={t('editor.value')} value={v} onChange={(e) => update(rows.map((r, j) => (j === i ? [r[0], e.target.value] : r)))} />
          )}
          <Button onClick={() => update(rows.filter((_, j) => j !== i))} aria-label={t('editor.remove')}>×</Button>
        </Space.Compact>
      ))}
      <Button size="small" onClick={() => setRows([...rows, ['', '']])}>{t('editor.addRow')}</Button>
    </>
  );
}

/** ListInput edits an array of rows, each row a small form generated from the list field's own fields. */
function ListInput({ field, value, problems, sample, onChange }: { field: Field; value: unknown; problems: Problem[]; sample: unknown; onChange: (v: unknown) => void }) {
  const { t } = useTranslation();
  const rows = Array.isArray(value) ? (value as Values[]) : [];
  const update = (next: Values[]) => onChange(next.length ? next : undefined);
  return (
    <>
      {rows.map((row, i) => (
        <div key={i} className="ferry-list-row">
          <Space style={{ width: '100%', justifyContent: 'space-between' }}>
            <Typography.Text type="secondary">#{i + 1}</Typography.Text>
            <Space size={0}>
              <Button type="link" size="small" disabled={i === 0} onClick={() => update(rows.map((r, j) => (j === i - 1 ? rows[i] : j === i ? rows[i - 1] : r)))}>↑</Button>
              <Button type="link" size="small" danger onClick={() => update(rows.filter((_, j) => j !== i))}>{t('editor.remove')}</Button>
            </Space>
          </Space>
          <ParamForm fields={field.fields} values={row} problems={rowProblems(problems, field.name, i)} sample={sample} onChange={(r) => update(rows.map((x, j) => (j === i ? r : x)))} />
        </div>
      ))}
      <Button size="small" onClick={() => update([...rows, listRowDefaults(field.fields)])}>{t('editor.addRow')}</Button>
    </>
  );
}

function listRowDefaults(fields: Field[] | null | undefined): Values {
  const row: Values = {};
  for (const f of fields ?? []) if (f.default !== undefined && f.default !== null) row[f.name] = structuredClone(f.default);
  return row;
}

/** rowProblems picks the problems about row i of a list ("fields[2].expression") and names them by column. */
function rowProblems(problems: Problem[], name: string, i: number): Problem[] {
  const prefix = `${name}[${i}].`;
  return problems.filter((p) => p.field?.replace(/^params\./, '').startsWith(prefix)).map((p) => ({ ...p, field: p.field!.replace(/^params\./, '').slice(prefix.length) }));
}
