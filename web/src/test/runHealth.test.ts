import { describe, expect, it } from 'vitest';
import {
  ageParts, type BulkRetryResult, type DashboardBucket, chartBars, formatRate, niceCeiling, rateTone, retryAllMatching, retryFilterBody,
  retrySummary,
} from '../pages/runHealth';

describe('chartBars', () => {
  const buckets: DashboardBucket[] = [
    { start: '2026-03-01T10:00:00Z', total: 7, byStatus: { succeeded: 4, failed: 2, running: 1 } },
    { start: '2026-03-01T10:01:00Z', total: 0, byStatus: {} },
    { start: '2026-03-01T10:02:00Z', total: 3, byStatus: { failed: 3 } },
    { start: '2026-03-01T10:03:00Z', total: 10, byStatus: { succeeded: 10 } },
  ];
  it('stacks succeeded, failed and the rest on a rounded scale', () => {
    const { bars, max } = chartBars(buckets, 400, 100);
    expect(max).toBe(10);
    expect(bars.map((b) => [b.succeeded, b.failed, b.other])).toEqual([[4, 2, 1], [0, 0, 0], [0, 3, 0], [10, 0, 0]]);
    expect(bars[0].hSucceeded).toBeCloseTo(40);
    expect(bars[0].hFailed).toBeCloseTo(20);
    expect(bars[0].hOther).toBeCloseTo(10);
    expect(bars[3].hSucceeded).toBeCloseTo(100);
  });
  it('spreads the bars over the width with gaps', () => {
    const { bars } = chartBars(buckets, 400, 100);
    expect(bars.map((b) => b.x)).toEqual([1, 101, 201, 301]);
    expect(bars[0].width).toBe(98);
    expect(bars[3].x + bars[3].width).toBeLessThanOrEqual(400);
  });
  it('draws an empty window without dividing by zero', () => {
    const { bars, max } = chartBars([{ start: 'a', total: 0, byStatus: {} }], 100, 50);
    expect(max).toBe(1);
    expect(bars[0].hSucceeded + bars[0].hFailed + bars[0].hOther).toBe(0);
  });
});

describe('numbers for the tiles', () => {
  it('rounds chart maxima to 1, 2 and 5 steps', () => {
    expect([0, 1, 3, 7, 10, 11, 180, 2001].map(niceCeiling)).toEqual([1, 1, 5, 10, 10, 20, 200, 5000]);
  });
  it('shows ages in their two largest units', () => {
    expect(ageParts(42)).toEqual([{ value: 42, unit: 's' }]);
    expect(ageParts(125)).toEqual([{ value: 2, unit: 'min' }]);
    expect(ageParts(3 * 3600 + 12 * 60 + 5)).toEqual([{ value: 3, unit: 'h' }, { value: 12, unit: 'min' }]);
    expect(ageParts(7200)).toEqual([{ value: 2, unit: 'h' }]);
    expect(ageParts(2 * 86400 + 5 * 3600)).toEqual([{ value: 2, unit: 'd' }, { value: 5, unit: 'h' }]);
    expect(ageParts(-5)).toEqual([{ value: 0, unit: 's' }]);
  });
  it('formats and colours success rates', () => {
    expect(formatRate(null)).toBeNull();
    expect(formatRate(1)).toBe('100%');
    expect(formatRate(0.6)).toBe('60%');
    expect(formatRate(0.98765)).toBe('98.8%');
    expect([1, 0.95, 0.5, null].map(rateTone)).toEqual(['good', 'warn', 'bad', 'none']);
  });
});

describe('bulk retry', () => {
  it('groups refusals by code, largest first', () => {
    const s = retrySummary([
      { id: 'a', ok: true, status: 'queued' },
      { id: 'b', ok: false, error: { code: 'run_state_conflict', message: 'no longer failed' } },
      { id: 'c', ok: false, error: { code: 'not_found', message: 'run not found' } },
      { id: 'd', ok: false, error: { code: 'run_state_conflict', message: 'no longer failed' } },
    ]);
    expect(s.retried).toBe(1);
    expect(s.notRetried).toBe(3);
    expect(s.byCode).toEqual([
      { code: 'run_state_conflict', message: 'no longer failed', ids: ['b', 'd'] },
      { code: 'not_found', message: 'run not found', ids: ['c'] },
    ]);
  });
  it('sends only the filters that are set', () => {
    expect(retryFilterBody({ flow: 'f1', code: ' timeout ', since: '', until: '' })).toEqual({ filter: { flow: 'f1', code: 'timeout' } });
    expect(retryFilterBody({}, 'c1')).toEqual({ filter: {}, cursor: 'c1' });
  });
  it('follows the cursor until every match is retried', async () => {
    const bodies: unknown[] = [];
    const answers: BulkRetryResult[] = [
      { results: [{ id: 'a', ok: true }, { id: 'b', ok: true }], retried: 2, failed: 0, nextCursor: 'b' },
      { results: [{ id: 'c', ok: false, error: { code: 'run_state_conflict', message: 'x' } }], retried: 0, failed: 1, nextCursor: '' },
    ];
    const seen: number[] = [];
    const out = await retryAllMatching({ code: 'timeout' }, async (body) => {
      bodies.push(body);
      return answers[bodies.length - 1];
    }, (n) => seen.push(n));
    expect(bodies).toEqual([{ filter: { code: 'timeout' } }, { filter: { code: 'timeout' }, cursor: 'b' }]);
    expect(out.results.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(out.more).toBe(false);
    expect(seen).toEqual([2, 3]);
  });
  it('stops after a bounded number of batches and says more are left', async () => {
    let calls = 0;
    const out = await retryAllMatching({}, async () => {
      calls++;
      return { results: [{ id: String(calls), ok: true }], retried: 1, failed: 0, nextCursor: 'more' };
    });
    expect(out.more).toBe(true);
    expect(calls).toBe(40);
  });
});
