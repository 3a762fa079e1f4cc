import type { Field, Option, PollState } from '../api/types';

/** DependencyValues are the values of the fields a field's choices depend on (optionsDependOn), by field name. */
export type DependencyValues = Record<string, string>;

/**
 * optionsUrl is where the choices of a field with loadOptions are listed with a credential; choices that depend
 * on other fields (the stages of the chosen pipeline) take those fields' values as a JSON object in params.
 */
export function optionsUrl(nodeType: string, field: string, credential: string, params?: DependencyValues): string {
  const url = `/api/v1/nodes/${encodeURIComponent(nodeType)}/options/${encodeURIComponent(field)}?credential=${encodeURIComponent(credential)}`;
  return params && Object.keys(params).length > 0 ? `${url}&params=${encodeURIComponent(JSON.stringify(params))}` : url;
}

/**
 * optionsQueryKey keys one field's choices by node type, field, credential and the values of the fields they
 * depend on, so a new credential or another pipeline lists anew.
 */
export function optionsQueryKey(nodeType: string, field: string, credential: string | undefined, params?: DependencyValues) {
  const key = ['field-options', nodeType, field, credential ?? ''] as const;
  return params && Object.keys(params).length > 0 ? ([...key, params] as const) : key;
}

/** Dependencies sums up the fields a field's choices depend on, as the node's form holds them. */
export interface Dependencies {
  /** values are the fields' values by name, for the params of the request; usable only when ready. */
  values: DependencyValues;
  /** missing are the labels of the fields without a value: they are to be chosen first. */
  missing: string[];
  /** expressions are the labels of the fields holding an expression, whose value is known only at run time. */
  expressions: string[];
  /** ready says the choices can be listed: every field they depend on holds a value picked or typed. */
  ready: boolean;
}

/** dependencies reads the values of the fields field's choices depend on from the node's params. */
export function dependencies(field: Field, params: Record<string, unknown> | undefined, fields: readonly Field[] | null | undefined): Dependencies {
  const out: Dependencies = { values: {}, missing: [], expressions: [], ready: true };
  for (const name of field.optionsDependOn ?? []) {
    const f = (fields ?? []).find((x) => x.name === name);
    const label = f?.label || name;
    const text = valueText(params?.[name]).trim();
    if (text === '') out.missing.push(label);
    else if (isExpressionValue(text)) out.expressions.push(label);
    else out.values[name] = text;
  }
  out.ready = out.missing.length === 0 && out.expressions.length === 0;
  return out;
}

/**
 * staleChoice says whether a value is to be cleared once the choices listed after a dependency changed (another
 * pipeline) are in: a value picked from the list before that the new list does not hold (a stage of the old
 * pipeline). An expression, an empty value, or a list not loaded yet is left alone, and so is any value when
 * nothing changed (a saved value the account no longer lists is kept, marked).
 */
export function staleChoice(dependencyChanged: boolean, loaded: readonly Option[] | undefined, value: unknown): boolean {
  if (!dependencyChanged || loaded === undefined) return false;
  const text = valueText(value);
  return text !== '' && !isExpressionValue(text) && !loaded.some((o) => o.value === text);
}

/** isExpressionValue says whether a value interpolates {{ … }}, so it is edited as an expression, not picked. */
export function isExpressionValue(v: unknown): boolean {
  return typeof v === 'string' && /\{\{[\s\S]*\}\}/.test(v);
}

/** ChoiceMode is how a loaded field is edited: picked from the account's list, or typed as an expression. */
export type ChoiceMode = 'list' | 'expression';

/** initialMode opens a field holding an expression in the expression editor, any other value in the list. */
export function initialMode(v: unknown): ChoiceMode {
  return isExpressionValue(v) ? 'expression' : 'list';
}

/** Choice is one entry of the dropdown; unlisted marks the current value when the account does not list it. */
export interface Choice extends Option { unlisted?: boolean }

/**
 * choicesFor is the dropdown's entries: the account's choices in the provider's order, and the current value
 * first when it is not among them (typed by hand, removed at the provider, or an expression), so a value is
 * never hidden or silently replaced.
 */
export function choicesFor(loaded: readonly Option[] | undefined, value: unknown): Choice[] {
  const list: Choice[] = (loaded ?? []).map((o) => ({ value: o.value, label: o.label || o.value }));
  const current = valueText(value);
  if (current !== '' && !list.some((o) => o.value === current)) list.unshift({ value: current, label: current, unlisted: true });
  return list;
}

/** valueText is a field value as the dropdown holds it: text, '' when unset. */
export function valueText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : String(v);
}

/** OptionsStatus is what the dropdown says besides its choices. */
export type OptionsStatus = 'noCredential' | 'dependencyMissing' | 'dependencyExpression' | 'loading' | 'error' | 'empty' | 'ready';

/**
 * optionsStatus sums up the options query: no credential to list with, a field the choices depend on not chosen
 * or holding an expression, loading, refused, nothing listed, or ready.
 */
export function optionsStatus(credential: string | undefined, q: { isPending: boolean; isError: boolean; data?: readonly Option[] }, deps?: Dependencies): OptionsStatus {
  if (!credential) return 'noCredential';
  if (deps && deps.missing.length > 0) return 'dependencyMissing';
  if (deps && deps.expressions.length > 0) return 'dependencyExpression';
  if (q.isError) return 'error';
  if (q.isPending) return 'loading';
  return (q.data ?? []).length === 0 ? 'empty' : 'ready';
}

/** pollFor picks one trigger's state from the flow's polling list; undefined before its first poll. */
export function pollFor(polls: readonly PollState[] | undefined, nodeId: string): PollState | undefined {
  return (polls ?? []).find((p) => p.nodeId === nodeId);
}

/**
 * backfillSince turns the date-time a person picked (a datetime-local value, in their time zone) into the RFC
 * 3339 time the backfill route takes; null when it is empty, unreadable or in the future.
 */
export function backfillSince(local: string, now: Date = new Date()): string | null {
  if (!local.trim()) return null;
  const d = new Date(local);
  if (Number.isNaN(d.getTime()) || d.getTime() > now.getTime()) return null;
  return d.toISOString();
}
