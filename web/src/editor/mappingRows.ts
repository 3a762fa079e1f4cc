// Row editing for list parameters shown as tables (MappingTable) and for key-value tables (KeyValueTable): pure
// functions, so adding, moving and removing rows and placing the server's problems can be tested without a DOM.
import type { Field, Problem } from '../api/types';

/** Row is one item of a list parameter: an object of its row fields' values. */
export type Row = Record<string, unknown>;

/** rowsOf reads a list parameter's value; anything that is not a list of objects reads as no rows. */
export function rowsOf(value: unknown): Row[] {
  if (!Array.isArray(value)) return [];
  return value.map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? (r as Row) : {}));
}

/** newRow is a row filled with its fields' defaults, as the server would read an empty row. */
export function newRow(fields: Field[] | null | undefined): Row {
  const row: Row = {};
  for (const f of fields ?? []) if (f.default !== undefined && f.default !== null) row[f.name] = structuredClone(f.default);
  return row;
}

/** addRow appends a new row, or inserts it after row `after`. */
export function addRow<T>(rows: T[], row: T, after?: number): T[] {
  if (after === undefined || after < 0 || after >= rows.length) return [...rows, row];
  return [...rows.slice(0, after + 1), row, ...rows.slice(after + 1)];
}

/** removeRow drops row i. */
export function removeRow<T>(rows: T[], i: number): T[] {
  return rows.filter((_, j) => j !== i);
}

/** moveRow moves row i by delta places (-1 up, +1 down); a move past either end changes nothing. */
export function moveRow<T>(rows: T[], i: number, delta: number): T[] {
  const j = i + delta;
  if (i < 0 || i >= rows.length || j < 0 || j >= rows.length || delta === 0) return rows;
  const out = [...rows];
  const [moved] = out.splice(i, 1);
  out.splice(j, 0, moved);
  return out;
}

/** setCell sets one field of row i; undefined (and empty text) removes the field, so the default applies. */
export function setCell(rows: Row[], i: number, name: string, v: unknown): Row[] {
  return rows.map((r, j) => {
    if (j !== i) return r;
    const next = { ...r };
    if (v === undefined || v === '') delete next[name];
    else next[name] = v;
    return next;
  });
}

/** listValue is what onChange receives: the rows, or undefined for none, so an empty list leaves params. */
export function listValue(rows: Row[]): Row[] | undefined {
  return rows.length ? rows : undefined;
}

/** isNested says whether a row field is edited under its row (an expanded area) rather than in a column. */
export function isNested(f: Field): boolean {
  return f.type === 'keyvalue' || f.type === 'list' || f.type === 'json' || f.type === 'text' || !!f.showIf || !!f.advanced;
}

/**
 * tableLayout splits a list's row fields into the columns of the table and the fields shown when a row is
 * expanded (objects, lists, long text, fields that depend on other fields, advanced ones); preview names the
 * expression field whose value the preview column shows, if the rows have one.
 */
export function tableLayout(field: Field): { columns: Field[]; nested: Field[]; preview?: Field } {
  const fields = field.fields ?? [];
  return {
    columns: fields.filter((f) => !isNested(f)),
    nested: fields.filter(isNested),
    preview: fields.find((f) => f.type === 'expression'),
  };
}

/** problemPath is a problem's field path relative to the node's params ("params.fields[2].x" → "fields[2].x"). */
export function problemPath(p: Problem): string {
  return (p.field ?? '').replace(/^params\./, '');
}

/** RowProblems are the problems of one row: by row field, and those about the row as a whole. */
export interface RowProblems {
  cells: Record<string, Problem[]>;
  row: Problem[];
}

/** ListProblems places a list parameter's problems: on the list itself, and per row and cell. */
export interface ListProblems {
  list: Problem[];
  rows: Map<number, RowProblems>;
}

/**
 * placeProblems sorts the problems of list parameter `name` ("fields") onto rows and cells: "fields[2].expression"
 * goes to row 2, cell expression; "fields[0].entries.PAID" to row 0, cell entries (the key-value table places it
 * further); "fields[3]" and paths naming a field the row spec lacks go to the row; "fields" to the list.
 * Problems about other parameters are left out.
 */
export function placeProblems(problems: Problem[], name: string, fields: Field[] | null | undefined): ListProblems {
  const known = new Set((fields ?? []).map((f) => f.name));
  const out: ListProblems = { list: [], rows: new Map() };
  const rowPattern = new RegExp(`^${escapeRegExp(name)}\\[(\\d+)\\](?:\\.([^.[]+))?`);
  for (const p of problems) {
    const path = problemPath(p);
    if (path === name) {
      out.list.push(p);
      continue;
    }
    const m = rowPattern.exec(path);
    if (!m) continue;
    const i = Number(m[1]);
    let rp = out.rows.get(i);
    if (!rp) {
      rp = { cells: {}, row: [] };
      out.rows.set(i, rp);
    }
    const cell = m[2];
    if (cell && known.has(cell)) (rp.cells[cell] ??= []).push(p);
    else rp.row.push(p);
  }
  return out;
}

/** rowPrefix is the path of row i of list `name`, as problems name it: "lookups[1]". */
export function rowPrefix(name: string, i: number): string {
  return `${name}[${i}]`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** KeyValueRow is one entry of a key-value table while it is edited; keys may be empty or repeated meanwhile. */
export interface KeyValueRow {
  key: string;
  value: string;
}

/** keyValueRowsOf reads an object of strings into rows, in the object's order. */
export function keyValueRowsOf(v: unknown): KeyValueRow[] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
  return Object.entries(v as Record<string, unknown>).map(([key, x]) => ({ key, value: typeof x === 'string' ? x : JSON.stringify(x) }));
}

/**
 * keyValueObject is the object the rows stand for. Rows without a key are left out; of rows with the same key
 * the first counts (the others are flagged by keyValueIssues), so what is saved is what the table shows first.
 */
export function keyValueObject(rows: KeyValueRow[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rows) if (r.key !== '' && !(r.key in out)) out[r.key] = r.value;
  return out;
}

/** KeyValueIssue is what is wrong with one row as typed: a repeated key, or a value without a key. */
export type KeyValueIssue = 'duplicate' | 'emptyKey';

/** keyValueIssues flags, by row index, repeated keys (every occurrence after the first) and values without a key. */
export function keyValueIssues(rows: KeyValueRow[]): Map<number, KeyValueIssue> {
  const seen = new Set<string>();
  const out = new Map<number, KeyValueIssue>();
  rows.forEach((r, i) => {
    if (r.key === '') {
      if (r.value !== '') out.set(i, 'emptyKey');
      return;
    }
    if (seen.has(r.key)) out.set(i, 'duplicate');
    seen.add(r.key);
  });
  return out;
}

/** sameObject says whether rows already stand for value, so an outside update need not reset what is typed. */
export function sameObject(rows: KeyValueRow[], value: Record<string, string> | undefined): boolean {
  const a = keyValueObject(rows);
  const b = value ?? {};
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => k in b && b[k] === a[k]);
}

/**
 * placeKeyValueProblems sorts problems of a key-value parameter at path prefix ("lookups[0].entries") onto its
 * rows: "lookups[0].entries.PAID " goes to the row whose key is "PAID "; the prefix itself, and keys no row has,
 * go to the table.
 */
export function placeKeyValueProblems(problems: Problem[], prefix: string, rows: KeyValueRow[]): { table: Problem[]; rows: Map<number, Problem[]> } {
  const out = { table: [] as Problem[], rows: new Map<number, Problem[]>() };
  for (const p of problems) {
    const path = problemPath(p);
    if (path === prefix) {
      out.table.push(p);
      continue;
    }
    if (!path.startsWith(prefix + '.')) continue;
    const key = path.slice(prefix.length + 1);
    const i = rows.findIndex((r) => r.key === key);
    if (i < 0) out.table.push(p);
    else out.rows.set(i, [...(out.rows.get(i) ?? []), p]);
  }
  return out;
}

/** mentionsTables says whether an expression reads the node's lookup tables, so its preview needs them. */
export function mentionsTables(expression: string): boolean {
  return /(^|[^\w.$#])tables\b/.test(expression);
}

/** formatPreview is a value as the preview column shows it: compact JSON, so text "1" and the number 1 differ. */
export function formatPreview(v: unknown, max = 80): string {
  let s: string;
  if (v === undefined) s = '';
  else if (typeof v === 'string') s = JSON.stringify(v);
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = String(v);
    }
  }
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}
