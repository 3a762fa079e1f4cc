import { createElement, type ReactElement } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import '../i18n';
import type { Field } from '../api/types';
import { KeyValueTable, MappingTable } from '../editor/MappingTable';

const lookups: Field = {
  name: 'lookups', label: 'Lookup tables', type: 'list', display: 'table', fields: [
    { name: 'name', label: 'Table name', type: 'string', required: true },
    { name: 'entries', label: 'Entries', type: 'keyvalue' },
    { name: 'default', label: 'Otherwise', type: 'string' },
  ],
};
const fields: Field = {
  name: 'fields', label: 'Fields', type: 'list', display: 'table', fields: [
    { name: 'target', label: 'Target field', type: 'string', required: true },
    { name: 'expression', label: 'Value', type: 'expression', required: true },
    { name: 'type', label: 'Convert to', type: 'select', default: 'any', options: [{ value: 'any', label: 'Keep as is' }] },
  ],
};

function render(el: ReactElement): string {
  return renderToStaticMarkup(createElement(QueryClientProvider, { client: new QueryClient() }, el));
}

// Rendered on the server side of React, so the table's structure is checked without a browser.
describe('MappingTable markup', () => {
  it('renders one row per item, a column per simple field, the preview column and the server problems', () => {
    const html = render(createElement(MappingTable, {
      field: fields,
      value: [{ target: 'order_id', expression: 'trigger.body.id' }, { target: 'stage', expression: 'lookup(x, tables.stage' }],
      onChange: () => {},
      problems: [{ code: 'expression_invalid', message: 'unexpected end', field: 'params.fields[1].expression', line: 1, column: 22 }],
    }));
    for (const s of ['Target field', 'Value', 'Convert to', 'Preview', 'order_id', 'unexpected end (line 1, column 22)', 'Move up 2']) {
      expect(html).toContain(s);
    }
    expect(html.match(/aria-label="Target field \d"/g)).toHaveLength(2);
    // Both expressions are on their way to the preview, whichever endpoint evaluates them.
    expect(html.match(/aria-label="Evaluating…"/g)).toHaveLength(2);
  });

  it('shows lookup tables with their entries under each row', () => {
    const html = render(createElement(MappingTable, {
      field: lookups,
      value: [{ name: 'stage', entries: { TRADE_SUCCESS: 'closedwon' } }],
      onChange: () => {},
      problems: [{ code: 'map_table_invalid', message: 'has spaces', field: 'lookups[0].entries.TRADE_SUCCESS' }],
    }));
    // The row with a problem in its entries opens by itself, showing the entries and the problem on its row.
    for (const s of ['Table name', 'Otherwise', 'stage', 'TRADE_SUCCESS', 'closedwon', 'has spaces']) expect(html).toContain(s);
    expect(html).not.toContain('Preview');
  });

  it('says so when there are no rows', () => {
    const html = render(createElement(MappingTable, { field: lookups, value: undefined, onChange: () => {}, problems: [] }));
    expect(html).toContain('No rows yet');
  });

  it('renders key-value entries with their labels', () => {
    const html = render(createElement(KeyValueTable, {
      value: { a: 'A', b: 'B' }, onChange: () => {}, keyLabel: 'From', valueLabel: 'To',
    }));
    expect(html.match(/aria-label="From \d"/g)).toHaveLength(2);
    expect(html).toContain('2 entries');
  });
});
