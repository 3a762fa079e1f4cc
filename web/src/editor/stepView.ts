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

/**
 * ChildProgress is what a node that started child runs (core.split, core.subflow, one run per record) shows on the
 * run's graph: how many of its children ended, and once it went on how many succeeded and failed.
 */
export interface ChildProgress {
  total: number;
  ended?: number;
  succeeded?: number;
  failed?: number;
}

/**
 * childProgress reads a step's child runs: a step waiting for them says how many it started (output.children)
 * and the run how many are still open; a step that went on carries their summary. Other steps have none.
 */
export function childProgress(step: Step | undefined, childrenOpen: number | undefined): ChildProgress | null {
  const out = step?.output as Record<string, unknown> | undefined;
  if (!step || !out || typeof out !== 'object') return null;
  if (step.status === 'waiting' && typeof out.children === 'number') {
    const total = out.children;
    return { total, ended: childrenOpen === undefined ? undefined : Math.max(total - childrenOpen, 0) };
  }
  // A split goes on with the summary, and a list read with one run per record ends with it (port end); a node
  // after them that passes the summary on is not the one that started the children.
  const summarises = step.nodeType === 'core.split' || step.port === 'end';
  if (summarises && typeof out.total === 'number' && typeof out.succeeded === 'number' && Array.isArray(out.children)) {
    return { total: out.total, succeeded: out.succeeded, failed: typeof out.failed === 'number' ? out.failed : 0 };
  }
  return null;
}
