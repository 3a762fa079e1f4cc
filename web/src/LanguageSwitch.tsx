import { useEffect } from 'react';
import { Segmented } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, refetchOnLanguageChange, setLanguage, type Language } from './i18n';

/**
 * LanguageSwitch changes the language of the whole app and remembers the choice. While it is on screen, a change
 * of language also refetches the server's translated catalogs (nodes, credential types, functions).
 */
export function LanguageSwitch() {
  const { i18n, t } = useTranslation();
  const queryClient = useQueryClient();
  useEffect(() => refetchOnLanguageChange(queryClient), [queryClient]);
  return (
    <Segmented<Language>
      size="small"
      value={i18n.language as Language}
      onChange={(v) => setLanguage(v)}
      aria-label={t('header.language')}
      options={LANGUAGES.map((l) => ({ value: l, label: t(`header.languages.${l}`) }))}
    />
  );
}

