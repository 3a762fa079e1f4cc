// How a run's step is summarised on its canvas node.
import type { Step } from '../api/types';

/** stepErrorText is a failed step's error as one line of text, whatever shape the engine gave it. */
export function stepErrorText(error: unknown): { message: string; code?: string } {
  if (error === undefined || error === null) return { message: '' };
  if (typeof error === 'string') return { message: error };
  if (typeof error === 'object') {
    const e = error as { message?: unknown; code?: unknown };
    const code = typeof e.code === 'string' && e.code ? e.code : undefined;
    if (typeof e.message === 'string' && e.message) return { message: e.message, code };
    return { message: JSON.stringify(error), code };
  }
  return { message: String(error) };
}

/** dryRunPreview is what a side-effecting step would have sent: its request when it reports one, else its output. */
export function dryRunPreview(output: unknown): unknown {
  if (output && typeof output === 'object' && 'request' in output) return (output as { request: unknown }).request;
  return output;
}

/** lastSteps keeps each node's last step of a run (a retried step appears once per attempt). */
export function lastSteps(steps: Step[]): Map<string, Step> {
  const m = new Map<string, Step>();
  for (const s of steps) m.set(s.nodeId, s);
  return m;
}
