// The difference between two flow documents, as the versions drawer shows it: which nodes were added, removed
// or changed (and how), which edges came and went, and which flow-wide settings changed. Node positions and
// editor-only data are left out: moving a node changes nothing a run does.
import type { FlowDocument, FlowEdge, FlowNode } from '../api/types';

/** ValueChange is one value that differs, at a path such as `headers.Authorization` or `rows[2].expression`. */
export interface ValueChange {
  path: string;
  before: unknown;
  after: unknown;
}

/** NodeField names the node properties compared outside its parameters. */
export type NodeField = 'name' | 'type' | 'version' | 'credential' | 'retry' | 'notes';

export interface NodeFieldChange {
  field: NodeField;
  before: unknown;
  after: unknown;
}

/** NodeChange is a node present on both sides whose properties or parameters differ. */
export interface NodeChange {
  id: string;
  before: FlowNode;
  after: FlowNode;
  fields: NodeFieldChange[];
  params: ValueChange[];
}

export interface FlowDiff {
  nodesAdded: FlowNode[];
  nodesRemoved: FlowNode[];
  nodesChanged: NodeChange[];
  edgesAdded: FlowEdge[];
  edgesRemoved: FlowEdge[];
  /** Flow-wide changes: name, description and every changed setting (`settings.retry.maxAttempts`…). */
  flow: ValueChange[];
}

const DEFAULT_PORT = 'main';
const NODE_FIELDS: NodeField[] = ['name', 'type', 'version', 'credential', 'retry', 'notes'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** equal compares JSON values structurally; key order does not matter. */
export function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => equal(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!equal(a[k], b[k])) return false;
    return true;
  }
  return false;
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const plain = /^[A-Za-z_$][\w$]*$/.test(key);
  if (!plain) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * diffValues lists the leaf values that differ between two JSON values. Objects are compared key by key; arrays of
 * the same length element by element; an array whose length changed is reported whole, since matching shifted
 * elements by index would report every later element as changed.
 */
export function diffValues(before: unknown, after: unknown, path = ''): ValueChange[] {
  if (equal(before, after)) return [];
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffValues(before[k], after[k], join(path, k)));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((v, i) => diffValues(v, after[i], join(path, i)));
  }
  return [{ path, before, after }];
}

function edgeKey(e: FlowEdge): string {
  return JSON.stringify([e.source, e.sourcePort || DEFAULT_PORT, e.target, e.targetPort || DEFAULT_PORT]);
}

/** normalizeEdge fills the default ports, so an edge written with and without `main` is the same edge. */
function normalizeEdge(e: FlowEdge): FlowEdge {
  return { source: e.source, sourcePort: e.sourcePort || DEFAULT_PORT, target: e.target, targetPort: e.targetPort || DEFAULT_PORT };
}

/** absent treats a missing value and an empty string or empty object as the same absence. */
function absent(v: unknown): unknown {
  if (v === '' || v === null) return undefined;
  if (isPlainObject(v) && Object.keys(v).length === 0) return undefined;
  return v;
}

/** diffFlows compares the document `before` with `after` (an older version with a newer one, or a version with the draft). */
export function diffFlows(before: FlowDocument, after: FlowDocument): FlowDiff {
  const beforeNodes = new Map((before.nodes ?? []).map((n) => [n.id, n]));
  const afterNodes = new Map((after.nodes ?? []).map((n) => [n.id, n]));

  const nodesAdded = (after.nodes ?? []).filter((n) => !beforeNodes.has(n.id));
  const nodesRemoved = (before.nodes ?? []).filter((n) => !afterNodes.has(n.id));
  const nodesChanged: NodeChange[] = [];
  for (const b of before.nodes ?? []) {
    const a = afterNodes.get(b.id);
    if (!a) continue;
    const fields: NodeFieldChange[] = [];
    for (const field of NODE_FIELDS) {
      const bv = absent(b[field]);
      const av = absent(a[field]);
      if (!equal(bv, av)) fields.push({ field, before: bv, after: av });
    }
    const params = diffValues(b.params ?? {}, a.params ?? {});
    if (fields.length || params.length) nodesChanged.push({ id: b.id, before: b, after: a, fields, params });
  }

  const beforeEdges = new Map((before.edges ?? []).map((e) => [edgeKey(e), e]));
  const afterEdges = new Map((after.edges ?? []).map((e) => [edgeKey(e), e]));
  const edgesAdded = [...afterEdges].filter(([k]) => !beforeEdges.has(k)).map(([, e]) => normalizeEdge(e));
  const edgesRemoved = [...beforeEdges].filter(([k]) => !afterEdges.has(k)).map(([, e]) => normalizeEdge(e));

  const flow: ValueChange[] = [];
  if ((before.name ?? '') !== (after.name ?? '')) flow.push({ path: 'name', before: before.name, after: after.name });
  if (absent(before.description) !== absent(after.description)) {
    flow.push({ path: 'description', before: absent(before.description), after: absent(after.description) });
  }
  flow.push(...diffValues(before.settings ?? {}, after.settings ?? {}, 'settings'));

  return { nodesAdded, nodesRemoved, nodesChanged, edgesAdded, edgesRemoved, flow };
}

/** isEmpty reports whether two documents differ in nothing a run would notice. */
export function isEmpty(d: FlowDiff): boolean {
  return !d.nodesAdded.length && !d.nodesRemoved.length && !d.nodesChanged.length && !d.edgesAdded.length &&
    !d.edgesRemoved.length && !d.flow.length;
}

/** formatValue renders a changed value in one short line for the diff view. */
export function formatValue(v: unknown, max = 120): string {
  if (v === undefined) return '∅';
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}
