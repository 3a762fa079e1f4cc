import { describe, expect, it } from 'vitest';
import type { FlowDocument, NodeSpec } from '../api/types';
import { canvasToDoc, docToCanvas, errorEdgeStyle, freshNodeId } from '../editor/convert';
import { outputPorts } from '../editor/ports';

const doc: FlowDocument = {
  schema: 1,
  name: 'Payment',
  settings: { saveData: 'all' },
  nodes: [
    { id: 'webhook', type: 'core.webhook', version: 1, name: 'Order paid', params: { method: 'POST' }, position: { x: 0, y: 120 } },
    { id: 'check', type: 'core.condition', version: 1, params: { condition: 'trigger.body.amount > 100' }, position: { x: 260, y: 120 }, notes: 'keep me' },
    { id: 'alert', type: 'core.http', credential: 'cred1', position: { x: 520, y: 300 } },
  ],
  edges: [
    { source: 'webhook', target: 'check' },
    { source: 'check', sourcePort: 'true', target: 'alert' },
    { source: 'check', sourcePort: 'error', target: 'alert' },
  ],
};

describe('document ↔ canvas', () => {
  it('builds nodes and edges with ports as handles', () => {
    const { nodes, edges } = docToCanvas(doc);
    expect(nodes.map((n) => [n.id, n.type, n.position])).toEqual([
      ['webhook', 'ferry', { x: 0, y: 120 }],
      ['check', 'ferry', { x: 260, y: 120 }],
      ['alert', 'ferry', { x: 520, y: 300 }],
    ]);
    expect(nodes[1].data.node).not.toHaveProperty('position');
    expect(edges.map((e) => [e.source, e.sourceHandle, e.target, e.targetHandle])).toEqual([
      ['webhook', 'main', 'check', 'main'],
      ['check', 'true', 'alert', 'main'],
      ['check', 'error', 'alert', 'main'],
    ]);
    expect(edges[2].style).toEqual(errorEdgeStyle);
    expect(edges[1].style).toBeUndefined();
    expect(new Set(edges.map((e) => e.id)).size).toBe(3);
  });

  it('round-trips the document, keeping what the canvas does not edit', () => {
    const { nodes, edges } = docToCanvas(doc);
    expect(canvasToDoc(doc, nodes, edges)).toEqual(doc);
  });

  it('writes moved nodes with whole-pixel positions and lays out nodes without one', () => {
    const { nodes, edges } = docToCanvas({ ...doc, nodes: [{ id: 'a', type: 'core.manual' }, { id: 'b', type: 'core.map' }] });
    expect(nodes[1].position).toEqual({ x: 260, y: 120 });
    nodes[0].position = { x: 10.4, y: 20.6 };
    expect(canvasToDoc(doc, nodes, edges).nodes[0].position).toEqual({ x: 10, y: 21 });
  });

  it('gives new nodes fresh ids', () => {
    expect(freshNodeId('core.map', ['webhook'])).toBe('map');
    expect(freshNodeId('core.map', ['map', 'map2'])).toBe('map3');
    expect(freshNodeId('pay.stripe.refund', [])).toBe('refund');
  });
});

describe('output ports', () => {
  it('adds dynamic switch cases before the fixed ports and the error port last', () => {
    const sw = {
      type: 'core.switch', outputs: [{ id: 'error', label: 'Error', kind: 'error' }],
      dynamicOutputs: { param: 'cases', portField: 'port', labelField: 'label', fixed: [{ id: 'default', label: 'Default', kind: 'main' }] },
    } as NodeSpec;
    const ports = outputPorts(sw, { cases: [{ port: 'paid', label: 'Paid' }, { port: 'refunded' }, { label: 'no id' }] });
    expect(ports.map((p) => [p.id, p.label, p.kind])).toEqual([
      ['paid', 'Paid', 'main'], ['refunded', 'refunded', 'main'], ['default', 'Default', 'main'], ['error', 'Error', 'error'],
    ]);
  });

  it('keeps condition true/false and appends an error port even when the catalog omits it', () => {
    const cond = { type: 'core.condition', outputs: [{ id: 'true', label: 'True', kind: 'main' }, { id: 'false', label: 'False', kind: 'main' }] } as NodeSpec;
    expect(outputPorts(cond, {}).map((p) => p.id)).toEqual(['true', 'false', 'error']);
  });
});
