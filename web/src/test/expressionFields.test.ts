import { describe, expect, it } from 'vitest';
import type { Step } from '../api/types';
import {
  buildPath, fieldCandidates, flattenFields, inTemplateExpression, insertionFor, isIdentifier, offsetOf, pathAtCursor,
  redactHeaders, resolvePath, rootCandidates, sampleEnv, shortValue, valueType,
} from '../editor/expression/fields';
import { requestOf, stepFailure } from '../editor/expression/StepDetails';
import { previewText } from '../editor/expression/ExpressionInput';

const body = { order_id: 'A-17', 'first name': 'Li', in: 1, items: [{ sku: 'X1' }, { sku: 'X2' }], customer: { email: 'li@example.com' }, empty: {} };
const sample = { trigger: { body, method: 'POST' }, prev: { paid: true }, nodes: { 'http-1': { status: 200 } }, vars: {}, env: 'test' };

describe('buildPath', () => {
  it('uses dots for identifiers, brackets for other keys and indexes for arrays', () => {
    expect(buildPath(['trigger', 'body', 'order_id'])).toBe('trigger.body.order_id');
    expect(buildPath(['trigger', 'body', 'first name'])).toBe('trigger.body["first name"]');
    expect(buildPath(['trigger', 'body', 'items', 0, 'sku'])).toBe('trigger.body.items[0].sku');
    expect(buildPath(['nodes', 'http-1', 'status'])).toBe('nodes["http-1"].status');
    expect(buildPath(['trigger', 'body', 'in'])).toBe('trigger.body["in"]');
    expect(buildPath(['prev', 'say "hi"'])).toBe('prev["say \\"hi\\""]');
    expect(buildPath([])).toBe('');
  });
  it('reads back the value it names', () => {
    const rows = flattenFields(sample, [], new Set(['trigger', 'trigger.body', 'trigger.body.items', 'trigger.body.items[0]']));
    const sku = rows.find((r) => r.path === 'trigger.body.items[0].sku');
    expect(sku).toBeDefined();
    expect(resolvePath(sample, ['trigger', 'body', 'items', 0, 'sku'])).toBe('X1');
    expect(isIdentifier('order_id')).toBe(true);
    expect(isIdentifier('2fa')).toBe(false);
    expect(isIdentifier('not')).toBe(false);
  });
});

describe('flattenFields', () => {
  it('lists top-level rows and the children of expanded rows only', () => {
    const collapsed = flattenFields(sample, [], new Set());
    expect(collapsed.map((r) => r.path)).toEqual(['trigger', 'prev', 'nodes', 'vars', 'env']);
    expect(collapsed[0]).toMatchObject({ key: 'trigger', type: 'object', expandable: true, expanded: false, depth: 0, short: '{2}' });
    expect(collapsed[3].expandable).toBe(false);

    const open = flattenFields(sample, [], new Set(['trigger', 'trigger.body', 'trigger.body.items']));
    const paths = open.map((r) => r.path);
    expect(paths.slice(0, 4)).toEqual(['trigger', 'trigger.body', 'trigger.body.order_id', 'trigger.body["first name"]']);
    expect(paths).toContain('trigger.body.items[1]');
    expect(paths).not.toContain('trigger.body.customer.email');
    const item = open.find((r) => r.path === 'trigger.body.items[1]')!;
    expect(item).toMatchObject({ key: '[1]', depth: 3, type: 'object' });
    expect(open.find((r) => r.path === 'trigger.body.order_id')).toMatchObject({ type: 'string', short: '"A-17"', depth: 2 });
  });
  it('keeps long values short', () => {
    expect(shortValue('x'.repeat(100), 10)).toHaveLength(10);
    expect(shortValue([1, 2, 3])).toBe('[3]');
    expect(valueType(null)).toBe('null');
    expect(valueType([])).toBe('array');
  });
});

describe('pathAtCursor', () => {
  it('parses the path before a dot', () => {
    expect(pathAtCursor('trigger.body.')).toMatchObject({ segments: ['trigger', 'body'], partial: '', member: true, from: 13, dotFrom: 12 });
    expect(pathAtCursor('lower(trigger.body.cu')).toMatchObject({ segments: ['trigger', 'body'], partial: 'cu', member: true, from: 19 });
    expect(pathAtCursor('trigger.body["first name"].x')).toMatchObject({ segments: ['trigger', 'body', 'first name'], partial: 'x' });
    expect(pathAtCursor('trigger.body.items[0]?.')).toMatchObject({ segments: ['trigger', 'body', 'items', 0], member: true });
  });
  it('gives a bare name for roots and functions, and nothing inside strings or numbers', () => {
    expect(pathAtCursor('1 + lo')).toMatchObject({ segments: [], partial: 'lo', member: false, from: 4 });
    expect(pathAtCursor('"abc".')).toBeNull();
    expect(pathAtCursor('3.')).toBeNull();
    expect(pathAtCursor('x + ')).toBeNull();
  });
});

describe('completion candidates', () => {
  it('offers the keys at the path with their type and value', () => {
    const c = fieldCandidates(sample, ['trigger', 'body']);
    expect(c.map((x) => x.label)).toEqual(['order_id', 'first name', 'in', 'items', 'customer', 'empty']);
    expect(c[0]).toEqual({ label: 'order_id', insert: 'order_id', bracket: false, type: 'string', preview: '"A-17"' });
    expect(c[1]).toMatchObject({ insert: '["first name"]', bracket: true });
    expect(c[2]).toMatchObject({ insert: '["in"]', bracket: true });
    expect(fieldCandidates(sample, ['trigger', 'body', 'items']).map((x) => x.insert)).toEqual(['[0]', '[1]']);
    expect(fieldCandidates(sample, ['trigger', 'body', 'order_id'])).toEqual([]);
    expect(fieldCandidates(sample, ['nope'])).toEqual([]);
  });
  it('offers every root variable', () => {
    const roots = rootCandidates(sample);
    expect(roots.map((r) => r.label)).toEqual(['trigger', 'prev', 'nodes', 'vars', 'env', 'run']);
    expect(roots.find((r) => r.label === 'prev')!.type).toBe('object');
    expect(rootCandidates(undefined).every((r) => r.type === 'null')).toBe(true);
  });
});

describe('templates and drops', () => {
  it('wraps a dropped path in {{ }} outside an expression of a template only', () => {
    expect(inTemplateExpression('Order {{ trigger.')).toBe(true);
    expect(inTemplateExpression('Order {{ a }} and ')).toBe(false);
    expect(insertionFor('trigger.body.id', true, 'Order ')).toBe('{{ trigger.body.id }}');
    expect(insertionFor('trigger.body.id', true, 'Order {{ ')).toBe('trigger.body.id');
    expect(insertionFor('trigger.body.id', false, 'lower(')).toBe('trigger.body.id');
  });
  it('turns line and column into an offset', () => {
    expect(offsetOf('abc\ndef', 2, 2)).toBe(5);
    expect(offsetOf('abc', 1, 1)).toBe(0);
    expect(offsetOf('价格 + x', 1, 4)).toBe(3);
    expect(offsetOf('abc', 9, 9)).toBe(3);
  });
});

describe('sampleEnv', () => {
  const steps: Step[] = [
    { seq: 1, nodeId: 'hook', status: 'succeeded', input: { body: { id: 1 } }, output: { body: { id: 1 } } },
    { seq: 2, nodeId: 'map', status: 'succeeded', input: { body: { id: 1 } }, output: { id: 1 } },
    { seq: 3, nodeId: 'http', status: 'failed', input: { id: 1 }, error: { code: 'x', message: 'y' } },
    { seq: 4, nodeId: 'after', status: 'succeeded', input: { id: 1 }, output: {} },
  ];
  it('rebuilds what a step saw: the trigger, its input and earlier outputs', () => {
    expect(sampleEnv(steps, steps[2])).toEqual({ trigger: { body: { id: 1 } }, prev: { id: 1 }, nodes: { hook: { body: { id: 1 } }, map: { id: 1 } }, vars: {}, env: 'test' });
    expect(sampleEnv(steps, steps[0])!.nodes).toEqual({});
    expect(sampleEnv(steps, undefined)).toBeUndefined();
  });
});

describe('failed steps', () => {
  const failed: Step = {
    seq: 3, nodeId: 'http', status: 'failed',
    error: { code: 'http_client_error', message: 'status 422', kind: 'permanent', details: { status: 422, request: { method: 'POST', url: 'https://x/y', headers: { Authorization: '[redacted]' }, body: { a: 1 } } } },
  };
  it('reads the error and the request sent', () => {
    expect(stepFailure(failed)).toMatchObject({ code: 'http_client_error', kind: 'permanent' });
    expect(requestOf(failed)).toMatchObject({ method: 'POST', body: { a: 1 } });
    expect(requestOf({ seq: 1, nodeId: 'h', status: 'dry_run', output: { dryRun: true, request: { method: 'GET', url: 'https://x' } } })).toMatchObject({ method: 'GET' });
    expect(requestOf({ seq: 1, nodeId: 'm', status: 'succeeded', output: { request: 'text' } })).toBeUndefined();
    expect(stepFailure({ seq: 1, nodeId: 'm', status: 'succeeded' })).toBeUndefined();
  });
  it('hides credential headers the record did not hide', () => {
    expect(redactHeaders({ Authorization: 'Bearer t', 'X-Api-Key': 'k', 'Content-Type': 'application/json', 'Idempotency-Key': 'run:1' })).toEqual([
      ['Authorization', '[redacted]'], ['X-Api-Key', '[redacted]'], ['Content-Type', 'application/json'], ['Idempotency-Key', 'run:1'],
    ]);
  });
  it('shows preview values on one line', () => {
    expect(previewText({ value: 'a' })).toBe('"a"');
    expect(previewText({ value: { a: 1 } })).toBe('{"a":1}');
    expect(previewText({ value: null })).toBe('null');
    expect(previewText({ value: 'x'.repeat(500) })).toHaveLength(300);
    expect(previewText({ value: '{"a":', truncated: true })).toBe('{"a":…');
  });
});
