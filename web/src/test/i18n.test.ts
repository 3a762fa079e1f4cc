import { describe, expect, it } from 'vitest';
import en from '../locales/en';
import zhCN from '../locales/zh-CN';
import { pickLanguage } from '../i18n';
import { areaMessages } from '../locales/areas';

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, prefix + k + '.') : [prefix + k])).sort();
}

describe('translations', () => {
  it('have the same keys in English and Simplified Chinese', () => {
    expect(keys(zhCN)).toEqual(keys(en));
  });
  it('have the same keys in English and Simplified Chinese in every area', () => {
    expect(keys(areaMessages('zh'))).toEqual(keys(areaMessages('en')));
  });
  it('keep area names apart from the shared strings', () => {
    for (const area of Object.keys(areaMessages('en'))) expect(Object.keys(en)).not.toContain(area);
  });
  it('pick the remembered language, then the browser one', () => {
    expect(pickLanguage('en', ['zh-CN'])).toBe('en');
    expect(pickLanguage(null, ['zh-TW', 'en'])).toBe('zh-CN');
    expect(pickLanguage(null, ['fr', 'en-GB'])).toBe('en');
    expect(pickLanguage('de', [])).toBe('en');
  });
});
