import { describe, expect, it } from 'vitest';
import { breakCoalescing, canRedo, canUndo, COALESCE_MS, emptyHistory, HISTORY_LIMIT, record, redo, undo } from '../editor/history';

describe('history', () => {
  it('undoes and redoes in order', () => {
    let h = emptyHistory<string>();
    expect(canUndo(h)).toBe(false);
    expect(undo(h, 'a')).toBeNull();
    h = record(h, 'a', { now: 0 });
    h = record(h, 'b', { now: 10 });
    let cur = 'c';
    const u1 = undo(h, cur)!;
    expect(u1.state).toBe('b');
    h = u1.history;
    cur = u1.state;
    const u2 = undo(h, cur)!;
    expect(u2.state).toBe('a');
    h = u2.history;
    cur = u2.state;
    expect(canUndo(h)).toBe(false);
    expect(canRedo(h)).toBe(true);
    const r1 = redo(h, cur)!;
    expect(r1.state).toBe('b');
    const r2 = redo(r1.history, r1.state)!;
    expect(r2.state).toBe('c');
    expect(redo(r2.history, r2.state)).toBeNull();
    expect(undo(r2.history, r2.state)!.state).toBe('b');
  });

  it('drops the redo stack when a new change follows an undo', () => {
    let h = record(record(emptyHistory<string>(), 'a', { now: 0 }), 'b', { now: 1 });
    const u = undo(h, 'c')!;
    h = record(u.history, u.state, { now: 2 });
    expect(canRedo(h)).toBe(false);
    expect(h.past).toEqual(['a', 'b']);
  });

  it('merges rapid edits of the same field into one step', () => {
    let h = emptyHistory<string>();
    h = record(h, 'v0', { coalesceKey: 'params:map', now: 1000 });
    h = record(h, 'v1', { coalesceKey: 'params:map', now: 1000 + COALESCE_MS / 2 });
    h = record(h, 'v2', { coalesceKey: 'params:map', now: 1000 + COALESCE_MS });
    expect(h.past).toEqual(['v0']);
    // A pause longer than the window starts a new step, and so does another field.
    h = record(h, 'v3', { coalesceKey: 'params:map', now: 1000 + 3 * COALESCE_MS });
    h = record(h, 'v4', { coalesceKey: 'params:http', now: 1000 + 3 * COALESCE_MS + 1 });
    expect(h.past).toEqual(['v0', 'v3', 'v4']);
    // Undo ends the run of merged edits.
    const u = undo(h, 'v5')!;
    h = record(u.history, u.state, { coalesceKey: 'params:http', now: 1000 + 3 * COALESCE_MS + 2 });
    expect(h.past).toEqual(['v0', 'v3', 'v4']);
    h = breakCoalescing(record(h, 'x', { coalesceKey: 'k', now: 0 }));
    expect(record(h, 'y', { coalesceKey: 'k', now: 1 }).past.slice(-2)).toEqual(['x', 'y']);
  });

  it('does not merge changes without a key', () => {
    const h = record(record(emptyHistory<number>(), 1, { now: 0 }), 2, { now: 0 });
    expect(h.past).toEqual([1, 2]);
  });

  it('keeps at most HISTORY_LIMIT steps, forgetting the oldest', () => {
    let h = emptyHistory<number>();
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) h = record(h, i, { now: i });
    expect(h.past.length).toBe(HISTORY_LIMIT);
    expect(h.past[0]).toBe(5);
  });
});
