import type { Step } from '../../api/types';

/** FIELD_DRAG_TYPE is the drag-and-drop type of a field dragged from the input pane; its data is the path. */
export const FIELD_DRAG_TYPE = 'application/x-ferry-field';

/** ENV_ROOTS are the variables every expression can read, as the engine names them. */
export const ENV_ROOTS = ['trigger', 'prev', 'nodes', 'vars', 'env', 'run'] as const;

/** Segment is one step of a path: an object key or an array index. */
export type Segment = string | number;

// Words expr reads as operators or literals: a key spelt like one must be written in brackets.
const RESERVED = new Set(['and', 'or', 'not', 'in', 'matches', 'contains', 'startsWith', 'endsWith', 'nil', 'true', 'false', 'let', 'if', 'else']);

/** isIdentifier says whether a key can follow a dot in an expression. */
export function isIdentifier(key: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) && !RESERVED.has(key);
}

/** segmentText is how a segment is written after the path before it: .key, ["odd key"] or [0]. */
export function segmentText(seg: Segment): string {
  if (typeof seg === 'number') return `[${seg}]`;
  return isIdentifier(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`;
}

/** buildPath writes the expression that reads segments from the environment, as in trigger.body["first name"][0]. */
export function buildPath(segments: Segment[]): string {
  if (segments.length === 0) return '';
  const [root, ...rest] = segments;
  return String(root) + rest.map(segmentText).join('');
}

/** valueType names a JSON value's type the way the preview endpoint does. */
export function valueType(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string': return 'string';
    case 'number': return 'number';
    case 'boolean': return 'boolean';
    case 'object': return 'object';
  }
  return typeof v;
}

/** shortValue is a one-line view of a value, cut at max characters. */
export function shortValue(v: unknown, max = 60): string {
  let s: string;
  if (Array.isArray(v)) s = `[${v.length}]`;
  else if (v && typeof v === 'object') s = `{${Object.keys(v).length}}`;
  else if (v === undefined) s = '';
  else s = JSON.stringify(v);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** FieldRow is one visible row of the field tree. */
export interface FieldRow {
  /** id is the row's path, unique within the tree; it is also what gets dragged. */
  path: string;
  key: string;
  depth: number;
  type: string;
  short: string;
  expandable: boolean;
  expanded: boolean;
}

/** MAX_CHILDREN caps how many entries of one object or array the tree lists. */
export const MAX_CHILDREN = 200;

/**
 * flattenFields lists the rows of a collapsible tree over value, starting at the path prefix: each entry of an
 * object or array gets a row, and the children of expanded rows follow their parent. Arrays list their
 * elements by index.
 */
export function flattenFields(value: unknown, prefix: Segment[], expanded: ReadonlySet<string>, depth = 0): FieldRow[] {
  const rows: FieldRow[] = [];
  const entries: [Segment, unknown][] = Array.isArray(value)
    ? value.slice(0, MAX_CHILDREN).map((v, i) => [i, v])
    : value && typeof value === 'object'
      ? Object.entries(value as Record<string, unknown>).slice(0, MAX_CHILDREN)
      : [];
  for (const [seg, child] of entries) {
    const segs = [...prefix, seg];
    const path = buildPath(segs);
    const expandable = !!child && typeof child === 'object' && (Array.isArray(child) ? child.length > 0 : Object.keys(child).length > 0);
    const open = expandable && expanded.has(path);
    rows.push({ path, key: typeof seg === 'number' ? `[${seg}]` : seg, depth, type: valueType(child), short: shortValue(child), expandable, expanded: open });
    if (open) rows.push(...flattenFields(child, segs, expanded, depth + 1));
  }
  return rows;
}

/** resolvePath reads segments from value; undefined when the path leads nowhere. */
export function resolvePath(value: unknown, segments: Segment[]): unknown {
  let cur = value;
  for (const seg of segments) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg as string];
  }
  return cur;
}

/** SampleEnv is the data a node sees at run time, as the preview endpoint takes it. */
export interface SampleEnv {
  trigger?: unknown;
  prev?: unknown;
  nodes: Record<string, unknown>;
  vars?: Record<string, unknown>;
  env: 'test';
}

/**
 * sampleEnv rebuilds a step's expression environment from a test run: the trigger payload (the input of the
 * run's first step), the step's input as prev, and the output of every step that finished before it under
 * nodes. Without a step there is no sample.
 */
export function sampleEnv(steps: Iterable<Step>, step: Step | undefined, vars?: Record<string, unknown>): SampleEnv | undefined {
  if (!step) return undefined;
  const all = [...steps].sort((a, b) => a.seq - b.seq);
  const nodes: Record<string, unknown> = {};
  for (const s of all) {
    if (s.seq >= step.seq) break;
    if (s.status === 'succeeded' || s.status === 'dry_run') nodes[s.nodeId] = s.output;
  }
  const first = all[0];
  return { trigger: first ? first.input : step.input, prev: step.input, nodes, vars: vars ?? {}, env: 'test' };
}

/** PathAtCursor is the path being typed before the cursor: what it reads, the partial key, and where that starts. */
export interface PathAtCursor {
  segments: Segment[];
  partial: string;
  /** from is the offset (in the text given) where the completion replaces text: the partial key, or the dot. */
  from: number;
  dotFrom: number;
  /** member is set when the cursor is after a dot (completing a key), unset for a root name. */
  member: boolean;
}

const CHAIN = /(?:[A-Za-z_$][\w$]*)(?:\??\.[A-Za-z_$][\w$]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])*$/;

/** pathAtCursor parses the path that ends at the end of text (the text before the cursor), or null. */
export function pathAtCursor(text: string): PathAtCursor | null {
  const member = /(\??\.)([A-Za-z_$][\w$]*)?$/.exec(text);
  if (member) {
    const dotFrom = member.index;
    const before = text.slice(0, dotFrom);
    const chain = CHAIN.exec(before);
    if (!chain || (chain.index > 0 && /[\w$.\]]/.test(before[chain.index - 1]))) return null;
    const segments = splitChain(chain[0]);
    if (!segments) return null;
    const partial = member[2] ?? '';
    return { segments, partial, from: text.length - partial.length, dotFrom, member: true };
  }
  const word = /[A-Za-z_$][\w$]*$/.exec(text);
  if (word && (word.index === 0 || !/[\w$.\]"]/.test(text[word.index - 1]))) {
    return { segments: [], partial: word[0], from: word.index, dotFrom: word.index, member: false };
  }
  return null;
}

function splitChain(chain: string): Segment[] | null {
  const out: Segment[] = [];
  const re = /^([A-Za-z_$][\w$]*)|\??\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(chain)) !== null) {
    if (m.index !== pos) return null;
    pos = re.lastIndex;
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(m[2]);
    else if (m[3] !== undefined) out.push(Number(m[3]));
    else out.push(JSON.parse(m[4]) as string);
    if (m[0] === '') break;
  }
  return pos === chain.length ? out : null;
}

/** inTemplateExpression says whether the end of text is inside an open {{ … }} of a template. */
export function inTemplateExpression(text: string): boolean {
  return text.lastIndexOf('{{') > text.lastIndexOf('}}');
}

/** FieldCandidate is one key offered after a dot, with what to insert and a preview of its value. */
export interface FieldCandidate {
  label: string;
  /** insert replaces the partial key, or with bracket the dot as well (keys that are not identifiers). */
  insert: string;
  bracket: boolean;
  type: string;
  preview: string;
}

/** fieldCandidates lists the keys of the value at segments in the sample, for completion after a dot. */
export function fieldCandidates(sample: unknown, segments: Segment[]): FieldCandidate[] {
  const v = resolvePath(sample, segments);
  if (!v || typeof v !== 'object') return [];
  const entries: [Segment, unknown][] = Array.isArray(v)
    ? v.slice(0, 20).map((x, i) => [i, x])
    : Object.entries(v as Record<string, unknown>).slice(0, MAX_CHILDREN);
  return entries.map(([k, x]) => {
    const bracket = typeof k === 'number' || !isIdentifier(k);
    return { label: typeof k === 'number' ? `[${k}]` : k, insert: bracket ? segmentText(k) : String(k), bracket, type: valueType(x), preview: shortValue(x, 80) };
  });
}

/** rootCandidates lists the environment's variables present in the sample (all of them without one). */
export function rootCandidates(sample: unknown): FieldCandidate[] {
  return ENV_ROOTS.map((name) => {
    const v = sample && typeof sample === 'object' ? (sample as Record<string, unknown>)[name] : undefined;
    return { label: name, insert: name, bracket: false, type: valueType(v), preview: shortValue(v, 80) };
  });
}

/** insertionFor is the text a dropped field inserts: the bare path, or {{ path }} in a template outside {{ }}. */
export function insertionFor(path: string, template: boolean, textBefore: string): string {
  return template && !inTemplateExpression(textBefore) ? `{{ ${path} }}` : path;
}

/** offsetOf turns a 1-based line and column (counted in characters) into an offset in text. */
export function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split('\n');
  const l = Math.min(Math.max(line, 1), lines.length);
  let off = 0;
  for (let i = 0; i < l - 1; i++) off += lines[i].length + 1;
  const chars = Array.from(lines[l - 1]);
  const col = Math.min(Math.max(column, 1) - 1, chars.length);
  return off + chars.slice(0, col).join('').length;
}

const SECRET_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token)$|secret|password|token/i;

/** redactHeaders hides header values that carry credentials, in case a recorded request was not redacted. */
export function redactHeaders(headers: unknown): [string, string][] {
  if (!headers || typeof headers !== 'object') return [];
  return Object.entries(headers as Record<string, unknown>).map(([k, v]) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return [k, SECRET_HEADER.test(k) && text !== '[redacted]' ? '[redacted]' : text];
  });
}
