import { useState } from 'react';
import { DownOutlined, RightOutlined } from '@ant-design/icons';
import { Input, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import type { NodeSpec } from '../api/types';
import { paletteGroups } from './paletteGroups';

export const DRAG_TYPE = 'application/x-ferry-node';

/**
 * Palette lists the server's node catalog in groups, in the order a flow reads (triggers first); nodes are
 * dragged from here onto the canvas. Groups fold away; while searching every matching group is shown open.
 */
export function Palette({ specs }: { specs: NodeSpec[] }) {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const groups = paletteGroups(specs, search);
  const searching = search.trim() !== '';
  const toggle = (category: string) =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (!next.delete(category)) next.add(category);
      return next;
    });

  return (
    <div className="ferry-palette">
      <Input.Search allowClear size="small" placeholder={t('canvas.searchNodes')} onChange={(e) => setSearch(e.target.value)} style={{ marginBottom: 8 }} />
      {groups.length === 0 && <Typography.Text type="secondary">{t('editor.noNodes')}</Typography.Text>}
      {groups.map(({ category, specs: list }) => {
        const label = t(`categories.${category}`, { defaultValue: category });
        const open = searching || !collapsed.has(category);
        return (
          <div key={category} className="ferry-palette-group">
            <button
              type="button"
              className="ferry-palette-group-head"
              aria-expanded={open}
              aria-label={t(open ? 'canvas.collapseGroup' : 'canvas.expandGroup', { group: label })}
              onClick={() => toggle(category)}
              disabled={searching}
            >
              {open ? <DownOutlined /> : <RightOutlined />}
              <span className="ferry-palette-group-name">{label}</span>
              <span className="ferry-palette-group-count">{t('canvas.nodeCount', { count: list.length })}</span>
            </button>
            {open && list.map((s) => (
              <div
                key={s.type}
                className="ferry-palette-item"
                draggable
                title={s.description}
                onDragStart={(e) => {
                  e.dataTransfer.setData(DRAG_TYPE, s.type);
                  e.dataTransfer.effectAllowed = 'move';
                }}
              >
                {s.name}
                <small>{s.type}</small>
              </div>
            ))}
          </div>
        );
      })}
    </div>
  );
}
