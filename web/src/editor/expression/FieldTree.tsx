import { useMemo, useState } from 'react';
import { Button, Segmented, Tooltip, Typography, message } from 'antd';
import { CopyOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { JsonView } from '../../ui';
import { FIELD_DRAG_TYPE, flattenFields, type FieldRow, type SampleEnv } from './fields';

/** treeRoots is what the tree lists at the top: the node's input first, then what else expressions can read. */
function treeRoots(sample: SampleEnv): Record<string, unknown> {
  const roots: Record<string, unknown> = { prev: sample.prev, trigger: sample.trigger };
  if (Object.keys(sample.nodes).length > 0) roots.nodes = sample.nodes;
  if (sample.vars && Object.keys(sample.vars).length > 0) roots.vars = sample.vars;
  return roots;
}

/**
 * FieldTree shows the data a node sees as a collapsible tree of fields (key, type, short value), or as raw
 * JSON. Every row can be dragged into an expression field, carrying the path that reads it at run time, or its
 * path copied with the keyboard.
 */
export function FieldTree({ sample, input }: { sample: SampleEnv; input: unknown }) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<'tree' | 'json'>('tree');
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set(['prev']));
  const roots = useMemo(() => treeRoots(sample), [sample]);
  const rows = useMemo(() => flattenFields(roots, [], expanded), [roots, expanded]);
  const toggle = (path: string) =>
    setExpanded((cur) => {
      const next = new Set(cur);
      if (next.has(path)) next.delete(path);
      else next.add(path);
      return next;
    });
  const copy = async (path: string) => {
    try {
      await navigator.clipboard.writeText(path);
      message.success(t('expression.copied', { path }));
    } catch {
      message.info(path);
    }
  };
  return (
    <div className="ferry-fields">
      <Segmented
        size="small"
        value={mode}
        onChange={(v) => setMode(v as 'tree' | 'json')}
        options={[{ value: 'tree', label: t('expression.fieldsView') }, { value: 'json', label: t('expression.jsonView') }]}
        style={{ marginBottom: 8 }}
      />
      {mode === 'json' ? (
        <JsonView value={input} />
      ) : (
        <>
          <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginBottom: 6 }}>{t('expression.dragHint')}</Typography.Paragraph>
          <div role="tree" aria-label={t('expression.fieldsView')}>
            {rows.map((row) => <FieldRowView key={row.path} row={row} onToggle={toggle} onCopy={copy} />)}
          </div>
        </>
      )}
    </div>
  );
}

function FieldRowView({ row, onToggle, onCopy }: { row: FieldRow; onToggle: (p: string) => void; onCopy: (p: string) => void }) {
  const { t } = useTranslation();
  return (
    <div
      className="ferry-field-row"
      role="treeitem"
      aria-level={row.depth + 1}
      aria-expanded={row.expandable ? row.expanded : undefined}
      draggable
      data-path={row.path}
      title={row.path}
      style={{ paddingLeft: 4 + row.depth * 14 }}
      onDragStart={(e) => {
        e.dataTransfer.setData(FIELD_DRAG_TYPE, row.path);
        e.dataTransfer.setData('text/plain', row.path);
        e.dataTransfer.effectAllowed = 'copy';
      }}
    >
      {row.expandable ? (
        <button type="button" className="ferry-field-toggle" aria-label={t(row.expanded ? 'expression.collapse' : 'expression.expand', { path: row.path })} onClick={() => onToggle(row.path)}>
          {row.expanded ? '▾' : '▸'}
        </button>
      ) : (
        <span className="ferry-field-toggle" />
      )}
      <span className="ferry-field-key">{row.key}</span>
      <span className="ferry-field-type">{t(`expression.type.${row.type}`, { defaultValue: row.type })}</span>
      <span className="ferry-field-short">{row.expandable && !row.expanded ? row.short : row.expandable ? '' : row.short}</span>
      <span className="ferry-field-actions">
        <Tooltip title={t('expression.copyPath')}>
          <Button type="text" size="small" icon={<CopyOutlined />} aria-label={`${t('expression.copyPath')} ${row.path}`} onClick={() => onCopy(row.path)} />
        </Tooltip>
      </span>
    </div>
  );
}
