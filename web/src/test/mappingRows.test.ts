import { describe, expect, it } from 'vitest';
import type { Field, Problem } from '../api/types';
import {
  addRow, formatPreview, keyValueIssues, keyValueObject, keyValueRowsOf, listValue, mentionsTables, moveRow, newRow,
  placeKeyValueProblems, placeProblems, removeRow, rowsOf, sameObject, setCell, tableLayout,
} from '../editor/mappingRows';

// The row fields of core.map's two table parameters, as the node catalog serves them.
const fieldsParam: Field = {
  name: 'fields', label: 'Fields', type: 'list', display: 'table', fields: [
    { name: 'target', label: 'Target field', type: 'string', required: true },
    { name: 'expression', label: 'Value', type: 'expression', required: true, expression: true },
    { name: 'type', label: 'Convert to', type: 'select', default: 'any', options: [{ value: 'any', label: 'Keep' }, { value: 'money_minor', label: 'Money' }] },
    { name: 'currency', label: 'Currency', type: 'string', default: 'CNY', expression: true, showIf: { type: ['money_minor'] } },
    { name: 'default', label: 'Default', type: 'json' },
    { name: 'required', label: 'Required', type: 'boolean', default: false },
  ],
};
const lookupsParam: Field = {
  name: 'lookups', label: 'Lookup tables', type: 'list', display: 'table', fields: [
    { name: 'name', label: 'Table name', type: 'string', required: true },
    { name: 'entries', label: 'Entries', type: 'keyvalue' },
    { name: 'default', label: 'Otherwise', type: 'string' },
  ],
};

const p = (field: string, code = 'param_invalid'): Problem => ({ code, message: `${field} is wrong`, nodeId: 'map1', field });

describe('row editing', () => {
  const rows = [{ target: 'a' }, { target: 'b' }, { target: 'c' }];

  it('adds rows with their defaults, at the end or after a row', () => {
    expect(newRow(fieldsParam.fields)).toEqual({ type: 'any', currency: 'CNY', required: false });
    expect(addRow(rows, { target: 'x' }).map((r) => r.target)).toEqual(['a', 'b', 'c', 'x']);
    expect(addRow(rows, { target: 'x' }, 0).map((r) => r.target)).toEqual(['a', 'x', 'b', 'c']);
    expect(addRow([], { target: 'x' })).toEqual([{ target: 'x' }]);
  });

  it('moves rows up and down, and not past either end', () => {
    expect(moveRow(rows, 0, 1).map((r) => r.target)).toEqual(['b', 'a', 'c']);
    expect(moveRow(rows, 2, -1).map((r) => r.target)).toEqual(['a', 'c', 'b']);
    expect(moveRow(rows, 0, -1)).toBe(rows);
    expect(moveRow(rows, 2, 1)).toBe(rows);
    expect(rows.map((r) => r.target)).toEqual(['a', 'b', 'c']); // never in place
  });

  it('removes rows; no rows at all leaves the parameter unset', () => {
    expect(removeRow(rows, 1).map((r) => r.target)).toEqual(['a', 'c']);
    expect(listValue(removeRow([{ target: 'a' }], 0))).toBeUndefined();
  });

  it('sets cells, and clearing a cell removes the field so its default applies', () => {
    const next = setCell(rows, 1, 'expression', 'trigger.body.b');
    expect(next[1]).toEqual({ target: 'b', expression: 'trigger.body.b' });
    expect(next[0]).toBe(rows[0]);
    expect(setCell(next, 1, 'expression', '')[1]).toEqual({ target: 'b' });
    expect(setCell(next, 1, 'expression', undefined)[1]).toEqual({ target: 'b' });
    expect(setCell(rows, 0, 'required', false)[0]).toEqual({ target: 'a', required: false });
  });

  it('reads malformed values as rows it can show', () => {
    expect(rowsOf(undefined)).toEqual([]);
    expect(rowsOf({ a: 1 })).toEqual([]);
    expect(rowsOf([{ target: 'a' }, 'junk', null])).toEqual([{ target: 'a' }, {}, {}]);
  });
});

describe('tableLayout', () => {
  it('puts simple fields in columns and the rest under the row, generically from the spec', () => {
    const m = tableLayout(fieldsParam);
    expect(m.columns.map((f) => f.name)).toEqual(['target', 'expression', 'type', 'required']);
    expect(m.nested.map((f) => f.name)).toEqual(['currency', 'default']);
    expect(m.preview?.name).toBe('expression');
    const l = tableLayout(lookupsParam);
    expect(l.columns.map((f) => f.name)).toEqual(['name', 'default']);
    expect(l.nested.map((f) => f.name)).toEqual(['entries']);
    expect(l.preview).toBeUndefined();
  });
});

describe('placeProblems', () => {
  it('puts each problem on its row and cell, the rest on the row or the list', () => {
    const problems = [
      p('fields'),
      p('params.fields[2].expression', 'expression_invalid'),
      p('fields[2].target'),
      p('fields[0].format', 'param_unknown'),
      p('fields[1]'),
      p('lookups[0].name'),
      p('keepInput'),
    ];
    const placed = placeProblems(problems, 'fields', fieldsParam.fields);
    expect(placed.list.map((x) => x.field)).toEqual(['fields']);
    expect(Object.keys(placed.rows.get(2)!.cells).sort()).toEqual(['expression', 'target']);
    expect(placed.rows.get(2)!.cells.expression[0].code).toBe('expression_invalid');
    expect(placed.rows.get(0)!.row.map((x) => x.field)).toEqual(['fields[0].format']);
    expect(placed.rows.get(1)!.row.map((x) => x.field)).toEqual(['fields[1]']);
    expect([...placed.rows.keys()].sort()).toEqual([0, 1, 2]);
  });

  it('keeps nested paths under their cell and does not confuse lists with a common prefix', () => {
    const problems = [p('lookups[1].entries.PAID '), p('lookups[1].entries'), p('lookupsExtra[0].name'), p('lookups[10].name')];
    const placed = placeProblems(problems, 'lookups', lookupsParam.fields);
    expect(placed.rows.get(1)!.cells.entries.map((x) => x.field)).toEqual(['lookups[1].entries.PAID ', 'lookups[1].entries']);
    expect(placed.rows.get(10)!.cells.name).toHaveLength(1);
    expect(placed.rows.has(0)).toBe(false);
  });

  it('places problems of a list inside a list by its full path', () => {
    const placed = placeProblems([p('outer[0].inner[3].x')], 'outer[0].inner', [{ name: 'x', label: 'X', type: 'string' }]);
    expect(placed.rows.get(3)!.cells.x).toHaveLength(1);
  });
});

describe('key-value rows', () => {
  it('round-trips an object, keeping the first of repeated keys and leaving out empty keys', () => {
    const rows = keyValueRowsOf({ TRADE_SUCCESS: 'closedwon', TRADE_CLOSED: 'closedlost' });
    expect(rows).toEqual([{ key: 'TRADE_SUCCESS', value: 'closedwon' }, { key: 'TRADE_CLOSED', value: 'closedlost' }]);
    const edited = [...rows, { key: 'TRADE_SUCCESS', value: 'other' }, { key: '', value: 'orphan' }, { key: '', value: '' }];
    expect(keyValueObject(edited)).toEqual({ TRADE_SUCCESS: 'closedwon', TRADE_CLOSED: 'closedlost' });
    expect(keyValueRowsOf(null)).toEqual([]);
    expect(keyValueRowsOf({ n: 1 })).toEqual([{ key: 'n', value: '1' }]);
  });

  it('flags repeated keys after the first and values without a key, not a blank new row', () => {
    const issues = keyValueIssues([
      { key: 'a', value: '1' }, { key: 'b', value: '2' }, { key: 'a', value: '3' }, { key: '', value: 'x' }, { key: '', value: '' }, { key: 'a', value: '' },
    ]);
    expect([...issues.entries()]).toEqual([[2, 'duplicate'], [3, 'emptyKey'], [5, 'duplicate']]);
  });

  it('knows when rows already stand for a value, so typing is not reset', () => {
    const rows = [{ key: 'a', value: '1' }, { key: '', value: '' }];
    expect(sameObject(rows, { a: '1' })).toBe(true);
    expect(sameObject(rows, { a: '2' })).toBe(false);
    expect(sameObject(rows, { a: '1', b: '2' })).toBe(false);
    expect(sameObject([], undefined)).toBe(true);
  });

  it('puts problems on the row with the key they name', () => {
    const rows = [{ key: 'PAID', value: 'won' }, { key: 'PAID ', value: 'won' }];
    const placed = placeKeyValueProblems(
      [p('params.lookups[0].entries.PAID '), p('lookups[0].entries'), p('lookups[0].entries.GONE'), p('lookups[1].entries.PAID')],
      'lookups[0].entries', rows);
    expect([...placed.rows.keys()]).toEqual([1]);
    expect(placed.table.map((x) => x.field)).toEqual(['lookups[0].entries', 'lookups[0].entries.GONE']);
  });
});

describe('preview helpers', () => {
  it('tells expressions that read lookup tables from others', () => {
    expect(mentionsTables('lookup(trigger.body.s, tables.status)')).toBe(true);
    expect(mentionsTables('tables["status"][x]')).toBe(true);
    expect(mentionsTables('trigger.body.tables')).toBe(false);
    expect(mentionsTables('trigger.body.timetables')).toBe(false);
    expect(mentionsTables('"no tables here"')).toBe(true); // a false positive only costs the other endpoint
  });

  it('formats values compactly and cuts long ones', () => {
    expect(formatPreview('1')).toBe('"1"');
    expect(formatPreview(1)).toBe('1');
    expect(formatPreview(null)).toBe('null');
    expect(formatPreview({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(formatPreview('x'.repeat(100), 10)).toHaveLength(10);
  });
});
