import { describe, expect, it } from 'vitest';
import type { SettingEntry } from '../../api/types';
import { changeBody, pendingChanges, validateSetting } from './settingsForm';
import settings from '../../locales/areas/settings';

const days: SettingEntry = {
  key: 'retention-days', group: 'retention', kind: 'integer', value: 30, default: 30, source: 'default', editable: true,
  env: 'FERRY_RETENTION_DAYS', description: '', min: 0, max: 36500,
};
const fields: SettingEntry = {
  key: 'personal-fields', group: 'protection', kind: 'list', value: ['phone'], default: ['phone'], source: 'default', editable: true,
  env: 'FERRY_PERSONAL_FIELDS', description: '', maxItems: 3,
};
const level: SettingEntry = {
  key: 'log-level', group: 'system', kind: 'enum', value: 'info', default: 'info', source: 'default', editable: true,
  env: 'FERRY_LOG_LEVEL', description: '', options: ['debug', 'info', 'warn', 'error'],
};
const workers: SettingEntry = {
  key: 'workers', group: 'runs', kind: 'integer', value: 8, default: 8, source: 'environment', editable: false,
  env: 'FERRY_WORKERS', setBy: 'FERRY_WORKERS', description: '',
};

describe('validateSetting', () => {
  it('bounds whole numbers', () => {
    expect(validateSetting(days, 7)).toBeNull();
    expect(validateSetting(days, 0)).toBeNull();
    expect(validateSetting(days, -1)?.key).toBe('range');
    expect(validateSetting(days, 36501)?.key).toBe('range');
    expect(validateSetting(days, 1.5)?.key).toBe('wholeNumber');
    expect(validateSetting(days, null)?.key).toBe('wholeNumber');
  });
  it('checks lists of field names', () => {
    expect(validateSetting(fields, ['buyer_nick', 'phone'])).toBeNull();
    expect(validateSetting(fields, [])?.key).toBe('listEmpty');
    expect(validateSetting(fields, ['--'])).toEqual({ key: 'nameNoLetters', params: { name: '--' } });
    expect(validateSetting(fields, ['a'.repeat(65)])?.key).toBe('nameTooLong');
    expect(validateSetting(fields, ['a', 'b', 'c', 'd'])?.key).toBe('listTooLong');
    expect(validateSetting(fields, ['a', 'a', 'b', 'c'])).toBeNull();
    expect(validateSetting(fields, ['手机'])).toBeNull();
  });
  it('accepts only the options of an enum', () => {
    expect(validateSetting(level, 'warn')).toBeNull();
    expect(validateSetting(level, 'loud')?.key).toBe('option');
  });
  it('refuses read-only kinds', () => {
    expect(validateSetting({ ...workers, editable: true, kind: 'boolean' }, true)?.key).toBe('readOnly');
  });
  it('has a message for every problem in both languages', () => {
    for (const key of ['wholeNumber', 'range', 'listEmpty', 'listTooLong', 'nameEmpty', 'nameTooLong', 'nameNoLetters', 'option', 'readOnly']) {
      expect((settings.en.invalid as Record<string, string>)[key], key).toBeTruthy();
      expect((settings.zh.invalid as Record<string, string>)[key], key).toBeTruthy();
    }
  });
});

describe('pendingChanges', () => {
  it('keeps only editable settings whose value changed, normalized', () => {
    const changes = pendingChanges([days, fields, level, workers], {
      'retention-days': 30, 'personal-fields': [' phone ', 'buyer_nick', 'phone'], 'log-level': 'debug', workers: 2,
    });
    expect(changes.map((c) => c.setting.key)).toEqual(['personal-fields', 'log-level']);
    expect(changeBody(changes)).toEqual({ 'personal-fields': ['phone', 'buyer_nick'], 'log-level': 'debug' });
    expect(changes[0].before).toEqual(['phone']);
  });
  it('is empty when a list only gained blanks and repeats', () => {
    expect(pendingChanges([fields], { 'personal-fields': ['phone', ' ', 'phone'] })).toEqual([]);
  });
});
