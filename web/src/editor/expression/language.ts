import { HighlightStyle, StreamLanguage, syntaxHighlighting, type StringStream } from '@codemirror/language';
import { tags } from '@lezer/highlight';
import type { Extension } from '@codemirror/state';

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'matches', 'contains', 'startsWith', 'endsWith', 'let', 'if', 'else']);
const ATOMS = new Set(['nil', 'true', 'false']);
const ROOTS = new Set(['trigger', 'prev', 'nodes', 'vars', 'env', 'run']);

interface State { inExpr: boolean; template: boolean }

// exprToken reads one token of expr source.
function exprToken(stream: StringStream, state: State): string | null {
  if (stream.eatSpace()) return null;
  if (state.template && stream.match('}}')) {
    state.inExpr = false;
    return 'meta';
  }
  const ch = stream.peek();
  if (ch === '"' || ch === "'" || ch === '`') {
    stream.next();
    let escaped = false;
    for (let c = stream.next(); c !== undefined; c = stream.next()) {
      if (c === ch && !escaped) break;
      escaped = !escaped && c === '\\';
    }
    return 'string';
  }
  if (stream.match(/^\d[\d_]*(\.\d+)?([eE][+-]?\d+)?/)) return 'number';
  if (stream.match(/^\/\/.*/)) return 'comment';
  const word = stream.match(/^[A-Za-z_$][\w$]*/) as RegExpMatchArray | null;
  if (word) {
    const w = word[0];
    if (KEYWORDS.has(w)) return 'keyword';
    if (ATOMS.has(w)) return 'atom';
    if (stream.match(/^\s*\(/, false)) return 'function';
    if (ROOTS.has(w) && stream.string[stream.start - 1] !== '.') return 'variableName.special';
    return 'propertyName';
  }
  if (stream.match(/^(\?\?|\?\.|==|!=|<=|>=|&&|\|\||\.\.|[-+*/%<>!?:|.])/)) return 'operator';
  stream.next();
  return null;
}

/** exprLanguage highlights expr source; with template it highlights only inside {{ }}. */
export function exprLanguage(template: boolean): Extension {
  const lang = StreamLanguage.define<State>({
    name: template ? 'ferry-template' : 'ferry-expr',
    startState: () => ({ inExpr: !template, template }),
    copyState: (s) => ({ ...s }),
    token(stream, state) {
      if (!state.inExpr) {
        if (stream.match('{{')) {
          state.inExpr = true;
          return 'meta';
        }
        if (!stream.skipTo('{{')) stream.skipToEnd();
        return null;
      }
      return exprToken(stream, state);
    },
    tokenTable: { 'variableName.special': tags.special(tags.variableName), function: tags.function(tags.variableName) },
  });
  return [lang, syntaxHighlighting(style)];
}

const style = HighlightStyle.define([
  { tag: tags.string, color: '#0a7f3f' },
  { tag: tags.number, color: '#b35900' },
  { tag: [tags.keyword, tags.atom], color: '#7a3eb1' },
  { tag: tags.special(tags.variableName), color: '#1456c8', fontWeight: '600' },
  { tag: tags.function(tags.variableName), color: '#a3186b' },
  { tag: tags.meta, color: '#8a94a6', fontWeight: '600' },
  { tag: tags.comment, color: '#8a94a6', fontStyle: 'italic' },
  { tag: tags.operator, color: '#5c6370' },
]);
