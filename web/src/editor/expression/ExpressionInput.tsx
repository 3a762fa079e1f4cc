import { useEffect, useRef } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Typography } from 'antd';
import { EditorState, Compartment, type Extension } from '@codemirror/state';
import { EditorView, keymap, placeholder as placeholderExt, drawSelection, dropCursor } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { autocompletion, completionKeymap, completionStatus, closeBrackets, closeBracketsKeymap, type Completion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { api } from '../../api/client';
import { exprLanguage } from './language';
import { useExpressionPreview, type PreviewState } from './preview';
import { FIELD_DRAG_TYPE, fieldCandidates, inTemplateExpression, insertionFor, offsetOf, pathAtCursor, rootCandidates } from './fields';
import './expression.css';

/** FunctionDoc documents one function expressions can call, as GET /api/v1/functions lists it. */
export interface FunctionDoc {
  name: string;
  category: string;
  signature: string;
  description: string;
  example: string;
  output?: string;
  builtin?: boolean;
}

/** useFunctions is the function library, fetched once and shared by every expression field. */
export function useFunctions() {
  return useQuery({
    queryKey: ['functions'],
    queryFn: () => api.get<{ functions: FunctionDoc[] }>('/api/v1/functions'),
    staleTime: Infinity,
    select: (d) => d.functions ?? [],
  });
}

/** ExpressionInputProps are the props of ExpressionInput. */
export interface ExpressionInputProps {
  value: string;
  onChange: (v: string) => void;
  /** template: the value is text with {{ expr }} interpolations; otherwise the whole value is one expression. */
  template?: boolean;
  /** sample is the environment the node sees ({trigger, prev, nodes, vars}), for completion and the preview. */
  sample?: unknown;
  placeholder?: string;
  /** compact: one line, no preview under it (for table cells). */
  compact?: boolean;
  ariaLabel?: string;
  status?: 'error';
  /** result pins the type the expression must produce, as the spec field's exprResult. */
  result?: string;
}

/**
 * ExpressionInput edits an expression or a {{ }} template on CodeMirror: completion of fields from the sample
 * and of functions with their docs, errors marked where the server places them, a live preview of the value on
 * the sample, and fields dropped from the input pane inserted where they land.
 */
export function ExpressionInput({ value, onChange, template = false, sample, placeholder, compact = false, ariaLabel, status, result }: ExpressionInputProps) {
  const { t } = useTranslation();
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const functions = useFunctions();
  // Everything the editor's callbacks read lives in refs, so the view is built once and never rebuilt.
  const live = useRef({ onChange, sample, template, functions: [] as FunctionDoc[], t });
  live.current = { onChange, sample, template, functions: functions.data ?? [], t };
  const config = useRef(new Compartment());
  const attrs = useRef(new Compartment());
  const raw = useExpressionPreview(value, { template, sample, result });
  // Without a sample every read of the payload fails at run time: only mistakes in the text itself are errors.
  const preview: PreviewState = !sample && raw.error?.code === 'expression_failed' ? { pending: raw.pending } : raw;

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          history(),
          drawSelection(),
          dropCursor(),
          closeBrackets(),
          autocompletion({ override: [(ctx) => complete(ctx, live.current)], icons: false, activateOnTyping: true }),
          keymap.of([...closeBracketsKeymap, ...completionKeymap, ...historyKeymap, ...defaultKeymap]),
          config.current.of(configExtensions(template, compact, placeholder)),
          attrs.current.of(contentAttributes(ariaLabel, status, compact)),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) live.current.onChange(u.state.doc.toString());
          }),
          EditorView.domEventHandlers({
            dragover(e) {
              if (e.dataTransfer?.types.includes(FIELD_DRAG_TYPE)) {
                e.preventDefault();
                e.dataTransfer.dropEffect = 'copy';
                return true;
              }
              return false;
            },
            drop(e, ev) {
              const path = e.dataTransfer?.getData(FIELD_DRAG_TYPE);
              if (!path) return false;
              e.preventDefault();
              const pos = ev.posAtCoords({ x: e.clientX, y: e.clientY }) ?? ev.state.selection.main.head;
              insertField(ev, path, pos, live.current.template);
              return true;
            },
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The view is created once; later prop changes reach it through the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Values set from outside (an example picked, undo in the canvas) replace the text without rebuilding.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: config.current.reconfigure(configExtensions(template, compact, placeholder)) });
  }, [template, compact, placeholder]);

  useEffect(() => {
    view.current?.dispatch({ effects: attrs.current.reconfigure(contentAttributes(ariaLabel, status, compact)) });
  }, [ariaLabel, status, compact]);

  // The server's error becomes a diagnostic at its line and column, once the preview answers for this text.
  useEffect(() => {
    const v = view.current;
    if (!v || preview.pending) return;
    const doc = v.state.doc.toString();
    const diagnostics: Diagnostic[] = [];
    if (preview.error && doc.trim() !== '') {
      const e = preview.error;
      const at = e.line ? Math.min(offsetOf(doc, e.line, e.column ?? 1), doc.length) : 0;
      const to = e.line ? Math.min(doc.length, wordEnd(doc, at)) : doc.length;
      diagnostics.push({ from: at, to: Math.max(to, at), severity: 'error', message: `${e.message}${e.line ? ` (${t('editor.lineColumn', { line: e.line, column: e.column ?? 0 })})` : ''}`, source: e.code });
    }
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [preview, t]);

  const invalid = status === 'error' || (!preview.pending && !!preview.error);
  return (
    <div
      className={`ferry-expr${compact ? ' ferry-expr-compact' : ''}${invalid ? ' ferry-expr-invalid' : ''}`}
      onKeyDownCapture={(e) => {
        // Escape with the completion list open closes the list only, not the panel around the field.
        if (e.key === 'Escape' && view.current && completionStatus(view.current.state) !== null) e.stopPropagation();
      }}
    >
      <div className="ferry-expr-editor" ref={host} data-template={template ? 'true' : 'false'} />
      {!compact && <PreviewLine value={value} preview={preview} sample={sample} />}
    </div>
  );
}

/** PreviewLine shows the value of the expression on the sample, or why there is none. */
function PreviewLine({ value, preview, sample }: { value: string; preview: PreviewState; sample: unknown }) {
  const { t } = useTranslation();
  if (value.trim() === '') return null;
  let body: React.ReactNode;
  if (preview.error) {
    const e = preview.error;
    body = (
      <Typography.Text type="danger">
        {e.line ? `${t('editor.lineColumn', { line: e.line, column: e.column ?? 0 })}: ` : ''}{e.message || e.code}
      </Typography.Text>
    );
  } else if (preview.type !== undefined) {
    body = (
      <>
        <span className="ferry-expr-type">{t(`expression.type.${preview.type}`, { defaultValue: preview.type })}</span>
        <code className="ferry-expr-value">{previewText(preview)}</code>
      </>
    );
  } else if (!sample && !preview.pending) {
    body = <Typography.Text type="secondary">{t('expression.noSample')}</Typography.Text>;
  } else {
    body = <Typography.Text type="secondary">{t('expression.evaluating')}</Typography.Text>;
  }
  return (
    <div className="ferry-expr-preview" aria-live="polite" data-testid="expression-preview" style={{ opacity: preview.pending ? 0.55 : 1 }}>
      {body}
    </div>
  );
}

/** previewText is the value as one line of at most 300 characters. */
export function previewText(p: { value?: unknown; truncated?: boolean }): string {
  const s = p.truncated ? String(p.value) + '…' : (JSON.stringify(p.value) ?? 'null');
  return s.length > 300 ? s.slice(0, 299) + '…' : s;
}

function wordEnd(doc: string, at: number): number {
  const m = /^[\w$.]+/.exec(doc.slice(at));
  return at + (m ? m[0].length : 1);
}

function configExtensions(template: boolean, compact: boolean, placeholder?: string): Extension[] {
  const ext: Extension[] = [exprLanguage(template)];
  if (!compact) ext.push(EditorView.lineWrapping);
  if (compact) {
    // One line: Enter does nothing and pasted line breaks become spaces.
    ext.push(keymap.of([{ key: 'Enter', run: () => true }]));
    ext.push(EditorState.transactionFilter.of((tr) => {
      if (!tr.docChanged || !tr.newDoc.toString().includes('\n')) return tr;
      return [tr, { changes: { from: 0, to: tr.newDoc.length, insert: tr.newDoc.toString().replace(/\r?\n/g, ' ') }, sequential: true }];
    }));
  }
  if (placeholder) ext.push(placeholderExt(placeholder));
  return ext;
}

function contentAttributes(ariaLabel?: string, status?: 'error', compact?: boolean): Extension {
  const a: Record<string, string> = { role: 'textbox', 'aria-multiline': compact ? 'false' : 'true', spellcheck: 'false', autocapitalize: 'off', autocorrect: 'off' };
  if (ariaLabel) a['aria-label'] = ariaLabel;
  if (status === 'error') a['aria-invalid'] = 'true';
  return EditorView.contentAttributes.of(a);
}

/** insertField puts a dragged field's path at pos, wrapped in {{ }} when a template needs it, and selects it. */
export function insertField(view: EditorView, path: string, pos: number, template: boolean): void {
  const text = insertionFor(path, template, view.state.doc.sliceString(0, pos));
  view.dispatch({ changes: { from: pos, insert: text }, selection: { anchor: pos + text.length }, userEvent: 'input.drop' });
  view.focus();
}

interface Live { sample: unknown; template: boolean; functions: FunctionDoc[]; t: (k: string, o?: Record<string, unknown>) => string }

/** complete offers the sample's keys after a dot, and variables and functions for a bare name. */
function complete(ctx: CompletionContext, live: Live): CompletionResult | null {
  const line = ctx.state.doc.lineAt(ctx.pos);
  const before = ctx.state.doc.sliceString(0, ctx.pos);
  if (live.template && !inTemplateExpression(before)) return null;
  const at = pathAtCursor(line.text.slice(0, ctx.pos - line.from));
  if (!at) return null;
  if (!at.member && at.partial === '' && !ctx.explicit) return null;
  const base = line.from;
  if (at.member) {
    const candidates = fieldCandidates(live.sample, at.segments);
    if (candidates.length === 0) return null;
    return {
      from: base + at.from,
      validFor: /^[\w$]*$/,
      options: candidates.map((c): Completion => ({
        label: c.label,
        detail: c.type,
        info: c.preview || undefined,
        type: 'property',
        apply: c.bracket
          ? (view, _c, _from, to) => view.dispatch({ changes: { from: base + at.dotFrom, to, insert: c.insert }, selection: { anchor: base + at.dotFrom + c.insert.length } })
          : c.insert,
        boost: c.bracket ? -1 : 0,
      })),
    };
  }
  const roots: Completion[] = rootCandidates(live.sample).map((c) => ({ label: c.label, detail: c.type === 'null' ? undefined : c.type, info: c.preview || undefined, type: 'variable', boost: 2 }));
  const fns: Completion[] = live.functions.map((f) => ({
    label: f.name,
    detail: f.signature.replace(/^[^(]*/, ''),
    type: 'function',
    apply: f.signature.includes('()') ? `${f.name}()` : f.name,
    info: () => functionInfo(f, live.t),
  }));
  return { from: base + at.from, validFor: /^[\w$]*$/, options: [...roots, ...fns] };
}

/** functionInfo is the documentation shown next to a function in the completion list. */
function functionInfo(f: FunctionDoc, t: Live['t']): HTMLElement {
  const el = document.createElement('div');
  el.className = 'ferry-expr-doc';
  const sig = document.createElement('code');
  sig.textContent = f.signature;
  const desc = document.createElement('p');
  desc.textContent = f.description;
  el.append(sig, desc);
  if (f.example) {
    const ex = document.createElement('div');
    const label = document.createElement('b');
    label.textContent = t('expression.example') + ' ';
    const code = document.createElement('code');
    code.textContent = f.example + (f.output ? ` → ${f.output}` : '');
    ex.append(label, code);
    el.append(ex);
  }
  return el;
}
