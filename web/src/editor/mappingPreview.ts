import { useEffect, useState } from 'react';
import { api, ApiError } from '../api/client';
import { PREVIEW_DELAY_MS, sampleObject, useExpressionPreview, type PreviewResponse, type PreviewState } from './expression/preview';
import { mentionsTables } from './mappingRows';

/** fetchLookupPreview evaluates a mapping expression on the sample with the node's lookup tables as tables.<name>. */
export async function fetchLookupPreview(expression: string, sample: unknown, lookups: unknown): Promise<PreviewResponse> {
  return api.post<PreviewResponse>('/api/v1/expressions/preview-lookups', {
    expression,
    sample: sampleObject(sample),
    lookups: Array.isArray(lookups) ? lookups : [],
  });
}

/**
 * useMappingPreview is the value of a mapping expression on the sample. Expressions that read tables.<name> are
 * evaluated with the lookup tables being edited (lookups, the node's lookups parameter); others go through the
 * plain expression preview. Debounced, and only the answer to the latest input is kept.
 */
export function useMappingPreview(expression: string, sample: unknown, lookups: unknown): PreviewState {
  const withTables = mentionsTables(expression);
  const plain = useExpressionPreview(withTables ? '' : expression, { sample });
  const tables = useLookupPreview(withTables ? expression : '', sample, lookups);
  return withTables ? tables : plain;
}

function useLookupPreview(expression: string, sample: unknown, lookups: unknown): PreviewState {
  const [state, setState] = useState<PreviewState>({ pending: false });
  const lookupsKey = JSON.stringify(lookups ?? null);
  useEffect(() => {
    if (expression.trim() === '') {
      setState({ pending: false });
      return;
    }
    let live = true;
    setState((s) => ({ ...s, pending: true }));
    const timer = setTimeout(() => {
      fetchLookupPreview(expression, sample, JSON.parse(lookupsKey))
        .then((res) => {
          if (!live) return;
          if (res.ok) setState({ pending: false, value: res.value, type: res.type });
          else setState({ pending: false, error: res.error ?? { code: 'expression_failed', message: '' } });
        })
        .catch((err: unknown) => {
          if (!live) return;
          const code = err instanceof ApiError ? err.code : 'network_error';
          setState({ pending: false, error: { code, message: err instanceof Error ? err.message : String(err) } });
        });
    }, PREVIEW_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [expression, sample, lookupsKey]);
  return state;
}
