// Areas of the app keep their strings in locales/areas/<area>.ts, reached as t('<area>.…'), so a screen and its
// words change together.
import canvas from './areas/canvas';
import connectors from './areas/connectors';
import dashboard from './areas/dashboard';
import deadLetters from './areas/deadLetters';
import expression from './areas/expression';
import flowsList from './areas/flowsList';
import mapping from './areas/mapping';
import settings from './areas/settings';
import reviews from './areas/reviews';
import templates from './areas/templates';
import versions from './areas/versions';

const areas = { canvas, connectors, dashboard, deadLetters, expression, flowsList, mapping, reviews, settings, templates, versions };

/** areaMessages returns every area's strings in one language, each under its area's name. */
export function areaMessages(lang: 'en' | 'zh'): Record<string, object> {
  return Object.fromEntries(Object.entries(areas).map(([name, a]) => [name, a[lang]]));
}
