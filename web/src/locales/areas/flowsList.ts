// Strings of one area of the app, in English and Simplified Chinese; both must have the same keys (a unit test
// checks). They are reached as t('flowsList.…').
export default {
  en: {},
  zh: {},
};
