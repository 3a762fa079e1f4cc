import { describe, expect, it } from 'vitest';
import en from '../locales/en';
import zhCN from '../locales/zh-CN';
import { pickLanguage } from '../i18n';

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, prefix + k + '.') : [prefix + k])).sort();
}

describe('translations', () => {
  it('have the same keys in English and Simplified Chinese', () => {
    expect(keys(zhCN)).toEqual(keys(en));
  });
  it('pick the remembered language, then the browser one', () => {
    expect(pickLanguage('en', ['zh-CN'])).toBe('en');
    expect(pickLanguage(null, ['zh-TW', 'en'])).toBe('zh-CN');
    expect(pickLanguage(null, ['fr', 'en-GB'])).toBe('en');
    expect(pickLanguage('de', [])).toBe('en');
  });
});
