import type { SettingEntry, SettingValue } from '../../api/types';

/** A problem with a value typed into the settings form: a locale key under settings.invalid and its values. */
export interface SettingProblem {
  key: string;
  params?: Record<string, string | number>;
}

/** fieldName is how the server compares personal-data fields: lower case, letters and digits only. */
function fieldName(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

/**
 * validateSetting checks a value typed for an editable setting by the rules the server applies, so the form can
 * say what is wrong before saving; the server checks again and its answer is shown if it still refuses.
 */
export function validateSetting(s: SettingEntry, value: SettingValue | null | undefined): SettingProblem | null {
  switch (s.kind) {
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return { key: 'wholeNumber' };
      if ((s.min !== undefined && value < s.min) || (s.max !== undefined && value > s.max)) {
        return { key: 'range', params: { min: s.min ?? 0, max: s.max ?? 0 } };
      }
      return null;
    }
    case 'list': {
      if (!Array.isArray(value) || value.length === 0) return { key: 'listEmpty' };
      const names = value.map((v) => v.trim());
      const max = s.maxItems ?? 100;
      if (new Set(names).size > max) return { key: 'listTooLong', params: { max } };
      for (const n of names) {
        if (n === '') return { key: 'nameEmpty' };
        if (n.length > 64) return { key: 'nameTooLong', params: { name: n } };
        if (fieldName(n) === '') return { key: 'nameNoLetters', params: { name: n } };
      }
      return null;
    }
    case 'enum':
      return typeof value === 'string' && (s.options ?? []).includes(value) ? null : { key: 'option', params: { options: (s.options ?? []).join(', ') } };
    default:
      return { key: 'readOnly' };
  }
}

/** normalizeValue is a value as the server will store it: list names trimmed, duplicates dropped. */
export function normalizeValue(s: SettingEntry, value: SettingValue): SettingValue {
  if (s.kind === 'list' && Array.isArray(value)) return [...new Set(value.map((v) => v.trim()).filter((v) => v !== ''))];
  return value;
}

/** sameValue compares two setting values (lists by their items, in order). */
export function sameValue(a: SettingValue | undefined, b: SettingValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Change is one edited setting, as the confirmation lists it and PUT sends it. */
export interface Change {
  setting: SettingEntry;
  before: SettingValue;
  after: SettingValue;
}

/** pendingChanges lists the edited settings whose new value differs from the current one, in display order. */
export function pendingChanges(settings: SettingEntry[], drafts: Record<string, SettingValue>): Change[] {
  const out: Change[] = [];
  for (const s of settings) {
    if (!s.editable || !(s.key in drafts)) continue;
    const after = normalizeValue(s, drafts[s.key]);
    if (!sameValue(after, s.value)) out.push({ setting: s, before: s.value, after });
  }
  return out;
}

/** changeBody is the PUT /api/v1/settings body for changes: key → new value. */
export function changeBody(changes: Change[]): Record<string, SettingValue> {
  return Object.fromEntries(changes.map((c) => [c.setting.key, c.after]));
}
