import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, ApiError } from '../../api/client';

/** PreviewError is why an expression has no value: its stable code, message and position in the source. */
export interface PreviewError { code: string; message: string; line?: number; column?: number }

/** PreviewResponse is the answer of POST /api/v1/expressions/preview. */
export interface PreviewResponse { ok: boolean; value?: unknown; type?: string; truncated?: boolean; error?: PreviewError }

/** PreviewState is what the editor shows for an expression: waiting, a value with its type, or an error. */
export interface PreviewState { pending: boolean; value?: unknown; type?: string; truncated?: boolean; error?: PreviewError }

/** PREVIEW_DELAY_MS is how long typing must pause before the expression is evaluated on the sample. */
export const PREVIEW_DELAY_MS = 300;

/** sampleObject is the sample as the endpoint takes it: an object, or an empty one when there is none. */
export function sampleObject(sample: unknown): Record<string, unknown> {
  return sample && typeof sample === 'object' && !Array.isArray(sample) ? (sample as Record<string, unknown>) : {};
}

/** fetchPreview evaluates one expression on sample data the way a node would at run time. */
export function fetchPreview(expression: string, template: boolean, sample: unknown, result?: string): Promise<PreviewResponse> {
  return api.post<PreviewResponse>('/api/v1/expressions/preview', { expression, template, result: result || undefined, sample: sampleObject(sample) });
}

// Samples are large and compared by identity: each gets a number for the query key instead of being hashed.
const sampleIds = new WeakMap<object, number>();
let nextSampleId = 1;
function sampleKey(sample: unknown): number {
  if (!sample || typeof sample !== 'object') return 0;
  let id = sampleIds.get(sample);
  if (id === undefined) {
    id = nextSampleId++;
    sampleIds.set(sample, id);
  }
  return id;
}

/** useDebounced follows value after it has stopped changing for delay milliseconds. */
function useDebounced<T>(value: T, delay: number): T {
  const [current, setCurrent] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setCurrent(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return current;
}

/**
 * useExpressionPreview evaluates an expression (or a {{ }} template with template=true) on sample data, the
 * environment a node sees ({trigger, prev, nodes, vars}), debounced. Identical requests from several editors
 * share one call; the answer always belongs to the latest text.
 */
export function useExpressionPreview(expression: string, opts: { template?: boolean; sample?: unknown; result?: string }): PreviewState {
  const template = !!opts.template;
  const debounced = useDebounced(expression, PREVIEW_DELAY_MS);
  const enabled = debounced.trim() !== '';
  const q = useQuery({
    queryKey: ['expression-preview', debounced, template, opts.result ?? '', sampleKey(opts.sample)],
    queryFn: () => fetchPreview(debounced, template, opts.sample, opts.result),
    enabled,
    staleTime: 60_000,
    gcTime: 60_000,
    retry: false,
  });
  if (expression.trim() === '') return { pending: false };
  const pending = debounced !== expression || (enabled && q.isFetching);
  if (q.isError) {
    const err = q.error;
    return { pending, error: { code: err instanceof ApiError ? err.code : 'network_error', message: err instanceof Error ? err.message : String(err) } };
  }
  const res = q.data;
  if (!res) return { pending: true };
  if (!res.ok) return { pending, error: res.error ?? { code: 'expression_failed', message: '' } };
  return { pending, value: res.value, type: res.type, truncated: res.truncated };
}
