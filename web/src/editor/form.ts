import type { Field, NodeSpec, Problem } from '../api/types';

/** Widget is the input a parameter is edited with, chosen from its type alone. */
export type Widget =
  | 'input' | 'textarea' | 'expression' | 'template' | 'number' | 'integer' | 'switch' | 'select'
  | 'duration' | 'cron' | 'json' | 'keyvalue' | 'list' | 'code';

/**
 * widgetFor picks a parameter's input from its type: expressions get the expression editor, and text that may
 * interpolate {{ }} (expression: true) gets it in template mode. Code and unknown types get a plain textarea.
 */
export function widgetFor(field: Field): Widget {
  switch (field.type) {
    case 'string': return field.expression ? 'template' : 'input';
    case 'text': return field.expression ? 'template' : 'textarea';
    case 'expression': return 'expression';
    case 'number': return 'number';
    case 'integer': return 'integer';
    case 'boolean': return 'switch';
    case 'select': return 'select';
    case 'duration': return 'duration';
    case 'cron': return 'cron';
    case 'json': return 'json';
    case 'keyvalue': return 'keyvalue';
    case 'list': return 'list';
    // Program source (core.code's JavaScript; field.language names the language) is edited as multi-line text
    // until the editor has a code editor; so is a type this build does not know, which may hold several lines.
    case 'code': return 'code';
    default: return 'textarea';
  }
}

function hasValue(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** valueOf is a field's value in values, or its default when unset. */
export function valueOf(field: Field, values: Record<string, unknown> | undefined): unknown {
  const v = values?.[field.name];
  return hasValue(v) ? v : field.default;
}

/** isVisible applies showIf: every named sibling (or its default) must hold one of the listed values. */
export function isVisible(field: Field, siblings: Field[], values: Record<string, unknown> | undefined): boolean {
  if (!field.showIf) return true;
  return Object.entries(field.showIf).every(([name, allowed]) => {
    const sib = siblings.find((f) => f.name === name);
    const v = sib ? valueOf(sib, values) : values?.[name];
    return (allowed ?? []).some((a) => a === v);
  });
}

/** defaultParams builds the params of a newly added node from the defaults its spec declares. */
export function defaultParams(spec: NodeSpec | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of spec?.params ?? []) if (hasValue(f.default)) out[f.name] = structuredClone(f.default);
  return out;
}

/** isEmpty says whether a required field is missing a value. */
export function isEmpty(v: unknown): boolean {
  if (!hasValue(v)) return true;
  if (typeof v === 'string') return v.trim() === '';
  if (Array.isArray(v)) return v.length === 0;
  return false;
}

export interface FieldView {
  field: Field;
  widget: Widget;
  value: unknown;
  required: boolean;
  /** missing is set for a visible required field without a value. */
  missing: boolean;
  problems: Problem[];
}

/** topField is the parameter a problem's field path points at ("fields[2].expression" → "fields"). */
export function topField(path: string | undefined): string {
  if (!path) return '';
  return path.replace(/^params\./, '').split(/[.[]/)[0];
}

/**
 * formView is the settings form of one node, generated from its spec only: the visible fields in spec order,
 * each with its widget, current value (or default) and the server's problems about it.
 */
export function formView(fields: Field[] | null | undefined, values: Record<string, unknown> | undefined, problems: Problem[] = []): FieldView[] {
  const all = fields ?? [];
  return all
    .filter((f) => isVisible(f, all, values))
    .map((f) => {
      const value = valueOf(f, values);
      return {
        field: f,
        widget: widgetFor(f),
        value,
        required: !!f.required,
        missing: !!f.required && isEmpty(value),
        problems: problems.filter((p) => topField(p.field) === f.name),
      };
    });
}

/** keyValueRows turns an object of strings into editable rows, and rowsToKeyValue turns them back. */
export function keyValueRows(v: unknown): [string, string][] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
  return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]);
}

export function rowsToKeyValue(rows: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of rows) if (k !== '') out[k] = v;
  return out;
}

/** groupByCategory groups the catalog for the palette, filtered by a search over name, type and description. */
export function groupByCategory(specs: NodeSpec[], search: string): [string, NodeSpec[]][] {
  const q = search.trim().toLowerCase();
  const groups = new Map<string, NodeSpec[]>();
  for (const s of specs) {
    if (q && !`${s.name} ${s.type} ${s.description}`.toLowerCase().includes(q)) continue;
    const list = groups.get(s.category) ?? [];
    list.push(s);
    groups.set(s.category, list);
  }
  const order = ['trigger', 'logic', 'data', 'action', 'payments', 'shops', 'crm', 'notifications', 'utilities'];
  return [...groups.entries()].sort((a, b) => {
    const ia = order.indexOf(a[0]);
    const ib = order.indexOf(b[0]);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a[0].localeCompare(b[0]);
  });
}
