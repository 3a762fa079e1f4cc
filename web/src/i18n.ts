import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './locales/en';
import zhCN from './locales/zh-CN';
import { areaMessages } from './locales/areas';

export const LANG_KEY = 'ferry.lang';
export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

/** pickLanguage prefers the remembered choice, then the browser's languages; anything Chinese gets zh-CN. */
export function pickLanguage(stored: string | null, browser: readonly string[]): Language {
  if (stored === 'en' || stored === 'zh-CN') return stored;
  for (const l of browser) {
    const low = l.toLowerCase();
    if (low.startsWith('zh')) return 'zh-CN';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

function storedLanguage(): string | null {
  try {
    return localStorage.getItem(LANG_KEY);
  } catch {
    return null;
  }
}

/**
 * LANGUAGE_QUERY_KEYS are the queries whose answers the server writes in the caller's language (it reads
 * Accept-Language): the node catalog, the credential types and the expression functions. They are refetched
 * when the language changes, so the palette, forms and docs switch along with the rest of the app.
 */
export const LANGUAGE_QUERY_KEYS: readonly (readonly string[])[] = [['nodes'], ['credential-types'], ['functions']];

/** QueryInvalidator is the part of TanStack Query's QueryClient that refreshing translated data needs. */
export interface QueryInvalidator {
  invalidateQueries(filters: { queryKey: readonly unknown[] }): Promise<void>;
}

/** refetchOnLanguageChange invalidates LANGUAGE_QUERY_KEYS whenever the language changes; call the returned function to stop. */
export function refetchOnLanguageChange(client: QueryInvalidator): () => void {
  const refetch = () => {
    for (const queryKey of LANGUAGE_QUERY_KEYS) void client.invalidateQueries({ queryKey });
  };
  i18n.on('languageChanged', refetch);
  return () => i18n.off('languageChanged', refetch);
}

export function setLanguage(lang: Language) {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // private browsing: the choice lasts for this page only
  }
  void i18n.changeLanguage(lang);
  document.documentElement.lang = lang;
}

const initial = pickLanguage(storedLanguage(), typeof navigator === 'undefined' ? [] : navigator.languages ?? [navigator.language]);

void i18n.use(initReactI18next).init({
  resources: {
    en: { translation: { ...en, ...areaMessages('en') } },
    'zh-CN': { translation: { ...zhCN, ...areaMessages('zh') } },
  },
  lng: initial,
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
});
if (typeof document !== 'undefined') document.documentElement.lang = initial;

export default i18n;
