import { useEffect, useRef } from 'react';
import { EditorState } from '@codemirror/state';
import { drawSelection, EditorView, keymap, lineNumbers } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { javascript } from '@codemirror/lang-javascript';
import type { Problem } from '../api/types';
import './code.css';

/**
 * codeDiagnostics places the server's problems about a script (a syntax error at save, with line and column)
 * in the document: at the column named, to the end of its line; a problem without a line marks the first line.
 */
export function codeDiagnostics(doc: string, problems: Problem[]): Diagnostic[] {
  const lines = doc.split('\n');
  const offsets: number[] = [];
  let at = 0;
  for (const l of lines) {
    offsets.push(at);
    at += l.length + 1;
  }
  return problems.map((p) => {
    const line = Math.min(Math.max(p.line ?? 1, 1), lines.length);
    const start = offsets[line - 1];
    const lineEnd = start + lines[line - 1].length;
    const from = Math.min(start + Math.max((p.column ?? 1) - 1, 0), lineEnd);
    return { from, to: Math.max(lineEnd, from), severity: 'error', message: p.message };
  });
}

/**
 * CodeInput edits a script (core.code's JavaScript) in CodeMirror: line numbers, highlighting, bracket matching,
 * Tab to indent, and the server's errors marked at their line and column in the gutter and the text.
 */
export function CodeInput({ value, onChange, problems, ariaLabel }: {
  value: string;
  onChange: (v: string) => void;
  problems: Problem[];
  ariaLabel: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const live = useRef(onChange);
  live.current = onChange;

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          drawSelection(),
          bracketMatching(),
          syntaxHighlighting(defaultHighlightStyle),
          javascript(),
          lintGutter(),
          keymap.of([indentWithTab, ...historyKeymap, ...defaultKeymap]),
          EditorView.contentAttributes.of({ 'aria-label': ariaLabel }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) live.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The view is created once; later values reach it through the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    const v = view.current;
    if (v) v.dispatch(setDiagnostics(v.state, codeDiagnostics(v.state.doc.toString(), problems)));
  }, [problems]);

  return <div ref={host} className="ferry-code-input" />;
}
