import { useState } from 'react';
import { Input, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import type { NodeSpec } from '../api/types';
import { groupByCategory } from './form';

export const DRAG_TYPE = 'application/x-ferry-node';

/** Palette lists the server's node catalog by category; nodes are dragged from here onto the canvas. */
export function Palette({ specs }: { specs: NodeSpec[] }) {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  const groups = groupByCategory(specs, search);
  return (
    <div className="ferry-palette">
      <Input.Search allowClear size="small" placeholder={t('editor.searchNodes')} onChange={(e) => setSearch(e.target.value)} style={{ marginBottom: 8 }} />
      {groups.length === 0 && <Typography.Text type="secondary">{t('editor.noNodes')}</Typography.Text>}
      {groups.map(([category, list]) => (
        <div key={category}>
          <Typography.Text strong style={{ display: 'block', margin: '8px 0 4px' }}>
            {t(`categories.${category}`, { defaultValue: category })}
          </Typography.Text>
          {list.map((s) => (
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
      ))}
    </div>
  );
}
