import { describe, expect, it } from 'vitest';
import type { Field, NodeSpec } from '../api/types';
import { defaultParams, formView, groupByCategory, keyValueRows, rowsToKeyValue, topField, widgetFor } from '../editor/form';

const http: Field[] = [
  { name: 'method', label: 'Method', type: 'select', default: 'GET', options: [{ value: 'GET', label: 'GET' }, { value: 'POST', label: 'POST' }] },
  { name: 'url', label: 'URL', type: 'string', required: true, expression: true },
  { name: 'headers', label: 'Headers', type: 'keyvalue' },
  { name: 'bodyType', label: 'Body', type: 'select', default: 'none' },
  { name: 'body', label: 'Body', type: 'text', showIf: { bodyType: ['json', 'raw'] } },
  { name: 'idempotencyKey', label: 'Idempotency key', type: 'boolean', default: false },
  { name: 'idempotencyHeader', label: 'Header', type: 'string', default: 'Idempotency-Key', showIf: { idempotencyKey: [true] } },
  { name: 'rateBurst', label: 'Burst', type: 'integer' },
  { name: 'condition', label: 'Condition', type: 'expression' },
  { name: 'fields', label: 'Fields', type: 'list', fields: [{ name: 'target', label: 'Target', type: 'string', required: true }] },
  { name: 'sample', label: 'Sample', type: 'json' },
  { name: 'timeout', label: 'Timeout', type: 'duration', default: '30s' },
];

describe('formView', () => {
  it('picks a widget from the field type alone', () => {
    const widgets = Object.fromEntries(formView(http, { bodyType: 'json', idempotencyKey: true }).map((v) => [v.field.name, v.widget]));
    expect(widgets).toEqual({
      method: 'select', url: 'template', headers: 'keyvalue', bodyType: 'select', body: 'textarea', idempotencyKey: 'switch',
      idempotencyHeader: 'input', rateBurst: 'integer', condition: 'expression', fields: 'list', sample: 'json', timeout: 'duration',
    });
  });

  it('edits expressions and interpolating text with the expression editor, plain text without it', () => {
    expect(widgetFor({ name: 'c', label: 'C', type: 'expression' })).toBe('expression');
    expect(widgetFor({ name: 's', label: 'S', type: 'string', expression: true })).toBe('template');
    expect(widgetFor({ name: 'm', label: 'M', type: 'text', expression: true })).toBe('template');
    expect(widgetFor({ name: 's', label: 'S', type: 'string' })).toBe('input');
    expect(widgetFor({ name: 'm', label: 'M', type: 'text' })).toBe('textarea');
  });

  it('edits code in the code editor, and types it does not know as multi-line text', () => {
    expect(widgetFor({ name: 'code', label: 'JavaScript', type: 'code', language: 'javascript' })).toBe('code');
    expect(widgetFor({ name: 'x', label: 'X', type: 'future' as unknown as Field['type'] })).toBe('textarea');
  });

  it('hides fields whose showIf does not hold, using sibling defaults', () => {
    const names = formView(http, {}).map((v) => v.field.name);
    expect(names).not.toContain('body');
    expect(names).not.toContain('idempotencyHeader');
    expect(formView(http, { bodyType: 'raw' }).map((v) => v.field.name)).toContain('body');
    expect(formView(http, { idempotencyKey: true }).map((v) => v.field.name)).toContain('idempotencyHeader');
  });

  it('shows defaults, marks missing required fields and attaches problems to their field', () => {
    const views = formView(http, {}, [
      { code: 'expression_invalid', nodeId: 'n', field: 'fields[1].target', message: 'bad' },
      { code: 'x', nodeId: 'n', field: 'url', message: 'missing' },
    ]);
    const by = Object.fromEntries(views.map((v) => [v.field.name, v]));
    expect(by.method.value).toBe('GET');
    expect(by.timeout.value).toBe('30s');
    expect(by.url.missing).toBe(true);
    expect(by.method.missing).toBe(false);
    expect(by.url.problems.map((p) => p.message)).toEqual(['missing']);
    expect(by.fields.problems).toHaveLength(1);
  });

  it('builds the params of a new node from defaults', () => {
    const spec = { type: 'core.http', params: http } as NodeSpec;
    expect(defaultParams(spec)).toEqual({ method: 'GET', bodyType: 'none', idempotencyKey: false, idempotencyHeader: 'Idempotency-Key', timeout: '30s' });
  });

  it('converts key-value objects to rows and back', () => {
    expect(keyValueRows({ A: '1', B: '2' })).toEqual([['A', '1'], ['B', '2']]);
    expect(rowsToKeyValue([['A', '1'], ['', 'ignored']])).toEqual({ A: '1' });
    expect(topField('fields[2].expression')).toBe('fields');
  });

  it('groups the palette by category and filters it', () => {
    const specs = [
      { type: 'core.map', name: 'Map', category: 'data', description: 'map fields' },
      { type: 'core.webhook', name: 'Webhook', category: 'trigger', description: 'http' },
      { type: 'core.condition', name: 'Condition', category: 'logic', description: 'branch' },
    ] as NodeSpec[];
    expect(groupByCategory(specs, '').map(([c]) => c)).toEqual(['trigger', 'logic', 'data']);
    expect(groupByCategory(specs, 'BRANCH').map(([c, l]) => [c, l.map((s) => s.type)])).toEqual([['logic', ['core.condition']]]);
  });
});
