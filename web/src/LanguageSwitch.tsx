import { Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, setLanguage, type Language } from './i18n';

/** LanguageSwitch changes the language of the whole app and remembers the choice. */
export function LanguageSwitch() {
  const { i18n, t } = useTranslation();
  return (
    <Select
      size="small"
      value={i18n.language as Language}
      onChange={(v) => setLanguage(v)}
      aria-label={t('header.language')}
      style={{ width: 110 }}
      options={LANGUAGES.map((l) => ({ value: l, label: t(`header.languages.${l}`) }))}
    />
  );
}

