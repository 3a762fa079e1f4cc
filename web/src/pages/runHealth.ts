// The dashboard's and the dead-letter view's answers from the API, and the pure computations the two pages draw
// from them (chart geometry, ages, rates, bulk retry summaries), kept apart from React so they can be tested.
import type { Run } from '../api/types';

export type DashboardWindow = '1h' | '24h' | '7d';
export const DASHBOARD_WINDOWS: DashboardWindow[] = ['1h', '24h', '7d'];

export interface RunErrorInfo { code?: string; message?: string; nodeId?: string }

export interface DashboardBucket { start: string; total: number; byStatus: Record<string, number> }

export interface Dashboard {
  window: DashboardWindow;
  bucketSeconds: number;
  since: string;
  until: string;
  generatedAt: string;
  buckets: DashboardBucket[];
  totals: { runs: number; byStatus: Record<string, number>; finished: number; succeeded: number; failed: number; successRate: number | null };
  failures: { flowId: string; flowName?: string; failed: number; lastRunId?: string; lastAt?: string; lastError?: RunErrorInfo }[];
  deadLetters: { total: number; byFlow: { flowId: string; flowName?: string; count: number; oldestAt?: string }[] };
  backlog: { queued: number; delayed: number; waiting: number; running: number; oldestQueuedAt?: string; oldestQueuedAgeSeconds?: number };
  queue: { depth: number | null; error?: string };
}

export interface DeadLetter extends Run {
  failedNode?: string;
  attempts: number;
  errorCode?: string;
  errorMessage?: string;
}

export interface DeadLetterList { deadLetters: DeadLetter[]; nextCursor?: string }

export interface DeadLetterFilter { flow?: string; code?: string; since?: string; until?: string }

export interface BulkRetryOutcome { id: string; ok: boolean; status?: string; error?: { code: string; message: string } }

export interface BulkRetryResult { results: BulkRetryOutcome[]; retried: number; failed: number; nextCursor?: string }

/** Bar is one bucket of the runs chart, stacked from the bottom: succeeded, failed, then everything else. */
export interface Bar {
  x: number;
  width: number;
  start: string;
  total: number;
  succeeded: number;
  failed: number;
  other: number;
  /** Heights in chart units of each stacked part. */
  hSucceeded: number;
  hFailed: number;
  hOther: number;
}

/** niceCeiling rounds a chart maximum up to 1, 2 or 5 times a power of ten, so the axis label reads well. */
export function niceCeiling(n: number): number {
  if (n <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(n)));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/** chartBars lays buckets out over width × height chart units, with a gap between bars when there is room. */
export function chartBars(buckets: DashboardBucket[], width: number, height: number): { bars: Bar[]; max: number } {
  const max = niceCeiling(Math.max(0, ...buckets.map((b) => b.total)));
  const slot = buckets.length ? width / buckets.length : width;
  const gap = slot >= 6 ? Math.min(2, slot * 0.2) : 0;
  const bars = buckets.map((b, i) => {
    const succeeded = b.byStatus.succeeded ?? 0;
    const failed = b.byStatus.failed ?? 0;
    const other = Math.max(0, b.total - succeeded - failed);
    const scale = height / max;
    return {
      x: i * slot + gap / 2, width: Math.max(slot - gap, 0.5), start: b.start, total: b.total, succeeded, failed, other,
      hSucceeded: succeeded * scale, hFailed: failed * scale, hOther: other * scale,
    };
  });
  return { bars, max };
}

/** ageParts splits a number of seconds into its two largest units, for "3 h 12 min"-style labels. */
export function ageParts(seconds: number): { value: number; unit: 's' | 'min' | 'h' | 'd' }[] {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return [{ value: s, unit: 's' }];
  if (s < 3600) return [{ value: Math.floor(s / 60), unit: 'min' }];
  if (s < 86400) {
    const parts: { value: number; unit: 'h' | 'min' }[] = [{ value: Math.floor(s / 3600), unit: 'h' }];
    const m = Math.floor((s % 3600) / 60);
    if (m) parts.push({ value: m, unit: 'min' });
    return parts;
  }
  const parts: { value: number; unit: 'd' | 'h' }[] = [{ value: Math.floor(s / 86400), unit: 'd' }];
  const h = Math.floor((s % 86400) / 3600);
  if (h) parts.push({ value: h, unit: 'h' });
  return parts;
}

/** formatRate shows a success rate as a percentage with one decimal, or null when there is none. */
export function formatRate(rate: number | null | undefined): string | null {
  if (rate === null || rate === undefined || Number.isNaN(rate)) return null;
  const pct = rate * 100;
  return (Number.isInteger(pct) ? pct.toFixed(0) : pct.toFixed(1)) + '%';
}

/** rateTone says how a success rate should be coloured. */
export function rateTone(rate: number | null | undefined): 'good' | 'warn' | 'bad' | 'none' {
  if (rate === null || rate === undefined) return 'none';
  if (rate >= 0.99) return 'good';
  if (rate >= 0.9) return 'warn';
  return 'bad';
}

/** retrySummary totals a bulk retry's outcomes and groups the refusals by error code, largest group first. */
export function retrySummary(results: BulkRetryOutcome[]): { retried: number; notRetried: number; byCode: { code: string; message: string; ids: string[] }[] } {
  const groups = new Map<string, { code: string; message: string; ids: string[] }>();
  let retried = 0;
  for (const r of results) {
    if (r.ok) {
      retried++;
      continue;
    }
    const code = r.error?.code ?? 'unknown';
    const g = groups.get(code) ?? { code, message: r.error?.message ?? '', ids: [] };
    g.ids.push(r.id);
    groups.set(code, g);
  }
  const byCode = [...groups.values()].sort((a, b) => b.ids.length - a.ids.length || a.code.localeCompare(b.code));
  return { retried, notRetried: results.length - retried, byCode };
}

/** retryFilterBody is the bulk retry request for "every dead letter matching these filters". */
export function retryFilterBody(f: DeadLetterFilter, cursor?: string): { filter: DeadLetterFilter; cursor?: string } {
  const filter: DeadLetterFilter = {};
  if (f.flow) filter.flow = f.flow;
  if (f.code?.trim()) filter.code = f.code.trim();
  if (f.since) filter.since = f.since;
  if (f.until) filter.until = f.until;
  return cursor ? { filter, cursor } : { filter };
}

/** MAX_RETRY_CALLS bounds how many filter batches (500 runs each) one "retry all matching" sends. */
export const MAX_RETRY_CALLS = 40;

/**
 * retryAllMatching retries every dead letter matching f, one batch of up to 500 after another, following the
 * server's cursor; progress is told after each batch. It stops after MAX_RETRY_CALLS batches.
 */
export async function retryAllMatching(
  f: DeadLetterFilter,
  post: (body: unknown) => Promise<BulkRetryResult>,
  progress?: (done: number) => void,
): Promise<{ results: BulkRetryOutcome[]; more: boolean }> {
  const results: BulkRetryOutcome[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_RETRY_CALLS; i++) {
    const res = await post(retryFilterBody(f, cursor));
    results.push(...res.results);
    progress?.(results.length);
    if (!res.nextCursor) return { results, more: false };
    cursor = res.nextCursor;
  }
  return { results, more: true };
}

