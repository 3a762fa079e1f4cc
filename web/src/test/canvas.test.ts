import { describe, expect, it } from 'vitest';
import type { FlowEdge, FlowNode, NodeSpec } from '../api/types';
import { copySelection, parseClipboard, PASTE_OFFSET, preparePaste, serializeClipboard } from '../editor/clipboard';
import { paletteGroups } from '../editor/paletteGroups';
import { loadSample, saveSample, SAMPLE_LIMIT } from '../editor/samples';
import { dryRunPreview, stepErrorText } from '../editor/stepView';
import { isTypingTarget, matchShortcut, shortcutList, type KeyInfo } from '../editor/shortcuts';
import canvasStrings from '../locales/areas/canvas';

const nodes: FlowNode[] = [
  { id: 'webhook', type: 'core.webhook', params: { method: 'POST' }, position: { x: 0, y: 100 } },
  { id: 'map', type: 'core.map', name: 'Shape order', params: { fields: [{ name: 'id', value: 'trigger.body.id' }] }, position: { x: 260, y: 100 } },
  { id: 'check', type: 'core.condition', params: { condition: 'map.total > 0' }, position: { x: 520, y: 100 } },
];
const edges: FlowEdge[] = [
  { source: 'webhook', target: 'map' },
  { source: 'map', target: 'check' },
  { source: 'check', sourcePort: 'true', target: 'map' },
];

describe('clipboard', () => {
  it('copies the selected nodes with only the edges between them', () => {
    const c = copySelection(nodes, edges, ['map', 'check'])!;
    expect(c.nodes.map((n) => n.id)).toEqual(['map', 'check']);
    expect(c.edges).toEqual([{ source: 'map', target: 'check' }, { source: 'check', sourcePort: 'true', target: 'map' }]);
    expect(copySelection(nodes, edges, [])).toBeNull();
    // The copy does not share objects with the canvas.
    (c.nodes[0].params!.fields as unknown[]).push('x');
    expect((nodes[1].params!.fields as unknown[]).length).toBe(1);
  });

  it('round-trips through clipboard text and ignores text that is not nodes', () => {
    const c = copySelection(nodes, edges, ['map', 'check'])!;
    expect(parseClipboard(serializeClipboard(c))).toEqual(c);
    expect(parseClipboard('hello')).toBeNull();
    expect(parseClipboard('{"kind":"other","nodes":[],"edges":[]}')).toBeNull();
    expect(parseClipboard('{"kind":"ferry/nodes","nodes":[],"edges":[]}')).toBeNull();
    expect(parseClipboard('{not json')).toBeNull();
    const dangling = parseClipboard(JSON.stringify({ ...c, edges: [...c.edges, { source: 'map', target: 'gone' }] }))!;
    expect(dangling.edges.length).toBe(2);
  });

  it('pastes with fresh ids, moved, with the edges reconnected', () => {
    const c = copySelection(nodes, edges, ['map', 'check'])!;
    const taken = nodes.map((n) => n.id);
    const p = preparePaste(c, taken, PASTE_OFFSET);
    expect(p.nodes.map((n) => n.id)).toEqual(['map2', 'condition']);
    expect(p.nodes[0].position).toEqual({ x: 300, y: 140 });
    expect(p.nodes[0].name).toBe('Shape order');
    expect(p.edges).toEqual([{ source: 'map2', target: 'condition' }, { source: 'condition', sourcePort: 'true', target: 'map2' }]);
    // Pasting twice gives two distinct sets of ids.
    const again = preparePaste(c, [...taken, ...p.nodes.map((n) => n.id)], 2 * PASTE_OFFSET);
    expect(again.nodes.map((n) => n.id)).toEqual(['map3', 'condition2']);
  });
});

const key = (k: string, mods: Partial<KeyInfo> = {}): KeyInfo => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

describe('shortcuts', () => {
  it('maps keys to canvas actions on every platform', () => {
    expect(matchShortcut(key('z', { ctrlKey: true }))).toBe('undo');
    expect(matchShortcut(key('z', { metaKey: true }))).toBe('undo');
    expect(matchShortcut(key('Z', { ctrlKey: true, shiftKey: true }))).toBe('redo');
    expect(matchShortcut(key('y', { ctrlKey: true }))).toBe('redo');
    expect(matchShortcut(key('c', { metaKey: true }))).toBe('copy');
    expect(matchShortcut(key('v', { ctrlKey: true }))).toBe('paste');
    expect(matchShortcut(key('d', { ctrlKey: true }))).toBe('duplicate');
    expect(matchShortcut(key('s', { ctrlKey: true }))).toBe('save');
    expect(matchShortcut(key('Delete'))).toBe('delete');
    expect(matchShortcut(key('Backspace'))).toBe('delete');
    expect(matchShortcut(key('L', { shiftKey: true }))).toBe('layout');
    expect(matchShortcut(key('?', { shiftKey: true }))).toBe('help');
    expect(matchShortcut(key('z'))).toBeNull();
    expect(matchShortcut(key('l'))).toBeNull();
    expect(matchShortcut(key('z', { ctrlKey: true, altKey: true }))).toBeNull();
  });

  it('leaves keys alone in fields the user types in', () => {
    const el = (matches: boolean, editable = false) => ({ isContentEditable: editable, closest: () => (matches ? {} : null) }) as unknown as EventTarget;
    expect(isTypingTarget(el(true))).toBe(true);
    expect(isTypingTarget(el(false, true))).toBe(true);
    expect(isTypingTarget(el(false))).toBe(false);
    expect(isTypingTarget(null)).toBe(false);
  });

  it('lists every action with a translated label', () => {
    for (const mac of [true, false]) {
      for (const s of shortcutList(mac)) {
        expect(canvasStrings.en.shortcuts).toHaveProperty(s.action);
        expect(canvasStrings.zh.shortcuts).toHaveProperty(s.action);
        for (const combo of s.keys) {
          const k = combo[combo.length - 1];
          const info = key(k === 'Delete' || k === 'Backspace' ? k : k.toLowerCase(), {
            ctrlKey: combo.includes('Ctrl'), metaKey: combo.includes('⌘'), shiftKey: combo.includes('Shift'),
          });
          expect(matchShortcut(info)).toBe(s.action);
        }
      }
    }
  });
});

const spec = (type: string, category: string, name: string, description = ''): NodeSpec =>
  ({ type, category, name, description, version: 1, inputs: [], outputs: [], params: [] }) as NodeSpec;

describe('palette groups', () => {
  const catalog = [
    spec('core.http', 'action', 'HTTP request', 'Call any API'),
    spec('util.hash', 'utilities', 'Hash'),
    spec('crm.hubspot.deal', 'crm', 'HubSpot deal', 'Create or update a deal'),
    spec('core.map', 'data', 'Map'),
    spec('pay.stripe.refund', 'payments', 'Stripe refund', 'Refund a payment'),
    spec('core.condition', 'logic', 'Condition'),
    spec('core.webhook', 'trigger', 'Webhook'),
    spec('core.manual', 'trigger', 'Manual'),
    spec('x.new', 'ai', 'Something new'),
    spec('notify.dingtalk', 'notifications', 'DingTalk message'),
    spec('shop.shopify.order', 'shops', 'Shopify order'),
  ];

  it('orders groups as a flow reads and sorts nodes by name', () => {
    const groups = paletteGroups(catalog, '');
    expect(groups.map((g) => g.category)).toEqual(['trigger', 'logic', 'data', 'payments', 'shops', 'crm', 'notifications', 'action', 'utilities', 'ai']);
    expect(groups[0].specs.map((s) => s.name)).toEqual(['Manual', 'Webhook']);
  });

  it('searches names, types and descriptions and drops empty groups', () => {
    expect(paletteGroups(catalog, 'refund').map((g) => g.category)).toEqual(['payments']);
    expect(paletteGroups(catalog, 'hubspot').flatMap((g) => g.specs.map((s) => s.type))).toEqual(['crm.hubspot.deal']);
    expect(paletteGroups(catalog, 'CALL api').flatMap((g) => g.specs.map((s) => s.type))).toEqual(['core.http']);
    expect(paletteGroups(catalog, 'nothing like this')).toEqual([]);
  });
});

describe('stored test samples', () => {
  const memory = () => {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
  };

  it('keeps the last sample per flow', () => {
    const s = memory();
    expect(loadSample('f1', s)).toBeNull();
    saveSample('f1', { text: '{"a":1}', trigger: 'webhook' }, s);
    saveSample('f2', { text: '{}' }, s);
    expect(loadSample('f1', s)).toEqual({ text: '{"a":1}', trigger: 'webhook' });
    expect(loadSample('f2', s)).toEqual({ text: '{}' });
    saveSample('f1', { text: 'x'.repeat(SAMPLE_LIMIT + 1) }, s);
    expect(loadSample('f1', s)).toBeNull();
    s.setItem('ferry.testSample.f3', 'garbage');
    expect(loadSample('f3', s)).toBeNull();
  });
});

describe('step summaries on nodes', () => {
  it('shows the engine error message and code', () => {
    expect(stepErrorText({ code: 'http_status', message: 'POST https://api.example.com answered 422', kind: 'permanent' }))
      .toEqual({ message: 'POST https://api.example.com answered 422', code: 'http_status' });
    expect(stepErrorText('timeout')).toEqual({ message: 'timeout' });
    expect(stepErrorText({ code: 'x' })).toEqual({ message: '{"code":"x"}', code: 'x' });
    expect(stepErrorText(null)).toEqual({ message: '' });
  });

  it('shows the request a dry run would send', () => {
    const request = { method: 'POST', url: 'https://api.example.com/orders', body: { id: 1 } };
    expect(dryRunPreview({ dryRun: true, request })).toEqual(request);
    expect(dryRunPreview({ to: 'ops@example.com' })).toEqual({ to: 'ops@example.com' });
  });
});
