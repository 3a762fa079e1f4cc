import type { Option, PollState } from '../api/types';

/** optionsUrl is where the choices of a field with loadOptions are listed with a credential. */
export function optionsUrl(nodeType: string, field: string, credential: string): string {
  return `/api/v1/nodes/${encodeURIComponent(nodeType)}/options/${encodeURIComponent(field)}?credential=${encodeURIComponent(credential)}`;
}

/** optionsQueryKey keys one field's choices by node type, field and credential, so a new credential lists anew. */
export function optionsQueryKey(nodeType: string, field: string, credential: string | undefined) {
  return ['field-options', nodeType, field, credential ?? ''] as const;
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
export type OptionsStatus = 'noCredential' | 'loading' | 'error' | 'empty' | 'ready';

/** optionsStatus sums up the options query: no credential to list with, loading, refused, nothing listed, or ready. */
export function optionsStatus(credential: string | undefined, q: { isPending: boolean; isError: boolean; data?: readonly Option[] }): OptionsStatus {
  if (!credential) return 'noCredential';
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
