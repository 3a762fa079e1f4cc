// Undo and redo over the canvas document. The history keeps snapshots of what the canvas looked like before each
// change; the current state lives in the canvas itself, so a change is recorded by handing over the state it is
// about to replace. Nothing here knows about React: the editor calls these functions and stores the result.

/** History is the undo and redo stacks plus what is needed to merge rapid edits of the same thing into one step. */
export interface History<T> {
  past: T[];
  future: T[];
  /** coalesceKey of the last recorded change; a change with the same key soon after replaces nothing. */
  lastKey: string | null;
  lastAt: number;
}

/** HISTORY_LIMIT bounds the undo stack so a long editing session does not hold every state it ever had. */
export const HISTORY_LIMIT = 100;

/** COALESCE_MS is how long typing in the same field keeps extending one undo step. */
export const COALESCE_MS = 1000;

export function emptyHistory<T>(): History<T> {
  return { past: [], future: [], lastKey: null, lastAt: 0 };
}

export interface RecordOptions {
  /**
   * coalesceKey names what is being edited (such as one node's parameters). Consecutive changes with the same key
   * less than COALESCE_MS apart become one undo step: the state before the first of them is kept.
   */
  coalesceKey?: string;
  now?: number;
}

/**
 * record notes that the canvas is about to change away from `before`. The redo stack is dropped, as in every
 * editor: a new change after an undo starts a new branch.
 */
export function record<T>(h: History<T>, before: T, opts: RecordOptions = {}): History<T> {
  const now = opts.now ?? Date.now();
  const key = opts.coalesceKey ?? null;
  if (key !== null && key === h.lastKey && now - h.lastAt < COALESCE_MS && h.past.length > 0) {
    return { past: h.past, future: [], lastKey: key, lastAt: now };
  }
  const past = [...h.past, before];
  if (past.length > HISTORY_LIMIT) past.splice(0, past.length - HISTORY_LIMIT);
  return { past, future: [], lastKey: key, lastAt: now };
}

/** undo returns the state to go back to and the history after it, or null when there is nothing to undo. */
export function undo<T>(h: History<T>, current: T): { history: History<T>; state: T } | null {
  if (h.past.length === 0) return null;
  const state = h.past[h.past.length - 1];
  return { state, history: { past: h.past.slice(0, -1), future: [...h.future, current], lastKey: null, lastAt: 0 } };
}

/** redo returns the state an undo left, or null when nothing was undone since the last change. */
export function redo<T>(h: History<T>, current: T): { history: History<T>; state: T } | null {
  if (h.future.length === 0) return null;
  const state = h.future[h.future.length - 1];
  return { state, history: { past: [...h.past, current], future: h.future.slice(0, -1), lastKey: null, lastAt: 0 } };
}

/** breakCoalescing ends the current run of merged edits, so the next edit gets its own undo step. */
export function breakCoalescing<T>(h: History<T>): History<T> {
  return h.lastKey === null ? h : { ...h, lastKey: null, lastAt: 0 };
}

export const canUndo = <T>(h: History<T>) => h.past.length > 0;
export const canRedo = <T>(h: History<T>) => h.future.length > 0;
