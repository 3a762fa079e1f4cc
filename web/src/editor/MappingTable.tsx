import { useEffect, useMemo, useRef, useState } from 'react';
import { Alert, Button, Checkbox, Input, InputNumber, Select, Space, Spin, Table, Tooltip, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import type { Field, Problem } from '../api/types';
import { ExpressionInput } from './expression/ExpressionInput';
import { isVisible } from './form';
import { useMappingPreview } from './mappingPreview';
import {
  addRow, formatPreview, keyValueIssues, keyValueObject, keyValueRowsOf, listValue, moveRow, newRow, placeKeyValueProblems,
  placeProblems, removeRow, rowPrefix, rowsOf, sameObject, setCell, tableLayout, type KeyValueRow, type Row,
} from './mappingRows';

/** MappingTableProps are the props of MappingTable. */
export interface MappingTableProps {
  /** field is the list parameter (display "table"); its row fields become the columns. */
  field: Field;
  value: unknown;
  onChange: (v: unknown) => void;
  /** sample is the data the node sees ({trigger, prev, nodes, vars}), for the preview column. */
  sample?: unknown;
  /** problems are the server's problems about this parameter, with paths like "fields[2].expression". */
  problems: Problem[];
  /**
   * params are the node's parameters; when they hold lookup tables (a "lookups" list), expressions reading
   * tables.<name> are previewed with them.
   */
  params?: Record<string, unknown>;
  /** path is where the list sits in the params, for problems of a list inside a list; the field name by default. */
  path?: string;
}

interface TableRow {
  key: string;
  index: number;
  row: Row;
}

/**
 * MappingTable edits a list parameter as a table, generically from its row fields: one row per item, a column
 * per simple row field, a preview column with the value of the row's expression on the sample, and the other
 * fields (objects, key-value tables, nested lists, fields that depend on others) in the row's expanded area.
 * Rows can be added, removed and moved; the server's problems are shown on their row and cell.
 */
export function MappingTable({ field, value, onChange, sample, problems, params, path }: MappingTableProps) {
  const { t } = useTranslation();
  const name = path ?? field.name;
  const rows = rowsOf(value);
  const layout = useMemo(() => tableLayout(field), [field]);
  const placed = placeProblems(problems, name, field.fields);

  // Stable row ids keep inputs (and their focus and preview) attached to their row when rows move.
  const ids = useRef<string[]>([]);
  const counter = useRef(0);
  const fresh = () => `row-${counter.current++}`;
  if (ids.current.length !== rows.length) ids.current = rows.map(() => fresh());
  const [expanded, setExpanded] = useState<string[]>([]);

  const commit = (nextRows: Row[], nextIds: string[]) => {
    ids.current = nextIds;
    onChange(listValue(nextRows));
  };
  const add = () => {
    const id = fresh();
    commit(addRow(rows, newRow(field.fields)), addRow(ids.current, id));
    if (layout.nested.some((f) => f.type === 'keyvalue' || f.type === 'list')) setExpanded((e) => [...e, id]);
  };
  const remove = (i: number) => commit(removeRow(rows, i), removeRow(ids.current, i));
  const move = (i: number, d: number) => commit(moveRow(rows, i, d), moveRow(ids.current, i, d));
  const set = (i: number, f: string, v: unknown) => commit(setCell(rows, i, f, v), ids.current);

  // Rows whose hidden fields have problems open by themselves, so no problem is out of sight.
  const nestedNames = new Set(layout.nested.map((f) => f.name));
  const withNestedProblems = rows.map((_, i) => i).filter((i) => {
    const rp = placed.rows.get(i);
    return !!rp && Object.keys(rp.cells).some((c) => nestedNames.has(c));
  });
  const expandedKeys = [...new Set([...expanded, ...withNestedProblems.map((i) => ids.current[i])])];

  const columns: ColumnsType<TableRow> = [
    {
      title: '#', key: 'index', width: 36, fixed: 'left',
      render: (_, r) => {
        const rowProblems = placed.rows.get(r.index)?.row ?? [];
        return rowProblems.length
          ? <Tooltip title={rowProblems.map(problemText(t)).join('; ')}><Typography.Text type="danger">{r.index + 1}!</Typography.Text></Tooltip>
          : <Typography.Text type="secondary">{r.index + 1}</Typography.Text>;
      },
    },
    ...layout.columns.map((f) => ({
      title: <ColumnTitle field={f} />,
      key: f.name,
      width: columnWidth(f),
      render: (_: unknown, r: TableRow) => {
        const cellProblems = placed.rows.get(r.index)?.cells[f.name] ?? [];
        if (!isVisible(f, field.fields ?? [], r.row)) return <Typography.Text type="secondary">—</Typography.Text>;
        return (
          <CellEditor field={f} value={r.row[f.name]} onChange={(v) => set(r.index, f.name, v)} sample={sample} problems={cellProblems}
            path={`${rowPrefix(name, r.index)}.${f.name}`} ariaLabel={`${f.label} ${r.index + 1}`} params={params} />
        );
      },
    })),
  ];
  if (layout.preview) {
    const pf = layout.preview;
    columns.push({
      title: <Tooltip title={t('mapping.previewHint')}>{t('mapping.preview')}</Tooltip>,
      key: 'preview',
      width: 180,
      render: (_, r) => <PreviewCell expression={typeof r.row[pf.name] === 'string' ? (r.row[pf.name] as string) : ''} sample={sample} lookups={params?.lookups} />,
    });
  }
  columns.push({
    title: '',
    key: 'actions',
    width: 104,
    fixed: 'right',
    render: (_, r) => (
      <Space size={0}>
        <Tooltip title={t('mapping.moveUp')}>
          <Button type="text" size="small" aria-label={`${t('mapping.moveUp')} ${r.index + 1}`} disabled={r.index === 0} onClick={() => move(r.index, -1)}>↑</Button>
        </Tooltip>
        <Tooltip title={t('mapping.moveDown')}>
          <Button type="text" size="small" aria-label={`${t('mapping.moveDown')} ${r.index + 1}`} disabled={r.index === rows.length - 1} onClick={() => move(r.index, 1)}>↓</Button>
        </Tooltip>
        <Tooltip title={t('mapping.remove')}>
          <Button type="text" size="small" danger aria-label={`${t('mapping.remove')} ${r.index + 1}`} onClick={() => remove(r.index)}>×</Button>
        </Tooltip>
      </Space>
    ),
  });

  const data: TableRow[] = rows.map((row, index) => ({ key: ids.current[index], index, row }));
  return (
    <div className="ferry-mapping-table">
      {placed.list.length > 0 && <Alert type="error" showIcon style={{ marginBottom: 8 }} message={placed.list.map(problemText(t)).join('; ')} />}
      <Table<TableRow>
        size="small"
        columns={columns}
        dataSource={data}
        pagination={false}
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: t('mapping.empty') }}
        expandable={layout.nested.length ? {
          expandedRowKeys: expandedKeys,
          onExpand: (open, r) => setExpanded((e) => (open ? [...e, r.key] : e.filter((k) => k !== r.key))),
          expandedRowRender: (r) => (
            <NestedFields fields={layout.nested} siblings={field.fields ?? []} row={r.row} sample={sample} params={params}
              prefix={rowPrefix(name, r.index)} problems={placed.rows.get(r.index)?.cells ?? {}}
              onChange={(f, v) => set(r.index, f, v)} />
          ),
        } : undefined}
      />
      <Button size="small" style={{ marginTop: 8 }} onClick={add}>+ {t('mapping.addRow')}</Button>
    </div>
  );
}

/** columnWidth gives simple columns a width that fits 1280-pixel screens; expressions take what is left. */
function columnWidth(f: Field): number | undefined {
  switch (f.type) {
    case 'expression': return 260;
    case 'boolean': return 72;
    case 'select': return 150;
    case 'number':
    case 'integer': return 110;
    default: return f.expression ? 220 : 160;
  }
}

function ColumnTitle({ field }: { field: Field }) {
  const label = <span>{field.label || field.name}{field.required ? <Typography.Text type="danger"> *</Typography.Text> : null}</span>;
  return field.description ? <Tooltip title={field.description}>{label}</Tooltip> : label;
}

type T = TFunction;

/** problemText is a problem as one line, with its line and column when it has them. */
function problemText(t: T) {
  return (p: Problem) => (p.line ? `${p.message} (${t('mapping.lineColumn', { line: p.line, column: p.column ?? 0 })})` : p.message);
}

function Problems({ problems }: { problems: Problem[] }) {
  const { t } = useTranslation();
  if (!problems.length) return null;
  return (
    <div role="alert" style={{ fontSize: 12, lineHeight: 1.4, marginTop: 2 }}>
      {problems.map((p, i) => (
        <div key={i}><Typography.Text type="danger">{problemText(t)(p)}</Typography.Text></div>
      ))}
    </div>
  );
}

/** CellEditor edits one row field with the input its type calls for, and shows the server's problems under it. */
function CellEditor({ field, value, onChange, sample, problems, path, ariaLabel, params }: {
  field: Field; value: unknown; onChange: (v: unknown) => void; sample?: unknown; problems: Problem[]; path: string; ariaLabel: string;
  params?: Record<string, unknown>;
}) {
  const { t } = useTranslation();
  const status = problems.length ? 'error' as const : undefined;
  const current = value ?? field.default;
  const text = typeof current === 'string' ? current : current === undefined || current === null ? '' : String(current);
  let input: React.ReactNode;
  switch (field.type) {
    case 'expression':
      input = <ExpressionInput compact value={text} onChange={(v) => onChange(v)} sample={sample} ariaLabel={ariaLabel} status={status} placeholder="trigger.body.id" />;
      break;
    case 'select':
      input = (
        <Select size="small" style={{ width: '100%' }} aria-label={ariaLabel} status={status} allowClear={!field.required}
          value={current === undefined || current === null ? undefined : String(current)} onChange={(v) => onChange(v)}
          options={(field.options ?? []).map((o) => ({ value: o.value, label: o.description ? <span title={o.description}>{o.label}</span> : o.label }))} />
      );
      break;
    case 'boolean':
      input = <Checkbox aria-label={ariaLabel} checked={current === true} onChange={(e) => onChange(e.target.checked)} />;
      break;
    case 'number':
    case 'integer':
      input = (
        <InputNumber size="small" style={{ width: '100%' }} aria-label={ariaLabel} status={status} precision={field.type === 'integer' ? 0 : undefined}
          value={typeof current === 'number' ? current : null} onChange={(v) => onChange(v === null ? undefined : v)} />
      );
      break;
    case 'keyvalue':
      input = (
        <KeyValueTable value={isStringRecord(value) ? value : undefined} onChange={onChange} problems={problems} pathPrefix={path}
          keyLabel={t('mapping.from')} valueLabel={t('mapping.to')} />
      );
      return <>{input}</>;
    case 'list':
      return <MappingTable field={field} value={value} onChange={onChange} sample={sample} problems={problems} params={params} path={path} />;
    case 'json':
      input = <JsonCell value={value} onChange={onChange} ariaLabel={ariaLabel} status={status} />;
      break;
    case 'text':
      input = <Input.TextArea size="small" aria-label={ariaLabel} status={status} autoSize={{ minRows: 1, maxRows: 6 }} value={text} onChange={(e) => onChange(e.target.value)} />;
      break;
    default:
      input = field.expression
        ? <ExpressionInput compact template value={text} onChange={(v) => onChange(v)} sample={sample} ariaLabel={ariaLabel} status={status} />
        : <Input size="small" aria-label={ariaLabel} status={status} value={text} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <>
      {input}
      <Problems problems={problems} />
    </>
  );
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** JsonCell edits any JSON value as one line of text and passes on only text that parses. */
function JsonCell({ value, onChange, ariaLabel, status }: { value: unknown; onChange: (v: unknown) => void; ariaLabel: string; status?: 'error' }) {
  const { t } = useTranslation();
  const render = (v: unknown) => (v === undefined ? '' : JSON.stringify(v));
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
      <Input size="small" className="ferry-mono" aria-label={ariaLabel} status={bad ? 'error' : status} value={textValue} spellCheck={false}
        placeholder={t('mapping.jsonPlaceholder')}
        onChange={(e) => {
          const v = e.target.value;
          setText(v);
          if (v.trim() === '') {
            setBad(false);
            onChange(undefined);
            return;
          }
          try {
            const parsed: unknown = JSON.parse(v);
            setBad(false);
            onChange(parsed);
          } catch {
            setBad(true);
          }
        }} />
      {bad && <Typography.Text type="danger" style={{ fontSize: 12 }}>{t('mapping.invalidJson')}</Typography.Text>}
    </>
  );
}

/** NestedFields is a row's expanded area: its fields that do not fit a column, each labelled, in spec order. */
function NestedFields({ fields, siblings, row, sample, params, prefix, problems, onChange }: {
  fields: Field[]; siblings: Field[]; row: Row; sample?: unknown; params?: Record<string, unknown>; prefix: string;
  problems: Record<string, Problem[]>; onChange: (field: string, v: unknown) => void;
}) {
  const visible = fields.filter((f) => isVisible(f, siblings, row));
  return (
    <div className="ferry-mapping-nested" style={{ display: 'grid', gap: 8, paddingLeft: 8 }}>
      {visible.map((f) => (
        <div key={f.name}>
          <div style={{ marginBottom: 2 }}>
            <Typography.Text strong><ColumnTitle field={f} /></Typography.Text>
            {f.description && <Typography.Text type="secondary" style={{ fontSize: 12, marginLeft: 8 }}>{f.description}</Typography.Text>}
          </div>
          <CellEditor field={f} value={row[f.name]} onChange={(v) => onChange(f.name, v)} sample={sample} problems={problems[f.name] ?? []}
            path={`${prefix}.${f.name}`} ariaLabel={f.label} params={params} />
        </div>
      ))}
    </div>
  );
}

/** PreviewCell shows a row expression's value on the sample, or why it has none. */
function PreviewCell({ expression, sample, lookups }: { expression: string; sample?: unknown; lookups?: unknown }) {
  const { t } = useTranslation();
  const preview = useMappingPreview(expression, sample, lookups);
  if (expression.trim() === '') return <Typography.Text type="secondary">—</Typography.Text>;
  // Without a test run there is nothing to read fields from; only mistakes in the text itself are worth showing.
  if (!sample && preview.error?.code === 'expression_failed') return <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('mapping.noSample')}</Typography.Text>;
  // Before the first answer there is neither value nor error: the preview is on its way.
  if (!preview.error && preview.value === undefined) return <Spin size="small" aria-label={t('mapping.evaluating')} />;
  if (preview.error) {
    const where = preview.error.line ? ` (${t('mapping.lineColumn', { line: preview.error.line, column: preview.error.column ?? 0 })})` : '';
    return (
      <Tooltip title={<><code>{preview.error.code}</code> {preview.error.message}{where}</>}>
        <Typography.Text type="danger" style={{ fontSize: 12 }} ellipsis>{preview.error.message || preview.error.code}{where}</Typography.Text>
      </Tooltip>
    );
  }
  const full = formatPreview(preview.value, 4000);
  return (
    <Tooltip title={full.length > 40 ? <pre className="ferry-json" style={{ margin: 0, maxHeight: 320, overflow: 'auto' }}>{JSON.stringify(preview.value, null, 2)}</pre> : undefined}>
      <span className="ferry-mono" style={{ opacity: preview.pending ? 0.5 : 1, wordBreak: 'break-all' }}>
        {preview.value === null ? <Typography.Text type="secondary">null</Typography.Text> : formatPreview(preview.value, 60)}
      </span>
    </Tooltip>
  );
}

/** KeyValueTableProps are the props of KeyValueTable. */
export interface KeyValueTableProps {
  value: Record<string, string> | undefined;
  onChange: (v: Record<string, string> | undefined) => void;
  keyLabel?: string;
  valueLabel?: string;
  /** problems are the server's problems; those at pathPrefix go on the table, those at pathPrefix.<key> on the row. */
  problems?: Problem[];
  pathPrefix?: string;
}

interface KeyValueTableRow {
  key: string;
  index: number;
  entry: KeyValueRow;
}

/** KEY_VALUE_PAGE is how many entries a key-value table shows at once; big tables page rather than scroll. */
const KEY_VALUE_PAGE = 50;

/**
 * KeyValueTable edits an object of text to text (a lookup table's entries: from → to) as rows. Rows may be
 * added, removed and typed in any order; a key typed twice is flagged and only its first row counts, a value
 * without a key is flagged and left out.
 */
export function KeyValueTable({ value, onChange, keyLabel, valueLabel, problems = [], pathPrefix = '' }: KeyValueTableProps) {
  const { t } = useTranslation();
  const [rows, setRows] = useState<KeyValueRow[]>(() => keyValueRowsOf(value));
  const ids = useRef<string[]>([]);
  const counter = useRef(0);
  const fresh = () => `kv-${counter.current++}`;
  if (ids.current.length !== rows.length) ids.current = rows.map(() => fresh());
  const [page, setPage] = useState(1);

  useEffect(() => {
    setRows((cur) => (sameObject(cur, value) ? cur : keyValueRowsOf(value)));
  }, [value]);

  const update = (next: KeyValueRow[], nextIds: string[]) => {
    ids.current = nextIds;
    setRows(next);
    const obj = keyValueObject(next);
    if (!sameObject(next, value)) onChange(Object.keys(obj).length ? obj : undefined);
  };
  const issues = keyValueIssues(rows);
  const placed = placeKeyValueProblems(problems, pathPrefix, rows);
  const setEntry = (i: number, patch: Partial<KeyValueRow>) => update(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)), ids.current);

  const columns: ColumnsType<KeyValueTableRow> = [
    {
      title: keyLabel ?? t('mapping.key'), key: 'k', width: '45%',
      render: (_, r) => {
        const issue = issues.get(r.index);
        const rowProblems = placed.rows.get(r.index) ?? [];
        return (
          <>
            <Input size="small" className="ferry-mono" aria-label={`${keyLabel ?? t('mapping.key')} ${r.index + 1}`} value={r.entry.key}
              status={issue || rowProblems.length ? 'error' : undefined} onChange={(e) => setEntry(r.index, { key: e.target.value })} />
            {issue && <div style={{ fontSize: 12 }}><Typography.Text type="danger">{t(issue === 'duplicate' ? 'mapping.duplicateKey' : 'mapping.emptyKey')}</Typography.Text></div>}
            <Problems problems={rowProblems} />
          </>
        );
      },
    },
    { title: '', key: 'arrow', width: 24, render: () => <Typography.Text type="secondary">→</Typography.Text> },
    {
      title: valueLabel ?? t('mapping.value'), key: 'v',
      render: (_, r) => (
        <Input size="small" aria-label={`${valueLabel ?? t('mapping.value')} ${r.index + 1}`} value={r.entry.value}
          onChange={(e) => setEntry(r.index, { value: e.target.value })} />
      ),
    },
    {
      title: '', key: 'x', width: 40,
      render: (_, r) => (
        <Tooltip title={t('mapping.remove')}>
          <Button type="text" size="small" danger aria-label={`${t('mapping.remove')} ${r.index + 1}`}
            onClick={() => update(removeRow(rows, r.index), removeRow(ids.current, r.index))}>×</Button>
        </Tooltip>
      ),
    },
  ];
  const data = rows.map((entry, index) => ({ key: ids.current[index], index, entry }));
  return (
    <div className="ferry-keyvalue-table">
      {placed.table.length > 0 && <Alert type="error" showIcon style={{ marginBottom: 6 }} message={placed.table.map(problemText(t)).join('; ')} />}
      <Table<KeyValueTableRow>
        size="small"
        columns={columns}
        dataSource={data}
        locale={{ emptyText: t('mapping.noEntries') }}
        pagination={rows.length > KEY_VALUE_PAGE ? { pageSize: KEY_VALUE_PAGE, current: page, onChange: setPage, size: 'small', showSizeChanger: false } : false}
      />
      <Space style={{ marginTop: 6 }}>
        <Button size="small" onClick={() => {
          update(addRow(rows, { key: '', value: '' }), addRow(ids.current, fresh()));
          setPage(Math.floor(rows.length / KEY_VALUE_PAGE) + 1);
        }}>+ {t('mapping.addEntry')}</Button>
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('mapping.entryCount', { count: Object.keys(keyValueObject(rows)).length })}</Typography.Text>
      </Space>
    </div>
  );
}
