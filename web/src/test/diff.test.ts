import { describe, expect, it } from 'vitest';
import type { FlowDocument } from '../api/types';
import { diffFlows, diffValues, equal, formatValue, isEmpty } from '../editor/diff';

function doc(over: Partial<FlowDocument> = {}): FlowDocument {
  return {
    schema: 1,
    name: 'Orders',
    settings: { saveData: 'all', retry: { maxAttempts: 3, backoff: '1s' } },
    nodes: [
      { id: 'webhook', type: 'core.webhook', version: 1, name: 'Webhook', params: { path: 'orders' }, position: { x: 0, y: 0 } },
      {
        id: 'map', type: 'core.map', version: 1, name: 'Map',
        params: { fields: [{ target: 'order', value: 'trigger.body.id' }, { target: 'amount', value: 'trigger.body.amount' }], keep: false },
        position: { x: 200, y: 0 },
      },
      { id: 'crm', type: 'crm.hubspot.deal.update', version: 1, name: 'HubSpot', credential: 'cred-1', params: { stage: 'won' }, position: { x: 400, y: 0 } },
    ],
    edges: [
      { source: 'webhook', target: 'map' },
      { source: 'map', sourcePort: 'main', target: 'crm', targetPort: 'main' },
    ],
    ...over,
  };
}

function clone(d: FlowDocument): FlowDocument {
  return JSON.parse(JSON.stringify(d)) as FlowDocument;
}

describe('diffFlows', () => {
  it('finds nothing between a document and its copy', () => {
    const d = diffFlows(doc(), clone(doc()));
    expect(isEmpty(d)).toBe(true);
  });

  it('ignores node positions, key order and the ui block', () => {
    const after = clone(doc());
    after.nodes[0].position = { x: 999, y: -40 };
    after.nodes[1].params = { keep: false, fields: after.nodes[1].params!.fields };
    after.ui = { viewport: { zoom: 2 } };
    expect(isEmpty(diffFlows(doc(), after))).toBe(true);
  });

  it('treats an edge with and without the default ports as the same edge', () => {
    const after = clone(doc());
    after.edges = [
      { source: 'webhook', sourcePort: 'main', target: 'map', targetPort: 'main' },
      { source: 'map', target: 'crm' },
    ];
    expect(isEmpty(diffFlows(doc(), after))).toBe(true);
  });

  it('lists added and removed nodes by id, even when a new node reuses a name', () => {
    const after = clone(doc());
    after.nodes = after.nodes.filter((n) => n.id !== 'crm');
    after.nodes.push({ id: 'crm2', type: 'crm.salesforce.opportunity.update', version: 2, name: 'HubSpot', params: {} });
    const d = diffFlows(doc(), after);
    expect(d.nodesAdded.map((n) => n.id)).toEqual(['crm2']);
    expect(d.nodesRemoved.map((n) => n.id)).toEqual(['crm']);
    expect(d.nodesChanged).toEqual([]);
  });

  it('keeps a renamed node as one changed node, not a removal and an addition', () => {
    const after = clone(doc());
    after.nodes[2].name = 'Mark deal won';
    const d = diffFlows(doc(), after);
    expect(d.nodesAdded).toEqual([]);
    expect(d.nodesRemoved).toEqual([]);
    expect(d.nodesChanged).toHaveLength(1);
    expect(d.nodesChanged[0].id).toBe('crm');
    expect(d.nodesChanged[0].fields).toEqual([{ field: 'name', before: 'HubSpot', after: 'Mark deal won' }]);
    expect(d.nodesChanged[0].params).toEqual([]);
  });

  it('reports type, version and credential changes', () => {
    const after = clone(doc());
    after.nodes[2].version = 2;
    after.nodes[2].credential = 'cred-2';
    after.nodes[1].type = 'core.set';
    const d = diffFlows(doc(), after);
    const byId = Object.fromEntries(d.nodesChanged.map((c) => [c.id, c.fields]));
    expect(byId.map).toEqual([{ field: 'type', before: 'core.map', after: 'core.set' }]);
    expect(byId.crm).toEqual([
      { field: 'version', before: 1, after: 2 },
      { field: 'credential', before: 'cred-1', after: 'cred-2' },
    ]);
  });

  it('reports a credential removed, and does not confuse an empty credential with a missing one', () => {
    const after = clone(doc());
    delete after.nodes[2].credential;
    after.nodes[0].credential = '';
    const d = diffFlows(doc(), after);
    expect(d.nodesChanged).toHaveLength(1);
    expect(d.nodesChanged[0].fields).toEqual([{ field: 'credential', before: 'cred-1', after: undefined }]);
  });

  it('names each changed parameter with its old and new value, down to nested fields', () => {
    const after = clone(doc());
    const fields = after.nodes[1].params!.fields as Array<Record<string, string>>;
    fields[1].value = 'trigger.body.amount_cents';
    after.nodes[1].params!.keep = true;
    after.nodes[0].params = { path: 'orders', method: 'POST' };
    const d = diffFlows(doc(), after);
    const byId = Object.fromEntries(d.nodesChanged.map((c) => [c.id, c.params]));
    expect(byId.map).toEqual([
      { path: 'fields[1].value', before: 'trigger.body.amount', after: 'trigger.body.amount_cents' },
      { path: 'keep', before: false, after: true },
    ]);
    expect(byId.webhook).toEqual([{ path: 'method', before: undefined, after: 'POST' }]);
  });

  it('reports a list parameter whose length changed as one whole change', () => {
    const after = clone(doc());
    (after.nodes[1].params!.fields as unknown[]).push({ target: 'email', value: 'trigger.body.email' });
    const d = diffFlows(doc(), after);
    expect(d.nodesChanged).toHaveLength(1);
    const [change] = d.nodesChanged[0].params;
    expect(change.path).toBe('fields');
    expect((change.before as unknown[]).length).toBe(2);
    expect((change.after as unknown[]).length).toBe(3);
  });

  it('lists edges added and removed, port by port', () => {
    const after = clone(doc());
    after.edges = [
      { source: 'webhook', target: 'map' },
      { source: 'map', sourcePort: 'error', target: 'crm' },
    ];
    const d = diffFlows(doc(), after);
    expect(d.edgesAdded).toEqual([{ source: 'map', sourcePort: 'error', target: 'crm', targetPort: 'main' }]);
    expect(d.edgesRemoved).toEqual([{ source: 'map', sourcePort: 'main', target: 'crm', targetPort: 'main' }]);
  });

  it('reports flow settings, name and description', () => {
    const after = clone(doc());
    after.name = 'Paid orders';
    after.description = 'Orders to HubSpot';
    after.settings = { saveData: 'errors', retry: { maxAttempts: 5, backoff: '1s' }, concurrency: 2 };
    const d = diffFlows(doc(), after);
    expect(d.flow).toEqual([
      { path: 'name', before: 'Orders', after: 'Paid orders' },
      { path: 'description', before: undefined, after: 'Orders to HubSpot' },
      { path: 'settings.concurrency', before: undefined, after: 2 },
      { path: 'settings.retry.maxAttempts', before: 3, after: 5 },
      { path: 'settings.saveData', before: 'all', after: 'errors' },
    ]);
    expect(d.nodesChanged).toEqual([]);
  });

  it('compares in the direction asked: swapping the sides swaps added and removed', () => {
    const after = clone(doc());
    after.nodes.push({ id: 'extra', type: 'core.delay', version: 1, params: {} });
    after.edges.push({ source: 'crm', target: 'extra' });
    const forward = diffFlows(doc(), after);
    const backward = diffFlows(after, doc());
    expect(forward.nodesAdded.map((n) => n.id)).toEqual(['extra']);
    expect(backward.nodesRemoved.map((n) => n.id)).toEqual(['extra']);
    expect(forward.edgesAdded).toEqual(backward.edgesRemoved);
  });

  it('copes with documents missing settings, params or edges', () => {
    const bare: FlowDocument = { schema: 1, name: 'x', nodes: [{ id: 'a', type: 'core.manual' }], edges: [] };
    const withParams: FlowDocument = { schema: 1, name: 'x', settings: {}, nodes: [{ id: 'a', type: 'core.manual', params: {} }], edges: [] };
    expect(isEmpty(diffFlows(bare, withParams))).toBe(true);
  });
});

describe('diffValues and equal', () => {
  it('compare objects regardless of key order and arrays by position', () => {
    expect(equal({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(equal([1, 2], [2, 1])).toBe(false);
    expect(equal({ a: undefined }, {})).toBe(true);
    expect(equal(null, {})).toBe(false);
  });
  it('quote keys that are not plain names', () => {
    expect(diffValues({ headers: { 'X-Api-Key': 'a' } }, { headers: { 'X-Api-Key': 'b' } })).toEqual([
      { path: 'headers["X-Api-Key"]', before: 'a', after: 'b' },
    ]);
  });
  it('report a type change at the value itself', () => {
    expect(diffValues({ a: { b: 1 } }, { a: 'text' })).toEqual([{ path: 'a', before: { b: 1 }, after: 'text' }]);
  });
});

describe('formatValue', () => {
  it('shows strings quoted, missing values as ∅ and cuts long values', () => {
    expect(formatValue('won')).toBe('"won"');
    expect(formatValue(undefined)).toBe('∅');
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
    expect(formatValue('x'.repeat(200), 20)).toHaveLength(20);
  });
});
